//go:build unix

package safetensors

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps name read-only. An empty file is returned as an empty
// slice (mmap cannot map zero bytes).
func mapFile(name string) ([]byte, func() error, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, nil, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%s: %d bytes is too large to map", name, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap %s: %w", name, err)
	}
	return b, func() error { return unix.Munmap(b) }, nil
}

// evict drops the pages of b[lo:hi] (widened to whole pages) from
// resident memory; the mapping is read-only and file-backed, so they are
// read back on the next access.
func evict(b []byte, lo, hi int64) {
	page := int64(os.Getpagesize())
	lo = lo / page * page
	hi = min((hi+page-1)/page*page, int64(len(b)))
	if lo < hi {
		unix.Madvise(b[lo:hi], unix.MADV_DONTNEED)
	}
}
