//go:build cuda

package main

import (
	"github.com/kotodama-ai/kotodama/cuda"
	"github.com/kotodama-ai/kotodama/index"
)

// openCUDA opens the GPU name describes (cuda.OpenSpec).
func openCUDA(name string) (*device, error) {
	d, err := cuda.OpenSpec(name)
	if err != nil {
		return nil, err
	}
	return &device{
		name:    d.Name(),
		backend: d,
		toGPU: func(ix *index.Index) (indexSearcher, func() error, error) {
			g, err := ix.ToGPU(d)
			if err != nil {
				return nil, nil, err
			}
			return g, g.Close, nil
		},
		close: d.Close,
	}, nil
}
