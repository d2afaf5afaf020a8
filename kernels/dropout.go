package kernels

import "fmt"

// Dropout masks are drawn from a counter-based generator: whether element
// i of a slab survives is a pure function of (seed, stream, i). So the
// backward pass recomputes the forward's mask instead of storing it, a
// sequence gets the same mask whichever mini-batch it is encoded in
// (GradCache re-runs the forward and must see the same masks), and a GPU
// or a parallel loop computes the same masks as this loop.

// dropoutKey mixes seed and stream into the per-slab key.
func dropoutKey(seed, stream uint64) uint64 {
	return splitmix(seed ^ splitmix(stream^0x6a09e667f3bcc908))
}

// splitmix is SplitMix64's output function (Steele, Lea & Flood 2014).
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dropoutKeep reports whether element i survives: its 24-bit uniform
// draw u/2²⁴ is at least p.
func dropoutKeep(key uint64, i int, threshold uint32) bool {
	return uint32(splitmix(key+uint64(i)*0x9e3779b97f4a7c15)>>40) >= threshold
}

func dropoutThreshold(p float32) uint32 {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("kernels: dropout probability %v outside [0, 1)", p))
	}
	return uint32(float64(p) * (1 << 24))
}

// Dropout computes out[i] = x[i]/(1−p) where element i of the slab
// (seed, stream) survives and 0 where it is dropped, each element dropped
// with probability p. out may alias x. p = 0 copies x.
func Dropout(out, x []float32, p float32, seed, stream uint64) {
	out = out[:len(x)]
	th := dropoutThreshold(p)
	if th == 0 {
		copy(out, x)
		return
	}
	key := dropoutKey(seed, stream)
	scale := 1 / (1 - p)
	for i, v := range x {
		if dropoutKeep(key, i, th) {
			out[i] = v * scale
		} else {
			out[i] = 0
		}
	}
}

// DropoutBackward adds to dx the gradient through Dropout with the same
// (p, seed, stream): dy[i]/(1−p) where element i survived.
func DropoutBackward(dx, dy []float32, p float32, seed, stream uint64) {
	dx = dx[:len(dy)]
	th := dropoutThreshold(p)
	if th == 0 {
		Axpy(1, dy, dx)
		return
	}
	key := dropoutKey(seed, stream)
	scale := 1 / (1 - p)
	for i, v := range dy {
		if dropoutKeep(key, i, th) {
			dx[i] += v * scale
		}
	}
}
