/* remat.c: recomputation — forward values the backward recomputes instead of keeping.
 *
 * Requires: a verified module (after autodiff and optim: the recipe steps hold their
 *   forward and backward), not yet fused; the policy in m->remat (NULL: none).
 * Guarantees: in every function, the forward is what its results depend on and the
 *   backward is the rest. For each chosen forward value v that the backward reads, the
 *   backward reads a clone of v instead: the same ops, attributes and DSL locations as the
 *   chain that made v, emitted just before v's first backward reader, from operands the
 *   backward keeps anyway (values it reads itself, parameters, arguments, constants). So
 *   v's buffer dies with its last forward reader, the clones' with their last backward
 *   reader, and a clone computes the same numbers as v from the same arithmetic; the
 *   forward and the results are unchanged. m->remat->chosen records each choice.
 * Invalidates: memory plans and kernels made before it (it runs before fuse, so the fuse
 *   pass and the memory planner see the clones like any other instruction).
 *
 * The candidates are the forward values the backward reads that own a buffer. Each has a
 * closure: itself and the forward values between it and what the backward keeps, the
 * instructions a clone repeats. By the ops' kinds (ir/ops.def):
 *   free   a reshape (a view);
 *   cheap  elementwise and data-moving ops, the row ops that keep their operand's shape
 *          (layernorm, softmax), and the product that makes a softmax's scores (through
 *          elementwise ops only), which the attention kernel recomputes with the rows:
 *          GELU's output from its input, layernorm's outputs from its input, the
 *          probabilities from q and k;
 *   costly the other products and reductions (fc1's pre-activation from the layernorm it
 *          reads; the attention output from the probabilities and v);
 *   never  opaque ops (argsort), sources that draw (randperm), effects: their values
 *          stay.
 * A candidate's cost is its closure's FLOPs; its saving the bytes of its buffer. The
 * candidates are ordered cheap first, then by FLOPs per byte saved, then by position;
 * `cheap` takes every cheap one, `auto` the first `limit` of each function (the driver
 * searches the smallest count whose plan fits --memory-budget).
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

enum { CLOSURE_MAX = 64 }; /* a longer chain to repeat is not worth it */

typedef enum RClass { RC_FREE, RC_CHEAP, RC_COSTLY, RC_NEVER } RClass;

typedef struct Cand {
	Ins *v;
	RClass cls;     /* the costliest op of its closure */
	double flops;   /* per image */
	int64_t bytes;  /* per image */
	int pos;
} Cand;

typedef struct Rm {
	Module *m;
	Func *f;
	Arena *a;      /* scratch */
	int cap;       /* ids below this are the original instructions */
	bool *fwd;     /* by id: a result depends on it */
	bool *late;    /* by id: a forward value (or a view of one) the backward reads */
	bool *chosen;  /* by id: a candidate taken */
	Ins **clone;   /* by id */
	VEC(Ins *) body; /* the new order */
	signed char *cls; /* by id: a candidate's RClass, -1 for none */
	/* the closure being measured, and the values the backward keeps that it reads */
	int nclosure, nbound;
	Ins *closure[CLOSURE_MAX];
	const Ins *bound[4 * CLOSURE_MAX];
} Rm;

/* Read as they are by a clone: nothing to recompute, nothing to keep (a view is cloned). */
static bool is_free_source(const Ins *x)
{
	return x->op != OP_reshape && sched_is_free(x);
}

/* The class of x's op, outside the attention rule. */
static RClass op_class(const Ins *x)
{
	switch (op_info(x->op)->kind) {
	case KIND_ELEMWISE:
	case KIND_INJECTIVE:
		return x->op == OP_reshape ? RC_FREE : RC_CHEAP;
	case KIND_REDUCE: /* the row ops that keep their operand's shape are cheap */
		return x->nargs == 1 && type_same_dims(&x->type, &x->args[0]->type) ? RC_CHEAP : RC_COSTLY;
	case KIND_MATMUL:
		return RC_COSTLY;
	default:
		return RC_NEVER;
	}
}

