package kernels

import (
	"fmt"
	"os"
	"strings"
)

// impl is one dispatch level: the set of kernels that runs when that level
// is chosen. levels holds the ones this CPU runs; the exported functions
// call active, chosen once at start-up. Tests iterate over levels and call each level's kernels
// directly, so every path available on the machine is exercised without
// touching active.
type impl struct {
	level string      // "generic", "avx2", "avx512", "neon"
	gemm  *gemmKernel // the Sgemm microkernel and its block sizes

	dot   func(x, y []float32) float32
	axpy  func(alpha float32, x, y []float32)
	scale func(alpha float32, x []float32)
	add   func(y, x []float32)      // y[i] += x[i]
	sum   func(x []float32) float64 // accumulated in float64
	max   func(x []float32) float32
	sumSq func(x []float32, mu float32) float64 // Σ (x[i]-mu)², in float64

	// expShift computes x[i] = exp(x[i]-shift) and returns Σ x[i].
	expShift func(x []float32, shift float32) float32
	// normAffine computes out[i] = (x[i]-mu)*rstd*gamma[i] + beta[i].
	normAffine func(out, x, gamma, beta []float32, mu, rstd float32)
	gelu       func(out, x []float32)
	geluTanh   func(out, x []float32)
	erf        func(out, x []float32) // the erf inside gelu

	f16ToF32  func(dst []float32, src []uint16)
	f32ToF16  func(dst []uint16, src []float32)
	bf16ToF32 func(dst []float32, src []uint16)
	f32ToBF16 func(dst []uint16, src []float32)
}

// genericImpl is the pure-Go level; it runs everywhere and is the only
// level with -tags purego.
var genericImpl = &impl{
	level: "generic",
	gemm:  &genericGemm,

	dot:        dotGeneric,
	axpy:       axpyGeneric,
	scale:      scaleGeneric,
	add:        addGeneric,
	sum:        sumGeneric,
	max:        maxGeneric,
	sumSq:      sumSqGeneric,
	expShift:   expShiftGeneric,
	normAffine: normAffineGeneric,
	gelu:       geluGeneric,
	geluTanh:   geluTanhGeneric,
	erf:        erfGeneric,
	f16ToF32:   f16ToF32Generic,
	f32ToF16:   f32ToF16Generic,
	bf16ToF32:  bf16ToF32Generic,
	f32ToBF16:  f32ToBF16Generic,
}

// levels lists the levels this CPU and build can run, lowest first;
// archImpls (one per architecture file) checks the CPU features.
var levels = append([]*impl{genericImpl}, archImpls()...)

// active is the level the exported functions use: the best level in levels
// unless KOTODAMA_CPU asks for a lower one.
var active = chooseLevel(os.Getenv("KOTODAMA_CPU"))

// requestedLevel records KOTODAMA_CPU as given, for Info.
var requestedLevel = os.Getenv("KOTODAMA_CPU")

// chooseLevel returns the best available level not above want. An empty
// or unknown want selects the best level; a level the CPU lacks selects
// the best one below it.
func chooseLevel(want string) *impl {
	want = strings.ToLower(strings.TrimSpace(want))
	best := levels[len(levels)-1]
	if want == "" {
		return best
	}
	rank, ok := levelRank[want]
	if !ok {
		return best
	}
	chosen := levels[0]
	for _, im := range levels {
		if levelRank[im.level] <= rank {
			chosen = im
		}
	}
	return chosen
}

// levelRank orders the level names KOTODAMA_CPU accepts. NEON ranks with
// AVX2 so that KOTODAMA_CPU=avx2 or avx512 on arm64 keeps NEON.
var levelRank = map[string]int{"generic": 0, "avx2": 1, "neon": 1, "avx512": 2}

// CPUInfo describes the kernels that run on this machine.
type CPUInfo struct {
	// Level is the dispatch level in use: "generic", "avx2", "avx512"
	// (amd64) or "neon" (arm64).
	Level string
	// Available lists every level this CPU and build can run, lowest
	// first; KOTODAMA_CPU picks among them.
	Available []string
	// Requested is KOTODAMA_CPU as set in the environment, or "".
	Requested string
	// Kernel names the Sgemm microkernel, e.g. "avx512_12x32".
	Kernel string
	// MR×NR is the microkernel's register tile (rows × columns of C).
	MR, NR int
	// KC, MC and NC are the cache blocks: the depth of packed panels, the
	// rows of A packed per block and the columns of B packed per block.
	KC, MC, NC int
	// Threads is the number of goroutines the default Pool runs on.
	Threads int
}

// Info reports the kernels this process runs: the dispatch level chosen
// at start-up, the GEMM microkernel and block sizes, and the default
// pool's thread count.
func Info() CPUInfo {
	names := make([]string, len(levels))
	for i, im := range levels {
		names[i] = im.level
	}
	g := active.gemm
	return CPUInfo{
		Level:     active.level,
		Available: names,
		Requested: requestedLevel,
		Kernel:    g.name,
		MR:        g.mr,
		NR:        g.nr,
		KC:        g.kc,
		MC:        g.mc,
		NC:        g.nc,
		Threads:   Default().Threads(),
	}
}

// String formats the info on one line, e.g.
// "avx512 (of generic,avx2,avx512) sgemm avx512_12x32 KC=384 MC=2304 NC=768 threads=2".
func (c CPUInfo) String() string {
	s := fmt.Sprintf("%s (of %s) sgemm %s KC=%d MC=%d NC=%d threads=%d",
		c.Level, strings.Join(c.Available, ","), c.Kernel, c.KC, c.MC, c.NC, c.Threads)
	if c.Requested != "" {
		s += fmt.Sprintf(" KOTODAMA_CPU=%s", c.Requested)
	}
	return s
}
