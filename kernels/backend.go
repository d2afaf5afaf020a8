package kernels

import "fmt"

// Buf is a span of float32 values that a Backend owns: a Go slice on the
// CPU, a device address on a GPU. Model code keeps its parameters and
// activations in Bufs and hands them to Backend methods, so the same
// model code runs on either; it reads values back with Download.
type Buf struct {
	host []float32
	dev  uintptr
	n    int
}

// HostBuf wraps a slice as a Buf of the CPU backend.
func HostBuf(s []float32) Buf { return Buf{host: s, n: len(s)} }

// DeviceBuf wraps n float32 values at device address addr. Only a device
// Backend creates these.
func DeviceBuf(addr uintptr, n int) Buf { return Buf{dev: addr, n: n} }

// Len is the number of float32 values in b.
func (b Buf) Len() int { return b.n }

// Host returns the values of a host Buf, or nil for a device Buf.
func (b Buf) Host() []float32 { return b.host }

// Device returns the device address of a device Buf, or 0 for a host Buf.
func (b Buf) Device() uintptr { return b.dev }

// Slice returns the n values starting at off, sharing storage with b.
func (b Buf) Slice(off, n int) Buf {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("kernels: Buf.Slice(%d, %d) out of range [0, %d]", off, n, b.n))
	}
	if b.host != nil {
		return Buf{host: b.host[off : off+n : off+n], n: n}
	}
	if b.dev == 0 {
		return Buf{}
	}
	return Buf{dev: b.dev + uintptr(off)*4, n: n}
}

// Backend is the math a model needs, on one device. Methods take outputs
// first, then inputs, then sizes; they do not allocate. A device Backend
// may run them asynchronously: errors surface from Sync, Upload and
// Download.
type Backend interface {
	// Name says which device and code path runs, e.g. "cpu/avx512".
	Name() string
	// Alloc returns n zeroed values.
	Alloc(n int) (Buf, error)
	// Free releases a Buf from Alloc; the CPU backend leaves it to the GC.
	Free(b Buf)
	// Upload copies src into dst (len(src) values).
	Upload(dst Buf, src []float32) error
	// Download copies len(dst) values of src into dst, waiting for pending work.
	Download(dst []float32, src Buf) error
	// Sync waits for pending work and reports the first error it met.
	Sync() error

	// Gemm is Sgemm on Bufs.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Buf, lda int, b Buf, ldb int, beta float32, c Buf, ldc int)
	// GemmStrided is SgemmStrided on Bufs.
	GemmStrided(transA, transB bool, m, n, k int, alpha float32, a Buf, lda, strideA int, b Buf, ldb, strideB int, beta float32, c Buf, ldc, strideC int, batch int)
}

// CPU is the Backend on this machine's processor.
type CPU struct{}

// NewCPU returns the CPU backend.
func NewCPU() *CPU { return &CPU{} }

// Name implements Backend.
func (*CPU) Name() string { return "cpu/generic" }

// Alloc implements Backend.
func (*CPU) Alloc(n int) (Buf, error) {
	if n < 0 {
		return Buf{}, fmt.Errorf("kernels: Alloc(%d): negative size", n)
	}
	return HostBuf(make([]float32, n)), nil
}

// Free implements Backend.
func (*CPU) Free(Buf) {}

// Upload implements Backend.
func (*CPU) Upload(dst Buf, src []float32) error {
	if len(src) > dst.n {
		return fmt.Errorf("kernels: Upload: %d values into a Buf of %d", len(src), dst.n)
	}
	copy(dst.host, src)
	return nil
}

// Download implements Backend.
func (*CPU) Download(dst []float32, src Buf) error {
	if len(dst) > src.n {
		return fmt.Errorf("kernels: Download: %d values from a Buf of %d", len(dst), src.n)
	}
	copy(dst, src.host)
	return nil
}

// Sync implements Backend.
func (*CPU) Sync() error { return nil }

// Gemm implements Backend.
func (*CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a Buf, lda int, b Buf, ldb int, beta float32, c Buf, ldc int) {
	Sgemm(transA, transB, m, n, k, alpha, a.host, lda, b.host, ldb, beta, c.host, ldc)
}

// GemmStrided implements Backend.
func (*CPU) GemmStrided(transA, transB bool, m, n, k int, alpha float32, a Buf, lda, strideA int, b Buf, ldb, strideB int, beta float32, c Buf, ldc, strideC int, batch int) {
	SgemmStrided(transA, transB, m, n, k, alpha, a.host, lda, strideA, b.host, ldb, strideB, beta, c.host, ldc, strideC, batch)
}
