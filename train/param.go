package train

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Param is one trainable tensor: its name (Hugging Face naming, e.g.
// "encoder.layer.0.attention.self.query.weight"), shape, values and the
// gradient the backward pass accumulates into.
type Param struct {
	Name  string
	Shape []int
	Value kernels.Buf
	Grad  kernels.Buf
}

// Size is the number of values of p, the product of its shape.
func (p Param) Size() int {
	n := 1
	for _, s := range p.Shape {
		n *= s
	}
	return n
}

// ErrDevice reports a parameter in memory the optimizer cannot update:
// device memory of no GPU this build knows (a GPU needs -tags cuda), or
// values and gradient on different devices.
var ErrDevice = errors.New("train: parameter is not in host memory nor on a known GPU")

func checkParams(params []Param) error {
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if p.Name == "" {
			return errors.New("train: parameter without a name")
		}
		if seen[p.Name] {
			return fmt.Errorf("train: parameter %q listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Value.Len() != p.Size() || p.Grad.Len() != p.Size() {
			return fmt.Errorf("train: parameter %q of shape %v has %d values and %d gradients", p.Name, p.Shape, p.Value.Len(), p.Grad.Len())
		}
		if p.Size() > 0 && (p.Value.Host() == nil) != (p.Grad.Host() == nil) {
			return fmt.Errorf("%w: %q has its values and gradient in different memories", ErrDevice, p.Name)
		}
		if p.Size() > 0 && p.Value.Host() == nil && (!onDevice(p.Value) || deviceOf(p.Value) != deviceOf(p.Grad)) {
			return fmt.Errorf("%w: %q", ErrDevice, p.Name)
		}
	}
	return nil
}

// normName matches a normalization layer as a path component of a
// lower-cased parameter name ("norm", "norm_…", "…_norm", "layernorm",
// "rmsnorm"); "norm_context" is the LayerNorm NV-Embed's latent attention
// puts on its latents.
var normName = regexp.MustCompile(`(?:^|\.)norm(?:$|\.|_)|_norm(?:$|\.)|layernorm|rmsnorm`)

// NoDecay reports whether the parameter called name is left out of weight
// decay: biases and normalization weights, by name, as the Hugging Face
// Trainer (which sentence-transformers trains with) decides in
// get_decay_parameter_names.
func NoDecay(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "bias") || normName.MatchString(n)
}

// ZeroGrad sets every gradient to zero, before accumulating the next step.
func ZeroGrad(params []Param) {
	for _, p := range params {
		if d := deviceOf(p.Grad); d != nil && p.Grad.Host() == nil {
			d.Fill(p.Grad, 0)
			continue
		}
		clear(p.Grad.Host())
	}
}

// GradNorm returns the global L2 norm of all gradients, accumulated in
// float64.
func GradNorm(params []Param) float64 {
	var s float64
	var devs []deviceOps
	onDev := map[deviceOps][]kernels.Buf{}
	for _, p := range params {
		if d := deviceOf(p.Grad); d != nil && p.Grad.Host() == nil {
			if onDev[d] == nil {
				devs = append(devs, d)
			}
			onDev[d] = append(onDev[d], p.Grad)
			continue
		}
		for _, g := range p.Grad.Host() {
			s += float64(g) * float64(g)
		}
	}
	// Gradients on a GPU are summed there; a failure to read them back is
	// a NaN norm (the step is not taken), the error itself reported by the
	// device's next Sync.
	for _, d := range devs {
		v, err := d.SumSquares(onDev[d]...)
		if err != nil {
			return math.NaN()
		}
		s += v
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales all gradients so that their global L2 norm is at most
// maxNorm, as torch.nn.utils.clip_grad_norm_ does (factor
// maxNorm/(norm+1e-6), applied only when below 1), and returns the norm
// before clipping. A non-finite norm is returned without scaling, so the
// caller can skip the step.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	norm := GradNorm(params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		ScaleGrads(params, float32(coef))
	}
	return norm
}

// ScaleGrads multiplies every gradient by s (1/steps after accumulating
// over several micro-batches whose losses were not divided, say).
func ScaleGrads(params []Param, s float32) {
	for _, p := range params {
		if d := deviceOf(p.Grad); d != nil && p.Grad.Host() == nil {
			d.Scale(p.Grad, s)
			continue
		}
		kernels.Scale(s, p.Grad.Host())
	}
}
