/* cpu.c: the CPU kernels of runtime/kernels/cpu.h.
 *
 * Built with each generated trainer: -DMAEC_REAL=float or double, -O3 -march=native
 * -fopenmp, CBLAS. Without -fopenmp (and with -Wno-unknown-pragmas) it runs serially.
 *
 * Determinism: work is split by the shapes alone (fixed blocks of elements, rows or
 * columns), never by the thread count, and every output element is written by one thread,
 * which accumulates its terms in an order the shapes fix. So results do not depend on the
 * number of threads, except inside the BLAS.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h> /* exp(x) is expf for a float x, exp for a double one */

#include <cblas.h>

#include "kernels/cpu.h"

typedef rt_real real;

/* Elementwise work is parallel above this many elements, in blocks of BLOCK. */
enum { PAR_MIN = 32768, BLOCK = 8192 };

#define SQRT1_2 0.70710678118654752440 /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define TRY(e)                                                                                                         \
	do {                                                                                                               \
		int rc_ = (e);                                                                                                 \
		if (rc_)                                                                                                       \
			return rc_;                                                                                                \
	} while (0)

const char *rt_cpu_strerror(int status)
{
	switch (status) {
	case RT_CPU_OK: return "success";
	case RT_CPU_EINDEX: return "index out of range";
	case RT_CPU_ESHAPE: return "shapes do not fit the op";
	case RT_CPU_EARG: return "invalid attribute or op";
	case RT_CPU_ENOMEM: return "out of memory";
	default: return "unknown status";
	}
}

/* ---------- shapes ---------- */

static int numel(int rank, const int64_t *dims, int64_t *n)
{
	if (rank < 0 || rank > RT_MAX_RANK || (rank > 0 && !dims))
		return RT_CPU_ESHAPE;
	int64_t p = 1;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return RT_CPU_ESHAPE;
		if (dims[i] > 0 && p > INT64_MAX / dims[i])
			return RT_CPU_ESHAPE;
		p *= dims[i];
	}
	*n = p;
	return RT_CPU_OK;
}

static int64_t prod(const int64_t *dims, int lo, int hi)
{
	int64_t p = 1;
	for (int i = lo; i < hi; i++)
		p *= dims[i];
	return p;
}

/* A line view of a tensor along `axis`: [outer, n, inner]. */
typedef struct Lines {
	int64_t outer, n, inner, total;
} Lines;

static int lines(Lines *l, int rank, const int64_t *dims, int axis)
{
	TRY(numel(rank, dims, &l->total));
	if (axis < 0 || axis >= rank)
		return RT_CPU_EARG;
	l->outer = prod(dims, 0, axis);
	l->n = dims[axis];
	l->inner = prod(dims, axis + 1, rank);
	return RT_CPU_OK;
}

/* ---------- fill, copy ---------- */

int rt_fill(real *out, int rank, const int64_t *dims, double value)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	real v = (real)value;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t i = 0; i < n; i++)
		out[i] = v;
	return RT_CPU_OK;
}

int rt_fill_i32(int32_t *out, int rank, const int64_t *dims, int32_t value)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t i = 0; i < n; i++)
		out[i] = value;
	return RT_CPU_OK;
}

/* memcpy of n elements of es bytes, in parallel blocks when large. */
static void copy_elems(void *out, const void *x, size_t es, int64_t n)
{
	int64_t nb = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t k = 0; k < nb; k++) {
		int64_t lo = k * BLOCK, len = MIN(BLOCK, n - lo);
		memcpy((char *)out + (size_t)lo * es, (const char *)x + (size_t)lo * es, (size_t)len * es);
	}
}

int rt_copy(void *out, const void *x, size_t esize, int rank, const int64_t *dims)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	if (esize == 0)
		return RT_CPU_EARG;
	if (out != x)
		copy_elems(out, x, esize, n);
	return RT_CPU_OK;
}

/* ---------- unary ---------- */

static inline real gelu1(real x)
{
	return x * (real)0.5 * ((real)1 + erf(x * (real)SQRT1_2)); /* PyTorch's GeluKernel order */
}

/* gelu's cost is erff's, which glibc computes one element at a time (~25 ns here). glibc
 * 2.35 and later also have vector variants of erff in libmvec, which -lm links as needed;
 * declaring erff SIMD-callable lets GCC call them from an `omp simd` loop, about 9 times
 * faster, within 1 ulp of erff. Every element goes through the same 8-wide variant (the
 * tail is padded to 8), so results do not depend on position, aliasing or threads.
 * -DMAEC_NO_LIBMVEC keeps the scalar erff. */
#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && defined(__GLIBC__) && !defined(MAEC_NO_LIBMVEC)
#if __GLIBC_PREREQ(2, 35)
#define VEC_ERFF 1
float erff(float) __attribute__((simd("notinbranch")));
float expf(float) __attribute__((simd("notinbranch")));
#endif
#endif

#ifdef VEC_ERFF
enum { VW = 8 };

/* t[l] = erff(x[l] / sqrt(2)) for 8 elements, through the vector variant. */
static inline void erf8(float *t, const float *x)
{
	float xb[VW];
	memcpy(xb, x, sizeof xb);
#pragma omp simd
	for (int l = 0; l < VW; l++)
		t[l] = erff(xb[l] * (float)SQRT1_2);
}

static void gelu_f(float *o, const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i += VW) {
		int w = (int)MIN(VW, n - i);
		float xb[VW] = {0}, t[VW];
		memcpy(xb, x + i, sizeof(float) * (size_t)w);
		erf8(t, xb);
		for (int l = 0; l < w; l++)
			o[i + l] = xb[l] * 0.5f * (1.0f + t[l]);
	}
}

static void gelu_grad_f(float *o, const float *x, const float *dy, int64_t n)
{
	for (int64_t i = 0; i < n; i += VW) {
		int w = (int)MIN(VW, n - i);
		float xb[VW] = {0}, t[VW];
		memcpy(xb, x + i, sizeof(float) * (size_t)w);
		erf8(t, xb);
		for (int l = 0; l < w; l++) {
			float v = xb[l], cdf = 0.5f * (1.0f + t[l]), pdf = (float)INV_SQRT_2PI * expf(v * v * -0.5f);
			o[i + l] = dy[i + l] * (cdf + v * pdf);
		}
	}
}
#endif

static void unary_run(RtUnaryOp op, real *o, const real *x, int64_t n)
{
	switch (op) {
	case RT_OP_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
	case RT_OP_EXP: for (int64_t i = 0; i < n; i++) o[i] = exp(x[i]); break;
	case RT_OP_LOG: for (int64_t i = 0; i < n; i++) o[i] = log(x[i]); break;
	case RT_OP_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrt(x[i]); break;
	case RT_OP_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = (real)1 / sqrt(x[i]); break;
	case RT_OP_TANH: for (int64_t i = 0; i < n; i++) o[i] = tanh(x[i]); break;
	case RT_OP_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = (real)1 / ((real)1 + exp(-x[i])); break;
	case RT_OP_RELU: /* NaN stays NaN, as torch.relu */
		for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0 || x[i] != x[i] ? x[i] : 0;
		break;
	case RT_OP_GELU:
#ifdef VEC_ERFF
		if (sizeof(real) == sizeof(float)) {
			gelu_f((float *)(void *)o, (const float *)(const void *)x, n);
			break;
		}
#endif
		for (int64_t i = 0; i < n; i++)
			o[i] = gelu1(x[i]);
		break;
	case RT_OP_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabs(x[i]); break;
	case RT_UNARY__N: break;
	}
}

int rt_unary(RtUnaryOp op, real *out, const real *x, int rank, const int64_t *dims)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	if ((unsigned)op >= RT_UNARY__N)
		return RT_CPU_EARG;
	int64_t nb = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t k = 0; k < nb; k++) {
		int64_t lo = k * BLOCK;
		unary_run(op, out + lo, x + lo, MIN(BLOCK, n - lo));
	}
	return RT_CPU_OK;
}

int rt_unary_i32(RtUnaryOp op, int32_t *out, const int32_t *x, int rank, const int64_t *dims)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	if (op != RT_OP_NEG && op != RT_OP_RELU && op != RT_OP_ABS)
		return RT_CPU_EARG;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t i = 0; i < n; i++) {
		int32_t v = x[i];
		out[i] = op == RT_OP_NEG ? rt_i32_neg(v) : op == RT_OP_RELU ? (v > 0 ? v : 0) : (v < 0 ? rt_i32_neg(v) : v);
	}
	return RT_CPU_OK;
}

