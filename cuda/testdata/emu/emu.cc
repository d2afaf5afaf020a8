// A CPU emulator of the parts of the CUDA driver API, cuBLAS and NVRTC
// that package cuda uses, for testing it where there is no GPU. It is one
// shared library that stands in for libcuda.so.1, libcublas.so.12 and
// libnvrtc.so.12 (emu_test.go builds it with g++ and points
// $KOTODAMA_CUDA_LIBS at it when KOTODAMA_CUDA_EMULATOR=1).
//
// The kernels are the package's own .cu sources, compiled here as C++
// with a prelude that maps CUDA's execution model onto the CPU: the blocks
// of a launch run one after another, each CUDA thread of a block is a
// fiber (ucontext), __syncthreads and warp shuffles are scheduling points
// at which the fibers wait for each other, and __shared__ variables are
// function statics (one block runs at a time). Device memory is host
// memory.
//
// It is deliberately strict, to catch what a GPU would punish: calls need
// cuInit and the context current on the calling thread; asynchronous
// copies must use pinned host memory from cuMemAllocHost and stay inside
// a device allocation; fresh device memory is filled with NaNs (so reading
// what was never written shows); guard bytes after every allocation are
// checked at every synchronization; launches are checked against the
// limits of a real device; cuBLAS checks its leading dimensions as the
// library documents. It executes everything at once, in call order, so it
// cannot show races that depend on asynchronous execution.

#include <ucontext.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#include <math.h>

#define EXPORT extern "C" __attribute__((visibility("default")))

// ---------------------------------------------------------------- fibers

struct dim3 {
	unsigned x = 1, y = 1, z = 1;
};

// Fiber switching: on x86-64 a few instructions saving the callee-saved
// registers (the System V ABI's rbx, rbp, r12-r15) and swapping stacks;
// elsewhere ucontext, which is correct but slower (it makes system calls).
#if defined(__x86_64__)
#define EMU_FAST_SWITCH 1
extern "C" void kd_emu_switch(void **save, void *to);
asm(R"(
	.text
	.globl kd_emu_switch
	.hidden kd_emu_switch
	.type kd_emu_switch, @function
kd_emu_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size kd_emu_switch, .-kd_emu_switch
)");
#endif

