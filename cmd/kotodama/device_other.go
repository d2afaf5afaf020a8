//go:build !cuda

package main

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/embed"
)

// openCUDA fails: this build has no GPU support.
func openCUDA(name string) (*device, error) {
	return nil, fmt.Errorf("-device %s: %w", name, embed.ErrNoCUDA)
}
