/* test_cpu.c: the kernels of runtime/kernels/cpu.h against plain references written here in
 * double, on random shapes (ranks 0 to 6, size-1 dimensions, broadcasting) and on the
 * shapes of the MAE model; the gradient kernels also against central finite differences
 * of their forward kernels (double build only: float cannot resolve the differences).
 *
 *   cc -std=c11 -O2 -fopenmp -DMAEC_REAL=double -Iruntime tests/runtime/test_cpu.c runtime/kernels/cpu.c \
 *      -lopenblas -lm && ./a.out [--verbose] [--bench]
 *
 * A check passes when every element has |got - ref| <= atol + rtol |ref| + bound, where
 * bound is a per-element error bound from the usual analysis when there is one (products
 * and sums: n u sum|terms|). Tolerances are in units of u, the unit roundoff of rt_real
 * (2^-24 for float, 2^-53 for double), with the reason next to each. The summary gives
 * every kernel's largest absolute error and largest relative error (over elements with
 * |ref| > 1e-3), and the last line is "N passed, M failed". --bench times the kernels
 * that matter for MAE at batch 64.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu.h"

typedef rt_real real;

#define IS_DOUBLE (sizeof(real) == sizeof(double))
#define U (IS_DOUBLE ? 0x1p-53 : 0x1p-24) /* unit roundoff of real */
#define UD 0x1p-53                        /* of double, for accumulations in double */
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define D(...) ((const int64_t[]){__VA_ARGS__})

/* ---------- results ---------- */

typedef struct Stat {
	const char *kernel;
	double abs, rel;
	int pass, fail;
} Stat;

static Stat stats[64];
static int nstats, npass, nfail;
static bool verbose;

static Stat *stat_for(const char *kernel)
{
	for (int i = 0; i < nstats; i++)
		if (!strcmp(stats[i].kernel, kernel))
			return &stats[i];
	if (nstats == NELEM(stats)) {
		fprintf(stderr, "test_cpu: too many kernels for the summary table\n");
		exit(2);
	}
	stats[nstats] = (Stat){.kernel = kernel};
	return &stats[nstats++];
}

static void record(const char *kernel, const char *what, bool ok, double abs_err, double rel_err)
{
	Stat *s = stat_for(kernel);
	s->abs = fmax(s->abs, abs_err);
	s->rel = fmax(s->rel, rel_err);
	if (ok)
		s->pass++, npass++;
	else
		s->fail++, nfail++;
	if (!ok || verbose)
		printf("%s %-20s %-52s max abs %.3g, rel %.3g\n", ok ? "ok  " : "FAIL", kernel, what, abs_err, rel_err);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "test_cpu: out of memory\n");
		exit(2);
	}
	return p;
}

#define NEW(T, n) ((T *)xmalloc(sizeof(T) * (size_t)(n)))

/* got against ref elementwise; bound (may be NULL) adds a per-element allowance. NaN
 * must meet NaN, and infinities must be equal. */
static void check_real(const char *kernel, const char *what, const real *got, const double *ref, const double *bound,
                       int64_t n, double atol, double rtol)
{
	double mabs = 0, mrel = 0;
	int64_t bad = 0;
	for (int64_t i = 0; i < n; i++) {
		double g = (double)got[i], r = ref[i], tol = atol + rtol * fabs(r) + (bound ? bound[i] : 0), d = fabs(g - r);
		bool ok;
		if (isnan(r) || isnan(g) || isinf(r) || isinf(g)) {
			ok = (isnan(r) && isnan(g)) || g == r;
			d = 0;
		} else {
			ok = d <= tol;
			mabs = fmax(mabs, d);
			if (fabs(r) > 1e-3)
				mrel = fmax(mrel, d / fabs(r));
		}
		if (!ok && bad++ < 3)
			printf("    %s %s: [%lld] got %.17g, want %.17g (tolerance %.3g)\n", kernel, what, (long long)i, g, r, tol);
	}
	record(kernel, what, bad == 0, mabs, mrel);
}

static void check_i32(const char *kernel, const char *what, const int32_t *got, const int32_t *ref, int64_t n)
{
	int64_t bad = 0;
	double mabs = 0;
	for (int64_t i = 0; i < n; i++)
		if (got[i] != ref[i]) {
			mabs = fmax(mabs, fabs((double)got[i] - (double)ref[i]));
			if (bad++ < 3)
				printf("    %s %s: [%lld] got %d, want %d\n", kernel, what, (long long)i, got[i], ref[i]);
		}
	record(kernel, what, bad == 0, mabs, 0);
}

static void check_bytes(const char *kernel, const char *what, const void *got, const void *ref, int64_t n, size_t es)
{
	int64_t bad = 0;
	for (int64_t i = 0; i < n; i++)
		if (memcmp((const char *)got + i * (int64_t)es, (const char *)ref + i * (int64_t)es, es) && bad++ < 3)
			printf("    %s %s: element %lld differs\n", kernel, what, (long long)i);
	record(kernel, what, bad == 0, bad ? INFINITY : 0, 0);
}

static void check_rc(const char *kernel, const char *what, int got, int want)
{
	if (got != want)
		printf("    %s %s: status %d (%s), want %d (%s)\n", kernel, what, got, rt_cpu_strerror(got), want,
		       rt_cpu_strerror(want));
	record(kernel, what, got == want, 0, 0);
}

/* ---------- random numbers, shapes ---------- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t next(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double unif(double lo, double hi)
{
	return lo + (hi - lo) * (double)(next() >> 11) * 0x1p-53;
}

static int64_t irand(int64_t lo, int64_t hi) /* inclusive */
{
	return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

static void fill_unif(real *x, int64_t n, double lo, double hi)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (real)unif(lo, hi);
}

static int64_t count(int rank, const int64_t *d)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= d[i];
	return n;
}

/* "[2,65,192]": at most 8 dimensions of at most 20 characters fit. */
typedef struct Str {
	char s[200];
} Str;

static Str shp(int rank, const int64_t *d)
{
	Str r;
	int k = snprintf(r.s, sizeof r.s, "[");
	for (int i = 0; i < rank; i++)
		k += snprintf(r.s + k, sizeof r.s - (size_t)k, "%s%lld", i ? "," : "", (long long)d[i]);
	snprintf(r.s + k, sizeof r.s - (size_t)k, "]");
	return r;
}

static void rand_dims(int rank, int64_t *d, int64_t maxd)
{
	for (int i = 0; i < rank; i++)
		d[i] = irand(1, maxd);
}

/* Row-major coordinates of flat index i, and back. */
static void unravel(int64_t i, int rank, const int64_t *d, int64_t *c)
{
	for (int k = rank - 1; k >= 0; k--) {
		c[k] = i % d[k];
		i /= d[k];
	}
}

static int64_t ravel(int rank, const int64_t *d, const int64_t *c)
{
	int64_t i = 0;
	for (int k = 0; k < rank; k++)
		i = i * d[k] + c[k];
	return i;
}

/* Offset in an operand of dims da (rank ra, right-aligned, broadcast) of the element at
 * coordinates c of a result of rank r. */
static int64_t bcast_off(const int64_t *c, int r, int ra, const int64_t *da)
{
	int64_t off = 0;
	for (int k = 0; k < ra; k++)
		off = off * da[k] + (da[k] == 1 ? 0 : c[k + r - ra]);
	return off;
}

/* A random operand shape that broadcasts to od (rank r): a suffix of it, some dims 1. */
static int rand_operand(int r, const int64_t *od, int64_t *d)
{
	int ra = irand(0, 3) ? r : (int)irand(0, r);
	for (int k = 0; k < ra; k++)
		d[k] = irand(0, 3) ? od[k + r - ra] : 1;
	return ra;
}

/* ---------- finite differences ---------- */

/* g[i] = d/dx_i sum_j w_j f(x)_j by central differences; f writes m outputs. */
typedef void Fwd(const void *ctx, const real *x, real *y);

static void fd_grad(Fwd *f, const void *ctx, real *x, int64_t n, const real *w, int64_t m, double *g)
{
	real *y = NEW(real, m);
	for (int64_t i = 0; i < n; i++) {
		real save = x[i];
		double h = 1e-5 * fmax(1.0, fabs((double)save)), l[2];
		for (int s = 0; s < 2; s++) {
			x[i] = (real)((double)save + (s ? -h : h));
			f(ctx, x, y);
			l[s] = 0;
			for (int64_t j = 0; j < m; j++)
				l[s] += (double)w[j] * (double)y[j];
		}
		x[i] = save;
		g[i] = (l[0] - l[1]) / (2 * h);
	}
	free(y);
}

/* Central differences with h = 1e-5 have truncation error ~h^2 |f'''| ~ 1e-10 and
 * cancellation error ~u_double |L| / h ~ 1e-10 for the small tensors used: 1e-7 leaves
 * three orders of headroom. */
#define FD_ATOL 1e-7
#define FD_RTOL 1e-6

static void check_fd(const char *kernel, const char *what, const real *got, Fwd *f, const void *ctx, real *x,
                     int64_t n, const real *w, int64_t m)
{
	if (!IS_DOUBLE)
		return;
	double *g = NEW(double, n);
	fd_grad(f, ctx, x, n, w, m, g);
	/* reported as its own row of the summary: "KERNEL fd" */
	static char names[16][64];
	static int nnames;
	const char *name = NULL;
	char buf[64];
	snprintf(buf, sizeof buf, "%s fd", kernel);
	for (int i = 0; i < nnames && !name; i++)
		if (!strcmp(names[i], buf))
			name = names[i];
	if (!name && nnames < NELEM(names))
		name = strcpy(names[nnames++], buf);
	check_real(name ? name : "fd", what, got, g, NULL, n, FD_ATOL, FD_RTOL);
	free(g);
}

/* ---------- fill, copy, cast ---------- */

static void test_fill_copy_cast(void)
{
	const int64_t *shapes[] = {NULL, D(7), D(3, 1, 4), D(4, 65, 192)};
	const int ranks[] = {0, 1, 3, 3};
	for (int s = 0; s < NELEM(shapes); s++) {
		int r = ranks[s];
		const int64_t *d = shapes[s];
		int64_t n = count(r, d);
		Str sh = shp(r, d);
		real *x = NEW(real, n);
		double *ref = NEW(double, n);
		int32_t *xi = NEW(int32_t, n), *ri = NEW(int32_t, n);

		check_rc("fill", sh.s, rt_fill(x, r, d, 0.1), RT_CPU_OK);
		for (int64_t i = 0; i < n; i++)
			ref[i] = (double)(real)0.1;
		check_real("fill", sh.s, x, ref, NULL, n, 0, 0);
		check_rc("fill_i32", sh.s, rt_fill_i32(xi, r, d, -7), RT_CPU_OK);
		for (int64_t i = 0; i < n; i++)
			ri[i] = -7;
		check_i32("fill_i32", sh.s, xi, ri, n);

		real *y = NEW(real, n);
		fill_unif(x, n, -1, 1);
		check_rc("copy", sh.s, rt_copy(y, x, sizeof(real), r, d), RT_CPU_OK);
		check_bytes("copy", sh.s, y, x, n, sizeof(real));

		for (int64_t i = 0; i < n; i++) {
			xi[i] = (int32_t)irand(-100000, 100000);
			ref[i] = (double)(real)xi[i];
		}
		check_rc("cast_i32_real", sh.s, rt_cast_i32_real(y, xi, r, d), RT_CPU_OK);
		check_real("cast_i32_real", sh.s, y, ref, NULL, n, 0, 0);
		for (int64_t i = 0; i < n; i++) {
			x[i] = (real)unif(-1e4, 1e4);
			ri[i] = (int32_t)trunc((double)x[i]);
		}
		check_rc("cast_real_i32", sh.s, rt_cast_real_i32(xi, x, r, d), RT_CPU_OK);
		check_i32("cast_real_i32", sh.s, xi, ri, n);
		free(x), free(y), free(ref), free(xi), free(ri);
	}
	/* truncation toward zero, and what x86 gives for NaN and out-of-range values */
	const real v[] = {(real)2.7, (real)-2.7, (real)-0.5, (real)NAN, (real)3e9, (real)-3e9, (real)-2147483648.0,
	                  (real)2147483520.0, (real)INFINITY};
	const int32_t want[] = {2, -2, 0, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, 2147483520, INT32_MIN};
	int32_t got[NELEM(v)];
	rt_cast_real_i32(got, v, 1, D(NELEM(v)));
	check_i32("cast_real_i32", "edges: trunc, NaN, overflow", got, want, NELEM(v));
	const int32_t big[] = {INT32_MAX, INT32_MIN, 16777217};
	real gb[3];
	double rb[3] = {(double)(real)INT32_MAX, (double)INT32_MIN, (double)(real)16777217};
	rt_cast_i32_real(gb, big, 1, D(3));
	check_real("cast_i32_real", "edges: rounding", gb, rb, NULL, 3, 0, 0);
	check_rc("copy", "negative dimension", rt_copy(gb, gb, sizeof(real), 1, D(-1)), RT_CPU_ESHAPE);
	check_rc("copy", "rank 9", rt_copy(gb, gb, sizeof(real), 9, D(1, 1, 1, 1, 1, 1, 1, 1, 1)), RT_CPU_ESHAPE);
}

