package train_test

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/train"
)

// A warm-up of 2 steps to the peak rate, then linear decay to 0 at step 10,
// as transformers' get_linear_schedule_with_warmup.
func ExampleSchedule() {
	s := train.Schedule{LR: 1e-3, Warmup: 2, Total: 10, Decay: train.Linear}
	for _, step := range []int{0, 1, 2, 6, 10} {
		fmt.Printf("step %d: lr %.2e\n", step, s.At(step))
	}
	// Output:
	// step 0: lr 0.00e+00
	// step 1: lr 5.00e-04
	// step 2: lr 1.00e-03
	// step 6: lr 5.00e-04
	// step 10: lr 0.00e+00
}

// One AdamW step on a weight and a bias: the first step of Adam moves each
// value by lr against the sign of its gradient; weight decay shrinks the
// weight, not the bias.
func ExampleAdamW() {
	w := train.Param{Name: "dense.weight", Shape: []int{2}, Value: kernels.HostBuf([]float32{1, -1}), Grad: kernels.HostBuf([]float32{0.5, -2})}
	b := train.Param{Name: "dense.bias", Shape: []int{1}, Value: kernels.HostBuf([]float32{1}), Grad: kernels.HostBuf([]float32{3})}
	opt, err := train.NewAdamW([]train.Param{w, b}, train.WithWeightDecay(0.1))
	if err != nil {
		panic(err)
	}
	if err := opt.Step(0.01); err != nil {
		panic(err)
	}
	fmt.Printf("weight %.4f, bias %.4f\n", w.Value.Host(), b.Value.Host())
	// Output: weight [0.9890 -0.9890], bias [0.9900]
}
