//go:build cuda

// The C half of package cuda: the CUDA libraries opened with dlopen, their
// functions bound with dlsym into one table, and thin wrappers that Go
// calls (Go cannot call a C function pointer). Every symbol name is the
// ABI name CUDA 12.6's headers #define the API name to (cuMemAlloc is
// cuMemAlloc_v2 in cuda.h, cublasCreate is cublasCreate_v2 in
// cublas_api.h, ...), exported by every CUDA 12 and 13 library; the
// prototypes are those headers' (see kd.h for the types).

#include "kd.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// Function pointers, filled by kd_bind_* from dlsym.
static struct {
	// cuda.h (driver API)
	CUresult (*cuInit)(unsigned int flags);
	CUresult (*cuDriverGetVersion)(int *version);
	CUresult (*cuDeviceGetCount)(int *count);
	CUresult (*cuDeviceGet)(CUdevice *dev, int ordinal);
	CUresult (*cuDeviceGetName)(char *name, int len, CUdevice dev);
	CUresult (*cuDeviceGetAttribute)(int *pi, int attrib, CUdevice dev);
	CUresult (*cuDeviceTotalMem_v2)(size_t *bytes, CUdevice dev);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *pctx, CUdevice dev);
	CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice dev);
	CUresult (*cuCtxSetCurrent)(CUcontext ctx);
	CUresult (*cuMemAlloc_v2)(CUdeviceptr *dptr, size_t bytesize);
	CUresult (*cuMemFree_v2)(CUdeviceptr dptr);
	CUresult (*cuMemAllocHost_v2)(void **pp, size_t bytesize);
	CUresult (*cuMemFreeHost)(void *p);
	CUresult (*cuMemGetInfo_v2)(size_t *free, size_t *total);
	CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src, size_t bytes, CUstream s);
	CUresult (*cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t bytes, CUstream s);
	CUresult (*cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s);
	CUresult (*cuMemsetD32Async)(CUdeviceptr dst, unsigned int ui, size_t n, CUstream s);
	CUresult (*cuStreamCreate)(CUstream *ps, unsigned int flags);
	CUresult (*cuStreamDestroy_v2)(CUstream s);
	CUresult (*cuStreamSynchronize)(CUstream s);
	CUresult (*cuEventCreate)(CUevent *pe, unsigned int flags);
	CUresult (*cuEventDestroy_v2)(CUevent e);
	CUresult (*cuEventRecord)(CUevent e, CUstream s);
	CUresult (*cuEventSynchronize)(CUevent e);
	CUresult (*cuModuleLoadData)(CUmodule *m, const void *image);
	CUresult (*cuModuleUnload)(CUmodule m);
	CUresult (*cuModuleGetFunction)(CUfunction *f, CUmodule m, const char *name);
	CUresult (*cuLaunchKernel)(CUfunction f,
		unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
		unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
		unsigned int sharedMemBytes, CUstream s, void **kernelParams, void **extra);
	CUresult (*cuGetErrorName)(CUresult err, const char **pstr);
	CUresult (*cuGetErrorString)(CUresult err, const char **pstr);

	// cublas_api.h
	cublasStatus_t (*cublasCreate_v2)(cublasHandle_t *h);
	cublasStatus_t (*cublasDestroy_v2)(cublasHandle_t h);
	cublasStatus_t (*cublasSetStream_v2)(cublasHandle_t h, CUstream s);
	cublasStatus_t (*cublasGemmEx)(cublasHandle_t h, int transa, int transb,
		int m, int n, int k, const void *alpha,
		const void *A, int Atype, int lda,
		const void *B, int Btype, int ldb, const void *beta,
		void *C, int Ctype, int ldc, int computeType, int algo);
	cublasStatus_t (*cublasGemmStridedBatchedEx)(cublasHandle_t h, int transa, int transb,
		int m, int n, int k, const void *alpha,
		const void *A, int Atype, int lda, long long strideA,
		const void *B, int Btype, int ldb, long long strideB, const void *beta,
		void *C, int Ctype, int ldc, long long strideC,
		int batchCount, int computeType, int algo);
	const char *(*cublasGetStatusName)(cublasStatus_t s); // optional (cuBLAS 11.4.2+)

	// nvrtc.h
	const char *(*nvrtcGetErrorString)(nvrtcResult r);
	nvrtcResult (*nvrtcVersion)(int *major, int *minor);
	nvrtcResult (*nvrtcGetNumSupportedArchs)(int *n);
	nvrtcResult (*nvrtcGetSupportedArchs)(int *archs);
	nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *prog, const char *src, const char *name,
		int numHeaders, const char *const *headers, const char *const *includeNames);
	nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *prog);
	nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram prog, int numOptions, const char *const *options);
	nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram prog, size_t *size);
	nvrtcResult (*nvrtcGetPTX)(nvrtcProgram prog, char *ptx);
	nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram prog, size_t *size);
	nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram prog, char *cubin);
	nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram prog, size_t *size);
	nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram prog, char *log);
} kd;

