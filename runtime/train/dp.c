/* dp.c: data parallelism in the training driver (dp.h).
 *
 * Buckets (the C target without --zero): the recipe's gradients, in state-slab order, cut
 * into pieces of BUCKET elements. The generated step calls st->grad_ready after the last
 * kernel that adds into each parameter's gradient; a bucket whose elements are all final
 * starts its MPI_Iallreduce at once, in place, and the backward goes on. The backward
 * finalises the same parameters in the same order on every rank, so the buckets start in
 * the same order everywhere, as MPI requires; whatever never reported (a device's step)
 * starts at the end, in index order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/dp.h"
#include "train/guard.h"

enum { BUCKET = 1 << 20 }; /* elements: 4 MiB of fp32 gradients */

typedef struct Bucket {
	int64_t lo, hi, pending; /* state-slab elements, and how many of them are not final */
	bool started;
} Bucket;

struct RtDp {
	const RtProgram *p;
	const RtRecipeDesc *r;
	RtState *st;
	RtComm *comm;
	int rank, size;
	bool zero;
	RtCommType type;
	int64_t *shard;    /* size + 1 entries: rank k's state-slab elements [shard[k], shard[k + 1]) */
	rt_real *mirror;   /* zero: parameters in state-slab order, to gather them */
	int64_t (*ranges)[2]; /* the recipe's gradients in the state slab, merged, in order */
	int nranges;
	Bucket *b;
	int nb;
	bool armed;        /* rt_dp_arm ran for the step under way */
	int64_t sums, early; /* steps summed in buckets, and buckets started during their backward */
};

static void *alloc(size_t n)
{
	void *x = calloc(n ? n : 1, 1);
	if (!x)
		fprintf(stderr, "trainer: out of memory for data parallelism\n");
	return x;
}

static int by_offset(const void *a, const void *b)
{
	int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
	return (x > y) - (x < y);
}

/* The state-slab ranges of the recipe's trained parameters, sorted and merged. */
static int trained_ranges(RtDp *d)
{
	const RtRecipeDesc *r = d->r;
	d->ranges = alloc(sizeof *d->ranges * (size_t)(r->ntrained ? r->ntrained : 1));
	if (!d->ranges)
		return 1;
	int n = 0;
	for (int i = 0; i < r->ntrained; i++) {
		const RtParamDesc *pd = &d->p->params[r->trained[i]];
		if (pd->state_offset < 0)
			continue;
		d->ranges[n][0] = pd->state_offset;
		d->ranges[n++][1] = pd->state_offset + pd->numel;
	}
	qsort(d->ranges, (size_t)n, sizeof *d->ranges, by_offset);
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m && d->ranges[i][0] <= d->ranges[m - 1][1]) {
			if (d->ranges[i][1] > d->ranges[m - 1][1])
				d->ranges[m - 1][1] = d->ranges[i][1];
		} else {
			d->ranges[m][0] = d->ranges[i][0];
			d->ranges[m++][1] = d->ranges[i][1];
		}
	}
	d->nranges = m;
	return 0;
}

static int make_buckets(RtDp *d)
{
	int nb = 0;
	for (int i = 0; i < d->nranges; i++)
		nb += (int)((d->ranges[i][1] - d->ranges[i][0] + BUCKET - 1) / BUCKET);
	if (!(d->b = alloc(sizeof *d->b * (size_t)nb)))
		return 1;
	for (int i = 0; i < d->nranges; i++)
		for (int64_t lo = d->ranges[i][0]; lo < d->ranges[i][1]; lo += BUCKET)
			d->b[d->nb++] = (Bucket){.lo = lo, .hi = lo + BUCKET < d->ranges[i][1] ? lo + BUCKET : d->ranges[i][1]};
	return 0;
}

RtDp *rt_dp_open(const RtProgram *p, const RtRecipeDesc *r, RtState *st, bool zero)
{
	RtDp *d = alloc(sizeof *d);
	if (!d)
		return NULL;
	*d = (RtDp){.p = p, .r = r, .st = st, .comm = st->comm, .rank = rt_comm_rank(st->comm),
	            .size = rt_comm_size(st->comm), .zero = zero,
	            .type = sizeof(rt_real) == sizeof(double) ? RT_COMM_F64 : RT_COMM_F32};
	d->shard = alloc(sizeof(int64_t) * (size_t)(d->size + 1));
	if (!d->shard || trained_ranges(d)) {
		rt_dp_close(d);
		return NULL;
	}
	/* equal shards of the state slab, on 64-element boundaries */
	for (int k = 0; k <= d->size; k++) {
		int64_t at = p->state_numel * k / d->size / 64 * 64;
		d->shard[k] = k == d->size ? p->state_numel : at;
	}
	st->shard_lo = zero ? d->shard[d->rank] : 0;
	st->shard_hi = zero ? d->shard[d->rank + 1] : p->state_numel;
	if (zero && !(d->mirror = alloc(sizeof(rt_real) * (size_t)p->state_numel))) {
		rt_dp_close(d);
		return NULL;
	}
	if (d->size > 1 && !zero && !p->device && make_buckets(d)) {
		rt_dp_close(d);
		return NULL;
	}
	st->dp = d;
	return d;
}

void rt_dp_close(RtDp *d)
{
	if (!d)
		return;
	d->st->grad_ready = NULL;
	d->st->dp = NULL;
	free(d->shard);
	free(d->mirror);
	free(d->ranges);
	free(d->b);
	free(d);
}

int rt_dp_owner(const RtDp *d, int64_t slot, int64_t nmicro)
{
	return (int)(slot * d->size / nmicro);
}

static int start(RtDp *d, Bucket *b)
{
	b->started = true;
	return rt_comm_start(d->comm, d->st->grad + b->lo, b->hi - b->lo, d->type);
}