/* ---------- unary ---------- */

static double phi_cdf(double x)
{
	return 0.5 * (1 + erf(x / sqrt(2.0)));
}

static double ref_unary(RtUnaryOp op, double x)
{
	switch (op) {
	case RT_OP_NEG: return -x;
	case RT_OP_EXP: return exp(x);
	case RT_OP_LOG: return log(x);
	case RT_OP_SQRT: return sqrt(x);
	case RT_OP_RSQRT: return 1 / sqrt(x);
	case RT_OP_TANH: return tanh(x);
	case RT_OP_SIGMOID: return 1 / (1 + exp(-x));
	case RT_OP_RELU: return x > 0 ? x : 0;
	case RT_OP_GELU: return x * phi_cdf(x);
	case RT_OP_ABS: return fabs(x);
	default: return NAN;
	}
}

static const char *const unary_names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu",
                                          "abs"};

static void gelu_fwd(const void *ctx, const real *x, real *y)
{
	rt_unary(RT_OP_GELU, y, x, 1, (const int64_t *)ctx);
}

static void test_unary(void)
{
	const int64_t *shapes[] = {NULL, D(7), D(3, 1, 4), D(2, 1, 3, 1, 2), D(2, 3, 4, 5, 2), D(4, 65, 192)};
	const int ranks[] = {0, 1, 3, 5, 5, 3};
	/* ulps of the result (rtol = k u) and of |x| (gelu: erf's absolute error, scaled by
	 * |x|/2, dominates where 1 + erf cancels): glibc's exp, log, tanh are within 1-2 ulp;
	 * rsqrt and sigmoid round 2 and 4 times. */
	const double rtol_u[] = {0, 2, 2, 1, 3, 4, 8, 0, 8, 0}, atol_u[] = {0, 0, 0, 0, 0, 0, 0, 0, 16, 0};
	for (int op = 0; op < RT_UNARY__N; op++)
		for (int s = 0; s < NELEM(shapes); s++) {
			int r = ranks[s];
			const int64_t *d = shapes[s];
			int64_t n = count(r, d);
			real *x = NEW(real, n), *y = NEW(real, n);
			double *ref = NEW(double, n);
			bool pos = op == RT_OP_LOG || op == RT_OP_SQRT || op == RT_OP_RSQRT;
			fill_unif(x, n, pos ? 0.01 : -6, pos ? 5 : 6);
			for (int64_t i = 0; i < n; i++)
				ref[i] = ref_unary((RtUnaryOp)op, (double)x[i]);
			char what[1024];
			snprintf(what, sizeof what, "%s %s", unary_names[op], shp(r, d).s);
			check_rc("unary", what, rt_unary((RtUnaryOp)op, y, x, r, d), RT_CPU_OK);
			check_real("unary", what, y, ref, NULL, n, atol_u[op] * U, rtol_u[op] * U);
			memcpy(y, x, sizeof(real) * (size_t)n); /* in place gives the same bits */
			rt_unary((RtUnaryOp)op, y, y, r, d);
			real *z = NEW(real, n);
			rt_unary((RtUnaryOp)op, z, x, r, d);
			snprintf(what, sizeof what, "%s %s in place", unary_names[op], shp(r, d).s);
			check_bytes("unary", what, y, z, n, sizeof(real));
			free(x), free(y), free(z), free(ref);
		}
	real nan1[1] = {(real)NAN}, o[1];
	rt_unary(RT_OP_RELU, o, nan1, 0, NULL);
	record("unary", "relu(NaN) is NaN", isnan((double)o[0]), 0, 0);
	check_rc("unary", "bad op", rt_unary(RT_UNARY__N, o, nan1, 0, NULL), RT_CPU_EARG);

	/* i32: neg relu abs, wrapping at INT32_MIN */
	int32_t xi[] = {5, -3, 0, INT32_MIN, INT32_MAX, -1}, yi[6];
	const int32_t neg[] = {-5, 3, 0, INT32_MIN, -INT32_MAX, 1}, relu[] = {5, 0, 0, 0, INT32_MAX, 0},
	              abs_[] = {5, 3, 0, INT32_MIN, INT32_MAX, 1};
	rt_unary_i32(RT_OP_NEG, yi, xi, 1, D(6));
	check_i32("unary_i32", "neg", yi, neg, 6);
	rt_unary_i32(RT_OP_RELU, yi, xi, 1, D(6));
	check_i32("unary_i32", "relu", yi, relu, 6);
	rt_unary_i32(RT_OP_ABS, yi, xi, 1, D(6));
	check_i32("unary_i32", "abs", yi, abs_, 6);
	check_rc("unary_i32", "exp is not an i32 op", rt_unary_i32(RT_OP_EXP, yi, xi, 1, D(6)), RT_CPU_EARG);

	/* gelu_grad: formula, and finite differences of gelu */
	const int64_t *gs[] = {D(7), D(3, 1, 4), D(4, 65, 192)};
	const int gr[] = {1, 3, 3};
	for (int s = 0; s < NELEM(gs); s++) {
		int64_t n = count(gr[s], gs[s]);
		real *x = NEW(real, n), *dy = NEW(real, n), *g = NEW(real, n);
		double *ref = NEW(double, n);
		fill_unif(x, n, -6, 6);
		fill_unif(dy, n, -1, 1);
		for (int64_t i = 0; i < n; i++) {
			double v = (double)x[i];
			ref[i] = (double)dy[i] * (phi_cdf(v) + v * exp(-0.5 * v * v) / sqrt(2 * acos(-1.0)));
		}
		Str sh = shp(gr[s], gs[s]);
		check_rc("gelu_grad", sh.s, rt_gelu_grad(g, x, dy, gr[s], gs[s]), RT_CPU_OK);
		/* erf, exp and four roundings, on values of |dy| <= 1 and |x phi| < 0.25 */
		check_real("gelu_grad", sh.s, g, ref, NULL, n, 16 * U, 8 * U);
		if (n < 100)
			check_fd("gelu_grad", sh.s, g, gelu_fwd, D(n), x, n, dy, n);
		free(x), free(dy), free(g), free(ref);
	}
}

/* ---------- binary ---------- */

static const char *const binary_names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt"};

static double ref_binary(RtBinaryOp op, double x, double y)
{
	switch (op) {
	case RT_OP_ADD: return x + y;
	case RT_OP_SUB: return x - y;
	case RT_OP_MUL: return x * y;
	case RT_OP_DIV: return x / y;
	case RT_OP_POW: return pow(x, y);
	case RT_OP_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
	case RT_OP_MINIMUM: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
	case RT_OP_EQ: return x == y;
	case RT_OP_LT: return x < y;
	default: return NAN;
	}
}

static int32_t wrap32(int64_t v)
{
	return (int32_t)(uint32_t)(uint64_t)v;
}

static int32_t ref_binary_i32(RtBinaryOp op, int32_t x, int32_t y)
{
	switch (op) {
	case RT_OP_ADD: return wrap32((int64_t)x + y);
	case RT_OP_SUB: return wrap32((int64_t)x - y);
	case RT_OP_MUL: return wrap32((int64_t)x * y);
	case RT_OP_DIV: return y == 0 ? 0 : wrap32((int64_t)x / y);
	case RT_OP_POW: {
		if (y < 0)
			return x == 1 ? 1 : x == -1 ? (y % 2 ? -1 : 1) : 0;
		int64_t p = 1;
		for (int k = 0; k < y; k++)
			p = (int64_t)wrap32(p * x);
		return (int32_t)p;
	}
	case RT_OP_MAXIMUM: return x > y ? x : y;
	case RT_OP_MINIMUM: return x < y ? x : y;
	case RT_OP_EQ: return x == y;
	case RT_OP_LT: return x < y;
	default: return 0;
	}
}

typedef struct Pair {
	int r, ra, rb;
	int64_t od[RT_MAX_RANK], da[RT_MAX_RANK], db[RT_MAX_RANK];
} Pair;

static Pair pair(int ra, const int64_t *da, int rb, const int64_t *db)
{
	Pair p = {.ra = ra, .rb = rb};
	memcpy(p.da, da, sizeof(int64_t) * (size_t)ra);
	memcpy(p.db, db, sizeof(int64_t) * (size_t)rb);
	p.r = ra > rb ? ra : rb;
	for (int i = 0; i < p.r; i++) {
		int ia = i - (p.r - ra), ib = i - (p.r - rb);
		int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
		p.od[i] = x == 1 ? y : x;
	}
	return p;
}

static int npairs;
static Pair pairs[64];

static void make_pairs(void)
{
	static const int64_t one[1] = {1};
	pairs[npairs++] = pair(3, D(4, 65, 192), 3, D(4, 65, 192));     /* same shape, parallel */
	pairs[npairs++] = pair(3, D(4, 65, 192), 0, one);                /* scalar */
	pairs[npairs++] = pair(1, one, 3, D(4, 65, 192));                /* scalar first */
	pairs[npairs++] = pair(3, D(4, 257, 192), 1, D(192));            /* bias */
	pairs[npairs++] = pair(3, D(4, 65, 192), 3, D(4, 65, 1));        /* per-row */
	pairs[npairs++] = pair(3, D(2, 65, 192), 3, D(1, 65, 192));      /* positions */
	pairs[npairs++] = pair(4, D(1, 5, 1, 3), 4, D(4, 1, 6, 1));      /* both broadcast */
	pairs[npairs++] = pair(0, one, 0, one);                          /* two scalars */
	pairs[npairs++] = pair(5, D(2, 1, 3, 1, 2), 2, D(1, 2));
	while (npairs < NELEM(pairs)) {
		int64_t od[RT_MAX_RANK], da[RT_MAX_RANK], db[RT_MAX_RANK];
		int r = (int)irand(1, 5);
		rand_dims(r, od, 4);
		int ra = rand_operand(r, od, da), rb = rand_operand(r, od, db);
		pairs[npairs++] = pair(ra, da, rb, db);
	}
}