static void gelu_grad_run(real *o, const real *x, const real *dy, int64_t n)
{
#ifdef VEC_ERFF
	if (sizeof(real) == sizeof(float)) {
		gelu_grad_f((float *)(void *)o, (const float *)(const void *)x, (const float *)(const void *)dy, n);
		return;
	}
#endif
	for (int64_t i = 0; i < n; i++) { /* PyTorch's GeluBackward, exact form */
		real v = x[i];
		real cdf = (real)0.5 * ((real)1 + erf(v * (real)SQRT1_2));
		real pdf = (real)INV_SQRT_2PI * exp(v * v * (real)-0.5);
		o[i] = dy[i] * (cdf + v * pdf);
	}
}

int rt_gelu_grad(real *out, const real *x, const real *dy, int rank, const int64_t *dims)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	int64_t nb = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t k = 0; k < nb; k++) {
		int64_t lo = k * BLOCK;
		gelu_grad_run(out + lo, x + lo, dy + lo, MIN(BLOCK, n - lo));
	}
	return RT_CPU_OK;
}

/* ---------- binary, with broadcasting ---------- */

/* The broadcast of two shapes, with the size-1 axes dropped and runs of axes that are
 * contiguous (or broadcast) in both operands merged. The strides of the last axis are 0
 * (broadcast) or 1. rank 0 means a single element. */
typedef struct Bcast {
	int rank;
	int64_t n;
	int64_t dim[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
} Bcast;

static int bcast_init(Bcast *bc, int ra, const int64_t *da, int rb, const int64_t *db)
{
	int64_t na, nb;
	TRY(numel(ra, da, &na));
	TRY(numel(rb, db, &nb));
	int r = MAX(ra, rb);
	int64_t od[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK], sta = 1, stb = 1;
	for (int i = r - 1; i >= 0; i--) {
		int ia = i - (r - ra), ib = i - (r - rb);
		int64_t xa = ia >= 0 ? da[ia] : 1, xb = ib >= 0 ? db[ib] : 1;
		if (xa != xb && xa != 1 && xb != 1)
			return RT_CPU_ESHAPE;
		od[i] = xa == 1 ? xb : xa;
		sa[i] = xa == 1 ? 0 : sta;
		sb[i] = xb == 1 ? 0 : stb;
		sta *= xa;
		stb *= xb;
	}
	bc->rank = 0;
	bc->n = 1;
	for (int i = 0; i < r; i++) {
		bc->n *= od[i];
		if (od[i] == 1)
			continue;
		int k = bc->rank - 1;
		if (k >= 0 && bc->sa[k] == sa[i] * od[i] && bc->sb[k] == sb[i] * od[i]) {
			bc->dim[k] *= od[i];
			bc->sa[k] = sa[i];
			bc->sb[k] = sb[i];
			continue;
		}
		bc->dim[++k] = od[i];
		bc->sa[k] = sa[i];
		bc->sb[k] = sb[i];
		bc->rank = k + 1;
	}
	return RT_CPU_OK;
}

/* An inner loop: o[i] = f(a[i * sa], b[i * sb]) for i < n, sa and sb 0 or 1. */
typedef void BinFn(void *o, const void *a, int64_t sa, const void *b, int64_t sb, int64_t n);

/* Elements lo..hi-1 of the output, in segments along the last merged axis. */
static void bcast_run(const Bcast *bc, BinFn *fn, char *o, size_t eo, const char *a, const char *b, size_t ei,
                      int64_t lo, int64_t hi)
{
	if (bc->rank == 0) {
		fn(o, a, 1, b, 1, hi - lo);
		return;
	}
	int L = bc->rank - 1;
	int64_t c[RT_MAX_RANK], oa = 0, ob = 0, rem = lo;
	for (int i = L; i >= 0; i--) {
		c[i] = rem % bc->dim[i];
		rem /= bc->dim[i];
		oa += c[i] * bc->sa[i];
		ob += c[i] * bc->sb[i];
	}
	for (int64_t pos = lo; pos < hi;) {
		int64_t len = MIN(bc->dim[L] - c[L], hi - pos);
		fn(o + (size_t)pos * eo, a + (size_t)oa * ei, bc->sa[L], b + (size_t)ob * ei, bc->sb[L], len);
		pos += len;
		c[L] += len;
		oa += len * bc->sa[L];
		ob += len * bc->sb[L];
		for (int i = L; i > 0 && c[i] == bc->dim[i]; i--) {
			oa += bc->sa[i - 1] - c[i] * bc->sa[i];
			ob += bc->sb[i - 1] - c[i] * bc->sb[i];
			c[i] = 0;
			c[i - 1]++;
		}
	}
}

static int binary_any(BinFn *fn, void *out, size_t eo, const void *a, const void *b, size_t ei, int ra,
                      const int64_t *da, int rb, const int64_t *db)
{
	Bcast bc;
	TRY(bcast_init(&bc, ra, da, rb, db));
	int64_t n = bc.n, nb = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t k = 0; k < nb; k++)
		bcast_run(&bc, fn, out, eo, a, b, ei, k * BLOCK, MIN(n, (k + 1) * BLOCK));
	return RT_CPU_OK;
}

/* One inner loop per (op, types), specialised on which operand is broadcast. */
#define BIN_FN(NAME, TO, TI, EXPR)                                                                                     \
	static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb, int64_t n)                      \
	{                                                                                                                  \
		TO *o = o_;                                                                                                    \
		const TI *a = a_, *b = b_;                                                                                     \
		if (sa && sb) {                                                                                                \
			for (int64_t i = 0; i < n; i++) {                                                                          \
				TI x = a[i], y = b[i];                                                                                 \
				o[i] = (EXPR);                                                                                         \
			}                                                                                                          \
		} else if (sa) {                                                                                               \
			TI y = b[0];                                                                                               \
			for (int64_t i = 0; i < n; i++) {                                                                          \
				TI x = a[i];                                                                                           \
				o[i] = (EXPR);                                                                                         \
			}                                                                                                          \
		} else if (sb) {                                                                                               \
			TI x = a[0];                                                                                               \
			for (int64_t i = 0; i < n; i++) {                                                                          \
				TI y = b[i];                                                                                           \
				o[i] = (EXPR);                                                                                         \
			}                                                                                                          \
		} else {                                                                                                       \
			TI x = a[0], y = b[0];                                                                                     \
			TO v = (EXPR);                                                                                             \
			for (int64_t i = 0; i < n; i++)                                                                            \
				o[i] = v;                                                                                              \
		}                                                                                                              \
	}

/* NaN in either operand gives NaN (x + y is then NaN), as torch.maximum and minimum. */
#define NANMAX(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) > (y) ? (x) : (y))
#define NANMIN(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) < (y) ? (x) : (y))

BIN_FN(add_r, real, real, x + y)
BIN_FN(sub_r, real, real, x - y)
BIN_FN(mul_r, real, real, x * y)
BIN_FN(div_r, real, real, x / y)
BIN_FN(pow_r, real, real, pow(x, y))
BIN_FN(max_r, real, real, NANMAX(x, y))
BIN_FN(min_r, real, real, NANMIN(x, y))
BIN_FN(eq_r, real, real, x == y ? (real)1 : (real)0)
BIN_FN(lt_r, real, real, x < y ? (real)1 : (real)0)

BIN_FN(add_i, int32_t, int32_t, (int32_t)((uint32_t)x + (uint32_t)y))
BIN_FN(sub_i, int32_t, int32_t, (int32_t)((uint32_t)x - (uint32_t)y))
BIN_FN(mul_i, int32_t, int32_t, (int32_t)((uint32_t)x * (uint32_t)y))
BIN_FN(div_i, int32_t, int32_t, rt_i32_div(x, y))
BIN_FN(pow_i, int32_t, int32_t, rt_i32_pow(x, y))
BIN_FN(max_i, int32_t, int32_t, x > y ? x : y)
BIN_FN(min_i, int32_t, int32_t, x < y ? x : y)
BIN_FN(eq_i, real, int32_t, x == y ? (real)1 : (real)0)
BIN_FN(lt_i, real, int32_t, x < y ? (real)1 : (real)0)

static BinFn *const bin_real[RT_BINARY__N] = {add_r, sub_r, mul_r, div_r, pow_r, max_r, min_r, eq_r, lt_r};
static BinFn *const bin_i32[RT_BINARY__N] = {add_i, sub_i, mul_i, div_i, pow_i, max_i, min_i, NULL, NULL};

int rt_binary(RtBinaryOp op, real *out, const real *a, int rank_a, const int64_t *dims_a, const real *b,
              int rank_b, const int64_t *dims_b)
{
	if ((unsigned)op >= RT_BINARY__N)
		return RT_CPU_EARG;
	return binary_any(bin_real[op], out, sizeof(real), a, b, sizeof(real), rank_a, dims_a, rank_b, dims_b);
}

