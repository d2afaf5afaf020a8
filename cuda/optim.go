//go:build cuda

package cuda

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"unsafe"

	"github.com/kotodama-ai/kotodama/kernels"
)

// What training needs beyond the Backend: finding the Device a parameter
// lives on, and the optimizer's element loops (package train uses these
// through a build-tagged file when its parameters are on a GPU).

// owners maps the blocks of device memory every open Device allocated to
// that Device, so DeviceOf can answer for any view into them. It plays the
// part of CUDA's cuPointerGetAttribute(CU_POINTER_ATTRIBUTE_CONTEXT), but
// names the Device (and so the stream) rather than the context, which
// every Device on one GPU shares.
var owners struct {
	sync.RWMutex
	blocks []owned // sorted by addr
}

type owned struct {
	addr, size uint64
	d          *Device
}

func register(addr, size uint64, d *Device) {
	owners.Lock()
	defer owners.Unlock()
	i := sort.Search(len(owners.blocks), func(i int) bool { return owners.blocks[i].addr >= addr })
	owners.blocks = slices.Insert(owners.blocks, i, owned{addr, size, d})
}

func unregister(addr uint64) {
	owners.Lock()
	defer owners.Unlock()
	i := sort.Search(len(owners.blocks), func(i int) bool { return owners.blocks[i].addr >= addr })
	if i < len(owners.blocks) && owners.blocks[i].addr == addr {
		owners.blocks = slices.Delete(owners.blocks, i, i+1)
	}
}

// DeviceOf returns the open Device whose memory b is (a Buf its Alloc
// returned, or a view into one), or nil for host memory and memory no
// open Device allocated.
func DeviceOf(b kernels.Buf) *Device {
	a := uint64(b.Device())
	if a == 0 {
		return nil
	}
	owners.RLock()
	defer owners.RUnlock()
	i := sort.Search(len(owners.blocks), func(i int) bool { return owners.blocks[i].addr > a }) - 1
	if i >= 0 && a < owners.blocks[i].addr+owners.blocks[i].size {
		return owners.blocks[i].d
	}
	return nil
}

// Fill sets every value of b to v.
func (d *Device) Fill(b kernels.Buf, v float32) {
	if b.Len() == 0 {
		return
	}
	p := dev("Fill", "b", b, b.Len())
	d.do(func() { d.fill(p, b.Len(), v) })
}

// Scale multiplies every value of b by a.
func (d *Device) Scale(b kernels.Buf, a float32) {
	if b.Len() == 0 {
		return
	}
	p := dev("Scale", "b", b, b.Len())
	d.do(func() { d.launch1D(d.fn.scale, int64(b.Len()), p, a, i64(b.Len())) })
}

// SumSquares returns Σ x² over every value of the Bufs, each square and
// sum in float64: per block of threads on the GPU, then the blocks' sums
// in a fixed order on the host, so the result does not depend on
// scheduling. It waits for the work queued before it.
func (d *Device) SumSquares(bufs ...kernels.Buf) (float64, error) {
	const maxBlocks = 256
	blocks := make([]int, len(bufs))
	total := 0
	for i, b := range bufs {
		if b.Len() > 0 {
			dev("SumSquares", fmt.Sprintf("bufs[%d]", i), b, b.Len())
			blocks[i] = int(min((int64(b.Len())+threads-1)/threads, maxBlocks))
		}
		total += blocks[i]
	}
	if total == 0 {
		return 0, nil
	}
	part := make([]float64, total)
	var err error
	d.do(func() {
		base := ptr(d.scratch(scPartD, 2*total))
		off := 0
		for i, b := range bufs {
			if blocks[i] == 0 {
				continue
			}
			d.launch(d.fn.sumSquaresPartial, [3]int{blocks[i], 1, 1}, [3]int{threads, 1, 1}, 0,
				base+ptr(8*off), ptr(b.Device()), i64(b.Len()))
			off += blocks[i]
		}
		d.downloadBytes(unsafe.Slice((*byte)(unsafe.Pointer(&part[0])), 8*total), uint64(base))
		err = d.err
	})
	var s float64
	for _, v := range part {
		s += v
	}
	return s, err
}

// AdamW applies one AdamW step to the values w given their gradient g
// and moments m and v (all of one length), with the element loop of
// package train's AdamW:
//
//	m = β₁·m + (1−β₁)·g;  v = β₂·v + (1−β₂)·g²
//	w = w·decay;  w −= step·m / (√v/bc2sqrt + eps)
func (d *Device) AdamW(w, g, m, v kernels.Buf, decay, beta1, beta2, eps, step, bc2sqrt float32) {
	n := w.Len()
	if n == 0 {
		return
	}
	pw, pg, pm, pv := dev("AdamW", "w", w, n), dev("AdamW", "g", g, n), dev("AdamW", "m", m, n), dev("AdamW", "v", v, n)
	d.do(func() {
		d.launch1D(d.fn.adamw, int64(n), pw, pg, pm, pv, i64(n), decay, beta1, beta2, eps, step, bc2sqrt)
	})
}
