/* gpu_plan.c: the host-side logic of the device interface (gpu.h) that both of its
 * implementations share: matrix-product plans in cuBLAS's convention, launch shapes, the
 * device addresses of the slabs (the kernel cache is cache.c). Nothing here touches a device, so tests/runtime/test_gpu_plan.c checks
 * it on any machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu.h"

/* ---------- matrix products ---------- */

static int64_t prod(const int64_t *d, int lo, int hi)
{
	int64_t p = 1;
	for (int i = lo; i < hi; i++)
		p *= d[i];
	return p;
}

static void put(RtGemm *g, int max, int n, RtGemm v)
{
	if (n < max)
		g[n] = v;
}

int rt_gemm_plan(RtGemm *g, int max, int ra, const int64_t *da, int rb, const int64_t *db, int ta, int tb, int reduce)
{
	if (ra < 2 || rb < 2 || ra > RT_MAX_RANK || rb > RT_MAX_RANK || (ta | tb) & ~1)
		return -1;
	for (int i = 0; i < ra; i++)
		if (da[i] < 0)
			return -1;
	for (int i = 0; i < rb; i++)
		if (db[i] < 0)
			return -1;
	int64_t ar = da[ra - 2], ac = da[ra - 1], br = db[rb - 2], bc = db[rb - 1];
	int64_t m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc;
	if ((tb ? bc : br) != k)
		return -1;
	/* out^T [n, m] = op(y)^T op(x)^T: A is y, B is x (see RtGemm). */
	RtGemm base = {.trans_a = tb, .trans_b = ta, .m = n, .n = m, .k = k, .lda = bc > 1 ? bc : 1,
	               .ldb = ac > 1 ? ac : 1, .ldc = n > 1 ? n : 1, .count = 1};
	if (m == 0 || n == 0)
		return 0;
	if (reduce) { /* out = the sum over the shared leading axes */
		if (ra != rb)
			return -1;
		for (int i = 0; i < ra - 2; i++)
			if (da[i] != db[i])
				return -1;
		int64_t batch = prod(da, 0, ra - 2);
		if (batch == 0 || (ta && !tb)) { /* [batch*K, M]^T @ [batch*K, N]; k = 0 zeroes */
			base.k = batch * k;
			put(g, max, 0, base);
			return 1;
		}
		for (int64_t t = 0; t < batch; t++) {
			RtGemm e = base;
			e.off_a = t * k * n;
			e.off_b = t * m * k;
			e.beta = t ? 1.0f : 0.0f;
			put(g, max, (int)t, e);
		}
		return batch > 0x7fffffff ? -1 : (int)batch;
	}
	/* The batch axes, aligned on the right and broadcast. */
	int r = ra - 2 > rb - 2 ? ra - 2 : rb - 2;
	int64_t dim[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
	int64_t batch = 1, a_elems = 1, b_elems = 1;
	for (int i = r - 1, s_a = 1, s_b = 1; i >= 0; i--) {
		int ia = i - (r - (ra - 2)), ib = i - (r - (rb - 2));
		int64_t xa = ia >= 0 ? da[ia] : 1, xb = ib >= 0 ? db[ib] : 1;
		if (xa != xb && xa != 1 && xb != 1)
			return -1;
		dim[i] = xa > xb ? xa : xb;
		sa[i] = xa == 1 ? 0 : s_a;
		sb[i] = xb == 1 ? 0 : s_b;
		s_a *= (int)xa;
		s_b *= (int)xb;
		batch *= dim[i];
		a_elems *= xa;
		b_elems *= xb;
	}
	if (batch == 0)
		return 0;
	if (batch == 1 || (b_elems == 1 && !ta && a_elems == batch)) { /* one GEMM: x's rows stacked */
		base.n = batch * m;
		put(g, max, 0, base);
		return 1;
	}
	/* One strided batch when each operand is either whole (row-major batches) or single. */
	if ((a_elems == batch || a_elems == 1) && (b_elems == batch || b_elems == 1)) {
		RtGemm e = base;
		e.stride_a = b_elems == 1 ? 0 : k * n;
		e.stride_b = a_elems == 1 ? 0 : m * k;
		e.stride_c = m * n;
		e.count = batch;
		put(g, max, 0, e);
		return 1;
	}
	/* Otherwise one GEMM per batch element. */
	if (batch > 0x7fffffff)
		return -1;
	for (int64_t t = 0; t < batch; t++) {
		int64_t oa = 0, ob = 0, rem = t;
		for (int i = r - 1; i >= 0; i--) {
			int64_t c = rem % dim[i];
			rem /= dim[i];
			oa += c * sa[i];
			ob += c * sb[i];
		}
		RtGemm e = base;
		e.off_a = ob * k * n;
		e.off_b = oa * m * k;
		e.off_c = t * m * n;
		put(g, max, (int)t, e);
	}
	return (int)batch;
}

RtGemm *rt_gemm_plan_for(RtGemm *local, int nlocal, int *n, int rank_a, const int64_t *dims_a, int rank_b,
                         const int64_t *dims_b, int ta, int tb, int reduce, int accumulate, int site)
{
	RtGemm *plan = local;
	*n = rt_gemm_plan(local, nlocal, rank_a, dims_a, rank_b, dims_b, ta, tb, reduce);
	if (*n > nlocal && (plan = malloc(sizeof *plan * (size_t)*n)))
		*n = rt_gemm_plan(plan, *n, rank_a, dims_a, rank_b, dims_b, ta, tb, reduce);
	if (*n < 0 || !plan) {
		fprintf(stderr, "trainer: %s: %s\n", rt_gpu_site(site), *n < 0 ? "shapes that break the product" : "out of memory");
		if (plan != local)
			free(plan);
		return NULL;
	}
	for (int i = 0; i < *n && accumulate; i++)
		plan[i].beta = 1.0f;
	return plan;
}

/* ---------- the slabs ---------- */

static RtGpuSlabs *slabs(RtState *st)
{
	return st->dev;
}

char *rt_gpu_act(RtState *st)
{
	return slabs(st)->act;
}

char *rt_gpu_io(RtState *st)
{
	return slabs(st)->io;
}

char *rt_gpu_scratch(RtState *st)
{
	return slabs(st)->scratch;
}

float *rt_gpu_slab(RtState *st, int which)
{
	return slabs(st)->slab[which];
}

/* ---------- launches ---------- */

unsigned rt_gpu_grid(int64_t threads, int sms)
{
	int64_t blocks = (threads + RT_GPU_BLOCK - 1) / RT_GPU_BLOCK, cap = (int64_t)sms * 16;
	return (unsigned)(blocks < cap ? blocks : cap);
}

unsigned rt_gpu_blocks(int64_t blocks, int site)
{
	if (blocks <= 0x7fffffff)
		return (unsigned)blocks;
	fprintf(stderr, "trainer: %s: %lld blocks, more than a grid takes\n", rt_gpu_site(site), (long long)blocks);
	return 0;
}

const char *rt_gpu_site(int site)
{
	return site >= 0 && site < rt_gpu_program.nsites ? rt_gpu_program.sites[site] : "(unknown site)";
}
