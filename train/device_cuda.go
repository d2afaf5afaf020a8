//go:build cuda

package train

import (
	"github.com/kotodama-ai/kotodama/cuda"
	"github.com/kotodama-ai/kotodama/kernels"
)

// deviceOf returns the GPU b lives on, or nil.
func deviceOf(b kernels.Buf) deviceOps {
	if d := cuda.DeviceOf(b); d != nil {
		return d
	}
	return nil
}
