//go:build !cuda

package embed

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
)

// openDevice fails: this build has no GPU support.
func openDevice(name string) (kernels.Backend, func() error, error) {
	return nil, nil, fmt.Errorf("%w: device %q", ErrNoCUDA, name)
}