static void test_binary(void)
{
	for (int op = 0; op < RT_BINARY__N; op++)
		for (int t = 0; t < npairs; t++) {
			const Pair *p = &pairs[t];
			int64_t na = count(p->ra, p->da), nb = count(p->rb, p->db), n = count(p->r, p->od);
			real *a = NEW(real, na), *b = NEW(real, nb), *y = NEW(real, n);
			double *ref = NEW(double, n);
			if (op == RT_OP_EQ || op == RT_OP_LT || op == RT_OP_MAXIMUM || op == RT_OP_MINIMUM) {
				for (int64_t i = 0; i < na; i++) /* ties */
					a[i] = (real)(0.5 * (double)irand(-2, 2));
				for (int64_t i = 0; i < nb; i++)
					b[i] = (real)(0.5 * (double)irand(-2, 2));
			} else if (op == RT_OP_POW) {
				fill_unif(a, na, 0.2, 3);
				fill_unif(b, nb, -2.5, 2.5);
			} else {
				fill_unif(a, na, -2, 2);
				for (int64_t i = 0; i < nb; i++)
					b[i] = (real)(unif(0.5, 2) * (irand(0, 1) ? 1 : -1));
			}
			int64_t c[RT_MAX_RANK];
			for (int64_t i = 0; i < n; i++) {
				unravel(i, p->r, p->od, c);
				ref[i] = ref_binary((RtBinaryOp)op, (double)a[bcast_off(c, p->r, p->ra, p->da)],
				                    (double)b[bcast_off(c, p->r, p->rb, p->db)]);
			}
			char what[1024];
			snprintf(what, sizeof what, "%s %s %s", binary_names[op], shp(p->ra, p->da).s, shp(p->rb, p->db).s);
			check_rc("binary", what, rt_binary((RtBinaryOp)op, y, a, p->ra, p->da, b, p->rb, p->db), RT_CPU_OK);
			/* one correctly rounded operation (pow: glibc's, within 1 ulp) */
			check_real("binary", what, y, ref, NULL, n, 0, op == RT_OP_POW ? 2 * U : U);
			if (na == n && nb <= n) { /* in place into the full-shaped operand */
				real *z = NEW(real, n);
				memcpy(z, a, sizeof(real) * (size_t)n);
				rt_binary((RtBinaryOp)op, z, z, p->ra, p->da, b, p->rb, p->db);
				snprintf(what, sizeof what, "%s %s %s in place", binary_names[op], shp(p->ra, p->da).s,
				         shp(p->rb, p->db).s);
				check_bytes("binary", what, z, y, n, sizeof(real));
				free(z);
			}
			free(a), free(b), free(y), free(ref);
		}
	real nanv[2] = {(real)NAN, 1}, one[1] = {2}, o[2];
	double want[2] = {NAN, 2};
	rt_binary(RT_OP_MAXIMUM, o, nanv, 1, D(2), one, 1, D(1));
	check_real("binary", "maximum propagates NaN", o, want, NULL, 2, 0, 0);
	rt_binary(RT_OP_MINIMUM, o, one, 1, D(1), nanv, 1, D(2));
	want[1] = 1;
	check_real("binary", "minimum propagates NaN", o, want, NULL, 2, 0, 0);
	check_rc("binary", "[3,2] with [4,2]", rt_binary(RT_OP_ADD, o, o, 2, D(3, 2), o, 2, D(4, 2)), RT_CPU_ESHAPE);
	check_rc("binary", "bad op", rt_binary(RT_BINARY__N, o, o, 0, NULL, o, 0, NULL), RT_CPU_EARG);

	/* i32 */
	for (int op = 0; op < RT_BINARY__N; op++)
		for (int t = 0; t < npairs; t++) {
			const Pair *p = &pairs[t];
			int64_t na = count(p->ra, p->da), nb = count(p->rb, p->db), n = count(p->r, p->od);
			int32_t *a = NEW(int32_t, na), *b = NEW(int32_t, nb), *y = NEW(int32_t, n), *ref = NEW(int32_t, n);
			for (int64_t i = 0; i < na; i++)
				a[i] = (int32_t)(op == RT_OP_POW ? irand(-6, 6) : irand(-40, 40));
			for (int64_t i = 0; i < nb; i++)
				b[i] = (int32_t)(op == RT_OP_POW ? irand(-3, 9) : op >= RT_OP_MAXIMUM ? irand(-40, 40) : irand(-5, 5));
			if (na > 2 && nb > 2) { /* the wrapping edges */
				a[0] = INT32_MAX, b[0] = 1;
				a[1] = INT32_MIN, b[1] = -1;
			}
			int64_t c[RT_MAX_RANK];
			for (int64_t i = 0; i < n; i++) {
				unravel(i, p->r, p->od, c);
				ref[i] = ref_binary_i32((RtBinaryOp)op, a[bcast_off(c, p->r, p->ra, p->da)],
				                        b[bcast_off(c, p->r, p->rb, p->db)]);
			}
			char what[1024];
			snprintf(what, sizeof what, "%s %s %s", binary_names[op], shp(p->ra, p->da).s, shp(p->rb, p->db).s);
			if (op == RT_OP_EQ || op == RT_OP_LT) {
				real *yr = NEW(real, n);
				double *refd = NEW(double, n);
				for (int64_t i = 0; i < n; i++)
					refd[i] = ref[i];
				check_rc("compare_i32", what, rt_compare_i32((RtBinaryOp)op, yr, a, p->ra, p->da, b, p->rb, p->db),
				         RT_CPU_OK);
				check_real("compare_i32", what, yr, refd, NULL, n, 0, 0);
				check_rc("binary_i32", what, rt_binary_i32((RtBinaryOp)op, y, a, p->ra, p->da, b, p->rb, p->db),
				         RT_CPU_EARG);
				free(yr), free(refd);
			} else {
				check_rc("binary_i32", what, rt_binary_i32((RtBinaryOp)op, y, a, p->ra, p->da, b, p->rb, p->db),
				         RT_CPU_OK);
				check_i32("binary_i32", what, y, ref, n);
			}
			free(a), free(b), free(y), free(ref);
		}
	real r1[1];
	int32_t i1[1] = {1};
	check_rc("compare_i32", "add is not a comparison", rt_compare_i32(RT_OP_ADD, r1, i1, 0, NULL, i1, 0, NULL),
	         RT_CPU_EARG);
}

/* ---------- reductions ---------- */

static const char *const reduce_names[] = {"sum", "mean", "max"};

/* ref[o] and, for the tolerance, absum[o] = sum |x| and cnt = elements per output. */
static int64_t ref_reduce(RtReduceOp op, double *ref, double *absum, const real *x, int rank, const int64_t *d,
                          int naxes, const int64_t *axes)
{
	bool red[RT_MAX_RANK] = {0};
	int64_t od[RT_MAX_RANK], c[RT_MAX_RANK], oc[RT_MAX_RANK], cnt = 1;
	int orank = 0;
	for (int k = 0; k < naxes; k++)
		red[axes[k]] = true;
	for (int i = 0; i < rank; i++) {
		if (naxes == 0)
			red[i] = true;
		if (red[i])
			cnt *= d[i];
		else
			od[orank++] = d[i];
	}
	int64_t on = count(orank, od), n = count(rank, d);
	for (int64_t o = 0; o < on; o++) {
		ref[o] = op == RT_OP_MAX ? -INFINITY : 0;
		absum[o] = 0;
	}
	for (int64_t i = 0; i < n; i++) {
		unravel(i, rank, d, c);
		int k = 0;
		for (int j = 0; j < rank; j++)
			if (!red[j])
				oc[k++] = c[j];
		int64_t o = ravel(orank, od, oc);
		double v = (double)x[i];
		if (op == RT_OP_MAX)
			ref[o] = isnan(v) || isnan(ref[o]) ? NAN : fmax(ref[o], v);
		else
			ref[o] += v;
		absum[o] += fabs(v);
	}
	if (op == RT_OP_MEAN)
		for (int64_t o = 0; o < on; o++)
			ref[o] /= (double)cnt, absum[o] /= (double)cnt;
	return on;
}

typedef struct RedCase {
	int rank;
	int64_t d[RT_MAX_RANK];
	int naxes;
	int64_t axes[RT_MAX_RANK];
} RedCase;

static void test_reduce(void)
{
	RedCase cases[60] = {
		{3, {2, 65, 192}, 1, {2}},         /* rows */
		{3, {4, 257, 192}, 2, {0, 1}},     /* a bias's gradient: leading axes, parallel */
		{3, {2, 65, 192}, 2, {0, 1}},      /* leading */
		{3, {3, 2000, 7}, 1, {1}},         /* middle */
		{1, {1 << 20}, 0, {0}},            /* all, in blocks */
		{2, {3, 70000}, 1, {1}},           /* a few long rows, each in parallel blocks */
		{2, {70000, 3}, 1, {0}},           /* long columns */
		{3, {1, 1, 192}, 2, {0, 1}},       /* only size-1 axes: a copy */
		{3, {3, 4, 5}, 2, {0, 2}},         /* two groups: general */
		{0, {0}, 0, {0}},                  /* a scalar */
		{4, {4, 3, 65, 65}, 0, {0}},       /* all, parallel */
	};
	int nc = 11;
	while (nc < NELEM(cases)) {
		RedCase *c = &cases[nc++];
		c->rank = (int)irand(1, 5);
		for (int i = 0; i < c->rank; i++)
			c->d[i] = irand(0, 2) ? irand(1, 6) : 1;
		c->naxes = 0;
		for (int i = 0; i < c->rank; i++)
			if (irand(0, 1))
				c->axes[c->naxes++] = i;
	}
	for (int op = 0; op < RT_REDUCE__N; op++)
		for (int t = 0; t < nc; t++) {
			const RedCase *c = &cases[t];
			int64_t n = count(c->rank, c->d);
			real *x = NEW(real, n), *y = NEW(real, n);
			double *ref = NEW(double, n), *absum = NEW(double, n);
			fill_unif(x, n, -1, 1);
			int64_t on = ref_reduce((RtReduceOp)op, ref, absum, x, c->rank, c->d, c->naxes, c->axes);
			char what[1024];
			snprintf(what, sizeof what, "%s %s axes %s", reduce_names[op], shp(c->rank, c->d).s,
			         shp(c->naxes, c->axes).s);
			check_rc("reduce", what, rt_reduce((RtReduceOp)op, y, x, c->rank, c->d, c->naxes, c->axes), RT_CPU_OK);
			/* double accumulation in another order: n u_double sum|x|; then one rounding */
			double *bound = NEW(double, on);
			for (int64_t o = 0; o < on; o++)
				bound[o] = (double)n * UD * absum[o];
			check_real("reduce", what, y, ref, op == RT_OP_MAX ? NULL : bound, on, 0, op == RT_OP_MAX ? 0 : U);
			free(x), free(y), free(ref), free(absum), free(bound);
		}
	real nanv[4] = {1, (real)NAN, 3, 2}, o[1];
	rt_reduce(RT_OP_MAX, o, nanv, 1, D(4), 0, NULL);
	record("reduce", "max propagates NaN", isnan((double)o[0]), 0, 0);
	check_rc("reduce", "axes not increasing", rt_reduce(RT_OP_SUM, o, nanv, 2, D(2, 2), 2, D(1, 0)), RT_CPU_EARG);
	check_rc("reduce", "axis out of range", rt_reduce(RT_OP_SUM, o, nanv, 2, D(2, 2), 1, D(2)), RT_CPU_EARG);

	/* i32 sum and max */
	for (int t = 0; t < nc; t++) {
		const RedCase *c = &cases[t];
		int64_t n = count(c->rank, c->d);
		if (n > 100000)
			continue;
		int32_t *x = NEW(int32_t, n), *y = NEW(int32_t, n), *refi = NEW(int32_t, n);
		real *xr = NEW(real, n);
		double *ref = NEW(double, n), *absum = NEW(double, n);
		for (int64_t i = 0; i < n; i++)
			xr[i] = (real)(x[i] = (int32_t)irand(-1000, 1000));
		for (int op = 0; op <= RT_OP_MAX; op += 2) {
			int64_t on = ref_reduce((RtReduceOp)op, ref, absum, xr, c->rank, c->d, c->naxes, c->axes);
			for (int64_t k = 0; k < on; k++)
				refi[k] = (int32_t)ref[k];
			char what[1024];
			snprintf(what, sizeof what, "%s %s axes %s", reduce_names[op], shp(c->rank, c->d).s,
			         shp(c->naxes, c->axes).s);
			check_rc("reduce_i32", what, rt_reduce_i32((RtReduceOp)op, y, x, c->rank, c->d, c->naxes, c->axes),
			         RT_CPU_OK);
			check_i32("reduce_i32", what, y, refi, on);
		}
		free(x), free(y), free(refi), free(xr), free(ref), free(absum);
	}
	int32_t wi[2] = {INT32_MAX, 1}, wo[1], ww[1] = {INT32_MIN};
	rt_reduce_i32(RT_OP_SUM, wo, wi, 1, D(2), 0, NULL);
	check_i32("reduce_i32", "sum wraps", wo, ww, 1);
	check_rc("reduce_i32", "mean of i32", rt_reduce_i32(RT_OP_MEAN, wo, wi, 1, D(2), 0, NULL), RT_CPU_EARG);
}

/* ---------- argmax ---------- */

