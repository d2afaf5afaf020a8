// Package cuda is Kotodama's GPU backend: kernels.Backend on an NVIDIA GPU,
// and exact top-k search over a corpus held in GPU memory. It is built only
// with the build tag cuda; without it the package is this documentation
// alone, and nothing in Kotodama uses cgo.
//
// # Overview
//
//	dev, err := cuda.Open()           // GPU 0; cuda.WithMath(cuda.TF32), cuda.WithOrdinal(1)
//	defer dev.Close()
//	m, err := bert.Load(dev, dir)     // the same model code as on the CPU
//
// A Device implements kernels.Backend: a Buf it returns holds a device
// address, model code hands Bufs to its methods, and Download copies
// results back. Everything else in Kotodama — bert, pooling, embed, train,
// the CLI with -device cuda — runs on it unchanged.
//
// # Building and running
//
// go build -tags cuda needs only gcc: the few CUDA driver, cuBLAS and
// NVRTC declarations this package uses are written out in its cgo preamble,
// and the libraries are opened at run time with dlopen:
//
//	libcuda.so.1                      the driver (comes with the NVIDIA driver)
//	libcublas.so.13 or .12            cuBLAS (CUDA 12 or 13)
//	libnvrtc.so.13 or .12             NVRTC, the runtime compiler
//
// found in the directories $KOTODAMA_CUDA_LIBS lists (colon-separated),
// on the loader's path (LD_LIBRARY_PATH, ld.so.cache) or under
// /usr/local/cuda/lib64. A machine without them gets an error wrapping
// ErrUnavailable that names what is missing, never a link failure. The
// pip wheels nvidia-cublas-cu12 and nvidia-cuda-nvrtc-cu12 (what PyTorch
// installs) work too: name their lib directories in KOTODAMA_CUDA_LIBS.
//
// Devices are named "cuda", "cuda:N" (GPU N) and "cuda:N:tf32" or
// "cuda:bf16" (OpenSpec), as embed.WithDevice and the CLI's -device take
// them.
//
// # Kernels
//
// GEMMs are cuBLAS (cublasGemmEx and cublasGemmStridedBatchedEx). The rest
// — softmax with a key mask, LayerNorm forward and backward, GELU, bias,
// dropout, pooling, embedding gather and scatter-add, attention's head
// permutations, top-k selection — is CUDA C in the .cu files of this
// package, embedded with go:embed and compiled at Open by NVRTC for the
// GPU's architecture (SASS when NVRTC knows the architecture, else PTX for
// the newest one it knows, which the driver compiles).
//
// Every kernel computes what the CPU backend computes, in the same
// precision: LayerNorm statistics in float64, dropout masks from the same
// counter-based generator bit for bit (so a training run's masks do not
// depend on the device), scatter-adds summed in the same order. Results
// differ from the CPU's only by the order of float32 sums and by the
// last-bit differences of expf/erff; the tests hold every op to 1e-5 of
// the CPU backend.
//
// # Precision of matrix products
//
// WithMath chooses how cuBLAS multiplies: FP32 (the default: exact float32
// products, as the CPU), TF32 (inputs rounded to 10-bit mantissas on the
// tensor cores, FP32 accumulation; relative errors near 1e-3) or BF16
// (inputs rounded to bfloat16, FP32 accumulation; near 1e-2). Search always
// uses FP32.
//
// # Threads
//
// A CUDA context is current on one OS thread at a time, and a cuBLAS handle
// must not be used from two threads at once, while Go moves goroutines
// between threads freely. So a Device owns one goroutine locked to its OS
// thread (runtime.LockOSThread) that makes every CUDA call; methods called
// from any goroutine hand their work to it and wait for it to be queued.
// The GPU runs the queued work asynchronously on one stream, in order;
// Sync, Upload and Download report the first error it met. A Device is
// safe for concurrent use.
//
// Host memory that the GPU copies from or to asynchronously is pinned
// memory the Device allocates (cuMemAllocHost), never Go memory: Go
// pointers are never handed to an asynchronous copy nor stored in C memory.
//
// # Testing
//
// The tests compare every op, the golden models and a training step with
// the CPU backend, and skip where there is no GPU. Where there is none,
// KOTODAMA_CUDA_EMULATOR=1 go test -tags cuda ./cuda/ runs them on
// testdata/emu, a CPU emulator of the driver, cuBLAS and NVRTC calls this
// package makes (built with g++): it runs the real kernels, one fiber per
// CUDA thread, and checks launches, bounds, pinned memory and the
// context's thread — the package's logic, not a GPU's speed.
package cuda
