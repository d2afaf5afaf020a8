//go:build amd64 && !purego

package kernels

// Assembly kernels (topk_amd64.s). Each computes four rows per step; n
// must be a multiple of 4.

//go:noescape
func dotRows4AVX512(dst *float32, q *float32, x *float32, ldx int, d int, n int)

//go:noescape
func dotRows4F16AVX512(dst *float32, q *float32, x *uint16, ldx int, d int, n int)

//go:noescape
func dotRows4AVX2(dst *float32, q *float32, x *float32, ldx int, d int, n int)

//go:noescape
func dotRows4F16AVX2(dst *float32, q *float32, x *uint16, ldx int, d int, n int)

//go:noescape
func firstAtLeastAVX512(x *float32, n int, t float32) int

//go:noescape
func firstAtLeastAVX2(x *float32, n int, t float32) int

//go:noescape
func firstAboveAVX512(x *float32, t *float32, n int) int

//go:noescape
func firstAboveAVX2(x *float32, t *float32, n int) int

var topKImpls = []topKImpl{
	{
		name:         "avx512",
		ok:           level("avx512") != nil,
		gemm:         levelGemm("avx512"),
		dotRows:      dotRowsAVX512,
		dotRowsF16:   dotRowsF16AVX512,
		firstAtLeast: firstAtLeastAVX512Go,
		firstAbove:   firstAboveAVX512Go,
	},
	{
		name:         "avx2",
		ok:           level("avx2") != nil,
		gemm:         levelGemm("avx2"),
		dotRows:      dotRowsAVX2,
		dotRowsF16:   dotRowsF16AVX2,
		firstAtLeast: firstAtLeastAVX2Go,
		firstAbove:   firstAboveAVX2Go,
	},
	topKGeneric,
}

// The Go sides of the kernels: whole groups of four rows go to the
// assembly in one call; a leftover row is passed as all four rows of a
// group (stride 0), so it is summed exactly like the others.

func dotRowsAVX512(dst, q, x []float32, ldx int) {
	d, n := len(q), len(dst)
	if d == 0 {
		clear(dst)
		return
	}
	n4 := n &^ 3
	if n4 > 0 {
		dotRows4AVX512(&dst[0], &q[0], &x[0], ldx, d, n4)
	}
	var t [4]float32
	for i := n4; i < n; i++ {
		dotRows4AVX512(&t[0], &q[0], &x[i*ldx], 0, d, 4)
		dst[i] = t[0]
	}
}

func dotRowsF16AVX512(dst, q []float32, x []uint16, ldx int) {
	d, n := len(q), len(dst)
	if d == 0 {
		clear(dst)
		return
	}
	n4 := n &^ 3
	if n4 > 0 {
		dotRows4F16AVX512(&dst[0], &q[0], &x[0], ldx, d, n4)
	}
	var t [4]float32
	for i := n4; i < n; i++ {
		dotRows4F16AVX512(&t[0], &q[0], &x[i*ldx], 0, d, 4)
		dst[i] = t[0]
	}
}

func dotRowsAVX2(dst, q, x []float32, ldx int) {
	d, n := len(q), len(dst)
	if d == 0 {
		clear(dst)
		return
	}
	n4 := n &^ 3
	if n4 > 0 {
		dotRows4AVX2(&dst[0], &q[0], &x[0], ldx, d, n4)
	}
	var t [4]float32
	for i := n4; i < n; i++ {
		dotRows4AVX2(&t[0], &q[0], &x[i*ldx], 0, d, 4)
		dst[i] = t[0]
	}
}

// dotRowsF16AVX2 adds the d%8 tail the assembly leaves, in Go, in the
// same order for every row.
func dotRowsF16AVX2(dst, q []float32, x []uint16, ldx int) {
	d, n := len(q), len(dst)
	d8 := d &^ 7
	if d8 == 0 {
		dotRowsF16Generic(dst, q, x, ldx)
		return
	}
	n4 := n &^ 3
	if n4 > 0 {
		dotRows4F16AVX2(&dst[0], &q[0], &x[0], ldx, d, n4)
	}
	var t [4]float32
	for i := n4; i < n; i++ {
		dotRows4F16AVX2(&t[0], &q[0], &x[i*ldx], 0, d, 4)
		dst[i] = t[0]
	}
	if d8 == d {
		return
	}
	for i := range dst {
		r := x[i*ldx+d8 : i*ldx+d]
		var s float32
		for l, h := range r {
			s += q[d8+l] * f16ToF32(h)
		}
		dst[i] += s
	}
}

func firstAtLeastAVX512Go(x []float32, t float32) int {
	i := 0
	if len(x) >= 16 {
		i = firstAtLeastAVX512(&x[0], len(x), t)
		if i < len(x)&^15 {
			return i
		}
	}
	return i + firstAtLeastGeneric(x[i:], t)
}

func firstAtLeastAVX2Go(x []float32, t float32) int {
	i := 0
	if len(x) >= 8 {
		i = firstAtLeastAVX2(&x[0], len(x), t)
		if i < len(x)&^7 {
			return i
		}
	}
	return i + firstAtLeastGeneric(x[i:], t)
}

func firstAboveAVX512Go(x, t []float32) int {
	t = t[:len(x)]
	i := 0
	if len(x) >= 16 {
		i = firstAboveAVX512(&x[0], &t[0], len(x))
		if i < len(x)&^15 {
			return i
		}
	}
	return i + firstAboveGeneric(x[i:], t[i:])
}

func firstAboveAVX2Go(x, t []float32) int {
	t = t[:len(x)]
	i := 0
	if len(x) >= 8 {
		i = firstAboveAVX2(&x[0], &t[0], len(x))
		if i < len(x)&^7 {
			return i
		}
	}
	return i + firstAboveGeneric(x[i:], t[i:])
}
