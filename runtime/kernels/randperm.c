/* randperm.c: per-row uniform random permutations, as torch.rand(B, n).argsort(-1).
 *
 * Element i of row b gets the 32-bit key rt_philox_draw(seed, stream, step, b*n + i)[0], and
 * the row is 0..n-1 sorted by (key, i). Appending i makes the order total, so ties between
 * keys (about n^2 / 2^33 of them per row) resolve the same way everywhere; a GPU backend
 * can sort the same pairs with any algorithm and get identical rows.
 *
 * The sort is a heap sort of out's own row that recomputes keys instead of storing them: no
 * memory beyond out, so nothing can fail, at the price of about 4 n log2(n) Philox calls per
 * row: some 60 ms of one CPU core for MAE's 512 x 256, small beside a training step.
 */
#include "maec_rt.h"

typedef struct Row {
	uint64_t seed, base; /* base: the element index of the row's first element */
	uint32_t stream, step;
} Row;

/* (key, i) as one integer: the row's order is the order of these. */
static uint64_t sort_key(const Row *r, int32_t i)
{
	uint32_t x[4];
	rt_philox_draw(r->seed, r->stream, r->step, r->base + (uint64_t)i, x);
	return (uint64_t)x[0] << 32 | (uint32_t)i;
}

/* Move a[root] down the max-heap a[0..end) to its place. */
static void sift_down(const Row *r, int32_t *a, int64_t root, int64_t end)
{
	int32_t v = a[root];
	uint64_t kv = sort_key(r, v);
	for (;;) {
		int64_t child = 2 * root + 1;
		if (child >= end)
			break;
		uint64_t kc = sort_key(r, a[child]);
		if (child + 1 < end) {
			uint64_t k2 = sort_key(r, a[child + 1]);
			if (k2 > kc) {
				child++;
				kc = k2;
			}
		}
		if (kc < kv)
			break;
		a[root] = a[child];
		root = child;
	}
	a[root] = v;
}

static void randperm_row(const Row *r, int32_t *a, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		a[i] = (int32_t)i;
	for (int64_t i = n / 2 - 1; i >= 0; i--)
		sift_down(r, a, i, n);
	for (int64_t end = n - 1; end > 0; end--) {
		int32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(r, a, 0, end);
	}
}

void rt_randperm(int32_t *out, int64_t batch, int64_t n, uint64_t seed, uint32_t stream, uint32_t step)
{
	RT_CHECK(batch >= 0 && n >= 0 && n <= INT32_MAX && (out || batch == 0 || n == 0));
	if (n == 0)
		return;
	for (int64_t b = 0; b < batch; b++) {
		Row r = {.seed = seed, .base = (uint64_t)b * (uint64_t)n, .stream = stream, .step = step};
		randperm_row(&r, out + b * n, n);
	}
}
