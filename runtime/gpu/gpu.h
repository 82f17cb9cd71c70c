/* gpu.h: the device side of the trainers the CUDA target writes (codegen/cuda.c).
 *
 * A generated CUDA trainer is host code only: its kernels are one CUDA C++ source string,
 * compiled when the trainer starts (NVRTC, with an on-disk cache), and its matrix products
 * are cuBLAS calls. Two implementations of this interface exist:
 *   gpu_cuda.c  the real one: CUDA runtime, NVRTC, cuBLAS, CUDA graphs;
 *   gpu_emu.c   an emulation on the host for tests without a GPU: the same kernel source
 *               run by the block-level emulator (simt.h), the same matrix-product plans
 *               run through CBLAS in cuBLAS's column-major convention, the same cache.
 *
 * Kernels all have one signature, so launching, graph capture and the emulation need no
 * per-kernel code:
 *   extern "C" __global__ void NAME(long long B, RtPtrs p, int site)
 * B is the batch of the call, p the addresses of the output and inputs (in that order),
 * site the instruction's index in the trainer's site table, which a kernel that finds bad
 * data (an index out of range) records in the module's `maec_error` word; the host reads
 * it after each step and names the op and DSL line.
 *
 * Every call returns 0, or nonzero after printing what failed and where.
 */
#ifndef MAEC_GPU_H
#define MAEC_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "train/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RT_GPU_MAX_OPERANDS 32
typedef struct RtPtrs {
	void *p[RT_GPU_MAX_OPERANDS];
} RtPtrs;

/* A site's estimate by the compiler's cost model (codegen/cost.c): at the batch the
 * function was planned for, its DRAM bytes, FLOPs and microseconds per RtPrecision;
 * zeros for host work. */
typedef struct RtGpuSiteCost {
	int64_t batch;
	double bytes, flops, est_us[3];
} RtGpuSiteCost;

/* What a generated trainer tells the device side. */
typedef struct RtGpuProgram {
	const char *kernels;            /* the CUDA C++ source of every kernel */
	const char *const *kernel_names;
	int nkernels;
	const char *const *sites;       /* per site: "op file:line:col" */
	int nsites;
	int64_t act_bytes;              /* the largest activation plan */
	int64_t io_bytes;               /* the largest function's arguments (images, labels) */
	int64_t scratch_bytes;          /* the largest two-stage reduction's partial sums */
	int ngraphs;                    /* functions that may be captured as CUDA graphs */
	const RtGpuSiteCost *site_costs; /* per site, for MAEC_PROFILE */
} RtGpuProgram;

/* The device addresses both implementations keep, first in their state (st->dev). */
typedef struct RtGpuSlabs {
	char *act, *io, *scratch;
	float *slab[4];   /* parameters, gradients, m, v */
	size_t slab_n[4]; /* elements */
} RtGpuSlabs;

/* The RtDevice hooks (trainer.h). open reads the program's RtGpuProgram through
 * rt_gpu_program, which the generated file defines. */
extern const RtGpuProgram rt_gpu_program;
extern const RtDevice rt_gpu_device;

/* Device addresses of the slabs (gpu_plan.c, from RtGpuSlabs). */
char *rt_gpu_act(RtState *st);
char *rt_gpu_io(RtState *st);
char *rt_gpu_scratch(RtState *st);
float *rt_gpu_slab(RtState *st, int which); /* 0 params, 1 grad, 2 m, 3 v */

/* Kernel `kernel` over `threads` threads (grid-stride loops: the grid is capped). */
#define RT_GPU_BLOCK 256
int rt_gpu_launch(RtState *st, int kernel, int64_t threads, int64_t B, const RtPtrs *p, int site);
/* Kernel `kernel` over `blocks` blocks of RT_GPU_BLOCK threads, one block per piece of work
 * (the attention kernels: a batch element each). */
int rt_gpu_launch_blocks(RtState *st, int kernel, int64_t blocks, int64_t B, const RtPtrs *p, int site);

/* The storage of a product's tensors (maec --precision=bf16): RT_GEMM_F32, or bf16 operands
 * (both) and/or a bf16 output. */
enum { RT_GEMM_F32 = 0, RT_GEMM_BF16_IN = 1, RT_GEMM_BF16_OUT = 2 };

