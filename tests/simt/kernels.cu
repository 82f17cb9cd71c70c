/* kernels.cu: kernels for the block-level emulator's test (test_simt.c), which checks the
 * good ones against plain C and the broken ones for the emulator's message; the same file
 * goes through NVRTC for sm_80 and sm_90 (test_simt_nvrtc.c). Every kernel has the
 * signature of runtime/gpu/gpu.h: B is a size, p the arrays. */
#include <cuda_bf16.h>
#include <mma.h>

struct RtPtrs {
	void *p[16];
};
#define KERNEL extern "C" __global__ void
#define F(i) ((float *)p.p[i])
#define I(i) ((int *)p.p[i])

/* ---------- good ---------- */

/* out[i] = in[i] with each block's elements reversed, through static shared memory */
KERNEL block_reverse(long long B, RtPtrs p, int site)
{
	__shared__ float tile[256];
	const int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
	tile[t] = F(1)[i];
	__syncthreads();
	F(0)[i] = tile[blockDim.x - 1 - t];
}

/* out[block] = the sum of the block's elements: a tree in dynamic shared memory, over a
 * two-dimensional block */
KERNEL block_sum(long long B, RtPtrs p, int site)
{
	extern __shared__ float part[];
	const int n = blockDim.x * blockDim.y, t = threadIdx.y * blockDim.x + threadIdx.x;
	part[t] = F(1)[blockIdx.x * n + t];
	__syncthreads();
	for (int s = n / 2; s > 0; s /= 2) {
		if (t < s)
			part[t] += part[t + s];
		__syncthreads();
	}
	if (t == 0)
		F(0)[blockIdx.x] = part[0];
}

/* every warp intrinsic; out k holds lane i's result at k * B + i */
KERNEL warp_ops(long long B, RtPtrs p, int site)
{
	const int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32;
	const float v = F(1)[i];
	float *out = F(0);
	out[0 * B + i] = __shfl_sync(0xffffffffu, v, 3);
	out[1 * B + i] = __shfl_up_sync(0xffffffffu, v, 1);
	out[2 * B + i] = __shfl_down_sync(0xffffffffu, v, 2);
	out[3 * B + i] = __shfl_xor_sync(0xffffffffu, v, 5);
	out[4 * B + i] = __shfl_xor_sync(0xffffffffu, v, 1, 8);
	out[5 * B + i] = __shfl_down_sync(0xffffffffu, v, 3, 8);
	out[6 * B + i] = (float)__ballot_sync(0xffffffffu, v > 0) / 65536.0f;
	out[7 * B + i] = (float)__any_sync(0xffffffffu, v > 0.9f);
	out[8 * B + i] = (float)__all_sync(0xffffffffu, v > -0.9f);
	if (lane < 16) /* a mask of half the warp, for the half that takes part */
		out[9 * B + i] = __shfl_xor_sync(0x0000ffffu, v, 4);
	else
		out[9 * B + i] = __shfl_xor_sync(0xffff0000u, v, 4);
	__syncwarp();
	const double d = (double)v;
	out[10 * B + i] = (float)__shfl_sync(0xffffffffu, d, 31 - lane);
}

/* a histogram of in (values 0..15) per block in shared memory, then summed into global
 * memory; the global float sum and max of in by atomics */
KERNEL atomics(long long B, RtPtrs p, int site)
{
	__shared__ int hist[16];
	const int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
	if (t < 16)
		hist[t] = 0;
	__syncthreads();
	const int v = I(1)[i];
	atomicAdd(&hist[v], 1);
	__syncthreads();
	if (t < 16)
		atomicAdd(&I(0)[t], hist[t]);
	atomicAdd(&F(2)[0], (float)v);
	atomicMax(&I(3)[0], v * 3 + 1);
	atomicCAS(&I(3)[1], 0, 7);
	atomicExch(&I(3)[2], 11);
}

/* D = A B + C for 16x16 tiles: A and B bf16 in row-major and column-major order */
KERNEL wmma_bf16(long long B, RtPtrs p, int site)
{
	using namespace nvcuda;
	wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
	wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
	wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
	wmma::load_matrix_sync(a, (const __nv_bfloat16 *)p.p[1], 16);
	wmma::load_matrix_sync(b, (const __nv_bfloat16 *)p.p[2], 16);
	wmma::load_matrix_sync(c, F(3), 16, wmma::mem_row_major);
	wmma::mma_sync(c, a, b, c);
	for (int k = 0; k < c.num_elements; k++)
		c.x[k] *= 2.0f;
	wmma::store_matrix_sync(F(0), c, 16, wmma::mem_row_major);
}

/* D = A B for a 16x16x8 tile of tf32 inputs rounded by __float_to_tf32, through shared
 * memory; the result stored column-major into shared memory, then copied out */
