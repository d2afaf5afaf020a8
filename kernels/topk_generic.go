package kernels

// Pure-Go twins of the top-k kernels: the fallback where no SIMD path
// exists, and the oracle the SIMD paths are tested against.

// dotRowsGeneric is DotRows in Go. Four partial sums per row break the
// dependency chain; the order is the same for every row.
func dotRowsGeneric(dst, q, x []float32, ldx int) {
	d := len(q)
	for i := range dst {
		r := x[i*ldx : i*ldx+d]
		var s0, s1, s2, s3 float32
		l := 0
		for ; l+4 <= d; l += 4 {
			s0 += q[l] * r[l]
			s1 += q[l+1] * r[l+1]
			s2 += q[l+2] * r[l+2]
			s3 += q[l+3] * r[l+3]
		}
		for ; l < d; l++ {
			s0 += q[l] * r[l]
		}
		dst[i] = (s0 + s1) + (s2 + s3)
	}
}

// dotRowsF16Generic is DotRowsF16 in Go.
func dotRowsF16Generic(dst, q []float32, x []uint16, ldx int) {
	d := len(q)
	for i := range dst {
		r := x[i*ldx : i*ldx+d]
		var s0, s1, s2, s3 float32
		l := 0
		for ; l+4 <= d; l += 4 {
			s0 += q[l] * f16ToF32(r[l])
			s1 += q[l+1] * f16ToF32(r[l+1])
			s2 += q[l+2] * f16ToF32(r[l+2])
			s3 += q[l+3] * f16ToF32(r[l+3])
		}
		for ; l < d; l++ {
			s0 += q[l] * f16ToF32(r[l])
		}
		dst[i] = (s0 + s1) + (s2 + s3)
	}
}

// firstAtLeastGeneric returns the index of the first element of x that is
// >= t, or len(x) if none is (NaN never is).
func firstAtLeastGeneric(x []float32, t float32) int {
	for i, v := range x {
		if v >= t {
			return i
		}
	}
	return len(x)
}

// firstAboveGeneric returns the first index i of x with x[i] >= t[i],
// or len(x) if there is none (NaN never is); t is at least as long as x.
func firstAboveGeneric(x, t []float32) int {
	t = t[:len(x)]
	for i, v := range x {
		if v >= t[i] {
			return i
		}
	}
	return len(x)
}

// topKImpl is one implementation of the top-k kernels, named by the
// dispatch level it belongs to. topKImpls (per architecture) lists them;
// the one of the active level is used, and tests run every one the CPU
// has.
type topKImpl struct {
	name         string
	ok           bool
	dotRows      func(dst, q, x []float32, ldx int)
	dotRowsF16   func(dst, q []float32, x []uint16, ldx int)
	firstAtLeast func(x []float32, t float32) int
	firstAbove   func(x, t []float32) int
	gemm         *gemmKernel // the level's Sgemm kernel, for the GEMM path
}

var topKGeneric = topKImpl{
	name:         "generic",
	ok:           true,
	dotRows:      dotRowsGeneric,
	dotRowsF16:   dotRowsF16Generic,
	firstAtLeast: firstAtLeastGeneric,
	firstAbove:   firstAboveGeneric,
	gemm:         genericImpl.gemm,
}

// topK is the implementation of the active dispatch level (generic where
// a level has no top-k kernels of its own, as NEON for now).
var topK = func() topKImpl {
	for _, im := range topKImpls {
		if im.ok && im.name == active.level {
			return im
		}
	}
	im := topKGeneric
	im.gemm = active.gemm // the level's GEMM all the same
	return im
}()

// level returns dispatch level name, or nil if the CPU and build do not
// run it.
func level(name string) *impl {
	for _, im := range levels {
		if im.level == name {
			return im
		}
	}
	return nil
}

// levelGemm is the Sgemm kernel of level name, or nil.
func levelGemm(name string) *gemmKernel {
	if im := level(name); im != nil {
		return im.gemm
	}
	return nil
}

func dotRows(dst, q, x []float32, ldx int)             { topK.dotRows(dst, q, x, ldx) }
func dotRowsF16(dst, q []float32, x []uint16, ldx int) { topK.dotRowsF16(dst, q, x, ldx) }
func firstAtLeast(x []float32, t float32) int          { return topK.firstAtLeast(x, t) }