void *kd_dlopen(const char *name) { return dlopen(name, RTLD_NOW | RTLD_GLOBAL); }
const char *kd_dlerror(void) { const char *e = dlerror(); return e ? e : "unknown dlopen error"; }

// KD_SYM binds one symbol, returning its name from the enclosing function
// when the library lacks it.
#define KD_SYM(h, f) do { *(void **)(&kd.f) = dlsym(h, #f); if (!kd.f) return #f; } while (0)

const char *kd_bind_driver(void *h) {
	KD_SYM(h, cuInit); KD_SYM(h, cuDriverGetVersion); KD_SYM(h, cuDeviceGetCount);
	KD_SYM(h, cuDeviceGet); KD_SYM(h, cuDeviceGetName); KD_SYM(h, cuDeviceGetAttribute);
	KD_SYM(h, cuDeviceTotalMem_v2); KD_SYM(h, cuDevicePrimaryCtxRetain);
	KD_SYM(h, cuDevicePrimaryCtxRelease_v2); KD_SYM(h, cuCtxSetCurrent);
	KD_SYM(h, cuMemAlloc_v2); KD_SYM(h, cuMemFree_v2); KD_SYM(h, cuMemAllocHost_v2);
	KD_SYM(h, cuMemFreeHost); KD_SYM(h, cuMemGetInfo_v2); KD_SYM(h, cuMemcpyHtoDAsync_v2);
	KD_SYM(h, cuMemcpyDtoHAsync_v2); KD_SYM(h, cuMemcpyDtoDAsync_v2); KD_SYM(h, cuMemsetD32Async);
	KD_SYM(h, cuStreamCreate); KD_SYM(h, cuStreamDestroy_v2); KD_SYM(h, cuStreamSynchronize);
	KD_SYM(h, cuEventCreate); KD_SYM(h, cuEventDestroy_v2); KD_SYM(h, cuEventRecord);
	KD_SYM(h, cuEventSynchronize); KD_SYM(h, cuModuleLoadData); KD_SYM(h, cuModuleUnload);
	KD_SYM(h, cuModuleGetFunction); KD_SYM(h, cuLaunchKernel); KD_SYM(h, cuGetErrorName);
	KD_SYM(h, cuGetErrorString);
	return NULL;
}

const char *kd_bind_cublas(void *h) {
	KD_SYM(h, cublasCreate_v2); KD_SYM(h, cublasDestroy_v2); KD_SYM(h, cublasSetStream_v2);
	KD_SYM(h, cublasGemmEx); KD_SYM(h, cublasGemmStridedBatchedEx);
	*(void **)(&kd.cublasGetStatusName) = dlsym(h, "cublasGetStatusName");
	return NULL;
}

const char *kd_bind_nvrtc(void *h) {
	KD_SYM(h, nvrtcGetErrorString); KD_SYM(h, nvrtcVersion); KD_SYM(h, nvrtcGetNumSupportedArchs);
	KD_SYM(h, nvrtcGetSupportedArchs); KD_SYM(h, nvrtcCreateProgram); KD_SYM(h, nvrtcDestroyProgram);
	KD_SYM(h, nvrtcCompileProgram); KD_SYM(h, nvrtcGetPTXSize); KD_SYM(h, nvrtcGetPTX);
	KD_SYM(h, nvrtcGetCUBINSize); KD_SYM(h, nvrtcGetCUBIN); KD_SYM(h, nvrtcGetProgramLogSize);
	KD_SYM(h, nvrtcGetProgramLog);
	return NULL;
}

