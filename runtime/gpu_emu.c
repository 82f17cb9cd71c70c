/* gpu_emu.c: gpu.h on the host, so that a CUDA trainer's generated code and kernels run
 * where there is no GPU (tests, CI). It is not a simulator of the hardware: it checks what
 * the code generator can get wrong — kernel text, index arithmetic, operand order, the
 * matrix-product plans in cuBLAS's convention, slab offsets, copies between host and
 * device slabs — by computing the same function.
 *
 *   - The kernel source is compiled by the host C++ compiler ($CXX, else c++) into a
 *     shared object, cached like the CUDA side's cubins, and loaded with dlopen. Its
 *     prelude defines threadIdx, blockIdx, blockDim and gridDim as variables; a launch
 *     runs its threads one after another, over a small grid (3 blocks of 32 threads), so
 *     the kernels' grid-stride loops are exercised. The kernels have no shared memory or
 *     barriers, so running their threads in sequence computes what the device does.
 *   - "Device" slabs are separate host allocations: push and pull copy as on a GPU.
 *   - Matrix products run the plans of rt_gemm_plan through CBLAS in column-major order,
 *     with the parameters cuBLAS gets.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cblas.h>

#include "gpu.h"

typedef void (*EmuKernel)(long long B, RtPtrs p, int site);
typedef struct Dim3 {
	unsigned x, y, z;
} Dim3;

typedef struct RtGpu {
	RtGpuSlabs s; /* first: gpu_plan.c's accessors read it */
	void *so;
	EmuKernel *kern;
	Dim3 *thread, *block, *block_dim, *grid_dim;
	int *error;
} RtGpu;

enum { EMU_BLOCK = 32, EMU_GRID = 3 };

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

/* Runs argv (no shell); 0 on success. */
static int run(char *const *argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "trainer: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The kernels as a shared object: from the cache, or compiled into it. */
static char *compile(const RtGpuProgram *gp)
{
	const char *cxx = getenv("CXX");
	if (!cxx || !*cxx)
		cxx = "c++";
	uint64_t h = rt_hash(RT_HASH_INIT, gp->kernels, strlen(gp->kernels));
	h = rt_hash(h, cxx, strlen(cxx));
	h = rt_hash(h, "emu-1", 5);
	char *dir = rt_cache_dir();
	char *tmpdir = NULL;
	if (!dir) { /* no cache: a private temporary directory */
		char tmpl[] = "/tmp/maec-emu-XXXXXX";
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "trainer: cannot create a temporary directory: %s\n", strerror(errno));
			return NULL;
		}
		dir = tmpdir = rt_format("%s", tmpl);
	}
	char *so = rt_format("%s/%016llx.emu.so", dir, (unsigned long long)h);
	if (access(so, R_OK) != 0) {
		char *src = rt_format("%s/%016llx.%ld.emu.cpp", dir, (unsigned long long)h, (long)getpid());
		char *tmp = rt_format("%s.tmp.so", src);
		int ok = rt_cache_write(src, gp->kernels, strlen(gp->kernels)) == 0;
		char *argv[] = {(char *)cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-w", "-x", "c++", src, "-o", tmp, NULL};
		ok = ok && run(argv) == 0 && rename(tmp, so) == 0;
		remove(src);
		remove(tmp);
		free(src);
		free(tmp);
		if (!ok) {
			fprintf(stderr, "trainer: the host C++ compiler '%s' failed on the kernels\n", cxx);
			free(so);
			so = NULL;
		}
	}
	free(dir);
	(void)tmpdir;
	return so;
}

static void *sym(RtGpu *g, const char *name)
{
	void *p = dlsym(g->so, name);
	if (!p)
		fprintf(stderr, "trainer: the emulated kernels have no '%s'\n", name);
	return p;
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
	char *so = compile(gp);
	if (!so)
		return 1;
	g->so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!g->so) {
		fprintf(stderr, "trainer: cannot load '%s': %s\n", so, dlerror());
		free(so);
		return 1;
	}
	free(so);
	g->kern = zalloc(sizeof *g->kern * (size_t)gp->nkernels, "the kernel table");
	if (!g->kern || !(g->thread = sym(g, "threadIdx")) || !(g->block = sym(g, "blockIdx")) ||
	    !(g->block_dim = sym(g, "blockDim")) || !(g->grid_dim = sym(g, "gridDim")) ||
	    !(g->error = sym(g, "maec_error")))
		return 1;
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
	for (int i = 0; i < 4; i++)
		free(g->s.slab[i]);
	free(g->s.act);
	free(g->s.io);
	free(g->s.scratch);
	free(g->kern);
	if (g->so)
		dlclose(g->so);
	free(g);
	st->dev = NULL;
}

/* `trainer kernels`: the kernel source through the host compiler, as emu_open would. */
static int emu_kernels(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char *so = compile(&rt_gpu_program);
	if (!so)
		return 1;
	printf("host emulation: %d kernels compiled into %s\n", rt_gpu_program.nkernels, so);
	free(so);
	return 0;
}

const RtDevice rt_gpu_device = {"emulated", emu_open, emu_push, emu_pull, emu_close, emu_kernels};

int rt_gpu_launch(RtState *st, int kernel, int64_t threads, int64_t B, const RtPtrs *p, int site)
{
	RtGpu *g = gpu(st);
	if (threads <= 0)
		return 0;
	int64_t blocks = (threads + EMU_BLOCK - 1) / EMU_BLOCK;
	unsigned grid = blocks < EMU_GRID ? (unsigned)blocks : EMU_GRID;
	g->block_dim->x = EMU_BLOCK;
	g->grid_dim->x = grid;
	for (unsigned b = 0; b < grid; b++)
		for (unsigned t = 0; t < EMU_BLOCK; t++) {
			g->block->x = b;
			g->thread->x = t;
			g->kern[kernel]((long long)B, *p, site);
		}
	return 0;
}

int rt_gpu_matmul(RtState *st, float *out, const float *a, const float *b, int rank_a, const int64_t *dims_a,
                  int rank_b, const int64_t *dims_b, int ta, int tb, int reduce, int site)
{
	(void)st;
	RtGemm one[4];
	int n;
	RtGemm *plan = rt_gemm_plan_for(one, 4, &n, rank_a, dims_a, rank_b, dims_b, ta, tb, reduce, site);
	if (!plan)
		return 1;
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
	if (plan != one)
		free(plan);
	return 0;
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
