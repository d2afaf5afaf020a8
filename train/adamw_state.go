package train

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/kotodama-ai/kotodama/safetensors"
)

// ErrState reports an optimizer state file that does not fit the
// optimizer loading it (other parameters, shapes or hyper-parameters).
var ErrState = errors.New("train: optimizer state does not match")

// SaveState writes the optimizer's state to path atomically as
// safetensors: "exp_avg.<param>" and "exp_avg_sq.<param>" (F32, the
// parameter's shape) and metadata "optimizer", "step", "beta1", "beta2",
// "eps", "weight_decay". Loading it back continues bit for bit.
func (o *AdamW) SaveState(path string) error {
	ts := make([]safetensors.Tensor, 0, 2*len(o.params))
	for i, p := range o.params {
		m, v, err := o.moments(i)
		if err != nil {
			return fmt.Errorf("train: optimizer state: %w", err)
		}
		ts = append(ts,
			safetensors.Float32("exp_avg."+p.Name, p.Shape, m),
			safetensors.Float32("exp_avg_sq."+p.Name, p.Shape, v))
	}
	return safetensors.WriteFile(path, ts, o.metadata())
}

func (o *AdamW) metadata() map[string]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return map[string]string{
		"optimizer":    "adamw",
		"step":         strconv.Itoa(o.t),
		"beta1":        f(o.cfg.beta1),
		"beta2":        f(o.cfg.beta2),
		"eps":          f(o.cfg.eps),
		"weight_decay": f(o.cfg.wd),
	}
}

// LoadState replaces the optimizer's moments and step count by those
// SaveState wrote to path. The file must hold exactly o's parameters with
// their shapes, and the same hyper-parameters; otherwise it returns an
// error wrapping ErrState and leaves o unchanged.
func (o *AdamW) LoadState(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("train: optimizer state: %w", err)
	}
	defer f.Close()
	md := f.Metadata()
	for k, want := range o.metadata() {
		if k == "step" {
			continue
		}
		if md[k] != want {
			return fmt.Errorf("%w: %s: %s is %q, the optimizer has %q", ErrState, path, k, md[k], want)
		}
	}
	step, err := strconv.Atoi(md["step"])
	if err != nil || step < 0 {
		return fmt.Errorf("%w: %s: step %q", ErrState, path, md["step"])
	}
	if f.Len() != 2*len(o.params) {
		return fmt.Errorf("%w: %s holds %d tensors, want 2 for each of %d parameters", ErrState, path, f.Len(), len(o.params))
	}
	m := make([][]float32, len(o.params))
	v := make([][]float32, len(o.params))
	for i, p := range o.params {
		for _, x := range []struct {
			name string
			dst  *[]float32
		}{{"exp_avg." + p.Name, &m[i]}, {"exp_avg_sq." + p.Name, &v[i]}} {
			t, err := f.Tensor(x.name)
			if err != nil {
				return fmt.Errorf("%w: %s: %w", ErrState, path, err)
			}
			if t.DType != safetensors.F32 || !slices.Equal(t.Shape, p.Shape) {
				return fmt.Errorf("%w: %s: %s is %s%v, want F32%v", ErrState, path, x.name, t.DType, t.Shape, p.Shape)
			}
			*x.dst = make([]float32, p.Size())
			if err := t.Float32s(*x.dst); err != nil {
				return fmt.Errorf("train: optimizer state: %w", err)
			}
		}
	}
	for i := range o.params {
		if o.dm[i].Len() > 0 {
			// Moments of a parameter on a GPU go back there.
			if err := writeBuf(o.dm[i], m[i]); err != nil {
				return fmt.Errorf("train: optimizer state: %w", err)
			}
			if err := writeBuf(o.dv[i], v[i]); err != nil {
				return fmt.Errorf("train: optimizer state: %w", err)
			}
			m[i], v[i] = nil, nil
		}
	}
	o.m, o.v, o.t = m, v, step
	return nil
}