static void test_argmax(void)
{
	for (int t = 0; t < 30; t++) {
		int rank = (int)irand(1, 5), axis = (int)irand(0, rank - 1);
		int64_t d[RT_MAX_RANK], c[RT_MAX_RANK];
		rand_dims(rank, d, 6);
		if (t == 0)
			rank = 2, d[0] = 64, d[1] = 1000, axis = 1; /* parallel */
		int64_t n = count(rank, d), on = n / d[axis];
		real *x = NEW(real, n);
		int32_t *xi = NEW(int32_t, n), *y = NEW(int32_t, on), *ref = NEW(int32_t, on);
		for (int64_t i = 0; i < n; i++) /* few values: ties, where the first must win */
			x[i] = (real)(xi[i] = (int32_t)irand(-3, 3));
		for (int pass = 0; pass < 2; pass++) {
			for (int64_t o = 0; o < on; o++)
				ref[o] = -1;
			for (int64_t i = 0; i < n; i++) {
				unravel(i, rank, d, c);
				int64_t k = c[axis];
				c[axis] = 0;
				int64_t oc[RT_MAX_RANK], od[RT_MAX_RANK]; /* the output: c without axis */
				int m = 0;
				for (int j = 0; j < rank; j++)
					if (j != axis)
						oc[m] = c[j], od[m++] = d[j];
				int64_t o = ravel(m, od, oc);
				if (ref[o] < 0) {
					ref[o] = (int32_t)k;
				} else {
					c[axis] = ref[o];
					if (x[i] > x[ravel(rank, d, c)])
						ref[o] = (int32_t)k;
				}
			}
			char what[1024];
			snprintf(what, sizeof what, "%s axis %d", shp(rank, d).s, axis);
			if (pass == 0) {
				check_rc("argmax", what, rt_argmax(y, x, rank, d, axis), RT_CPU_OK);
				check_i32("argmax", what, y, ref, on);
			} else {
				check_rc("argmax_i32", what, rt_argmax_i32(y, xi, rank, d, axis), RT_CPU_OK);
				check_i32("argmax_i32", what, y, ref, on);
			}
		}
		free(x), free(xi), free(y), free(ref);
	}
	real x[5] = {1, 7, (real)NAN, 9, (real)NAN};
	int32_t y[1], want[1] = {2};
	rt_argmax(y, x, 1, D(5), 0);
	check_i32("argmax", "the first NaN wins", y, want, 1);
}

/* ---------- softmax family ---------- */

typedef struct Axis {
	int rank;
	const int64_t *d;
	int axis;
} Axis;

/* ref along an axis: kind 0 softmax, 1 log_softmax, 2 softmax_grad (x = y), 3
 * log_softmax_grad (x = y). */
static void ref_along(int kind, double *ref, const real *x, const real *dy, const Axis *a)
{
	int64_t outer = count(a->axis, a->d), n = a->d[a->axis], inner = count(a->rank - a->axis - 1, a->d + a->axis + 1);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < inner; j++) {
			int64_t base = o * n * inner + j;
#define AT(p, k) ((double)(p)[base + (k) * inner])
			double m = -INFINITY, s = 0;
			for (int64_t k = 0; k < n; k++)
				m = fmax(m, AT(x, k));
			for (int64_t k = 0; k < n; k++)
				s += kind == 0 || kind == 1 ? exp(AT(x, k) - m) : kind == 2 ? AT(dy, k) * AT(x, k) : AT(dy, k);
			for (int64_t k = 0; k < n; k++)
				ref[base + k * inner] = kind == 0   ? exp(AT(x, k) - m) / s
				                        : kind == 1 ? AT(x, k) - m - log(s)
				                        : kind == 2 ? AT(x, k) * (AT(dy, k) - s)
				                                    : AT(dy, k) - exp(AT(x, k)) * s;
#undef AT
		}
}

static void softmax_fwd(const void *ctx, const real *x, real *y)
{
	const Axis *a = ctx;
	rt_softmax(y, x, a->rank, a->d, a->axis);
}

static void log_softmax_fwd(const void *ctx, const real *x, real *y)
{
	const Axis *a = ctx;
	rt_log_softmax(y, x, a->rank, a->d, a->axis);
}

static void test_softmax(void)
{
	const Axis cases[] = {
		{4, D(2, 3, 65, 65), 3}, {4, D(2, 3, 257, 257), 3}, {2, D(4, 257), 1}, {1, D(1), 0},  {1, D(9), 0},
		{3, D(3, 5, 4), 1},      {3, D(3, 5, 4), 0},        {4, D(2, 1, 7, 3), 2}, {3, D(2, 6, 1), 1},
	};
	const char *names[] = {"softmax", "log_softmax", "softmax_grad", "log_softmax_grad"};
	for (int t = 0; t < NELEM(cases); t++) {
		const Axis *a = &cases[t];
		int64_t n = count(a->rank, a->d);
		real *x = NEW(real, n), *y = NEW(real, n), *ls = NEW(real, n), *dy = NEW(real, n), *g = NEW(real, n);
		double *ref = NEW(double, n), *bound = NEW(double, n);
		fill_unif(x, n, -4, 4);
		fill_unif(dy, n, -1, 1);
		char what[1024];
		snprintf(what, sizeof what, "%s axis %d", shp(a->rank, a->d).s, a->axis);

		/* exp(x - m) of a rounded difference: |x - m| <= 8 carries 8 u into the exponent */
		check_rc(names[0], what, rt_softmax(y, x, a->rank, a->d, a->axis), RT_CPU_OK);
		ref_along(0, ref, x, NULL, a);
		check_real(names[0], what, y, ref, NULL, n, 0, 16 * U);
		/* the same 8 u, as an absolute error of the logarithm */
		check_rc(names[1], what, rt_log_softmax(ls, x, a->rank, a->d, a->axis), RT_CPU_OK);
		ref_along(1, ref, x, NULL, a);
		check_real(names[1], what, ls, ref, NULL, n, 16 * U, 2 * U);
		/* on the kernel's own y: computed in double, then one rounding; the sum's double
		 * error n u_d sum|dy y| scaled by |y| */
		int64_t len = a->d[a->axis];
		check_rc(names[2], what, rt_softmax_grad(g, y, dy, a->rank, a->d, a->axis), RT_CPU_OK);
		ref_along(2, ref, y, dy, a);
		for (int64_t i = 0; i < n; i++)
			bound[i] = fabs((double)y[i]) * (double)len * UD * 4;
		check_real(names[2], what, g, ref, bound, n, 1e-300, U);
		if (n < 200)
			check_fd(names[2], what, g, softmax_fwd, a, x, n, dy, n);
		/* exp(y) in rt_real (2 u) and the product's rounding, times |sum dy| <= len; and
		 * the sum of len terms |dy| <= 1 accumulated in double in another order */
		check_rc(names[3], what, rt_log_softmax_grad(g, ls, dy, a->rank, a->d, a->axis), RT_CPU_OK);
		ref_along(3, ref, ls, dy, a);
		for (int64_t i = 0; i < n; i++)
			bound[i] = exp((double)ls[i]) * (double)len * (4 * U + (double)len * UD);
		check_real(names[3], what, g, ref, bound, n, 0, U);
		if (n < 200)
			check_fd(names[3], what, g, log_softmax_fwd, a, x, n, dy, n);
		free(x), free(y), free(ls), free(dy), free(g), free(ref), free(bound);
	}
	real big[3] = {1000, 1001, 999}, y[3];
	double want[3];
	for (int k = 0; k < 3; k++)
		want[k] = exp((double)big[k] - 1001) / (exp(-1.0) + 1 + exp(-2.0));
	rt_softmax(y, big, 1, D(3), 0);
	check_real("softmax", "large logits (max subtracted)", y, want, NULL, 3, 0, 16 * U);
	check_rc("softmax", "axis out of range", rt_softmax(y, big, 1, D(3), 1), RT_CPU_EARG);
}

/* ---------- layernorm ---------- */

typedef struct Ln {
	int rank;
	const int64_t *d;
	double eps;
} Ln;

static void ref_layernorm(double *ref, double *gref, const real *x, const real *dy, const Ln *l)
{
	int64_t n = l->d[l->rank - 1], rows = count(l->rank, l->d) / n;
	for (int64_t r = 0; r < rows; r++) {
		const real *p = x + r * n;
		double m = 0, v = 0, mg = 0, mgx = 0;
		for (int64_t k = 0; k < n; k++)
			m += (double)p[k] / (double)n;
		for (int64_t k = 0; k < n; k++)
			v += ((double)p[k] - m) * ((double)p[k] - m) / (double)n;
		double rstd = 1 / sqrt(v + l->eps);
		for (int64_t k = 0; k < n; k++) {
			double xh = ((double)p[k] - m) * rstd;
			ref[r * n + k] = xh;
			mg += (double)dy[r * n + k] / (double)n;
			mgx += (double)dy[r * n + k] * xh / (double)n;
		}
		for (int64_t k = 0; k < n; k++)
			gref[r * n + k] = rstd * ((double)dy[r * n + k] - mg - ref[r * n + k] * mgx);
	}
}

static void layernorm_fwd(const void *ctx, const real *x, real *y)
{
	const Ln *l = ctx;
	rt_layernorm(y, x, l->rank, l->d, l->eps);
}

static void test_layernorm(void)
{
	const Ln cases[] = {{3, D(2, 65, 192), 1e-5}, {3, D(4, 257, 192), 1e-6}, {1, D(7), 1e-6},
	                    {2, D(3, 1), 1e-5},       {3, D(5, 4, 3), 1e-5},     {2, D(3, 16), 0.5}};
	for (int t = 0; t < NELEM(cases); t++) {
		const Ln *l = &cases[t];
		int64_t n = count(l->rank, l->d);
		real *x = NEW(real, n), *y = NEW(real, n), *dy = NEW(real, n), *g = NEW(real, n);
		double *ref = NEW(double, n), *gref = NEW(double, n);
		fill_unif(x, n, -3, 5);
		fill_unif(dy, n, -1, 1);
		ref_layernorm(ref, gref, x, dy, l);
		char what[1024];
		snprintf(what, sizeof what, "%s eps %g", shp(l->rank, l->d).s, l->eps);
		/* statistics in double: the result is rounded once (double's error, amplified by
		 * rstd <= 1/sqrt(eps), stays below 1e-9) */
		check_rc("layernorm", what, rt_layernorm(y, x, l->rank, l->d, l->eps), RT_CPU_OK);
		check_real("layernorm", what, y, ref, NULL, n, IS_DOUBLE ? 1e-13 : 1e-9, U);
		check_rc("layernorm_grad", what, rt_layernorm_grad(g, x, dy, l->rank, l->d, l->eps), RT_CPU_OK);
		check_real("layernorm_grad", what, g, gref, NULL, n, IS_DOUBLE ? 1e-13 : 1e-9, U);
		if (n < 100)
			check_fd("layernorm_grad", what, g, layernorm_fwd, l, x, n, dy, n);
		free(x), free(y), free(dy), free(g), free(ref), free(gref);
	}
	real c[4] = {2, 2, 2, 2}, y[4];
	double zero[4] = {0};
	rt_layernorm(y, c, 1, D(4), 1e-5);
	check_real("layernorm", "constant row gives 0", y, zero, NULL, 4, 0, 0);
	check_rc("layernorm", "rank 0", rt_layernorm(y, c, 0, NULL, 1e-5), RT_CPU_ESHAPE);
}

/* ---------- cross-entropy ---------- */

typedef struct Ce {
	const int32_t *labels;
	const int64_t *d;
	double dloss;
} Ce;

static void ce_fwd(const void *ctx, const real *x, real *y)
{
	const Ce *c = ctx;
	rt_cross_entropy(y, x, c->labels, 2, c->d);
}

static void test_cross_entropy(void)
{
	const int64_t *cases[] = {D(64, 10), D(5, 7), D(1, 1), D(3, 1000), D(256, 200)};
	for (int t = 0; t < NELEM(cases); t++) {
		const int64_t *d = cases[t];
		int64_t n = d[0], c = d[1];
		real *x = NEW(real, n * c), *g = NEW(real, n * c), loss[1], dl[1] = {(real)0.7};
		int32_t *lab = NEW(int32_t, n);
		double *gref = NEW(double, n * c), lref = 0;
		fill_unif(x, n * c, -5, 5);
		for (int64_t i = 0; i < n; i++)
			lab[i] = (int32_t)irand(0, c - 1);
		for (int64_t i = 0; i < n; i++) {
			double m = -INFINITY, s = 0;
			for (int64_t k = 0; k < c; k++)
				m = fmax(m, (double)x[i * c + k]);
			for (int64_t k = 0; k < c; k++)
				s += exp((double)x[i * c + k] - m);
			lref += (m + log(s) - (double)x[i * c + lab[i]]) / (double)n;
			for (int64_t k = 0; k < c; k++)
				gref[i * c + k] = (double)dl[0] * (exp((double)x[i * c + k] - m) / s - (k == lab[i])) / (double)n;
		}
		Str sh = shp(2, d);
		check_rc("cross_entropy", sh.s, rt_cross_entropy(loss, x, lab, 2, d), RT_CPU_OK);
		/* exp of rounded differences |x - m| <= 10: 10 u of each term, absolute in the log */
		check_real("cross_entropy", sh.s, loss, &lref, NULL, 1, 32 * U, 2 * U);
		check_rc("cross_entropy_grad", sh.s, rt_cross_entropy_grad(g, x, lab, dl, 2, d), RT_CPU_OK);
		check_real("cross_entropy_grad", sh.s, g, gref, NULL, n * c, 32 * U / (double)n, 32 * U);
		Ce ctx = {lab, d, dl[0]};
		if (n * c < 100) {
			real *w = NEW(real, 1);
			w[0] = dl[0];
			check_fd("cross_entropy_grad", sh.s, g, ce_fwd, &ctx, x, n * c, w, 1);
			free(w);
		}
		lab[n - 1] = (int32_t)c; /* out of range: an error, the output untouched */
		loss[0] = 42;
		check_rc("cross_entropy", "label == C", rt_cross_entropy(loss, x, lab, 2, d), RT_CPU_EINDEX);
		record("cross_entropy", "output untouched on error", loss[0] == 42, 0, 0);
		lab[n - 1] = -1;
		check_rc("cross_entropy_grad", "label -1", rt_cross_entropy_grad(g, x, lab, dl, 2, d), RT_CPU_EINDEX);
		free(x), free(g), free(lab), free(gref);
	}
}

