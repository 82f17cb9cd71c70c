/* autodiff.c: reverse-mode differentiation of each recipe's loss.
 *
 * Requires: a verified module; each recipe names its loss function (first result a
 *   scalar) and its trainable parameters (`train`: all, or name prefixes).
 * Guarantees: for each recipe R, a new function @R.grad after @R.loss: the same
 *   arguments and forward instructions, then the backward instructions, each carrying
 *   the DSL location of the forward op it differentiates; results are the loss's results
 *   followed by `grad.NAME` for every trainable parameter NAME (frozen ones never train),
 *   of the parameter's type. A value used several times gets the sum of its uses'
 *   gradients.
 * Invalidates: nothing; @R.loss is left as it was. A recipe that has @R.grad or @R.step
 *   already is left alone, so IR written after this pass reads back through it unchanged.
 *
 * Each op's gradient rule (named in ops.def) emits IR for the gradients of its operands
 * from the gradient of its result; no rule knows about any model.
 */
#include <string.h>

#include "passes.h"

typedef struct Grad {
	Module *m;
	Func *f;       /* the function being built */
	Ins **adj;     /* gradient of each forward value, by its id in f */
	bool *needs;   /* whether a forward value depends on a trainable parameter */
	Loc loc;       /* location of the forward op being differentiated */
} Grad;

typedef void (*GradFn)(Grad *g, Ins *y, Ins *dy);

/* ---------- emitting ---------- */

static Ins *emit(Grad *g, Op op, Ins **args, int nargs, const Attr *at)
{
	return func_emit(g->m, g->f, op, args, nargs, at, g->loc, "autodiff");
}

static Ins *un(Grad *g, Op op, Ins *x)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	return emit(g, op, &x, 1, at);
}

static Ins *bin(Grad *g, Op op, Ins *x, Ins *y)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	Ins *args[2] = {x, y};
	return emit(g, op, args, 2, at);
}

static int64_t *dims_copy(Grad *g, const int64_t *dims, int n)
{
	int64_t *v = arena_alloc(g->m->arena, sizeof *v * (size_t)(n ? n : 1));
	memcpy(v, dims, sizeof *v * (size_t)n);
	return v;
}

static Ins *full(Grad *g, const Type *t, double value)
{
	Attr at[IR_MAX_ATTRS] = {{.v = dims_copy(g, t->dim, t->rank), .nv = t->rank}, {.i = t->dt}, {.f = value}};
	return emit(g, OP_full, NULL, 0, at);
}

static Ins *scalar(Grad *g, DType dt, double value)
{
	Type t = {.dt = dt};
	return full(g, &t, value);
}

static Ins *reshape(Grad *g, Ins *x, const int64_t *dims, int rank)
{
	Type t = {.dt = x->type.dt, .rank = rank};
	memcpy(t.dim, dims, sizeof(int64_t) * (size_t)rank);
	if (type_eq(&t, &x->type))
		return x;
	Attr at[IR_MAX_ATTRS] = {{.v = dims_copy(g, dims, rank), .nv = rank}};
	return emit(g, OP_reshape, &x, 1, at);
}

static Ins *expand(Grad *g, Ins *x, const Type *to)
{
	if (type_eq(&x->type, to))
		return x;
	Attr at[IR_MAX_ATTRS] = {{.v = dims_copy(g, to->dim, to->rank), .nv = to->rank}};
	return emit(g, OP_expand, &x, 1, at);
}

static Ins *sum_keep(Grad *g, Ins *x, const int64_t *axes, int naxes)
{
	Attr at[IR_MAX_ATTRS] = {{.v = dims_copy(g, axes, naxes), .nv = naxes}, {.i = 1}};
	return emit(g, OP_sum, &x, 1, at);
}

static Ins *with_axis(Grad *g, Op op, Ins *x, Ins *y, int64_t axis)
{
	Attr at[IR_MAX_ATTRS] = {{.i = axis}};
	Ins *args[2] = {x, y};
	return emit(g, op, args, 2, at);
}

/* The batch size at run time, as a scalar of type dt. */
static Ins *batch_size(Grad *g, DType dt)
{
	Attr at[IR_MAX_ATTRS] = {{.s = host_scalar_names[HS_batch]}};
	Ins *b = emit(g, OP_scalar, NULL, 0, at);
	if (dt != DT_F32) {
		Attr c[IR_MAX_ATTRS] = {{.i = dt}};
		b = emit(g, OP_cast, &b, 1, c);
	}
	return b;
}