namespace emu {

enum State { RUN, AT_BAR, AT_SHFL, DONE };

struct Fiber {
	ucontext_t ctx;
	void *sp;
	dim3 idx;
	State state;
	uint64_t shflIn, shflOut;
	int shflOff;
	int orIn, orOut;
};

#ifdef EMU_FAST_SWITCH
static void *schedSP;
#else
static ucontext_t sched;
#endif
static std::vector<Fiber> fibers;
static std::vector<char *> stacks;
static const size_t stackBytes = 128 << 10;
static Fiber *cur;
static dim3 gBlockIdx, gBlockDim, gGridDim;
static std::vector<char> dynShared;
static std::function<void()> body;
static std::string failure;

static void yield() {
#ifdef EMU_FAST_SWITCH
	kd_emu_switch(&cur->sp, schedSP);
#else
	swapcontext(&cur->ctx, &sched);
#endif
}

static void entry() {
	body();
	cur->state = DONE;
	yield();
}

static void syncthreads() {
	cur->state = AT_BAR;
	cur->orIn = 0;
	yield();
}

static int syncthreads_or(int v) {
	cur->state = AT_BAR;
	cur->orIn = v != 0;
	yield();
	return cur->orOut;
}

template <class T> static T shfl_xor(T v, int off) {
	static_assert(sizeof(T) <= 8, "shuffle of a wide type");
	uint64_t b = 0;
	memcpy(&b, &v, sizeof v);
	cur->shflIn = b;
	cur->shflOff = off;
	cur->state = AT_SHFL;
	yield();
	T r;
	memcpy(&r, &cur->shflOut, sizeof r);
	return r;
}

// runBlock runs one block of n threads to completion.
static void runBlock(int n) {
	while ((int)stacks.size() < n) stacks.push_back((char *)malloc(stackBytes));
	fibers.assign(n, Fiber{});
	for (int i = 0; i < n; i++) {
		Fiber &f = fibers[i];
		f.idx.x = i % gBlockDim.x;
		f.idx.y = (i / gBlockDim.x) % gBlockDim.y;
		f.idx.z = i / (gBlockDim.x * gBlockDim.y);
		f.state = RUN;
#ifdef EMU_FAST_SWITCH
		// A stack that kd_emu_switch "returns" into entry from: six saved
		// registers (zero), then entry's address, then a dummy return
		// address, so entry starts with the stack aligned as after a call.
		uintptr_t top = ((uintptr_t)stacks[i] + stackBytes) & ~(uintptr_t)15;
		void **sp = (void **)top;
		*--sp = nullptr;
		*--sp = (void *)entry;
		for (int r = 0; r < 6; r++) *--sp = nullptr;
		f.sp = sp;
#else
		getcontext(&f.ctx);
		f.ctx.uc_stack.ss_sp = stacks[i];
		f.ctx.uc_stack.ss_size = stackBytes;
		f.ctx.uc_link = nullptr;
		makecontext(&f.ctx, entry, 0);
#endif
	}
	for (;;) {
		bool ran = false;
		for (int i = 0; i < n; i++) {
			if (fibers[i].state != RUN) continue;
			cur = &fibers[i];
#ifdef EMU_FAST_SWITCH
			kd_emu_switch(&schedSP, cur->sp);
#else
			swapcontext(&sched, &cur->ctx);
#endif
			ran = true;
		}
		if (ran) continue;
		// Everyone waits or is done: complete warp shuffles first.
		bool released = false;
		for (int w = 0; w < n / 32; w++) {
			Fiber *lane = &fibers[w * 32];
			int at = 0;
			for (int l = 0; l < 32; l++) {
				at += lane[l].state == AT_SHFL;
			}
			if (at == 0) continue;
			if (at != 32) {
				// Lanes wait at a shuffle while others wait at a barrier or
				// have exited: undefined on a GPU, a failure here.
				if (failure.empty()) failure = "warp shuffle without the whole warp";
				continue;
			}
			for (int l = 0; l < 32; l++) {
				if (lane[l].shflOff != lane[0].shflOff && failure.empty()) failure = "warp shuffle with different offsets";
				lane[l].shflOut = lane[l ^ lane[l].shflOff].shflIn;
			}
			for (int l = 0; l < 32; l++) lane[l].state = RUN;
			released = true;
		}
		if (released) continue;
		int live = 0, atBar = 0, any = 0;
		for (auto &f : fibers) {
			if (f.state == DONE) continue;
			live++;
			if (f.state == AT_BAR) {
				atBar++;
				any |= f.orIn;
			}
		}
		if (live == 0) break;
		if (atBar == live) {
			for (auto &f : fibers) {
				if (f.state == AT_BAR) {
					f.orOut = any;
					f.state = RUN;
				}
			}
			continue;
		}
		if (failure.empty()) failure = "deadlock: threads wait at different synchronization points";
		break;
	}
}

} // namespace emu

// ------------------------------------------------ the kernels, as C++

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define KD_EXTERN_SHARED(T, name) T *name = (T *)emu::dynShared.data()
#define threadIdx (emu::cur->idx)
#define blockIdx (emu::gBlockIdx)
#define blockDim (emu::gBlockDim)
#define gridDim (emu::gGridDim)

static inline void __syncthreads() { emu::syncthreads(); }
static inline int __syncthreads_or(int v) { return emu::syncthreads_or(v); }
static inline float __shfl_xor_sync(unsigned, float v, int o) { return emu::shfl_xor(v, o); }
static inline double __shfl_xor_sync(unsigned, double v, int o) { return emu::shfl_xor(v, o); }
static inline int atomicAdd(int *p, int v) {
	int o = *p;
	*p = o + v;
	return o;
}
static inline float __int_as_float(int i) {
	float f;
	memcpy(&f, &i, 4);
	return f;
}
template <class T> static inline T min(T a, T b) { return a < b ? a : b; }

#include "common.cu"
#include "elementwise.cu"
#include "norm.cu"
#include "softmax.cu"
#include "topk.cu"

#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim

// ------------------------------------------------------- kernel table

typedef std::function<std::function<void()>(void **)> Binder;

template <class... A, size_t... I>
static std::function<void()> bindArgs(void (*k)(A...), void **p, std::index_sequence<I...>) {
	std::tuple<std::decay_t<A>...> args{*static_cast<std::decay_t<A> *>(p[I])...};
	return [k, args]() { std::apply(k, args); };
}

