/* memplan.c: where each value of a function lives in the activation slab.
 *
 * Requires: a verified function, the largest batch it will run with, and the bytes of
 *   its floating-point elements in the target (a C trainer may compute in double).
 * Guarantees: an offset for every value that needs a buffer of its own, such that two
 *   values whose lifetimes overlap never share bytes, at the sizes of the largest batch
 *   (a smaller batch uses the same offsets); the slab size; the lower bound (the most
 *   bytes live at once) and the naive total (every value its own buffer), for reports.
 * Invalidates: nothing; the IR is not changed.
 *
 * A value is live from the instruction that makes it to its last use (to the end, for
 * results). Arguments, parameters, optimizer state and stores need no activation buffer.
 * Offsets are chosen in schedule order, best fit among the free gaps of the slab, the
 * slab growing at its end when no gap fits.
 *
 * Sizes saturate at MEMPLAN_MAX_BYTES (too_big says when one got there): a batch of 2^20
 * with 2^40 elements an image in double is 2^63 bytes, past int64_t, and no plan that
 * large can run anyway. Below the limit, sums of a few values cannot overflow either.
 */
#include <string.h>

#include "passes.h"

enum { ALIGN = 64 };

bool memplan_needs_buffer(const Ins *ins)
{
	return ins->op != OP_arg && ins->op != OP_param && ins->op != OP_state && ins->op != OP_store;
}

/* a + b for sizes of at most MEMPLAN_MAX_BYTES, saturating there. */
static int64_t sat_add(int64_t a, int64_t b, bool *too_big)
{
	int64_t s = a + b;
	if (s > MEMPLAN_MAX_BYTES) {
		*too_big = true;
		return MEMPLAN_MAX_BYTES;
	}
	return s;
}

static int64_t bytes_of(const Ins *ins, int64_t batch, int float_bytes, bool *too_big)
{
	int64_t n = type_numel(&ins->type, batch), b;
	int64_t elem = dtype_is_float(ins->type.dt) ? float_bytes : (int64_t)dtype_size(ins->type.dt);
	if (n < 0 || __builtin_mul_overflow(n, elem, &b) || b > MEMPLAN_MAX_BYTES - ALIGN) {
		*too_big = true;
		return MEMPLAN_MAX_BYTES;
	}
	return (b + ALIGN - 1) / ALIGN * ALIGN;
}

typedef struct Gap {
	int64_t off, size;
} Gap;

typedef struct Slab {
	Arena *a;
	VEC(Gap) free; /* sorted by offset, never adjacent */
	int64_t top;
	bool *too_big;
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
			s->top = sat_add(off, size, s->too_big);
			return off;
		}
		int64_t off = s->top;
		s->top = sat_add(s->top, size, s->too_big);
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

MemPlan *memplan_func(Arena *a, const Func *f, int64_t batch, int float_bytes)
{
	MemPlan *mp = arena_alloc(a, sizeof *mp);
	int nid = f->next_id;
	mp->offset = arena_alloc(a, sizeof *mp->offset * (size_t)(nid + 1));
	int *last = arena_alloc(a, sizeof *last * (size_t)(nid + 1));
	for (int i = 0; i < nid; i++)
		mp->offset[i] = -1;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		last[ins->id] = i;
		for (int k = 0; k < ins->nargs; k++)
			last[ins->args[k]->id] = i;
	}
	for (int i = 0; i < f->rets.n; i++)
		last[f->rets.p[i]->id] = f->body.n;
	Slab s = {.a = a, .too_big = &mp->too_big};
	int64_t live = 0;
	VEC(const Ins *) now = {0}; /* the values live at this point */
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (memplan_needs_buffer(ins)) {
			int64_t size = bytes_of(ins, batch, float_bytes, &mp->too_big);
			mp->offset[ins->id] = slab_alloc(&s, size);
			mp->naive = sat_add(mp->naive, size, &mp->too_big);
			live = sat_add(live, size, &mp->too_big);
			vec_push(a, now, ins);
			if (live > mp->lower_bound) {
				mp->lower_bound = live;
				mp->peak = arena_grow(a, NULL, 0, sizeof *mp->peak * (size_t)now.n);
				memcpy(mp->peak, now.p, sizeof *mp->peak * (size_t)now.n);
				mp->npeak = now.n;
			}
		}
		/* operands whose last use this was, and a value nobody uses, are free again */
		for (int k = 0; k <= ins->nargs; k++) {
			const Ins *x = k < ins->nargs ? ins->args[k] : ins;
			if (last[x->id] != i || !memplan_needs_buffer(x) || mp->offset[x->id] < 0)
				continue;
			bool seen = false; /* an operand may appear twice */
			for (int j = 0; j < k && !seen; j++)
				seen = ins->args[j] == x;
			if (seen)
				continue;
			int64_t size = bytes_of(x, batch, float_bytes, &mp->too_big);
			slab_free(&s, mp->offset[x->id], size);
			live -= size;
			for (int j = 0; j < now.n; j++)
				if (now.p[j] == x) {
					now.p[j] = now.p[--now.n];
					break;
				}
		}
	}
	mp->size = s.top;
	return mp;
}
