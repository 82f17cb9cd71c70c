/* shape.c: the shape rule and the cost count of every op in ops.def.
 *
 * A shape rule reads the operands' types and the attributes, and either sets
 * ins->type or returns a message naming the shapes that do not fit. Rules never
 * trust their input: the IR reader feeds them whatever a file says.
 */
#include <string.h>

#include "ir.h"

static const char *ty(Arena *a, const Type *t)
{
	Buf b = {0};
	type_print(&b, t);
	char *s = arena_strdup(a, b.p);
	buf_free(&b);
	return s;
}

static const char *ints(Arena *a, const int64_t *v, int n)
{
	Buf b = {0};
	buf_putc(&b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		if (v[i] == DIM_B)
			buf_putc(&b, 'B');
		else
			buf_printf(&b, "%lld", (long long)v[i]);
	}
	buf_putc(&b, ']');
	char *s = arena_strdup(a, b.p);
	buf_free(&b);
	return s;
}

/* Every result must have positive dimensions and a size that fits in 64 bits. */
static const char *set_type(Ins *ins, Arena *a, DType dt, int rank, const int64_t *dim)
{
	if (rank > IR_MAX_RANK)
		return arena_printf(a, "result of '%s' would have rank %d; the limit is %d",
		                    op_info(ins->op)->name, rank, IR_MAX_RANK);
	Type t = {.dt = dt, .rank = rank};
	for (int i = 0; i < rank; i++) {
		if (dim[i] != DIM_B && (dim[i] < 1 || dim[i] > IR_MAX_DIM))
			return arena_printf(a, "dimension %d of the result of '%s' is %lld; dimensions must be between 1 and 2^40",
			                    i, op_info(ins->op)->name, (long long)dim[i]);
		t.dim[i] = dim[i];
	}
	if (type_numel(&t, 1) < 0 || type_numel(&t, 1) > IR_MAX_DIM)
		return arena_printf(a, "result of '%s' would have %s elements per image, more than 2^40",
		                    op_info(ins->op)->name, ints(a, dim, rank));
	ins->type = t;
	return NULL;
}

static const char *need_float(Ins *ins, Arena *a, int i)
{
	if (!dtype_is_float(ins->args[i]->type.dt))
		return arena_printf(a, "'%s' needs a floating-point operand, got %s", op_info(ins->op)->name,
		                    ty(a, &ins->args[i]->type));
	return NULL;
}

static const char *norm_axis(Ins *ins, Arena *a, int64_t *axis, int rank)
{
	int64_t ax = *axis;
	if (ax < -rank || ax >= rank)
		return arena_printf(a, "axis %lld is out of range for '%s' on a rank-%d tensor",
		                    (long long)ax, op_info(ins->op)->name, rank);
	*axis = ax < 0 ? ax + rank : ax;
	return NULL;
}

const char *shape_arg(Ins *ins, Arena *a)
{
	(void)a;
	(void)ins; /* the type is given by whoever made the argument */
	return NULL;
}

const char *shape_param(Ins *ins, Arena *a)
{
	if (!ins->attr[0].g)
		return arena_printf(a, "'param' names no global parameter");
	ins->type = ins->attr[0].g->type;
	return NULL;
}

const char *shape_full(Ins *ins, Arena *a)
{
	return set_type(ins, a, (DType)ins->attr[1].i, ins->attr[0].nv, ins->attr[0].v);
}

const char *shape_randperm(Ins *ins, Arena *a)
{
	const char *e = set_type(ins, a, DT_I32, ins->attr[0].nv, ins->attr[0].v);
	if (e)
		return e;
	int64_t ax = ins->attr[1].i;
	if ((e = norm_axis(ins, a, &ax, ins->type.rank)))
		return e;
	ins->attr[1].i = ax;
	if (ins->type.dim[ax] == DIM_B)
		return arena_printf(a, "'randperm' cannot permute along the batch dimension");
	if (ins->attr[2].i < 0 || ins->attr[2].i > UINT32_MAX)
		return arena_printf(a, "'randperm' stream must be between 0 and 2^32-1, got %lld", (long long)ins->attr[2].i);
	return NULL;
}

