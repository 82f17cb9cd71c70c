/* cpu.h: the CPU kernels that generated trainers call, one call per IR instruction.
 *
 * runtime/kernels/cpu.c is compiled with each generated trainer, with -DMAEC_REAL=float (the
 * default) or -DMAEC_REAL=double (finite-difference gradient checks), and linked with a
 * CBLAS (OpenBLAS). The IR's floating-point tensors are rt_real here whatever their IR
 * dtype; its index tensors are int32_t.
 *
 * Conventions, for every kernel:
 *   - Tensors are dense, row-major and contiguous. A shape is `int rank, const int64_t
 *     *dims` (rank 0 to RT_MAX_RANK; dims may be NULL when rank is 0; a rank-0 tensor is
 *     one element). The batch size B is just a dimension value. Dimensions of 0 are
 *     allowed (empty tensors; reducing an empty axis gives 0, NaN for mean, -inf for max).
 *   - Arguments come in the order: the op (kernels that serve several IR ops), output,
 *     inputs, element size (data movers only), input shapes, attributes in the order of
 *     ir/ops.def. Only input shapes are passed; the output's follows from them and the
 *     attributes, as in ir/shape.c.
 *   - Axis attributes are normalised (0 <= axis < rank), as the IR's printed form is.
 *   - Every kernel returns RT_CPU_OK (0) or an RT_CPU_E* status and then leaves its
 *     output unchanged: RT_CPU_EINDEX for an index out of range in the data (a label, a
 *     gather index), RT_CPU_ESHAPE / RT_CPU_EARG for shapes or attributes that break the
 *     op's shape rule (a bug in the generator), RT_CPU_ENOMEM when scratch memory could not
 *     be allocated (argsort and the bf16 products). Nothing here prints, aborts or keeps global state.
 *   - rt_unary, rt_unary_i32, rt_gelu_grad, rt_binary and rt_binary_i32 may write over an
 *     input of the output's type and shape (in place); every other kernel needs an output
 *     that overlaps no input.
 *   - Data movers (copy, transpose, expand, concat, slice, gather) take the element size
 *     in bytes, so one kernel serves rt_real and int32_t tensors.
 *
 * Numerics follow PyTorch's CPU float32 kernels: the functions of the real type (expf,
 * erff, ...; in the float build gelu takes erff from glibc's vector library, libmvec, when
 * GCC and glibc >= 2.35 allow: same accuracy, ~9x faster), a row's maximum subtracted
 * before exp, and sums, means, variances and the sums inside softmax, layernorm and
 * cross-entropy accumulated in double.
 *
 * Parallelism: OpenMP, static schedules. Each output element is computed by one thread in
 * an order fixed by the shapes alone, so every kernel but matmul gives the same bits for
 * any number of threads; matmul and matmul_reduce make one BLAS call per product and are
 * as deterministic as the BLAS (OpenBLAS divides M and N among its threads, not K).
 */
#ifndef MAEC_CPU_H
#define MAEC_CPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MAEC_REAL
#define MAEC_REAL float
#endif
typedef MAEC_REAL rt_real;

/* bf16 storage (maec --precision=bf16): the top 16 bits of a float. Loads widen exactly;
 * stores round to nearest, ties to even (PyTorch's c10::BFloat16), and keep a NaN a NaN. */
typedef uint16_t rt_bf16;

static inline rt_real rt_real_of_bf16(rt_bf16 x)
{
	union { uint32_t u; float f; } v = {.u = (uint32_t)x << 16};
	return (rt_real)v.f;
}