/* matmul and matmul_reduce of runtime/kernels/cpu.h (rt_matmul, rt_matmul_reduce) on the device:
 * f32 operands in the precision of st->precision, bf16 ones (types) with f32 accumulation;
 * accumulate: added into out (rt_matmul_add), which is f32. */
int rt_gpu_matmul(RtState *st, void *out, const void *a, const void *b, int types, int rank_a, const int64_t *dims_a,
                  int rank_b, const int64_t *dims_b, int ta, int tb, int reduce, int accumulate, int site);

/* Copies on the trainer's stream: host to device (the host buffer may be reused at once),
 * device to device, device to host (waits for it). */
int rt_gpu_to_device(RtState *st, void *dst, const void *src, size_t bytes, int site);
int rt_gpu_copy(RtState *st, void *dst, const void *src, size_t bytes, int site);
int rt_gpu_to_host(RtState *st, void *dst, const void *src, size_t bytes, int site);

/* Runs fn(st, B), the device work of one function: the first time for a (graph, B) pair
 * it is captured as a CUDA graph, then the graph is replayed (MAEC_GRAPHS=0: never). */
int rt_gpu_run(RtState *st, int graph, int64_t B, int (*fn)(RtState *st, int64_t B));

/* Waits for the device and reports a kernel's bad-data error with its site. */
int rt_gpu_finish(RtState *st);

/* ---- gpu_plan.c: pure host logic both implementations share (unit-tested) ---- */

/* One strided-batched GEMM in cuBLAS's column-major terms: C = op(A) op(B) + beta C for
 * `count` matrices `stride_*` elements apart, at element offsets off_* from the base
 * pointers. A row-major product out = x y is the column-major out^T = y^T x^T, so A is
 * the row-major right operand y and B the left one x. */
typedef struct RtGemm {
	int trans_a, trans_b; /* 1: op is the transpose */
	int64_t m, n, k, lda, ldb, ldc;
	int64_t off_a, off_b, off_c, stride_a, stride_b, stride_c, count;
	float beta;
} RtGemm;

/* The GEMMs of rt_matmul (reduce 0) or rt_matmul_reduce (reduce 1) for row-major x and y
 * (a and b of runtime/kernels/cpu.h): returns how many there are, writing the first max of them
 * to g, or -1 for shapes that break the op. */
int rt_gemm_plan(RtGemm *g, int max, int rank_a, const int64_t *dims_a, int rank_b, const int64_t *dims_b, int ta,
                 int tb, int reduce);

/* rt_gemm_plan into local[nlocal], or a malloc'd array when more are needed (free it when
 * it is not local); *n the count; accumulate: every beta 1 (out += the product). NULL
 * after printing why (the site names the op). */
RtGemm *rt_gemm_plan_for(RtGemm *local, int nlocal, int *n, int rank_a, const int64_t *dims_a, int rank_b,
                         const int64_t *dims_b, int ta, int tb, int reduce, int accumulate, int site);

/* The blocks of a launch of `threads` threads in blocks of RT_GPU_BLOCK on a device of
 * `sms` multiprocessors: enough for every thread, at most 16 a multiprocessor (the
 * kernels' grid-stride loops do the rest). */
unsigned rt_gpu_grid(int64_t threads, int sms);
/* The grid of a launch of `blocks` blocks (rt_gpu_launch_blocks): 0, after printing why,
 * when a grid cannot hold them. */
unsigned rt_gpu_blocks(int64_t blocks, int site);

/* ---- cache.c: the kernel cache, on the host ---- */

/* FNV-1a of a buffer, chained from h (start with RT_HASH_INIT), for the kernel cache. */
#define RT_HASH_INIT 0xcbf29ce484222325ull
uint64_t rt_hash(uint64_t h, const void *p, size_t n);

/* The kernel cache's directory: $MAEC_CACHE_DIR, else $XDG_CACHE_HOME/maec, else
 * $HOME/.cache/maec (created). NULL when none can be made (then nothing is cached). */
char *rt_cache_dir(void);
/* Reads a whole cache file (NULL if absent); writes one atomically (temporary + rename). */
void *rt_cache_read(const char *path, size_t *n);
int rt_cache_write(const char *path, const void *p, size_t n);

/* Sites: "op file:line:col" of site, or "(unknown site)". */
const char *rt_gpu_site(int site);

#ifdef __cplusplus
}
#endif

#endif