int rt_binary_i32(RtBinaryOp op, int32_t *out, const int32_t *a, int rank_a, const int64_t *dims_a,
                  const int32_t *b, int rank_b, const int64_t *dims_b)
{
	if ((unsigned)op >= RT_BINARY__N || !bin_i32[op])
		return RT_CPU_EARG;
	return binary_any(bin_i32[op], out, sizeof(int32_t), a, b, sizeof(int32_t), rank_a, dims_a, rank_b, dims_b);
}

int rt_compare_i32(RtBinaryOp op, real *out, const int32_t *a, int rank_a, const int64_t *dims_a, const int32_t *b,
                   int rank_b, const int64_t *dims_b)
{
	if (op != RT_OP_EQ && op != RT_OP_LT)
		return RT_CPU_EARG;
	return binary_any(op == RT_OP_EQ ? eq_i : lt_i, out, sizeof(real), a, b, sizeof(int32_t), rank_a, dims_a, rank_b,
	                  dims_b);
}

/* ---------- cast ---------- */

static real real_of_i32(int32_t x)
{
	return (real)x;
}

static int32_t i32_of_real(real x)
{
	double v = (double)x; /* the range test is false for NaN */
	return v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : INT32_MIN;
}

/* One conversion kernel: out[i] = CONVERT(x[i]). */
#define CAST_KERNEL(name, To, From, convert)                                                 \
	int name(To *out, const From *x, int rank, const int64_t *dims)                      \
	{                                                                                    \
		int64_t n;                                                                       \
		TRY(numel(rank, dims, &n));                                                      \
		_Pragma("omp parallel for schedule(static) if (n > PAR_MIN)")                   \
		for (int64_t i = 0; i < n; i++)                                                  \
			out[i] = convert(x[i]);                                                      \
		return RT_CPU_OK;                                                                \
	}

CAST_KERNEL(rt_cast_i32_real, real, int32_t, real_of_i32)
CAST_KERNEL(rt_cast_real_i32, int32_t, real, i32_of_real)
CAST_KERNEL(rt_cast_real_bf16, rt_bf16, real, rt_bf16_of_real)
CAST_KERNEL(rt_cast_bf16_real, real, rt_bf16, rt_real_of_bf16)

/* ---------- reductions ---------- */

/* The sum of a contiguous run, in an order fixed by n: blocks of run_block(n) elements
 * (at most RUN_MAX_BLOCKS of them), each summed in 8 interleaved lanes; the blocks' sums
 * added in order. The blocks of a long run are summed in parallel, with the same result. */
enum { RUN_MIN_BLOCK = 4096, RUN_MAX_BLOCKS = 256 };

static int64_t run_block(int64_t n)
{
	int64_t b = (n + RUN_MAX_BLOCKS - 1) / RUN_MAX_BLOCKS;
	b = (b + 7) / 8 * 8;
	return MAX(b, RUN_MIN_BLOCK);
}

static double lanes_fold(const double acc[8])
{
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

static double lanes_sum(const real *x, int64_t n)
{
	double acc[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += (double)x[i + l];
	for (int l = 0; i < n; i++, l++)
		acc[l] += (double)x[i];
	return lanes_fold(acc);
}

static double run_sum(const real *x, int64_t n, bool parallel)
{
	int64_t bs = run_block(n), nb = (n + bs - 1) / bs;
	if (nb <= 1)
		return lanes_sum(x, n);
	double part[RUN_MAX_BLOCKS];
	(void)parallel; /* without OpenMP */
#pragma omp parallel for schedule(static) if (parallel)
	for (int64_t k = 0; k < nb; k++)
		part[k] = lanes_sum(x + k * bs, MIN(bs, n - k * bs));
	double s = 0;
	for (int64_t k = 0; k < nb; k++)
		s += part[k];
	return s;
}

/* x's shape split into groups of adjacent axes, reduced or kept, without size-1 axes. */
typedef struct Groups {
	int n;
	int64_t dim[RT_MAX_RANK], stride[RT_MAX_RANK];
	bool red[RT_MAX_RANK];
	int64_t in_n, out_n, count; /* count: elements per output (product of reduced dims) */
} Groups;

static int groups(Groups *g, int rank, const int64_t *dims, int naxes, const int64_t *axes)
{
	TRY(numel(rank, dims, &g->in_n));
	bool red[RT_MAX_RANK] = {0};
	if (naxes < 0 || naxes > rank || (naxes > 0 && !axes))
		return RT_CPU_EARG;
	for (int k = 0; k < naxes; k++) {
		if (axes[k] < 0 || axes[k] >= rank || (k > 0 && axes[k] <= axes[k - 1]))
			return RT_CPU_EARG;
		red[axes[k]] = true;
	}
	if (naxes == 0)
		for (int i = 0; i < rank; i++)
			red[i] = true;
	g->n = 0;
	g->out_n = g->count = 1;
	for (int i = 0; i < rank; i++) {
		if (red[i])
			g->count *= dims[i];
		else
			g->out_n *= dims[i];
		if (dims[i] == 1)
			continue;
		if (g->n > 0 && g->red[g->n - 1] == red[i]) {
			g->dim[g->n - 1] *= dims[i];
			continue;
		}
		g->dim[g->n] = dims[i];
		g->red[g->n++] = red[i];
	}
	int64_t s = 1;
	for (int i = g->n - 1; i >= 0; i--) {
		g->stride[i] = s;
		s *= g->dim[i];
	}
	return RT_CPU_OK;
}

/* Reduced elements of output o, for the general case: the kept groups' coordinates come
 * from o, the reduced ones run in row-major order. */
typedef struct Walk {
	int nk, nr;
	int64_t kdim[RT_MAX_RANK], kstr[RT_MAX_RANK], rdim[RT_MAX_RANK], rstr[RT_MAX_RANK];
} Walk;

static void walk_init(Walk *w, const Groups *g)
{
	w->nk = w->nr = 0;
	for (int i = 0; i < g->n; i++) {
		if (g->red[i]) {
			w->rdim[w->nr] = g->dim[i];
			w->rstr[w->nr++] = g->stride[i];
		} else {
			w->kdim[w->nk] = g->dim[i];
			w->kstr[w->nk++] = g->stride[i];
		}
	}
}

static int64_t walk_base(const Walk *w, int64_t o)
{
	int64_t base = 0;
	for (int i = w->nk - 1; i >= 0; i--) {
		base += (o % w->kdim[i]) * w->kstr[i];
		o /= w->kdim[i];
	}
	return base;
}

/* Calls BODY with `off` set to each reduced element's offset, in row-major order. */
#define WALK(w, base, BODY)                                                                                            \
	do {                                                                                                               \
		int64_t c_[RT_MAX_RANK] = {0}, off = (base);                                                                   \
		for (;;) {                                                                                                     \
			BODY;                                                                                                      \
			int i_ = (w)->nr - 1;                                                                                      \
			for (; i_ >= 0; i_--) {                                                                                    \
				off += (w)->rstr[i_];                                                                                  \
				if (++c_[i_] < (w)->rdim[i_])                                                                          \
					break;                                                                                             \
				off -= c_[i_] * (w)->rstr[i_];                                                                         \
				c_[i_] = 0;                                                                                            \
			}                                                                                                          \
			if (i_ < 0)                                                                                                \
				break;                                                                                                 \
		}                                                                                                              \
	} while (0)

/* The shape as [outer, R, inner] when exactly one group is reduced. */
static bool one_reduced(const Groups *g, int64_t *outer, int64_t *r, int64_t *inner)
{
	int nr = 0, at = -1;
	for (int i = 0; i < g->n; i++)
		if (g->red[i])
			nr++, at = i;
	if (nr != 1)
		return false;
	*outer = prod(g->dim, 0, at);
	*r = g->dim[at];
	*inner = prod(g->dim, at + 1, g->n);
	return true;
}

enum { COLS = 64 }; /* columns per task when reducing over a middle or leading axis */

static bool none_reduced(const Groups *g)
{
	for (int i = 0; i < g->n; i++)
		if (g->red[i])
			return false;
	return true;
}

/* Column sums of [outer, r, inner] with the rows in ROW_BLOCKS blocks, each task summing
 * whole rows of its block (up to WIDE columns: contiguous reads) in double, the blocks
 * added in order: enough tasks for the threads when the columns alone are few. False
 * when the scratch memory is not to be had. */
enum { ROW_BLOCKS = 16, WIDE = 1024 };

static bool col_sums_blocked(real *out, const real *x, int64_t outer, int64_t r, int64_t inner, double scale)
{
	int64_t nc = (inner + WIDE - 1) / WIDE, rb = (r + ROW_BLOCKS - 1) / ROW_BLOCKS;
	double *part = malloc(sizeof *part * (size_t)(outer * ROW_BLOCKS * inner));
	if (!part)
		return false;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < outer * ROW_BLOCKS * nc; t++) {
		int64_t c = t % nc, b = t / nc % ROW_BLOCKS, o = t / nc / ROW_BLOCKS;
		int64_t j0 = c * WIDE, w = MIN(WIDE, inner - j0), k0 = b * rb, k1 = MIN(r, k0 + rb);
		double *acc = part + (o * ROW_BLOCKS + b) * inner + j0;
		for (int64_t j = 0; j < w; j++)
			acc[j] = 0;
		const real *p = x + (o * r + k0) * inner + j0;
		for (int64_t k = k0; k < k1; k++, p += inner)
			for (int64_t j = 0; j < w; j++)
				acc[j] += (double)p[j];
	}
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < inner; j++) {
			double sum = 0;
			for (int b = 0; b < ROW_BLOCKS; b++)
				sum += part[(o * ROW_BLOCKS + b) * inner + j];
			out[o * inner + j] = (real)(sum * scale);
		}
	free(part);
	return true;
}