static bool in_closure(const Rm *r, const Ins *x)
{
	for (int i = 0; i < r->nclosure; i++)
		if (r->closure[i] == x)
			return true;
	return false;
}

static bool is_row_softmax(const Ins *x)
{
	return x->op == OP_softmax && x->attr[0].i == x->type.rank - 1;
}

/* Adds x and the forward values between it and what the backward keeps to the closure;
 * returns the costliest class met. `scores`: x is reached from a row softmax through
 * elementwise ops only, so a product here makes the softmax's scores. */
static RClass measure(Rm *r, Ins *x, bool scores)
{
	if (in_closure(r, x))
		return RC_FREE;
	if (r->nclosure == CLOSURE_MAX)
		return RC_NEVER;
	r->closure[r->nclosure++] = x;
	RClass c = op_class(x);
	if (c == RC_COSTLY && scores && x->op == OP_matmul && x->type.rank >= 3)
		c = RC_CHEAP;
	bool down = is_row_softmax(x) || (scores && op_info(x->op)->kind == KIND_ELEMWISE);
	for (int k = 0; k < x->nargs && c != RC_NEVER; k++) {
		Ins *s = (Ins *)sched_src(x->args[k]);
		if (is_free_source(s))
			continue;
		if (r->late[s->id]) { /* the backward keeps it, or recomputes it as a candidate of its own */
			if (r->nbound == (int)(sizeof r->bound / sizeof *r->bound))
				return RC_NEVER;
			r->bound[r->nbound++] = s;
			continue;
		}
		RClass cs = measure(r, s, down);
		if (cs > c)
			c = cs;
	}
	return c;
}

/* v's closure, its class and cost. A costly candidate may read cheap ones (the layernorm
 * output fc1 reads), whose clones its own backward readers are next to, but not another
 * costly one: the residual stream recomputed from the previous block's would have that
 * recomputed at the start of the backward, and kept, and so on back to the first block. */
static Cand candidate(Rm *r, Ins *v, int pos)
{
	r->nclosure = r->nbound = 0;
	Cand c = {.v = v, .pos = pos, .cls = measure(r, v, false)};
	for (int i = 0; i < r->nbound && c.cls == RC_COSTLY; i++)
		if (r->cls[r->bound[i]->id] == RC_COSTLY)
			c.cls = RC_NEVER;
	for (int i = 0; i < r->nclosure; i++)
		c.flops += op_info(r->closure[i]->op)->flops(r->closure[i]);
	c.bytes = type_numel(&v->type, 1) * (int64_t)dtype_size(v->type.dt);
	return c;
}

static int cmp_cand(const void *pa, const void *pb)
{
	const Cand *a = pa, *b = pb;
	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	double ra = a->flops / (double)(a->bytes ? a->bytes : 1), rb = b->flops / (double)(b->bytes ? b->bytes : 1);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return a->pos - b->pos;
}

/* What the backward reads in place of forward value x: a clone if x (or the value x
 * views) is recomputed, else x. Clones go into the new body, before the reader. */
static Ins *recompute(Rm *r, Ins *x)
{
	if (x->id >= r->cap || !r->fwd[x->id] || is_free_source(x))
		return x;
	if (r->clone[x->id])
		return r->clone[x->id];
	bool again = x->op == OP_reshape ? recompute(r, x->args[0]) != x->args[0]
	                                 : r->chosen[x->id] || !r->late[x->id];
	if (!again)
		return x;
	Ins **ap = arena_alloc(r->a, sizeof *ap * (size_t)x->nargs);
	for (int k = 0; k < x->nargs; k++)
		ap[k] = recompute(r, x->args[k]);
	Ins *c = ins_new(r->m, r->f, x->op, ap, x->nargs, x->loc);
	memcpy(c->attr, x->attr, sizeof c->attr);
	const char *err = ins_infer(c, r->m->arena);
	if (err)
		BUG("remat: the clone of %%%d: %s", x->id, err);
	vec_push(r->m->arena, r->body, c);
	r->clone[x->id] = c;
	return c;
}

