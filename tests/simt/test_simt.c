/* test_simt.c: the block-level emulator (runtime/gpu/simt.c) on the kernels of kernels.cu:
 * the good ones against plain C, the broken ones for a failed launch whose message names
 * the kernel and what went wrong.
 *
 * usage: test_simt KERNELS.cu
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/simt.h"
#include "source.h"

static int passed, failed;
static Simt *mod;

static void verdict(int ok, const char *name, const char *fmt, double err)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s %-28s ", ok ? "ok  " : "FAIL", name);
	printf(fmt, err);
	printf("\n");
}

/* Runs kernel `name`; 0 when the launch succeeded. */
static int launch(const char *name, SimtDim grid, SimtDim block, size_t dyn, long long B, void *const *ptrs, int n)
{
	RtPtrs p = {{0}};
	for (int i = 0; i < n; i++)
		p.p[i] = ptrs[i];
	SimtKernel k;
	void *sym = simt_symbol(mod, name);
	if (!sym) {
		printf("FAIL %s: no such kernel\n", name);
		failed++;
		return -1;
	}
	memcpy(&k, &sym, sizeof sym);
	return simt_launch(mod, name, k, grid, block, dyn, B, &p, 0);
}

/* A good kernel: its launch must succeed. */
static int good(const char *name, SimtDim grid, SimtDim block, size_t dyn, long long B, void *const *ptrs, int n)
{
	int rc = launch(name, grid, block, dyn, B, ptrs, n);
	if (rc > 0) {
		printf("FAIL %s: %s\n", name, simt_error(mod));
		failed++;
	}
	return rc == 0;
}

/* Max |got - want| / (atol + rtol |want|) over n floats: at most 1 passes. */
static double worst(const float *got, const float *want, int n, double atol, double rtol)
{
	double w = 0;
	for (int i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
		if (!(e <= w)) /* NaN counts */
			w = isnan(e) ? INFINITY : e;
	}
	return w;
}

static float uniform(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)((*s >> 8) / 16777216.0 * 2 - 1);
}

static void test_reverse(void)
{
	enum { N = 4 * 256 };
	float in[N], out[N], want[N];
	unsigned s = 1;
	for (int i = 0; i < N; i++)
		in[i] = uniform(&s);
	for (int b = 0; b < 4; b++)
		for (int t = 0; t < 256; t++)
			want[b * 256 + t] = in[b * 256 + 255 - t];
	void *p[] = {out, in};
	if (good("block_reverse", (SimtDim){4, 1, 1}, (SimtDim){256, 1, 1}, 0, N, p, 2))
		verdict(memcmp(out, want, sizeof out) == 0, "block_reverse", "exact: %.0f", 0);
}

static void test_sum(void)
{
	enum { BLOCKS = 6, N = 16 * 8 };
	float in[BLOCKS * N], out[BLOCKS], want[BLOCKS];
	unsigned s = 2;
	for (int i = 0; i < BLOCKS * N; i++)
		in[i] = uniform(&s);
	for (int b = 0; b < BLOCKS; b++) { /* the tree's order */
		float part[N];
		memcpy(part, in + b * N, sizeof part);
		for (int h = N / 2; h > 0; h /= 2)
			for (int t = 0; t < h; t++)
				part[t] += part[t + h];
		want[b] = part[0];
	}
	void *p[] = {out, in};
	if (good("block_sum", (SimtDim){BLOCKS, 1, 1}, (SimtDim){16, 8, 1}, N * sizeof(float), N, p, 2))
		verdict(memcmp(out, want, sizeof out) == 0, "block_sum (2-d block, dynamic)", "exact: %.0f", 0);
}

static void test_warp(void)
{
	enum { N = 128, K = 11 };
	static float in[N], out[K * N], want[K * N];
	unsigned s = 3;
	for (int i = 0; i < N; i++)
		in[i] = uniform(&s);
	for (int i = 0; i < N; i++) {
		int w = i / 32 * 32, l = i % 32;
		unsigned ballot = 0;
		int any = 0, all = 1;
		for (int j = 0; j < 32; j++) {
			ballot |= (in[w + j] > 0) ? 1u << j : 0;
			any |= in[w + j] > 0.9f;
			all &= in[w + j] > -0.9f;
		}
		want[0 * N + i] = in[w + 3];
		want[1 * N + i] = l >= 1 ? in[i - 1] : in[i];
		want[2 * N + i] = l + 2 < 32 ? in[i + 2] : in[i];
		want[3 * N + i] = in[w + (l ^ 5)];
		want[4 * N + i] = in[w + (l ^ 1)];
		want[5 * N + i] = l % 8 + 3 < 8 ? in[i + 3] : in[i];
		want[6 * N + i] = (float)ballot / 65536.0f;
		want[7 * N + i] = (float)any;
		want[8 * N + i] = (float)all;
		want[9 * N + i] = in[w + (l ^ 4)];
		want[10 * N + i] = in[w + 31 - l];
	}
	void *p[] = {out, in};
	if (good("warp_ops", (SimtDim){2, 1, 1}, (SimtDim){64, 1, 1}, 0, N, p, 2))
		verdict(memcmp(out, want, sizeof out) == 0, "warp_ops (11 intrinsics)", "exact: %.0f", 0);
}