/* ---------- accumulating ---------- */

/* Sums dx over the axes along which x was broadcast, giving x's shape. */
static Ins *unbroadcast(Grad *g, Ins *dx, const Type *want)
{
	if (type_eq(&dx->type, want))
		return dx;
	int r = dx->type.rank, lead = r - want->rank;
	int64_t axes[IR_MAX_RANK];
	int n = 0;
	for (int i = 0; i < r; i++)
		if (i < lead || (want->dim[i - lead] == 1 && dx->type.dim[i] != 1))
			axes[n++] = i;
	if (n)
		dx = sum_keep(g, dx, axes, n);
	return reshape(g, dx, want->dim, want->rank);
}

static bool needs(const Grad *g, const Ins *x)
{
	return g->needs[x->id];
}

enum { MAX_PIECES = 64 }; /* of a merged concat */

static bool is_zero(const Ins *x)
{
	return x->op == OP_full && x->attr[2].f == 0;
}

/* a + b for two concats along one axis (the gradients of slices of one value: dy between
 * zeros) whose values fall where the other has zeros: the concat of both values with the
 * zeros between, so that the pieces are not added to zeros (q, k and v's gradients make
 * qkv's as one concat). The same values, but for the sign of a zero: x + 0 is +0 where x
 * is -0, the concat keeps -0. NULL when they overlap or are not such concats. */
static Ins *merge_padded(Grad *g, Ins *a, Ins *b)
{
	if (a->op != OP_concat || b->op != OP_concat || a->attr[0].i != b->attr[0].i || !type_eq(&a->type, &b->type) ||
	    a->nargs + b->nargs > MAX_PIECES)
		return NULL;
	const int axis = (int)a->attr[0].i;
	const Ins *const s[2] = {a, b};
	int at[2] = {0, 0};          /* the piece at pos in each */
	int64_t start[2] = {0, 0};  /* its first index along the axis */
	Ins *parts[MAX_PIECES];
	int n = 0;
	int64_t zeros = 0, pos = 0, dim = a->type.dim[axis];
	while (pos < dim) {
		for (int k = 0; k < 2; k++)
			while (start[k] + s[k]->args[at[k]]->type.dim[axis] <= pos)
				start[k] += s[k]->args[at[k]++]->type.dim[axis];
		Ins *p[2] = {s[0]->args[at[0]], s[1]->args[at[1]]};
		int v = is_zero(p[0]) ? is_zero(p[1]) ? -1 : 1 : 0; /* the side with a value here */
		if (v >= 0 && !is_zero(p[1 - v]))
			return NULL;
		if (v < 0) { /* zeros in both: up to the nearer end */
			int64_t e0 = start[0] + p[0]->type.dim[axis], e1 = start[1] + p[1]->type.dim[axis];
			int64_t end = e0 < e1 ? e0 : e1;
			zeros += end - pos;
			pos = end;
			continue;
		}
		/* a value: the other side zero all along it */
		int64_t end = start[v] + p[v]->type.dim[axis];
		if (start[v] != pos)
			return NULL;
		for (int64_t q = start[1 - v], i = at[1 - v]; q < end; q += s[1 - v]->args[i++]->type.dim[axis])
			if (!is_zero(s[1 - v]->args[i]))
				return NULL;
		if (zeros) {
			Type t = a->type;
			t.dim[axis] = zeros;
			parts[n++] = full(g, &t, 0);
			zeros = 0;
		}
		parts[n++] = p[v];
		pos = end;
	}
	if (zeros) {
		Type t = a->type;
		t.dim[axis] = zeros;
		parts[n++] = full(g, &t, 0);
	}
	if (n == 1)
		return parts[0];
	Attr c[IR_MAX_ATTRS] = {{.i = axis}};
	return emit(g, OP_concat, parts, n, c);
}

static void acc(Grad *g, Ins *x, Ins *dx)
{
	if (!needs(g, x))
		return;
	dx = unbroadcast(g, dx, &x->type);
	Ins *m = g->adj[x->id] ? merge_padded(g, g->adj[x->id], dx) : NULL;
	g->adj[x->id] = m ? m : g->adj[x->id] ? bin(g, OP_add, g->adj[x->id], dx) : dx;
}

/* ---------- the gradient rules (named in ops.def) ---------- */

