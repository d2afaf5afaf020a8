//go:build !cuda

package train

import "github.com/kotodama-ai/kotodama/kernels"

// deviceOf finds no device: this build has no GPU support.
func deviceOf(kernels.Buf) deviceOps { return nil }