static void test_atomics(void)
{
	enum { BLOCKS = 5, T = 96, N = BLOCKS * T };
	int in[N], hist[16] = {0}, want[16] = {0}, mx[3] = {0};
	float sum[1] = {0};
	double want_sum = 0;
	int want_max = 0;
	unsigned s = 4;
	for (int i = 0; i < N; i++) {
		s = s * 1664525u + 1013904223u;
		in[i] = (int)(s >> 28);
		want[in[i]]++;
		want_sum += in[i];
		want_max = in[i] * 3 + 1 > want_max ? in[i] * 3 + 1 : want_max;
	}
	void *p[] = {hist, in, sum, mx};
	if (good("atomics", (SimtDim){BLOCKS, 1, 1}, (SimtDim){T, 1, 1}, 0, N, p, 4)) {
		int ok = memcmp(hist, want, sizeof hist) == 0 && mx[0] == want_max && mx[1] == 7 && mx[2] == 11;
		verdict(ok && sum[0] == (float)want_sum, "atomics (shared and global)", "sum %g", sum[0]);
	}
}

static unsigned short bf16(float f) /* round to nearest even */
{
	unsigned u;
	memcpy(&u, &f, 4);
	return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

static float from_bf16(unsigned short h)
{
	unsigned u = (unsigned)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static float tf32(float f) /* to nearest, ties away: cvt.rna.tf32.f32 */
{
	unsigned u;
	memcpy(&u, &f, 4);
	u = (u + 0x1000u) & 0xffffe000u;
	memcpy(&f, &u, 4);
	return f;
}

static void test_wmma(void)
{
	static unsigned short a[256], b[256]; /* b column-major */
	static float c[256], d[256], want[256];
	unsigned s = 5;
	for (int i = 0; i < 256; i++) {
		a[i] = bf16(uniform(&s));
		b[i] = bf16(uniform(&s));
		c[i] = uniform(&s);
	}
	for (int r = 0; r < 16; r++)
		for (int col = 0; col < 16; col++) {
			float acc = c[r * 16 + col];
			for (int k = 0; k < 16; k++)
				acc = fmaf(from_bf16(a[r * 16 + k]), from_bf16(b[col * 16 + k]), acc);
			want[r * 16 + col] = 2 * acc;
		}
	void *p[] = {d, a, b, c};
	if (good("wmma_bf16", (SimtDim){1, 1, 1}, (SimtDim){32, 1, 1}, 0, 0, p, 4))
		verdict(worst(d, want, 256, 0, 1e-6) <= 1, "wmma_bf16 (16x16x16)", "max err %.2g of 1e-6 rel",
		        worst(d, want, 256, 0, 1e-6));

	static float fa[128], fb[128], fd[256], fwant[256];
	for (int i = 0; i < 128; i++) {
		fa[i] = uniform(&s);
		fb[i] = uniform(&s);
	}
	for (int r = 0; r < 16; r++)
		for (int col = 0; col < 16; col++) {
			float acc = 0;
			for (int k = 0; k < 8; k++)
				acc = fmaf(tf32(fa[r * 8 + k]), tf32(fb[k * 16 + col]), acc);
			fwant[col * 16 + r] = acc;
		}
	void *q[] = {fd, fa, fb};
	if (good("wmma_tf32", (SimtDim){1, 1, 1}, (SimtDim){64, 1, 1}, 0, 0, q, 3))
		verdict(worst(fd, fwant, 256, 0, 1e-6) <= 1, "wmma_tf32 (16x16x8, 2 warps)", "max err %.2g of 1e-6 rel",
		        worst(fd, fwant, 256, 0, 1e-6));
}

static void test_stage_reuse(void)
{
	static float in[33], out[32];
	for (int i = 0; i < 33; i++)
		in[i] = (float)(i + 1);
	void *p[] = {out, in};
	if (!good("warp_stage_reuse", (SimtDim){1, 1, 1}, (SimtDim){32, 1, 1}, 0, 0, p, 2))
		return;
	float want = 0;
	for (int i = 0; i < 32; i++)
		want += in[i] + in[i + 1];
	int ok = 1;
	for (int i = 0; i < 32; i++)
		ok &= out[i] == want;
	verdict(ok, "warp_stage_reuse (readers of a warp, __syncwarp)", "out[0] %g", out[0]);
}

static void test_unwritten(void)
{
	float out[64];
	int word[1] = {0};
	void *p[] = {out, word};
	if (!good("unwritten_shared", (SimtDim){1, 1, 1}, (SimtDim){64, 1, 1}, 0, 0, p, 2))
		return;
	int ok = out[1] == 1.0f && (unsigned)word[0] == 0xffffff07u;
	for (int i = 0; i < 64; i++)
		ok &= i == 1 || isnan(out[i]);
	verdict(ok, "unwritten_shared (NaN)", "out[0] %g", out[0]);
}

static const char *source;

/* The line of the source that has `mark`. */
static int line_of(const char *mark)
{
	const char *at = strstr(source, mark);
	int line = 1;
	for (const char *s = source; at && s < at; s++)
		line += *s == '\n';
	return at ? line : -1;
}

/* A broken kernel: its launch must fail with a message that names it and has `want`
 * (printf'd with the line of `mark`). */
static void broken(const char *name, unsigned threads, size_t dyn, const char *fmt, const char *mark)
{
	char want[256];
	snprintf(want, sizeof want, fmt, line_of(mark));
	static float in[1024], out[1024];
	void *p[] = {out, in};
	int rc = launch(name, (SimtDim){2, 1, 1}, (SimtDim){threads, 1, 1}, dyn, threads, p, 2);
	if (rc < 0)
		return;
	const char *msg = simt_error(mod);
	char head[128];
	snprintf(head, sizeof head, "kernel %s, block (", name);
	int ok = rc == 1 && strstr(msg, head) == msg && strstr(msg, want);
	if (ok)
		passed++;
	else
		failed++;
	printf("%s %-28s %s\n", ok ? "ok  " : "FAIL", name, rc ? msg : "(the launch succeeded)");
	if (!ok)
		printf("     expected a message with: %s\n", want);
}

/* The broken kernels of kernels.cu: block size, dynamic shared bytes, the message's text
 * (%d: the line of the source that has `mark`). */
typedef struct Broken {
	const char *name;
	unsigned threads;
	size_t dyn;
	const char *want, *mark;
} Broken;

static const Broken broken_kernels[] = {
	{"warp_stage_no_sync", 32, 0, "and others read it and thread (31,0,0) writes it with no __syncthreads() between", ""},
	{"race_no_barrier", 256, 0, "thread (0,0,0) read it and thread (1,0,0) writes it with no __syncthreads() between",
	 ""},
	{"barrier_divergent", 32, 0,
	 "__syncthreads() at line %d is reached by 16 of the block's 32 threads: thread (16,0,0) returned without "
	 "reaching it",
	 "/* half */"},
	{"barrier_two_sites", 32, 0, "divergent __syncthreads(): thread (0,0,0) waits at the one of line %d", "/* first */"},
	{"shfl_mask_reads_outside", 32, 0,
	 "__shfl_xor_sync at line %d: lane 0 reads lane 16, which the mask 0x0000ffff leaves out", "/* outside */"},
	{"shfl_mask_leaves_out_caller", 32, 0,
	 "__shfl_sync at line %d: thread (16,0,0) (lane 16) gives the mask 0x0000ffff, which leaves out the lane itself",
	 "0x0000ffffu, F(1)"},
	{"shfl_lane_returns", 32, 0,
	 "__shfl_sync at line %d with mask 0xffffffff: lane 5 (thread (5,0,0)) returned without reaching it",
	 "/* after return */"},
	{"dynamic_overflow", 64, 64 * sizeof(float), "of the dynamic shared memory 'part', beyond the launch's 256 bytes",
	 ""},
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_simt KERNELS.cu\n");
		return 2;
	}
	static char src[1 << 16];
	if (!(source = read_source("test_simt", argv[1], src, sizeof src)))
		return 2;
	for (int threads = 1; threads <= 2; threads++) {
		printf("-- blocks on %d host thread%s\n", threads, threads > 1 ? "s" : "");
		if (!(mod = simt_open(src, threads, "test_simt")))
			return 1;
		test_reverse();
		test_sum();
		test_warp();
		test_atomics();
		test_wmma();
		test_unwritten();
		test_stage_reuse();
		for (size_t i = 0; i < sizeof broken_kernels / sizeof broken_kernels[0]; i++) {
			const Broken *k = &broken_kernels[i];
			broken(k->name, k->threads, k->dyn, k->want, k->mark);
		}
		simt_close(mod);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
