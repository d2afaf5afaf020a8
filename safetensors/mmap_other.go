//go:build !unix

package safetensors

import "os"

// mapFile reads name whole where memory mapping is not available.
func mapFile(name string) ([]byte, func() error, error) {
	b, err := os.ReadFile(name)
	return b, nil, err
}

// evict does nothing where files are read rather than mapped.
func evict(b []byte, lo, hi int64) {}