static const char *broadcast(Ins *ins, Arena *a, DType out)
{
	const Type *x = &ins->args[0]->type, *y = &ins->args[1]->type;
	if (x->dt != y->dt)
		return arena_printf(a, "'%s' operands have different element types: %s and %s",
		                    op_info(ins->op)->name, ty(a, x), ty(a, y));
	int rank = x->rank > y->rank ? x->rank : y->rank;
	int64_t dim[IR_MAX_RANK];
	for (int i = 0; i < rank; i++) {
		int ix = i - (rank - x->rank), iy = i - (rank - y->rank);
		int64_t dx = ix >= 0 ? x->dim[ix] : 1, dy = iy >= 0 ? y->dim[iy] : 1;
		if (dx == dy || dy == 1)
			dim[i] = dx;
		else if (dx == 1)
			dim[i] = dy;
		else
			return arena_printf(a, "cannot broadcast %s and %s for '%s' (dimension %d: %s vs %s)",
			                    ty(a, x), ty(a, y), op_info(ins->op)->name, i,
			                    dx == DIM_B ? "B" : arena_printf(a, "%lld", (long long)dx),
			                    dy == DIM_B ? "B" : arena_printf(a, "%lld", (long long)dy));
	}
	return set_type(ins, a, out, rank, dim);
}

const char *shape_broadcast(Ins *ins, Arena *a)
{
	return broadcast(ins, a, ins->args[0]->type.dt);
}

const char *shape_compare(Ins *ins, Arena *a)
{
	return broadcast(ins, a, DT_F32);
}

const char *shape_same(Ins *ins, Arena *a)
{
	(void)a;
	ins->type = ins->args[0]->type;
	return NULL;
}

const char *shape_same_float(Ins *ins, Arena *a)
{
	const char *e = need_float(ins, a, 0);
	if (!e)
		ins->type = ins->args[0]->type;
	return e;
}

const char *shape_same_float_axis(Ins *ins, Arena *a)
{
	const char *e = need_float(ins, a, 0);
	if (!e)
		e = norm_axis(ins, a, &ins->attr[0].i, ins->args[0]->type.rank);
	if (!e)
		ins->type = ins->args[0]->type;
	return e;
}

const char *shape_cast(Ins *ins, Arena *a)
{
	(void)a;
	ins->type = ins->args[0]->type;
	ins->type.dt = (DType)ins->attr[0].i;
	return NULL;
}

/* Axes are normalised to increasing non-negative values; none means all. */
const char *shape_reduce(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	Attr *axes = &ins->attr[0];
	bool drop[IR_MAX_RANK] = {0};
	if (axes->nv == 0) {
		for (int i = 0; i < x->rank; i++)
			drop[i] = true;
	}
	for (int i = 0; i < axes->nv; i++) {
		const char *e = norm_axis(ins, a, &axes->v[i], x->rank);
		if (e)
			return e;
		if (drop[axes->v[i]])
			return arena_printf(a, "axis %lld is listed twice in '%s'", (long long)axes->v[i],
			                    op_info(ins->op)->name);
		drop[axes->v[i]] = true;
	}
	int n = 0;
	for (int i = 0; i < x->rank && axes->nv > 0; i++) /* [] stays []: it has no room */
		if (drop[i])
			axes->v[n++] = i;
	if (ins->attr[1].i != 0 && ins->attr[1].i != 1)
		return arena_printf(a, "keepdim must be 0 or 1, got %lld", (long long)ins->attr[1].i);
	if (ins->op != OP_max && ins->op != OP_sum && !dtype_is_float(x->dt))
		return need_float(ins, a, 0);
	int64_t dim[IR_MAX_RANK];
	int rank = 0;
	for (int i = 0; i < x->rank; i++)
		if (!drop[i])
			dim[rank++] = x->dim[i];
		else if (ins->attr[1].i)
			dim[rank++] = 1;
	return set_type(ins, a, x->dt, rank, dim);
}

const char *shape_argmax(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	const char *e = norm_axis(ins, a, &ins->attr[0].i, x->rank);
	if (e)
		return e;
	int64_t dim[IR_MAX_RANK];
	int rank = 0;
	for (int i = 0; i < x->rank; i++)
		if (i != ins->attr[0].i)
			dim[rank++] = x->dim[i];
	return set_type(ins, a, DT_I32, rank, dim);
}

