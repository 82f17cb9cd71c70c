/* simt_cuda.h: CUDA's built-ins for kernel source compiled by the host C++ compiler and run
 * by the block-level emulator (runtime/gpu/simt.c, whose top comment is the contract).
 *
 * The emulator compiles a module's kernel source, unchanged, with this header forced in
 * front of it (-include) and with ThreadSanitizer's instrumentation (-fsanitize=thread),
 * whose hooks below hand every load and store to the emulator: that is how it finds races
 * in shared memory and reads of shared memory no thread of the block wrote (NaN). No
 * sanitizer runtime is linked: the hooks are defined here.
 *
 * What it maps:
 *   __shared__          thread_local: every block runs on one host thread at a time, its
 *                       threads as fibers of that host thread, so a thread_local is one
 *                       block's shared memory (extern __shared__ arrays are defined by the
 *                       emulator, simt.c: dynamic_defs)
 *   threadIdx ...       the running fiber's indexes, read from the emulator
 *   __syncthreads       the block barrier; __syncwarp, __shfl*_sync, __ballot_sync,
 *                       __any_sync, __all_sync and nvcuda::wmma are warp collectives
 *   atomics             the compiler's __atomic built-ins (blocks may run on several host
 *                       threads at once)
 *   __nv_bfloat16       16 bits, converted with round-to-nearest-even as cuda_bf16.h does
 *
 * Tensor-core products (nvcuda::wmma::mma_sync) multiply inputs rounded as the hardware
 * takes them: bf16 as stored, tf32 with the low 13 mantissa bits dropped (a value that
 * __float_to_tf32 rounded is unchanged by that), and accumulate each output in fp32 in k
 * order. The distribution of a fragment's elements over the lanes is the emulator's own
 * (lane l holds elements l*n ... l*n+n-1 of the tile in row-major order); CUDA leaves it
 * unspecified, so code that depends on it is wrong on both.
 */
#ifndef MAEC_SIMT_CUDA_H
#define MAEC_SIMT_CUDA_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAEC_SIMT_HOST __attribute__((no_sanitize("thread"))) /* not instrumented */

/* What the emulator gives the module (simt.c fills it in after loading). */
struct uint3 {
	unsigned x, y, z;
};
typedef uint3 dim3;
struct MaecSimtApi {
	const uint3 *(*thread_idx)(void);
	const uint3 *(*block_idx)(void);
	const dim3 *(*block_dim)(void);
	const dim3 *(*grid_dim)(void);
	void (*access)(const void *p, unsigned n, int write);
	void (*barrier)(int line);
	/* A warp collective: this lane arrives with its payload; when every lane of mask has
	 * arrived at the same op, fn(payloads by lane, mask, message, its size) runs once (a
	 * nonzero return fails the launch with the message), then every lane goes on. */
	void (*warp)(const char *op, int line, unsigned mask, void *payload,
	             int (*fn)(void *const *lanes, unsigned mask, char *msg, size_t n));
	void (*fail)(const char *msg); /* fails the launch with msg (does not return) */
	unsigned (*active)(void);      /* the lanes of the caller's warp that have not returned */
};
extern "C" {
MaecSimtApi *maec_simt_api; /* set by the emulator before the first launch */
thread_local char maec_simt_anchor; /* touched to make this module's TLS block exist */
MAEC_SIMT_HOST char *maec_simt_tls(void)
{
	return &maec_simt_anchor;
}
}

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict
#define __shared__ thread_local
#define __constant__ const
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define threadIdx (*maec_simt_api->thread_idx())
#define blockIdx (*maec_simt_api->block_idx())
#define blockDim (*maec_simt_api->block_dim())
#define gridDim (*maec_simt_api->grid_dim())
#define warpSize 32
#define __syncthreads() maec_simt_api->barrier(__LINE__)
#define __threadfence() ((void)0)
#define __threadfence_block() ((void)0)

