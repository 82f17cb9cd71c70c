/* memplan.c: where each value of a function lives in the activation slab.
 *
 * Requires: a verified function and the steps a backend runs it in (MemStep: the values
 *   each kernel writes and reads, through reshape views resolved to their source, and
 *   the writes it may do over an input that dies there), the largest batch it will run
 *   with, and the bytes of its floating-point elements in the target.
 * Guarantees: an offset for every value a step writes, such that two values whose
 *   lifetimes overlap never share bytes, except an in-place pair the step allowed (the
 *   input dies at that step; the output then takes its bytes), at the sizes of the
 *   largest batch (a smaller batch uses the same offsets); the slab size; the lower
 *   bound (the most bytes live at once, in-place pairs counted once) and the naive total
 *   (every value its own buffer), for reports.
 * Invalidates: nothing; the IR is not changed.
 *
 * A value is live from the step that writes it to the last step that reads it (to the
 * end, for results). Values that share bytes in place make one buffer. The buffers get
 * offsets twice, as Glow's and XLA's heap simulators do, and the smaller slab is kept:
 * in schedule order, best fit among the free gaps of the slab, the slab growing at its
 * end when no gap fits; and largest first, each at the best-fitting gap among the
 * buffers already placed whose lifetimes overlap its own (TFLite's "greedy by size").
 *
 * Sizes saturate at MEMPLAN_MAX_BYTES (too_big says when one got there): a batch of 2^20
 * with 2^40 elements an image in double is 2^63 bytes, past int64_t, and no plan that
 * large can run anyway; such a plan stops there, every size at the limit.
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

enum { ALIGN = 64 };

bool memplan_needs_buffer(const Ins *ins)
{
	return ins->op != OP_arg && ins->op != OP_param && ins->op != OP_state && ins->op != OP_store;
}

static int64_t bytes_of(const Ins *ins, int64_t batch, int float_bytes, bool *too_big)
{
	int64_t n = type_numel(&ins->type, batch), b;
	int64_t elem = ins->type.dt == DT_F32 || ins->type.dt == DT_F64 ? float_bytes : (int64_t)dtype_size(ins->type.dt);
	if (n < 0 || __builtin_mul_overflow(n, elem, &b) || b > MEMPLAN_MAX_BYTES - ALIGN) {
		*too_big = true;
		return MEMPLAN_MAX_BYTES;
	}
	return (b + ALIGN - 1) / ALIGN * ALIGN;
}

int64_t memplan_bytes(const Ins *ins, int64_t batch, int float_bytes)
{
	bool too_big = false;
	return bytes_of(ins, batch, float_bytes, &too_big);
}

/* ---------- a slab of gaps, for the schedule-order plan ---------- */

typedef struct Gap {
	int64_t off, size;
} Gap;

typedef struct Slab {
	Arena *a;
	VEC(Gap) free; /* sorted by offset, never adjacent */
	int64_t top;
} Slab;

static int64_t slab_alloc(Slab *s, int64_t size)
{
	int best = -1;
	for (int i = 0; i < s->free.n; i++)
		if (s->free.p[i].size >= size && (best < 0 || s->free.p[i].size < s->free.p[best].size))
			best = i;
	if (best < 0) {
		/* grow, starting inside a free gap at the end if there is one */
		if (s->free.n && s->free.p[s->free.n - 1].off + s->free.p[s->free.n - 1].size == s->top) {
			int64_t off = s->free.p[--s->free.n].off;
			s->top = off + size;
			return off;
		}
		int64_t off = s->top;
		s->top += size;
		return off;
	}
	Gap *g = &s->free.p[best];
	int64_t off = g->off;
	g->off += size;
	g->size -= size;
	if (g->size == 0) {
		memmove(g, g + 1, sizeof *g * (size_t)(s->free.n - best - 1));
		s->free.n--;
	}
	return off;
}

static void slab_free(Slab *s, int64_t off, int64_t size)
{
	int i = 0;
	while (i < s->free.n && s->free.p[i].off < off)
		i++;
	vec_push(s->a, s->free, ((Gap){0, 0})); /* make room, then insert at i */
	memmove(&s->free.p[i + 1], &s->free.p[i], sizeof(Gap) * (size_t)(s->free.n - 1 - i));
	s->free.p[i] = (Gap){off, size};
	/* merge with the neighbours */
	if (i + 1 < s->free.n && s->free.p[i].off + s->free.p[i].size == s->free.p[i + 1].off) {
		s->free.p[i].size += s->free.p[i + 1].size;
		memmove(&s->free.p[i + 1], &s->free.p[i + 2], sizeof(Gap) * (size_t)(s->free.n - i - 2));
		s->free.n--;
	}
	if (i > 0 && s->free.p[i - 1].off + s->free.p[i - 1].size == s->free.p[i].off) {
		s->free.p[i - 1].size += s->free.p[i].size;
		memmove(&s->free.p[i], &s->free.p[i + 1], sizeof(Gap) * (size_t)(s->free.n - i - 1));
		s->free.n--;
	}
}

