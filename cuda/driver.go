//go:build cuda

package cuda

// Loading the CUDA libraries, and the errors and constants of their APIs.
// The C declarations are in kd.h, written out by hand (no CUDA headers are
// needed to build), and kd.c binds them with dlopen and dlsym at run time.
// Every constant below is checked against NVIDIA's headers of CUDA 12.6
// (cuda.h, cublas_api.h, nvrtc.h, library_types.h); the comment beside
// each says where it comes from.

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "kd.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// ErrUnavailable means no usable GPU: the CUDA libraries are missing, the
// driver found no device, or the device cannot run this package's
// kernels. The wrapping error says which.
var ErrUnavailable = errors.New("cuda: no usable GPU")

// ErrOutOfMemory means a device allocation failed after the Device
// released every cached block.
var ErrOutOfMemory = errors.New("cuda: out of GPU memory")

// Library names tried, newest first. The driver's soname has been
// libcuda.so.1 since CUDA 1.x; cuBLAS and NVRTC carry the CUDA major
// version in theirs.
var (
	driverLibs = []string{"libcuda.so.1", "libcuda.so"}
	cublasLibs = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so"}
	nvrtcLibs  = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}
	// Where a toolkit installs them when they are not on the loader's path.
	libDirs = []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
		"/usr/local/cuda/targets/sbsa-linux/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"}
)

var (
	loadOnce sync.Once
	loadErr  error
	libNames [3]string // the files opened: driver, cuBLAS, NVRTC
)

// load opens the three libraries and binds their symbols, once per
// process.
func load() error {
	loadOnce.Do(func() {
		bind := []func(unsafe.Pointer) *C.char{
			func(h unsafe.Pointer) *C.char { return C.kd_bind_driver(h) },
			func(h unsafe.Pointer) *C.char { return C.kd_bind_cublas(h) },
			func(h unsafe.Pointer) *C.char { return C.kd_bind_nvrtc(h) },
		}
		for i, names := range [][]string{driverLibs, cublasLibs, nvrtcLibs} {
			h, name, err := openLib(names)
			if err != nil {
				loadErr = err
				return
			}
			if missing := bind[i](h); missing != nil {
				loadErr = fmt.Errorf("%w: %s has no symbol %s (too old a CUDA version?)", ErrUnavailable, name, C.GoString(missing))
				return
			}
			libNames[i] = name
		}
		if r := C.kd_cuInit(); r != 0 {
			loadErr = fmt.Errorf("%w: cuInit: %w", ErrUnavailable, cuErr(r))
		}
	})
	return loadErr
}

// LibsEnv names the environment variable that lists directories (separated
// by colons) to load the CUDA libraries from before the loader's own path,
// e.g. the lib directories of the nvidia-*-cu12 pip wheels.
const LibsEnv = "KOTODAMA_CUDA_LIBS"

// openLib dlopens the first of names found in $KOTODAMA_CUDA_LIBS, on the
// loader's path or in libDirs.
func openLib(names []string) (unsafe.Pointer, string, error) {
	var tried []string
	for _, n := range names {
		var paths []string
		for _, d := range filepath.SplitList(os.Getenv(LibsEnv)) {
			if d != "" {
				paths = append(paths, filepath.Join(d, n))
			}
		}
		paths = append(paths, n)
		for _, p := range append(paths, dirsFor(n)...) {
			cs := C.CString(p)
			h := C.kd_dlopen(cs)
			C.free(unsafe.Pointer(cs))
			if h != nil {
				return h, p, nil
			}
			tried = append(tried, C.GoString(C.kd_dlerror()))
		}
	}
	return nil, "", fmt.Errorf("%w: cannot load %s (install the NVIDIA driver and CUDA 12 or 13, or name the libraries' directory in $%s or LD_LIBRARY_PATH): %s",
		ErrUnavailable, names[0], LibsEnv, strings.Join(tried[:min(len(tried), 3)], "; "))
}

func dirsFor(name string) []string {
	out := make([]string, len(libDirs))
	for i, d := range libDirs {
		out[i] = filepath.Join(d, name)
	}
	return out
}

// cudaError is a failed CUDA driver call.
type cudaError struct {
	code int
	op   string
}

// Error names the call, the CUresult's name and number, and the driver's
// description of it.
func (e *cudaError) Error() string {
	r := C.CUresult(e.code)
	s := fmt.Sprintf("%s (%d)", C.GoString(C.kd_cuErrorName(r)), e.code)
	if d := C.GoString(C.kd_cuErrorString(r)); d != "" {
		s += ": " + d
	}
	if e.op != "" {
		s = e.op + ": " + s
	}
	return s
}

// Is makes an out-of-memory error match ErrOutOfMemory.
// CUDA_ERROR_OUT_OF_MEMORY = 2 (cuda.h, enum cudaError_enum).
func (e *cudaError) Is(target error) bool {
	return target == ErrOutOfMemory && e.code == cuErrOutOfMemory
}

const cuErrOutOfMemory = 2

func cuErr(r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return &cudaError{code: int(r)}
}

func cuCheck(op string, r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return &cudaError{code: int(r), op: op}
}

func blasErr(op string, s C.cublasStatus_t) error {
	if s == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s (%d)", op, C.GoString(C.kd_cublasStatusName(s)), int(s))
}

func nvrtcErr(r C.nvrtcResult) string { return C.GoString(C.kd_nvrtcError(r)) }

// Values from cuda.h.
const (
	cuStreamNonBlocking  = 0x1 // CUstream_flags: CU_STREAM_NON_BLOCKING
	cuEventDisableTiming = 0x2 // CUevent_flags: CU_EVENT_DISABLE_TIMING
	attrMultiprocessors  = 16  // CUdevice_attribute: CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
	attrComputeMajor     = 75  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeMinor     = 76  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
)

// Values from cublas_api.h.
const (
	blasOpN           = 0  // cublasOperation_t: CUBLAS_OP_N
	blasOpT           = 1  // CUBLAS_OP_T
	blasCompute32F    = 68 // cublasComputeType_t: CUBLAS_COMPUTE_32F ("float - default")
	blasCompute32FT32 = 77 // CUBLAS_COMPUTE_32F_FAST_TF32 ("allows down-converting inputs to TF32")
	blasCompute32FB16 = 75 // CUBLAS_COMPUTE_32F_FAST_16BF ("allows down-converting inputs to bfloat16 or TF32")
)