/* ---- ThreadSanitizer's hooks: every access of the kernels goes to the emulator ---- */
extern "C" {
MAEC_SIMT_HOST void __tsan_init(void) {}
MAEC_SIMT_HOST void __tsan_func_entry(void *p)
{
	(void)p;
}
MAEC_SIMT_HOST void __tsan_func_exit(void) {}
MAEC_SIMT_HOST static inline void maec_simt_access(const void *p, unsigned n, int write)
{
	if (maec_simt_api)
		maec_simt_api->access(p, n, write);
}
#define MAEC_SIMT_HOOKS(n)                                                                        \
	MAEC_SIMT_HOST void __tsan_read##n(void *p) { maec_simt_access(p, n, 0); }                  \
	MAEC_SIMT_HOST void __tsan_write##n(void *p) { maec_simt_access(p, n, 1); }                 \
	MAEC_SIMT_HOST void __tsan_unaligned_read##n(void *p) { maec_simt_access(p, n, 0); }        \
	MAEC_SIMT_HOST void __tsan_unaligned_write##n(void *p) { maec_simt_access(p, n, 1); }       \
	MAEC_SIMT_HOST void __tsan_volatile_read##n(void *p) { maec_simt_access(p, n, 0); }         \
	MAEC_SIMT_HOST void __tsan_volatile_write##n(void *p) { maec_simt_access(p, n, 1); }
MAEC_SIMT_HOOKS(1)
MAEC_SIMT_HOOKS(2)
MAEC_SIMT_HOOKS(4)
MAEC_SIMT_HOOKS(8)
MAEC_SIMT_HOOKS(16)
#undef MAEC_SIMT_HOOKS
MAEC_SIMT_HOST void __tsan_read_range(void *p, unsigned long n)
{
	maec_simt_access(p, (unsigned)n, 0);
}
MAEC_SIMT_HOST void __tsan_write_range(void *p, unsigned long n)
{
	maec_simt_access(p, (unsigned)n, 1);
}
MAEC_SIMT_HOST void __tsan_vptr_update(void **p, void *v)
{
	(void)p;
	(void)v;
}
MAEC_SIMT_HOST void __tsan_vptr_read(void **p)
{
	(void)p;
}
}

/* ---- bit casts, fast math ---- */
template <class To, class From> MAEC_SIMT_HOST inline To maec_simt_bits(From v)
{
	static_assert(sizeof(To) == sizeof(From), "a bit cast keeps the size");
	To t;
	memcpy(&t, &v, sizeof t);
	return t;
}
MAEC_SIMT_HOST inline float __int_as_float(int i) { return maec_simt_bits<float>(i); }
MAEC_SIMT_HOST inline int __float_as_int(float f) { return maec_simt_bits<int>(f); }
MAEC_SIMT_HOST inline float __uint_as_float(unsigned i) { return maec_simt_bits<float>(i); }
MAEC_SIMT_HOST inline unsigned __float_as_uint(float f) { return maec_simt_bits<unsigned>(f); }
MAEC_SIMT_HOST inline double __longlong_as_double(long long i) { return maec_simt_bits<double>(i); }
MAEC_SIMT_HOST inline long long __double_as_longlong(double d) { return maec_simt_bits<long long>(d); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x < 0 ? 0 : x > 1 ? 1 : x == x ? x : 0; }
template <class T> inline T __ldg(const T *p) { return *p; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }

/* ---- atomics: relaxed read-modify-writes, as the device's are ---- */
#define MAEC_SIMT_ATOMIC(T, name, builtin)                                                        \
	MAEC_SIMT_HOST inline T name(T *p, T v) { return builtin(p, v, __ATOMIC_RELAXED); }
#define MAEC_SIMT_ATOMICS(T)                                                                      \
	MAEC_SIMT_ATOMIC(T, atomicAdd, __atomic_fetch_add)                                        \
	MAEC_SIMT_ATOMIC(T, atomicSub, __atomic_fetch_sub)                                        \
	MAEC_SIMT_ATOMIC(T, atomicAnd, __atomic_fetch_and)                                        \
	MAEC_SIMT_ATOMIC(T, atomicOr, __atomic_fetch_or)                                          \
	MAEC_SIMT_ATOMIC(T, atomicXor, __atomic_fetch_xor)                                        \
	MAEC_SIMT_ATOMIC(T, atomicExch, __atomic_exchange_n)                                      \
	MAEC_SIMT_HOST inline T atomicCAS(T *p, T cmp, T v)                                       \
	{                                                                                         \
		__atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
		return cmp;                                                                       \
	}                                                                                         \
	MAEC_SIMT_HOST inline T atomicMax(T *p, T v)                                              \
	{                                                                                         \
		T o = __atomic_load_n(p, __ATOMIC_RELAXED);                                       \
		while (o < v && !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) \
			;                                                                         \
		return o;                                                                         \
	}                                                                                         \
	MAEC_SIMT_HOST inline T atomicMin(T *p, T v)                                              \
	{                                                                                         \
		T o = __atomic_load_n(p, __ATOMIC_RELAXED);                                       \
		while (o > v && !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) \
			;                                                                         \
		return o;                                                                         \
	}
