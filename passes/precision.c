/* precision.c: the storage dtype of every value under a policy (--precision), and its casts.
 *
 * Requires: a verified module whose functions carry the fuse pass's kernels (kernel=N,
 *   fuse_plan), and the policy in m->precision.
 * Guarantees, for PRECISION_BF16, in every recipe function but the optimizer's update (the
 *   models' own functions and @R.update are unchanged, as is everything under PRECISION_FP32):
 *   - rounding happens exactly where a value goes to memory. A value that one kernel writes
 *     and another reads (a group output) is stored in bf16: its kernel rounds it with a
 *     `cast` member after it, and every other kernel that computes with it converts it back
 *     with a `cast` member of its own before its first reader. Values that never leave
 *     their kernel stay f32 in registers, so both targets compute the same numbers from the
 *     same kernels;
 *   - the matrix products take bf16 operands and accumulate in f32 (ir/shape.c): matmul
 *     writes bf16, matmul_reduce (a weight's gradient, summed over the batch) writes f32.
 *     A parameter a product reads is cast to bf16 once at the top of the function, its own
 *     kernel; an f32 activation a product reads is cast in a kernel just before it. The ops
 *     that only move data (transpose, slice, concat, expand, gather) move bf16 as it is;
 *   - kept in f32, and why:
 *       the parameters (the master copy), the optimizer state and every `store` operand
 *         (the gradient accumulators): AdamW's small steps vanish in bf16;
 *       the function's results (the loss, metrics, predictions) and the results of the
 *         reductions that change a shape (sum, mean, max, cross-entropy, matmul_reduce):
 *         accumulators and saved statistics, small and sensitive;
 *       values whose kernel cannot take a cast member (an opaque op alone, a MULTI group)
 *         or that another kernel reads at another shape (a broadcast table): small;
 *     and not kept, because the bounds of docs/precision.md hold without them: the residual
 *     stream and the loss's inputs (bf16 like every other activation);
 *   - inside an ATTENTION kernel the same rule: the scores are a product's bf16 value,
 *     widened for the softmax; the probabilities a product reads, and those the backward
 *     reads, are rounded by a cast member.
 * Invalidates: the order of the body (the new kernels go just before the kernel that reads
 *   them); the kernel=N plan stays valid (the pass checks it with fuse_plan).
 */
#include <string.h>

#include "passes.h"

const char *precision_name(Precision p)
{
	return p == PRECISION_BF16 ? "bf16" : "fp32";
}

typedef struct Prec {
	Module *m;
	Func *f;
	const FusePlan *p;
	VEC(Ins *) body;     /* the new order */
	int cap;             /* of the tables below, by id */
	int *grp;            /* by id: its group in p (the new casts: their kernel's), -1 */
	int *kernel_grp;     /* by kernel number: the group, for the new cast kernels -1 */
	bool *keep;          /* by id: stays f32 */
	bool *odd_reader;    /* by id: another kernel computes with it at another shape */
	Ins **b16;           /* by id: the value's bf16 form (itself when it is bf16), or NULL */
	Ins **f32;           /* by id: its f32 form in group f32_grp[id] */
	int *f32_grp;
	int nkernels;        /* the plan's kernel numbers are below this; new kernels from here */
	int next_kernel;
	bool *lowp;          /* by id: a product or data move that now reads and writes bf16 */
	bool *planned;       /* by group: plan_moves has run */
	int cur_gi;          /* the group being rewritten, -1 before the first */
	int start;           /* where its run begins in body: new kernels for it go there */
} Prec;

/* Appends x to the new body, or puts it before the current group's run (a kernel of its own,
 * or a view of a value made before that run). */
static void put(Prec *s, Ins *x, bool before_run)
{
	vec_push(s->m->arena, s->body, x);
	if (!before_run || s->cur_gi < 0)
		return;
	memmove(s->body.p + s->start + 1, s->body.p + s->start, sizeof *s->body.p * (size_t)(s->body.n - 1 - s->start));
	s->body.p[s->start++] = x;
}

static bool is_product(const Ins *x)
{
	return x->op == OP_matmul || x->op == OP_matmul_reduce;
}

/* A data move that may carry bf16 as it is (reshapes are views and follow their operand). */
static bool is_move(const Ins *x)
{
	return op_reads_bf16(x->op) && !is_product(x) && x->op != OP_cast && x->op != OP_reshape;
}

