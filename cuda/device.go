//go:build cuda

package cuda

/*
#include <stdlib.h>
#include "kd.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/kotodama-ai/kotodama/kernels"
)

var _ kernels.Backend = (*Device)(nil)

// Math is how cuBLAS multiplies float32 matrices.
type Math int

const (
	// FP32 computes products in float32 (CUBLAS_COMPUTE_32F), as the CPU.
	FP32 Math = iota
	// TF32 lets cuBLAS round inputs to TensorFloat-32 (10-bit mantissa)
	// on the tensor cores, accumulating in float32
	// (CUBLAS_COMPUTE_32F_FAST_TF32).
	TF32
	// BF16 lets cuBLAS round inputs to bfloat16 (8-bit mantissa) or TF32,
	// accumulating in float32 (CUBLAS_COMPUTE_32F_FAST_16BF).
	BF16
)

// String returns "fp32", "tf32" or "bf16".
func (m Math) String() string {
	switch m {
	case FP32:
		return "fp32"
	case TF32:
		return "tf32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("Math(%d)", int(m))
}

// ParseMath parses the names String returns.
func ParseMath(s string) (Math, error) {
	for _, m := range []Math{FP32, TF32, BF16} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("cuda: unknown math %q (want fp32, tf32 or bf16)", s)
}

func (m Math) computeType() C.int {
	switch m {
	case TF32:
		return blasCompute32FT32
	case BF16:
		return blasCompute32FB16
	}
	return blasCompute32F
}

// Option configures Open.
type Option func(*config)

type config struct {
	ordinal int
	math    Math
}

// WithOrdinal opens GPU i (0 by default, in the driver's order, which
// CUDA_VISIBLE_DEVICES filters).
func WithOrdinal(i int) Option { return func(c *config) { c.ordinal = i } }

// WithMath chooses how matrix products are computed (FP32 by default).
func WithMath(m Math) Option { return func(c *config) { c.math = m } }

// Device is one GPU as a kernels.Backend. See the package documentation
// for how it runs; it is safe for concurrent use.
type Device struct {
	mu     sync.Mutex // serializes hand-offs to the worker
	work   chan func()
	done   chan any // the panic of the last work item, or nil
	closed bool

	name    string
	math    Math
	cc      [2]int // compute capability
	sms     int
	total   uint64 // bytes of device memory
	arch    string // what the kernels were compiled for
	ordinal int

	// Owned by the worker goroutine (its locked OS thread).
	dev    C.CUdevice
	ctx    C.CUcontext
	stream C.CUstream
	blas   C.cublasHandle_t
	mod    C.CUmodule
	fn     funcs
	pool   memPool
	stage  [stageSlots]stageSlot
	next   int // next stage slot
	bulk   [2]stageSlot
	args   *C.char // launch argument buffer (C memory)
	offs   *C.int
	sc     [numScratch]kernels.Buf // growable scratch, by purpose
	err    error                   // first asynchronous error: sticky
	closer []func()
}

// Open starts GPU work: it loads the CUDA libraries, retains the
// device's primary context on a dedicated OS thread, creates a stream
// and a cuBLAS handle, and compiles the kernels with NVRTC. Without a
// usable GPU the error wraps ErrUnavailable.
func Open(opts ...Option) (*Device, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.math < FP32 || c.math > BF16 {
		return nil, fmt.Errorf("cuda: unknown math %d", c.math)
	}
	if err := load(); err != nil {
		return nil, err
	}
	d := &Device{work: make(chan func()), done: make(chan any), math: c.math, ordinal: c.ordinal}
	ready := make(chan error)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the worker: it locks itself to its OS thread for good (the
// thread exits with it), makes the context current there, and runs work
// items until Close.
func (d *Device) loop(ready chan<- error) {
	runtime.LockOSThread()
	if err := d.init(); err != nil {
		d.release()
		ready <- err
		return
	}
	ready <- nil
	for f := range d.work {
		d.done <- run(f)
	}
}

func run(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// do runs f on the worker and waits for it to return; a panic in f is
// re-raised on the calling goroutine.
func (d *Device) do(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		panic("cuda: Device used after Close")
	}
	d.work <- f
	if p := <-d.done; p != nil {
		panic(p)
	}
}

func (d *Device) init() error {
	var n C.int
	if err := cuCheck("cuDeviceGetCount", C.kd_cuDeviceGetCount(&n)); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if d.ordinal < 0 || d.ordinal >= int(n) {
		return fmt.Errorf("%w: GPU %d requested, the driver sees %d", ErrUnavailable, d.ordinal, int(n))
	}
	if err := cuCheck("cuDeviceGet", C.kd_cuDeviceGet(&d.dev, C.int(d.ordinal))); err != nil {
		return err
	}
	var name [256]C.char
	if err := cuCheck("cuDeviceGetName", C.kd_cuDeviceGetName(&name[0], C.int(len(name)), d.dev)); err != nil {
		return err
	}
	d.name = C.GoString(&name[0])
	attr := func(a int) (int, error) {
		var v C.int
		err := cuCheck("cuDeviceGetAttribute", C.kd_cuDeviceGetAttribute(&v, C.int(a), d.dev))
		return int(v), err
	}
	var err error
	if d.cc[0], err = attr(attrComputeMajor); err != nil {
		return err
	}
	if d.cc[1], err = attr(attrComputeMinor); err != nil {
		return err
	}
	if d.sms, err = attr(attrMultiprocessors); err != nil {
		return err
	}
	var total C.size_t
	if err := cuCheck("cuDeviceTotalMem", C.kd_cuDeviceTotalMem(&total, d.dev)); err != nil {
		return err
	}
	d.total = uint64(total)
	if err := cuCheck("cuDevicePrimaryCtxRetain", C.kd_cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
		return err
	}
	d.closer = append(d.closer, func() { C.kd_cuDevicePrimaryCtxRelease(d.dev) })
	if err := cuCheck("cuCtxSetCurrent", C.kd_cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	// A non-blocking stream: it does not synchronize with the legacy
	// default stream that other libraries in the process may use.
	if err := cuCheck("cuStreamCreate", C.kd_cuStreamCreate(&d.stream, cuStreamNonBlocking)); err != nil {
		return err
	}
	d.closer = append(d.closer, func() { C.kd_cuStreamDestroy(d.stream) })
	if err := blasErr("cublasCreate", C.kd_cublasCreate(&d.blas)); err != nil {
		return err
	}
	d.closer = append(d.closer, func() { C.kd_cublasDestroy(d.blas) })
	if err := blasErr("cublasSetStream", C.kd_cublasSetStream(d.blas, d.stream)); err != nil {
		return err
	}
	d.pool.owner = d
	d.pool.init()
	d.args = (*C.char)(C.malloc(argBytes))
	d.offs = (*C.int)(C.malloc(C.size_t(maxArgs) * C.size_t(unsafe.Sizeof(C.int(0)))))
	if d.args == nil || d.offs == nil {
		return errors.New("cuda: malloc failed")
	}
	d.closer = append(d.closer, func() { C.free(unsafe.Pointer(d.args)); C.free(unsafe.Pointer(d.offs)) })
	if err := d.compile(); err != nil {
		return err
	}
	return nil
}

// release frees what init made, in reverse order; on the worker thread.
func (d *Device) release() {
	if d.stream != nil {
		C.kd_cuStreamSynchronize(d.stream)
	}
	for _, s := range d.sc {
		if s.Device() != 0 {
			d.pool.free(uint64(s.Device()))
		}
	}
	for i := range d.stage {
		d.stage[i].release()
	}
	for i := range d.bulk {
		d.bulk[i].release()
	}
	d.pool.releaseAll()
	for i := len(d.closer) - 1; i >= 0; i-- {
		d.closer[i]()
	}
	d.closer = nil
}

// Close waits for pending work, frees the Device's memory (every Buf it
// returned becomes invalid), and releases the GPU. It returns the first
// asynchronous error, if any. Closing twice is not an error.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	var err error
	d.work <- func() {
		err = d.syncLocked()
		d.release()
	}
	<-d.done
	d.closed = true
	close(d.work)
	return err
}

// Name implements kernels.Backend: "cuda/" and the GPU's name, compute
// capability and math, e.g. "cuda/NVIDIA H200/sm_90/fp32".
func (d *Device) Name() string {
	return fmt.Sprintf("cuda/%s/sm_%d%d/%s", d.name, d.cc[0], d.cc[1], d.math)
}

// Math returns how the Device multiplies matrices.
func (d *Device) Math() Math { return d.math }

// TotalMemory returns the GPU's memory in bytes.
func (d *Device) TotalMemory() uint64 { return d.total }

// FreeMemory returns the bytes of GPU memory the driver reports free
// (the Device's cached blocks are not free).
func (d *Device) FreeMemory() (uint64, error) {
	var free, total C.size_t
	var err error
	d.do(func() { err = cuCheck("cuMemGetInfo", C.kd_cuMemGetInfo(&free, &total)) })
	return uint64(free), err
}

// fail records the first asynchronous error.
func (d *Device) fail(err error) {
	if err != nil && d.err == nil {
		d.err = err
	}
}

// syncLocked waits for the stream; on the worker.
func (d *Device) syncLocked() error {
	d.fail(cuCheck("cuStreamSynchronize", C.kd_cuStreamSynchronize(d.stream)))
	return d.err
}

// Sync implements kernels.Backend. Errors are sticky: once a CUDA call
// failed, every later Sync, Upload and Download reports it.
func (d *Device) Sync() error {
	var err error
	d.do(func() { err = d.syncLocked() })
	return err
}

// Alloc implements kernels.Backend: n zeroed float32 values of device
// memory, from the Device's pool.
func (d *Device) Alloc(n int) (kernels.Buf, error) {
	if n < 0 {
		return kernels.Buf{}, fmt.Errorf("cuda: Alloc(%d): negative size", n)
	}
	if n == 0 {
		return kernels.Buf{}, nil
	}
	var b kernels.Buf
	var err error
	d.do(func() {
		b, err = d.alloc(n)
		if err == nil {
			d.fill(ptr(b.Device()), n, 0)
		}
	})
	return b, err
}

// fill queues setting n values at p to v; on the worker.
func (d *Device) fill(p ptr, n int, v float32) {
	d.fail(cuCheck("cuMemsetD32Async", C.kd_cuMemsetD32Async(C.CUdeviceptr(p), C.uint(math.Float32bits(v)), C.size_t(n), d.stream)))
}

// alloc takes n float32 values from the pool, uninitialized; on the worker.
func (d *Device) alloc(n int) (kernels.Buf, error) {
	p, err := d.pool.alloc(uint64(n)*4, d.stream)
	if err != nil {
		return kernels.Buf{}, fmt.Errorf("cuda: allocating %d values (%.1f MiB; %.1f MiB in use on %s): %w",
			n, float64(n)*4/(1<<20), float64(d.pool.live)/(1<<20), d.name, err)
	}
	return kernels.DeviceBuf(uintptr(p), n), nil
}

// Free implements kernels.Backend: b's memory goes back to the Device's
// pool, for later Allocs. b must be a Buf Alloc returned (a zero Buf is
// ignored); work already queued on it still completes first, as the
// Device runs everything in order.
func (d *Device) Free(b kernels.Buf) {
	if b.Device() == 0 {
		if b.Len() > 0 {
			panic("cuda: Free of a host Buf")
		}
		return
	}
	d.do(func() {
		if !d.pool.free(uint64(b.Device())) {
			panic(fmt.Sprintf("cuda: Free of device address %#x, which Alloc did not return", b.Device()))
		}
	})
}

// Upload implements kernels.Backend. src is copied into pinned memory
// before Upload returns, so the caller may reuse it at once; the copy to
// the device completes asynchronously, in order with other work.
func (d *Device) Upload(dst kernels.Buf, src []float32) error {
	if len(src) > dst.Len() {
		return fmt.Errorf("cuda: Upload: %d values into a Buf of %d", len(src), dst.Len())
	}
	if len(src) == 0 {
		return nil
	}
	if dst.Device() == 0 {
		return errors.New("cuda: Upload into a Buf that is not device memory")
	}
	var err error
	d.do(func() {
		d.uploadBytes(uint64(dst.Device()), unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), len(src)*4))
		err = d.err
	})
	return err
}

// Download implements kernels.Backend: it waits for the work queued
// before it, then copies.
func (d *Device) Download(dst []float32, src kernels.Buf) error {
	if len(dst) > src.Len() {
		return fmt.Errorf("cuda: Download: %d values from a Buf of %d", len(dst), src.Len())
	}
	if len(dst) == 0 {
		return nil
	}
	if src.Device() == 0 {
		return errors.New("cuda: Download from a Buf that is not device memory")
	}
	var err error
	d.do(func() {
		d.downloadBytes(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)*4), uint64(src.Device()))
		err = d.err
	})
	return err
}

// bulkBytes is the size of each of the two pinned buffers Upload and
// Download stream through.
const bulkBytes = 8 << 20

// uploadBytes copies src to device address dst through the two pinned
// bulk buffers in turn: while the GPU copies one, the host fills the
// other. On the worker.
func (d *Device) uploadBytes(dst uint64, src []byte) {
	for off, i := 0, 0; off < len(src) && d.err == nil; i++ {
		b := &d.bulk[i%2]
		if err := b.reserve(bulkBytes, false); err != nil {
			d.fail(err)
			return
		}
		n := copy(b.hostBytes(), src[off:])
		d.fail(cuCheck("cuMemcpyHtoDAsync", C.kd_cuMemcpyHtoDAsync(C.CUdeviceptr(dst+uint64(off)), b.host, C.size_t(n), d.stream)))
		b.record(d.stream)
		off += n
	}
}

// downloadBytes copies from device address src into dst, waiting for each
// chunk's copy while the next one is under way. On the worker.
func (d *Device) downloadBytes(dst []byte, src uint64) {
	type pending struct {
		b      *stageSlot
		off, n int
	}
	var q []pending
	drain := func(p pending) {
		d.fail(p.b.wait())
		if d.err == nil {
			copy(dst[p.off:p.off+p.n], p.b.hostBytes())
		}
	}
	for off, i := 0, 0; off < len(dst) && d.err == nil; i++ {
		b := &d.bulk[i%2]
		if len(q) == 2 {
			drain(q[0])
			q = q[1:]
		}
		if err := b.reserve(bulkBytes, false); err != nil {
			d.fail(err)
			return
		}
		n := min(bulkBytes, len(dst)-off)
		d.fail(cuCheck("cuMemcpyDtoHAsync", C.kd_cuMemcpyDtoHAsync(b.host, C.CUdeviceptr(src+uint64(off)), C.size_t(n), d.stream)))
		b.record(d.stream)
		q = append(q, pending{b, off, n})
		off += n
	}
	for _, p := range q {
		drain(p)
	}
}

// memPool caches device allocations by rounded size, so the activations
// of repeated batches reuse the same blocks without cuMemAlloc (which
// synchronizes). Blocks are plain cuMemAlloc memory (no managed memory).
// Reuse is safe without waiting because all work runs in order on one
// stream.
type memPool struct {
	owner  *Device
	cached map[uint64][]uint64 // free blocks by size
	size   map[uint64]uint64   // every block the pool owns, by address
	live   uint64              // bytes handed out
	held   uint64              // bytes cached
}

func (p *memPool) init() {
	p.cached = map[uint64][]uint64{}
	p.size = map[uint64]uint64{}
}

// roundBytes rounds an allocation up to 512 bytes below 1 MiB and to
// 2 MiB above, the granularity at which blocks are reused.
func roundBytes(b uint64) uint64 {
	if b <= 1<<20 {
		return (b + 511) &^ 511
	}
	return (b + (2<<20 - 1)) &^ (2<<20 - 1)
}

func (p *memPool) alloc(bytes uint64, stream C.CUstream) (uint64, error) {
	sz := roundBytes(bytes)
	if l := p.cached[sz]; len(l) > 0 {
		a := l[len(l)-1]
		p.cached[sz] = l[:len(l)-1]
		p.held -= sz
		p.live += sz
		return a, nil
	}
	var ptr C.CUdeviceptr
	r := C.kd_cuMemAlloc(&ptr, C.size_t(sz))
	if r == cuErrOutOfMemory && p.held > 0 {
		// Give the cached blocks back to the driver and try again. cuMemFree
		// of memory that queued work uses is not allowed: wait first.
		C.kd_cuStreamSynchronize(stream)
		p.releaseCached()
		r = C.kd_cuMemAlloc(&ptr, C.size_t(sz))
	}
	if err := cuCheck("cuMemAlloc", r); err != nil {
		return 0, err
	}
	p.size[uint64(ptr)] = sz
	p.live += sz
	register(uint64(ptr), sz, p.owner)
	return uint64(ptr), nil
}

// free returns a block to the cache; false when addr is not a block.
func (p *memPool) free(addr uint64) bool {
	sz, ok := p.size[addr]
	if !ok {
		return false
	}
	p.cached[sz] = append(p.cached[sz], addr)
	p.live -= sz
	p.held += sz
	return true
}

func (p *memPool) releaseCached() {
	for sz, l := range p.cached {
		for _, a := range l {
			C.kd_cuMemFree(C.CUdeviceptr(a))
			delete(p.size, a)
			unregister(a)
		}
		p.held -= sz * uint64(len(l))
		delete(p.cached, sz)
	}
}

// releaseAll frees every block, cached or not (Close).
func (p *memPool) releaseAll() {
	for a := range p.size {
		C.kd_cuMemFree(C.CUdeviceptr(a))
		unregister(a)
	}
	p.init()
	p.live, p.held = 0, 0
}

// stageSlot is pinned host memory, optionally with device memory of the
// same size, and an event marking when the GPU last finished with it.
type stageSlot struct {
	host     unsafe.Pointer
	dev      C.CUdeviceptr
	capacity int
	event    C.CUevent
	recorded bool
}

// reserve waits until the GPU is done with s and makes it hold at least
// n bytes (and device memory when withDev).
func (s *stageSlot) reserve(n int, withDev bool) error {
	if err := s.wait(); err != nil {
		return err
	}
	if s.event == nil {
		if err := cuCheck("cuEventCreate", C.kd_cuEventCreate(&s.event, cuEventDisableTiming)); err != nil {
			return err
		}
	}
	if s.capacity >= n && (!withDev || s.dev != 0) {
		return nil
	}
	n = max(n, 2*s.capacity, 64<<10)
	if s.host != nil {
		C.kd_cuMemFreeHost(s.host)
		s.host = nil
	}
	if s.dev != 0 {
		C.kd_cuMemFree(s.dev)
		s.dev = 0
	}
	s.capacity = 0
	if err := cuCheck("cuMemAllocHost", C.kd_cuMemAllocHost(&s.host, C.size_t(n))); err != nil {
		return err
	}
	if withDev {
		if err := cuCheck("cuMemAlloc", C.kd_cuMemAlloc(&s.dev, C.size_t(n))); err != nil {
			return err
		}
	}
	s.capacity = n
	return nil
}

func (s *stageSlot) hostBytes() []byte { return unsafe.Slice((*byte)(s.host), s.capacity) }

func (s *stageSlot) record(stream C.CUstream) {
	if C.kd_cuEventRecord(s.event, stream) == 0 {
		s.recorded = true
	}
}

func (s *stageSlot) wait() error {
	if !s.recorded {
		return nil
	}
	s.recorded = false
	return cuCheck("cuEventSynchronize", C.kd_cuEventSynchronize(s.event))
}

func (s *stageSlot) release() {
	s.wait()
	if s.host != nil {
		C.kd_cuMemFreeHost(s.host)
	}
	if s.dev != 0 {
		C.kd_cuMemFree(s.dev)
	}
	if s.event != nil {
		C.kd_cuEventDestroy(s.event)
	}
	*s = stageSlot{}
}

// stageSlots is how many small host-array uploads (token ids, masks,
// dropout streams) can be in flight before one waits for the oldest.
const stageSlots = 16

// hostArrays stages the int32 and uint64 arrays an op reads (ids, masks,
// dropout streams) into the next pinned slot, queues their upload, and
// returns their device addresses; endStage marks the slot busy until the
// GPU has run the op's kernels. On the worker.
func (d *Device) hostArrays(arrays ...any) []uint64 {
	s := &d.stage[d.next]
	d.next = (d.next + 1) % stageSlots
	total := 0
	for _, a := range arrays {
		total += (arrayBytes(a) + 255) &^ 255
	}
	if err := s.reserve(total, true); err != nil {
		panic(fmt.Errorf("cuda: staging %d bytes: %w", total, err))
	}
	out := make([]uint64, len(arrays))
	buf := s.hostBytes()
	off := 0
	for i, a := range arrays {
		n := arrayBytes(a)
		if n > 0 {
			switch v := a.(type) {
			case []int32:
				copy(buf[off:], unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), n))
			case []uint64:
				copy(buf[off:], unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), n))
			}
		}
		out[i] = uint64(s.dev) + uint64(off)
		off += (n + 255) &^ 255
	}
	if total > 0 {
		d.fail(cuCheck("cuMemcpyHtoDAsync", C.kd_cuMemcpyHtoDAsync(s.dev, s.host, C.size_t(total), d.stream)))
	}
	return out
}

// endStage records that the op using the last staged slot is queued.
func (d *Device) endStage() {
	s := &d.stage[(d.next+stageSlots-1)%stageSlots]
	s.record(d.stream)
}

func arrayBytes(a any) int {
	switch v := a.(type) {
	case []int32:
		return len(v) * 4
	case []uint64:
		return len(v) * 8
	}
	panic(fmt.Sprintf("cuda: cannot stage %T", a))
}

// Scratch buffers, one per purpose, grown on demand and kept: attention's
// per-head copies and scores, the column-sum partials, top-k lists.
const (
	scQ = iota
	scK
	scV
	scDC
	scS
	scPd
	scDQ
	scDK
	scDV
	scCtx
	scPart
	scPartD
	numScratch
)

// scratch returns scratch buffer i with at least n values; on the worker.
// Growing it hands the old block back to the pool, which is safe in
// stream order.
func (d *Device) scratch(i, n int) uint64 {
	if d.sc[i].Len() >= n && d.sc[i].Device() != 0 {
		return uint64(d.sc[i].Device())
	}
	if d.sc[i].Device() != 0 {
		d.pool.free(uint64(d.sc[i].Device()))
		d.sc[i] = kernels.Buf{}
	}
	b, err := d.alloc(max(n, 1024))
	if err != nil {
		panic(err)
	}
	d.sc[i] = b
	return uint64(b.Device())
}

// OpenSpec opens the GPU a device name describes, as the CLI's -device
// flag and embed.WithDevice spell it: "cuda", optionally followed by
// ":N" for GPU N and ":fp32", ":tf32" or ":bf16" for the Math, e.g.
// "cuda:1:tf32".
func OpenSpec(spec string) (*Device, error) {
	opts, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return Open(opts...)
}

// ParseSpec returns the Open options of a device name (see OpenSpec).
func ParseSpec(spec string) ([]Option, error) {
	parts := strings.Split(spec, ":")
	if parts[0] != "cuda" {
		return nil, fmt.Errorf("cuda: device %q: want cuda[:N][:fp32|tf32|bf16]", spec)
	}
	var opts []Option
	seenN, seenMath := false, false
	for _, p := range parts[1:] {
		if n, err := strconv.Atoi(p); err == nil && !seenN && n >= 0 {
			opts, seenN = append(opts, WithOrdinal(n)), true
			continue
		}
		m, err := ParseMath(p)
		if err != nil || seenMath {
			return nil, fmt.Errorf("cuda: device %q: want cuda[:N][:fp32|tf32|bf16]", spec)
		}
		opts, seenMath = append(opts, WithMath(m)), true
	}
	return opts, nil
}