static void sum_real(real *out, const real *x, const Groups *g, double scale)
{
	int64_t outer, r, inner;
	if (none_reduced(g)) { /* only axes of size 1: a copy */
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
		for (int64_t o = 0; o < g->out_n; o++)
			out[o] = (real)((double)x[o] * scale);
	} else if (!one_reduced(g, &outer, &r, &inner)) {
		Walk w;
		walk_init(&w, g);
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
		for (int64_t o = 0; o < g->out_n; o++) {
			double s = 0;
			WALK(&w, walk_base(&w, o), s += (double)x[off]);
			out[o] = (real)(s * scale);
		}
	} else if (inner == 1 && outer < 16 && r >= 2 * RUN_MIN_BLOCK) { /* a few long rows */
		for (int64_t o = 0; o < outer; o++)
			out[o] = (real)(run_sum(x + o * r, r, true) * scale);
	} else if (inner == 1) { /* rows */
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
		for (int64_t o = 0; o < outer; o++)
			out[o] = (real)(run_sum(x + o * r, r, false) * scale);
	} else if (outer * ((inner + COLS - 1) / COLS) < ROW_BLOCKS && r >= 4 * ROW_BLOCKS &&
	           col_sums_blocked(out, x, outer, r, inner, scale)) {
		/* few column blocks, many rows: the rows in blocks too (a bias's gradient) */
	} else { /* columns: blocks of COLS of them, each summed down the rows in order */
		int64_t nc = (inner + COLS - 1) / COLS;
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
		for (int64_t t = 0; t < outer * nc; t++) {
			int64_t o = t / nc, j0 = t % nc * COLS, w = MIN(COLS, inner - j0);
			const real *p = x + o * r * inner + j0;
			double acc[COLS] = {0};
			if (w == COLS) {
				for (int64_t k = 0; k < r; k++, p += inner)
					for (int j = 0; j < COLS; j++)
						acc[j] += (double)p[j];
			} else {
				for (int64_t k = 0; k < r; k++, p += inner)
					for (int j = 0; j < w; j++)
						acc[j] += (double)p[j];
			}
			for (int j = 0; j < w; j++)
				out[o * inner + j0 + j] = (real)(acc[j] * scale);
		}
	}
}

/* a NaN sticks: once m is NaN no comparison replaces it */
#define MAX_STEP(m, v) ((v) > (m) || (v) != (v) ? (v) : (m))

static void max_real(real *out, const real *x, const Groups *g)
{
	int64_t outer, r, inner;
	if (none_reduced(g)) {
		copy_elems(out, x, sizeof(real), g->out_n);
		return;
	}
	if (one_reduced(g, &outer, &r, &inner) && inner == 1) {
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
		for (int64_t o = 0; o < outer; o++) {
			const real *p = x + o * r;
			real m = p[0];
			for (int64_t k = 1; k < r; k++)
				m = MAX_STEP(m, p[k]);
			out[o] = m;
		}
		return;
	}
	Walk w;
	walk_init(&w, g);
#pragma omp parallel for schedule(static) if (g->in_n > PAR_MIN)
	for (int64_t o = 0; o < g->out_n; o++) {
		int64_t base = walk_base(&w, o);
		real m = x[base];
		WALK(&w, base, m = MAX_STEP(m, x[off]));
		out[o] = m;
	}
}

int rt_reduce(RtReduceOp op, real *out, const real *x, int rank, const int64_t *dims, int naxes, const int64_t *axes)
{
	Groups g;
	TRY(groups(&g, rank, dims, naxes, axes));
	if ((unsigned)op >= RT_REDUCE__N)
		return RT_CPU_EARG;
	if (g.in_n == 0) { /* empty lines: sum 0, mean NaN, max -inf */
		double v = op == RT_OP_SUM ? 0.0 : op == RT_OP_MEAN ? NAN : -INFINITY;
		for (int64_t o = 0; o < g.out_n; o++)
			out[o] = (real)v;
		return RT_CPU_OK;
	}
	if (op == RT_OP_MAX)
		max_real(out, x, &g);
	else
		sum_real(out, x, &g, op == RT_OP_MEAN ? 1.0 / (double)g.count : 1.0);
	return RT_CPU_OK;
}

int rt_reduce_i32(RtReduceOp op, int32_t *out, const int32_t *x, int rank, const int64_t *dims, int naxes,
                  const int64_t *axes)
{
	Groups g;
	TRY(groups(&g, rank, dims, naxes, axes));
	if (op != RT_OP_SUM && op != RT_OP_MAX)
		return RT_CPU_EARG;
	if (g.in_n == 0) {
		for (int64_t o = 0; o < g.out_n; o++)
			out[o] = op == RT_OP_SUM ? 0 : INT32_MIN;
		return RT_CPU_OK;
	}
	Walk w;
	walk_init(&w, &g);
#pragma omp parallel for schedule(static) if (g.in_n > PAR_MIN)
	for (int64_t o = 0; o < g.out_n; o++) {
		int64_t base = walk_base(&w, o);
		if (op == RT_OP_SUM) {
			uint64_t s = 0; /* wraps like int64 two's complement */
			WALK(&w, base, s += (uint64_t)(int64_t)x[off]);
			out[o] = (int32_t)(uint32_t)s;
		} else {
			int32_t m = x[base];
			WALK(&w, base, m = x[off] > m ? x[off] : m);
			out[o] = m;
		}
	}
	return RT_CPU_OK;
}

/* ---------- argmax ---------- */

int rt_argmax(int32_t *out, const real *x, int rank, const int64_t *dims, int axis)
{
	Lines l;
	TRY(lines(&l, rank, dims, axis));
	if (l.n > INT32_MAX || (l.n == 0 && l.outer * l.inner > 0))
		return RT_CPU_ESHAPE;
#pragma omp parallel for schedule(static) if (l.total > PAR_MIN)
	for (int64_t t = 0; t < l.outer * l.inner; t++) {
		const real *p = x + t / l.inner * l.n * l.inner + t % l.inner;
		int64_t best = 0;
		real m = p[0];
		for (int64_t k = 1; k < l.n && m == m; k++) { /* the first NaN wins */
			real v = p[k * l.inner];
			if (v > m || v != v)
				m = v, best = k;
		}
		out[t] = (int32_t)best;
	}
	return RT_CPU_OK;
}

int rt_argmax_i32(int32_t *out, const int32_t *x, int rank, const int64_t *dims, int axis)
{
	Lines l;
	TRY(lines(&l, rank, dims, axis));
	if (l.n > INT32_MAX || (l.n == 0 && l.outer * l.inner > 0))
		return RT_CPU_ESHAPE;
#pragma omp parallel for schedule(static) if (l.total > PAR_MIN)
	for (int64_t t = 0; t < l.outer * l.inner; t++) {
		const int32_t *p = x + t / l.inner * l.n * l.inner + t % l.inner;
		int64_t best = 0;
		for (int64_t k = 1; k < l.n; k++)
			if (p[k * l.inner] > p[best * l.inner])
				best = k;
		out[t] = (int32_t)best;
	}
	return RT_CPU_OK;
}

/* ---------- softmax family ---------- */

/* Each works on one line of n elements s apart; the row kernels pass s = 1. */
static inline real line_max(const real *x, int64_t n, int64_t s)
{
	real m = x[0];
	for (int64_t k = 1; k < n; k++)
		m = MAX_STEP(m, x[k * s]);
	return m;
}

/* r = the sum over k < n of TERM (a double that may use k), in 8 interleaved lanes: an
 * order fixed by n that breaks the chain of dependent additions. */
