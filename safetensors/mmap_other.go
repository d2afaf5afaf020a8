//go:build !unix

package safetensors

import "os"

// mapFile reads name whole where memory mapping is not available.
func mapFile(name string) ([]byte, func() error, error) {
	b, err := os.ReadFile(name)
	return b, nil, err
}