MAEC_SIMT_ATOMICS(int)
MAEC_SIMT_ATOMICS(unsigned)
MAEC_SIMT_ATOMICS(unsigned long long)
#undef MAEC_SIMT_ATOMICS
#undef MAEC_SIMT_ATOMIC
/* floating-point adds: a compare-and-swap loop on the bits */
template <class F, class I> MAEC_SIMT_HOST inline F maec_simt_atomic_fadd(F *p, F v)
{
	I *q = (I *)p, o = __atomic_load_n(q, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(q, &o, maec_simt_bits<I>(maec_simt_bits<F>(o) + v), true, __ATOMIC_RELAXED,
	                                    __ATOMIC_RELAXED))
		;
	return maec_simt_bits<F>(o);
}
MAEC_SIMT_HOST inline float atomicAdd(float *p, float v) { return maec_simt_atomic_fadd<float, unsigned>(p, v); }
MAEC_SIMT_HOST inline double atomicAdd(double *p, double v)
{
	return maec_simt_atomic_fadd<double, unsigned long long>(p, v);
}

/* ---- warp intrinsics ---- */
enum { MAEC_SHFL_IDX, MAEC_SHFL_UP, MAEC_SHFL_DOWN, MAEC_SHFL_XOR, MAEC_VOTE_BALLOT, MAEC_VOTE_ANY, MAEC_VOTE_ALL };
struct MaecSimtLane {
	int kind, arg, width;
	unsigned long long in, out; /* the value's bits; for votes, the predicate and the result */
};
/* Every lane's result once all have arrived: the lane it reads (a shuffle), or the vote. */
MAEC_SIMT_HOST static int maec_simt_warp_fn(void *const *lanes, unsigned mask, char *msg, size_t n)
{
	unsigned ballot = 0;
	for (int l = 0; l < 32; l++)
		if (mask >> l & 1 && ((MaecSimtLane *)lanes[l])->in)
			ballot |= 1u << l;
	for (int l = 0; l < 32; l++) {
		if (!(mask >> l & 1))
			continue;
		MaecSimtLane *me = (MaecSimtLane *)lanes[l];
		if (me->kind >= MAEC_VOTE_BALLOT) {
			me->out = me->kind == MAEC_VOTE_BALLOT ? ballot : me->kind == MAEC_VOTE_ANY ? ballot != 0 : ballot == mask;
			continue;
		}
		const int w = me->width;
		if (w < 1 || w > 32 || (w & (w - 1))) {
			snprintf(msg, n, "lane %d gives width %d, not a power of 2 from 1 to 32", l, w);
			return 1;
		}
		const int base = l / w * w, pos = l - base;
		int src = l;
		switch (me->kind) {
		case MAEC_SHFL_IDX: src = base + ((me->arg % w) + w) % w; break;
		case MAEC_SHFL_UP: src = pos >= me->arg ? l - me->arg : l; break;
		case MAEC_SHFL_DOWN: src = pos + me->arg < w ? l + me->arg : l; break;
		case MAEC_SHFL_XOR: src = (l ^ me->arg) / w == l / w ? l ^ me->arg : l; break;
		}
		if (src < 0 || src > 31 || !(mask >> src & 1)) {
			snprintf(msg, n, "lane %d reads lane %d, which the mask 0x%08x leaves out", l, src, mask);
			return 1;
		}
		me->out = ((MaecSimtLane *)lanes[src])->in;
	}
	return 0;
}
template <class T> MAEC_SIMT_HOST inline T maec_simt_shfl(const char *op, int line, int kind, unsigned mask, T v, int arg,
                                                         int width = 32)
{
	static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
	MaecSimtLane me = {kind, arg, width, 0, 0};
	memcpy(&me.in, &v, sizeof v);
	maec_simt_api->warp(op, line, mask, &me, maec_simt_warp_fn);
	T r;
	memcpy(&r, &me.out, sizeof r);
	return r;
}
MAEC_SIMT_HOST inline unsigned maec_simt_vote(const char *op, int line, int kind, unsigned mask, int pred)
{
	MaecSimtLane me = {kind, 0, 32, pred != 0, 0};
	maec_simt_api->warp(op, line, mask, &me, maec_simt_warp_fn);
	return (unsigned)me.out;
}
MAEC_SIMT_HOST static int maec_simt_nothing(void *const *lanes, unsigned mask, char *msg, size_t n)
{
	(void)lanes, (void)mask, (void)msg, (void)n;
	return 0;
}
#define __shfl_sync(mask, ...) maec_simt_shfl("__shfl_sync", __LINE__, MAEC_SHFL_IDX, mask, __VA_ARGS__)
#define __shfl_up_sync(mask, ...) maec_simt_shfl("__shfl_up_sync", __LINE__, MAEC_SHFL_UP, mask, __VA_ARGS__)
#define __shfl_down_sync(mask, ...) maec_simt_shfl("__shfl_down_sync", __LINE__, MAEC_SHFL_DOWN, mask, __VA_ARGS__)
#define __shfl_xor_sync(mask, ...) maec_simt_shfl("__shfl_xor_sync", __LINE__, MAEC_SHFL_XOR, mask, __VA_ARGS__)
#define __ballot_sync(mask, p) maec_simt_vote("__ballot_sync", __LINE__, MAEC_VOTE_BALLOT, mask, p)
#define __any_sync(mask, p) ((int)maec_simt_vote("__any_sync", __LINE__, MAEC_VOTE_ANY, mask, p))
#define __all_sync(mask, p) ((int)maec_simt_vote("__all_sync", __LINE__, MAEC_VOTE_ALL, mask, p))
/* __syncwarp() and __syncwarp(mask): an object made with the line, called with the mask */
struct maec_simt_syncwarp {
	int line;
	MAEC_SIMT_HOST void operator()(unsigned mask = 0xffffffffu) const
	{
		maec_simt_api->warp("__syncwarp", line, mask, 0, maec_simt_nothing);
	}
};
#define __syncwarp maec_simt_syncwarp{__LINE__}
#define __activemask() (maec_simt_api->active())