struct Kernel {
	std::string name;
	Binder bind;
};

template <class... A> static Kernel reg(const char *name, void (*k)(A...)) {
	return Kernel{name, [k](void **p) { return bindArgs(k, p, std::index_sequence_for<A...>{}); }};
}

static std::vector<Kernel> &kernels() {
	static std::vector<Kernel> t = {
		reg("kd_add_bias", kd_add_bias), reg("kd_add", kd_add), reg("kd_scale", kd_scale),
		reg("kd_scale_matrix", kd_scale_matrix), reg("kd_gelu", kd_gelu), reg("kd_gelu_backward", kd_gelu_backward),
		reg("kd_geglu", kd_geglu), reg("kd_geglu_backward", kd_geglu_backward), reg("kd_dropout", kd_dropout),
		reg("kd_dropout_probs", kd_dropout_probs), reg("kd_gather", kd_gather), reg("kd_scatter_add", kd_scatter_add),
		reg("kd_split_heads", kd_split_heads), reg("kd_merge_heads", kd_merge_heads),
		reg("kd_half_to_float", kd_half_to_float), reg("kd_adamw", kd_adamw),
		reg("kd_sum_squares_partial", kd_sum_squares_partial), reg("kd_layernorm", kd_layernorm),
		reg("kd_layernorm_dx", kd_layernorm_dx), reg("kd_colsum_partial", kd_colsum_partial),
		reg("kd_colsum_final", kd_colsum_final), reg("kd_softmax_rows", kd_softmax_rows),
		reg("kd_softmax_backward_rows", kd_softmax_backward_rows), reg("kd_attn_softmax", kd_attn_softmax),
		reg("kd_attn_visible_softmax", kd_attn_visible_softmax),
		reg("kd_attn_softmax_backward", kd_attn_softmax_backward), reg("kd_masked_max", kd_masked_max),
		reg("kd_masked_max_backward", kd_masked_max_backward), reg("kd_topk_select", kd_topk_select),
	};
	return t;
}

// ----------------------------------------------------------- driver API

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

enum {
	SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, NO_DEVICE = 100,
	INVALID_DEVICE = 101, INVALID_IMAGE = 200, INVALID_CONTEXT = 201, INVALID_HANDLE = 400,
	NOT_FOUND = 500, ILLEGAL_ADDRESS = 700, LAUNCH_OUT_OF_RESOURCES = 701, UNKNOWN = 999,
};

static bool inited;
static int ctxToken; // the primary context is &ctxToken
static thread_local CUcontext current;
static std::string lastError;

struct Alloc {
	size_t bytes;
	bool pinned;
};
static std::map<uintptr_t, Alloc> allocs; // device and pinned host blocks by start
static const size_t guard = 256;
static const unsigned char guardByte = 0xCD;
static size_t used;
static const size_t totalMem = 8ull << 30;

static CUresult fail(CUresult r, const std::string &why) {
	if (lastError.empty()) lastError = why;
	fprintf(stderr, "cuda emulator: %s\n", why.c_str());
	return r;
}

static CUresult ready() {
	if (!inited) return fail(NOT_INITIALIZED, "call before cuInit");
	if (current != (CUcontext)&ctxToken) return fail(INVALID_CONTEXT, "no current context on this thread");
	return SUCCESS;
}

// inside reports whether [p, p+n) lies in one block of the given kind.
static bool inside(uintptr_t p, size_t n, bool pinned) {
	auto it = allocs.upper_bound(p);
	if (it == allocs.begin()) return false;
	--it;
	return it->second.pinned == pinned && p >= it->first && p + n <= it->first + it->second.bytes;
}

static CUresult checkGuards() {
	for (auto &a : allocs) {
		const unsigned char *g = (const unsigned char *)(a.first + a.second.bytes);
		for (size_t i = 0; i < guard; i++) {
			if (g[i] != guardByte) {
				char buf[160];
				snprintf(buf, sizeof buf, "write past the end of a %zu-byte %s block", a.second.bytes,
					a.second.pinned ? "pinned" : "device");
				return fail(ILLEGAL_ADDRESS, buf);
			}
		}
	}
	return SUCCESS;
}

