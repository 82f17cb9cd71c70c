/* gpu_cuda.c: gpu.h on an NVIDIA GPU, through the CUDA runtime, NVRTC and cuBLAS.
 *
 * At open: the first device is taken, or under an MPI launcher the local rank's (modulo the
 * devices: one GPU a rank, over which gpu_nccl.c sums with NCCL); the kernel source is
 * compiled by NVRTC to a cubin for the device's architecture, or read from the cache
 * (runtime/gpu/gpu_plan.c), keyed by the source's hash, the architecture, NVRTC's version and
 * the options; the slabs are one device allocation each, as the memory plan says; cuBLAS
 * gets the trainer's stream and a fixed workspace, so that the step can be captured. Each function's device work is
 * captured once per batch size as a CUDA graph and replayed (MAEC_GRAPHS=0 launches it
 * directly). Every CUDA, cuBLAS and NVRTC call is checked; a failure prints the call, this
 * file's line and, where there is one, the op and DSL line it ran for.
 *
 * MAEC_PROFILE=1 times every launch, GEMM and copy with CUDA events (graphs off) and prints,
 * when the trainer ends, the time per step of each op kind and of the costliest sites,
 * leaving out each site's first run: beside each site its measured time, the compiler's
 * estimate (codegen/cost.c, in the generated site_costs table) and the achieved GB/s and
 * TFLOP/s; and the wall time per function run (host work, the launches, the wait) beside
 * its device time, so that the host's gaps show. MAEC_PROFILE_OUT=FILE writes every site's
 * comparison there as CSV (tests/gpu/run.sh keeps it under bench/results/).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nvrtc.h>

#include "gpu/gpu.h"
#include "gpu/gpu_nccl.h"

enum { GRAPHS_PER_FUNC = 4, WORKSPACE = 32 << 20 };

typedef struct Graph {
	int64_t B;
	cudaGraphExec_t exec;
} Graph;

typedef struct RtGpu {
	RtGpuSlabs s; /* first: gpu_plan.c's accessors read it */
	int device, sms;
	cudaStream_t stream;
	cublasHandle_t blas;
	cublasComputeType_t compute;
	void *workspace;
	cudaLibrary_t lib;
	cudaKernel_t *kern;
	int *error; /* the module's maec_error */
	bool graphs;
	Graph *graph; /* GRAPHS_PER_FUNC per function */
	/* MAEC_PROFILE: event pairs of the work in flight, and per site its total time */
	bool profile;
	cudaEvent_t *ev;
	int *ev_site, nev, cap_ev;
	double *site_ms;
	int64_t *site_calls;
	bool *site_seen;
	int64_t *site_B;  /* the batch each site last ran at */
	int precision;    /* RtPrecision: which of the estimates applies */
	int64_t run_B;    /* the batch of the function in flight */
	/* wall time from one function's end (rt_gpu_finish) to the next's, and the device
	 * time of the events in between, over the runs counted (no site seen first) */
	double wall_ms, dev_ms, last_end;
	int64_t runs;
	RtGpuDp *dp; /* data parallelism: NULL unless run by an MPI launcher */
} RtGpu;

static RtGpu *gpu(RtState *st)
{
	return st->dev;
}

/* MAEC_PROFILE: an event before a site's work; prof_end records the one after. */
static void prof_begin(RtGpu *g)
{
	if (!g->profile)
		return;
	if (g->nev + 2 > g->cap_ev) {
		int cap = g->cap_ev ? 2 * g->cap_ev : 4096;
		cudaEvent_t *ev = realloc(g->ev, sizeof *ev * (size_t)cap);
		int *site = realloc(g->ev_site, sizeof *site * (size_t)cap);
		if (!ev || !site) {
			free(ev);
			free(site);
			g->profile = false;
			return;
		}
		for (int i = g->cap_ev; i < cap; i++)
			cudaEventCreate(&ev[i]);
		g->ev = ev;
		g->ev_site = site;
		g->cap_ev = cap;
	}
	cudaEventRecord(g->ev[g->nev++], g->stream);
}

static void prof_end(RtGpu *g, int site)
{
	if (!g->profile || g->nev == 0)
		return;
	g->ev_site[g->nev] = site;
	cudaEventRecord(g->ev[g->nev++], g->stream);
}

static double wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* After a synchronisation: the event pairs' times into the sites' totals, and this
 * function run's wall time since the previous one ended beside its device time. */