/* A reduction whose result is not its input's shape: a sum, a statistic, a loss. */
static bool is_statistic(const Ins *x)
{
	OpKind k = op_info(x->op)->kind;
	if (x->op == OP_matmul_reduce)
		return true;
	return (k == KIND_REDUCE || k == KIND_OPAQUE) && !type_same_dims(&x->args[0]->type, &x->type);
}

/* The group whose kernel computes x (through its reshapes), -1 for free values. */
static int group_of(Prec *s, const Ins *x)
{
	return s->grp[sched_src(x)->id];
}

static Ins *cast(Prec *s, Ins *x, DType dt, int kernel, bool before_run)
{
	Ins *c = ins_new(s->m, s->f, OP_cast, &x, 1, x->loc);
	c->attr[0].i = dt;
	const char *err = ins_infer(c, s->m->arena);
	if (err)
		BUG("precision: %s", err);
	c->kernel = kernel;
	CHECK(c->id < s->cap);
	s->grp[c->id] = kernel > 0 && kernel < s->nkernels ? s->kernel_grp[kernel] : -1;
	put(s, c, before_run);
	return c;
}

/* A new kernel of its own for one cast. */
static Ins *cast_kernel(Prec *s, Ins *x, DType dt)
{
	if (group_of(s, x) == s->cur_gi && s->cur_gi >= 0)
		BUG("precision: %%%d %s needs a kernel of its own inside its kernel", x->id, op_info(x->op)->name);
	return cast(s, x, dt, s->next_kernel++, true);
}

/* Whether a cast of operand x can join u's loop: a loop computes at the shape of its
 * result, a reduction's prologue at the shape of its input. */
static bool loop_shape(const Ins *u, const Ins *x)
{
	return type_same_dims(&x->type, fuse_is_reduction(u) ? &u->args[0]->type : &u->type);
}

/* x's bf16 form where one exists: x itself (bf16), its rounded copy, or a view of one. */
static Ins *bf16_form(Prec *s, Ins *x)
{
	if (x->type.dt == DT_BF16)
		return x;
	if (s->b16[x->id])
		return s->b16[x->id];
	if (x->op != OP_reshape)
		return NULL;
	Ins *src = bf16_form(s, x->args[0]);
	if (!src)
		return NULL;
	Ins *r = ins_new(s->m, s->f, OP_reshape, &src, 1, x->loc);
	r->attr[0] = x->attr[0];
	const char *err = ins_infer(r, s->m->arena);
	if (err)
		BUG("precision: %s", err);
	CHECK(r->id < s->cap);
	s->grp[r->id] = -1;
	put(s, r, group_of(s, src) != s->cur_gi);
	return s->b16[x->id] = r;
}

/* Whether x computes in a loop of a kernel of kind g->kind, where a cast member may join it. */
static bool loop_member(const FuseGroup *g, const Ins *x)
{
	switch (g->kind) {
	case FUSE_LOOP:
	case FUSE_REDUCE:
	case FUSE_MATMUL:
	case FUSE_ATTENTION: return true;
	case FUSE_SINGLE: return !g->no_loop && (fuse_is_loop_op(x) || fuse_is_reduction(x));
	default: return false;
	}
}

/* Whether member u of g can widen its operand x with a cast member in its own loop. */
static bool widens_in_loop(const FuseGroup *g, const Ins *u, const Ins *x)
{
	return !is_product(u) && loop_shape(u, x) && loop_member(g, u);
}

/* Whether x has a bf16 form already, without making a view of one. */
static bool has_bf16_form(const Prec *s, const Ins *x)
{
	for (;; x = x->args[0]) {
		if (x->type.dt == DT_BF16 || s->b16[x->id])
			return true;
		if (x->op != OP_reshape)
			return false;
	}
}

/* Which of group gi's data moves carry bf16, decided for the whole kernel before it is
 * rewritten: a move whose float operands all have a bf16 form (made outside the kernel) or
 * are bf16 in it (a product's value, a move that carries bf16), and whose readers in the
 * kernel take bf16 or can widen it in their own loop. A fixpoint: a move a reader cannot take
 * (a concat of a bf16 slice and an f32 value) goes back to f32, and so may the moves that
 * read it; each round only clears marks, so it ends. */