static void *newBlock(size_t bytes, bool pinned) {
	size_t total = ((bytes + guard + 255) / 256) * 256;
	char *p = (char *)aligned_alloc(256, total);
	if (!p) return nullptr;
	memset(p, 0xFF, bytes); // NaN floats: reading memory nobody wrote shows up
	memset(p + bytes, guardByte, guard);
	allocs[(uintptr_t)p] = Alloc{bytes, pinned};
	return p;
}

static CUresult freeBlock(uintptr_t p, bool pinned) {
	auto it = allocs.find(p);
	if (it == allocs.end() || it->second.pinned != pinned) return fail(INVALID_VALUE, "free of an unknown block");
	CUresult r = checkGuards();
	if (!pinned) used -= it->second.bytes;
	allocs.erase(it);
	free((void *)p);
	return r;
}

EXPORT CUresult cuInit(unsigned int flags) {
	if (flags != 0) return INVALID_VALUE;
	inited = true;
	return SUCCESS;
}
EXPORT CUresult cuDriverGetVersion(int *v) {
	*v = 12060;
	return SUCCESS;
}
EXPORT CUresult cuDeviceGetCount(int *n) {
	if (!inited) return NOT_INITIALIZED;
	*n = 1;
	return SUCCESS;
}
EXPORT CUresult cuDeviceGet(CUdevice *d, int i) {
	if (!inited) return NOT_INITIALIZED;
	if (i != 0) return INVALID_DEVICE;
	*d = 0;
	return SUCCESS;
}
EXPORT CUresult cuDeviceGetName(char *s, int n, CUdevice d) {
	if (d != 0) return INVALID_DEVICE;
	snprintf(s, n, "Kotodama CPU emulator");
	return SUCCESS;
}
EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) {
	if (d != 0) return INVALID_DEVICE;
	switch (attr) {
	case 1: *v = 1024; return SUCCESS;  // MAX_THREADS_PER_BLOCK
	case 8: *v = 49152; return SUCCESS; // MAX_SHARED_MEMORY_PER_BLOCK
	case 16: *v = 2; return SUCCESS;    // MULTIPROCESSOR_COUNT
	case 75: *v = 9; return SUCCESS;    // COMPUTE_CAPABILITY_MAJOR
	case 76: *v = 0; return SUCCESS;    // COMPUTE_CAPABILITY_MINOR
	}
	return INVALID_VALUE;
}
EXPORT CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d) {
	if (d != 0) return INVALID_DEVICE;
	*b = totalMem;
	return SUCCESS;
}
EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
	if (!inited) return NOT_INITIALIZED;
	if (d != 0) return INVALID_DEVICE;
	*c = (CUcontext)&ctxToken;
	return SUCCESS;
}
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) { return d == 0 ? SUCCESS : INVALID_DEVICE; }
EXPORT CUresult cuCtxSetCurrent(CUcontext c) {
	current = c;
	return SUCCESS;
}
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
	if (CUresult r = ready()) return r;
	if (n == 0) return INVALID_VALUE;
	if (used + n > totalMem) return OUT_OF_MEMORY;
	void *b = newBlock(n, false);
	if (!b) return OUT_OF_MEMORY;
	used += n;
	*p = (CUdeviceptr)b;
	return SUCCESS;
}
EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
	if (CUresult r = ready()) return r;
	return freeBlock(p, false);
}
EXPORT CUresult cuMemAllocHost_v2(void **p, size_t n) {
	if (CUresult r = ready()) return r;
	*p = newBlock(n, true);
	return *p ? SUCCESS : OUT_OF_MEMORY;
}
EXPORT CUresult cuMemFreeHost(void *p) {
	if (CUresult r = ready()) return r;
	return freeBlock((uintptr_t)p, true);
}
EXPORT CUresult cuMemGetInfo_v2(size_t *f, size_t *t) {
	if (CUresult r = ready()) return r;
	*f = totalMem - used;
	*t = totalMem;
	return SUCCESS;
}
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, CUstream) {
	if (CUresult r = ready()) return r;
	if (!inside((uintptr_t)h, n, true)) return fail(INVALID_VALUE, "async copy from host memory that is not pinned");
	if (!inside(d, n, false)) return fail(INVALID_VALUE, "async copy to device memory out of bounds");
	memcpy((void *)d, h, n);
	return SUCCESS;
}
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, CUstream) {
	if (CUresult r = ready()) return r;
	if (!inside((uintptr_t)h, n, true)) return fail(INVALID_VALUE, "async copy to host memory that is not pinned");
	if (!inside(d, n, false)) return fail(INVALID_VALUE, "async copy from device memory out of bounds");
	memcpy(h, (void *)d, n);
	return SUCCESS;
}
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream) {
	if (CUresult r = ready()) return r;
	if (!inside(dst, n, false) || !inside(src, n, false)) return fail(INVALID_VALUE, "device copy out of bounds");
	memmove((void *)dst, (void *)src, n);
	return SUCCESS;
}
EXPORT CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream) {
	if (CUresult r = ready()) return r;
	if (d % 4 != 0 || !inside(d, 4 * n, false)) return fail(INVALID_VALUE, "memset out of bounds");
	unsigned int *p = (unsigned int *)d;
	for (size_t i = 0; i < n; i++) p[i] = v;
	return SUCCESS;
}
static int streamToken, eventToken;
EXPORT CUresult cuStreamCreate(CUstream *s, unsigned int flags) {
	if (CUresult r = ready()) return r;
	if (flags > 1) return INVALID_VALUE;
	*s = (CUstream)&streamToken;
	return SUCCESS;
}
EXPORT CUresult cuStreamDestroy_v2(CUstream) { return ready(); }
EXPORT CUresult cuStreamSynchronize(CUstream) {
	if (CUresult r = ready()) return r;
	return checkGuards();
}
EXPORT CUresult cuEventCreate(CUevent *e, unsigned int) {
	if (CUresult r = ready()) return r;
	*e = (CUevent)&eventToken;
	return SUCCESS;
}
EXPORT CUresult cuEventDestroy_v2(CUevent) { return ready(); }
EXPORT CUresult cuEventRecord(CUevent, CUstream) { return ready(); }
EXPORT CUresult cuEventSynchronize(CUevent) {
	if (CUresult r = ready()) return r;
	return checkGuards();
}
static const char image[] = "KDEMU";
EXPORT CUresult cuModuleLoadData(CUmodule *m, const void *img) {
	if (CUresult r = ready()) return r;
	if (memcmp(img, image, sizeof image) != 0) return INVALID_IMAGE;
	*m = (CUmodule)&kernels();
	return SUCCESS;
}
EXPORT CUresult cuModuleUnload(CUmodule) { return ready(); }
EXPORT CUresult cuModuleGetFunction(CUfunction *f, CUmodule, const char *name) {
	if (CUresult r = ready()) return r;
	for (auto &k : kernels()) {
		if (k.name == name) {
			*f = (CUfunction)&k;
			return SUCCESS;
		}
	}
	return NOT_FOUND;
}
EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
	unsigned shmem, CUstream, void **params, void **extra) {
	if (CUresult r = ready()) return r;
	unsigned n = bx * by * bz;
	if (extra != nullptr || gx == 0 || gy == 0 || gz == 0 || gx > 0x7fffffffu || gy > 65535 || gz > 65535 || n == 0 ||
		n > 1024 || bz > 64)
		return fail(INVALID_VALUE, "launch dimensions out of range");
	if (n % 32 != 0) return fail(INVALID_VALUE, "the emulator runs whole warps only");
	if (shmem > 49152) return fail(LAUNCH_OUT_OF_RESOURCES, "dynamic shared memory beyond 48 KiB");
	Kernel *k = (Kernel *)f;
	emu::body = k->bind(params);
	emu::gBlockDim = dim3{bx, by, bz};
	emu::gGridDim = dim3{gx, gy, gz};
	emu::dynShared.assign(shmem + 16, 0);
	for (unsigned z = 0; z < gz; z++)
		for (unsigned y = 0; y < gy; y++)
			for (unsigned x = 0; x < gx; x++) {
				emu::gBlockIdx = dim3{x, y, z};
				emu::runBlock((int)n);
				if (!emu::failure.empty()) {
					std::string why = k->name + ": " + emu::failure;
					emu::failure.clear();
					return fail(UNKNOWN, why);
				}
			}
	return SUCCESS;
}
EXPORT CUresult cuGetErrorName(CUresult r, const char **s) {
	static std::map<int, const char *> names = {
		{SUCCESS, "CUDA_SUCCESS"}, {INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE"}, {OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY"},
		{NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED"}, {NO_DEVICE, "CUDA_ERROR_NO_DEVICE"},
		{INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE"}, {INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE"},
		{INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT"}, {INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE"},
		{NOT_FOUND, "CUDA_ERROR_NOT_FOUND"}, {ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS"},
		{LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"}, {UNKNOWN, "CUDA_ERROR_UNKNOWN"},
	};
	auto it = names.find(r);
	if (it == names.end()) return INVALID_VALUE;
	*s = it->second;
	return SUCCESS;
}
EXPORT CUresult cuGetErrorString(CUresult, const char **s) {
	*s = lastError.empty() ? "emulator error" : lastError.c_str();
	return SUCCESS;
}

// ---------------------------------------------------------------- cuBLAS

typedef int cublasStatus_t;
enum { BLAS_SUCCESS = 0, BLAS_NOT_INITIALIZED = 1, BLAS_INVALID_VALUE = 7, BLAS_NOT_SUPPORTED = 15 };
static int blasToken;

EXPORT cublasStatus_t cublasCreate_v2(void **h) {
	if (ready() != SUCCESS) return BLAS_NOT_INITIALIZED;
	*h = &blasToken;
	return BLAS_SUCCESS;
}
EXPORT cublasStatus_t cublasDestroy_v2(void *) { return BLAS_SUCCESS; }
EXPORT cublasStatus_t cublasSetStream_v2(void *, CUstream) { return BLAS_SUCCESS; }
EXPORT const char *cublasGetStatusName(cublasStatus_t s) {
	switch (s) {
	case BLAS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
	case BLAS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
	case BLAS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
	case BLAS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
	}
	return "CUBLAS_STATUS_UNKNOWN";
}

// roundMantissa rounds x to bits explicit mantissa bits, to nearest even:
// TF32 keeps 10, bfloat16 7 — what the FAST compute types allow cuBLAS to
// do to its inputs.
static float roundMantissa(float x, int bits) {
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7f800000u) == 0x7f800000u) return x;
	int drop = 23 - bits;
	uint32_t half = 1u << (drop - 1), lsb = (u >> drop) & 1;
	u = (u + half - 1 + lsb) & ~((1u << drop) - 1);
	memcpy(&x, &u, 4);
	return x;
}

// gemm is BLAS's column-major C = alpha·op(A)·op(B) + beta·C, checked as
// cuBLAS documents cublasGemmEx: lda ≥ max(1, rows of A as stored), and so
// on; C is not read when beta is 0.
static cublasStatus_t gemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, const float *B,
	int ldb, float beta, float *C, int ldc, int compute) {
	if (m < 0 || n < 0 || k < 0 || (ta != 0 && ta != 1) || (tb != 0 && tb != 1)) return BLAS_INVALID_VALUE;
	if (lda < std::max(1, ta == 0 ? m : k) || ldb < std::max(1, tb == 0 ? k : n) || ldc < std::max(1, m))
		return BLAS_INVALID_VALUE;
	int bits = compute == 77 ? 10 : compute == 75 ? 7 : 23;
	for (int j = 0; j < n; j++) {
		for (int i = 0; i < m; i++) {
			double s = 0;
			for (int l = 0; l < k; l++) {
				float a = ta == 0 ? A[i + (size_t)l * lda] : A[l + (size_t)i * lda];
				float b = tb == 0 ? B[l + (size_t)j * ldb] : B[j + (size_t)l * ldb];
				if (bits < 23) {
					a = roundMantissa(a, bits);
					b = roundMantissa(b, bits);
				}
				s += (double)a * b;
			}
			float &c = C[i + (size_t)j * ldc];
			c = beta == 0 ? alpha * (float)s : alpha * (float)s + beta * c;
		}
	}
	return BLAS_SUCCESS;
}

