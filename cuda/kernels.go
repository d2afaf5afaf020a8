//go:build cuda

package cuda

/*
#include <stdlib.h>
#include "kd.h"
*/
import "C"

import (
	"embed"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unsafe"
)

// The kernels are CUDA C in cu/, compiled at Open by NVRTC into one module.

//go:embed cu/*.cu
var cuSources embed.FS

// cuFiles is the order the sources are concatenated in: common.cu first,
// as the others use its helpers.
var cuFiles = []string{"common.cu", "elementwise.cu", "norm.cu", "softmax.cu", "topk.cu"}

// kernel is one kernel of the module: its handle, its name in the .cu
// source, and the kinds of its parameters (paramKinds), against which
// every launch's arguments are checked.
type kernel struct {
	f    C.CUfunction
	name string
	sig  string
}

// funcs are the module's kernels.
type funcs struct {
	addBias, add, scale, scaleMatrix, gelu, geluBackward, geglu, gegluBackward     kernel
	dropout, dropoutProbs, gather, scatterAdd, splitHeads, mergeHeads, halfToFloat kernel
	adamw, sumSquaresPartial                                                       kernel
	layerNorm, layerNormDx, colsumPartial, colsumFinal                             kernel
	softmaxRows, softmaxBackwardRows, attnSoftmax, attnVisibleSoftmax              kernel
	attnSoftmaxBackward, maskedMax, maskedMaxBackward, topkSelect                  kernel
}

func (f *funcs) table() map[string]*kernel {
	return map[string]*kernel{
		"kd_add_bias": &f.addBias, "kd_add": &f.add, "kd_scale": &f.scale, "kd_scale_matrix": &f.scaleMatrix,
		"kd_gelu": &f.gelu, "kd_gelu_backward": &f.geluBackward, "kd_geglu": &f.geglu,
		"kd_geglu_backward": &f.gegluBackward, "kd_dropout": &f.dropout, "kd_dropout_probs": &f.dropoutProbs,
		"kd_gather": &f.gather, "kd_scatter_add": &f.scatterAdd, "kd_split_heads": &f.splitHeads,
		"kd_merge_heads": &f.mergeHeads, "kd_half_to_float": &f.halfToFloat, "kd_adamw": &f.adamw,
		"kd_sum_squares_partial": &f.sumSquaresPartial, "kd_layernorm": &f.layerNorm,
		"kd_layernorm_dx": &f.layerNormDx, "kd_colsum_partial": &f.colsumPartial,
		"kd_colsum_final": &f.colsumFinal, "kd_softmax_rows": &f.softmaxRows,
		"kd_softmax_backward_rows": &f.softmaxBackwardRows, "kd_attn_softmax": &f.attnSoftmax,
		"kd_attn_visible_softmax": &f.attnVisibleSoftmax, "kd_attn_softmax_backward": &f.attnSoftmaxBackward,
		"kd_masked_max": &f.maskedMax, "kd_masked_max_backward": &f.maskedMaxBackward,
		"kd_topk_select": &f.topkSelect,
	}
}