static inline rt_bf16 rt_bf16_of_real(rt_real x)
{
	union { float f; uint32_t u; } v = {.f = (float)x};
	if ((v.u & 0x7fffffffu) > 0x7f800000u)
		return (rt_bf16)((v.u >> 16) | 0x40u);
	return (rt_bf16)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

/* x rounded to the nearest bf16, as a real: what a bf16 store and load give. */
static inline rt_real rt_round_bf16(rt_real x)
{
	return rt_real_of_bf16(rt_bf16_of_real(x));
}

#define RT_MAX_RANK 8

enum { RT_CPU_OK = 0, RT_CPU_EINDEX, RT_CPU_ESHAPE, RT_CPU_EARG, RT_CPU_ENOMEM };

/* "index out of range", ...; for the generator's check macro. */
const char *rt_cpu_strerror(int status);

/* full: out[...] = value. */
int rt_fill(rt_real *out, int rank, const int64_t *dims, double value);
int rt_fill_i32(int32_t *out, int rank, const int64_t *dims, int32_t value);

/* reshape, when the memory planner did not make it an alias: a plain copy. */
int rt_copy(void *out, const void *x, size_t esize, int rank, const int64_t *dims);

/* neg exp log sqrt rsqrt tanh sigmoid relu gelu abs. */
typedef enum RtUnaryOp {
	RT_OP_NEG, RT_OP_EXP, RT_OP_LOG, RT_OP_SQRT, RT_OP_RSQRT, RT_OP_TANH, RT_OP_SIGMOID, RT_OP_RELU,
	RT_OP_GELU, RT_OP_ABS, RT_UNARY__N
} RtUnaryOp;

/* out = op(x) elementwise:
 *   neg -x; exp, log, sqrt, tanh as the C functions of rt_real; rsqrt 1 / sqrt(x);
 *   sigmoid 1 / (1 + exp(-x)); relu max(x, 0) with NaN kept; abs |x|;
 *   gelu x * 0.5 * (1 + erf(x / sqrt(2))), the exact form (PyTorch's default).
 * rt_unary_i32 takes neg, relu and abs only (two's complement: -INT32_MIN = INT32_MIN). */
int rt_unary(RtUnaryOp op, rt_real *out, const rt_real *x, int rank, const int64_t *dims);
int rt_unary_i32(RtUnaryOp op, int32_t *out, const int32_t *x, int rank, const int64_t *dims);

/* gelu_grad: out = dy * (Phi(x) + x * phi(x)), the derivative of the exact gelu times dy;
 * x and dy have one shape. */
int rt_gelu_grad(rt_real *out, const rt_real *x, const rt_real *dy, int rank, const int64_t *dims);

/* add sub mul div pow maximum minimum eq lt. */
typedef enum RtBinaryOp {
	RT_OP_ADD, RT_OP_SUB, RT_OP_MUL, RT_OP_DIV, RT_OP_POW, RT_OP_MAXIMUM, RT_OP_MINIMUM, RT_OP_EQ,
	RT_OP_LT, RT_BINARY__N
} RtBinaryOp;

/* out = a op b with numpy broadcasting: the shapes are aligned on the right, the shorter
 * padded with 1s, and in each position the dimensions are equal or one is 1; out has the
 * broadcast shape. maximum and minimum return NaN if either operand is NaN (torch.maximum);
 * pow is the C pow of rt_real; eq and lt give 1.0 or 0.0.
 * rt_binary_i32 (i32 operands and result) takes every op but eq and lt, with wrapping
 * add, sub and mul; div truncates toward zero, x / 0 = 0 and INT32_MIN / -1 = INT32_MIN;
 * pow is exact repeated multiplication (wrapping) and for a negative exponent 1 / a^-e
 * truncated: 1 for a = 1, +-1 for a = -1, otherwise 0.
 * rt_compare_i32 is eq and lt of i32 operands, with an rt_real result. */
int rt_binary(RtBinaryOp op, rt_real *out, const rt_real *a, int rank_a, const int64_t *dims_a,
              const rt_real *b, int rank_b, const int64_t *dims_b);
int rt_binary_i32(RtBinaryOp op, int32_t *out, const int32_t *a, int rank_a, const int64_t *dims_a,
                  const int32_t *b, int rank_b, const int64_t *dims_b);
int rt_compare_i32(RtBinaryOp op, rt_real *out, const int32_t *a, int rank_a, const int64_t *dims_a,
                   const int32_t *b, int rank_b, const int64_t *dims_b);

/* cast: i32 -> real exactly (rounded to nearest for |x| > 2^24 in float); real -> i32
 * truncates toward zero, and NaN or a value outside int32 gives INT32_MIN (what x86's
 * cvttss2si, and so PyTorch on x86, gives). A cast to the same type is rt_copy. */
int rt_cast_i32_real(rt_real *out, const int32_t *x, int rank, const int64_t *dims);
int rt_cast_real_i32(int32_t *out, const rt_real *x, int rank, const int64_t *dims);
/* cast between real and bf16 (rounded to nearest even, as rt_bf16_of_real). */
int rt_cast_real_bf16(rt_bf16 *out, const rt_real *x, int rank, const int64_t *dims);
int rt_cast_bf16_real(rt_real *out, const rt_bf16 *x, int rank, const int64_t *dims);

/* sum mean max. */
typedef enum RtReduceOp { RT_OP_SUM, RT_OP_MEAN, RT_OP_MAX, RT_REDUCE__N } RtReduceOp;

/* out = op of x over `axes` (naxes of them, strictly increasing, each in [0, rank); naxes
 * 0 means all axes). keepdim does not matter: the output is x's shape without the reduced
 * axes, contiguous. sum and mean accumulate in double in an order fixed by the shape; max
 * returns NaN if a reduced element is NaN. rt_reduce_i32 takes sum (accumulated in 64
 * bits, wrapped to 32) and max. */
int rt_reduce(RtReduceOp op, rt_real *out, const rt_real *x, int rank, const int64_t *dims, int naxes,
              const int64_t *axes);
int rt_reduce_i32(RtReduceOp op, int32_t *out, const int32_t *x, int rank, const int64_t *dims, int naxes,
                  const int64_t *axes);

/* argmax: out = x's shape without `axis`: the index of the largest element along it; the
 * first one wins ties, and a NaN counts as the largest (torch.argmax). */
int rt_argmax(int32_t *out, const rt_real *x, int rank, const int64_t *dims, int axis);
int rt_argmax_i32(int32_t *out, const int32_t *x, int rank, const int64_t *dims, int axis);

/* Along `axis`, for each line of x (y, dy: of x's shape):
 *   softmax           out = exp(x - max) / sum(exp(x - max))
 *   log_softmax       out = x - max - log(sum(exp(x - max)))
 *   softmax_grad      out = y * (dy - sum(dy * y))       y = softmax(x)
 *   log_softmax_grad  out = dy - exp(y) * sum(dy)          y = log_softmax(x) */
int rt_softmax(rt_real *out, const rt_real *x, int rank, const int64_t *dims, int axis);
int rt_log_softmax(rt_real *out, const rt_real *x, int rank, const int64_t *dims, int axis);
int rt_softmax_grad(rt_real *out, const rt_real *y, const rt_real *dy, int rank, const int64_t *dims, int axis);
int rt_log_softmax_grad(rt_real *out, const rt_real *y, const rt_real *dy, int rank, const int64_t *dims,
                        int axis);

/* layernorm over the last axis (rank >= 1), no affine: out = (x - mean) / sqrt(var + eps)
 * with the biased variance. layernorm_grad is its vector-Jacobian product:
 * out = rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * rstd. */
int rt_layernorm(rt_real *out, const rt_real *x, int rank, const int64_t *dims, double eps);
int rt_layernorm_grad(rt_real *out, const rt_real *x, const rt_real *dy, int rank, const int64_t *dims,
                      double eps);

/* cross_entropy: logits [N, C] (rank must be 2), labels [N] in [0, C) (else RT_CPU_EINDEX):
 * out[0] = mean over rows of logsumexp(row) - row[label].
 * cross_entropy_grad: out [N, C] = dloss[0] * (softmax(row) - onehot(label)) / N. */
int rt_cross_entropy(rt_real *out, const rt_real *logits, const int32_t *labels, int rank, const int64_t *dims);
int rt_cross_entropy_grad(rt_real *out, const rt_real *logits, const int32_t *labels, const rt_real *dloss,
                          int rank, const int64_t *dims);

/* matmul: out[..., M, N] = op(a)[..., M, K] @ op(b)[..., K, N], op(t) = t with its last two
 * axes swapped when ta (tb) is 1. a and b have rank >= 2; their leading (batch) axes
 * broadcast as in rt_binary. One GEMM when b has no batch elements (rank 2 or leading 1s)
 * and ta = 0 (a Linear: all of a's rows at once); otherwise one GEMM per batch element,
 * spread over OpenMP threads when they are small enough for the BLAS not to thread them
 * itself (see batch_limit in cpu.c). */
int rt_matmul(rt_real *out, const rt_real *a, const rt_real *b, int rank_a, const int64_t *dims_a, int rank_b,
              const int64_t *dims_b, int ta, int tb);

/* matmul_reduce: out[M, N] = sum over the leading axes, which a and b share exactly (same
 * rank), of op(a) @ op(b): a weight's gradient. ta = 1, tb = 0 is one GEMM with the
 * leading axes folded into K; the other cases are one GEMM per batch element, accumulated
 * in batch order. */
int rt_matmul_reduce(rt_real *out, const rt_real *a, const rt_real *b, int rank_a, const int64_t *dims_a,
                     int rank_b, const int64_t *dims_b, int ta, int tb);

/* transpose: out dimension i is x dimension perm[i] (perm: a permutation of 0..rank-1). */
int rt_transpose(void *out, const void *x, size_t esize, int rank, const int64_t *dims, const int64_t *perm);

/* expand: x broadcast to out_dims (out_rank >= rank; x aligned on the right, each of its
 * dimensions equal to the target's or 1). */
int rt_expand(void *out, const void *x, size_t esize, int rank, const int64_t *dims, int out_rank,
              const int64_t *out_dims);

/* concat: the n inputs xs[k], of dims `dims` except lens[k] along `axis`, joined along
 * it: out's dims are `dims` with sum(lens) along `axis` (dims[axis] is not read). */
int rt_concat(void *out, int n, const void *const *xs, size_t esize, const int64_t *lens, int rank,
              const int64_t *dims, int axis);

/* slice: x cut to [start, end) along `axis`, 0 <= start < end <= dims[axis]. */
int rt_slice(void *out, const void *x, size_t esize, int rank, const int64_t *dims, int axis, int64_t start,
             int64_t end);

/* gather (ir/shape.c shape_gather): idx (rank ri, axis < ri <= rank) matches x on every
 * leading axis but `axis`; out has idx's dims followed by x's dims ri.. and
 *   out[i0, .., i(ri-1), j..] = x[i0, .., idx[i0, .., i(ri-1)], .., i(ri-1), j..]
 * with the index in position `axis`. Every index must be in [0, dims[axis]), else
 * RT_CPU_EINDEX before anything is written. */
int rt_gather(void *out, const void *x, const int32_t *idx, size_t esize, int rank, const int64_t *dims,
              int idx_rank, const int64_t *idx_dims, int axis);

/* scatter_add (ir/shape.c shape_scatter_add), gather's adjoint: dy has gather's output
 * shape (rank, dims), idx its indexes; out has dy's dims with `size` along `axis`, is
 * zeroed, then out[.., idx[..], .., j..] += dy[.., k, .., j..] for every k in increasing
 * order, so repeated indexes sum in a fixed order. Indexes in [0, size), else
 * RT_CPU_EINDEX. */
int rt_scatter_add(rt_real *out, const rt_real *dy, const int32_t *idx, int rank, const int64_t *dims,
                   int idx_rank, const int64_t *idx_dims, int axis, int64_t size);

/* argsort: the indexes that sort each line of x along `axis` ascending, stably (equal
 * elements keep their order; NaN after everything, as torch.sort). */
int rt_argsort(int32_t *out, const rt_real *x, int rank, const int64_t *dims, int axis);
int rt_argsort_i32(int32_t *out, const int32_t *x, int rank, const int64_t *dims, int axis);

/* matmul and matmul_reduce that add their product to out (BLAS beta = 1): the fused
 * accumulation of a gradient into its slot. Shapes as above. */
int rt_matmul_add(rt_real *out, const rt_real *a, const rt_real *b, int rank_a, const int64_t *dims_a, int rank_b,
                  const int64_t *dims_b, int ta, int tb);
int rt_matmul_reduce_add(rt_real *out, const rt_real *a, const rt_real *b, int rank_a, const int64_t *dims_a,
                         int rank_b, const int64_t *dims_b, int ta, int tb);

/* The products of bf16 operands: each operand widened exactly into real scratch, the product
 * above in real (so accumulated in f32, as cuBLAS's bf16 GEMMs with f32 compute), and matmul's
 * result rounded into a bf16 out; matmul_reduce's (a weight's gradient) stays real. Widening is
 * exact, so this is a bf16 GEMM with f32 accumulation; it keeps the batched, broadcast and
 * summed products on the sgemm paths above (OpenBLAS's cblas_sbgemm is one product with an f32
 * result, which would need the same rounding pass). RT_CPU_ENOMEM when the scratch cannot be
 * had. */
int rt_matmul_bf16(rt_bf16 *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a, int rank_b,
                   const int64_t *dims_b, int ta, int tb);
int rt_matmul_reduce_bf16(rt_real *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a,
                          int rank_b, const int64_t *dims_b, int ta, int tb);
int rt_matmul_reduce_add_bf16(rt_real *out, const rt_bf16 *a, const rt_bf16 *b, int rank_a, const int64_t *dims_a,
                              int rank_b, const int64_t *dims_b, int ta, int tb);

/* Serial pieces for the fused kernels maec generates (each called by one thread, on
 * data it owns): one GEMM, C = op(A) op(B) + beta C, row-major, through the CBLAS (which
 * runs it on the calling thread inside a parallel region); and softmax and its gradient
 * along rows of n contiguous elements, as rt_softmax and rt_softmax_grad compute them. */
void rt_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const rt_real *a, int64_t lda, const rt_real *b,
             int64_t ldb, rt_real beta, rt_real *c, int64_t ldc);
