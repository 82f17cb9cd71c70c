/* test_gpu_plan.c: the host logic of runtime/gpu/gpu_plan.c that both device implementations
 * share, on any machine.
 *   - rt_gemm_plan: every plan, run through a naive column-major GEMM with exactly the
 *     parameters cuBLAS would get, against rt_matmul / rt_matmul_reduce of the C target,
 *     for products with and without transposes, batch axes equal, broadcast, partly
 *     broadcast and missing, and empty dimensions; shapes that break the op are refused.
 *   - the kernel cache's files: written atomically, read back whole, absent is NULL.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "kernels/cpu.h"
#include "gpu/gpu.h"

typedef struct T {
	Tally tally;
} T;

/* The plans need the site table only in messages. */
static const char *const sites[] = {"matmul test.dsl:1:1"};
const RtGpuProgram rt_gpu_program = {"", NULL, 0, sites, 1, 0, 0, 0, 0, NULL};

/* C = op(A) op(B) + beta C, column-major, as cuBLAS defines it. */
static void gemm_ref(const RtGemm *e, const float *A, const float *B, float *C)
{
	for (int64_t c = 0; c < e->count; c++)
		for (int64_t j = 0; j < e->n; j++)
			for (int64_t i = 0; i < e->m; i++) {
				double s = 0;
				for (int64_t l = 0; l < e->k; l++) {
					double a = e->trans_a ? A[c * e->stride_a + i * e->lda + l] : A[c * e->stride_a + l * e->lda + i];
					double b = e->trans_b ? B[c * e->stride_b + l * e->ldb + j] : B[c * e->stride_b + j * e->ldb + l];
					s += a * b;
				}
				float *o = &C[c * e->stride_c + j * e->ldc + i];
				*o = (float)(s + (e->beta != 0 ? (double)e->beta * *o : 0));
			}
}

static int64_t numel(int r, const int64_t *d)
{
	int64_t n = 1;
	for (int i = 0; i < r; i++)
		n *= d[i];
	return n;
}

static void product(T *t, int line, int ra, const int64_t *da, int rb, const int64_t *db, int ta, int tb, int reduce)
{
	int64_t na = numel(ra, da), nb = numel(rb, db);
	float *a = malloc(sizeof(float) * (size_t)(na + 1)), *b = malloc(sizeof(float) * (size_t)(nb + 1));
	for (int64_t i = 0; i < na; i++)
		a[i] = (float)((i * 7919 % 201) - 100) / 64;
	for (int64_t i = 0; i < nb; i++)
		b[i] = (float)((i * 104729 % 199) - 99) / 64;
	enum { MAXN = 1 << 16 };
	float *want = calloc(MAXN, sizeof(float)), *got = calloc(MAXN, sizeof(float));
	int rc = reduce ? rt_matmul_reduce(want, a, b, ra, da, rb, db, ta, tb) : rt_matmul(want, a, b, ra, da, rb, db, ta, tb);
	RtGemm plan[64];
	int n = rt_gemm_plan(plan, 64, ra, da, rb, db, ta, tb, reduce);
	if (rc != RT_CPU_OK) {
		expect(t, n < 0, line, "the C target refuses these shapes (%d); the plan gives %d GEMMs", rc, n);
	} else if (expect(t, n >= 0 && n <= 64, line, "a plan of %d GEMMs", n)) {
		for (int i = 0; i < n; i++)
			gemm_ref(&plan[i], b + plan[i].off_a, a + plan[i].off_b, got + plan[i].off_c);
		/* the output's elements: the C target's shape rule */
		int64_t m = ta ? da[ra - 1] : da[ra - 2], nn = tb ? db[rb - 2] : db[rb - 1], out = m * nn;
		if (!reduce) {
			int r = ra > rb ? ra : rb;
			for (int i = 0; i < r - 2; i++) {
				int ia = i - (r - ra), ib = i - (r - rb);
				int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
				out *= x > y ? x : y;
			}
		}
		double worst = 0;
		for (int64_t i = 0; i < out; i++)
			worst = fmax(worst, fabs((double)got[i] - (double)want[i]) / (1 + fabs((double)want[i])));
		expect(t, worst < 1e-5, line, "plan of %d GEMMs differs from the C target by %.3g", n, worst);
	}
	free(a);
	free(b);
	free(want);
	free(got);
}