// Thin wrappers: Go calls C functions, not C function pointers.
CUresult kd_cuInit(void) { return kd.cuInit(0); }
CUresult kd_cuDriverGetVersion(int *v) { return kd.cuDriverGetVersion(v); }
CUresult kd_cuDeviceGetCount(int *n) { return kd.cuDeviceGetCount(n); }
CUresult kd_cuDeviceGet(CUdevice *d, int i) { return kd.cuDeviceGet(d, i); }
CUresult kd_cuDeviceGetName(char *s, int n, CUdevice d) { return kd.cuDeviceGetName(s, n, d); }
CUresult kd_cuDeviceGetAttribute(int *v, int a, CUdevice d) { return kd.cuDeviceGetAttribute(v, a, d); }
CUresult kd_cuDeviceTotalMem(size_t *b, CUdevice d) { return kd.cuDeviceTotalMem_v2(b, d); }
CUresult kd_cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) { return kd.cuDevicePrimaryCtxRetain(c, d); }
CUresult kd_cuDevicePrimaryCtxRelease(CUdevice d) { return kd.cuDevicePrimaryCtxRelease_v2(d); }
CUresult kd_cuCtxSetCurrent(CUcontext c) { return kd.cuCtxSetCurrent(c); }
CUresult kd_cuMemAlloc(CUdeviceptr *p, size_t n) { return kd.cuMemAlloc_v2(p, n); }
CUresult kd_cuMemFree(CUdeviceptr p) { return kd.cuMemFree_v2(p); }
CUresult kd_cuMemAllocHost(void **p, size_t n) { return kd.cuMemAllocHost_v2(p, n); }
CUresult kd_cuMemFreeHost(void *p) { return kd.cuMemFreeHost(p); }
CUresult kd_cuMemGetInfo(size_t *f, size_t *t) { return kd.cuMemGetInfo_v2(f, t); }
CUresult kd_cuMemcpyHtoDAsync(CUdeviceptr d, void *h, size_t n, CUstream s) { return kd.cuMemcpyHtoDAsync_v2(d, h, n, s); }
CUresult kd_cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n, CUstream s) { return kd.cuMemcpyDtoHAsync_v2(h, d, n, s); }
CUresult kd_cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return kd.cuMemcpyDtoDAsync_v2(d, s, n, st); }
CUresult kd_cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) { return kd.cuMemsetD32Async(d, v, n, s); }
CUresult kd_cuStreamCreate(CUstream *s, unsigned int f) { return kd.cuStreamCreate(s, f); }
CUresult kd_cuStreamDestroy(CUstream s) { return kd.cuStreamDestroy_v2(s); }
CUresult kd_cuStreamSynchronize(CUstream s) { return kd.cuStreamSynchronize(s); }
CUresult kd_cuEventCreate(CUevent *e, unsigned int f) { return kd.cuEventCreate(e, f); }
CUresult kd_cuEventDestroy(CUevent e) { return kd.cuEventDestroy_v2(e); }
CUresult kd_cuEventRecord(CUevent e, CUstream s) { return kd.cuEventRecord(e, s); }
CUresult kd_cuEventSynchronize(CUevent e) { return kd.cuEventSynchronize(e); }
CUresult kd_cuModuleLoadData(CUmodule *m, const void *img) { return kd.cuModuleLoadData(m, img); }
CUresult kd_cuModuleUnload(CUmodule m) { return kd.cuModuleUnload(m); }
CUresult kd_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) { return kd.cuModuleGetFunction(f, m, name); }

const char *kd_cuErrorName(CUresult r) {
	const char *s = NULL;
	if (kd.cuGetErrorName == NULL || kd.cuGetErrorName(r, &s) != 0 || s == NULL) return "CUDA_ERROR_UNKNOWN";
	return s;
}
const char *kd_cuErrorString(CUresult r) {
	const char *s = NULL;
	if (kd.cuGetErrorString == NULL || kd.cuGetErrorString(r, &s) != 0 || s == NULL) return "";
	return s;
}

// kd_launch launches f with its arguments packed in args: argument i is at
// args+offs[i]. cuLaunchKernel copies the values before it returns
// ("kernelParams ... the parameters are copied", cuda.h), so the pointer
// array may live on this stack frame.
CUresult kd_launch(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem, CUstream s,
		char *args, const int *offs, int nargs) {
	void *params[32];
	if (nargs > 32) return 1; // CUDA_ERROR_INVALID_VALUE
	for (int i = 0; i < nargs; i++) params[i] = args + offs[i];
	return kd.cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, s, params, NULL);
}