static cublasStatus_t checkTypes(int at, int bt, int ct, int compute, int algo) {
	if (at != 0 || bt != 0 || ct != 0) return BLAS_NOT_SUPPORTED; // CUDA_R_32F only
	if (compute != 68 && compute != 75 && compute != 77) return BLAS_NOT_SUPPORTED;
	if (algo != -1) return BLAS_INVALID_VALUE;
	return ready() == SUCCESS ? BLAS_SUCCESS : BLAS_NOT_INITIALIZED;
}

EXPORT cublasStatus_t cublasGemmEx(void *, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at,
	int lda, const void *B, int bt, int ldb, const void *beta, void *C, int ct, int ldc, int compute, int algo) {
	if (cublasStatus_t s = checkTypes(at, bt, ct, compute, algo)) return s;
	return gemm(ta, tb, m, n, k, *(const float *)alpha, (const float *)A, lda, (const float *)B, ldb, *(const float *)beta,
		(float *)C, ldc, compute);
}

EXPORT cublasStatus_t cublasGemmStridedBatchedEx(void *, int ta, int tb, int m, int n, int k, const void *alpha,
	const void *A, int at, int lda, long long sa, const void *B, int bt, int ldb, long long sb, const void *beta, void *C,
	int ct, int ldc, long long sc, int batch, int compute, int algo) {
	if (cublasStatus_t s = checkTypes(at, bt, ct, compute, algo)) return s;
	if (batch < 0) return BLAS_INVALID_VALUE;
	for (int i = 0; i < batch; i++) {
		cublasStatus_t s = gemm(ta, tb, m, n, k, *(const float *)alpha, (const float *)A + i * sa, lda,
			(const float *)B + i * sb, ldb, *(const float *)beta, (float *)C + i * sc, ldc, compute);
		if (s) return s;
	}
	return BLAS_SUCCESS;
}