/* ---------- matmul ---------- */

typedef struct MmCase {
	int ra, rb;
	int64_t da[RT_MAX_RANK], db[RT_MAX_RANK];
	int ta, tb;
} MmCase;

/* ref and bound = (K + 2) u sum|a||b| per element (recursive summation; blocked and FMA
 * kernels do better). Returns the number of outputs. */
static int64_t ref_matmul(double *ref, double *bound, const real *a, const real *b, const MmCase *c, bool reduce)
{
	int ra = c->ra, rb = c->rb, r = (ra > rb ? ra : rb) - 2;
	int64_t ar = c->da[ra - 2], ac = c->da[ra - 1], br = c->db[rb - 2], bc = c->db[rb - 1];
	int64_t m = c->ta ? ac : ar, k = c->ta ? ar : ac, n = c->tb ? br : bc;
	int64_t od[RT_MAX_RANK], cc[RT_MAX_RANK];
	for (int i = 0; i < r; i++) {
		int ia = i - (r - (ra - 2)), ib = i - (r - (rb - 2));
		int64_t x = ia >= 0 ? c->da[ia] : 1, y = ib >= 0 ? c->db[ib] : 1;
		od[i] = x == 1 ? y : x;
	}
	int64_t batch = count(r, od), on = reduce ? m * n : batch * m * n;
	for (int64_t i = 0; i < on; i++)
		ref[i] = bound[i] = 0;
	for (int64_t t = 0; t < batch; t++) {
		unravel(t, r, od, cc);
		const real *pa = a + bcast_off(cc, r, ra - 2, c->da) * ar * ac, *pb = b + bcast_off(cc, r, rb - 2, c->db) * br * bc;
		double *po = ref + (reduce ? 0 : t * m * n), *pq = bound + (reduce ? 0 : t * m * n);
		for (int64_t i = 0; i < m; i++)
			for (int64_t j = 0; j < n; j++) {
				double s = 0, q = 0;
				for (int64_t l = 0; l < k; l++) {
					double x = (double)(c->ta ? pa[l * ac + i] : pa[i * ac + l]);
					double y = (double)(c->tb ? pb[j * bc + l] : pb[l * bc + j]);
					s += x * y;
					q += fabs(x * y);
				}
				po[i * n + j] += s;
				pq[i * n + j] += q;
			}
	}
	double kk = (double)(reduce ? batch * k : k) + 2;
	for (int64_t i = 0; i < on; i++)
		bound[i] *= kk * U;
	return on;
}

static void run_mm(const char *kernel, const MmCase *c, bool reduce)
{
	int64_t na = count(c->ra, c->da), nb = count(c->rb, c->db);
	real *a = NEW(real, na), *b = NEW(real, nb);
	fill_unif(a, na, -1, 1);
	fill_unif(b, nb, -1, 1);
	int64_t cap = (na + nb) * 64 + 4096;
	double *ref = NEW(double, cap), *bound = NEW(double, cap);
	int64_t on = ref_matmul(ref, bound, a, b, c, reduce);
	real *y = NEW(real, on);
	char what[1024];
	snprintf(what, sizeof what, "%s%s @ %s%s", shp(c->ra, c->da).s, c->ta ? "^T" : "", shp(c->rb, c->db).s,
	         c->tb ? "^T" : "");
	int rc = reduce ? rt_matmul_reduce(y, a, b, c->ra, c->da, c->rb, c->db, c->ta, c->tb)
	                : rt_matmul(y, a, b, c->ra, c->da, c->rb, c->db, c->ta, c->tb);
	check_rc(kernel, what, rc, RT_CPU_OK);
	check_real(kernel, what, y, ref, bound, on, 0, 0);
	free(a), free(b), free(ref), free(bound), free(y);
}

/* matmul_reduce as the gradient autodiff emits for a rank-2 operand W of a batched
 * product, against finite differences of L = sum(dy * matmul(.., W, ..)). */
typedef struct MmFd {
	const MmCase *fwd;
	const real *other;
	int w_is_b;
} MmFd;

static void mm_fwd(const void *ctx, const real *w, real *y)
{
	const MmFd *f = ctx;
	const MmCase *c = f->fwd;
	rt_matmul(y, f->w_is_b ? f->other : w, f->w_is_b ? w : f->other, c->ra, c->da, c->rb, c->db, c->ta, c->tb);
}

static void test_matmul(void)
{
	MmCase fixed[] = {
		{3, 2, {2, 65, 192}, {576, 192}, 0, 1},          /* qkv: one GEMM over all rows */
		{4, 4, {2, 3, 65, 64}, {2, 3, 65, 64}, 0, 1},    /* attention scores */
		{4, 4, {2, 3, 65, 65}, {2, 3, 65, 64}, 0, 0},    /* attention times values */
		{4, 4, {2, 3, 65, 65}, {2, 3, 65, 64}, 1, 0},    /* its gradients */
		{3, 3, {2, 257, 64}, {1, 64, 5}, 0, 0},          /* b with a batch axis of 1 */
		{4, 4, {1, 3, 5, 4}, {2, 1, 4, 6}, 0, 0},        /* both broadcast */
		{2, 4, {5, 4}, {2, 3, 4, 6}, 0, 0},              /* a broadcast */
		{2, 3, {5, 4}, {3, 6, 5}, 1, 1},
		{2, 2, {1, 1}, {1, 1}, 0, 0},
		{3, 2, {2, 3, 4}, {3, 5}, 1, 0},                 /* ta with a shared b: per batch */
	};
	for (int t = 0; t < NELEM(fixed); t++)
		run_mm("matmul", &fixed[t], false);
	for (int t = 0; t < 40; t++) {
		MmCase c = {.ta = (int)irand(0, 1), .tb = (int)irand(0, 1)};
		int r = (int)irand(0, 3);
		int64_t od[RT_MAX_RANK];
		rand_dims(r, od, 3);
		c.ra = rand_operand(r, od, c.da) + 2;
		c.rb = rand_operand(r, od, c.db) + 2;
		int64_t m = irand(1, 7), k = irand(1, 7), n = irand(1, 7);
		c.da[c.ra - 2] = c.ta ? k : m, c.da[c.ra - 1] = c.ta ? m : k;
		c.db[c.rb - 2] = c.tb ? n : k, c.db[c.rb - 1] = c.tb ? k : n;
		run_mm("matmul", &c, false);
	}
	real z[4];
	check_rc("matmul", "inner dimensions differ", rt_matmul(z, z, z, 2, D(2, 3), 2, D(2, 3), 0, 0), RT_CPU_ESHAPE);
	check_rc("matmul", "batch dims do not broadcast", rt_matmul(z, z, z, 3, D(2, 1, 1), 3, D(3, 1, 1), 0, 0),
	         RT_CPU_ESHAPE);
	check_rc("matmul", "rank 1", rt_matmul(z, z, z, 1, D(2), 2, D(2, 1), 0, 0), RT_CPU_ESHAPE);

	MmCase red[] = {
		{3, 3, {2, 65, 576}, {2, 65, 192}, 1, 0}, /* dW of a Linear: one GEMM, K = batch rows */
		{4, 4, {2, 3, 5, 4}, {2, 3, 5, 6}, 1, 0}, {4, 4, {2, 3, 4, 5}, {2, 3, 6, 5}, 0, 1},
		{3, 3, {3, 4, 5}, {3, 5, 6}, 0, 0},       {3, 3, {3, 5, 4}, {3, 6, 5}, 1, 1},
		{2, 2, {4, 5}, {5, 6}, 0, 0},             {2, 2, {5, 4}, {5, 6}, 1, 0},
	};
	for (int t = 0; t < NELEM(red); t++)
		run_mm("matmul_reduce", &red[t], true);
	check_rc("matmul_reduce", "leading dims differ",
	         rt_matmul_reduce(z, z, z, 3, D(2, 1, 1), 3, D(1, 1, 1), 1, 0), RT_CPU_ESHAPE);

	/* gradients of W in x @ W^T, x @ W and W @ x, as autodiff emits them */
	struct {
		MmCase fwd, grad;
		int w_is_b, dy_first;
	} g[] = {
		{{3, 2, {2, 5, 4}, {3, 4}, 0, 1}, {3, 3, {2, 5, 3}, {2, 5, 4}, 1, 0}, 1, 1}, /* dW = dy^T x */
		{{3, 2, {2, 5, 4}, {4, 3}, 0, 0}, {3, 3, {2, 5, 4}, {2, 5, 3}, 1, 0}, 1, 0}, /* dW = x^T dy */
		{{2, 3, {3, 4}, {2, 4, 5}, 0, 0}, {3, 3, {2, 3, 5}, {2, 4, 5}, 0, 1}, 0, 1}, /* dW = dy x^T */
		{{2, 3, {4, 3}, {2, 4, 5}, 1, 0}, {3, 3, {2, 4, 5}, {2, 3, 5}, 0, 1}, 0, 0}, /* dW = x dy^T */
	};
	for (int t = 0; t < NELEM(g); t++) {
		const MmCase *f = &g[t].fwd, *gc = &g[t].grad;
		int wb = g[t].w_is_b;
		int64_t nw = wb ? count(f->rb, f->db) : count(f->ra, f->da), no = wb ? count(f->ra, f->da) : count(f->rb, f->db);
		int64_t ny = count(gc->ra, gc->da) + count(gc->rb, gc->db) - no;
		real *w = NEW(real, nw), *other = NEW(real, no), *gw = NEW(real, nw), *dy = NEW(real, ny);
		fill_unif(w, nw, -1, 1);
		fill_unif(other, no, -1, 1);
		fill_unif(dy, ny, -1, 1);
		const real *ga = g[t].dy_first ? dy : other, *gb = g[t].dy_first ? other : dy;
		char what[1024];
		snprintf(what, sizeof what, "dW of %s%s @ %s%s", shp(f->ra, f->da).s, f->ta ? "^T" : "", shp(f->rb, f->db).s,
		         f->tb ? "^T" : "");
		check_rc("matmul_reduce", what, rt_matmul_reduce(gw, ga, gb, gc->ra, gc->da, gc->rb, gc->db, gc->ta, gc->tb),
		         RT_CPU_OK);
		MmFd ctx = {f, other, wb};
		check_fd("matmul_reduce", what, gw, mm_fwd, &ctx, w, nw, dy, ny);
		free(w), free(other), free(gw), free(dy);
	}
}

/* ---------- data movement ---------- */

/* Random bytes for es-byte elements. */
/* ---------- bf16 storage ---------- */

/* The bf16 nearest to the float with bits u, ties to even, worked out in double. */
static uint16_t ref_bf16(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	if (isnan(f))
		return (uint16_t)((u >> 16) | 0x40);
	uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
	float flo, fhi;
	memcpy(&flo, &lo, sizeof flo);
	memcpy(&fhi, &hi, sizeof fhi);
	if ((u & 0xffffu) == 0)
		return (uint16_t)(lo >> 16);
	double dlo = fabs((double)f - (double)flo), dhi = isinf(fhi) ? INFINITY : fabs((double)fhi - (double)f);
	if ((lo & 0x7fffffffu) == 0x7f7f0000u && (u & 0xffffu) >= 0x8000u)
		return (uint16_t)(hi >> 16); /* past the largest bf16 halfway: infinity, as IEEE rounding */
	if (dlo < dhi || (dlo == dhi && ((lo >> 16) & 1) == 0))
		return (uint16_t)(lo >> 16);
	return (uint16_t)(hi >> 16);
}

