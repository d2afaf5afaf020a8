//go:build cuda

package cuda_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/cuda"
	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/safetensors"
	"github.com/kotodama-ai/kotodama/train"
)

// Whole models on the GPU against the same models on the CPU, over every
// golden model fixture: the encoder's last hidden state against the
// fixture's PyTorch reference, embeddings through package embed, and a
// training step's loss, gradients and AdamW update.

// fixtureTexts reads a model fixture's texts.json.
func fixtureTexts(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "texts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Text
	}
	return texts
}

// TestGoldenHiddenState runs each fixture's padded batch through the
// encoder on the GPU and compares the last hidden state at real tokens
// with the PyTorch reference, to the fixture README's 1e-5.
func TestGoldenHiddenState(t *testing.T) {
	d := cuda.SharedTestDevice(t)
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ints := func(name string) ([]int32, int, int) {
				tt, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				v := make([]int64, tt.NumElements())
				if err := tt.Int64s(v); err != nil {
					t.Fatal(err)
				}
				out := make([]int32, len(v))
				for i, x := range v {
					out[i] = int32(x)
				}
				return out, tt.Shape[0], tt.Shape[1]
			}
			ids, batch, seq := ints("input_ids")
			types, _, _ := ints("token_type_ids")
			mask, _, _ := ints("attention_mask")
			tt, err := f.Tensor("last_hidden_state")
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, tt.NumElements())
			if err := tt.Float32s(want); err != nil {
				t.Fatal(err)
			}
			m, err := bert.Load(d, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Free(m.Params.Arena)
			for _, keep := range []bool{false, true} {
				a, err := m.NewActivations(batch*seq, seq, keep)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Forward(a, ids, types, mask, batch, seq); err != nil {
					t.Fatal(err)
				}
				got := make([]float32, a.Hidden.Len())
				if err := d.Download(got, a.Hidden); err != nil {
					t.Fatal(err)
				}
				a.Release()
				H := m.Config.HiddenSize
				worst := 0.0
				for i := range batch * seq {
					if mask[i] != 0 {
						worst = max(worst, golden.MaxDiff(got[i*H:(i+1)*H], want[i*H:(i+1)*H]))
					}
				}
				t.Logf("keep=%v: last_hidden_state max |gpu - torch| %.3g", keep, worst)
				if worst > 1e-5 {
					t.Errorf("keep=%v: last_hidden_state max |diff| %.3g > 1e-5", keep, worst)
				}
			}
		})
	}
}

// TestGoldenEmbeddings encodes each fixture's texts with package embed on
// the GPU and on the CPU: FP32 within 1e-5; TF32 and BF16, which round
// the inputs of every matrix product to 10 and 7 mantissa bits, within
// 5e-3 and 5e-2 (the embeddings are unit vectors or of similar size).
func TestGoldenEmbeddings(t *testing.T) {
	d := cuda.SharedTestDevice(t)
	ctx := context.Background()
	for _, dir := range golden.Dirs(t, "models", "texts.json") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			texts := fixtureTexts(t, dir)
			cpuM, err := embed.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cpuM.Close()
			want, err := cpuM.Encode(ctx, texts, embed.WithBatchSize(8))
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				math cuda.Math
				tol  float64
			}{{cuda.FP32, 1e-5}, {cuda.TF32, 5e-3}, {cuda.BF16, 5e-2}} {
				opts := []embed.LoadOption{embed.WithBackend(d)}
				if tc.math != cuda.FP32 {
					opts = []embed.LoadOption{embed.WithDevice("cuda:" + tc.math.String())}
				}
				m, err := embed.Load(dir, opts...)
				if errors.Is(err, cuda.ErrUnavailable) {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Encode(ctx, texts, embed.WithBatchSize(8))
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i := range want {
					worst = max(worst, golden.MaxDiff(got[i], want[i]))
				}
				t.Logf("%s: %d embeddings, max |gpu - cpu| %.3g (allowed %g)", tc.math, len(want), worst, tc.tol)
				if worst > tc.tol {
					t.Errorf("%s: max |gpu - cpu| %.3g > %g", tc.math, worst, tc.tol)
				}
			}
		})
	}
}