#define SUM8(r, n, k, TERM)                                                                                            \
	do {                                                                                                               \
		double acc_[8] = {0};                                                                                          \
		int64_t k = 0;                                                                                                 \
		while (k + 8 <= (n))                                                                                           \
			for (int l_ = 0; l_ < 8; l_++, k++)                                                                        \
				acc_[l_] += (TERM);                                                                                    \
		for (int l_ = 0; k < (n); k++, l_++)                                                                           \
			acc_[l_] += (TERM);                                                                                        \
		(r) = lanes_fold(acc_);                                                                                        \
	} while (0)

static inline void softmax_line(real *o, const real *x, int64_t n, int64_t s)
{
	real m = line_max(x, n, s);
	double sum;
#ifdef VEC_ERFF
	if (s == 1 && sizeof(real) == sizeof(float)) { /* the exps through the vector expf */
		float *of = (float *)(void *)o;
		const float *xf = (const float *)(const void *)x;
		float mf = (float)m;
#pragma omp simd
		for (int64_t k = 0; k < n; k++)
			of[k] = expf(xf[k] - mf);
		sum = lanes_sum(o, n);
		double inv = 1.0 / sum;
		for (int64_t k = 0; k < n; k++)
			o[k] = (real)((double)o[k] * inv);
		return;
	}
#endif
	SUM8(sum, n, k, (double)(o[k * s] = exp(x[k * s] - m)));
	double inv = 1.0 / sum;
	for (int64_t k = 0; k < n; k++)
		o[k * s] = (real)((double)o[k * s] * inv);
}

static inline void log_softmax_line(real *o, const real *x, int64_t n, int64_t s)
{
	real m = line_max(x, n, s);
	double sum;
	SUM8(sum, n, k, (double)exp(x[k * s] - m));
	double lse = log(sum);
	for (int64_t k = 0; k < n; k++)
		o[k * s] = (real)((double)(x[k * s] - m) - lse);
}

static inline void softmax_grad_line(real *o, const real *y, const real *dy, int64_t n, int64_t s)
{
	double dot;
	SUM8(dot, n, k, (double)dy[k * s] * (double)y[k * s]);
	for (int64_t k = 0; k < n; k++)
		o[k * s] = (real)((double)y[k * s] * ((double)dy[k * s] - dot));
}

static inline void log_softmax_grad_line(real *o, const real *y, const real *dy, int64_t n, int64_t s)
{
	double sum;
	SUM8(sum, n, k, (double)dy[k * s]);
	for (int64_t k = 0; k < n; k++)
		o[k * s] = (real)((double)dy[k * s] - (double)exp(y[k * s]) * sum);
}

typedef enum LineOp { L_SOFTMAX, L_LOG_SOFTMAX, L_SOFTMAX_GRAD, L_LOG_SOFTMAX_GRAD } LineOp;

static inline void line_op(LineOp op, real *o, const real *x, const real *dy, int64_t n, int64_t s)
{
	switch (op) {
	case L_SOFTMAX: softmax_line(o, x, n, s); break;
	case L_LOG_SOFTMAX: log_softmax_line(o, x, n, s); break;
	case L_SOFTMAX_GRAD: softmax_grad_line(o, x, dy, n, s); break;
	case L_LOG_SOFTMAX_GRAD: log_softmax_grad_line(o, x, dy, n, s); break;
	}
}

static int along(LineOp op, real *out, const real *x, const real *dy, int rank, const int64_t *dims, int axis)
{
	Lines l;
	TRY(lines(&l, rank, dims, axis));
	if (l.n == 0)
		return RT_CPU_OK;
	if (l.inner == 1) {
#pragma omp parallel for schedule(static) if (l.total > PAR_MIN)
		for (int64_t o = 0; o < l.outer; o++)
			line_op(op, out + o * l.n, x + o * l.n, dy ? dy + o * l.n : NULL, l.n, 1);
	} else {
#pragma omp parallel for schedule(static) if (l.total > PAR_MIN)
		for (int64_t t = 0; t < l.outer * l.inner; t++) {
			int64_t at = t / l.inner * l.n * l.inner + t % l.inner;
			line_op(op, out + at, x + at, dy ? dy + at : NULL, l.n, l.inner);
		}
	}
	return RT_CPU_OK;
}

void rt_softmax_rows(real *out, const real *x, int64_t rows, int64_t n)
{
	for (int64_t r = 0; r < rows; r++)
		softmax_line(out + r * n, x + r * n, n, 1);
}

void rt_softmax_grad_rows(real *out, const real *y, const real *dy, int64_t rows, int64_t n)
{
	for (int64_t r = 0; r < rows; r++)
		softmax_grad_line(out + r * n, y + r * n, dy + r * n, n, 1);
}

int rt_softmax(real *out, const real *x, int rank, const int64_t *dims, int axis)
{
	return along(L_SOFTMAX, out, x, NULL, rank, dims, axis);
}

int rt_log_softmax(real *out, const real *x, int rank, const int64_t *dims, int axis)
{
	return along(L_LOG_SOFTMAX, out, x, NULL, rank, dims, axis);
}

int rt_softmax_grad(real *out, const real *y, const real *dy, int rank, const int64_t *dims, int axis)
{
	return along(L_SOFTMAX_GRAD, out, y, dy, rank, dims, axis);
}

int rt_log_softmax_grad(real *out, const real *y, const real *dy, int rank, const int64_t *dims, int axis)
{
	return along(L_LOG_SOFTMAX_GRAD, out, y, dy, rank, dims, axis);
}

/* ---------- layernorm ---------- */

/* Mean and 1/sqrt(biased variance + eps) of a row: two passes in double, each in 8
 * interleaved lanes (a fixed order that vectorises). */
static void row_stats(const real *x, int64_t n, double eps, double *mean, double *rstd)
{
	double m = lanes_sum(x, n) / (double)n, acc[8] = {0};
	int64_t k = 0;
	for (; k + 8 <= n; k += 8)
		for (int l = 0; l < 8; l++) {
			double d = (double)x[k + l] - m;
			acc[l] += d * d;
		}
	for (int l = 0; k < n; k++, l++) {
		double d = (double)x[k] - m;
		acc[l] += d * d;
	}
	*mean = m;
	*rstd = 1.0 / sqrt(lanes_fold(acc) / (double)n + eps);
}

int rt_layernorm(real *out, const real *x, int rank, const int64_t *dims, double eps)
{
	int64_t total;
	TRY(numel(rank, dims, &total));
	if (rank < 1 || !(eps > 0))
		return rank < 1 ? RT_CPU_ESHAPE : RT_CPU_EARG;
	int64_t n = dims[rank - 1];
	if (total == 0)
		return RT_CPU_OK;
#pragma omp parallel for schedule(static) if (total > PAR_MIN)
	for (int64_t r = 0; r < total / n; r++) {
		const real *p = x + r * n;
		real *q = out + r * n;
		double mean, rstd;
		row_stats(p, n, eps, &mean, &rstd);
		for (int64_t k = 0; k < n; k++)
			q[k] = (real)(((double)p[k] - mean) * rstd);
	}
	return RT_CPU_OK;
}

int rt_layernorm_grad(real *out, const real *x, const real *dy, int rank, const int64_t *dims, double eps)
{
	int64_t total;
	TRY(numel(rank, dims, &total));
	if (rank < 1 || !(eps > 0))
		return rank < 1 ? RT_CPU_ESHAPE : RT_CPU_EARG;
	int64_t n = dims[rank - 1];
	if (total == 0)
		return RT_CPU_OK;
#pragma omp parallel for schedule(static) if (total > PAR_MIN)
	for (int64_t r = 0; r < total / n; r++) {
		const real *p = x + r * n, *g = dy + r * n;
		real *q = out + r * n;
		double mean, rstd, sg[8] = {0}, sgx[8] = {0};
		row_stats(p, n, eps, &mean, &rstd);
		int64_t k = 0;
		for (; k + 8 <= n; k += 8)
			for (int l = 0; l < 8; l++) {
				sg[l] += (double)g[k + l];
				sgx[l] += (double)g[k + l] * (((double)p[k + l] - mean) * rstd);
			}
		for (int l = 0; k < n; k++, l++) {
			sg[l] += (double)g[k];
			sgx[l] += (double)g[k] * (((double)p[k] - mean) * rstd);
		}
		double mg = lanes_fold(sg) / (double)n, mgx = lanes_fold(sgx) / (double)n;
		for (k = 0; k < n; k++) {
			double xh = ((double)p[k] - mean) * rstd;
			q[k] = (real)(rstd * ((double)g[k] - mg - xh * mgx));
		}
	}
	return RT_CPU_OK;
}

/* ---------- cross-entropy ---------- */