/* ---- bf16 and tf32 ---- */
struct __nv_bfloat16 {
	unsigned short x;
};
MAEC_SIMT_HOST inline __nv_bfloat16 __float2bfloat16(float f)
{
	unsigned u = __float_as_uint(f);
	__nv_bfloat16 h;
	if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN stays a quiet NaN */
		h.x = (unsigned short)((u >> 16) | 0x40);
	else
		h.x = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
	return h;
}
MAEC_SIMT_HOST inline float __bfloat162float(__nv_bfloat16 h)
{
	return __uint_as_float((unsigned)h.x << 16);
}
/* cvt.rna.tf32.f32: to 10 mantissa bits, to nearest, ties away from zero */
MAEC_SIMT_HOST inline float __float_to_tf32(float f)
{
	unsigned u = __float_as_uint(f);
	if ((u & 0x7f800000u) == 0x7f800000u)
		return f;
	return __uint_as_float((u + 0x1000u) & 0xffffe000u);
}

/* ---- nvcuda::wmma: warp-collective tiles on the tensor cores ---- */
namespace nvcuda {
namespace wmma {
using ::__float_to_tf32;
struct matrix_a;
struct matrix_b;
struct accumulator;
struct row_major;
struct col_major;
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32;
}
template <class Use, int M, int N, int K> struct maec_shape;
template <int M, int N, int K> struct maec_shape<matrix_a, M, N, K> {
	enum { rows = M, cols = K };
};
template <int M, int N, int K> struct maec_shape<matrix_b, M, N, K> {
	enum { rows = K, cols = N };
};
template <int M, int N, int K> struct maec_shape<accumulator, M, N, K> {
	enum { rows = M, cols = N };
};
template <class T> struct maec_storage {
	typedef T type;
};
template <> struct maec_storage<precision::tf32> {
	typedef float type;
};
/* the value a tensor core multiplies */
MAEC_SIMT_HOST inline float maec_tc_in(float f, bool tf32)
{
	return tf32 ? __uint_as_float(__float_as_uint(f) & 0xffffe000u) : f;
}
MAEC_SIMT_HOST inline float maec_tc_in(__nv_bfloat16 h, bool) { return __bfloat162float(h); }
MAEC_SIMT_HOST inline float maec_to_float(float f) { return f; }
MAEC_SIMT_HOST inline float maec_to_float(__nv_bfloat16 h) { return __bfloat162float(h); }
MAEC_SIMT_HOST inline void maec_from_float(float &d, float f) { d = f; }
MAEC_SIMT_HOST inline void maec_from_float(__nv_bfloat16 &d, float f) { d = __float2bfloat16(f); }

template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
	typedef typename maec_storage<T>::type element_type;
	enum { rows = maec_shape<Use, M, N, K>::rows, cols = maec_shape<Use, M, N, K>::cols, num_elements = rows * cols / 32 };
	static_assert((M == 16 && N == 16 && (K == 16 || K == 8)), "the emulated tensor cores take 16x16x16 and 16x16x8 tiles");
	element_type x[num_elements];
};
template <class L> struct maec_is_row {
	enum { value = 0 };
};
template <> struct maec_is_row<row_major> {
	enum { value = 1 };
};
template <class Fr> MAEC_SIMT_HOST inline int maec_flat(int lane, int i)
{
	return lane * Fr::num_elements + i;
}