static int limit_of(const Remat *rm, const Func *f, int ncand, int ncheap)
{
	if (rm->policy == REMAT_CHEAP)
		return ncheap;
	if (rm->policy != REMAT_AUTO)
		return 0;
	for (int i = 0; i < rm->limits.n; i++)
		if (strcmp(rm->limits.p[i].func, f->name) == 0)
			return rm->limits.p[i].count < ncand ? rm->limits.p[i].count : ncand;
	return ncand;
}

static void remat_func(Module *m, Func *f, Remat *rm, Arena *a)
{
	Rm r = {.m = m, .f = f, .a = a, .cap = f->next_id};
	r.fwd = arena_alloc(a, (size_t)r.cap);
	r.late = arena_alloc(a, (size_t)r.cap);
	r.chosen = arena_alloc(a, (size_t)r.cap);
	r.clone = arena_alloc(a, sizeof *r.clone * (size_t)r.cap);
	r.cls = arena_alloc(a, (size_t)r.cap);
	memset(r.cls, -1, (size_t)r.cap);
	func_mark_forward(f, r.fwd);
	/* late: read by the backward, directly or through views (marked on the viewed value too) */
	for (int i = 0; i < f->body.n; i++) {
		const Ins *u = f->body.p[i];
		for (int k = 0; !r.fwd[u->id] && k < u->nargs; k++)
			for (const Ins *o = u->args[k]; r.fwd[o->id]; o = o->args[0]) {
				r.late[o->id] = true;
				if (o->op != OP_reshape)
					break;
			}
	}
	VEC(Cand) cands = {0};
	for (int i = 0; i < f->body.n; i++) {
		Ins *v = f->body.p[i];
		if (!r.late[v->id] || !r.fwd[v->id] || v->op == OP_reshape || is_free_source(v) || !memplan_needs_buffer(v))
			continue;
		Cand c = candidate(&r, v, i);
		if (c.cls != RC_NEVER && c.bytes > 0) {
			r.cls[v->id] = (signed char)c.cls;
			vec_push(a, cands, c);
		}
	}
	if (cands.n)
		qsort(cands.p, (size_t)cands.n, sizeof *cands.p, cmp_cand);
	int ncheap = 0;
	while (ncheap < cands.n && cands.p[ncheap].cls <= RC_CHEAP)
		ncheap++;
	int take = limit_of(rm, f, cands.n, ncheap);
	vec_push(m->arena, rm->counts, ((RematCount){f->name, cands.n, ncheap, take}));
	if (take == 0)
		return;
	for (int i = 0; i < take; i++)
		r.chosen[cands.p[i].v->id] = true;

	for (int i = 0; i < f->body.n; i++) {
		Ins *u = f->body.p[i];
		for (int k = 0; !r.fwd[u->id] && k < u->nargs; k++)
			u->args[k] = recompute(&r, u->args[k]);
		vec_push(m->arena, r.body, u);
	}
	f->body.n = 0;
	for (int i = 0; i < r.body.n; i++)
		func_append(m, f, r.body.p[i]);
	for (int i = 0; i < take; i++) {
		const Cand *c = &cands.p[i];
		vec_push(m->arena, rm->chosen,
		         ((RematValue){f, c->v, r.clone[c->v->id], c->cls == RC_CHEAP, c->bytes, c->flops}));
	}
}

bool pass_remat(Module *m, PassCtx *ctx)
{
	(void)ctx;
	if (!m->remat || m->remat->policy == REMAT_NONE)
		return true;
	memset(&m->remat->chosen, 0, sizeof m->remat->chosen); /* m's arena holds them */
	memset(&m->remat->counts, 0, sizeof m->remat->counts);
	Arena *scratch = arena_new();
	for (int i = 0; i < m->funcs.n; i++)
		remat_func(m, m->funcs.p[i], m->remat, scratch);
	arena_free(scratch);
	return true;
}

const char *remat_policy_name(RematPolicy p)
{
	return p == REMAT_CHEAP ? "cheap" : p == REMAT_AUTO ? "auto" : "none";
}