static void plan_moves(Prec *s, int gi)
{
	const FuseGroup *g = &s->p->groups[gi];
	if (s->planned[gi])
		return;
	s->planned[gi] = true;
	for (int i = 0; i < g->nins; i++) {
		Ins *u = g->ins[i];
		s->lowp[u->id] = is_product(u) ? !s->keep[u->id]
		                                : is_move(u) && !s->keep[u->id] && dtype_is_float(u->type.dt);
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < g->nins; i++) {
			Ins *u = g->ins[i];
			for (int k = 0; k < u->nargs; k++) {
				const Ins *x = u->args[k], *src = sched_src(x);
				if (!dtype_is_float(x->type.dt))
					continue;
				bool inside = group_of(s, x) == gi;
				bool b16 = inside ? src->type.dt == DT_BF16 || s->lowp[src->id] : has_bf16_form(s, x);
				if (s->lowp[u->id] && is_move(u) && !b16) {
					s->lowp[u->id] = false;
					changed = true;
				} else if (!s->lowp[u->id] && inside && is_move(src) && s->lowp[src->id] &&
				           u->op != OP_cast && !widens_in_loop(g, u, x)) {
					s->lowp[src->id] = false;
					changed = true;
				}
			}
		}
	}
}

/* What member u of group gi reads for its operand x. */
static Ins *operand(Prec *s, Ins *u, int gi, Ins *x)
{
	if (!dtype_is_float(x->type.dt) || u->op == OP_cast)
		return x;
	bool wants_bf16 = s->lowp[u->id];
	bool here = group_of(s, x) == gi && sched_src(x)->type.dt != DT_BF16;
	if (wants_bf16) {
		Ins *b = bf16_form(s, x);
		if (!b && group_of(s, x) == gi) /* a value of this kernel, rounded in registers */
			b = s->b16[x->id] = cast(s, x, DT_BF16, u->kernel, false);
		return b ? b : (s->b16[x->id] = cast_kernel(s, x, DT_BF16));
	}
	Ins *b = here ? NULL : bf16_form(s, x);
	if (!b)
		return x;
	if (s->f32_grp[b->id] == gi && s->f32[b->id])
		return s->f32[b->id];
	Ins *c = widens_in_loop(&s->p->groups[gi], u, x) ? cast(s, b, DT_F32, u->kernel, false) : cast_kernel(s, b, DT_F32);
	s->f32[b->id] = c;
	s->f32_grp[b->id] = gi;
	return c;
}

/* Whether x's kernel can round it with a cast member after it. */
static bool can_round(Prec *s, const Ins *x)
{
	int gi = s->grp[x->id];
	if (gi < 0 || s->keep[x->id] || x->type.dt != DT_F32 || is_statistic(x) || is_product(x))
		return false;
	const FuseGroup *g = &s->p->groups[gi];
	bool out = false;
	for (int i = 0; i < g->nouts; i++)
		out |= g->outs[i] == x;
	return out && !s->odd_reader[x->id] && loop_member(g, x);
}

static void mark_keep(Prec *s)
{
	const Func *f = s->f;
	for (int i = 0; i < f->rets.n; i++)
		s->keep[sched_src(f->rets.p[i])->id] = true;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *x = f->body.p[i];
		int gi = s->grp[x->id];
		bool multi = gi >= 0 && s->p->groups[gi].kind == FUSE_MULTI;
		if (multi)
			s->keep[x->id] = true;
		for (int k = 0; k < x->nargs; k++) {
			const Ins *v = sched_src(x->args[k]);
			if (x->op == OP_store || multi)
				s->keep[v->id] = true;
			/* a reader elsewhere that computes with v widens it in its own loop: at its shape */
			if (s->grp[v->id] != gi && !is_product(x) && !is_move(x) && !loop_shape(x, x->args[k]))
				s->odd_reader[v->id] = true;
		}
	}
}

