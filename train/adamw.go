package train

import (
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/kernels"
)

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov &
// Hutter), computing exactly what torch.optim.AdamW computes (amsgrad off):
// at step t, for each parameter p with gradient g,
//
//	p ← p·(1 − lr·wd)                 (skipped for NoDecay parameters)
//	m ← β₁·m + (1−β₁)·g
//	v ← β₂·v + (1−β₂)·g²
//	p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// The learning rate is given to each Step, so any schedule drives it.
type AdamW struct {
	params []Param
	decay  []bool
	m, v   [][]float32
	dm, dv []kernels.Buf // the moments of parameters on a GPU (device.go); m, v then nil
	cfg    adamwConfig
	t      int
}

type adamwConfig struct {
	beta1, beta2, eps, wd float64
	noDecay               func(name string) bool
	pool                  *kernels.Pool
}

// AdamWOption configures an AdamW.
type AdamWOption func(*adamwConfig)

// WithBetas sets β₁ and β₂ (default 0.9, 0.999).
func WithBetas(b1, b2 float64) AdamWOption {
	return func(c *adamwConfig) { c.beta1, c.beta2 = b1, b2 }
}

// WithEps sets ε (default 1e-8; sentence-transformers' trainer uses 1e-8 too).
func WithEps(eps float64) AdamWOption { return func(c *adamwConfig) { c.eps = eps } }

// WithWeightDecay sets the decoupled weight decay (default 0.01, the
// value sentence-transformers uses; torch's own default is also 0.01).
func WithWeightDecay(wd float64) AdamWOption { return func(c *adamwConfig) { c.wd = wd } }

// WithNoDecay replaces the rule choosing which parameters are not decayed
// (default NoDecay: biases and normalization weights).
func WithNoDecay(f func(name string) bool) AdamWOption {
	return func(c *adamwConfig) { c.noDecay = f }
}

// WithPool runs the update on p's threads (default kernels.Default()).
func WithPool(p *kernels.Pool) AdamWOption { return func(c *adamwConfig) { c.pool = p } }

// NewAdamW returns an optimizer over params with zeroed moments.
func NewAdamW(params []Param, opts ...AdamWOption) (*AdamW, error) {
	cfg := adamwConfig{beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01, noDecay: NoDecay}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case !(cfg.beta1 >= 0 && cfg.beta1 < 1), !(cfg.beta2 >= 0 && cfg.beta2 < 1):
		return nil, fmt.Errorf("train: AdamW betas (%v, %v) must lie in [0, 1)", cfg.beta1, cfg.beta2)
	case !(cfg.eps >= 0), !(cfg.wd >= 0):
		return nil, fmt.Errorf("train: AdamW eps %v and weight decay %v must not be negative", cfg.eps, cfg.wd)
	case cfg.noDecay == nil:
		cfg.noDecay = func(string) bool { return false }
	}
	if cfg.pool == nil {
		cfg.pool = kernels.Default()
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	o := &AdamW{params: params, cfg: cfg}
	for _, p := range params {
		o.decay = append(o.decay, !cfg.noDecay(p.Name))
		if onDevice(p.Value) {
			dm, dv, err := deviceMoments(p)
			if err != nil {
				return nil, err
			}
			o.m, o.v = append(o.m, nil), append(o.v, nil)
			o.dm, o.dv = append(o.dm, dm), append(o.dv, dv)
			continue
		}
		o.m = append(o.m, make([]float32, p.Size()))
		o.v = append(o.v, make([]float32, p.Size()))
		o.dm, o.dv = append(o.dm, kernels.Buf{}), append(o.dv, kernels.Buf{})
	}
	return o, nil
}

// Params returns the parameters o updates.
func (o *AdamW) Params() []Param { return o.params }

// Steps is the number of updates taken so far (t).
func (o *AdamW) Steps() int { return o.t }

// Decays reports whether parameter i gets weight decay.
func (o *AdamW) Decays(i int) bool { return o.decay[i] }

// Step applies one update with learning rate lr using the gradients in
// the parameters' Grad; it leaves the gradients as they are.
func (o *AdamW) Step(lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("train: learning rate %v", lr)
	}
	o.t++
	t := float64(o.t)
	c := o.cfg
	// The scalar factors are computed in float64 and rounded once, the
	// element updates in float32, as torch's float32 AdamW does.
	bc1 := 1 - math.Pow(c.beta1, t)
	bc2 := 1 - math.Pow(c.beta2, t)
	step := float32(lr / bc1)
	bc2sqrt := float32(math.Sqrt(bc2))
	b1, b2 := float32(c.beta1), float32(c.beta2)
	eps := float32(c.eps)
	pool := c.pool
	for i, p := range o.params {
		decay := float32(1)
		if o.decay[i] && c.wd != 0 {
			decay = float32(1 - lr*c.wd)
		}
		if o.dm[i].Len() > 0 {
			deviceOf(p.Value).AdamW(p.Value, p.Grad, o.dm[i], o.dv[i], decay, b1, b2, eps, step, bc2sqrt)
			continue
		}
		w, g, m, v := p.Value.Host(), p.Grad.Host(), o.m[i], o.v[i]
		pool.For(len(w), 1<<14, func(lo, hi int) {
			adamwUpdate(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], decay, b1, b2, eps, step, bc2sqrt)
		})
	}
	return nil
}

// adamwUpdate is the element loop of Step, rounding as torch's two
// passes (p.mul_(decay), then the Adam update) do:
//
//	m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g²
//	w = w*decay;  w -= step*m/(√v/bc2sqrt + eps)
func adamwUpdate(w, g, m, v []float32, decay, b1, b2, eps, step, bc2sqrt float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for k := range w {
		gk := g[k]
		mk := b1*m[k] + (1-b1)*gk
		vk := b2*v[k] + (1-b2)*gk*gk
		m[k], v[k] = mk, vk
		wk := w[k]
		if decay != 1 {
			wk *= decay
		}
		w[k] = wk - step*mk/(float32(math.Sqrt(float64(vk)))/bc2sqrt+eps)
	}
}