// source returns the concatenated kernel sources, each file introduced by
// a #line directive so NVRTC's messages name the file and line.
func source() (string, error) {
	var b strings.Builder
	for _, f := range cuFiles {
		s, err := cuSources.ReadFile("cu/" + f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "#line 1 \"%s\"\n", f)
		b.Write(s)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// compile builds the module for this GPU and looks up every kernel; on
// the worker. NVRTC compiles for the GPU's own architecture (sm_XY: SASS,
// nothing left to the driver) when it supports it, otherwise for the
// newest virtual architecture it supports below the GPU's (compute_XY:
// PTX the driver compiles when loading).
func (d *Device) compile() error {
	var nArch C.int
	if r := C.kd_nvrtcNumArchs(&nArch); r != 0 {
		return fmt.Errorf("cuda: nvrtcGetNumSupportedArchs: %s", nvrtcErr(r))
	}
	archs := make([]C.int, max(int(nArch), 1))
	if r := C.kd_nvrtcArchs(&archs[0]); r != 0 {
		return fmt.Errorf("cuda: nvrtcGetSupportedArchs: %s", nvrtcErr(r))
	}
	want := d.cc[0]*10 + d.cc[1]
	best := -1
	for _, a := range archs[:nArch] {
		if int(a) <= want && int(a) > best {
			best = int(a)
		}
	}
	var major, minor C.int
	C.kd_nvrtcVersion(&major, &minor)
	switch {
	case best < 0:
		return fmt.Errorf("%w: %s is sm_%d, older than every architecture NVRTC %d.%d compiles for", ErrUnavailable, d.name, want, major, minor)
	case best == want:
		d.arch = fmt.Sprintf("sm_%d", want)
	default:
		d.arch = fmt.Sprintf("compute_%d", best)
	}
	src, err := source()
	if err != nil {
		return err
	}
	opts := []string{"--gpu-architecture=" + d.arch, "--std=c++17"}
	csrc, cname := C.CString(src), C.CString("kotodama.cu")
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	copts := (**C.char)(C.malloc(C.size_t(len(opts)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	defer C.free(unsafe.Pointer(copts))
	optv := unsafe.Slice(copts, len(opts))
	for i, o := range opts {
		optv[i] = C.CString(o)
		defer C.free(unsafe.Pointer(optv[i]))
	}
	var image, log *C.char
	var size C.size_t
	var cubin C.int
	r := C.kd_compile(csrc, cname, copts, C.int(len(opts)), &image, &size, &cubin, &log)
	defer C.free(unsafe.Pointer(image))
	defer C.free(unsafe.Pointer(log))
	if r != 0 {
		msg := ""
		if log != nil {
			msg = strings.TrimSpace(C.GoString(log))
		}
		return fmt.Errorf("cuda: NVRTC %d.%d compiling the kernels for %s: %s\n%s", major, minor, d.arch, nvrtcErr(r), msg)
	}
	if err := cuCheck("cuModuleLoadData", C.kd_cuModuleLoadData(&d.mod, unsafe.Pointer(image))); err != nil {
		return fmt.Errorf("cuda: loading the kernels compiled by NVRTC %d.%d for %s (a driver older than NVRTC cannot load its PTX): %w",
			major, minor, d.arch, err)
	}
	d.closer = append(d.closer, func() { C.kd_cuModuleUnload(d.mod) })
	sigs, err := signatures(src)
	if err != nil {
		return err
	}
	for name, k := range d.fn.table() {
		k.name = name
		if k.sig = sigs[name]; k.sig == "" {
			return fmt.Errorf("cuda: kernel %s is not in the sources", name)
		}
		cn := C.CString(name)
		err := cuCheck("cuModuleGetFunction "+name, C.kd_cuModuleGetFunction(&k.f, d.mod, cn))
		C.free(unsafe.Pointer(cn))
		if err != nil {
			return err
		}
	}
	return nil
}

// kernelDecl matches a kernel's declaration and captures its name and
// parameter list.
var kernelDecl = regexp.MustCompile(`extern "C" __global__ void (\w+)\(([^)]*)\)`)

// signatures returns, for every kernel in src, the kinds of its
// parameters, one letter each: p pointer, l long long (i64), q u64,
// u u32, i int, f float.
func signatures(src string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range kernelDecl.FindAllStringSubmatch(src, -1) {
		var sig strings.Builder
		for _, p := range strings.Split(m[2], ",") {
			f := strings.Fields(p)
			if len(f) < 2 {
				return nil, fmt.Errorf("cuda: cannot read parameter %q of kernel %s", p, m[1])
			}
			typ := strings.Join(f[:len(f)-1], " ")
			switch {
			case strings.Contains(p, "*"):
				sig.WriteByte('p')
			case typ == "i64":
				sig.WriteByte('l')
			case typ == "u64":
				sig.WriteByte('q')
			case typ == "u32":
				sig.WriteByte('u')
			case typ == "int":
				sig.WriteByte('i')
			case typ == "float":
				sig.WriteByte('f')
			default:
				return nil, fmt.Errorf("cuda: kernel %s: parameter type %q", m[1], typ)
			}
		}
		if sig.Len() > maxArgs {
			return nil, fmt.Errorf("cuda: kernel %s has more than %d parameters", m[1], maxArgs)
		}
		out[m[1]] = sig.String()
	}
	return out, nil
}

// Kernel launches. Arguments are packed into a C buffer with their C
// alignment; kd_launch hands cuLaunchKernel a pointer to each.
const (
	argBytes = 512
	maxArgs  = 32 // kd_launch's limit
)

type arg interface{}

// ptr is a device pointer argument (8 bytes).
type ptr uint64

// i64 is a long long argument; u64 an unsigned long long; u32 an
// unsigned int. A Go int is passed as a C int, a float32 as a float.
type (
	i64 int64
	u64 uint64
	u32 uint32
)

// launch queues kernel f on the stream with grid×block threads and shmem
// bytes of dynamic shared memory; on the worker. A failed launch is
// recorded as the Device's error.
func (d *Device) launch(k kernel, grid, block [3]int, shmem int, args ...arg) {
	if d.err != nil {
		return
	}
	if len(args) != len(k.sig) {
		panic(fmt.Sprintf("cuda: %s takes %d arguments, given %d", k.name, len(k.sig), len(args)))
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(d.args)), argBytes)
	offs := unsafe.Slice(d.offs, maxArgs)
	pos := 0
	for i, a := range args {
		size := 4
		kind := byte(0)
		switch a.(type) {
		case ptr:
			size, kind = 8, 'p'
		case i64:
			size, kind = 8, 'l'
		case u64:
			size, kind = 8, 'q'
		case u32:
			kind = 'u'
		case int:
			kind = 'i'
		case float32:
			kind = 'f'
		}
		if kind != k.sig[i] {
			panic(fmt.Sprintf("cuda: %s argument %d is a Go %T, the kernel takes kind %c (%s)", k.name, i, a, k.sig[i], k.sig))
		}
		pos = (pos + size - 1) &^ (size - 1) // C alignment of the type
		if pos+size > argBytes {
			panic("cuda: kernel arguments too large")
		}
		offs[i] = C.int(pos)
		p := unsafe.Pointer(&buf[pos])
		switch v := a.(type) {
		case ptr:
			*(*uint64)(p) = uint64(v)
		case i64:
			*(*int64)(p) = int64(v)
		case u64:
			*(*uint64)(p) = uint64(v)
		case u32:
			*(*uint32)(p) = uint32(v)
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				panic(fmt.Sprintf("cuda: kernel argument %d = %d does not fit a C int", i, v))
			}
			*(*int32)(p) = int32(v)
		case float32:
			*(*float32)(p) = v
		default:
			panic(fmt.Sprintf("cuda: kernel argument of type %T", a))
		}
		pos += size
	}
	d.fail(cuCheck("cuLaunchKernel "+k.name, C.kd_launch(k.f, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]), C.uint(shmem), d.stream, d.args, d.offs, C.int(len(args)))))
}

// threads is the block size of the elementwise and per-row kernels.
const threads = 256

// launch1D queues an elementwise kernel over n elements: enough blocks of
// 256 threads to cover n, at most 32 per multiprocessor (the kernels loop
// over a grid stride).
func (d *Device) launch1D(f kernel, n int64, args ...arg) {
	if n <= 0 {
		return
	}
	blocks := min((n+threads-1)/threads, int64(max(d.sms, 1))*32)
	d.launch(f, [3]int{int(blocks), 1, 1}, [3]int{threads, 1, 1}, 0, args...)
}

// launchRows queues a kernel that takes one block per row of cols values
// (rows may exceed the grid; the kernels loop over a grid stride of rows).
// A block has about one thread per two values of a row, in whole warps,
// at most 256: short rows (a small model's hidden size, short sequences'
// attention rows) do not leave most of a block idle at every barrier.
func (d *Device) launchRows(f kernel, rows int64, cols int, args ...arg) {
	if rows <= 0 {
		return
	}
	t := 32
	for t < threads && 2*t < cols {
		t *= 2
	}
	blocks := min(rows, int64(max(d.sms, 1))*64)
	d.launch(f, [3]int{int(blocks), 1, 1}, [3]int{t, 1, 1}, 0, args...)
}
