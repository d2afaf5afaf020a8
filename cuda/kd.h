// Declarations shared by the Go files of package cuda (their cgo
// preambles include this) and kd.c, which implements them. The CUDA types
// are written out here rather than taken from CUDA's headers, so building
// needs no CUDA toolkit; each matches CUDA 12.6's headers as noted.

#ifndef KD_H
#define KD_H

#include <stddef.h>

// cuda.h: "typedef int CUdevice_v1; typedef CUdevice_v1 CUdevice;";
// CUresult is the enum cudaError_enum (an int); CUdeviceptr is
// "unsigned long long" where pointers are 64-bit (_WIN64 || __LP64__);
// the handles are pointers to opaque structs.
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

// cublas_api.h: cublasStatus_t is an enum; "typedef struct cublasContext*
// cublasHandle_t"; its cudaStream_t is the same handle as CUstream.
typedef int cublasStatus_t;
typedef struct cublasContext *cublasHandle_t;

// nvrtc.h: nvrtcResult is an enum; "typedef struct _nvrtcProgram *nvrtcProgram".
typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

// Loading: dlopen a library, and bind the symbols of each. A bind
// function returns NULL, or the name of the first missing symbol.
void *kd_dlopen(const char *name);
const char *kd_dlerror(void);
const char *kd_bind_driver(void *h);
const char *kd_bind_cublas(void *h);
const char *kd_bind_nvrtc(void *h);

// The driver API (cuda.h), through the bound pointers.
CUresult kd_cuInit(void);
CUresult kd_cuDriverGetVersion(int *v);
CUresult kd_cuDeviceGetCount(int *n);
CUresult kd_cuDeviceGet(CUdevice *d, int ordinal);
CUresult kd_cuDeviceGetName(char *s, int n, CUdevice d);
CUresult kd_cuDeviceGetAttribute(int *v, int attrib, CUdevice d);
CUresult kd_cuDeviceTotalMem(size_t *bytes, CUdevice d);
CUresult kd_cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d);
CUresult kd_cuDevicePrimaryCtxRelease(CUdevice d);
CUresult kd_cuCtxSetCurrent(CUcontext c);
CUresult kd_cuMemAlloc(CUdeviceptr *p, size_t bytes);
CUresult kd_cuMemFree(CUdeviceptr p);
CUresult kd_cuMemAllocHost(void **p, size_t bytes);
CUresult kd_cuMemFreeHost(void *p);
CUresult kd_cuMemGetInfo(size_t *free, size_t *total);
CUresult kd_cuMemcpyHtoDAsync(CUdeviceptr dst, void *src, size_t bytes, CUstream s);
CUresult kd_cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream s);
CUresult kd_cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s);
CUresult kd_cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream s);
CUresult kd_cuStreamCreate(CUstream *s, unsigned int flags);
CUresult kd_cuStreamDestroy(CUstream s);
CUresult kd_cuStreamSynchronize(CUstream s);
CUresult kd_cuEventCreate(CUevent *e, unsigned int flags);
CUresult kd_cuEventDestroy(CUevent e);
CUresult kd_cuEventRecord(CUevent e, CUstream s);
CUresult kd_cuEventSynchronize(CUevent e);
CUresult kd_cuModuleLoadData(CUmodule *m, const void *image);
CUresult kd_cuModuleUnload(CUmodule m);
CUresult kd_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name);
const char *kd_cuErrorName(CUresult r);
const char *kd_cuErrorString(CUresult r);

// kd_launch launches f with its arguments packed in args: argument i
// starts at args+offs[i].
CUresult kd_launch(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
	unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem, CUstream s,
	char *args, const int *offs, int nargs);

// cuBLAS (cublas_api.h).
cublasStatus_t kd_cublasCreate(cublasHandle_t *h);
cublasStatus_t kd_cublasDestroy(cublasHandle_t h);
cublasStatus_t kd_cublasSetStream(cublasHandle_t h, CUstream s);
const char *kd_cublasStatusName(cublasStatus_t s);
cublasStatus_t kd_gemm(cublasHandle_t h, int ta, int tb, int m, int n, int k,
	float alpha, CUdeviceptr A, int lda, CUdeviceptr B, int ldb,
	float beta, CUdeviceptr C, int ldc, int computeType);
cublasStatus_t kd_gemm_strided(cublasHandle_t h, int ta, int tb, int m, int n, int k,
	float alpha, CUdeviceptr A, int lda, long long sa, CUdeviceptr B, int ldb, long long sb,
	float beta, CUdeviceptr C, int ldc, long long sc, int batch, int computeType);

// NVRTC (nvrtc.h).
const char *kd_nvrtcError(nvrtcResult r);
nvrtcResult kd_nvrtcVersion(int *major, int *minor);
nvrtcResult kd_nvrtcNumArchs(int *n);
nvrtcResult kd_nvrtcArchs(int *archs);
nvrtcResult kd_compile(const char *src, const char *name, const char *const *opts, int nopts,
	char **image, size_t *imageSize, int *isCubin, char **log);

#endif