// ----------------------------------------------------------------- NVRTC

typedef int nvrtcResult;
struct Program {
	std::string src, log;
	bool cubin;
};
static const int archs[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 87, 89, 90};

EXPORT const char *nvrtcGetErrorString(nvrtcResult r) { return r == 0 ? "NVRTC_SUCCESS" : "NVRTC_ERROR_COMPILATION"; }
EXPORT nvrtcResult nvrtcVersion(int *major, int *minor) {
	*major = 12;
	*minor = 6;
	return 0;
}
EXPORT nvrtcResult nvrtcGetNumSupportedArchs(int *n) {
	*n = sizeof archs / sizeof archs[0];
	return 0;
}
EXPORT nvrtcResult nvrtcGetSupportedArchs(int *a) {
	memcpy(a, archs, sizeof archs);
	return 0;
}
EXPORT nvrtcResult nvrtcCreateProgram(void **p, const char *src, const char *, int n, const char *const *, const char *const *) {
	if (n != 0) return 3;
	*p = new Program{src, "", false};
	return 0;
}
EXPORT nvrtcResult nvrtcDestroyProgram(void **p) {
	delete (Program *)*p;
	*p = nullptr;
	return 0;
}
// Compiling checks the options and that the source defines every kernel
// this emulator has (the real compilation is checked elsewhere, with clang).
EXPORT nvrtcResult nvrtcCompileProgram(void *pp, int n, const char *const *opts) {
	Program *p = (Program *)pp;
	bool arch = false;
	for (int i = 0; i < n; i++) {
		std::string o = opts[i];
		if (o == "--gpu-architecture=sm_90") arch = p->cubin = true;
		else if (o.rfind("--gpu-architecture=compute_", 0) == 0) arch = true;
		else if (o != "--std=c++17") {
			p->log = "unknown option " + o;
			return 5;
		}
	}
	if (!arch) {
		p->log = "no --gpu-architecture";
		return 5;
	}
	for (auto &k : kernels()) {
		if (p->src.find("extern \"C\" __global__ void " + k.name + "(") == std::string::npos) {
			p->log = "kernel " + k.name + " missing from the source";
			return 6;
		}
	}
	return 0;
}
EXPORT nvrtcResult nvrtcGetPTXSize(void *, size_t *n) {
	*n = sizeof image;
	return 0;
}
EXPORT nvrtcResult nvrtcGetPTX(void *, char *out) {
	memcpy(out, image, sizeof image);
	return 0;
}
EXPORT nvrtcResult nvrtcGetCUBINSize(void *pp, size_t *n) {
	*n = ((Program *)pp)->cubin ? sizeof image : 0;
	return 0;
}
EXPORT nvrtcResult nvrtcGetCUBIN(void *, char *out) {
	memcpy(out, image, sizeof image);
	return 0;
}
EXPORT nvrtcResult nvrtcGetProgramLogSize(void *pp, size_t *n) {
	*n = ((Program *)pp)->log.size() + 1;
	return 0;
}
EXPORT nvrtcResult nvrtcGetProgramLog(void *pp, char *out) {
	Program *p = (Program *)pp;
	memcpy(out, p->log.c_str(), p->log.size() + 1);
	return 0;
}