#define X(k) (y->args[k])

static void grad_none(Grad *g, Ins *y, Ins *dy)
{
	(void)g, (void)y, (void)dy;
}

static void grad_add(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), dy);
	acc(g, X(1), dy);
}

static void grad_sub(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), dy);
	if (needs(g, X(1)))
		acc(g, X(1), un(g, OP_neg, dy));
}

static void grad_mul(Grad *g, Ins *y, Ins *dy)
{
	if (needs(g, X(0)))
		acc(g, X(0), bin(g, OP_mul, dy, X(1)));
	if (needs(g, X(1)))
		acc(g, X(1), bin(g, OP_mul, dy, X(0)));
}

static void grad_div(Grad *g, Ins *y, Ins *dy)
{
	if (needs(g, X(0)))
		acc(g, X(0), bin(g, OP_div, dy, X(1)));
	if (needs(g, X(1))) /* d(a/b)/db = -(a/b)/b */
		acc(g, X(1), un(g, OP_neg, bin(g, OP_div, bin(g, OP_mul, dy, y), X(1))));
}

static void grad_pow(Grad *g, Ins *y, Ins *dy)
{
	DType dt = y->type.dt;
	if (needs(g, X(0))) { /* b * a^(b-1) */
		Ins *p = bin(g, OP_pow, X(0), bin(g, OP_sub, X(1), scalar(g, dt, 1)));
		acc(g, X(0), bin(g, OP_mul, dy, bin(g, OP_mul, X(1), p)));
	}
	if (needs(g, X(1))) /* a^b * log(a) */
		acc(g, X(1), bin(g, OP_mul, dy, bin(g, OP_mul, y, un(g, OP_log, X(0)))));
}

/* maximum/minimum: the chosen operand takes the gradient; ties split it evenly, as
 * PyTorch does. */
static void grad_choose(Grad *g, Ins *y, Ins *dy, Ins *a_wins)
{
	Ins *tie = bin(g, OP_mul, bin(g, OP_eq, X(0), X(1)), scalar(g, y->type.dt, 0.5));
	Ins *share = bin(g, OP_add, a_wins, tie);
	if (needs(g, X(0)))
		acc(g, X(0), bin(g, OP_mul, dy, share));
	if (needs(g, X(1)))
		acc(g, X(1), bin(g, OP_mul, dy, bin(g, OP_sub, scalar(g, y->type.dt, 1), share)));
}

static void grad_maximum(Grad *g, Ins *y, Ins *dy)
{
	grad_choose(g, y, dy, bin(g, OP_lt, X(1), X(0)));
}

static void grad_minimum(Grad *g, Ins *y, Ins *dy)
{
	grad_choose(g, y, dy, bin(g, OP_lt, X(0), X(1)));
}

static void grad_neg(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), un(g, OP_neg, dy));
}

static void grad_exp(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), bin(g, OP_mul, dy, y));
}

static void grad_log(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), bin(g, OP_div, dy, X(0)));
}

static void grad_sqrt(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), bin(g, OP_div, dy, bin(g, OP_mul, y, scalar(g, y->type.dt, 2))));
}

static void grad_rsqrt(Grad *g, Ins *y, Ins *dy) /* -1/2 x^(-3/2) = -1/2 y^3 */
{
	Ins *y3 = bin(g, OP_mul, bin(g, OP_mul, y, y), y);
	acc(g, X(0), bin(g, OP_mul, dy, bin(g, OP_mul, y3, scalar(g, y->type.dt, -0.5))));
}

static void grad_tanh(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), bin(g, OP_mul, dy, bin(g, OP_sub, scalar(g, y->type.dt, 1), bin(g, OP_mul, y, y))));
}

static void grad_sigmoid(Grad *g, Ins *y, Ins *dy)
{
	Ins *d = bin(g, OP_mul, y, bin(g, OP_sub, scalar(g, y->type.dt, 1), y));
	acc(g, X(0), bin(g, OP_mul, dy, d));
}

static void grad_relu(Grad *g, Ins *y, Ins *dy)
{
	Ins *pos = bin(g, OP_lt, scalar(g, y->type.dt, 0), X(0));
	acc(g, X(0), bin(g, OP_mul, dy, pos));
}

static void grad_gelu(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), bin(g, OP_gelu_grad, X(0), dy));
}

