/* gpu_emu.c: gpu.h on the host, so that a CUDA trainer's generated code and kernels run
 * where there is no GPU (tests, CI): what the code generator can get wrong — kernel text,
 * index arithmetic, warp and block cooperation, operand order, the matrix-product plans in
 * cuBLAS's convention, slab offsets, copies between host and device slabs — shows as a
 * different result or a failed launch.
 *
 *   - The kernel source runs on the block-level emulator (simt.c): compiled by the host
 *     C++ compiler, cached like the CUDA side's cubins, each launch with the block size
 *     and grid of gpu_cuda.c (rt_gpu_grid) on a device of EMU_SMS multiprocessors, so the
 *     grid-stride loops go round; blocks run on MAEC_EMU_THREADS host threads (default:
 *     the online processors, at most 8).
 *   - "Device" slabs are separate host allocations: push and pull copy as on a GPU.
 *   - Matrix products run the plans of rt_gemm_plan through CBLAS in column-major order,
 *     with the parameters cuBLAS gets.
 *   - Data parallelism is gpu_nccl.c's, as on a GPU, with NCCL and the streams emulated
 *     over MPI (nccl_emu.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "kernels/cpu.h" /* rt_bf16 */
#include "gpu/gpu.h"
#include "gpu/gpu_nccl.h"
#include "gpu/simt.h"

typedef struct RtGpu {
	RtGpuSlabs s; /* first: gpu_plan.c's accessors read it */
	Simt *m;
	SimtKernel *kern;
	int *error;
	/* data parallelism (NULL unless run by an MPI launcher): the sums, and the stream
	 * they are ordered against, which stands for the host's program order */
	RtGpuDp *dp;
	RtCudaStream *stream;
} RtGpu;

enum { EMU_SMS = 2 };

static RtGpu *gpu(RtState *st)
{
	return st->dev;
}

static void *zalloc(size_t n, const char *what)
{
	void *p = calloc(n ? n : 1, 1);
	if (!p)
		fprintf(stderr, "trainer: out of memory for %s (%zu bytes)\n", what, n);
	return p;
}

static void *sym(RtGpu *g, const char *name)
{
	void *p = simt_symbol(g->m, name);
	if (!p)
		fprintf(stderr, "trainer: the emulated kernels have no '%s'\n", name);
	return p;
}

