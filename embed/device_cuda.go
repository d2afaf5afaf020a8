//go:build cuda

package embed

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/cuda"
	"github.com/kotodama-ai/kotodama/kernels"
)

// openDevice opens the GPU name describes (cuda.OpenSpec).
func openDevice(name string) (kernels.Backend, func() error, error) {
	d, err := cuda.OpenSpec(name)
	if err != nil {
		return nil, nil, fmt.Errorf("embed: %w", err)
	}
	return d, d.Close, nil
}
