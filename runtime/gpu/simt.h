/* simt.h: a block-level emulator of CUDA kernels on the host (simt.c; its top comment is
 * the contract). It runs the kernel source that NVRTC compiles for the device, with real
 * block and grid shapes, warps of 32 lanes, shared memory, barriers, warp collectives,
 * atomics and WMMA tiles, and fails a launch that races on shared memory or reaches a
 * barrier or collective that not all of its threads reach.
 *
 * Kernels have the signature of runtime/gpu/gpu.h: extern "C" __global__ void NAME(long long B,
 * RtPtrs p, int site). Functions return 0, or nonzero with the reason in simt_error().
 */
#ifndef MAEC_SIMT_H
#define MAEC_SIMT_H

#include <stddef.h>

#include "gpu/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Simt Simt;
typedef struct SimtDim {
	unsigned x, y, z;
} SimtDim;
typedef void (*SimtKernel)(long long B, RtPtrs p, int site);

/* The largest dynamic shared memory of a launch (an H100's or H200's 227 KiB). */
#define SIMT_DYNAMIC_SHARED_MAX (227u << 10)

/* Compiles source (CUDA C++) with the host C++ compiler ($CXX, else c++) into a shared
 * object, cached in rt_cache_dir() by the hash of everything that goes into it, and loads
 * it. Blocks run on `threads` host threads (at least 1). NULL after printing why, with
 * `who` first ("trainer", a test's name). */
Simt *simt_open(const char *source, int threads, const char *who);
void simt_close(Simt *m);

/* A symbol of the module (a kernel, a __device__ variable); NULL if it has none. */
void *simt_symbol(Simt *m, const char *name);

/* Runs kernel k, called `name` in messages, over grid x block threads with `dynamic_shared`
 * bytes of extern __shared__ memory: every block to completion, its threads as fibers. */
int simt_launch(Simt *m, const char *name, SimtKernel k, SimtDim grid, SimtDim block, size_t dynamic_shared,
                long long B, const RtPtrs *p, int site);

/* Why the last launch failed: "kernel NAME, block (x,y,z): ..." ("" after a success). */
const char *simt_error(const Simt *m);

#ifdef __cplusplus
}
#endif

#endif