const char *shape_layernorm(Ins *ins, Arena *a)
{
	const char *e = need_float(ins, a, 0);
	if (e)
		return e;
	if (ins->args[0]->type.rank < 1)
		return arena_printf(a, "'layernorm' needs at least one dimension, got %s", ty(a, &ins->args[0]->type));
	if (!(ins->attr[0].f > 0) || ins->attr[0].f > 1)
		return arena_printf(a, "layernorm eps must be in (0, 1], got %g", ins->attr[0].f);
	ins->type = ins->args[0]->type;
	return NULL;
}

const char *shape_cross_entropy(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type, *y = &ins->args[1]->type;
	const char *e = need_float(ins, a, 0);
	if (e)
		return e;
	if (x->rank != 2 || y->rank != 1 || x->dim[0] != y->dim[0] || y->dt != DT_I32)
		return arena_printf(a, "'cross_entropy' takes logits [N, C] and i32 labels [N], got %s and %s",
		                    ty(a, x), ty(a, y));
	return set_type(ins, a, x->dt, 0, NULL);
}

/* a [..., M, K] times b [..., K, N] (ta/tb: the last two axes are swapped first);
 * the leading axes broadcast. */
const char *shape_matmul(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type, *y = &ins->args[1]->type;
	int ta = ins->attr[0].i != 0, tb = ins->attr[1].i != 0;
	if ((ins->attr[0].i | ins->attr[1].i) & ~1)
		return arena_printf(a, "ta and tb must be 0 or 1");
	if (x->rank < 2 || y->rank < 2)
		return arena_printf(a, "'matmul' needs operands of rank 2 or more, got %s and %s", ty(a, x), ty(a, y));
	if (x->dt != y->dt || !dtype_is_float(x->dt))
		return arena_printf(a, "'matmul' needs two floating-point operands of one type, got %s and %s",
		                    ty(a, x), ty(a, y));
	int64_t m = x->dim[x->rank - 2 + ta], k = x->dim[x->rank - 1 - ta];
	int64_t k2 = y->dim[y->rank - 2 + tb], n = y->dim[y->rank - 1 - tb];
	if (k != k2)
		return arena_printf(a, "'matmul' inner dimensions differ: %s%s times %s%s", ty(a, x),
		                    ta ? " (transposed)" : "", ty(a, y), tb ? " (transposed)" : "");
	int rank = x->rank > y->rank ? x->rank : y->rank;
	int64_t dim[IR_MAX_RANK];
	for (int i = 0; i < rank - 2; i++) {
		int ix = i - (rank - x->rank), iy = i - (rank - y->rank);
		int64_t dx = ix >= 0 ? x->dim[ix] : 1, dy = iy >= 0 ? y->dim[iy] : 1;
		if (dx != dy && dx != 1 && dy != 1)
			return arena_printf(a, "'matmul' batch dimensions do not broadcast: %s and %s", ty(a, x), ty(a, y));
		dim[i] = dx == 1 ? dy : dx;
	}
	dim[rank - 2] = m;
	dim[rank - 1] = n;
	return set_type(ins, a, x->dt, rank, dim);
}

/* The batch dimension must stay a dimension of its own. */
const char *shape_reshape(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	const Attr *s = &ins->attr[0];
	int bx = 0, bs = 0;
	int64_t px = 1, ps = 1;
	for (int i = 0; i < x->rank; i++)
		if (x->dim[i] == DIM_B)
			bx++;
		else
			px *= x->dim[i];
	for (int i = 0; i < s->nv; i++) {
		if (s->v[i] == DIM_B) {
			bs++;
			continue;
		}
		if (s->v[i] < 1 || s->v[i] > IR_MAX_DIM)
			return arena_printf(a, "'reshape' to %s: dimensions must be between 1 and 2^40", ints(a, s->v, s->nv));
		if (ps > IR_MAX_DIM / s->v[i])
			return arena_printf(a, "'reshape' to %s: too many elements", ints(a, s->v, s->nv));
		ps *= s->v[i];
	}
	if (bx != bs || px != ps)
		return arena_printf(a, "cannot reshape %s to %s: element counts differ", ty(a, x), ints(a, s->v, s->nv));
	/* Each image's elements stay together: as many elements before B as there were. */
	int64_t before_x = 1, before_s = 1;
	for (int i = 0; i < x->rank && x->dim[i] != DIM_B; i++)
		before_x *= x->dim[i];
	for (int i = 0; i < s->nv && s->v[i] != DIM_B; i++)
		before_s *= s->v[i];
	if (bx && before_x != before_s)
		return arena_printf(a, "cannot reshape %s to %s: the batch dimension B would move", ty(a, x),
		                    ints(a, s->v, s->nv));
	return set_type(ins, a, x->dt, s->nv, s->v);
}