static void test_bf16(void)
{
	/* every bf16 widens and rounds back to itself; NaN stays NaN */
	int64_t bad = 0;
	for (uint32_t b = 0; b < 65536; b++) {
		real x = rt_real_of_bf16((rt_bf16)b);
		rt_bf16 back = rt_bf16_of_real(x);
		bool nan = ((b & 0x7f80u) == 0x7f80u) && (b & 0x7fu);
		if (nan ? !isnan(x) || !isnan(rt_real_of_bf16(back)) : back != b)
			bad++;
	}
	record("bf16", "every bf16 widens and rounds back", bad == 0, (double)bad, 0);
	/* rounding of floats: ties to even, carries into the exponent, overflow to infinity */
	bad = 0;
	uint32_t edge[] = {0x3f808000u, 0x3f818000u, 0x3f80c000u, 0x3f7fffffu, 0x7f7fffffu, 0x7f7f8000u, 0x7f7f7fffu,
	                   0x00008000u, 0x80018000u, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0x00000001u};
	for (int t = 0; t < NELEM(edge) + 200000; t++) {
		uint32_t u = t < NELEM(edge) ? edge[t] : (uint32_t)next();
		float f;
		memcpy(&f, &u, sizeof f);
		rt_bf16 got = rt_bf16_of_real((real)f), want = ref_bf16(u);
		if (got != want && !(isnan(f) && isnan(rt_real_of_bf16(got))) && bad++ < 3)
			printf("    bf16 rounding: 0x%08x gives 0x%04x, want 0x%04x\n", u, got, want);
	}
	record("bf16", "rounding to nearest even of 200013 floats", bad == 0, (double)bad, 0);

	/* the casts and the products of bf16 operands: the real kernels on the widened values */
	MmCase cases[] = {
		{3, 2, {2, 65, 48}, {96, 48}, 0, 1}, {4, 4, {2, 3, 17, 16}, {2, 3, 17, 16}, 0, 1}, {3, 3, {2, 7, 5}, {2, 7, 6}, 1, 0},
	};
	for (int t = 0; t < NELEM(cases); t++) {
		const MmCase *c = &cases[t];
		int64_t na = count(c->ra, c->da), nb = count(c->rb, c->db);
		real *a = NEW(real, na), *b = NEW(real, nb), *wa = NEW(real, na), *wb = NEW(real, nb);
		rt_bf16 *ha = NEW(rt_bf16, na), *hb = NEW(rt_bf16, nb);
		fill_unif(a, na, -1, 1);
		fill_unif(b, nb, -1, 1);
		check_rc("cast bf16", "real -> bf16", rt_cast_real_bf16(ha, a, c->ra, c->da), RT_CPU_OK);
		check_rc("cast bf16", "bf16 -> real", rt_cast_bf16_real(wa, ha, c->ra, c->da), RT_CPU_OK);
		rt_cast_real_bf16(hb, b, c->rb, c->db);
		rt_cast_bf16_real(wb, hb, c->rb, c->db);
		bad = 0;
		for (int64_t i = 0; i < na; i++)
			bad += ha[i] != rt_bf16_of_real(a[i]) || wa[i] != rt_real_of_bf16(ha[i]);
		record("cast bf16", "elementwise as rt_bf16_of_real", bad == 0, (double)bad, 0);
		bool reduce = c->ta && c->ra == 3;
		int64_t batch = c->ra == 4 ? c->da[0] * c->da[1] : c->da[0];
		int64_t on = reduce ? c->da[2] * c->db[2] : batch * c->da[c->ra - 2 + c->ta] * c->db[c->rb - 1 - c->tb];
		real *y = NEW(real, on), *y2 = NEW(real, on);
		rt_bf16 *hy = NEW(rt_bf16, on);
		char what[1024];
		snprintf(what, sizeof what, "%s @ %s", shp(c->ra, c->da).s, shp(c->rb, c->db).s);
		if (reduce) {
			rt_matmul_reduce(y, wa, wb, c->ra, c->da, c->rb, c->db, c->ta, c->tb);
			check_rc("matmul_reduce bf16", what, rt_matmul_reduce_bf16(y2, ha, hb, c->ra, c->da, c->rb, c->db, c->ta, c->tb),
			         RT_CPU_OK);
			check_bytes("matmul_reduce bf16", what, y2, y, on, sizeof *y);
			for (int64_t i = 0; i < on; i++)
				y[i] = 2 * y[i];
			rt_matmul_reduce_add_bf16(y2, ha, hb, c->ra, c->da, c->rb, c->db, c->ta, c->tb);
			double *ref = NEW(double, on);
			for (int64_t i = 0; i < on; i++)
				ref[i] = (double)y[i];
			/* beta = 1: the BLAS may add into out in another order than p + p, so within a
			 * few roundings of the sums (|p| < 14, K = 14) */
			check_real("matmul_reduce bf16", "added into out", y2, ref, NULL, on, 1e-5, 1e-6);
			free(ref);
		} else {
			rt_matmul(y, wa, wb, c->ra, c->da, c->rb, c->db, c->ta, c->tb);
			check_rc("matmul bf16", what, rt_matmul_bf16(hy, ha, hb, c->ra, c->da, c->rb, c->db, c->ta, c->tb),
			         RT_CPU_OK);
			bad = 0;
			for (int64_t i = 0; i < on; i++)
				bad += hy[i] != rt_bf16_of_real(y[i]);
			record("matmul bf16", "the real product of the widened operands, rounded", bad == 0, (double)bad, 0);
		}
		free(a), free(b), free(wa), free(wb), free(ha), free(hb), free(y), free(y2), free(hy);
	}
}

static void *rand_bytes(int64_t n, size_t es)
{
	unsigned char *p = NEW(unsigned char, (size_t)n * es + 1);
	for (size_t i = 0; i < (size_t)n * es; i++)
		p[i] = (unsigned char)next();
	return p;
}

static const size_t esizes[] = {sizeof(real), 4, 2, 8};

static void test_transpose(void)
{
	struct {
		int rank;
		int64_t d[RT_MAX_RANK], perm[RT_MAX_RANK];
	} cases[40] = {
		{5, {2, 65, 3, 3, 64}, {2, 0, 3, 1, 4}},   /* qkv heads */
		{4, {4, 257, 3, 64}, {0, 2, 1, 3}},        /* parallel, rows of 64 */
		{6, {2, 3, 16, 2, 16, 2}, {0, 2, 4, 1, 3, 5}}, /* patchify */
		{3, {2, 65, 64}, {0, 2, 1}},
		{2, {300, 200}, {1, 0}},                   /* strided rows, parallel */
		{1, {5}, {0}},
		{0, {0}, {0}},
	};
	int nc = 7;
	while (nc < NELEM(cases)) {
		int r = (int)irand(1, 6);
		cases[nc].rank = r;
		for (int i = 0; i < r; i++) {
			cases[nc].d[i] = irand(1, 4);
			cases[nc].perm[i] = i;
		}
		for (int i = r - 1; i > 0; i--) {
			int j = (int)irand(0, i);
			int64_t t = cases[nc].perm[i];
			cases[nc].perm[i] = cases[nc].perm[j], cases[nc].perm[j] = t;
		}
		nc++;
	}
	for (int t = 0; t < nc; t++)
		for (int e = 0; e < NELEM(esizes); e++) {
			int r = cases[t].rank;
			const int64_t *d = cases[t].d, *p = cases[t].perm;
			size_t es = esizes[e];
			int64_t n = count(r, d), od[RT_MAX_RANK], oc[RT_MAX_RANK], xc[RT_MAX_RANK];
			char *x = rand_bytes(n, es), *y = NEW(char, (size_t)n * es + 1), *ref = NEW(char, (size_t)n * es + 1);
			for (int i = 0; i < r; i++)
				od[i] = d[p[i]];
			for (int64_t i = 0; i < n; i++) {
				unravel(i, r, od, oc);
				for (int k = 0; k < r; k++)
					xc[p[k]] = oc[k];
				memcpy(ref + (size_t)i * es, x + (size_t)ravel(r, d, xc) * es, es);
			}
			char what[1024];
			snprintf(what, sizeof what, "%s perm %s, %zu-byte", shp(r, d).s, shp(r, p).s, es);
			check_rc("transpose", what, rt_transpose(y, x, es, r, d, p), RT_CPU_OK);
			check_bytes("transpose", what, y, ref, n, es);
			free(x), free(y), free(ref);
		}
	real z[4];
	check_rc("transpose", "not a permutation", rt_transpose(z, z, sizeof(real), 2, D(2, 2), D(0, 0)), RT_CPU_EARG);
}

static void test_expand(void)
{
	struct {
		int rx, ro;
		int64_t dx[RT_MAX_RANK], dout[RT_MAX_RANK];
	} cases[30] = {
		{3, 3, {1, 1, 192}, {2, 1, 192}},     /* cls token */
		{1, 3, {192}, {64, 65, 192}},         /* parallel rows */
		{3, 3, {64, 65, 1}, {64, 65, 192}},   /* fill */
		{3, 3, {1, 1, 128}, {2, 192, 128}},   /* mask tokens */
		{0, 2, {0}, {3, 4}},
		{2, 2, {3, 4}, {3, 4}},
	};
	int nc = 6;
	while (nc < NELEM(cases)) {
		int r = (int)irand(1, 5);
		cases[nc].ro = r;
		rand_dims(r, cases[nc].dout, 4);
		cases[nc].rx = rand_operand(r, cases[nc].dout, cases[nc].dx);
		nc++;
	}
	for (int t = 0; t < nc; t++)
		for (int e = 0; e < NELEM(esizes); e++) {
			int rx = cases[t].rx, ro = cases[t].ro;
			const int64_t *dx = cases[t].dx, *dout = cases[t].dout;
			size_t es = esizes[e];
			int64_t nx = count(rx, dx), n = count(ro, dout), c[RT_MAX_RANK];
			char *x = rand_bytes(nx, es), *y = NEW(char, (size_t)n * es + 1), *ref = NEW(char, (size_t)n * es + 1);
			for (int64_t i = 0; i < n; i++) {
				unravel(i, ro, dout, c);
				memcpy(ref + (size_t)i * es, x + (size_t)bcast_off(c, ro, rx, dx) * es, es);
			}
			char what[1024];
			snprintf(what, sizeof what, "%s to %s, %zu-byte", shp(rx, dx).s, shp(ro, dout).s, es);
			check_rc("expand", what, rt_expand(y, x, es, rx, dx, ro, dout), RT_CPU_OK);
			check_bytes("expand", what, y, ref, n, es);
			free(x), free(y), free(ref);
		}
	real z[4];
	check_rc("expand", "3 to 4", rt_expand(z, z, sizeof(real), 1, D(3), 1, D(4)), RT_CPU_ESHAPE);
}