static void grad_abs(Grad *g, Ins *y, Ins *dy)
{
	Ins *zero = scalar(g, y->type.dt, 0);
	Ins *sign = bin(g, OP_sub, bin(g, OP_lt, zero, X(0)), bin(g, OP_lt, X(0), zero));
	acc(g, X(0), bin(g, OP_mul, dy, sign));
}

static void grad_cast(Grad *g, Ins *y, Ins *dy)
{
	Attr at[IR_MAX_ATTRS] = {{.i = X(0)->type.dt}};
	acc(g, X(0), emit(g, OP_cast, &dy, 1, at));
}

/* dy brought back to x's rank (ones on the reduced axes) and broadcast over them. */
static Ins *spread(Grad *g, Ins *y, Ins *dy)
{
	const Type *x = &X(0)->type;
	int64_t keep[IR_MAX_RANK];
	const Attr *axes = &y->attr[0];
	for (int i = 0; i < x->rank; i++) {
		bool reduced = axes->nv == 0;
		for (int k = 0; k < axes->nv; k++)
			reduced |= axes->v[k] == i;
		keep[i] = reduced ? 1 : x->dim[i];
	}
	return expand(g, reshape(g, dy, keep, x->rank), x);
}

static void grad_sum(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), spread(g, y, dy));
}

static void grad_mean(Grad *g, Ins *y, Ins *dy)
{
	const Type *x = &X(0)->type;
	const Attr *axes = &y->attr[0];
	double n = 1;
	bool over_batch = false;
	for (int i = 0; i < x->rank; i++) {
		bool reduced = axes->nv == 0;
		for (int k = 0; k < axes->nv; k++)
			reduced |= axes->v[k] == i;
		if (reduced && x->dim[i] == DIM_B)
			over_batch = true;
		else if (reduced)
			n *= (double)x->dim[i];
	}
	Ins *d = bin(g, OP_div, dy, scalar(g, y->type.dt, n));
	if (over_batch)
		d = bin(g, OP_div, d, batch_size(g, y->type.dt));
	acc(g, X(0), spread(g, y, d));
}

static void grad_max(Grad *g, Ins *y, Ins *dy) /* shared evenly among the maxima */
{
	Ins *hit = bin(g, OP_eq, X(0), spread(g, y, y));
	if (X(0)->type.dt != DT_F32) {
		Attr at[IR_MAX_ATTRS] = {{.i = X(0)->type.dt}};
		hit = emit(g, OP_cast, &hit, 1, at);
	}
	Ins *count = sum_keep(g, hit, y->attr[0].v, y->attr[0].nv);
	Ins *share = bin(g, OP_div, hit, expand(g, count, &X(0)->type));
	acc(g, X(0), bin(g, OP_mul, share, spread(g, y, dy)));
}

static void grad_softmax(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), with_axis(g, OP_softmax_grad, y, dy, y->attr[0].i));
}

static void grad_log_softmax(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), with_axis(g, OP_log_softmax_grad, y, dy, y->attr[0].i));
}

static void grad_layernorm(Grad *g, Ins *y, Ins *dy)
{
	Attr at[IR_MAX_ATTRS] = {{.f = y->attr[0].f}};
	Ins *args[2] = {X(0), dy};
	acc(g, X(0), emit(g, OP_layernorm_grad, args, 2, at));
}

static void grad_cross_entropy(Grad *g, Ins *y, Ins *dy)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	Ins *args[3] = {X(0), X(1), dy};
	acc(g, X(0), emit(g, OP_cross_entropy_grad, args, 3, at));
}

static Ins *mm(Grad *g, Op op, Ins *a, Ins *b, int ta, int tb)
{
	Attr at[IR_MAX_ATTRS] = {{.i = ta}, {.i = tb}};
	Ins *args[2] = {a, b};
	return emit(g, op, args, 2, at);
}

/* other, broadcast to the leading (batch) axes of y, keeping its own last two. */
static Ins *to_batch(Grad *g, Ins *other, const Ins *y)
{
	Type t = y->type;
	t.dt = other->type.dt;
	t.dim[t.rank - 2] = other->type.dim[other->type.rank - 2];
	t.dim[t.rank - 1] = other->type.dim[other->type.rank - 1];
	return expand(g, other, &t);
}

/* The gradient of operand k of y = op(A) @ op(B), from the four transpose cases. A
 * matrix operand (rank 2) of a batched product gets a batch-reducing product: one
 * matrix product over all batch rows instead of a batch of them to be summed. */