static void prof_collect(RtGpu *g)
{
	double end = wall_now_ms(), dev = 0;
	bool first = false;
	for (int i = 0; g->profile && i + 1 < g->nev; i += 2) {
		float ms = 0;
		int site = g->ev_site[i + 1];
		if (cudaEventElapsedTime(&ms, g->ev[i], g->ev[i + 1]) != cudaSuccess || site < 0 ||
		    site >= rt_gpu_program.nsites)
			continue;
		if (!g->site_seen[site]) { /* a site's first run pays for loading cuBLAS's kernels */
			g->site_seen[site] = true;
			first = true;
			continue;
		}
		g->site_ms[site] += ms;
		g->site_calls[site]++;
		g->site_B[site] = g->run_B;
		dev += ms;
	}
	if (!first && g->last_end > 0 && g->nev > 0) {
		g->wall_ms += end - g->last_end;
		g->dev_ms += dev;
		g->runs++;
	}
	g->last_end = end;
	g->nev = 0;
}

/* A site's estimate when it ran at the batch it was estimated for, else -1. */
static double site_estimate_us(const RtGpu *g, int site)
{
	const RtGpuSiteCost *c = rt_gpu_program.site_costs ? &rt_gpu_program.site_costs[site] : NULL;
	if (!c || c->batch == 0 || c->batch != g->site_B[site])
		return -1;
	return c->est_us[g->precision];
}

/* MAEC_PROFILE_OUT: every site measured, as CSV. */
static void prof_csv(const RtGpu *g, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "trainer: MAEC_PROFILE_OUT: cannot write '%s'\n", path);
		return;
	}
	fprintf(f, "site,where,calls,batch,measured_us,estimated_us,bytes,flops,achieved_gbs,achieved_tflops\n");
	for (int i = 0; i < rt_gpu_program.nsites; i++) {
		if (!g->site_calls[i])
			continue;
		const RtGpuSiteCost *c = rt_gpu_program.site_costs ? &rt_gpu_program.site_costs[i] : NULL;
		double us = 1e3 * g->site_ms[i] / (double)g->site_calls[i], est = site_estimate_us(g, i);
		double bytes = c ? c->bytes : 0, flops = c ? c->flops : 0;
		fprintf(f, "%d,\"%s\",%lld,%lld,%.3f,%.3f,%.0f,%.0f,%.1f,%.3f\n", i, rt_gpu_program.sites[i],
		        (long long)g->site_calls[i], (long long)g->site_B[i], us, est, bytes, flops, us > 0 ? bytes / us / 1e3 : 0,
		        us > 0 ? flops / us / 1e6 : 0);
	}
	fclose(f);
}

static int cmp_ms_desc(const void *a, const void *b)
{
	const double *x = *(const double *const *)a, *y = *(const double *const *)b;
	return *x < *y ? 1 : *x > *y ? -1 : 0;
}

/* The report: time per op kind (the site's first word) and the 15 costliest sites. */
static void prof_report(RtGpu *g)
{
	const RtGpuProgram *gp = &rt_gpu_program;
	int n = gp->nsites;
	double total = 0;
	for (int i = 0; i < n; i++)
		total += g->site_ms[i];
	if (total <= 0)
		return;
	double *kind_ms = calloc((size_t)n, sizeof *kind_ms), **order = calloc((size_t)n, sizeof *order);
	int64_t *kind_calls = calloc((size_t)n, sizeof *kind_calls);
	const char **kind = calloc((size_t)n, sizeof *kind);
	if (!kind_ms || !order || !kind_calls || !kind)
		goto done;
	int nk = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strcspn(gp->sites[i], " ");
		int k = 0;
		while (k < nk && !(strcspn(kind[k], " ") == len && strncmp(kind[k], gp->sites[i], len) == 0))
			k++;
		if (k == nk)
			kind[nk++] = gp->sites[i];
		kind_ms[k] += g->site_ms[i];
		kind_calls[k] += g->site_calls[i];
	}
	/* every site runs once per micro-batch but the update's, once per step: with batch =
	 * micro-batch, the most frequent site's count is the number of steps */
	int64_t steps = 1;
	for (int i = 0; i < n; i++)
		steps = g->site_calls[i] > steps ? g->site_calls[i] : steps;
	printf("\nprofile (MAEC_PROFILE): %.2f ms of device work per micro-batch (its step and update), over %lld\n",
	       total / (double)steps, (long long)steps);
	for (int k = 0; k < nk; k++)
		order[k] = &kind_ms[k];
	qsort(order, (size_t)nk, sizeof *order, cmp_ms_desc);
	printf("  %-22s %10s %7s %9s\n", "op", "ms", "share", "calls");
	for (int j = 0; j < nk && *order[j] > 0; j++) {
		int k = (int)(order[j] - kind_ms);
		printf("  %-22.*s %10.3f %6.1f%% %9lld\n", (int)strcspn(kind[k], " "), kind[k], kind_ms[k] / (double)steps,
		       100 * kind_ms[k] / total, (long long)(kind_calls[k] / steps));
	}
	for (int i = 0; i < n; i++)
		order[i] = &g->site_ms[i];
	qsort(order, (size_t)n, sizeof *order, cmp_ms_desc);
	printf("  the costliest sites (per call: measured, the compiler's estimate, achieved rates):\n");
	for (int j = 0; j < n && j < 15 && *order[j] > 0; j++) {
		int i = (int)(order[j] - g->site_ms);
		double us = 1e3 * g->site_ms[i] / (double)(g->site_calls[i] ? g->site_calls[i] : 1), est = site_estimate_us(g, i);
		const RtGpuSiteCost *c = gp->site_costs ? &gp->site_costs[i] : NULL;
		printf("  %10.3f ms  %9.1f us, estimate ", g->site_ms[i] / (double)steps, us);
		if (est >= 0)
			printf("%9.1f us", est);
		else
			printf("%12s", "-");
		printf(", %7.1f GB/s %7.2f TFLOP/s  %s\n", c && us > 0 ? c->bytes / us / 1e3 : 0,
		       c && us > 0 ? c->flops / us / 1e6 : 0, gp->sites[i]);
	}
	if (g->runs) /* the runs counted are those of the steps counted */
		printf("  wall time per micro-batch %.3f ms (%lld function runs in all), device time %.3f ms: %.3f ms of "
		       "host work and gaps between the device's work\n",
		       g->wall_ms / (double)steps, (long long)g->runs, g->dev_ms / (double)steps,
		       (g->wall_ms - g->dev_ms) / (double)steps);
	const char *csv = getenv("MAEC_PROFILE_OUT");
	if (csv && *csv)
		prof_csv(g, csv);