// trainPair is the same model, from the same fixture, on the CPU and on
// the GPU, wrapped for training.
func trainPair(t *testing.T, d *cuda.Device, dir string) (cpu, gpu *train.BERT) {
	t.Helper()
	mk := func(be kernels.Backend) *train.BERT {
		m, err := bert.Load(be, dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pooling.New(be, pooling.Config{Dim: m.Config.HiddenSize, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true})
		if err != nil {
			t.Fatal(err)
		}
		e, err := train.NewBERT(m, p)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	return mk(kernels.NewCPU()), mk(d)
}

func readAll(t *testing.T, bufs func(train.Param) kernels.Buf, ps []train.Param, be kernels.Backend) [][]float32 {
	t.Helper()
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = make([]float32, p.Size())
		if err := be.Download(out[i], bufs(p)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func grad(p train.Param) kernels.Buf  { return p.Grad }
func value(p train.Param) kernels.Buf { return p.Value }

// compareTensors checks each tensor of got against want: the largest
// difference at most tol times the tensor's largest magnitude (plus 1e-7
// for tensors that are all but zero).
func compareTensors(t *testing.T, what string, ps []train.Param, got, want [][]float32, tol float64) {
	t.Helper()
	worstRel, tiny := 0.0, 0
	for i := range want {
		scale := 0.0
		for _, v := range want[i] {
			scale = max(scale, math.Abs(float64(v)))
		}
		diff := golden.MaxDiff(got[i], want[i])
		if diff > tol*scale+1e-7 {
			t.Errorf("%s %s: max |gpu - cpu| %.3g (largest value %.3g)", what, ps[i].Name, diff, scale)
		}
		if scale > 1e-6 {
			worstRel = max(worstRel, diff/scale)
		} else {
			tiny++ // zero but for rounding noise: held to the 1e-7 above
		}
	}
	t.Logf("%s: %d tensors, worst max|gpu-cpu| / max|cpu| = %.3g (%d tensors all but zero)", what, len(want), worstRel, tiny)
}

// TestTrainingStep runs one contrastive training step with dropout — one
// shot and with GradCache — on the GPU and on the CPU from the same
// weights: the same loss, the same gradients of every parameter (up to
// float32 summation order: 1e-4 of each tensor's largest gradient), the
// same clipped norm, and the same weights after AdamW.
func TestTrainingStep(t *testing.T) {
	d := cuda.SharedTestDevice(t)
	ctx := context.Background()
	dir := golden.Dirs(t, "models", "modules.json")[0]
	cpuE, gpuE := trainPair(t, d, dir)
	vocab := cpuE.Model.Config.VocabSize
	r := rand.New(rand.NewPCG(21, 21))
	b := train.Batch{B: 3, Seqs: make([]train.Seq, 9)} // anchors, positives, one block of negatives
	for i := range b.Seqs {
		s := make(train.Seq, 3+r.IntN(12)) // lengths differ: padding
		for j := range s {
			s[j] = 5 + r.IntN(vocab-5)
		}
		b.Seqs[i] = s
	}
	l, err := loss.NewInfoNCE(loss.WithScale(20))
	if err != nil {
		t.Fatal(err)
	}
	mode := train.Mode{Train: true, Seed: 7}
	for _, mini := range []int{0, 4} {
		train.ZeroGrad(cpuE.Params())
		train.ZeroGrad(gpuE.Params())
		wantL, err := train.Backprop(ctx, cpuE, l, b, mode, mini, 1)
		if err != nil {
			t.Fatal(err)
		}
		gotL, err := train.Backprop(ctx, gpuE, l, b, mode, mini, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("gradcache %d: loss gpu %.7g, cpu %.7g", mini, gotL, wantL)
		if math.Abs(float64(gotL-wantL)) > 1e-5*max(1, math.Abs(float64(wantL))) {
			t.Errorf("gradcache %d: loss %v on the GPU, %v on the CPU", mini, gotL, wantL)
		}
		compareTensors(t, "gradient", cpuE.Params(),
			readAll(t, grad, gpuE.Params(), d), readAll(t, grad, cpuE.Params(), kernels.NewCPU()), 1e-4)
	}
	// From here on the GPU gets the CPU's gradients, so the norm, the
	// clipping and AdamW are compared on identical inputs: some gradients
	// are zero but for rounding noise (those of the attention's key bias,
	// to which softmax is invariant), and Adam turns noise into full-size
	// steps of either sign.
	for i, g := range readAll(t, grad, cpuE.Params(), kernels.NewCPU()) {
		if err := d.Upload(gpuE.Params()[i].Grad, g); err != nil {
			t.Fatal(err)
		}
	}
	wantN, gotN := train.ClipGradNorm(cpuE.Params(), 1), train.ClipGradNorm(gpuE.Params(), 1)
	t.Logf("gradient norm gpu %.7g, cpu %.7g", gotN, wantN)
	if math.Abs(gotN-wantN) > 1e-6*wantN {
		t.Errorf("gradient norm %v on the GPU, %v on the CPU", gotN, wantN)
	}
	optC, err := train.NewAdamW(cpuE.Params())
	if err != nil {
		t.Fatal(err)
	}
	optG, err := train.NewAdamW(gpuE.Params())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := optC.Step(1e-3); err != nil {
			t.Fatal(err)
		}
		if err := optG.Step(1e-3); err != nil {
			t.Fatal(err)
		}
	}
	compareTensors(t, "weights after AdamW", cpuE.Params(),
		readAll(t, value, gpuE.Params(), d), readAll(t, value, cpuE.Params(), kernels.NewCPU()), 1e-5)

	// Optimizer state and weights saved from the GPU load back on the CPU.
	tmp := t.TempDir()
	if err := optG.SaveState(filepath.Join(tmp, "opt.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := train.SaveParams(filepath.Join(tmp, "w.safetensors"), gpuE.Params(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := optC.LoadState(filepath.Join(tmp, "opt.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := train.LoadParams(filepath.Join(tmp, "w.safetensors"), cpuE.Params()); err != nil {
		t.Fatal(err)
	}
	compareTensors(t, "weights saved on the GPU, loaded on the CPU", cpuE.Params(),
		readAll(t, value, gpuE.Params(), d), readAll(t, value, cpuE.Params(), kernels.NewCPU()), 0)
	// And the other way.
	if err := optG.LoadState(filepath.Join(tmp, "opt.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := train.LoadParams(filepath.Join(tmp, "w.safetensors"), gpuE.Params()); err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestDeviceOf(t *testing.T) {
	d := cuda.SharedTestDevice(t)
	b, err := d.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free(b)
	if cuda.DeviceOf(b) != d || cuda.DeviceOf(b.Slice(50, 10)) != d {
		t.Error("DeviceOf does not find the Device of its Buf")
	}
	if cuda.DeviceOf(kernels.HostBuf(make([]float32, 3))) != nil {
		t.Error("DeviceOf of a host Buf")
	}
	for _, s := range []string{"gpu", "cuda:x", "cuda:tf32:bf16", "cuda:1:2"} {
		if _, err := cuda.ParseSpec(s); err == nil {
			t.Errorf("ParseSpec(%q): no error", s)
		}
	}
	for _, s := range []string{"cuda", "cuda:0", "cuda:tf32", "cuda:1:bf16", "cuda:fp32"} {
		if _, err := cuda.ParseSpec(s); err != nil {
			t.Errorf("ParseSpec(%q): %v", s, err)
		}
	}
}