static Ins *matmul_operand_grad(Grad *g, Ins *y, Ins *dy, int k)
{
	int ta = y->attr[0].i != 0, tb = y->attr[1].i != 0;
	Ins *a = X(0), *b = X(1), *l, *r;
	int tl, tr;
	if (k == 0) {
		if (!ta) /* dA = dC op(B)^T */
			l = dy, r = b, tl = 0, tr = !tb;
		else /* dA = op(B) dC^T */
			l = b, r = dy, tl = tb, tr = 1;
	} else {
		if (!tb) /* dB = op(A)^T dC */
			l = a, r = dy, tl = !ta, tr = 0;
		else /* dB = dC^T op(A) */
			l = dy, r = a, tl = 1, tr = ta;
	}
	bool reduce = y->args[k]->type.rank == 2 && y->type.rank > 2;
	if (!reduce)
		return mm(g, OP_matmul, l, r, tl, tr);
	l = l == dy ? l : to_batch(g, l, y);
	r = r == dy ? r : to_batch(g, r, y);
	return mm(g, OP_matmul_reduce, l, r, tl, tr);
}

static void grad_matmul(Grad *g, Ins *y, Ins *dy)
{
	for (int k = 0; k < 2; k++)
		if (needs(g, X(k)))
			acc(g, X(k), matmul_operand_grad(g, y, dy, k));
}

static void grad_reshape(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), reshape(g, dy, X(0)->type.dim, X(0)->type.rank));
}

static void grad_transpose(Grad *g, Ins *y, Ins *dy)
{
	const Attr *p = &y->attr[0];
	Attr at[IR_MAX_ATTRS] = {{.v = arena_alloc(g->m->arena, sizeof(int64_t) * (size_t)(p->nv ? p->nv : 1)), .nv = p->nv}};
	for (int i = 0; i < p->nv; i++)
		at[0].v[p->v[i]] = i;
	acc(g, X(0), emit(g, OP_transpose, &dy, 1, at));
}

static void grad_expand(Grad *g, Ins *y, Ins *dy)
{
	acc(g, X(0), dy); /* acc() sums over the expanded axes */
}

static Ins *slice(Grad *g, Ins *x, int64_t axis, int64_t lo, int64_t hi)
{
	Attr at[IR_MAX_ATTRS] = {{.i = axis}, {.i = lo}, {.i = hi}};
	return emit(g, OP_slice, &x, 1, at);
}

static void grad_concat(Grad *g, Ins *y, Ins *dy)
{
	int64_t axis = y->attr[0].i, off = 0;
	for (int k = 0; k < y->nargs; k++) {
		int64_t len = X(k)->type.dim[axis];
		if (needs(g, X(k)))
			acc(g, X(k), slice(g, dy, axis, off, off + len));
		off += len;
	}
}

/* The gradient of a slice: dy with zeros before and after it along the axis. */
static void grad_slice(Grad *g, Ins *y, Ins *dy)
{
	int64_t axis = y->attr[0].i, lo = y->attr[1].i, hi = y->attr[2].i, dim = X(0)->type.dim[axis];
	Ins *parts[3];
	int n = 0;
	Type t = dy->type;
	if (lo > 0) {
		t.dim[axis] = lo;
		parts[n++] = full(g, &t, 0);
	}
	parts[n++] = dy;
	if (hi < dim) {
		t.dim[axis] = dim - hi;
		parts[n++] = full(g, &t, 0);
	}
	if (n == 1) {
		acc(g, X(0), dy);
		return;
	}
	Attr at[IR_MAX_ATTRS] = {{.i = axis}};
	acc(g, X(0), emit(g, OP_concat, parts, n, at));
}

static void grad_gather(Grad *g, Ins *y, Ins *dy)
{
	int64_t axis = y->attr[0].i;
	Attr at[IR_MAX_ATTRS] = {{.i = axis}, {.i = X(0)->type.dim[axis]}};
	Ins *args[2] = {dy, X(1)};
	acc(g, X(0), emit(g, OP_scatter_add, args, 2, at));
}

#undef X

static const GradFn grad_rules[OP__N] = {
#define OP(name, nargs, kind, shape, flops, grad, attrs) [OP_##name] = grad,
#include "ops.def"
#undef OP
};

/* ---------- the pass ---------- */