done:
	free(kind_ms);
	free(order);
	free(kind_calls);
	free(kind);
}

static const char *at_site(int site)
{
	return site >= 0 ? rt_gpu_site(site) : "";
}

static int cuda_fail(cudaError_t e, const char *call, int line, int site)
{
	fprintf(stderr, "trainer: %s%s%s (runtime/gpu/gpu_cuda.c:%d): %s: %s\n", at_site(site), site >= 0 ? ": " : "", call,
	        line, cudaGetErrorName(e), cudaGetErrorString(e));
	return 1;
}

static int blas_fail(cublasStatus_t e, const char *call, int line, int site)
{
	fprintf(stderr, "trainer: %s%s%s (runtime/gpu/gpu_cuda.c:%d): %s\n", at_site(site), site >= 0 ? ": " : "", call, line,
	        cublasGetStatusString(e));
	return 1;
}

static int nvrtc_fail(nvrtcResult e, const char *call, int line)
{
	fprintf(stderr, "trainer: %s (runtime/gpu/gpu_cuda.c:%d): %s\n", call, line, nvrtcGetErrorString(e));
	return 1;
}

/* Each returns nonzero from the enclosing function after printing the failure. */
#define CU(call, site)                                                                                                 \
	do {                                                                                                               \
		cudaError_t e_ = (call);                                                                                       \
		if (e_ != cudaSuccess)                                                                                         \
			return cuda_fail(e_, #call, __LINE__, site);                                                               \
	} while (0)
#define BLAS(call, site)                                                                                               \
	do {                                                                                                               \
		cublasStatus_t e_ = (call);                                                                                    \
		if (e_ != CUBLAS_STATUS_SUCCESS)                                                                               \
			return blas_fail(e_, #call, __LINE__, site);                                                               \
	} while (0)
#define NVRTC(call)                                                                                                    \
	do {                                                                                                               \
		nvrtcResult e_ = (call);                                                                                       \
		if (e_ != NVRTC_SUCCESS)                                                                                       \
			return nvrtc_fail(e_, #call, __LINE__);                                                                    \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* NVRTC on the kernel source for sm_<arch>, with ptxas's resource report when `report`:
 * its log in *log (malloc'd, NULL when empty) and, when cubin is not NULL and it compiled,
 * the cubin in *cubin (malloc'd). Returns NVRTC's status of the compilation, or of the
 * first call that failed. */
static nvrtcResult nvrtc_run(const char *src, int arch, bool report, char **log, char **cubin, size_t *n)
{
	*log = NULL;
	nvrtcProgram prog;
	nvrtcResult rc = nvrtcCreateProgram(&prog, src, "maec_kernels.cu", 0, NULL, NULL);
	if (rc != NVRTC_SUCCESS)
		return rc;
	char arch_opt[64];
	snprintf(arch_opt, sizeof arch_opt, "--gpu-architecture=sm_%d", arch);
	/* the toolkit's headers (mma.h, for the attention kernels' tiles), where maec was built */
	const char *opts[] = {arch_opt, "--std=c++17", "-I" MAEC_CUDA_INCLUDE, "--ptxas-options=-v"};
	rc = nvrtcCompileProgram(prog, report ? 4 : 3, opts);
	size_t log_n = 0;
	if (nvrtcGetProgramLogSize(prog, &log_n) == NVRTC_SUCCESS && log_n > 1 && (*log = calloc(log_n + 1, 1)))
		nvrtcGetProgramLog(prog, *log);
	if (rc == NVRTC_SUCCESS && cubin) {
		rc = nvrtcGetCUBINSize(prog, n);
		if (rc == NVRTC_SUCCESS && !(*cubin = malloc(*n)))
			rc = NVRTC_ERROR_OUT_OF_MEMORY;
		if (rc == NVRTC_SUCCESS)
			rc = nvrtcGetCUBIN(prog, *cubin);
	}
	nvrtcDestroyProgram(&prog);
	return rc;
}

/* NVRTC: the kernel source to a cubin for sm_<arch> (malloc'd in *out). */
static int nvrtc_compile(const char *src, int arch, char **out, size_t *n)
{
	char *log;
	*out = NULL;
	nvrtcResult rc = nvrtc_run(src, arch, false, &log, out, n);
	if (log)
		fprintf(stderr, "trainer: NVRTC says:\n%s\n", log);
	free(log);
	if (rc != NVRTC_SUCCESS) {
		free(*out);
		return nvrtc_fail(rc, "compiling the kernels", __LINE__);
	}
	return 0;
}

/* The kernels for the device: the cached cubin, or compiled and cached. */
static int load_kernels(RtGpu *g, const RtGpuProgram *gp, int arch)
{
	int major = 0, minor = 0;
	NVRTC(nvrtcVersion(&major, &minor));
	uint64_t h = rt_hash(RT_HASH_INIT, gp->kernels, strlen(gp->kernels));
	int key[4] = {arch, major, minor, 2 /* options */};
	h = rt_hash(h, key, sizeof key);
	char *dir = rt_cache_dir();
	char *path = dir ? rt_format("%s/%016llx-sm%d.cubin", dir, (unsigned long long)h, arch) : NULL;
	free(dir);
	size_t n = 0;
	char *cubin = path ? rt_cache_read(path, &n) : NULL;
	double t0 = now_s();
	if (!cubin) {
		if (nvrtc_compile(gp->kernels, arch, &cubin, &n)) {
			free(path);
			return 1;
		}
		printf("compiled %d kernels for sm_%d with NVRTC %d.%d in %.1f s%s%s\n", gp->nkernels, arch, major, minor,
		       now_s() - t0, path ? "; cached in " : "", path ? path : "");
		if (path && rt_cache_write(path, cubin, n))
			fprintf(stderr, "trainer: note: cannot write the kernel cache '%s'\n", path);
	} else {
		printf("loaded %d kernels for sm_%d from the cache %s\n", gp->nkernels, arch, path);
	}
	free(path);
	cudaError_t e = cudaLibraryLoadData(&g->lib, cubin, NULL, NULL, 0, NULL, NULL, 0);
	free(cubin);
	if (e != cudaSuccess)
		return cuda_fail(e, "cudaLibraryLoadData", __LINE__, -1);
	g->kern = calloc((size_t)gp->nkernels + 1, sizeof *g->kern);
	if (!g->kern)
		return 1;
	for (int i = 0; i < gp->nkernels; i++)
		CU(cudaLibraryGetKernel(&g->kern[i], g->lib, gp->kernel_names[i]), -1);
	size_t bytes = 0;
	CU(cudaLibraryGetGlobal((void **)&g->error, &bytes, g->lib, "maec_error"), -1);
	int *precision = NULL;
	CU(cudaLibraryGetGlobal((void **)&precision, &bytes, g->lib, "maec_precision"), -1);
	const int prec = (int)g->precision;
	CU(cudaMemcpy(precision, &prec, sizeof prec, cudaMemcpyHostToDevice), -1);
	return 0;
}

static int cuda_open(RtState *st, const RtProgram *p)
{
	const RtGpuProgram *gp = &rt_gpu_program;
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess || count == 0) {
		fprintf(stderr,
		        "trainer: no CUDA device found (%s); this trainer needs an NVIDIA GPU. Build the C trainer "
		        "(maec FILE.dsl -o NAME) to train on the CPU.\n",
		        e != cudaSuccess ? cudaGetErrorString(e) : "none present");
		return 1;
	}
	RtGpu *g = calloc(1, sizeof *g);
	if (!g)
		return 1;
	st->dev = g;
	g->device = st->comm ? rt_comm_local_rank(st->comm) % count : 0;
	CU(cudaSetDevice(g->device), -1);
	struct cudaDeviceProp prop;
	CU(cudaGetDeviceProperties(&prop, g->device), -1);
	g->sms = prop.multiProcessorCount;
	static const char *const precision[] = {"fp32", "tf32", "bf16"};
	printf("device: %s (", prop.name);
	if (st->comm && rt_comm_mpi(st->comm))
		printf("GPU %d for rank %d, ", g->device, rt_comm_rank(st->comm));
	printf("sm_%d%d, %d SMs, %.1f GiB), matrix products in %s\n", prop.major, prop.minor, g->sms,
	       (double)prop.totalGlobalMem / (1 << 30), precision[st->precision]);
	g->precision = st->precision;
	if (load_kernels(g, gp, prop.major * 10 + prop.minor))
		return 1;
	CU(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking), -1);
	size_t n[4] = {(size_t)p->params_numel, (size_t)p->state_numel, (size_t)p->state_numel, (size_t)p->state_numel};
	for (int i = 0; i < 4; i++) {
		g->s.slab_n[i] = n[i];
		CU(cudaMalloc((void **)&g->s.slab[i], sizeof(float) * (n[i] ? n[i] : 1)), -1);
	}
	size_t act = (size_t)gp->act_bytes;
	CU(cudaMalloc((void **)&g->s.act, act ? act : 1), -1);
	CU(cudaMalloc((void **)&g->s.io, gp->io_bytes ? (size_t)gp->io_bytes : 1), -1);
	CU(cudaMalloc((void **)&g->s.scratch, gp->scratch_bytes ? (size_t)gp->scratch_bytes : 1), -1);
	CU(cudaMalloc(&g->workspace, WORKSPACE), -1);
	BLAS(cublasCreate(&g->blas), -1);
	BLAS(cublasSetStream(g->blas, g->stream), -1);
	BLAS(cublasSetWorkspace(g->blas, g->workspace, WORKSPACE), -1);
	g->compute = st->precision == RT_TF32   ? CUBLAS_COMPUTE_32F_FAST_TF32
	             : st->precision == RT_BF16 ? CUBLAS_COMPUTE_32F_FAST_16BF
	                                        : CUBLAS_COMPUTE_32F;
	const char *graphs = getenv("MAEC_GRAPHS");
	const char *profile = getenv("MAEC_PROFILE");
	g->profile = profile && strcmp(profile, "1") == 0;
	g->graphs = !(graphs && strcmp(graphs, "0") == 0) && !g->profile;
	g->site_ms = calloc((size_t)gp->nsites + 1, sizeof *g->site_ms);
	g->site_calls = calloc((size_t)gp->nsites + 1, sizeof *g->site_calls);
	g->site_seen = calloc((size_t)gp->nsites + 1, sizeof *g->site_seen);
	g->site_B = calloc((size_t)gp->nsites + 1, sizeof *g->site_B);
	if (!g->site_ms || !g->site_calls || !g->site_seen || !g->site_B)
		return 1;
	g->graph = calloc((size_t)(gp->ngraphs ? gp->ngraphs : 1) * GRAPHS_PER_FUNC, sizeof *g->graph);
	if (!g->graph)
		return 1;
	int zero = 0;
	CU(cudaMemcpy(g->error, &zero, sizeof zero, cudaMemcpyHostToDevice), -1);
	double mib = 1.0 / (1 << 20), state = (double)(n[0] + 3 * n[1]) * sizeof(float);
	printf("device memory: %.1f MiB (activations %.1f, parameters and optimizer state %.1f, inputs %.1f, "
	       "reduction scratch %.1f, cuBLAS workspace %.1f)\n",
	       ((double)act + state + (double)gp->io_bytes + (double)gp->scratch_bytes + WORKSPACE) * mib, (double)act * mib,
	       state * mib, (double)gp->io_bytes * mib, (double)gp->scratch_bytes * mib, (double)WORKSPACE * mib);
	return 0;
}

static int copy_slabs(RtState *st, bool to_device)
{
	RtGpu *g = gpu(st);
	float *host[4] = {st->params, st->grad, st->m, st->v};
	for (int i = 0; i < 4; i++)
		CU(cudaMemcpy(to_device ? (void *)g->s.slab[i] : (void *)host[i], to_device ? (void *)host[i] : (void *)g->s.slab[i],
		              sizeof(float) * g->s.slab_n[i], to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost),
		   -1);
	return 0;
}

static int cuda_push(RtState *st)
{
	CU(cudaStreamSynchronize(gpu(st)->stream), -1);
	return copy_slabs(st, true);
}

static int cuda_pull(RtState *st)
{
	CU(cudaStreamSynchronize(gpu(st)->stream), -1);
	return copy_slabs(st, false);
}

static void cuda_close(RtState *st)
{
	RtGpu *g = gpu(st);
	if (!g)
		return;
	cudaStreamSynchronize(g->stream);
	rt_gpu_dp_close(g->dp);
	if (g->profile)
		prof_report(g);
	for (int i = 0; i < g->cap_ev; i++)
		cudaEventDestroy(g->ev[i]);
	free(g->ev);
	free(g->ev_site);
	free(g->site_ms);
	free(g->site_calls);
	free(g->site_seen);
	free(g->site_B);
	for (int i = 0; i < rt_gpu_program.ngraphs * GRAPHS_PER_FUNC && g->graph; i++)
		if (g->graph[i].exec)
			cudaGraphExecDestroy(g->graph[i].exec);
	free(g->graph);
	if (g->blas)
		cublasDestroy(g->blas);
	for (int i = 0; i < 4; i++)
		cudaFree(g->s.slab[i]);
	cudaFree(g->s.act);
	cudaFree(g->s.io);
	cudaFree(g->s.scratch);
	cudaFree(g->workspace);
	if (g->lib)
		cudaLibraryUnload(g->lib);
	free(g->kern);
	if (g->stream)
		cudaStreamDestroy(g->stream);
	free(g);
	st->dev = NULL;
}

/* `trainer kernels`: the kernels through NVRTC for each --arch (default sm_80 and
 * sm_90), without a device, with ptxas's report of each kernel's registers, stack frame
 * and spills. Any error or warning fails. */
typedef struct KernelInfo {
	char name[128];
	int regs, stack, spill_st, spill_ld;
} KernelInfo;

static KernelInfo *info_of(KernelInfo *k, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(k[i].name, name) == 0)
			return &k[i];
	return NULL;
}

/* The text between the first pair of quotes (or up to the line's end) after `key`. */
static int name_after(const char *line, const char *key, char *out, size_t cap)
{
	const char *s = strstr(line, key);
	if (!s)
		return 0;
	s += strlen(key);
	while (*s == ' ' || *s == '\'')
		s++;
	size_t n = 0;
	while (s[n] && s[n] != '\'' && s[n] != '\n' && s[n] != ' ' && n + 1 < cap)
		n++;
	memcpy(out, s, n);
	out[n] = 0;
	return n > 0;
}

static int kernels_for(int arch, bool verbose)
{
	const RtGpuProgram *gp = &rt_gpu_program;
	char *log;
	double t0 = now_s();
	nvrtcResult rc = nvrtc_run(gp->kernels, arch, true, &log, NULL, NULL);
	double dt = now_s() - t0;
	KernelInfo *k = calloc((size_t)gp->nkernels + 1, sizeof *k);
	int nk = 0, warnings = 0;
	KernelInfo *cur = NULL;
	for (char *line = log; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		char name[128];
		if (strstr(line, "warning") || strstr(line, "error")) {
			warnings += strstr(line, "warning") != NULL;
			fprintf(stderr, "sm_%d: %s\n", arch, line);
		} else if (k && (name_after(line, "Compiling entry function", name, sizeof name) ||
		                 name_after(line, "Function properties for", name, sizeof name))) {
			cur = info_of(k, nk, name);
			if (!cur && nk < gp->nkernels + 1) {
				cur = &k[nk++];
				snprintf(cur->name, sizeof cur->name, "%s", name);
			}
		} else if (cur) {
			const char *u = strstr(line, "Used ");
			if (u)
				sscanf(u, "Used %d registers", &cur->regs);
			const char *f = strstr(line, "bytes stack frame");
			if (f)
				sscanf(line, " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &cur->stack,
				       &cur->spill_st, &cur->spill_ld);
		}
		line = end ? end + 1 : NULL;
	}
	free(log);
	if (rc != NVRTC_SUCCESS) {
		free(k);
		fprintf(stderr, "trainer: sm_%d: NVRTC failed: %s\n", arch, nvrtcGetErrorString(rc));
		return 1;
	}
	int max_regs = 0, spilling = 0, stack = 0;
	const char *widest = "";
	for (int i = 0; i < nk; i++) {
		if (k[i].regs > max_regs) {
			max_regs = k[i].regs;
			widest = k[i].name;
		}
		spilling += k[i].spill_st + k[i].spill_ld > 0;
		stack += k[i].stack > 0;
		if (verbose)
			printf("  sm_%d %-32s %3d registers, %4d bytes stack, %4d/%4d bytes spilled (stores/loads)\n", arch,
			       k[i].name, k[i].regs, k[i].stack, k[i].spill_st, k[i].spill_ld);
	}
	printf("sm_%d: %d of %d kernels compiled by NVRTC in %.1f s; registers at most %d (%s); %d with a stack frame, "
	       "%d spilling; %d warnings\n",
	       arch, nk, gp->nkernels, dt, max_regs, widest, stack, spilling, warnings);
	free(k);
	return nk == gp->nkernels && warnings == 0 ? 0 : 1;
}

static int cuda_kernels(int argc, char **argv)
{
	int arch[16], narch = 0;
	bool verbose = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
			continue;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (strncmp(v, "sm_", 3) == 0)
			v += 3;
		char *end;
		long a = strtol(v, &end, 10);
		if (strcmp(argv[i], "--arch") || end == v || *end || a < 50 || a > 200 || narch == 16) {
			fprintf(stderr, "trainer: kernels takes --arch N (e.g. 90 or sm_90, up to 16 of them) and -v; got '%s'\n",
			        argv[i]);
			return 2;
		}
		arch[narch++] = (int)a;
		i++;
	}
	if (!narch) {
		arch[narch++] = 80;
		arch[narch++] = 90;
	}
	int failed = 0;
	for (int i = 0; i < narch; i++)
		failed |= kernels_for(arch[i], verbose);
	return failed;
}

/* dp_open: one GPU a rank (open took the local rank's), the sums on the trainer's stream. */
static int cuda_dp_open(RtState *st)
{
	RtGpu *g = gpu(st);
	int count = 0;
	CU(cudaGetDeviceCount(&count), -1);
	if (rt_comm_local_size(st->comm) > count) {
		fprintf(stderr, "trainer: %d ranks on this machine but %d GPUs: data parallelism takes one GPU a rank\n",
		        rt_comm_local_size(st->comm), count);
		return 1;
	}
	return !(g->dp = rt_gpu_dp_open(st->comm, (RtCudaStream *)g->stream));
}

static int cuda_dp_allreduce(RtState *st, int which, int64_t off, int64_t n)
{
	return rt_gpu_dp_allreduce(gpu(st)->dp, st, which, off, n);
}

const RtDevice rt_gpu_device = {"cuda",     cuda_open,    cuda_push,   cuda_pull,
                                cuda_close, cuda_kernels, cuda_dp_open, cuda_dp_allreduce};

/* Kernel `kernel` over grid x RT_GPU_BLOCK threads on the trainer's stream. */
static int launch(RtGpu *g, int kernel, unsigned grid_x, int64_t B, const RtPtrs *p, int site)
{
	long long b = (long long)B;
	RtPtrs ptrs = *p;
	void *args[] = {&b, &ptrs, &site};
	dim3 grid = {grid_x, 1, 1}, block = {RT_GPU_BLOCK, 1, 1};
	prof_begin(g);
	CU(cudaLaunchKernel((const void *)g->kern[kernel], grid, block, args, 0, g->stream), site);
	prof_end(g, site);
	return 0;
}

int rt_gpu_launch(RtState *st, int kernel, int64_t threads, int64_t B, const RtPtrs *p, int site)
{
	RtGpu *g = gpu(st);
	return threads <= 0 ? 0 : launch(g, kernel, rt_gpu_grid(threads, g->sms), B, p, site);
}

int rt_gpu_launch_blocks(RtState *st, int kernel, int64_t blocks, int64_t B, const RtPtrs *p, int site)
{
	if (blocks <= 0)
		return 0;
	unsigned grid = rt_gpu_blocks(blocks, site);
	return grid ? launch(gpu(st), kernel, grid, B, p, site) : 1;
}

int rt_gpu_matmul(RtState *st, void *out, const void *a, const void *b, int types, int rank_a, const int64_t *dims_a,
                  int rank_b, const int64_t *dims_b, int ta, int tb, int reduce, int accumulate, int site)
{
	RtGpu *g = gpu(st);
	RtGemm one[4];
	int n;
	RtGemm *plan = rt_gemm_plan_for(one, 4, &n, rank_a, dims_a, rank_b, dims_b, ta, tb, reduce, accumulate, site);
	if (!plan)
		return 1;
	/* bf16 operands: bf16 tensor-core products, accumulated in fp32 (CUBLAS_COMPUTE_32F) */
	const bool in16 = types & RT_GEMM_BF16_IN, out16 = types & RT_GEMM_BF16_OUT;
	const cudaDataType_t in_t = in16 ? CUDA_R_16BF : CUDA_R_32F, out_t = out16 ? CUDA_R_16BF : CUDA_R_32F;
	const size_t in_size = in16 ? 2 : 4, out_size = out16 ? 2 : 4;
	const cublasComputeType_t compute = in16 ? CUBLAS_COMPUTE_32F : g->compute;
	const float one_f = 1.0f;
	int rc = 0;
	prof_begin(g);
	for (int i = 0; i < n && !rc; i++) {
		const RtGemm *e = &plan[i];
		char *C = (char *)out + out_size * (size_t)e->off_c;
		if (e->k == 0) { /* nothing to add: C = beta C, and beta is 0 or 1 */
			if (e->beta == 0 && e->ldc == e->m)
				rc = cudaMemsetAsync(C, 0, out_size * (size_t)(e->m * e->n * (e->stride_c ? e->count : 1)),
				                     g->stream) != cudaSuccess;
			continue;
		}
		cublasStatus_t s = cublasGemmStridedBatchedEx(
			g->blas, e->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, e->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, (int)e->m,
			(int)e->n, (int)e->k, &one_f, (const char *)b + in_size * (size_t)e->off_a, in_t, (int)e->lda,
			e->stride_a, (const char *)a + in_size * (size_t)e->off_b, in_t, (int)e->ldb, e->stride_b, &e->beta, C,
			out_t, (int)e->ldc, e->stride_c, (int)e->count, compute, CUBLAS_GEMM_DEFAULT);
		if (s != CUBLAS_STATUS_SUCCESS)
			rc = blas_fail(s, "cublasGemmStridedBatchedEx", __LINE__, site);
	}
	prof_end(g, site);
	if (plan != one)
		free(plan);
	return rc;
}

int rt_gpu_to_device(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	/* from pageable memory: returns once src has been staged, so it may be reused */
	CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, gpu(st)->stream), site);
	return 0;
}