/* ---------- buffers ---------- */

typedef struct Buffer {
	int64_t size, off;
	int start, end; /* the steps it is live in, inclusive */
} Buffer;

/* Schedule order: at each step, the buffers that start there get the best-fitting gap;
 * those that ended at the step before are free again. */
static int64_t plan_in_order(Arena *a, Buffer *b, int nb, int nsteps)
{
	/* buffers by start, and by end */
	int *by_start = arena_alloc(a, sizeof *by_start * (size_t)(nb + 1));
	int *by_end = arena_alloc(a, sizeof *by_end * (size_t)(nb + 1));
	int *count = arena_alloc(a, sizeof *count * (size_t)(nsteps + 2));
	for (int i = 0; i < nb; i++)
		count[b[i].start + 1]++;
	for (int s = 0; s <= nsteps; s++)
		count[s + 1] += count[s];
	for (int i = 0; i < nb; i++)
		by_start[count[b[i].start]++] = i;
	memset(count, 0, sizeof *count * (size_t)(nsteps + 2));
	for (int i = 0; i < nb; i++)
		count[b[i].end + 1]++;
	for (int s = 0; s <= nsteps; s++)
		count[s + 1] += count[s];
	for (int i = 0; i < nb; i++)
		by_end[count[b[i].end]++] = i;
	Slab slab = {.a = a};
	int ks = 0, ke = 0;
	for (int s = 0; s <= nsteps; s++) {
		while (ke < nb && b[by_end[ke]].end < s) {
			slab_free(&slab, b[by_end[ke]].off, b[by_end[ke]].size);
			ke++;
		}
		while (ks < nb && b[by_start[ks]].start == s) {
			b[by_start[ks]].off = slab_alloc(&slab, b[by_start[ks]].size);
			ks++;
		}
	}
	return slab.top;
}

static int cmp_size(const void *x, const void *y)
{
	const Buffer *const *p = x, *const *q = y;
	if ((*p)->size != (*q)->size)
		return (*p)->size < (*q)->size ? 1 : -1;
	return ((*p)->start > (*q)->start) - ((*p)->start < (*q)->start);
}

static int cmp_off(const void *x, const void *y)
{
	const Buffer *const *p = x, *const *q = y;
	return ((*p)->off > (*q)->off) - ((*p)->off < (*q)->off);
}

/* Largest first: each at the smallest gap, between the placed buffers that overlap it
 * in time, that holds it. */
static int64_t plan_by_size(Arena *a, Buffer *b, int nb)
{
	Buffer **order = arena_alloc(a, sizeof *order * (size_t)(nb + 1));
	Buffer **near = arena_alloc(a, sizeof *near * (size_t)(nb + 1));
	for (int i = 0; i < nb; i++)
		order[i] = &b[i];
	qsort(order, (size_t)nb, sizeof *order, cmp_size);
	int64_t top = 0;
	for (int i = 0; i < nb; i++) {
		Buffer *x = order[i];
		int n = 0;
		for (int j = 0; j < i; j++)
			if (order[j]->start <= x->end && x->start <= order[j]->end)
				near[n++] = order[j];
		qsort(near, (size_t)n, sizeof *near, cmp_off);
		int64_t at = 0, best = -1, best_gap = 0;
		for (int j = 0; j <= n; j++) {
			int64_t end = j < n ? near[j]->off : INT64_MAX;
			if (end - at >= x->size && (best < 0 || end - at < best_gap)) {
				best = at;
				best_gap = end - at;
			}
			if (j < n && near[j]->off + near[j]->size > at)
				at = near[j]->off + near[j]->size;
		}
		x->off = best;
		if (x->off + x->size > top)
			top = x->off + x->size;
	}
	return top;
}