/* Whether a parameter trains under the recipe's `train` setting. */
static bool trains(const Ins *param, const RSetting *train)
{
	if (param->attr[0].g->frozen)
		return false;
	if (!train || train->val.kind != RV_LIST)
		return true;
	const char *name = param->attr[1].s;
	for (int i = 0; i < train->val.nitems; i++) {
		const char *p = train->val.items[i].s;
		size_t n = strlen(p);
		if (strncmp(name, p, n) == 0 && (name[n] == 0 || name[n] == '.'))
			return true;
	}
	return false;
}

static Func *differentiate(Module *m, const Recipe *r, const Func *loss)
{
	Func *f = module_add_func(m, arena_printf(m->arena, "%s.grad", r->name), loss->loc);
	const RSetting *train = recipe_setting(r, RK_train);
	Grad g = {.m = m, .f = f};
	Ins **map = arena_alloc(m->arena, sizeof *map * (size_t)(loss->next_id + 1));

	/* The forward: a copy of the loss function. */
	for (int i = 0; i < loss->body.n; i++) {
		const Ins *src = loss->body.p[i];
		Ins **args = arena_alloc(m->arena, sizeof *args * (size_t)(src->nargs ? src->nargs : 1));
		for (int k = 0; k < src->nargs; k++)
			args[k] = map[src->args[k]->id];
		Ins *ins = ins_new(m, f, src->op, args, src->nargs, src->loc);
		memcpy(ins->attr, src->attr, sizeof ins->attr);
		ins->type = src->type;
		func_append(m, f, ins);
		map[src->id] = ins;
	}
	/* Only forward values (ids below nforward) get gradients. */
	int nforward = f->body.n;
	g.adj = arena_alloc(m->arena, sizeof *g.adj * (size_t)(nforward + 1));
	g.needs = arena_alloc(m->arena, (size_t)nforward + 1);
	VEC(Ins *) trainable = {0};
	for (int i = 0; i < nforward; i++) {
		Ins *ins = f->body.p[i];
		if (ins->op == OP_param && trains(ins, train)) {
			g.needs[ins->id] = true;
			vec_push(m->arena, trainable, ins);
			continue;
		}
		if (grad_rules[ins->op] == grad_none || !dtype_is_float(ins->type.dt))
			continue;
		for (int k = 0; k < ins->nargs; k++)
			g.needs[ins->id] |= g.needs[ins->args[k]->id];
	}

	/* The backward, from d(loss) = 1, in reverse order. */
	Ins *loss_value = map[loss->rets.p[0]->id];
	g.loc = loss_value->loc;
	if (g.needs[loss_value->id])
		g.adj[loss_value->id] = scalar(&g, loss_value->type.dt, 1);
	for (int i = nforward - 1; i >= 0; i--) {
		Ins *y = f->body.p[i];
		Ins *dy = g.adj[y->id];
		if (!dy || !g.needs[y->id])
			continue;
		g.loc = y->loc;
		grad_rules[y->op](&g, y, dy);
	}

	/* Results: the loss's, then each trainable parameter's gradient. */
	for (int i = 0; i < loss->rets.n; i++) {
		vec_push(m->arena, f->rets, map[loss->rets.p[i]->id]);
		vec_push(m->arena, f->ret_names, loss->ret_names.p[i]);
	}
	for (int i = 0; i < trainable.n; i++) {
		Ins *p = trainable.p[i];
		Ins *dp = g.adj[p->id];
		if (!dp) { /* a parameter the loss does not use */
			g.loc = p->loc;
			dp = full(&g, &p->type, 0);
		}
		vec_push(m->arena, f->rets, dp);
		vec_push(m->arena, f->ret_names, arena_printf(m->arena, "grad.%s", p->attr[1].s));
	}
	return f;
}

bool pass_autodiff(Module *m, PassCtx *ctx)
{
	(void)ctx;
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *r = m->recipes.p[i];
		const RSetting *loss = recipe_setting(r, RK_loss);
		if (!loss || loss->val.kind != RV_FUNC)
			continue;
		const Func *f = module_find_func(m, loss->val.s);
		if (!f || f->rets.n == 0 || module_find_func(m, arena_printf(m->arena, "%s.grad", r->name)) ||
		    module_find_func(m, arena_printf(m->arena, "%s.step", r->name)))
			continue; /* done already: the input was IR after this pass */
		differentiate(m, r, f);
	}
	return true;
}