static int host_threads(void)
{
	const char *env = getenv("MAEC_EMU_THREADS");
	if (env && *env)
		return atoi(env);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static void emu_close(RtState *st);

static int emu_open(RtState *st, const RtProgram *p)
{
	const RtGpuProgram *gp = &rt_gpu_program;
	RtGpu *g = zalloc(sizeof *g, "the device state");
	if (!g)
		return 1;
	st->dev = g;
	printf("device: none; the CUDA kernels run emulated on the host (%d kernels)\n", gp->nkernels);
	if (!(g->m = simt_open(gp->kernels, host_threads(), "trainer")))
		return 1;
	g->kern = zalloc(sizeof *g->kern * (size_t)gp->nkernels, "the kernel table");
	int *precision;
	if (!g->kern || !(g->error = sym(g, "maec_error")) || !(precision = sym(g, "maec_precision")))
		return 1;
	*precision = (int)st->precision;
	for (int i = 0; i < gp->nkernels; i++) {
		void *f = sym(g, gp->kernel_names[i]);
		if (!f)
			return 1;
		memcpy(&g->kern[i], &f, sizeof f); /* object to function pointer, as dlsym's users must */
	}
	size_t n[4] = {(size_t)p->params_numel, (size_t)p->state_numel, (size_t)p->state_numel, (size_t)p->state_numel};
	for (int i = 0; i < 4; i++) {
		g->s.slab_n[i] = n[i];
		if (!(g->s.slab[i] = zalloc(sizeof(float) * n[i], "a device slab")))
			return 1;
	}
	if (!(g->s.act = zalloc((size_t)gp->act_bytes, "the activations")) || !(g->s.io = zalloc((size_t)gp->io_bytes, "the inputs")) ||
	    !(g->s.scratch = zalloc((size_t)gp->scratch_bytes, "the scratch slab")))
		return 1;
	return 0;
}

static int emu_copy_slabs(RtState *st, int to_device)
{
	RtGpu *g = gpu(st);
	float *host[4] = {st->params, st->grad, st->m, st->v};
	for (int i = 0; i < 4; i++)
		memcpy(to_device ? g->s.slab[i] : host[i], to_device ? host[i] : g->s.slab[i], sizeof(float) * g->s.slab_n[i]);
	return 0;
}

static int emu_push(RtState *st)
{
	return emu_copy_slabs(st, 1);
}

static int emu_pull(RtState *st)
{
	return emu_copy_slabs(st, 0);
}

static void emu_close(RtState *st)
{
	RtGpu *g = gpu(st);
	if (!g)
		return;
	rt_gpu_dp_close(g->dp);
	rt_cuda_stream_destroy(g->stream);
	for (int i = 0; i < 4; i++)
		free(g->s.slab[i]);
	free(g->s.act);
	free(g->s.io);
	free(g->s.scratch);
	free(g->kern);
	simt_close(g->m);
	free(g);
	st->dev = NULL;
}

/* `trainer kernels`: the kernel source through the host compiler, as emu_open would. */
static int emu_kernels(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	Simt *m = simt_open(rt_gpu_program.kernels, 1, "trainer");
	if (!m)
		return 1;
	printf("host emulation: %d kernels compiled and loaded\n", rt_gpu_program.nkernels);
	simt_close(m);
	return 0;
}

static int emu_dp_open(RtState *st)
{
	RtGpu *g = gpu(st);
	if (rt_cuda_stream_create(&g->stream)) {
		fprintf(stderr, "trainer: out of memory\n");
		return 1;
	}
	return !(g->dp = rt_gpu_dp_open(st->comm, g->stream));
}

static int emu_dp_allreduce(RtState *st, int which, int64_t off, int64_t n)
{
	return rt_gpu_dp_allreduce(gpu(st)->dp, st, which, off, n);
}

const RtDevice rt_gpu_device = {"emulated", emu_open, emu_push,    emu_pull,
                                emu_close,  emu_kernels, emu_dp_open, emu_dp_allreduce};

/* Kernel `kernel` over grid x RT_GPU_BLOCK threads on the emulator. */
static int launch(RtGpu *g, int kernel, unsigned grid_x, int64_t B, const RtPtrs *p, int site)
{
	SimtDim grid = {grid_x, 1, 1}, block = {RT_GPU_BLOCK, 1, 1};
	if (simt_launch(g->m, rt_gpu_program.kernel_names[kernel], g->kern[kernel], grid, block, 0, (long long)B, p, site)) {
		fprintf(stderr, "trainer: %s (launched for %s)\n", simt_error(g->m), rt_gpu_site(site));
		return 1;
	}
	return 0;
}

int rt_gpu_launch(RtState *st, int kernel, int64_t threads, int64_t B, const RtPtrs *p, int site)
{
	return threads <= 0 ? 0 : launch(gpu(st), kernel, rt_gpu_grid(threads, EMU_SMS), B, p, site);
}

int rt_gpu_launch_blocks(RtState *st, int kernel, int64_t blocks, int64_t B, const RtPtrs *p, int site)
{
	if (blocks <= 0)
		return 0;
	unsigned grid = rt_gpu_blocks(blocks, site);
	return grid ? launch(gpu(st), kernel, grid, B, p, site) : 1;
}

/* The elements of a row-major tensor of dims. */
static int64_t numel_of(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

/* bf16 bits to float (exact), and float to bf16 (to nearest, ties to even), as cuBLAS. */
static float *widened(const void *p, int64_t n)
{
	float *w = malloc(sizeof *w * (size_t)(n ? n : 1));
	if (!w) {
		fprintf(stderr, "trainer: out of memory widening a bf16 operand (%lld elements)\n", (long long)n);
		return NULL;
	}
	for (int64_t i = 0; i < n; i++)
		w[i] = rt_real_of_bf16(((const rt_bf16 *)p)[i]);
	return w;
}

static void run_plan(const RtGemm *plan, int n, float *out, const float *a, const float *b)
{
	for (int i = 0; i < n; i++) {
		const RtGemm *e = &plan[i];
		for (int64_t c = 0; c < e->count; c++) {
			float *C = out + e->off_c + c * e->stride_c;
			if (e->k == 0) { /* C = beta C */
				for (int64_t col = 0; col < e->n; col++)
					for (int64_t row = 0; row < e->m; row++)
						C[col * e->ldc + row] = e->beta == 0 ? 0 : e->beta * C[col * e->ldc + row];
				continue;
			}
			cblas_sgemm(CblasColMajor, e->trans_a ? CblasTrans : CblasNoTrans, e->trans_b ? CblasTrans : CblasNoTrans,
			            (int)e->m, (int)e->n, (int)e->k, 1.0f, b + e->off_a + c * e->stride_a, (int)e->lda,
			            a + e->off_b + c * e->stride_b, (int)e->ldb, e->beta, C, (int)e->ldc);
		}
	}
}

/* bf16 tensors (types) as cuBLAS takes them with fp32 compute: operands widened exactly,
 * products accumulated in fp32, a bf16 output rounded once at the end. */
int rt_gpu_matmul(RtState *st, void *out, const void *a, const void *b, int types, int rank_a, const int64_t *dims_a,
                  int rank_b, const int64_t *dims_b, int ta, int tb, int reduce, int accumulate, int site)
{
	(void)st;
	RtGemm one[4];
	int n;
	RtGemm *plan = rt_gemm_plan_for(one, 4, &n, rank_a, dims_a, rank_b, dims_b, ta, tb, reduce, accumulate, site);
	if (!plan)
		return 1;
	float *wa = NULL, *wb = NULL, *wo = NULL;
	int64_t nout = 0;
	int rc = 0;
	if (types & RT_GEMM_BF16_IN)
		rc = !(wa = widened(a, numel_of(rank_a, dims_a))) || !(wb = widened(b, numel_of(rank_b, dims_b)));
	if (!rc && (types & RT_GEMM_BF16_OUT)) { /* beta is 0: nothing of out is read */
		for (int i = 0; i < n; i++) {
			const RtGemm *e = &plan[i];
			int64_t end = e->off_c + (e->count - 1) * e->stride_c + (e->n - 1) * e->ldc + e->m;
			nout = end > nout ? end : nout;
		}
		rc = !(wo = calloc((size_t)(nout ? nout : 1), sizeof *wo));
		if (rc)
			fprintf(stderr, "trainer: out of memory for a bf16 product (%lld elements)\n", (long long)nout);
	}
	if (!rc) {
		run_plan(plan, n, wo ? wo : out, wa ? wa : a, wb ? wb : b);
		for (int i = 0; wo && i < n; i++) { /* only the elements the products write */
			const RtGemm *e = &plan[i];
			for (int64_t c = 0; c < e->count; c++)
				for (int64_t col = 0; col < e->n; col++)
					for (int64_t row = 0; row < e->m; row++) {
						int64_t at = e->off_c + c * e->stride_c + col * e->ldc + row;
						((rt_bf16 *)out)[at] = rt_bf16_of_real(wo[at]);
					}
		}
	}
	free(wa);
	free(wb);
	free(wo);
	if (plan != one)
		free(plan);
	return rc;
}

int rt_gpu_to_device(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	(void)st;
	(void)site;
	memcpy(dst, src, bytes);
	return 0;
}

int rt_gpu_copy(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	return rt_gpu_to_device(st, dst, src, bytes, site);
}

int rt_gpu_to_host(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	return rt_gpu_to_device(st, dst, src, bytes, site);
}

int rt_gpu_run(RtState *st, int graph, int64_t B, int (*fn)(RtState *st, int64_t B))
{
	(void)graph;
	return fn(st, B);
}

int rt_gpu_finish(RtState *st)
{
	RtGpu *g = gpu(st);
	int e = *g->error;
	if (!e)
		return 0;
	*g->error = 0;
	fprintf(stderr, "trainer: %s: index out of range in the data\n", rt_gpu_site(e - 1));
	return 1;
}