static int ce_check(const int32_t *labels, int rank, const int64_t *dims)
{
	int64_t total;
	TRY(numel(rank, dims, &total));
	if (rank != 2)
		return RT_CPU_ESHAPE;
	for (int64_t i = 0; i < dims[0]; i++)
		if (labels[i] < 0 || labels[i] >= dims[1])
			return RT_CPU_EINDEX;
	return RT_CPU_OK;
}

static double row_lse(const real *x, int64_t n)
{
	real m = line_max(x, n, 1);
	double s;
	SUM8(s, n, k, (double)exp(x[k] - m));
	return (double)m + log(s);
}

/* Rows are few (the batch) and each costs C exps: serial, so the sum's order is fixed. */
int rt_cross_entropy(real *out, const real *logits, const int32_t *labels, int rank, const int64_t *dims)
{
	TRY(ce_check(labels, rank, dims));
	int64_t n = dims[0], c = dims[1];
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += row_lse(logits + i * c, c) - (double)logits[i * c + labels[i]];
	out[0] = (real)(s / (double)n);
	return RT_CPU_OK;
}

int rt_cross_entropy_grad(real *out, const real *logits, const int32_t *labels, const real *dloss, int rank,
                          const int64_t *dims)
{
	TRY(ce_check(labels, rank, dims));
	int64_t n = dims[0], c = dims[1];
	double scale = (double)dloss[0] / (double)n;
#pragma omp parallel for schedule(static) if (n * c > PAR_MIN)
	for (int64_t i = 0; i < n; i++) {
		const real *x = logits + i * c;
		double lse = row_lse(x, c);
		for (int64_t k = 0; k < c; k++)
			out[i * c + k] = (real)((exp((double)x[k] - lse) - (k == labels[i])) * scale);
	}
	return RT_CPU_OK;
}

/* ---------- matrix products ---------- */