const char *shape_transpose(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	const Attr *p = &ins->attr[0];
	bool seen[IR_MAX_RANK] = {0};
	if (p->nv != x->rank)
		return arena_printf(a, "'transpose' of %s needs a permutation of %d axes, got %s", ty(a, x), x->rank,
		                    ints(a, p->v, p->nv));
	int64_t dim[IR_MAX_RANK];
	for (int i = 0; i < p->nv; i++) {
		if (p->v[i] < 0 || p->v[i] >= x->rank || seen[p->v[i]])
			return arena_printf(a, "%s is not a permutation of the %d axes of %s", ints(a, p->v, p->nv), x->rank,
			                    ty(a, x));
		seen[p->v[i]] = true;
		dim[i] = x->dim[p->v[i]];
	}
	return set_type(ins, a, x->dt, x->rank, dim);
}

const char *shape_expand(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	const Attr *s = &ins->attr[0];
	if (s->nv < x->rank)
		return arena_printf(a, "cannot expand %s to fewer dimensions %s", ty(a, x), ints(a, s->v, s->nv));
	for (int i = 0; i < x->rank; i++) {
		int64_t d = x->dim[i], t = s->v[s->nv - x->rank + i];
		if (d != t && d != 1)
			return arena_printf(a, "cannot expand %s to %s", ty(a, x), ints(a, s->v, s->nv));
	}
	return set_type(ins, a, x->dt, s->nv, s->v);
}

const char *shape_concat(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	int64_t ax = ins->attr[0].i;
	const char *e = norm_axis(ins, a, &ax, x->rank);
	if (e)
		return e;
	ins->attr[0].i = ax;
	int64_t dim[IR_MAX_RANK];
	memcpy(dim, x->dim, sizeof dim);
	dim[ax] = 0;
	for (int k = 0; k < ins->nargs; k++) {
		const Type *y = &ins->args[k]->type;
		if (y->rank != x->rank || y->dt != x->dt)
			return arena_printf(a, "cannot concatenate %s and %s", ty(a, x), ty(a, y));
		for (int i = 0; i < x->rank; i++)
			if (i != ax && y->dim[i] != x->dim[i])
				return arena_printf(a, "cannot concatenate %s and %s along axis %lld: dimension %d differs", ty(a, x),
				                    ty(a, y), (long long)ax, i);
		if (y->dim[ax] == DIM_B)
			return arena_printf(a, "cannot concatenate along the batch dimension of %s", ty(a, y));
		dim[ax] += y->dim[ax];
		if (dim[ax] > IR_MAX_DIM)
			return arena_printf(a, "concatenation is too long");
	}
	return set_type(ins, a, x->dt, x->rank, dim);
}

const char *shape_slice(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	int64_t ax = ins->attr[0].i, lo = ins->attr[1].i, hi = ins->attr[2].i;
	const char *e = norm_axis(ins, a, &ax, x->rank);
	if (e)
		return e;
	ins->attr[0].i = ax;
	if (x->dim[ax] == DIM_B)
		return arena_printf(a, "cannot slice the batch dimension of %s", ty(a, x));
	if (lo < 0 || hi > x->dim[ax] || lo >= hi)
		return arena_printf(a, "slice %lld:%lld is empty or out of range for axis %lld of %s", (long long)lo,
		                    (long long)hi, (long long)ax, ty(a, x));
	int64_t dim[IR_MAX_RANK];
	memcpy(dim, x->dim, sizeof dim);
	dim[ax] = hi - lo;
	return set_type(ins, a, x->dt, x->rank, dim);
}

/* out[i0.., j..] = x[i0.., idx[i0..], .., j..] where idx covers the leading axes of x:
 * idx matches x on every leading axis but `axis`, and the result is idx's shape
 * followed by the rest of x's. */