MemPlan *memplan_steps(Arena *a, const Func *f, const MemStep *steps, int nsteps, int64_t batch, int float_bytes,
                       bool naive)
{
	MemPlan *mp = arena_alloc(a, sizeof *mp);
	int nid = f->next_id + 1;
	mp->offset = arena_alloc(a, sizeof *mp->offset * (size_t)nid);
	int *def = arena_alloc(a, sizeof *def * (size_t)nid), *last = arena_alloc(a, sizeof *last * (size_t)nid);
	int *buf = arena_alloc(a, sizeof *buf * (size_t)nid);
	const Ins **val = arena_alloc(a, sizeof *val * (size_t)nid);
	for (int i = 0; i < nid; i++)
		mp->offset[i] = def[i] = last[i] = buf[i] = -1;
	int nvals = 0;
	for (int s = 0; s < nsteps; s++)
		for (int k = 0; k < steps[s].ndefs; k++) {
			const Ins *x = steps[s].defs[k];
			if (def[x->id] >= 0)
				continue;
			def[x->id] = last[x->id] = s;
			val[nvals++] = x;
		}
	for (int s = 0; s < nsteps; s++)
		for (int k = 0; k < steps[s].nuses; k++) {
			const Ins *x = steps[s].uses[k];
			if (def[x->id] >= 0 && s > last[x->id])
				last[x->id] = s;
		}
	for (int i = 0; i < f->rets.n; i++) {
		const Ins *r = f->rets.p[i];
		while (r->op == OP_reshape)
			r = r->args[0];
		if (def[r->id] >= 0)
			last[r->id] = nsteps;
	}
	/* Buffers: one per value, but an in-place output takes its input's. */
	Buffer *b = arena_alloc(a, sizeof *b * (size_t)(nvals + 1));
	int nb = 0;
	for (int s = 0; s < nsteps; s++) {
		const MemStep *st = &steps[s];
		for (int k = 0; k < st->ndefs; k++) {
			const Ins *x = st->defs[k];
			if (def[x->id] != s || buf[x->id] >= 0)
				continue;
			int64_t size = bytes_of(x, batch, float_bytes, &mp->too_big);
			mp->naive += size;
			if (mp->naive > MEMPLAN_MAX_BYTES) {
				mp->naive = MEMPLAN_MAX_BYTES;
				mp->too_big = true;
			}
			for (int p = 0; p < st->ninplace && !naive; p++) {
				const Ins *in = st->inplace[2 * p + 1];
				int bi = buf[in->id];
				if (st->inplace[2 * p] != x || bi < 0 || b[bi].end != s || b[bi].size != size)
					continue;
				buf[x->id] = bi;
				b[bi].end = last[x->id];
				mp->inplace++;
				break;
			}
			if (buf[x->id] < 0) {
				b[nb] = (Buffer){size, 0, s, last[x->id]};
				buf[x->id] = nb++;
			}
		}
	}
	if (mp->too_big) { /* no machine holds it: every size at the limit, every value at 0 */
		mp->size = mp->lower_bound = mp->naive = MEMPLAN_MAX_BYTES;
		mp->ordering = "none";
		for (int i = 0; i < nvals; i++)
			mp->offset[val[i]->id] = 0;
		return mp;
	}
	/* The lower bound, and the values live when it is reached (no sum below overflows:
	 * every one is at most naive, the sum of all sizes, under the limit). */
	int64_t *delta = arena_alloc(a, sizeof *delta * (size_t)(nsteps + 2));
	for (int i = 0; i < nb; i++) {
		delta[b[i].start] += b[i].size;
		delta[b[i].end + 1] -= b[i].size;
	}
	int64_t live = 0;
	int peak = 0;
	for (int s = 0; s <= nsteps; s++) {
		live += delta[s];
		if (live > mp->lower_bound) {
			mp->lower_bound = live;
			peak = s;
		}
	}
	mp->peak = arena_alloc(a, sizeof *mp->peak * (size_t)(nvals + 1));
	for (int i = 0; i < nvals; i++) {
		const Ins *x = val[i];
		if (def[x->id] <= peak && last[x->id] >= peak)
			mp->peak[mp->npeak++] = x;
	}
	mp->peak_step = peak;
	/* Offsets: in every value its own place (naive), or the smaller of two plans. */
	if (naive) {
		int64_t top = 0;
		for (int i = 0; i < nb; i++) {
			b[i].off = top;
			top += b[i].size;
		}
		mp->size = top;
		mp->ordering = "none";
	} else {
		int64_t in_order = plan_in_order(a, b, nb, nsteps);
		int64_t *keep = arena_alloc(a, sizeof *keep * (size_t)(nb + 1));
		for (int i = 0; i < nb; i++)
			keep[i] = b[i].off;
		int64_t by_size = plan_by_size(a, b, nb);
		if (in_order <= by_size) {
			for (int i = 0; i < nb; i++)
				b[i].off = keep[i];
			mp->size = in_order;
			mp->ordering = "schedule order";
		} else {
			mp->size = by_size;
			mp->ordering = "largest first";
		}
		mp->size_in_order = in_order;
		mp->size_by_size = by_size;
	}
	for (int i = 0; i < nvals; i++)
		mp->offset[val[i]->id] = b[buf[val[i]->id]].off;
	return mp;
}
