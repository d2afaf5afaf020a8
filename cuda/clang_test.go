//go:build cuda

package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// clangPrelude declares, for clang's CUDA mode without a CUDA toolkit
// (-nocudainc -nocudalib), the built-ins NVRTC provides that the kernels
// use; anything else a kernel calls is an error, as it would be in NVRTC.
const clangPrelude = `#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#include "__clang_cuda_builtin_vars.h"
__device__ float expf(float);
__device__ float erff(float);
__device__ float sqrtf(float);
__device__ double sqrt(double);
__device__ float fmaxf(float, float);
__device__ float __int_as_float(int);
__device__ float __shfl_xor_sync(unsigned, float, int);
__device__ double __shfl_xor_sync(unsigned, double, int);
__device__ void __syncthreads(void);
__device__ int __syncthreads_or(int);
__device__ int atomicAdd(int *, int);
template <class T> __device__ T min(T a, T b) { return a < b ? a : b; }
`

// TestKernelsCompile compiles the kernel sources to PTX with clang's CUDA
// front end, where clang with the NVPTX target is installed: a check of
// the device code that needs no GPU and no CUDA toolkit.
func TestKernelsCompile(t *testing.T) {
	clang := ""
	for _, c := range []string{"clang", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14"} {
		if p, err := exec.LookPath(c); err == nil {
			clang = p
			break
		}
	}
	if clang == "" {
		t.Skip("no clang on PATH: the kernels' device code is not compiled here")
	}
	src, err := source()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"prelude.h": clangPrelude, "kernels.cu": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ptx := filepath.Join(dir, "kernels.ptx")
	cmd := exec.Command(clang, "-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_70", "-nocudainc", "-nocudalib",
		"-std=c++17", "-O2", "-Wall", "-Werror", "-include", filepath.Join(dir, "prelude.h"), "-S", "-o", ptx, filepath.Join(dir, "kernels.cu"))
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "nvptx") && strings.Contains(string(out), "unknown") {
			t.Skipf("%s has no NVPTX target: %s", clang, out)
		}
		t.Fatalf("%s: %v\n%s", clang, err, out)
	}
	b, err := os.ReadFile(ptx)
	if err != nil {
		t.Fatal(err)
	}
	var f funcs
	for name := range f.table() {
		if !strings.Contains(string(b), ".entry "+name+"(") {
			t.Errorf("kernel %s: no .entry in the PTX", name)
		}
	}
}