static void precision_func(Module *m, Func *f, Arena *a)
{
	Diag d;
	diag_init(&d, a, stderr);
	const FusePlan *p = fuse_plan(a, f, &d);
	CHECK(p); /* the verifier passed it */
	/* new instructions: per operand at most a widening cast and a bf16 copy, per
	 * instruction at most its rounding and one view of a bf16 form */
	int64_t nops = 0;
	for (int i = 0; i < f->body.n; i++)
		nops += f->body.p[i]->nargs;
	Prec s = {.m = m, .f = f, .p = p, .cap = (int)(f->next_id + 2 * nops + 2 * (int64_t)f->body.n + 16), .cur_gi = -1};
	s.grp = arena_alloc(a, sizeof *s.grp * (size_t)s.cap);
	s.keep = arena_alloc(a, sizeof *s.keep * (size_t)s.cap);
	s.odd_reader = arena_alloc(a, sizeof *s.odd_reader * (size_t)s.cap);
	s.b16 = arena_alloc(a, sizeof *s.b16 * (size_t)s.cap);
	s.f32 = arena_alloc(a, sizeof *s.f32 * (size_t)s.cap);
	s.f32_grp = arena_alloc(a, sizeof *s.f32_grp * (size_t)s.cap);
	s.lowp = arena_alloc(a, sizeof *s.lowp * (size_t)s.cap);
	s.planned = arena_alloc(a, sizeof *s.planned * (size_t)(p->ngroups + 1));
	for (int i = 0; i < s.cap; i++)
		s.grp[i] = i < f->next_id ? p->group_of[i] : -1;
	int maxk = 0;
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->kernel > maxk)
			maxk = f->body.p[i]->kernel;
	s.kernel_grp = arena_alloc(a, sizeof *s.kernel_grp * (size_t)(maxk + 1));
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->kernel > 0 && p->group_of[f->body.p[i]->id] >= 0)
			s.kernel_grp[f->body.p[i]->kernel] = p->group_of[f->body.p[i]->id];
	s.nkernels = s.next_kernel = maxk + 1;
	mark_keep(&s);

	/* the signature first, then the weight copies, then the kernels in order */
	int i = 0;
	for (; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		if (x->op != OP_arg && x->op != OP_param && x->op != OP_state && x->op != OP_scalar)
			break;
		vec_push(m->arena, s.body, x);
	}
	for (int j = i; j < f->body.n; j++) {
		Ins *u = f->body.p[j];
		if (!is_product(u) || s.keep[u->id])
			continue;
		for (int k = 0; k < u->nargs; k++) {
			Ins *w = u->args[k];
			while (w->op == OP_reshape)
				w = w->args[0];
			if ((w->op == OP_param || w->op == OP_state) && !s.b16[w->id])
				s.b16[w->id] = cast_kernel(&s, w, DT_BF16);
		}
	}
	for (; i < f->body.n; i++) {
		Ins *u = f->body.p[i];
		int gi = s.grp[u->id];
		if (gi >= 0 && (p->groups[gi].kind == FUSE_ALIAS || p->groups[gi].kind == FUSE_CONST))
			gi = -1; /* a view or constant, no kernel: not the start of a run */
		if (gi >= 0 && gi != s.cur_gi) {
			s.cur_gi = gi;
			s.start = s.body.n;
			plan_moves(&s, gi);
		}
		if (u->op == OP_reshape || gi < 0) { /* a view takes its operand's dtype */
			if (u->nargs && ins_infer(u, m->arena))
				BUG("precision: %%%d no longer types", u->id);
			vec_push(m->arena, s.body, u);
			continue;
		}
		for (int k = 0; k < u->nargs; k++)
			u->args[k] = operand(&s, u, gi, u->args[k]);
		const char *err = ins_infer(u, m->arena);
		if (err)
			BUG("precision: %%%d: %s", u->id, err);
		vec_push(m->arena, s.body, u);
		if (can_round(&s, u))
			s.b16[u->id] = cast(&s, u, DT_BF16, u->kernel, false);
	}
	f->body.n = 0;
	for (int k = 0; k < s.body.n; k++)
		func_append(m, f, s.body.p[k]);
	if (!fuse_plan(a, f, &d))
		BUG("precision: the kernels of @%s are no longer a valid plan", f->name);
}

bool pass_precision(Module *m, PassCtx *ctx)
{
	(void)ctx;
	if (m->precision != PRECISION_BF16)
		return true;
	Arena *scratch = arena_new();
	for (int i = 0; i < m->funcs.n; i++) {
		Func *f = m->funcs.p[i];
		size_t n = strlen(f->name);
		if (func_is_model(f) || (n > 7 && strcmp(f->name + n - 7, ".update") == 0))
			continue;
		precision_func(m, f, scratch);
	}
	arena_free(scratch);
	return true;
}