/* C = A op B + beta C, row-major, through the CBLAS of rt_real. */
static void gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const real *a, int64_t lda, const real *b,
                 int64_t ldb, real beta, real *c, int64_t ldc)
{
	if (m == 0 || n == 0)
		return;
	if (k == 0) { /* nothing to add; BLAS would do the same, but some skip the scaling */
		for (int64_t i = 0; i < m; i++)
			for (int64_t j = 0; j < n; j++)
				c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
		return;
	}
	_Generic((real *)0, float *: cblas_sgemm, double *: cblas_dgemm)(
		CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1, a,
		(int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void rt_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const real *a, int64_t lda, const real *b, int64_t ldb,
             real beta, real *c, int64_t ldc)
{
	gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

static bool fits_int(int64_t v)
{
	return v <= INT_MAX;
}

/* Shapes of a product: op(a) is [M, K], op(b) [K, N]. */
typedef struct Mm {
	int64_t m, n, k;
	int64_t lda, ldb;
} Mm;

static int mm_shape(Mm *mm, int ra, const int64_t *da, int rb, const int64_t *db, int ta, int tb)
{
	int64_t na, nb;
	TRY(numel(ra, da, &na));
	TRY(numel(rb, db, &nb));
	if ((ta | tb) & ~1)
		return RT_CPU_EARG;
	if (ra < 2 || rb < 2)
		return RT_CPU_ESHAPE;
	int64_t ar = da[ra - 2], ac = da[ra - 1], br = db[rb - 2], bc = db[rb - 1];
	mm->m = ta ? ac : ar;
	mm->k = ta ? ar : ac;
	mm->n = tb ? br : bc;
	if ((tb ? bc : br) != mm->k)
		return RT_CPU_ESHAPE;
	mm->lda = MAX(ac, 1);
	mm->ldb = MAX(bc, 1);
	if (!fits_int(ar) || !fits_int(ac) || !fits_int(br) || !fits_int(bc))
		return RT_CPU_ESHAPE;
	return RT_CPU_OK;
}

/* A batch of products runs one product per OpenMP thread when each is at most this many
 * multiply-adds, else one product after another, each threaded by the BLAS. It depends on
 * how OpenBLAS was built: the OpenMP build runs calls made inside a parallel region on
 * their caller's thread; the pthreads build (Debian's default) threads every call above
 * 65536 * GEMM_MULTITHREAD_THRESHOLD (4) multiply-adds through one pool, on which
 * concurrent callers wait for each other; the sequential build always runs in the caller. */
#if defined(OPENBLAS_VERSION) && defined(__GNUC__)
/* weak: OpenBLAS's cblas.h may be the header while another CBLAS is linked */
int openblas_get_parallel(void) __attribute__((weak));
#endif

static double batch_limit(void)
{
#if defined(OPENBLAS_VERSION) && defined(__GNUC__)
	switch (openblas_get_parallel ? openblas_get_parallel() : 1) {
	case 0: return 1e300;
	case 2: return 1 << 24;
	default: break;
	}
#endif
	return 65536.0 * 4;
}

static int matmul_beta(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                       const int64_t *dims_b, int ta, int tb, real beta);

int rt_matmul(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
              const int64_t *dims_b, int ta, int tb)
{
	return matmul_beta(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 0);
}

int rt_matmul_add(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                  const int64_t *dims_b, int ta, int tb)
{
	return matmul_beta(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 1);
}

static int matmul_beta(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                       const int64_t *dims_b, int ta, int tb, real beta)
{
	Mm mm;
	TRY(mm_shape(&mm, rank_a, dims_a, rank_b, dims_b, ta, tb));
	Bcast bc; /* of the batch axes: strides count matrices */
	TRY(bcast_init(&bc, rank_a - 2, dims_a, rank_b - 2, dims_b));
	int64_t batch = bc.n, sa = mm.m * mm.k, sb = mm.k * mm.n, so = mm.m * mm.n;
	bool b_single = bc.rank == 0 || (bc.rank == 1 && bc.sb[0] == 0 && bc.sa[0] == 1);
	if (batch == 1 || (b_single && !ta && bc.rank <= 1)) { /* one GEMM: a's rows stacked */
		if (!fits_int(batch * mm.m))
			return RT_CPU_ESHAPE;
		gemm(ta, tb, batch * mm.m, mm.n, mm.k, a, mm.lda, b, mm.ldb, beta, out, mm.n);
		return RT_CPU_OK;
	}
	bool small = (double)mm.m * (double)mm.n * (double)mm.k <= batch_limit();
	(void)small; /* without OpenMP */
#pragma omp parallel for schedule(static) if (small)
	for (int64_t t = 0; t < batch; t++) {
		int64_t oa = 0, ob = 0, rem = t;
		for (int i = bc.rank - 1; i >= 0; i--) {
			int64_t c = rem % bc.dim[i];
			rem /= bc.dim[i];
			oa += c * bc.sa[i];
			ob += c * bc.sb[i];
		}
		gemm(ta, tb, mm.m, mm.n, mm.k, a + oa * sa, mm.lda, b + ob * sb, mm.ldb, beta, out + t * so, mm.n);
	}
	return RT_CPU_OK;
}

static int matmul_reduce_beta(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                              const int64_t *dims_b, int ta, int tb, real beta);

int rt_matmul_reduce(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                     const int64_t *dims_b, int ta, int tb)
{
	return matmul_reduce_beta(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 0);
}

int rt_matmul_reduce_add(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                         const int64_t *dims_b, int ta, int tb)
{
	return matmul_reduce_beta(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 1);
}

static int matmul_reduce_beta(real *out, const real *a, const real *b, int rank_a, const int64_t *dims_a, int rank_b,
                              const int64_t *dims_b, int ta, int tb, real beta)
{
	Mm mm;
	TRY(mm_shape(&mm, rank_a, dims_a, rank_b, dims_b, ta, tb));
	if (rank_a != rank_b)
		return RT_CPU_ESHAPE;
	for (int i = 0; i < rank_a - 2; i++)
		if (dims_a[i] != dims_b[i])
			return RT_CPU_ESHAPE;
	int64_t batch = prod(dims_a, 0, rank_a - 2);
	if (batch == 0) {
		for (int64_t i = 0; i < mm.m * mm.n; i++)
			out[i] = beta * out[i];
		return RT_CPU_OK;
	}
	if (ta && !tb) { /* [batch*K, M]^T @ [batch*K, N] */
		if (!fits_int(batch * mm.k))
			return RT_CPU_ESHAPE;
		gemm(1, 0, mm.m, mm.n, batch * mm.k, a, mm.lda, b, mm.ldb, beta, out, mm.n);
		return RT_CPU_OK;
	}
	for (int64_t t = 0; t < batch; t++)
		gemm(ta, tb, mm.m, mm.n, mm.k, a + t * mm.m * mm.k, mm.lda, b + t * mm.k * mm.n, mm.ldb, t ? 1 : beta, out,
		     mm.n);
	return RT_CPU_OK;
}

/* ---------- data movement ---------- */

/* len elements of es bytes, s elements apart in x (0: one element repeated), to o. The
 * fixed-size memcpys compile to single moves and keep the copy free of type punning. */
static void copy_rows(char *o, const char *x, size_t es, int64_t len, int64_t s)
{
	if (s == 1) {
		memcpy(o, x, (size_t)len * es);
	} else if (es == 4) {
		for (int64_t k = 0; k < len; k++)
			memcpy(o + k * 4, x + k * s * 4, 4);
	} else if (es == 8) {
		for (int64_t k = 0; k < len; k++)
			memcpy(o + k * 8, x + k * s * 8, 8);
	} else {
		for (int64_t k = 0; k < len; k++)
			memcpy(o + (size_t)k * es, x + (size_t)(k * s) * es, es);
	}
}

/* out (contiguous, dims) = x read with element strides st (0: broadcast). Axes of size 1
 * are dropped and axes contiguous in x merged; then rows of the last axis are copied in
 * blocks, in parallel when large. */
static void strided_copy(void *out, const void *x, size_t es, int rank, const int64_t *dims, const int64_t *st)
{
	int r = 0;
	int64_t d[RT_MAX_RANK], s[RT_MAX_RANK], n = 1;
	for (int i = 0; i < rank; i++) {
		n *= dims[i];
		if (dims[i] == 1)
			continue;
		if (r > 0 && s[r - 1] == st[i] * dims[i]) {
			d[r - 1] *= dims[i];
			s[r - 1] = st[i];
			continue;
		}
		d[r] = dims[i];
		s[r++] = st[i];
	}
	if (n == 0)
		return;
	if (r == 0) {
		memcpy(out, x, es);
		return;
	}
	/* Tasks: blocks of whole rows, or pieces of BLOCK elements of a long row. */
	int L = r - 1;
	int64_t len = d[L], rows = n / len, per = MAX(1, BLOCK / len), seg = MIN(len, BLOCK);
	int64_t nseg = (len + seg - 1) / seg, nb = len > BLOCK ? rows * nseg : (rows + per - 1) / per;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (int64_t blk = 0; blk < nb; blk++) {
		int64_t r0 = len > BLOCK ? blk / nseg : blk * per, r1 = len > BLOCK ? r0 + 1 : MIN(rows, r0 + per);
		int64_t j0 = len > BLOCK ? blk % nseg * seg : 0, w = len > BLOCK ? MIN(seg, len - j0) : len;
		int64_t c[RT_MAX_RANK], off = 0, rem = r0;
		for (int i = L - 1; i >= 0; i--) {
			c[i] = rem % d[i];
			rem /= d[i];
			off += c[i] * s[i];
		}
		for (int64_t row = r0; row < r1; row++) {
			copy_rows((char *)out + (size_t)(row * len + j0) * es, (const char *)x + (size_t)(off + j0 * s[L]) * es, es,
			          w, s[L]);
			for (int i = L - 1; i >= 0; i--) {
				off += s[i];
				if (++c[i] < d[i])
					break;
				off -= c[i] * s[i];
				c[i] = 0;
			}
		}
	}
}

int rt_transpose(void *out, const void *x, size_t esize, int rank, const int64_t *dims, const int64_t *perm)
{
	int64_t n;
	TRY(numel(rank, dims, &n));
	if (esize == 0 || (rank > 0 && !perm))
		return RT_CPU_EARG;
	int64_t xs[RT_MAX_RANK], od[RT_MAX_RANK], st[RT_MAX_RANK], s = 1;
	bool seen[RT_MAX_RANK] = {0};
	for (int i = rank - 1; i >= 0; i--) {
		xs[i] = s;
		s *= dims[i];
	}
	for (int i = 0; i < rank; i++) {
		if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
			return RT_CPU_EARG;
		seen[perm[i]] = true;
		od[i] = dims[perm[i]];
		st[i] = xs[perm[i]];
	}
	strided_copy(out, x, esize, rank, od, st);
	return RT_CPU_OK;
}

int rt_expand(void *out, const void *x, size_t esize, int rank, const int64_t *dims, int out_rank,
              const int64_t *out_dims)
{
	int64_t n, no;
	TRY(numel(rank, dims, &n));
	TRY(numel(out_rank, out_dims, &no));
	if (esize == 0)
		return RT_CPU_EARG;
	if (out_rank < rank)
		return RT_CPU_ESHAPE;
	int64_t st[RT_MAX_RANK], s = 1;
	for (int i = out_rank - 1; i >= 0; i--) {
		int ix = i - (out_rank - rank);
		int64_t d = ix >= 0 ? dims[ix] : 1;
		if (d != out_dims[i] && d != 1)
			return RT_CPU_ESHAPE;
		st[i] = d == 1 ? 0 : s;
		s *= d;
	}
	strided_copy(out, x, esize, out_rank, out_dims, st);
	return RT_CPU_OK;
}

int rt_concat(void *out, int n, const void *const *xs, size_t esize, const int64_t *lens, int rank,
              const int64_t *dims, int axis)
{
	int64_t total;
	TRY(numel(rank, dims, &total));
	if (esize == 0 || n < 1 || !xs || !lens || axis < 0 || axis >= rank)
		return RT_CPU_EARG;
	int64_t sum = 0;
	for (int k = 0; k < n; k++) {
		if (lens[k] < 0)
			return RT_CPU_ESHAPE;
		sum += lens[k];
	}
	int64_t outer = prod(dims, 0, axis), inner = prod(dims, axis + 1, rank), row = sum * inner;
	if (outer == 1) { /* one long copy per input, itself in parallel blocks */
		int64_t off = 0;
		for (int k = 0; k < n; k++) {
			copy_elems((char *)out + (size_t)off * esize, xs[k], esize, lens[k] * inner);
			off += lens[k] * inner;
		}
		return RT_CPU_OK;
	}
#pragma omp parallel for schedule(static) if (outer * row > PAR_MIN)
	for (int64_t o = 0; o < outer; o++) {
		int64_t off = 0;
		for (int k = 0; k < n; k++) {
			size_t len = (size_t)(lens[k] * inner);
			memcpy((char *)out + (size_t)(o * row + off) * esize, (const char *)xs[k] + (size_t)o * len * esize,
			       len * esize);
			off += (int64_t)len;
		}
	}
	return RT_CPU_OK;
}

int rt_slice(void *out, const void *x, size_t esize, int rank, const int64_t *dims, int axis, int64_t start,
             int64_t end)
{
	Lines l;
	TRY(lines(&l, rank, dims, axis));
	if (esize == 0)
		return RT_CPU_EARG;
	if (start < 0 || end > l.n || start >= end)
		return RT_CPU_EARG;
	int64_t d[3] = {l.outer, end - start, l.inner}, st[3] = {l.n * l.inner, l.inner, 1};
	strided_copy(out, (const char *)x + (size_t)(start * l.inner) * esize, esize, 3, d, st);
	return RT_CPU_OK;
}

/* gather and scatter_add: x (or out) is [outer, nx, mid, inner], idx [outer, ni, mid] and
 * the gathered tensor [outer, ni, mid, inner]; element (o, k, m) of idx names the row
 * (o, idx, m) of x. */
typedef struct Gat {
	int64_t outer, nx, ni, mid, inner, nidx;
} Gat;

static int gat_shape(Gat *g, int rank, const int64_t *dims, int ri, const int64_t *di, int axis, int64_t nx)
{
	int64_t n, m;
	TRY(numel(rank, dims, &n));
	TRY(numel(ri, di, &m));
	if (axis < 0 || ri <= axis || ri > rank)
		return RT_CPU_EARG;
	for (int i = 0; i < ri; i++)
		if (i != axis && di[i] != dims[i])
			return RT_CPU_ESHAPE;
	g->outer = prod(dims, 0, axis);
	g->nx = nx;
	g->ni = di[axis];
	g->mid = prod(dims, axis + 1, ri);
	g->inner = prod(dims, ri, rank);
	g->nidx = m;
	return RT_CPU_OK;
}

static int check_idx(const int32_t *idx, int64_t n, int64_t size)
{
	int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > PAR_MIN)
	for (int64_t i = 0; i < n; i++)
		bad |= idx[i] < 0 || idx[i] >= size;
	return bad ? RT_CPU_EINDEX : RT_CPU_OK;
}

int rt_gather(void *out, const void *x, const int32_t *idx, size_t esize, int rank, const int64_t *dims,
              int idx_rank, const int64_t *idx_dims, int axis)
{
	Gat g;
	int64_t n;
	TRY(numel(rank, dims, &n));
	if (axis < 0 || axis >= rank)
		return RT_CPU_EARG;
	TRY(gat_shape(&g, rank, dims, idx_rank, idx_dims, axis, dims[axis]));
	if (esize == 0)
		return RT_CPU_EARG;
	TRY(check_idx(idx, g.nidx, g.nx));
	size_t row = (size_t)g.inner * esize;
#pragma omp parallel for schedule(static) if (g.nidx * g.inner > PAR_MIN)
	for (int64_t t = 0; t < g.nidx; t++) { /* t = (o * ni + k) * mid + m */
		int64_t m = t % g.mid, o = t / g.mid / g.ni;
		int64_t src = (o * g.nx + idx[t]) * g.mid + m;
		memcpy((char *)out + (size_t)t * row, (const char *)x + (size_t)src * row, row);
	}
	return RT_CPU_OK;
}

enum { SCATTER_COLS = 256 }; /* columns per task in scatter_add */

int rt_scatter_add(real *out, const real *dy, const int32_t *idx, int rank, const int64_t *dims, int idx_rank,
                   const int64_t *idx_dims, int axis, int64_t size)
{
	Gat g;
	if (size < 0)
		return RT_CPU_EARG;
	TRY(gat_shape(&g, rank, dims, idx_rank, idx_dims, axis, size));
	if (idx_dims[axis] != dims[axis])
		return RT_CPU_ESHAPE;
	TRY(check_idx(idx, g.nidx, size));
	int64_t total = g.outer * size * g.mid * g.inner;
#pragma omp parallel for schedule(static) if (total > PAR_MIN)
	for (int64_t i = 0; i < total; i++)
		out[i] = 0;
	/* Task (o, m, column block) owns out[o, :, m, block]: no two tasks write one element,
	 * and each adds its k in increasing order. */
	int64_t nc = (g.inner + SCATTER_COLS - 1) / SCATTER_COLS, tasks = g.outer * g.mid * nc;
#pragma omp parallel for schedule(static) if (g.nidx * g.inner > PAR_MIN)
	for (int64_t t = 0; t < tasks; t++) {
		int64_t c = t % nc, m = t / nc % g.mid, o = t / nc / g.mid;
		int64_t j0 = c * SCATTER_COLS, w = MIN(SCATTER_COLS, g.inner - j0);
		for (int64_t k = 0; k < g.ni; k++) {
			int64_t at = (o * g.ni + k) * g.mid + m;
			real *q = out + ((o * size + idx[at]) * g.mid + m) * g.inner + j0;
			const real *p = dy + at * g.inner + j0;
			for (int64_t j = 0; j < w; j++)
				q[j] += p[j];
		}
	}
	return RT_CPU_OK;
}

/* ---------- argsort ---------- */

/* a before b: smaller, or b NaN and a not (NaN sorts last, as torch.sort). */
static inline bool key_lt(double a, double b)
{
	return a < b || (b != b && a == a);
}

/* Stable sort of ix[0..n) by key[ix[]]: insertion sort of runs of 16, then bottom-up
 * merges between ix and tmp. Returns the array holding the result. */
static int32_t *sort_idx(const double *key, int32_t *ix, int32_t *tmp, int64_t n)
{
	enum { RUN = 16 };
	for (int64_t lo = 0; lo < n; lo += RUN) {
		int64_t hi = MIN(n, lo + RUN);
		for (int64_t i = lo + 1; i < hi; i++) {
			int32_t v = ix[i];
			int64_t j = i;
			for (; j > lo && key_lt(key[v], key[ix[j - 1]]); j--)
				ix[j] = ix[j - 1];
			ix[j] = v;
		}
	}
	int32_t *src = ix, *dst = tmp;
	for (int64_t w = RUN; w < n; w *= 2) {
		for (int64_t lo = 0; lo < n; lo += 2 * w) {
			int64_t mid = MIN(n, lo + w), hi = MIN(n, lo + 2 * w), i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = key_lt(key[src[j]], key[src[i]]) ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		int32_t *t = src;
		src = dst;
		dst = t;
	}
	return src;
}

static int argsort_any(int32_t *out, const void *x, bool is_i32, int rank, const int64_t *dims, int axis)
{
	Lines l;
	TRY(lines(&l, rank, dims, axis));
	if (l.n > INT32_MAX)
		return RT_CPU_ESHAPE;
	int64_t nlines = l.outer * l.inner;
	if (l.total == 0)
		return RT_CPU_OK;
	int fail = 0;
	size_t bytes = (size_t)l.n * (sizeof(double) + 2 * sizeof(int32_t));
#pragma omp parallel if (l.total > PAR_MIN && nlines > 1)
	{
		double *key = malloc(bytes);
		if (!key) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp barrier
		int failed;
#pragma omp atomic read
		failed = fail;
		if (!failed) {
			int32_t *ix = (int32_t *)(void *)(key + l.n), *tmp = ix + l.n;
#pragma omp for schedule(static)
			for (int64_t t = 0; t < nlines; t++) {
				int64_t at = t / l.inner * l.n * l.inner + t % l.inner;
				for (int64_t k = 0; k < l.n; k++) {
					key[k] = is_i32 ? (double)((const int32_t *)x)[at + k * l.inner]
					                : (double)((const real *)x)[at + k * l.inner];
					ix[k] = (int32_t)k;
				}
				const int32_t *s = sort_idx(key, ix, tmp, l.n);
				for (int64_t k = 0; k < l.n; k++)
					out[at + k * l.inner] = s[k];
			}
		}
		free(key);
	}
	return fail ? RT_CPU_ENOMEM : RT_CPU_OK;
}

int rt_argsort(int32_t *out, const real *x, int rank, const int64_t *dims, int axis)
{
	return argsort_any(out, x, false, rank, dims, axis);
}

int rt_argsort_i32(int32_t *out, const int32_t *x, int rank, const int64_t *dims, int axis)
{
	return argsort_any(out, x, true, rank, dims, axis);
}

/* ---------- products of bf16 operands ---------- */

/* a and b widened into one real scratch of na + nb (+ nout) elements. */
static real *widen2(const rt_bf16 *a, int rank_a, const int64_t *dims_a, const rt_bf16 *b, int rank_b,
                    const int64_t *dims_b, int64_t nout, real **wb, real **wout)
{
	int64_t na, nb;
	if (numel(rank_a, dims_a, &na) || numel(rank_b, dims_b, &nb) || nout < 0)
		return NULL;
	real *w = malloc(sizeof *w * (size_t)(na + nb + nout + 1));
	if (!w)
		return NULL;
#pragma omp parallel for schedule(static) if (na > PAR_MIN)
	for (int64_t i = 0; i < na; i++)
		w[i] = rt_real_of_bf16(a[i]);
#pragma omp parallel for schedule(static) if (nb > PAR_MIN)
	for (int64_t i = 0; i < nb; i++)
		w[na + i] = rt_real_of_bf16(b[i]);
	*wb = w + na;
	*wout = w + na + nb;
	return w;
}

int rt_matmul_bf16(rt_bf16 *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a, int rank_b,
                   const int64_t *dims_b, int ta, int tb)
{
	Mm mm;
	TRY(mm_shape(&mm, rank_a, dims_a, rank_b, dims_b, ta, tb));
	Bcast bc;
	TRY(bcast_init(&bc, rank_a - 2, dims_a, rank_b - 2, dims_b));
	int64_t nout = bc.n * mm.m * mm.n;
	real *wb, *wout, *w = widen2(a, rank_a, dims_a, b, rank_b, dims_b, nout, &wb, &wout);
	if (!w)
		return RT_CPU_ENOMEM;
	int rc = rt_matmul(wout, w, wb, rank_a, dims_a, rank_b, dims_b, ta, tb);
	if (rc == RT_CPU_OK) {
#pragma omp parallel for schedule(static) if (nout > PAR_MIN)
		for (int64_t i = 0; i < nout; i++)
			out[i] = rt_bf16_of_real(wout[i]);
	}
	free(w);
	return rc;
}

static int matmul_reduce_bf16(real *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a,
                              int rank_b, const int64_t *dims_b, int ta, int tb, real beta)
{
	real *wb, *wout, *w = widen2(a, rank_a, dims_a, b, rank_b, dims_b, 0, &wb, &wout);
	if (!w)
		return RT_CPU_ENOMEM;
	int rc = matmul_reduce_beta(out, w, wb, rank_a, dims_a, rank_b, dims_b, ta, tb, beta);
	free(w);
	return rc;
}

int rt_matmul_reduce_bf16(real *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a,
                          int rank_b, const int64_t *dims_b, int ta, int tb)
{
	return matmul_reduce_bf16(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 0);
}

int rt_matmul_reduce_add_bf16(real *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a,
                              int rank_b, const int64_t *dims_b, int ta, int tb)
{
	return matmul_reduce_bf16(out, a, b, rank_a, dims_a, rank_b, dims_b, ta, tb, 1);
}