static void test_concat_slice(void)
{
	for (int t = 0; t < 30; t++) {
		int r = (int)irand(1, 4), axis = (int)irand(0, r - 1), n = (int)irand(1, 4);
		int64_t d[RT_MAX_RANK], lens[4];
		rand_dims(r, d, 4);
		if (t == 0) /* cls token and patches */
			r = 3, axis = 1, n = 2, d[0] = 2, d[2] = 192, lens[0] = 1, lens[1] = 64;
		else if (t == 1) /* q, k and v gradients: one long copy each */
			r = 5, axis = 0, n = 3, d[1] = 4, d[2] = 3, d[3] = 65, d[4] = 64, lens[0] = lens[1] = lens[2] = 1;
		else
			for (int k = 0; k < n; k++)
				lens[k] = irand(1, 4);
		for (int e = 0; e < 2; e++) {
			size_t es = esizes[e];
			int64_t total = 0;
			for (int k = 0; k < n; k++)
				total += lens[k];
			int64_t od[RT_MAX_RANK], c[RT_MAX_RANK];
			memcpy(od, d, sizeof od);
			od[axis] = total;
			int64_t on = count(r, od);
			void *xs[4];
			for (int k = 0; k < n; k++) {
				int64_t dk[RT_MAX_RANK];
				memcpy(dk, d, sizeof dk);
				dk[axis] = lens[k];
				xs[k] = rand_bytes(count(r, dk), es);
			}
			char *y = NEW(char, (size_t)on * es + 1), *ref = NEW(char, (size_t)on * es + 1);
			for (int64_t i = 0; i < on; i++) {
				unravel(i, r, od, c);
				int k = 0;
				while (c[axis] >= lens[k])
					c[axis] -= lens[k++];
				int64_t dk[RT_MAX_RANK];
				memcpy(dk, d, sizeof dk);
				dk[axis] = lens[k];
				memcpy(ref + (size_t)i * es, (char *)xs[k] + (size_t)ravel(r, dk, c) * es, es);
			}
			char what[1024];
			snprintf(what, sizeof what, "%d inputs, lens %s, into %s axis %d", n, shp(n, lens).s, shp(r, od).s, axis);
			check_rc("concat", what, rt_concat(y, n, (const void *const *)xs, es, lens, r, od, axis), RT_CPU_OK);
			check_bytes("concat", what, y, ref, on, es);

			/* slice each input back out of the result */
			for (int k = 0, off = 0; k < n; off += (int)lens[k++]) {
				int64_t dk[RT_MAX_RANK];
				memcpy(dk, d, sizeof dk);
				dk[axis] = lens[k];
				char *s = NEW(char, (size_t)count(r, dk) * es + 1);
				snprintf(what, sizeof what, "%s axis %d [%d, %d)", shp(r, od).s, axis, off, off + (int)lens[k]);
				check_rc("slice", what, rt_slice(s, y, es, r, od, axis, off, off + lens[k]), RT_CPU_OK);
				check_bytes("slice", what, s, xs[k], count(r, dk), es);
				free(s);
			}
			for (int k = 0; k < n; k++)
				free(xs[k]);
			free(y), free(ref);
		}
	}
	/* the decoder's [B, 257, 192][:, 1:] */
	int64_t n = 2 * 257 * 192;
	real *x = NEW(real, n), *y = NEW(real, n);
	double *ref = NEW(double, n);
	fill_unif(x, n, -1, 1);
	for (int64_t b = 0, i = 0; b < 2; b++)
		for (int64_t t = 1; t < 257; t++)
			for (int64_t k = 0; k < 192; k++)
				ref[i++] = (double)x[(b * 257 + t) * 192 + k];
	check_rc("slice", "[2,257,192] axis 1 [1, 257)", rt_slice(y, x, sizeof(real), 3, D(2, 257, 192), 1, 1, 257),
	         RT_CPU_OK);
	check_real("slice", "[2,257,192] axis 1 [1, 257)", y, ref, NULL, 2 * 256 * 192, 0, 0);
	check_rc("slice", "empty range", rt_slice(y, x, sizeof(real), 1, D(4), 0, 2, 2), RT_CPU_EARG);
	check_rc("slice", "past the end", rt_slice(y, x, sizeof(real), 1, D(4), 0, 2, 5), RT_CPU_EARG);
	free(x), free(y), free(ref);
}

/* ---------- gather, scatter_add, argsort ---------- */

typedef struct GatCase {
	int rank, ri, axis;
	int64_t d[RT_MAX_RANK], di[RT_MAX_RANK];
} GatCase;

/* Offset in x (dims with d[axis] = nx) of gathered element i (out dims: di ++ d[ri..]). */
static int64_t gat_src(const GatCase *g, int64_t nx, const int32_t *idx, int64_t i)
{
	int64_t od[RT_MAX_RANK], c[RT_MAX_RANK], xd[RT_MAX_RANK];
	for (int k = 0; k < g->rank; k++) {
		od[k] = k < g->ri ? g->di[k] : g->d[k];
		xd[k] = g->d[k];
	}
	xd[g->axis] = nx;
	unravel(i, g->rank, od, c);
	c[g->axis] = idx[ravel(g->ri, g->di, c)];
	return ravel(g->rank, xd, c);
}

typedef struct GatFd {
	const GatCase *g;
	const int32_t *idx;
} GatFd;

static void gather_fwd(const void *ctx, const real *x, real *y)
{
	const GatFd *f = ctx;
	rt_gather(y, x, f->idx, sizeof(real), f->g->rank, f->g->d, f->g->ri, f->g->di, f->g->axis);
}

static void test_gather(void)
{
	GatCase cases[40] = {
		{3, 2, 1, {2, 256, 192}, {2, 64}},  /* keep 64 of 256 patches */
		{3, 2, 1, {2, 257, 192}, {2, 257}}, /* unshuffle in the decoder */
		{3, 2, 1, {2, 256, 12}, {2, 256}},  /* the mask */
		{2, 1, 0, {50, 16}, {300}},         /* an embedding: repeats, parallel columns */
		{3, 3, 1, {2, 5, 3}, {2, 4, 3}},    /* torch.gather-like: idx covers all axes */
		{1, 1, 0, {7}, {9}},
	};
	int nc = 6;
	while (nc < NELEM(cases)) {
		GatCase *g = &cases[nc++];
		g->rank = (int)irand(1, 5);
		rand_dims(g->rank, g->d, 4);
		g->axis = (int)irand(0, g->rank - 1);
		g->ri = (int)irand(g->axis + 1, g->rank);
		for (int k = 0; k < g->ri; k++)
			g->di[k] = k == g->axis ? irand(1, 5) : g->d[k];
	}
	for (int t = 0; t < nc; t++) {
		const GatCase *g = &cases[t];
		int64_t nx = g->d[g->axis], ni = count(g->ri, g->di), n = ni * count(g->rank - g->ri, g->d + g->ri);
		int64_t nin = count(g->rank, g->d);
		int32_t *idx = NEW(int32_t, ni);
		if (t < 3) { /* rows of a random permutation of 256 (then 0 and the permutation + 1) */
			for (int64_t b = 0; b < g->di[0]; b++) {
				int32_t perm[257];
				for (int k = 0; k < 256; k++)
					perm[k] = k;
				for (int k = 255; k > 0; k--) {
					int j = (int)irand(0, k);
					int32_t s = perm[k];
					perm[k] = perm[j], perm[j] = s;
				}
				for (int64_t k = 0; k < g->di[1]; k++)
					idx[b * g->di[1] + k] = t == 1 ? (k == 0 ? 0 : perm[k - 1] + 1) : perm[k];
			}
		} else {
			for (int64_t i = 0; i < ni; i++)
				idx[i] = (int32_t)irand(0, nx - 1);
		}
		char what[1024];
		snprintf(what, sizeof what, "%s idx %s axis %d", shp(g->rank, g->d).s, shp(g->ri, g->di).s, g->axis);
		real *x = NEW(real, nin), *y = NEW(real, n), *dy = NEW(real, n), *dx = NEW(real, nin);
		double *ref = NEW(double, n > nin ? n : nin), *bound = NEW(double, nin);
		fill_unif(x, nin, -1, 1);
		fill_unif(dy, n, -1, 1);
		for (int64_t i = 0; i < n; i++)
			ref[i] = (double)x[gat_src(g, nx, idx, i)];
		check_rc("gather", what, rt_gather(y, x, idx, sizeof(real), g->rank, g->d, g->ri, g->di, g->axis), RT_CPU_OK);
		check_real("gather", what, y, ref, NULL, n, 0, 0);
		int32_t *xi = NEW(int32_t, nin), *yi = NEW(int32_t, n), *ri = NEW(int32_t, n);
		for (int64_t i = 0; i < nin; i++)
			xi[i] = (int32_t)next();
		for (int64_t i = 0; i < n; i++)
			ri[i] = xi[gat_src(g, nx, idx, i)];
		rt_gather(yi, xi, idx, 4, g->rank, g->d, g->ri, g->di, g->axis);
		check_i32("gather", what, yi, ri, n);

		/* scatter_add: the reference sums in double; the kernel in rt_real, in k order */
		for (int64_t i = 0; i < nin; i++)
			ref[i] = bound[i] = 0;
		for (int64_t i = 0; i < n; i++) {
			int64_t at = gat_src(g, nx, idx, i);
			ref[at] += (double)dy[i];
			bound[at] += fabs((double)dy[i]);
		}
		for (int64_t i = 0; i < nin; i++)
			bound[i] *= 2 * U * (double)g->di[g->axis];
		/* dy's dims: idx's, then x's trailing ones */
		int64_t dd[RT_MAX_RANK];
		for (int k = 0; k < g->rank; k++)
			dd[k] = k < g->ri ? g->di[k] : g->d[k];
		check_rc("scatter_add", what, rt_scatter_add(dx, dy, idx, g->rank, dd, g->ri, g->di, g->axis, nx), RT_CPU_OK);
		check_real("scatter_add", what, dx, ref, bound, nin, 0, U);
		/* the adjoint identity <gather(x), dy> = <x, scatter_add(dy)> */
		double l = 0, r = 0, q = 0;
		for (int64_t i = 0; i < n; i++)
			l += (double)y[i] * (double)dy[i], q += fabs((double)y[i] * (double)dy[i]);
		for (int64_t i = 0; i < nin; i++)
			r += (double)x[i] * (double)dx[i];
		char adj[1100];
		snprintf(adj, sizeof adj, "%s adjoint", what);
		double lr[1] = {l};
		real rr[1] = {(real)r};
		check_real("scatter_add", adj, rr, lr, NULL, 1, 4 * U * q + 1e-300, 0);
		if (nin < 100) {
			GatFd ctx = {g, idx};
			check_fd("scatter_add", what, dx, gather_fwd, &ctx, x, nin, dy, n);
		}
		/* bounds: -1 and nx, output untouched */
		if (ni > 1) {
			int32_t keep = idx[ni - 1];
			y[0] = 42;
			idx[ni - 1] = (int32_t)nx;
			check_rc("gather", "index == size",
			         rt_gather(y, x, idx, sizeof(real), g->rank, g->d, g->ri, g->di, g->axis), RT_CPU_EINDEX);
			idx[ni - 1] = -1;
			check_rc("scatter_add", "index -1", rt_scatter_add(dx, dy, idx, g->rank, dd, g->ri, g->di, g->axis, nx),
			         RT_CPU_EINDEX);
			record("gather", "output untouched on error", y[0] == 42, 0, 0);
			idx[ni - 1] = keep;
		}
		free(idx), free(x), free(y), free(dy), free(dx), free(ref), free(bound), free(xi), free(yi), free(ri);
	}
}

/* ascending, stable, NaN last */
static bool ref_lt(double a, double b)
{
	return a < b || (isnan(b) && !isnan(a));
}

static void test_argsort(void)
{
	for (int t = 0; t < 30; t++) {
		int rank = (int)irand(1, 4), axis = (int)irand(0, rank - 1);
		int64_t d[RT_MAX_RANK];
		rand_dims(rank, d, 5);
		if (t == 0)
			rank = 2, d[0] = 64, d[1] = 256, axis = 1; /* MAE: inverse permutations, parallel */
		if (t == 1)
			rank = 2, d[0] = 3, d[1] = 5000, axis = 1; /* long lines: several merge passes */
		if (t == 2)
			rank = 3, d[0] = 2, d[1] = 300, d[2] = 3, axis = 1; /* strided lines */
		int64_t n = count(rank, d), len = d[axis], inner = count(rank - axis - 1, d + axis + 1);
		real *x = NEW(real, n);
		int32_t *xi = NEW(int32_t, n), *y = NEW(int32_t, n), *ref = NEW(int32_t, n), *line = NEW(int32_t, len);
		for (int64_t i = 0; i < n; i++) {
			xi[i] = (int32_t)(t == 0 ? i % 256 : irand(-3, 3)); /* ties everywhere */
			x[i] = (real)xi[i];
			if (t > 2 && irand(0, 9) == 0)
				x[i] = (real)NAN;
		}
		if (t == 0) /* shuffle each row: permutations of 256 */
			for (int64_t b = 0; b < 64; b++)
				for (int k = 255; k > 0; k--) {
					int j = (int)irand(0, k);
					int32_t s = xi[b * 256 + k];
					xi[b * 256 + k] = xi[b * 256 + j], xi[b * 256 + j] = s;
					x[b * 256 + k] = (real)xi[b * 256 + k], x[b * 256 + j] = (real)xi[b * 256 + j];
				}
		for (int pass = 0; pass < 2; pass++) {
			for (int64_t o = 0; o < n / len / inner; o++)
				for (int64_t j = 0; j < inner; j++) {
					int64_t base = o * len * inner + j;
					for (int64_t k = 0; k < len; k++) { /* insertion sort: stable by construction */
						int32_t v = (int32_t)k;
						int64_t p = k;
						double kv = pass ? (double)xi[base + k * inner] : (double)x[base + k * inner];
						for (; p > 0; p--) {
							double kp = pass ? (double)xi[base + line[p - 1] * inner] : (double)x[base + line[p - 1] * inner];
							if (!ref_lt(kv, kp))
								break;
							line[p] = line[p - 1];
						}
						line[p] = v;
					}
					for (int64_t k = 0; k < len; k++)
						ref[base + k * inner] = line[k];
				}
			char what[1024];
			snprintf(what, sizeof what, "%s axis %d", shp(rank, d).s, axis);
			if (pass == 0) {
				check_rc("argsort", what, rt_argsort(y, x, rank, d, axis), RT_CPU_OK);
				check_i32("argsort", what, y, ref, n);
			} else {
				check_rc("argsort_i32", what, rt_argsort_i32(y, xi, rank, d, axis), RT_CPU_OK);
				check_i32("argsort_i32", what, y, ref, n);
			}
		}
		if (t == 0) { /* gather with the permutation, then with its argsort: the identity */
			real *v = NEW(real, n * 48), *s = NEW(real, n * 48), *u = NEW(real, n * 48);
			double *want = NEW(double, n * 48);
			fill_unif(v, n * 48, -1, 1);
			for (int64_t i = 0; i < n * 48; i++)
				want[i] = (double)v[i];
			rt_argsort_i32(y, xi, 2, d, 1);
			rt_gather(s, v, xi, sizeof(real), 3, D(64, 256, 48), 2, d, 1);
			rt_gather(u, s, y, sizeof(real), 3, D(64, 256, 48), 2, d, 1);
			check_real("argsort", "gather(gather(x, p), argsort(p)) = x", u, want, NULL, n * 48, 0, 0);
			free(v), free(s), free(u), free(want);
		}
		free(x), free(xi), free(y), free(ref), free(line);
	}
}