int rt_gpu_copy(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	prof_begin(gpu(st));
	CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, gpu(st)->stream), site);
	prof_end(gpu(st), site);
	return 0;
}

int rt_gpu_to_host(RtState *st, void *dst, const void *src, size_t bytes, int site)
{
	CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, gpu(st)->stream), site);
	CU(cudaStreamSynchronize(gpu(st)->stream), site);
	return 0;
}

int rt_gpu_run(RtState *st, int graph, int64_t B, int (*fn)(RtState *st, int64_t B))
{
	RtGpu *g = gpu(st);
	g->run_B = B;
	if (!g->graphs)
		return fn(st, B);
	Graph *slot = NULL, *mine = g->graph + graph * GRAPHS_PER_FUNC;
	for (int i = 0; i < GRAPHS_PER_FUNC && !slot; i++)
		if (mine[i].exec && mine[i].B == B)
			slot = &mine[i];
	if (!slot) {
		for (int i = 0; i < GRAPHS_PER_FUNC && !slot; i++)
			if (!mine[i].exec)
				slot = &mine[i];
		if (!slot) /* every slot taken by other batch sizes: launch directly */
			return fn(st, B);
		cudaGraph_t captured;
		CU(cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal), -1);
		int rc = fn(st, B);
		cudaError_t e = cudaStreamEndCapture(g->stream, &captured);
		if (rc)
			return rc;
		if (e != cudaSuccess)
			return cuda_fail(e, "cudaStreamEndCapture", __LINE__, -1);
		e = cudaGraphInstantiate(&slot->exec, captured, 0);
		cudaGraphDestroy(captured);
		if (e != cudaSuccess)
			return cuda_fail(e, "cudaGraphInstantiate", __LINE__, -1);
		slot->B = B;
	}
	CU(cudaGraphLaunch(slot->exec, g->stream), -1);
	return 0;
}

int rt_gpu_finish(RtState *st)
{
	RtGpu *g = gpu(st);
	int e = 0;
	CU(cudaMemcpyAsync(&e, g->error, sizeof e, cudaMemcpyDeviceToHost, g->stream), -1);
	CU(cudaStreamSynchronize(g->stream), -1);
	if (g->profile)
		prof_collect(g);
	if (!e)
		return 0;
	int zero = 0;
	CU(cudaMemcpy(g->error, &zero, sizeof zero, cudaMemcpyHostToDevice), -1);
	fprintf(stderr, "trainer: %s: index out of range in the data\n", rt_gpu_site(e - 1));
	return 1;
}