cublasStatus_t kd_cublasCreate(cublasHandle_t *h) { return kd.cublasCreate_v2(h); }
cublasStatus_t kd_cublasDestroy(cublasHandle_t h) { return kd.cublasDestroy_v2(h); }
cublasStatus_t kd_cublasSetStream(cublasHandle_t h, CUstream s) { return kd.cublasSetStream_v2(h, s); }
const char *kd_cublasStatusName(cublasStatus_t s) {
	if (kd.cublasGetStatusName == NULL) return "CUBLAS_STATUS_?";
	return kd.cublasGetStatusName(s);
}

// kd_gemm is cublasGemmEx on float32 matrices (cudaDataType CUDA_R_32F = 0,
// library_types.h) with host-side alpha and beta (the default
// CUBLAS_POINTER_MODE_HOST: read at the call) and CUBLAS_GEMM_DEFAULT = -1
// (cublas_api.h).
cublasStatus_t kd_gemm(cublasHandle_t h, int ta, int tb, int m, int n, int k,
		float alpha, CUdeviceptr A, int lda, CUdeviceptr B, int ldb,
		float beta, CUdeviceptr C, int ldc, int computeType) {
	return kd.cublasGemmEx(h, ta, tb, m, n, k, &alpha,
		(const void *)A, 0, lda, (const void *)B, 0, ldb, &beta,
		(void *)C, 0, ldc, computeType, -1);
}

cublasStatus_t kd_gemm_strided(cublasHandle_t h, int ta, int tb, int m, int n, int k,
		float alpha, CUdeviceptr A, int lda, long long sa, CUdeviceptr B, int ldb, long long sb,
		float beta, CUdeviceptr C, int ldc, long long sc, int batch, int computeType) {
	return kd.cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, &alpha,
		(const void *)A, 0, lda, sa, (const void *)B, 0, ldb, sb, &beta,
		(void *)C, 0, ldc, sc, batch, computeType, -1);
}

const char *kd_nvrtcError(nvrtcResult r) { return kd.nvrtcGetErrorString(r); }
nvrtcResult kd_nvrtcVersion(int *major, int *minor) { return kd.nvrtcVersion(major, minor); }
nvrtcResult kd_nvrtcNumArchs(int *n) { return kd.nvrtcGetNumSupportedArchs(n); }
nvrtcResult kd_nvrtcArchs(int *a) { return kd.nvrtcGetSupportedArchs(a); }

// kd_compile compiles src with NVRTC. On return *log holds the compiler's
// log and *image the CUBIN (when the architecture option names a real
// architecture, sm_XY) or else the PTX; both are malloc'ed, the caller
// frees them.
nvrtcResult kd_compile(const char *src, const char *name, const char *const *opts, int nopts,
		char **image, size_t *imageSize, int *isCubin, char **log) {
	nvrtcProgram prog = NULL;
	*image = NULL; *imageSize = 0; *isCubin = 0; *log = NULL;
	nvrtcResult r = kd.nvrtcCreateProgram(&prog, src, name, 0, NULL, NULL);
	if (r != 0) return r;
	nvrtcResult cr = kd.nvrtcCompileProgram(prog, nopts, opts);
	size_t n = 0;
	if (kd.nvrtcGetProgramLogSize(prog, &n) == 0 && n > 0) {
		*log = (char *)malloc(n);
		if (*log && kd.nvrtcGetProgramLog(prog, *log) != 0) (*log)[0] = 0;
	}
	if (cr != 0) { kd.nvrtcDestroyProgram(&prog); return cr; }
	n = 0;
	r = kd.nvrtcGetCUBINSize(prog, &n);
	if (r == 0 && n > 0) {
		*image = (char *)malloc(n);
		if (*image == NULL) { kd.nvrtcDestroyProgram(&prog); return 1; } // NVRTC_ERROR_OUT_OF_MEMORY
		r = kd.nvrtcGetCUBIN(prog, *image);
		*isCubin = 1;
	} else {
		r = kd.nvrtcGetPTXSize(prog, &n);
		if (r == 0) {
			*image = (char *)malloc(n);
			if (*image == NULL) { kd.nvrtcDestroyProgram(&prog); return 1; }
			r = kd.nvrtcGetPTX(prog, *image);
		}
	}
	*imageSize = n;
	kd.nvrtcDestroyProgram(&prog);
	return r;
}