void rt_softmax_rows(rt_real *out, const rt_real *x, int64_t rows, int64_t n);
void rt_softmax_grad_rows(rt_real *out, const rt_real *y, const rt_real *dy, int64_t rows, int64_t n);

/* One element of the elementwise ops, for the loops maec generates from fused groups:
 * the same formulas as the kernels above (and PyTorch's). */
#define RT_SQRT1_2 0.70710678118654752440      /* 1/sqrt(2) */
#define RT_INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
static inline rt_real rt_e_max(rt_real x, rt_real y)
{
	return x != x || y != y ? x + y : x > y ? x : y; /* NaN in either gives NaN */
}
static inline rt_real rt_e_min(rt_real x, rt_real y)
{
	return x != x || y != y ? x + y : x < y ? x : y;
}
static inline rt_real rt_e_relu(rt_real x)
{
	return x > 0 || x != x ? x : 0;
}
static inline int32_t rt_i32_neg(int32_t x)
{
	return (int32_t)(0u - (uint32_t)x); /* wraps: -INT32_MIN = INT32_MIN */
}
static inline int32_t rt_i32_add(int32_t x, int32_t y)
{
	return (int32_t)((uint32_t)x + (uint32_t)y);
}
static inline int32_t rt_i32_sub(int32_t x, int32_t y)
{
	return (int32_t)((uint32_t)x - (uint32_t)y);
}
static inline int32_t rt_i32_mul(int32_t x, int32_t y)
{
	return (int32_t)((uint32_t)x * (uint32_t)y);
}
static inline int32_t rt_i32_div(int32_t x, int32_t y)
{
	return y == 0 ? 0 : y == -1 ? rt_i32_neg(x) : x / y;
}
static inline int32_t rt_i32_pow(int32_t x, int32_t e)
{
	if (e < 0)
		return x == 1 ? 1 : x == -1 ? (e % 2 ? -1 : 1) : 0;
	uint32_t r = 1, b = (uint32_t)x;
	for (uint32_t k = (uint32_t)e; k; k >>= 1) {
		if (k & 1)
			r *= b;
		b *= b;
	}
	return (int32_t)r;
}
static inline int32_t rt_i32_of_real(rt_real x)
{
	double v = (double)x; /* NaN and values outside int32 give INT32_MIN, as x86 */
	return v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : INT32_MIN;
}

#ifdef __cplusplus
}
#endif

#endif