/* The checks every lane's call must pass, then the collective: all lanes at once. */
struct maec_ldst {
	const void *p;
	unsigned ldm;
};
MAEC_SIMT_HOST static int maec_same_tile(void *const *lanes, unsigned mask, char *msg, size_t n)
{
	const maec_ldst *l0 = (const maec_ldst *)lanes[0];
	for (int l = 1; l < 32; l++) {
		const maec_ldst *o = (const maec_ldst *)lanes[l];
		if (o->p != l0->p || o->ldm != l0->ldm) {
			snprintf(msg, n, "lanes 0 and %d give different tiles (%p, ldm %u; %p, ldm %u)", l, l0->p, l0->ldm, o->p,
			         o->ldm);
			return 1;
		}
	}
	(void)mask;
	return 0;
}
template <class E> MAEC_SIMT_HOST inline void maec_tile_check(const char *op, int line, const E *p, unsigned ldm)
{
	char msg[160];
	if ((uintptr_t)p % 32) {
		snprintf(msg, sizeof msg, "%s at line %d: the tile at %p is not 32-byte aligned", op, line, (const void *)p);
		maec_simt_api->fail(msg);
	}
	if (ldm * sizeof(E) % 16) {
		snprintf(msg, sizeof msg, "%s at line %d: ldm %u is not a multiple of 16 bytes", op, line, ldm);
		maec_simt_api->fail(msg);
	}
	maec_ldst me = {p, ldm};
	maec_simt_api->warp(op, line, 0xffffffffu, &me, maec_same_tile);
}
/* row r, column c of a tile in memory */
MAEC_SIMT_HOST inline long maec_at(int r, int c, unsigned ldm, bool row_major)
{
	return row_major ? (long)r * ldm + c : (long)c * ldm + r;
}
template <class Fr, class E> inline void maec_load(Fr &f, const E *p, unsigned ldm, bool row_major)
{
	const int lane = (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32;
	for (int i = 0; i < Fr::num_elements; i++) {
		const int e = maec_flat<Fr>(lane, i);
		f.x[i] = p[maec_at(e / Fr::cols, e % Fr::cols, ldm, row_major)];
	}
}

template <class Use, int M, int N, int K, class T, class L>
MAEC_SIMT_HOST inline void maec_fill(int line, fragment<Use, M, N, K, T, L> &f, float v)
{
	maec_simt_api->warp("wmma::fill_fragment", line, 0xffffffffu, 0, maec_simt_nothing);
	for (int i = 0; i < f.num_elements; i++)
		maec_from_float(f.x[i], v);
}
template <class Use, int M, int N, int K, class T, class L, class E>
inline void maec_load_ab(int line, fragment<Use, M, N, K, T, L> &f, const E *p, unsigned ldm)
{
	maec_tile_check("wmma::load_matrix_sync", line, p, ldm);
	maec_load(f, p, ldm, maec_is_row<L>::value);
}
template <int M, int N, int K, class E>
inline void maec_load_c(int line, fragment<accumulator, M, N, K, float> &f, const E *p, unsigned ldm, layout_t l)
{
	maec_tile_check("wmma::load_matrix_sync", line, p, ldm);
	maec_load(f, p, ldm, l == mem_row_major);
}
template <int M, int N, int K, class E>
inline void maec_store(int line, E *p, const fragment<accumulator, M, N, K, float> &f, unsigned ldm, layout_t l)
{
	typedef fragment<accumulator, M, N, K, float> Fr;
	maec_tile_check("wmma::store_matrix_sync", line, p, ldm);
	const int lane = (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32;
	for (int i = 0; i < Fr::num_elements; i++) {
		const int e = maec_flat<Fr>(lane, i);
		E v;
		maec_from_float(v, f.x[i]);
		p[maec_at(e / Fr::cols, e % Fr::cols, ldm, l == mem_row_major)] = v; /* seen by the race checks */
	}
}

/* D = A B + C over the whole warp's fragments */
template <class FD, class FA, class FB, class FC> struct maec_mma {
	FD *d;
	const FA *a;
	const FB *b;
	const FC *c;
	MAEC_SIMT_HOST static int run(void *const *lanes, unsigned mask, char *msg, size_t n)
	{
		enum { M = FA::rows, K = FA::cols, N = FB::cols };
		const bool tf32 = sizeof(typename FA::element_type) == 4;
		float A[M][K], B[K][N], C[M][N];
		for (int l = 0; l < 32; l++) {
			const maec_mma *me = (const maec_mma *)lanes[l];
			for (int i = 0; i < FA::num_elements; i++) {
				const int e = maec_flat<FA>(l, i);
				A[e / K][e % K] = maec_tc_in(me->a->x[i], tf32);
			}
			for (int i = 0; i < FB::num_elements; i++) {
				const int e = maec_flat<FB>(l, i);
				B[e / N][e % N] = maec_tc_in(me->b->x[i], tf32);
			}
			for (int i = 0; i < FC::num_elements; i++) {
				const int e = maec_flat<FC>(l, i);
				C[e / N][e % N] = me->c->x[i];
			}
		}
		for (int l = 0; l < 32; l++) {
			const maec_mma *me = (const maec_mma *)lanes[l];
			for (int i = 0; i < FD::num_elements; i++) {
				const int e = maec_flat<FD>(l, i), r = e / N, col = e % N;
				float acc = C[r][col];
				for (int k = 0; k < K; k++)
					acc = fmaf(A[r][k], B[k][col], acc);
				me->d->x[i] = acc;
			}
		}
		(void)mask, (void)msg, (void)n;
		return 0;
	}
};
template <class FD, class FA, class FB, class FC>
MAEC_SIMT_HOST inline void maec_mma_sync(int line, FD &d, const FA &a, const FB &b, const FC &c)
{
	maec_mma<FD, FA, FB, FC> me = {&d, &a, &b, &c};
	maec_simt_api->warp("wmma::mma_sync", line, 0xffffffffu, &me, maec_mma<FD, FA, FB, FC>::run);
}
#define fill_fragment(...) maec_fill(__LINE__, __VA_ARGS__)
#define load_matrix_sync(f, p, ...) maec_load_sel(__LINE__, f, p, __VA_ARGS__)
#define store_matrix_sync(...) maec_store(__LINE__, __VA_ARGS__)
#define mma_sync(...) maec_mma_sync(__LINE__, __VA_ARGS__)
template <class Use, int M, int N, int K, class T, class L, class E>
inline void maec_load_sel(int line, fragment<Use, M, N, K, T, L> &f, const E *p, unsigned ldm)
{
	maec_load_ab(line, f, p, ldm);
}
template <int M, int N, int K, class E>
inline void maec_load_sel(int line, fragment<accumulator, M, N, K, float> &f, const E *p, unsigned ldm, layout_t l)
{
	maec_load_c(line, f, p, ldm, l);
}
} // namespace wmma
} // namespace nvcuda

#endif