/* st->grad_ready: grad[off, off + n) is final. A failure to start a sum stops every rank:
 * the step cannot report it, and the others would wait for this one. */
static void grad_ready(RtState *st, int64_t off, int64_t n)
{
	RtDp *d = st->dp;
	for (int i = 0; i < d->nb; i++) {
		Bucket *b = &d->b[i];
		int64_t lo = off > b->lo ? off : b->lo, hi = off + n < b->hi ? off + n : b->hi;
		if (hi <= lo || b->started)
			continue;
		b->pending -= hi - lo;
		if (b->pending <= 0 && start(d, b))
			rt_comm_abort(d->comm, 1);
	}
	if (rt_comm_progress(d->comm))
		rt_comm_abort(d->comm, 1);
}

static void reset(RtDp *d)
{
	for (int i = 0; i < d->nb; i++)
		d->b[i] = (Bucket){.lo = d->b[i].lo, .hi = d->b[i].hi, .pending = d->b[i].hi - d->b[i].lo};
}

void rt_dp_arm(RtDp *d)
{
	if (!d->nb)
		return;
	reset(d);
	d->armed = true;
	d->st->grad_ready = grad_ready;
}

int rt_dp_sum_grads(RtDp *d)
{
	RtState *st = d->st;
	if (d->size == 1)
		return 0;
	if (d->p->device) {
		for (int i = 0; i < d->nranges; i++)
			if (d->p->device->dp_allreduce(st, 1, d->ranges[i][0], d->ranges[i][1] - d->ranges[i][0]))
				return 1;
		return 0;
	}
	if (d->zero) { /* the shard's sums, through the mirror's shard as scratch */
		rt_real *out = d->mirror + st->shard_lo;
		if (rt_comm_reduce_scatter(d->comm, st->grad, out, d->shard, d->type))
			return 1;
		memcpy(st->grad + st->shard_lo, out, sizeof(rt_real) * (size_t)(st->shard_hi - st->shard_lo));
		return 0;
	}
	st->grad_ready = NULL;
	if (!d->armed) /* every bucket starts now */
		reset(d);
	d->armed = false;
	d->sums++;
	for (int i = 0; i < d->nb; i++) {
		if (d->b[i].started)
			d->early++;
		else if (start(d, &d->b[i]))
			return 1;
	}
	return rt_comm_wait(d->comm);
}

int rt_dp_grad_sumsq(RtDp *d, double *sumsq)
{
	const RtState *st = d->st;
	*sumsq = rt_sum_squares(st->grad + st->shard_lo, st->shard_hi - st->shard_lo);
	return d->zero ? rt_comm_allreduce(d->comm, sumsq, 1, RT_COMM_F64) : 0;
}

int rt_dp_after_update(RtDp *d)
{
	if (!d->zero || d->size == 1)
		return 0;
	RtState *st = d->st;
	const RtRecipeDesc *r = d->r;
	/* the parameters in state-slab order: this rank's shard, then every rank's */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && rt_comm_allgather(d->comm, d->mirror, d->shard, d->type))
			return 1;
		for (int i = 0; i < r->ntrained; i++) {
			const RtParamDesc *pd = &d->p->params[r->trained[i]];
			int64_t so = pd->state_offset;
			if (so < 0)
				continue;
			int64_t lo = pass ? so : so > st->shard_lo ? so : st->shard_lo;
			int64_t hi = pass ? so + pd->numel : so + pd->numel < st->shard_hi ? so + pd->numel : st->shard_hi;
			if (hi <= lo)
				continue;
			rt_real *param = st->params + pd->offset + (lo - so), *mirror = d->mirror + lo;
			if (pass)
				memcpy(param, mirror, sizeof(rt_real) * (size_t)(hi - lo));
			else
				memcpy(mirror, param, sizeof(rt_real) * (size_t)(hi - lo));
		}
	}
	/* the ranks' own partial sums outside the shard: the next step starts from zero */
	memset(st->grad, 0, sizeof(rt_real) * (size_t)st->shard_lo);
	memset(st->grad + st->shard_hi, 0, sizeof(rt_real) * (size_t)(d->p->state_numel - st->shard_hi));
	return 0;
}

int rt_dp_gather_grads(RtDp *d)
{
	if (!d->zero || d->size == 1)
		return 0;
	return rt_comm_allgather(d->comm, d->st->grad, d->shard, d->type);
}

int rt_dp_gather_state(RtDp *d)
{
	if (!d->zero || d->size == 1)
		return 0;
	return rt_comm_allgather(d->comm, d->st->m, d->shard, d->type) ||
	       rt_comm_allgather(d->comm, d->st->v, d->shard, d->type);
}

rt_real *rt_dp_partial_grads(RtDp *d, bool *owned)
{
	*owned = d->size > 1;
	if (d->size == 1)
		return d->st->grad;
	size_t bytes = sizeof(rt_real) * (size_t)d->p->state_numel;
	rt_real *g = alloc(bytes);
	if (!g)
		return NULL;
	memcpy(g, d->st->grad, bytes);
	if (rt_comm_allreduce(d->comm, g, d->p->state_numel, d->type)) {
		free(g);
		return NULL;
	}
	return g;
}

void rt_dp_report(const RtDp *d, FILE *f)
{
	if (d->size == 1)
		return;
	fprintf(f, "data parallel: %d ranks", d->size);
	if (d->nb && d->sums)
		fprintf(f, ", gradients summed in %d buckets a step, %.1f of them started while the backward ran", d->nb,
		        (double)d->early / (double)d->sums);
	else
		fprintf(f, ", gradients summed %s", d->p->device ? "by the device (NCCL)" : "by a reduce-scatter (--zero 1)");
	fprintf(f, "\n");
}