const char *shape_gather(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type, *idx = &ins->args[1]->type;
	int64_t ax = ins->attr[0].i;
	const char *e = norm_axis(ins, a, &ax, x->rank);
	if (e)
		return e;
	ins->attr[0].i = ax;
	if (idx->dt != DT_I32 && idx->dt != DT_I64)
		return arena_printf(a, "'gather' needs integer indexes, got %s", ty(a, idx));
	if (idx->rank > x->rank || idx->rank <= ax)
		return arena_printf(a, "'gather' along axis %lld: indexes %s do not cover the leading axes of %s",
		                    (long long)ax, ty(a, idx), ty(a, x));
	int64_t dim[IR_MAX_RANK];
	for (int i = 0; i < x->rank; i++) {
		if (i < idx->rank && i != ax && idx->dim[i] != x->dim[i])
			return arena_printf(a, "'gather' indexes %s and source %s differ in dimension %d", ty(a, idx), ty(a, x), i);
		dim[i] = i < idx->rank ? idx->dim[i] : x->dim[i];
	}
	if (x->dim[ax] == DIM_B)
		return arena_printf(a, "'gather' cannot index the batch dimension of %s", ty(a, x));
	return set_type(ins, a, x->dt, x->rank, dim);
}

const char *shape_argsort(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type;
	const char *e = norm_axis(ins, a, &ins->attr[0].i, x->rank);
	if (e)
		return e;
	if (x->dim[ins->attr[0].i] == DIM_B)
		return arena_printf(a, "'argsort' cannot sort along the batch dimension of %s", ty(a, x));
	return set_type(ins, a, DT_I32, x->rank, x->dim);
}

/* Costs, per image (B = 1). Matrix products count 2*M*N*K, the convention the
 * reference's GFLOP figures use; other ops count a few operations per element. */
static double numel1(const Type *t)
{
	return (double)type_numel(t, 1);
}

double flops_zero(const Ins *ins)
{
	(void)ins;
	return 0;
}

double flops_numel(const Ins *ins)
{
	return numel1(&ins->type);
}

double flops_in_numel(const Ins *ins)
{
	return numel1(&ins->args[0]->type);
}

double flops_softmax(const Ins *ins)
{
	return 5 * numel1(&ins->type); /* max, subtract, exp, sum, divide */
}

double flops_layernorm(const Ins *ins)
{
	return 7 * numel1(&ins->type); /* mean, centre, square, sum, rsqrt scale */
}

double flops_cross_entropy(const Ins *ins)
{
	return 5 * numel1(&ins->args[0]->type);
}

double flops_matmul(const Ins *ins)
{
	const Type *x = &ins->args[0]->type;
	int64_t k = x->dim[x->rank - 1 - (ins->attr[0].i != 0)];
	return 2.0 * numel1(&ins->type) * (double)(k == DIM_B ? 1 : k);
}

double func_flops(const Func *f, bool matmul_only)
{
	double total = 0;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (!matmul_only || op_info(ins->op)->kind == KIND_MATMUL)
			total += op_info(ins->op)->flops(ins);
	}
	return total;
}

int64_t func_param_count(const Func *f)
{
	int64_t n = 0;
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->op == OP_param)
			n += type_numel(&f->body.p[i]->type, 1);
	return n;
}

/* ---------- state, scalars and the ops that autodiff and optimizer lowering emit ---------- */

const char *shape_state(Ins *ins, Arena *a)
{
	if (!ins->attr[0].g)
		return arena_printf(a, "'state' names no global parameter");
	if (!ins->attr[1].s || !*ins->attr[1].s)
		return arena_printf(a, "'state' needs a slot name");
	ins->type = ins->attr[0].g->type;
	return NULL;
}

const char *shape_scalar(Ins *ins, Arena *a)
{
	if (!ins->attr[0].s || !*ins->attr[0].s)
		return arena_printf(a, "'scalar' needs a name");
	ins->type = (Type){.dt = DT_F32};
	return NULL;
}

const char *shape_store(Ins *ins, Arena *a)
{
	const char *e = shape_state(ins, a);
	if (e)
		return e;
	if (!type_eq(&ins->type, &ins->args[0]->type))
		return arena_printf(a, "cannot store %s into $%s of type %s", ty(a, &ins->args[0]->type),
		                    ins->attr[0].g->name, ty(a, &ins->type));
	return NULL;
}

static const char *same2(Ins *ins, Arena *a)
{
	const char *e = need_float(ins, a, 0);
	if (e)
		return e;
	if (!type_eq(&ins->args[0]->type, &ins->args[1]->type))
		return arena_printf(a, "'%s' operands differ: %s and %s", op_info(ins->op)->name, ty(a, &ins->args[0]->type),
		                    ty(a, &ins->args[1]->type));
	ins->type = ins->args[0]->type;
	return NULL;
}