KERNEL wmma_tf32(long long B, RtPtrs p, int site)
{
	using namespace nvcuda;
	__shared__ __align__(32) float sa[16 * 8], sb[8 * 16];
	for (int k = threadIdx.x; k < 128; k += blockDim.x) {
		sa[k] = F(1)[k];
		sb[k] = F(2)[k];
	}
	__syncthreads();
	wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
	wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> b;
	wmma::fragment<wmma::accumulator, 16, 16, 8, float> c;
	wmma::load_matrix_sync(a, sa, 8);
	wmma::load_matrix_sync(b, sb, 16);
	for (int k = 0; k < a.num_elements; k++)
		a.x[k] = wmma::__float_to_tf32(a.x[k]);
	for (int k = 0; k < b.num_elements; k++)
		b.x[k] = wmma::__float_to_tf32(b.x[k]);
	wmma::fill_fragment(c, 0.0f);
	wmma::mma_sync(c, a, b, c);
	__shared__ __align__(32) float sd[2][256];
	const int w = threadIdx.x / 32;
	wmma::store_matrix_sync(sd[w], c, 16, wmma::mem_col_major);
	__syncthreads();
	for (int k = threadIdx.x; k < 256; k += blockDim.x)
		F(0)[k] = sd[k % 2][k];
}

/* shared memory no thread wrote reads as NaN, also the bytes beside a byte written */
KERNEL unwritten_shared(long long B, RtPtrs p, int site)
{
	__shared__ float tile[64];
	__shared__ unsigned char bytes[4];
	if (threadIdx.x == 0) {
		tile[1] = 1.0f;
		bytes[0] = 7;
	}
	__syncthreads();
	F(0)[threadIdx.x] = tile[threadIdx.x];
	if (threadIdx.x == 1)
		I(1)[0] = bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24;
}

/* a warp's stage, read by every lane, rewritten by one lane after a __syncwarp: out[i] is
 * the sum of in[0..31] for the first round, in[1..32] for the second (a stage as the
 * attention kernels reuse theirs) */
KERNEL warp_stage_reuse(long long B, RtPtrs p, int site)
{
	__shared__ float stage[32];
	const int lane = threadIdx.x % 32;
	float sum = 0;
	for (int round = 0; round < 2; round++) {
		stage[lane] = F(1)[lane + round];
		__syncwarp();
		for (int k = 0; k < 32; k++)
			sum += stage[k];
		__syncwarp();
	}
	F(0)[lane] = sum;
}

/* ---------- broken: each launch must fail, naming the kernel ---------- */

/* every lane reads the stage, then lane 31 rewrites it with no __syncwarp between (a
 * shuffle waits for the lanes but orders no memory) */
KERNEL warp_stage_no_sync(long long B, RtPtrs p, int site)
{
	__shared__ float stage[32];
	const int lane = threadIdx.x % 32;
	stage[lane] = F(1)[lane];
	__syncwarp();
	float sum = 0;
	for (int k = 0; k < 32; k++)
		sum += stage[k];
	sum = __shfl_sync(0xffffffffu, sum, 0);
	if (lane == 31)
		stage[0] = sum;
	F(0)[lane] = sum;
}


/* the barrier between the write and the read is missing */
KERNEL race_no_barrier(long long B, RtPtrs p, int site)
{
	__shared__ float tile[256];
	const int t = threadIdx.x;
	tile[t] = F(1)[t];
	F(0)[t] = tile[(t + 1) % blockDim.x];
}

/* a barrier only half of the block reaches */
KERNEL barrier_divergent(long long B, RtPtrs p, int site)
{
	__shared__ float tile[256];
	const int t = threadIdx.x;
	tile[t] = 1.0f;
	if (t < 16)
		__syncthreads(); /* half */
	F(0)[t] = tile[t];
}

/* two halves of the block at two different barriers */
KERNEL barrier_two_sites(long long B, RtPtrs p, int site)
{
	if (threadIdx.x < 16)
		__syncthreads(); /* first */
	else
		__syncthreads();
}

/* lanes 0-15 read lanes 16-31, which their mask leaves out */
KERNEL shfl_mask_reads_outside(long long B, RtPtrs p, int site)
{
	const int lane = threadIdx.x % 32;
	float v = F(1)[threadIdx.x];
	if (lane < 16)
		v = __shfl_xor_sync(0x0000ffffu, v, 16); /* outside */
	F(0)[threadIdx.x] = v;
}

/* every lane gives a mask of the first 16 lanes */
KERNEL shfl_mask_leaves_out_caller(long long B, RtPtrs p, int site)
{
	F(0)[threadIdx.x] = __shfl_sync(0x0000ffffu, F(1)[threadIdx.x], 0);
}

/* lane 5 returns before a full-warp shuffle */
KERNEL shfl_lane_returns(long long B, RtPtrs p, int site)
{
	if (threadIdx.x % 32 == 5)
		return;
	F(0)[threadIdx.x] = __shfl_sync(0xffffffffu, F(1)[threadIdx.x], 0); /* after return */
}

/* a read past the launch's dynamic shared memory */
KERNEL dynamic_overflow(long long B, RtPtrs p, int site)
{
	extern __shared__ float part[];
	part[threadIdx.x] = 1.0f;
	__syncthreads();
	F(0)[threadIdx.x] = part[threadIdx.x + 64];
}