/* ---------- threads ---------- */

#ifdef _OPENMP
/* The same bits with 1 and 3 threads, for the kernels whose work splits. */
static void test_threads(void)
{
	int64_t n = 4 * 257 * 192, big = 1 << 20;
	real *x = NEW(real, big), *y1 = NEW(real, big), *y3 = NEW(real, big), *dy = NEW(real, big);
	fill_unif(x, big, -2, 2);
	fill_unif(dy, big, -1, 1);
	int32_t *idx = NEW(int32_t, 4 * 600);
	for (int i = 0; i < 4 * 600; i++)
		idx[i] = (int32_t)irand(0, 256);
	int saved = omp_get_max_threads();
	for (int k = 0; k < 9; k++) {
		const char *what = "";
		int64_t m = n;
		for (int pass = 0; pass < 2; pass++) {
			omp_set_num_threads(pass ? 3 : 1);
			real *y = pass ? y3 : y1;
			switch (k) {
			case 0: what = "sum [2^20]"; m = 1; rt_reduce(RT_OP_SUM, y, x, 1, D(big), 0, NULL); break;
			case 1: what = "sum [4,257,192] axes [0,1]"; m = 192; rt_reduce(RT_OP_SUM, y, x, 3, D(4, 257, 192), 2, D(0, 1)); break;
			case 2: what = "mean [3,300000] axis 1"; m = 3; rt_reduce(RT_OP_MEAN, y, x, 2, D(3, 300000), 1, D(1)); break;
			case 3: what = "softmax [4,3,257,64]"; rt_softmax(y, x, 4, D(4, 3, 257, 64), 3); break;
			case 4: what = "layernorm_grad [4,257,192]"; rt_layernorm_grad(y, x, dy, 3, D(4, 257, 192), 1e-6); break;
			case 5: what = "scatter_add [4,600,192] repeats"; m = 4 * 257 * 192;
				rt_scatter_add(y, dy, idx, 3, D(4, 600, 192), 2, D(4, 600), 1, 257); break;
			case 6: what = "gelu [4,257,192]"; rt_unary(RT_OP_GELU, y, x, 3, D(4, 257, 192)); break;
			case 7: what = "matmul [4,257,192] @ [576,192]^T"; m = 4 * 257 * 576;
				rt_matmul(y, x, dy, 3, D(4, 257, 192), 2, D(576, 192), 0, 1); break;
			case 8: what = "matmul [4,3,257,64] @ [4,3,257,64]^T"; m = 4 * 3 * 257 * 257;
				rt_matmul(y, x, dy, 4, D(4, 3, 257, 64), 4, D(4, 3, 257, 64), 0, 1); break;
			}
		}
		char buf[200];
		snprintf(buf, sizeof buf, "%s, 1 vs 3 threads", what);
		check_bytes("threads", buf, y1, y3, m, sizeof(real));
	}
	omp_set_num_threads(saved);
	free(x), free(y1), free(y3), free(dy), free(idx);
}
#endif

/* ---------- timings ---------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of a few runs, after one to warm up; flops or bytes per run for the rate. */
#define BENCH(label, shape, work, unit, call)                                                                          \
	do {                                                                                                               \
		(void)(call);                                                                                                  \
		double best_ = 1e30;                                                                                           \
		for (int r_ = 0; r_ < 5; r_++) {                                                                               \
			double t0_ = now();                                                                                        \
			(void)(call);                                                                                              \
			best_ = fmin(best_, now() - t0_);                                                                          \
		}                                                                                                              \
		printf("  %-16s %-34s %9.3f ms %8.1f %s\n", label, shape, best_ * 1e3, (work) / best_ * 1e-9, unit);       \
	} while (0)

static void bench(void)
{
	const int64_t B = 64;
	int threads = 1;
#ifdef _OPENMP
	threads = omp_get_max_threads();
#endif
	printf("\ntimings at batch %lld, %s, %d OpenMP threads (best of 5):\n", (long long)B,
	       IS_DOUBLE ? "double" : "float", threads);
	int64_t big = B * 3 * 257 * 257;
	real *a = NEW(real, big), *b = NEW(real, big), *c = NEW(real, big);
	fill_unif(a, big, -1, 1);
	fill_unif(b, big, -1, 1);
	double es = (double)sizeof(real);
	int64_t t257 = B * 257;
	BENCH("matmul", "[B,65,192] @ [576,192]^T", 2.0 * B * 65 * 576 * 192, "GFLOP/s",
	      rt_matmul(c, a, b, 3, D(B, 65, 192), 2, D(576, 192), 0, 1));
	BENCH("matmul", "[B,257,192] @ [768,192]^T", 2.0 * t257 * 768 * 192, "GFLOP/s",
	      rt_matmul(c, a, b, 3, D(B, 257, 192), 2, D(768, 192), 0, 1));
	BENCH("matmul", "[B,257,768] @ [192,768]^T", 2.0 * t257 * 768 * 192, "GFLOP/s",
	      rt_matmul(c, a, b, 3, D(B, 257, 768), 2, D(192, 768), 0, 1));
	BENCH("matmul", "[B,257,192] @ [192,768]", 2.0 * t257 * 768 * 192, "GFLOP/s",
	      rt_matmul(c, a, b, 3, D(B, 257, 192), 2, D(192, 768), 0, 0));
	BENCH("matmul", "[B,3,65,64] @ [B,3,65,64]^T", 2.0 * B * 3 * 65 * 65 * 64, "GFLOP/s",
	      rt_matmul(c, a, b, 4, D(B, 3, 65, 64), 4, D(B, 3, 65, 64), 0, 1));
	BENCH("matmul", "[B,3,257,64] @ [B,3,257,64]^T", 2.0 * B * 3 * 257 * 257 * 64, "GFLOP/s",
	      rt_matmul(c, a, b, 4, D(B, 3, 257, 64), 4, D(B, 3, 257, 64), 0, 1));
	BENCH("matmul", "[B,3,257,257] @ [B,3,257,64]", 2.0 * B * 3 * 257 * 257 * 64, "GFLOP/s",
	      rt_matmul(c, a, b, 4, D(B, 3, 257, 257), 4, D(B, 3, 257, 64), 0, 0));
	BENCH("matmul", "[B,3,257,257]^T @ [B,3,257,64]", 2.0 * B * 3 * 257 * 257 * 64, "GFLOP/s",
	      rt_matmul(c, a, b, 4, D(B, 3, 257, 257), 4, D(B, 3, 257, 64), 1, 0));
	BENCH("matmul_reduce", "[B,257,768]^T @ [B,257,192]", 2.0 * t257 * 768 * 192, "GFLOP/s",
	      rt_matmul_reduce(c, a, b, 3, D(B, 257, 768), 3, D(B, 257, 192), 1, 0));
	BENCH("matmul_reduce", "[B,65,576]^T @ [B,65,192]", 2.0 * B * 65 * 576 * 192, "GFLOP/s",
	      rt_matmul_reduce(c, a, b, 3, D(B, 65, 576), 3, D(B, 65, 192), 1, 0));
	double ln = (double)t257 * 192 * es;
	BENCH("layernorm", "[B,257,192]", 2 * ln, "GB/s", rt_layernorm(c, a, 3, D(B, 257, 192), 1e-6));
	BENCH("layernorm_grad", "[B,257,192]", 3 * ln, "GB/s", rt_layernorm_grad(c, a, b, 3, D(B, 257, 192), 1e-6));
	double sm = (double)big * es;
	BENCH("softmax", "[B,3,257,257] axis 3", 2 * sm, "GB/s", rt_softmax(c, a, 4, D(B, 3, 257, 257), 3));
	BENCH("softmax_grad", "[B,3,257,257] axis 3", 3 * sm, "GB/s", rt_softmax_grad(c, a, b, 4, D(B, 3, 257, 257), 3));
	BENCH("softmax", "[B,3,65,65] axis 3", 2.0 * B * 3 * 65 * 65 * es, "GB/s", rt_softmax(c, a, 4, D(B, 3, 65, 65), 3));
	double ge = (double)t257 * 768 * es;
	BENCH("gelu", "[B,257,768]", 2 * ge, "GB/s", rt_unary(RT_OP_GELU, c, a, 3, D(B, 257, 768)));
	BENCH("gelu_grad", "[B,257,768]", 3 * ge, "GB/s", rt_gelu_grad(c, a, b, 3, D(B, 257, 768)));
	BENCH("add (bias)", "[B,257,768] + [768]", 2 * ge, "GB/s", rt_binary(RT_OP_ADD, c, a, 3, D(B, 257, 768), b, 1, D(768)));
	BENCH("mul", "[B,257,768] * [B,257,768]", 3 * ge, "GB/s",
	      rt_binary(RT_OP_MUL, c, a, 3, D(B, 257, 768), b, 3, D(B, 257, 768)));
	BENCH("sum (bias grad)", "[B,257,768] axes [0,1]", ge, "GB/s", rt_reduce(RT_OP_SUM, c, a, 3, D(B, 257, 768), 2, D(0, 1)));
	double tq = (double)B * 257 * 576 * es;
	BENCH("transpose", "[B,257,3,3,64] [2,0,3,1,4]", 2 * tq, "GB/s",
	      rt_transpose(c, a, sizeof(real), 5, D(B, 257, 3, 3, 64), D(2, 0, 3, 1, 4)));
	int32_t *idx = NEW(int32_t, B * 257);
	for (int64_t i = 0; i < B * 257; i++)
		idx[i] = (int32_t)(i % 257);
	double gb = (double)t257 * 192 * es;
	BENCH("gather", "[B,257,192] idx [B,257]", 2 * gb, "GB/s",
	      rt_gather(c, a, idx, sizeof(real), 3, D(B, 257, 192), 2, D(B, 257), 1));
	BENCH("scatter_add", "[B,257,192] idx [B,257]", 2 * gb, "GB/s",
	      rt_scatter_add(c, a, idx, 3, D(B, 257, 192), 2, D(B, 257), 1, 257));
	free(a), free(b), free(c), free(idx);
}

int main(int argc, char **argv)
{
	bool do_bench = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (!strcmp(argv[i], "--bench"))
			do_bench = true;
		else {
			fprintf(stderr, "usage: %s [--verbose] [--bench]\n", argv[0]);
			return 2;
		}
	}
	printf("test_cpu: rt_real is %s%s\n", IS_DOUBLE ? "double" : "float",
	       IS_DOUBLE ? "" : " (finite-difference checks need the double build)");
	make_pairs();
	test_fill_copy_cast();
	test_unary();
	test_binary();
	test_reduce();
	test_argmax();
	test_softmax();
	test_layernorm();
	test_cross_entropy();
	test_matmul();
	test_bf16();
	test_transpose();
	test_expand();
	test_concat_slice();
	test_gather();
	test_argsort();
#ifdef _OPENMP
	test_threads();
#endif
	printf("\n  %-24s %6s %6s %12s %12s\n", "kernel", "pass", "fail", "max abs err", "max rel err");
	for (int i = 0; i < nstats; i++)
		printf("  %-24s %6d %6d %12.3g %12.3g\n", stats[i].kernel, stats[i].pass, stats[i].fail, stats[i].abs,
		       stats[i].rel);
	if (do_bench)
		bench();
	printf("\n%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