const char *shape_same2_float(Ins *ins, Arena *a)
{
	return same2(ins, a);
}

const char *shape_same2_float_axis(Ins *ins, Arena *a)
{
	const char *e = same2(ins, a);
	return e ? e : norm_axis(ins, a, &ins->attr[0].i, ins->type.rank);
}

const char *shape_layernorm_grad(Ins *ins, Arena *a)
{
	const char *e = same2(ins, a);
	if (e)
		return e;
	Ins one = *ins;
	one.nargs = 1;
	return shape_layernorm(&one, a);
}

const char *shape_cross_entropy_grad(Ins *ins, Arena *a)
{
	const char *e = shape_cross_entropy(ins, a);
	if (e)
		return e;
	const Type *d = &ins->args[2]->type;
	if (d->rank != 0 || d->dt != ins->args[0]->type.dt)
		return arena_printf(a, "'cross_entropy_grad' takes the loss's gradient as a scalar, got %s", ty(a, d));
	ins->type = ins->args[0]->type;
	return NULL;
}

/* The matrix product summed over the leading axes, which both operands must share:
 * out[m,n] = sum over b, k of op(a)[b,m,k] op(b)[b,k,n]. A weight's gradient. */
const char *shape_matmul_reduce(Ins *ins, Arena *a)
{
	const Type *x = &ins->args[0]->type, *y = &ins->args[1]->type;
	if (x->rank != y->rank)
		return arena_printf(a, "'matmul_reduce' needs operands of one rank, got %s and %s", ty(a, x), ty(a, y));
	for (int i = 0; i < x->rank - 2; i++)
		if (x->dim[i] != y->dim[i])
			return arena_printf(a, "'matmul_reduce' operands differ in leading dimension %d: %s and %s", i, ty(a, x),
			                    ty(a, y));
	const char *e = shape_matmul(ins, a);
	if (e)
		return e;
	int64_t dim[2] = {ins->type.dim[ins->type.rank - 2], ins->type.dim[ins->type.rank - 1]};
	/* a sum over the batch: bf16 operands accumulate into an f32 weight gradient */
	return set_type(ins, a, x->dt == DT_BF16 ? DT_F32 : x->dt, 2, dim);
}

/* The adjoint of gather: zeros of dy's shape with `size` along `axis`, plus dy added at
 * the gathered positions. */
const char *shape_scatter_add(Ins *ins, Arena *a)
{
	const Type *dy = &ins->args[0]->type, *idx = &ins->args[1]->type;
	int64_t ax = ins->attr[0].i;
	const char *e = norm_axis(ins, a, &ax, dy->rank);
	if (e)
		return e;
	ins->attr[0].i = ax;
	if (idx->dt != DT_I32 && idx->dt != DT_I64)
		return arena_printf(a, "'scatter_add' needs integer indexes, got %s", ty(a, idx));
	if (idx->rank > dy->rank || idx->rank <= ax)
		return arena_printf(a, "'scatter_add' indexes %s do not cover axis %lld of %s", ty(a, idx), (long long)ax,
		                    ty(a, dy));
	for (int i = 0; i < idx->rank; i++)
		if (idx->dim[i] != dy->dim[i])
			return arena_printf(a, "'scatter_add' indexes %s and values %s differ in dimension %d", ty(a, idx),
			                    ty(a, dy), i);
	if (dy->dim[ax] == DIM_B || ins->attr[1].i < 1)
		return arena_printf(a, "'scatter_add' needs a positive size along a static axis");
	int64_t dim[IR_MAX_RANK];
	memcpy(dim, dy->dim, sizeof dim);
	dim[ax] = ins->attr[1].i;
	return set_type(ins, a, dy->dt, dy->rank, dim);
}

double flops_matmul_reduce(const Ins *ins)
{
	const Type *x = &ins->args[0]->type;
	int64_t k = x->dim[x->rank - 1 - (ins->attr[0].i != 0)];
	double batch = 1;
	for (int i = 0; i < x->rank - 2; i++)
		batch *= (double)(x->dim[i] == DIM_B ? 1 : x->dim[i]);
	return 2.0 * numel1(&ins->type) * (double)k * batch;
}