#define D(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

static void products(T *t)
{
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			product(t, __LINE__, D(5, 3), D(3, 4), ta, tb, 0) ; /* shapes that fit only some transposes */
			product(t, __LINE__, D(4, 4), D(4, 4), ta, tb, 0);
			product(t, __LINE__, D(2, 3, 4, 4), D(2, 3, 4, 4), ta, tb, 0); /* equal batches */
			product(t, __LINE__, D(2, 3, 4, 4), D(4, 4), ta, tb, 0);       /* a Linear */
			product(t, __LINE__, D(4, 4), D(2, 3, 4, 4), ta, tb, 0);       /* x without batch */
			product(t, __LINE__, D(2, 1, 4, 4), D(3, 4, 4), ta, tb, 0);    /* both broadcast */
			product(t, __LINE__, D(2, 3, 4, 4), D(1, 3, 4, 4), ta, tb, 0); /* y partly broadcast */
			product(t, __LINE__, D(3, 4, 4), D(3, 4, 4), ta, tb, 1);       /* a weight's gradient */
			product(t, __LINE__, D(2, 3, 4, 4), D(2, 3, 4, 4), ta, tb, 1);
			product(t, __LINE__, D(0, 4, 4), D(0, 4, 4), ta, tb, 1);       /* nothing to sum: zeros */
			product(t, __LINE__, D(2, 0, 4), D(4, 3), ta, tb, 0);          /* empty */
		}
	product(t, __LINE__, D(2, 5, 3), D(3, 6), 0, 0, 0);
	product(t, __LINE__, D(7, 5, 3), D(7, 5, 6), 1, 0, 1);
	RtGemm g[4];
	EXPECT(t, rt_gemm_plan(g, 4, D(2, 3), D(4, 5), 0, 0, 0) < 0, "inner sizes 3 and 4 are refused");
	EXPECT(t, rt_gemm_plan(g, 4, D(2, 3, 3), D(4, 3, 3), 0, 0, 0) < 0, "batches 2 and 4 are refused");
	EXPECT(t, rt_gemm_plan(g, 4, D(3), D(3, 3), 0, 0, 0) < 0, "a vector is refused");
	EXPECT(t, rt_gemm_plan(g, 4, D(2, 3, 3), D(3, 3, 3), 0, 0, 1) < 0, "reduce needs equal batches");
	EXPECT(t, rt_gemm_plan(g, 0, D(6, 3, 3), D(6, 3, 3), 0, 1, 1) == 6, "the count comes back past max");
}

static void cache(T *t)
{
	char dir[] = "/tmp/maec-test-cache-XXXXXX";
	if (!EXPECT(t, mkdtemp(dir) != NULL, "a temporary directory"))
		return;
	setenv("MAEC_CACHE_DIR", dir, 1);
	char *d = rt_cache_dir(), *path = rt_format("%s/k.cubin", dir);
	EXPECT(t, d && strcmp(d, dir) == 0, "MAEC_CACHE_DIR names the cache (%s)", d ? d : "NULL");
	size_t n = 0;
	EXPECT(t, rt_cache_read(path, &n) == NULL, "an absent file reads as NULL");
	EXPECT(t, rt_cache_write(path, "kernels", 7) == 0, "a cache file is written");
	char *p = rt_cache_read(path, &n);
	EXPECT(t, p && n == 7 && memcmp(p, "kernels", 7) == 0, "and read back whole");
	free(p);
	EXPECT(t, rt_hash(RT_HASH_INIT, "a", 1) != rt_hash(RT_HASH_INIT, "b", 1), "hashes tell sources apart");
	remove(path);
	rmdir(dir);
	free(d);
	free(path);
}

int main(void)
{
	T t = {{0}};
	products(&t);
	cache(&t);
	return tally_report(&t.tally);
}
