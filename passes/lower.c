/* lower.c: the kernels a target runs for a function, in order, and where their values live.
 *
 * Requires: a verified function whose kernel=N groups are a valid plan (fuse_plan), the
 *   target's abilities (LowerOptions), the largest batch it runs with and its float size.
 * Guarantees (lower_func): a schedule that both targets emit call by call, unchanged:
 *   - every kernel group of the plan becomes one call (SCHED_LOOP, SCHED_MULTI, SCHED_ACCUM,
 *     SCHED_ATTN, SCHED_ROW, or SCHED_RUNTIME for a group of one op), except where the
 *     target says it cannot run the group's kind as one kernel: then the group is split
 *     into its products and reductions (each a SCHED_RUNTIME call, or with the loops around
 *     a row op a SCHED_ROW call where the target runs those: row_call) and the runs of loop
 *     members between them (each a SCHED_LOOP over the group's space), and `splits` lists
 *     it, with the reason;
 *   - calls are in a valid order (the plan's, members in order inside a group); a `full`
 *     that a runtime kernel reads from memory is filled by a call of its own just before;
 *   - need[id]: the value is written to the activation slab, because a later call reads
 *     it or the function returns it; every other member lives only in its call's
 *     registers. Reshapes are views: no call, the source's bytes (sched_src); so are the
 *     slices contiguous in their operand where the target reads them so (view[id]: the
 *     operand's bytes at an offset, sched_mem, sched_view_offset), and the operand then
 *     lives until the view's last reader;
 *   - the memory plan (memplan.c) over one step per call (step 0: the host scalars), with
 *     the in-place writes a call allows: an elementwise runtime kernel over an input of its
 *     own shape, a loop that reads the input exactly where it writes the output (never
 *     through a view).
 * Invalidates: nothing; the IR is not changed.
 *
 * The report of the schedule (lower_print) is what --dump-after=lower shows: one line per
 * call, its kind, group, members and the values it writes.
 */
#include <string.h>

#include "passes.h"

const LowerOptions lower_c = {.target = "C", .attention = true, .accumulate = true};
/* The CUDA attention kernel (codegen/cuda.c, emit_attention) keeps a strip of 16 rows of
 * keys in shared memory and the transposed products' tiles in registers, spread over its
 * 8 warps: at most 18 x 4 tiles of 16 x 16, so rows of at most 288 keys and products at
 * most 64 wide. */
const LowerOptions lower_cuda = {.target = "CUDA", .attention = true, .accumulate = true, .row_epilogues = true,
                                 .slice_views = true, .widening_reductions = true, .attention_max_keys = 288,
                                 .attention_max_width = 64, .attention_views = true};

const char *sched_kind_name(SchedKind k)
{
	static const char *const names[] = {"runtime", "loop", "multi", "accum", "attention", "row"};
	return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

bool sched_is_free(const Ins *x)
{
	return x->op == OP_arg || x->op == OP_param || x->op == OP_state || x->op == OP_scalar || x->op == OP_reshape ||
	       x->op == OP_full;
}

const Ins *sched_src(const Ins *x)
{
	while (x->op == OP_reshape)
		x = x->args[0];
	return x;
}

const Ins *sched_mem(const Schedule *s, const Ins *x)
{
	while (x->op == OP_reshape || ((x->op == OP_slice || x->op == OP_transpose) && s->view[x->id]))
		x = x->args[0];
	return x;
}

/* in reshaped to t: axes of size 1 dropped and added, runs of axes merged or split where
 * the run is contiguous in the bytes (PyTorch's view rule); the batch stays its own axis */
static bool reshape_strides(const SchedStrided *in, const Type *t, SchedStrided *o)
{
	*o = *in;
	o->rank = t->rank;
	int i = 0, j = 0;
	for (;;) {
		while (i < in->rank && in->dim[i] == 1)
			i++;
		while (j < t->rank && t->dim[j] == 1) {
			o->dim[j] = 1;
			o->stride_n[j] = o->stride_b[j] = 0;
			j++;
		}
		if (i == in->rank || j == t->rank)
			break;
		int i2 = i + 1, j2 = j + 1;
		if (in->dim[i] == DIM_B || t->dim[j] == DIM_B) {
			if (in->dim[i] != t->dim[j])
				return false;
		} else {
			int64_t pi = in->dim[i], pj = t->dim[j];
			while (pi != pj) {
				if (pi < pj) {
					if (i2 == in->rank || in->dim[i2] == DIM_B)
						return false;
					pi *= in->dim[i2++];
				} else {
					if (j2 == t->rank || t->dim[j2] == DIM_B)
						return false;
					pj *= t->dim[j2++];
				}
			}
		}
		/* the run's axes (of size > 1) each the next one's extent apart */
		int last = -1;
		for (int q = i; q < i2; q++) {
			if (in->dim[q] == 1)
				continue;
			if (last >= 0 && (in->stride_n[last] != in->stride_n[q] * in->dim[q] ||
			                  in->stride_b[last] != in->stride_b[q] * in->dim[q]))
				return false;
			last = q;
		}
		int64_t sn = in->stride_n[last], sb = in->stride_b[last];
		for (int q = j2 - 1; q >= j; q--) {
			o->dim[q] = t->dim[q];
			o->stride_n[q] = sn;
			o->stride_b[q] = sb;
			if (t->dim[q] != DIM_B) {
				sn *= t->dim[q];
				sb *= t->dim[q];
			}
		}
		i = i2;
		j = j2;
	}
	for (; i < in->rank; i++)
		if (in->dim[i] != 1)
			return false;
	for (; j < t->rank; j++) {
		if (t->dim[j] != 1)
			return false;
		o->dim[j] = 1;
		o->stride_n[j] = o->stride_b[j] = 0;
	}
	return true;
}

bool sched_strided(const Schedule *s, const Ins *x, SchedStrided *o)
{
	const Type *t = &x->type;
	SchedStrided in;
	if (x->op == OP_reshape)
		return sched_strided(s, x->args[0], &in) && reshape_strides(&in, t, o);
	if (x->op == OP_transpose && s->view[x->id]) {
		if (!sched_strided(s, x->args[0], &in))
			return false;
		*o = in;
		for (int i = 0; i < t->rank; i++) {
			int64_t p = x->attr[0].v[i];
			o->dim[i] = in.dim[p];
			o->stride_n[i] = in.stride_n[p];
			o->stride_b[i] = in.stride_b[p];
		}
		return true;
	}
	if (x->op == OP_slice && s->view[x->id]) {
		if (!sched_strided(s, x->args[0], &in))
			return false;
		*o = in;
		int axis = (int)x->attr[0].i;
		o->offset_n += x->attr[1].i * in.stride_n[axis];
		o->offset_b += x->attr[1].i * in.stride_b[axis];
		o->dim[axis] = t->dim[axis];
		return true;
	}
	/* in memory: row-major */
	memset(o, 0, sizeof *o);
	o->base = x;
	o->rank = t->rank;
	int64_t sn = 1, sb = 0;
	for (int i = t->rank - 1; i >= 0; i--) {
		o->dim[i] = t->dim[i];
		o->stride_n[i] = sn;
		o->stride_b[i] = sb;
		if (t->dim[i] == DIM_B) {
			if (sb)
				return false; /* B squared */
			sb = sn;
			sn = 0;
		} else {
			sn *= t->dim[i];
			sb *= t->dim[i];
		}
	}
	return true;
}

/* A slice whose elements are contiguous in its operand: every axis before its own of size 1. */
static bool contiguous_slice(const Ins *x)
{
	if (x->op != OP_slice)
		return false;
	const Type *t = &x->args[0]->type;
	for (int i = 0; i < x->attr[0].i; i++)
		if (t->dim[i] != 1)
			return false;
	return true;
}

int64_t sched_view_offset(const Ins *x, bool *times_b)
{
	const Type *t = &x->args[0]->type;
	int64_t inner = 1;
	*times_b = false;
	for (int i = (int)x->attr[0].i + 1; i < t->rank; i++) {
		if (t->dim[i] == DIM_B)
			*times_b = true;
		else
			inner *= t->dim[i];
	}
	return x->attr[1].i * inner;
}

static bool is_anchor_op(const Ins *x)
{
	return op_info(x->op)->kind == KIND_MATMUL || op_info(x->op)->kind == KIND_REDUCE;
}

bool sched_const_full(const Schedule *s, const Ins *x)
{
	return x->op == OP_full && !s->filled[x->id];
}

static void add_call(Arena *a, Schedule *s, SchedCall c)
{
	/* a runtime kernel reads a constant from memory: fill it first */
	if (c.kind == SCHED_RUNTIME || c.kind == SCHED_ACCUM)
		for (int k = 0; k < c.ins->nargs; k++) {
			const Ins *x = sched_src(c.ins->args[k]);
			if (sched_const_full(s, x)) {
				s->filled[x->id] = true;
				add_call(a, s, (SchedCall){.kind = SCHED_RUNTIME, .g = NULL, .ins = x, .lo = 0, .hi = 0});
			}
		}
	int k = s->calls.n;
	vec_push(a, s->calls, c);
	if (c.kind == SCHED_RUNTIME)
		s->call_of[c.ins->id] = k;
	else if (c.kind == SCHED_LOOP || c.kind == SCHED_ROW)
		for (int i = c.lo; i < c.hi; i++)
			s->call_of[c.g->ins[i]->id] = k;
	else
		for (int i = 0; i < c.g->nins; i++)
			s->call_of[c.g->ins[i]->id] = k;
	for (int i = 0; i < c.nmem; i++)
		s->call_of[c.mem[i]->id] = k;
}

/* A product whose only use is `store(add(state, product))` into the same slot: the BLAS
 * adds it into the slot (beta = 1). */
static bool accumulates(const FuseGroup *g)
{
	if (g->kind != FUSE_MATMUL || g->nins != 3 || g->nouts != 0)
		return false;
	const Ins *mm = g->ins[0], *add = g->ins[1], *st = g->ins[2];
	if (op_info(mm->op)->kind != KIND_MATMUL || add->op != OP_add || st->op != OP_store ||
	    sched_src(st->args[0]) != add || mm->type.dt != DT_F32)
		return false;
	for (int k = 0; k < 2; k++) {
		const Ins *s = sched_src(add->args[k]), *o = sched_src(add->args[1 - k]);
		if (o == mm && s->op == OP_state && s->attr[0].g == st->attr[0].g && strcmp(s->attr[1].s, st->attr[1].s) == 0 &&
		    type_numel(&s->type, 1) == type_numel(&mm->type, 1) && type_eq(&add->type, &add->args[1 - k]->type))
			return true;
	}
	return false;
}

/* Does x read a full that loops inline (so a runtime kernel cannot take it)? */
static bool reads_const(const Schedule *s, const Ins *x)
{
	for (int k = 0; k < x->nargs; k++)
		if (sched_const_full(s, sched_src(x->args[k])))
			return true;
	return false;
}

static void note_split(Arena *a, Schedule *s, const FuseGroup *grp, const char *why)
{
	vec_push(a, s->splits, ((SchedSplit){grp, why}));
}

static bool is_row_op(const Ins *x)
{
	return x->op == OP_softmax || x->op == OP_softmax_grad || x->op == OP_layernorm || x->op == OP_layernorm_grad;
}

static int member_at(const FuseGroup *g, int lo, int hi, const Ins *x)
{
	for (int i = lo; i < hi; i++)
		if (g->ins[i] == x)
			return i;
	return -1;
}

/* Can the target run members [lo, hi) of a group, whose one anchor is the row op at ri, as
 * one row kernel: the row op along the last axis of the group's space; the others
 * elementwise over that space, those before it (the prologue) read only by it or each
 * other, never written, its operands that they make read at the point itself? NULL, or
 * why not. */
static const char *row_call(Arena *a, const FuseGroup *grp, int lo, int ri, int hi, const LowerOptions *opt)
{
	const Ins *r = grp->ins[ri];
	if (!opt->row_epilogues)
		return arena_printf(a, "the %s target runs a reduction and its loops apart", opt->target);
	if (!is_row_op(r))
		return "only softmax, layernorm and their gradients take a prologue and an epilogue";
	bool last = r->op == OP_layernorm || r->op == OP_layernorm_grad || r->attr[0].i == r->type.rank - 1;
	if (!type_eq(&r->type, &grp->space) || r->type.dt != DT_F32 || !last)
		return "the row op is not along the last axis of the group's space";
	for (int i = lo; i < hi; i++) {
		const Ins *x = grp->ins[i];
		if (i == ri)
			continue;
		if (op_info(x->op)->kind != KIND_ELEMWISE && x->op != OP_store && x->op != OP_expand &&
		    x->op != OP_transpose && x->op != OP_slice)
			return "a member is not elementwise";
		for (int k = 0; k < x->nargs; k++) {
			int m = member_at(grp, lo, hi, sched_src(x->args[k]));
			if (i > ri && m >= lo && m < ri)
				return "the epilogue reads the prologue";
		}
		if (i < ri && x->op == OP_store)
			return "a store in the prologue";
		if (i < ri)
			for (int o = 0; o < grp->nouts; o++)
				if (grp->outs[o] == x)
					return "a prologue member is written";
	}
	for (int k = 0; k < r->nargs; k++) {
		int m = member_at(grp, lo, hi, sched_src(r->args[k]));
		if (m >= 0 && (r->args[k] != grp->ins[m] || !type_eq(&r->args[k]->type, &grp->space)))
			return "the row op reads the prologue at other points";
	}
	return NULL;
}

/* Is member ci of a group a cast from bf16 to f32 that only the reduction at ri reads
 * (widening_reductions)? */
static bool widened_operand(const FuseGroup *grp, int ci, int ri)
{
	const Ins *c = grp->ins[ci], *r = grp->ins[ri];
	if ((r->op != OP_sum && r->op != OP_mean && r->op != OP_max) || r->args[0] != c || c->op != OP_cast ||
	    c->type.dt != DT_F32 || c->args[0]->type.dt != DT_BF16)
		return false;
	for (int o = 0; o < grp->nouts; o++)
		if (grp->outs[o] == c)
			return false;
	for (int i = 0; i < grp->nins; i++)
		for (int k = 0; i != ri && k < grp->ins[i]->nargs; k++)
			if (sched_src(grp->ins[i]->args[k]) == c)
				return false;
	return true;
}

/* A group, member by member: its products and reductions through the runtime, the runs
 * of loop members between them as generated loops; a row op with the loops around it as
 * one row call where the target can run it (row_call; else the reason is noted). */
static void split_group(Arena *a, Schedule *s, const FuseGroup *grp, const LowerOptions *opt)
{
	const char *why = NULL;
	for (int i = 0; i < grp->nins;) {
		int j = i;
		while (j < grp->nins && !is_anchor_op(grp->ins[j]))
			j++;
		/* 1: the member before the anchor is its operand widened from bf16, which the call loads */
		const int w = j < grp->nins && j > i && opt->widening_reductions && widened_operand(grp, j - 1, j);
		if (j < grp->nins && grp->nins > 1) { /* the anchor at j, the loops after it to e */
			int e = j + 1;
			while (e < grp->nins && !is_anchor_op(grp->ins[e]))
				e++;
			const char *rw = row_call(a, grp, i, j, e, opt);
			if (!rw) {
				add_call(a, s, (SchedCall){.kind = SCHED_ROW, .g = grp, .ins = grp->ins[j], .lo = i, .hi = e});
				i = e;
				continue;
			}
			if (!why && (e > j + 1 || j > i + w))
				why = rw;
		}
		if (j - w > i)
			add_call(a, s, (SchedCall){.kind = SCHED_LOOP, .g = grp, .ins = NULL, .lo = i, .hi = j - w});
		if (w) { /* the cast and the reduction: one runtime call */
			const Ins **mem = arena_alloc(a, sizeof *mem * 2);
			mem[0] = grp->ins[j - 1];
			mem[1] = grp->ins[j];
			add_call(a, s, (SchedCall){.kind = SCHED_RUNTIME, .g = grp, .ins = grp->ins[j], .mem = mem, .nmem = 2});
		} else if (j < grp->nins) {
			add_call(a, s, (SchedCall){.kind = SCHED_RUNTIME, .g = grp, .ins = grp->ins[j], .lo = 0, .hi = 0});
		}
		i = j + 1;
	}
	if (why && grp->kind == FUSE_REDUCE)
		note_split(a, s, grp, why);
}

SchedLin sched_lin(const FuseMap *m, const Type *t)
{
	SchedLin l = {0};
	int64_t stride = 1;
	int sb = 0; /* the stride holds B */
	for (int k = t->rank - 1; k >= 0; k--) {
		const FuseIndex *x = &m->at[k];
		int64_t *dst = sb ? l.b : l.n;
		dst[IR_MAX_RANK] += x->off * stride;
		for (int i = 0; i < x->n; i++)
			dst[x->dim[i]] += x->coef[i] * stride;
		if (t->dim[k] == DIM_B)
			sb = 1;
		else
			stride *= t->dim[k];
	}
	return l;
}

bool sched_lin_eq(const SchedLin *x, const SchedLin *y)
{
	return memcmp(x, y, sizeof *x) == 0;
}

/* A cast between float dtypes: bf16 rounding, or widening (passes/precision.c). */
static bool float_cast(const Ins *x)
{
	return x->op == OP_cast && dtype_is_float(x->type.dt) && dtype_is_float(x->args[0]->type.dt);
}

/* Can an ATTENTION group run per batch element, each value a block: loop members at the
 * identity of the rows' space, reading blocks of that space or scalars; the row op along
 * the last axis; products whose operands are whole blocks. NULL, or why not. */
static const char *attention_blocks(const Schedule *s, const FuseGroup *grp)
{
	const Type *sp = &grp->space;
	if (sp->rank < 3 || grp->nparts)
		return "the rows' space has fewer than 3 axes";
	FuseMap id;
	memset(&id, 0, sizeof id);
	id.rank = sp->rank;
	for (int d = 0; d < sp->rank; d++) {
		id.at[d].n = 1;
		id.at[d].dim[0] = d;
		id.at[d].coef[0] = 1;
	}
	SchedLin ident = sched_lin(&id, sp);
	for (int i = 0; i < grp->nins; i++) {
		const Ins *x = grp->ins[i];
		if (!dtype_is_float(x->type.dt))
			return "a member is not floating-point";
		if (op_info(x->op)->kind == KIND_MATMUL) {
			if (x->op != OP_matmul)
				return "a product reduces over its batch";
			continue;
		}
		if (x->op == OP_softmax || x->op == OP_softmax_grad) {
			if (!type_same_dims(&x->type, sp))
				return "the softmax is not over the rows' space";
			continue;
		}
		if (op_info(x->op)->kind != KIND_ELEMWISE || (x->op == OP_cast && !float_cast(x)) || !type_same_dims(&x->type, sp))
			return "a loop member is not elementwise over the rows' space";
		SchedLin w = sched_lin(&grp->map[i], &x->type);
		if (!sched_lin_eq(&w, &ident))
			return "a loop member is written at other coordinates";
		for (int k = 0; k < x->nargs; k++) {
			const Ins *v = sched_src(x->args[k]);
			FuseMap m;
			if (!fuse_read_map(grp, i, k, &m))
				return "a loop member has no read map";
			SchedLin r = sched_lin(&m, &v->type), zero = {0};
			if (!sched_lin_eq(&r, &ident) && !(sched_lin_eq(&r, &zero) && type_numel(&v->type, 1) == 1))
				return "an operand is read other than as a block or a scalar";
			if (sched_const_full(s, v) && type_numel(&v->type, 1) != 1)
				return "an operand is a constant that is not a scalar";
		}
	}
	return NULL;
}


int sched_member(const FuseGroup *g, const Ins *x)
{
	return member_at(g, 0, g->nins, x);
}

/* softmax_grad's y made in the kernel: the softmax y of a product Ay By^T of values in
 * memory through elementwise members (and y's bf16 rounding for the products). NULL, or
 * why not. */
static const char *attention_y(const FuseGroup *g, const Ins *y, SchedAttn *at)
{
	if (g->nins > 64)
		return "more than 64 members recompute the probabilities";
	at->yrow = sched_member(g, y);
	at->ymask = (uint64_t)1 << at->yrow;
	const Ins *c = y->args[0];
	for (;;) {
		int i = sched_member(g, c);
		if (i < 0)
			return "the recomputed softmax does not read a product of the kernel";
		at->ymask |= (uint64_t)1 << i;
		if (c->op == OP_matmul) {
			if (c->attr[0].i || !c->attr[1].i || sched_member(g, sched_src(c->args[0])) >= 0 ||
			    sched_member(g, sched_src(c->args[1])) >= 0 || !type_same_dims(&c->type, &y->type))
				return "the recomputed rows are not one product A B^T of values in memory";
			at->ymm = i;
			at->yd = c->args[0]->type.dim[c->args[0]->type.rank - 1];
			break;
		}
		if (op_info(c->op)->kind != KIND_ELEMWISE || (c->op == OP_cast && !float_cast(c)) ||
		    !type_same_dims(&c->type, &y->type))
			return "a member of the recomputed rows is not elementwise over them";
		const Ins *next = NULL;
		for (int k = 0; k < c->nargs; k++) {
			const Ins *o = sched_src(c->args[k]);
			if (sched_member(g, o) >= 0) {
				if (next)
					return "a member of the recomputed rows reads two of them";
				next = c->args[k];
			} else if (type_numel(&o->type, 1) != 1) {
				return "a member of the recomputed rows reads a tensor from memory";
			}
		}
		if (!next)
			return "the recomputed rows are not one product A B^T of values in memory";
		c = next;
	}
	for (int i = 0; i < g->nins; i++) {
		const Ins *x = g->ins[i];
		if (x->op == OP_cast && x->args[0] == y && x->type.dt == DT_BF16) {
			if (at->yround >= 0)
				return "two roundings of the recomputed probabilities";
			at->yround = i;
			at->ymask |= (uint64_t)1 << i;
		}
	}
	return NULL;
}

bool sched_attn_in_y(const SchedAttn *at, int i)
{
	return i < 64 && (at->ymask >> i & 1);
}

const char *sched_attention(const FuseGroup *g, SchedAttn *at)
{
	memset(at, 0, sizeof *at);
	at->ycast = at->ymm = at->yrow = at->yround = -1;
	int mm = -1, row = -1, last = -1;
	const Ins *y = NULL; /* softmax_grad's y in memory: the products Y^T C may come anywhere */
	for (int i = 0; i < g->nins; i++)
		if (g->ins[i]->op == OP_softmax_grad)
			y = g->ins[i]->args[0];
	int yi = y ? sched_member(g, y) : -1;
	if (yi >= 0 && float_cast(y) && sched_member(g, sched_src(y->args[0])) < 0) { /* widened from bf16 */
		at->ycast = yi;
		y = y->args[0];
	} else if (yi >= 0 && y->op == OP_softmax && y->attr[0].i == y->type.rank - 1) { /* made here */
		const char *why = attention_y(g, y, at);
		if (why)
			return why;
	}
	const Ins *yr = at->yround >= 0 ? g->ins[at->yround] : y; /* what the products Y^T C read */
	for (int i = 0; i < g->nins; i++) {
		const Ins *x = g->ins[i];
		if (sched_is_free(x) || i == at->ycast || sched_attn_in_y(at, i))
			continue;
		if (x->op == OP_matmul && y && (x->args[0] == y || x->args[0] == yr) && x->attr[0].i && !x->attr[1].i) {
			if (sched_member(g, sched_src(x->args[1])) >= 0)
				return "a product of softmax_grad's y does not read memory as its right operand";
			if (at->nprod == (int)(sizeof at->prod / sizeof *at->prod))
				return "more than 8 products read the rows";
			at->reads_y[at->nprod] = true;
			at->prod[at->nprod++] = i;
			continue;
		}
		if (mm < 0) {
			if (x->op != OP_matmul || x->attr[0].i || !x->attr[1].i || sched_member(g, sched_src(x->args[0])) >= 0 ||
			    sched_member(g, sched_src(x->args[1])) >= 0)
				return "the rows are not one product A B^T of values in memory";
			mm = last = i;
			continue;
		}
		const Ins *chain = g->ins[last];
		if (x->op == OP_matmul && row >= 0) {
			if (x->args[0] != chain || x->attr[1].i || sched_member(g, sched_src(x->args[1])) >= 0)
				return "a product does not read the rows as its left operand and memory as its right";
			if (at->nprod == (int)(sizeof at->prod / sizeof *at->prod))
				return "more than 8 products read the rows";
			at->prod[at->nprod++] = i;
			continue;
		}
		bool rows_read = false;
		for (int q = 0; q < at->nprod; q++)
			rows_read |= !at->reads_y[q];
		if (rows_read)
			return "a member other than a product follows the products";
		if (x->op == OP_softmax || x->op == OP_softmax_grad) {
			if (row >= 0)
				return "two row ops";
			if (x->args[x->op == OP_softmax ? 0 : 1] != chain)
				return "the row op does not read the rows";
			bool widened = at->ycast >= 0 && x->args[0] == g->ins[at->ycast];
			bool made = at->yrow >= 0 && x->args[0] == g->ins[at->yrow];
			if (x->op == OP_softmax_grad && ((!widened && !made && sched_member(g, sched_src(x->args[0])) >= 0) ||
			                                 !type_same_dims(&x->args[0]->type, &chain->type)))
				return "softmax_grad's y is not a value in memory of the rows' shape";
			row = last = i;
			continue;
		}
		if (op_info(x->op)->kind != KIND_ELEMWISE || (x->op == OP_cast && !float_cast(x)) ||
		    !dtype_is_float(x->type.dt) || !type_same_dims(&x->type, &chain->type))
			return "a member is neither a product, the row op nor elementwise over the rows";
		bool reads = false;
		for (int k = 0; k < x->nargs; k++) {
			if (x->args[k] == chain)
				reads = true;
			else if (type_numel(&sched_src(x->args[k])->type, 1) != 1 || sched_member(g, sched_src(x->args[k])) >= 0)
				return "an elementwise member reads a tensor other than the rows";
		}
		if (!reads)
			return "an elementwise member does not read the rows";
		last = i;
	}
	bool rows_read = false;
	for (int q = 0; q < at->nprod; q++)
		rows_read |= !at->reads_y[q];
	if (row < 0 || !rows_read)
		return "no row op, or no product reads its result";
	const Type *r = &g->ins[mm]->type, *a = &g->ins[mm]->args[0]->type;
	at->mm = mm;
	at->row = row;
	at->last = last;
	at->m = r->dim[r->rank - 2];
	at->n = r->dim[r->rank - 1];
	at->d = a->dim[a->rank - 1];
	return NULL;
}

/* The strip form, at sizes the target's attention kernel takes. NULL, or why not. */
static const char *attention_strips(Arena *a, const FuseGroup *g, const LowerOptions *opt)
{
	SchedAttn at;
	const char *why = sched_attention(g, &at);
	if (why || !opt->attention_max_keys)
		return why;
	if (at.n > opt->attention_max_keys)
		return arena_printf(a, "rows of %lld keys: the %s attention kernel takes at most %d", (long long)at.n,
		                    opt->target, opt->attention_max_keys);
	int64_t w = at.d > at.yd ? at.d : at.yd;
	for (int i = 0; i < at.nprod; i++) {
		const Type *t = &g->ins[at.prod[i]]->type;
		w = t->dim[t->rank - 1] > w ? t->dim[t->rank - 1] : w;
	}
	if (w > opt->attention_max_width)
		return arena_printf(a, "products %lld wide: the %s attention kernel takes at most %d", (long long)w,
		                    opt->target, opt->attention_max_width);
	/* the transposed products' tiles, kept in the registers of the kernel's 8 warps */
	int64_t kept = 0, keys = (at.n + 15) / 16;
	for (int i = 0; i < at.nprod; i++) {
		const Ins *x = g->ins[at.prod[i]];
		if (x->attr[0].i)
			kept += (keys * ((x->type.dim[x->type.rank - 1] + 15) / 16) + 7) / 8;
	}
	if (kept > 18)
		return arena_printf(a, "the transposed products keep %lld tiles a warp: the %s attention kernel keeps at most 18",
		                    (long long)kept, opt->target);
	return NULL;
}

/* Can a slice be a view: contiguous, of a value in memory (not a constant), and not a result (read back from its own place)? */
static bool view_ok(const Schedule *s, const Ins *x)
{
	if (!contiguous_slice(x) || sched_src(x->args[0])->op == OP_full)
		return false;
	for (int i = 0; i < s->f->rets.n; i++)
		if (sched_src(s->f->rets.p[i]) == x)
			return false;
	return true;
}

/* ---------- transposes that attention calls read with strides ---------- */

/* Is operand k of u, a member of group gi, one the attention call of gi reads through
 * strides (R's operands, softmax_grad's y, a product's right operand)? */
static bool attention_operand(const Schedule *s, SchedAttn *const *attn, const Ins *u, int k)
{
	int gi = s->fp->group_of[u->id];
	if (gi < 0 || !attn[gi])
		return false;
	const SchedAttn *at = attn[gi];
	const FuseGroup *g = &s->fp->groups[gi];
	if (u == g->ins[at->mm] || (at->ymm >= 0 && u == g->ins[at->ymm]))
		return true;
	if (u == g->ins[at->row])
		return u->op == OP_softmax_grad && k == 0 && at->ycast < 0;
	if (at->ycast >= 0 && u == g->ins[at->ycast])
		return k == 0;
	for (int q = 0; q < at->nprod; q++)
		if (u == g->ins[at->prod[q]])
			return k == 1 || at->reads_y[q];
	return false;
}

/* Is v read only as such operands, directly or through reshapes, and slices that are
 * loops of their own? Marks those slices (views[]). */
static bool attention_reads_only(const Schedule *s, SchedAttn *const *attn, const Ins *v, bool *views, int depth)
{
	const Func *f = s->f;
	for (int r = 0; r < f->rets.n; r++)
		if (sched_src(f->rets.p[r]) == v || f->rets.p[r] == v)
			return false;
	bool any = false;
	for (int i = 0; i < f->body.n && depth < 8; i++) {
		const Ins *u = f->body.p[i];
		for (int k = 0; k < u->nargs; k++) {
			if (u->args[k] != v)
				continue;
			any = true;
			if (u->op == OP_reshape || u->op == OP_slice) {
				int gi = s->fp->group_of[u->id];
				if (u->op == OP_slice && (gi < 0 || s->fp->groups[gi].kind != FUSE_LOOP || s->fp->groups[gi].nins != 1))
					return false;
				if (!attention_reads_only(s, attn, u, views, depth + 1))
					return false;
				if (u->op == OP_slice)
					views[u->id] = true;
				continue;
			}
			if (!attention_operand(s, attn, u, k))
				return false;
		}
	}
	return any;
}

/* Why an ATTENTION group is not one call on the target; NULL: it is. */
static const char *attention_why(Arena *a, const Schedule *s, const FuseGroup *grp, const LowerOptions *opt)
{
	const char *why = !opt->attention ? arena_printf(a, "the %s target has no attention kernel", opt->target)
	                  : attention_blocks(s, grp);
	return why || !opt->attention_max_keys ? why : attention_strips(a, grp, opt);
}

/* Before the calls: each transpose that is a loop of its own and that only attention
 * calls read (through reshapes and slices) becomes a view, with those slices, where every
 * operand it reaches is strided over memory (sched_strided). */
bool sched_store_strided(const Schedule *s, const Ins *x, SchedStrided *o)
{
	const Ins *t = s->store_as[x->id], *u = t ? t->args[0] : NULL;
	SchedStrided ts, us;
	if (!t || !sched_strided(s, t, &ts))
		return false;
	us = ts; /* u, the transposed value, over t's bytes */
	us.rank = u->type.rank;
	for (int i = 0; i < t->type.rank; i++) {
		int64_t j = t->attr[0].v[i];
		us.dim[j] = ts.dim[i];
		us.stride_n[j] = ts.stride_n[i];
		us.stride_b[j] = ts.stride_b[i];
	}
	if (u->op != OP_concat)
		return reshape_strides(&us, &x->type, o);
	int axis = (int)u->attr[0].i;
	int64_t at = 0;
	for (int k = 0; k < u->nargs; k++) {
		const Ins *p = u->args[k];
		if (sched_src(p) == x) {
			us.offset_n += at * us.stride_n[axis];
			us.offset_b += at * us.stride_b[axis];
			us.dim[axis] = p->type.dim[axis];
			return reshape_strides(&us, &x->type, o);
		}
		at += p->type.dim[axis];
	}
	return false;
}

/* The one instruction that reads x (NULL: none, several, or x is returned). */
static const Ins *one_reader(const Func *f, const Ins *x)
{
	const Ins *u = NULL;
	for (int i = 0; i < f->body.n; i++)
		for (int k = 0; k < f->body.p[i]->nargs; k++)
			if (f->body.p[i]->args[k] == x) {
				if (u)
					return NULL;
				u = f->body.p[i];
			}
	for (int r = 0; r < f->rets.n; r++)
		if (f->rets.p[r] == x)
			return NULL;
	return u;
}

static void attention_views(Arena *a, Schedule *s, const LowerOptions *opt)
{
	const FusePlan *fp = s->fp;
	/* by group: its strip form when it is an attention call, else NULL */
	SchedAttn **attn = arena_alloc(a, sizeof *attn * (size_t)(fp->ngroups + 1));
	for (int gi = 0; gi < fp->ngroups; gi++) {
		const FuseGroup *g = &fp->groups[gi];
		attn[gi] = NULL;
		if (g->kind != FUSE_ATTENTION || attention_why(a, s, g, opt))
			continue;
		attn[gi] = arena_alloc(a, sizeof *attn[gi]);
		CHECK(!sched_attention(g, attn[gi]));
	}
	int nid = s->f->next_id + 1;
	bool *views = arena_alloc(a, sizeof *views * (size_t)nid);
	for (int gi = 0; gi < fp->ngroups; gi++) {
		const FuseGroup *g = &fp->groups[gi];
		if (g->kind != FUSE_LOOP || g->nins != 1 || g->ins[0]->op != OP_transpose)
			continue;
		const Ins *x = g->ins[0];
		memset(views, 0, sizeof *views * (size_t)nid);
		if (!attention_reads_only(s, attn, x, views, 0))
			continue;
		bool *was = arena_alloc(a, sizeof *was * (size_t)nid);
		memcpy(was, s->view, sizeof *was * (size_t)nid);
		views[x->id] = true;
		for (int i = 0; i < nid; i++)
			s->view[i] |= views[i];
		/* every attention operand now reads through strides */
		bool ok = true;
		for (int gj = 0; gj < fp->ngroups && ok; gj++) {
			const FuseGroup *h = &fp->groups[gj];
			for (int i = 0; attn[gj] && i < h->nins && ok; i++)
				for (int k = 0; k < h->ins[i]->nargs && ok; k++) {
					SchedStrided st;
					if (attention_operand(s, attn, h->ins[i], k) && sched_mem(s, h->ins[i]->args[k]) != sched_src(h->ins[i]->args[k]))
						ok = sched_strided(s, h->ins[i]->args[k], &st);
				}
		}
		if (!ok) {
			memcpy(s->view, was, sizeof *was * (size_t)nid);
			continue;
		}
		for (int i = 0; i < nid; i++)
			s->nviews += views[i] && !was[i];
	}
	/* products whose one reader is a transpose keeping the last axis last, or a concat (as
	 * a piece, maybe through a reshape) that such a transpose reads, the two a loop of
	 * their own whose every piece an attention call makes: written as the transpose */
	for (int gi = 0; gi < fp->ngroups; gi++) {
		for (int q = 0; attn[gi] && q < attn[gi]->nprod; q++) {
			const Ins *x = fp->groups[gi].ins[attn[gi]->prod[q]], *t = one_reader(s->f, x), *c = NULL;
			if (t && t->op == OP_reshape)
				t = one_reader(s->f, t);
			if (t && t->op == OP_concat) {
				c = t;
				t = one_reader(s->f, c);
			}
			if (!t || t->op != OP_transpose || t->attr[0].v[t->type.rank - 1] != t->type.rank - 1)
				continue;
			int gt = fp->group_of[t->id];
			if (gt < 0 || fp->groups[gt].kind != FUSE_LOOP || (c && fp->group_of[c->id] != gt))
				continue;
			int work = 0;
			for (int i = 0; i < fp->groups[gt].nins; i++)
				work += !sched_is_free(fp->groups[gt].ins[i]);
			if (work != (c ? 2 : 1))
				continue;
			bool pieces = true; /* every piece a product of this call */
			for (int k = 0; c && k < c->nargs; k++) {
				const Ins *p = sched_src(c->args[k]);
				pieces &= fp->group_of[p->id] == gi && p->op == OP_matmul && one_reader(s->f, p) &&
				          (p == c->args[k] || one_reader(s->f, c->args[k]) == c);
			}
			if (!pieces)
				continue;
			for (int k = 0; c && k < c->nargs; k++)
				s->store_as[sched_src(c->args[k])->id] = t;
			s->store_as[x->id] = t;
		}
	}
}

/* An attention call's members, and the transposes it writes in its products' place. */
static SchedCall attention_call_of(Arena *a, const Schedule *s, const FuseGroup *grp)
{
	SchedCall c = {.kind = SCHED_ATTN, .g = grp, .lo = 0, .hi = grp->nins};
	c.mem = arena_alloc(a, sizeof *c.mem * (size_t)(3 * grp->nins + 1));
	for (int i = 0; i < grp->nins; i++)
		c.mem[c.nmem++] = grp->ins[i];
	for (int i = 0; i < grp->nins; i++) {
		const Ins *t = s->store_as[grp->ins[i]->id];
		bool dup = false;
		for (int j = grp->nins; j < c.nmem; j++)
			dup |= c.mem[j] == t;
		if (!t || dup)
			continue;
		if (t->args[0]->op == OP_concat) /* the pieces' concat, computed by no one else */
			c.mem[c.nmem++] = t->args[0];
		c.mem[c.nmem++] = t;
	}
	return c;
}

static bool written_by_attention(const Schedule *s, const FuseGroup *g)
{
	for (int i = 0; i < g->nins; i++) {
		const Ins *t = g->ins[i];
		if (t->op == OP_transpose)
			return s->store_as[sched_src(t->args[0]->op == OP_concat ? t->args[0]->args[0] : t->args[0])->id] == t;
	}
	return false;
}

static void build_calls(Arena *a, Schedule *s, const LowerOptions *opt)
{
	const FusePlan *fp = s->fp;
	if (opt->attention_views)
		attention_views(a, s, opt);
	for (int gi = 0; gi < fp->ngroups; gi++) {
		const FuseGroup *grp = &fp->groups[gi];
		switch (grp->kind) {
		case FUSE_ALIAS:
		case FUSE_CONST: break;
		case FUSE_SINGLE:
			if (grp->ins[0]->op == OP_full)
				s->filled[grp->ins[0]->id] = true;
			add_call(a, s, (SchedCall){.kind = SCHED_RUNTIME, .g = grp, .ins = grp->ins[0], .lo = 0, .hi = 0});
			break;
		case FUSE_LOOP:
			if ((grp->nins == 1 && s->view[grp->ins[0]->id]) || written_by_attention(s, grp))
				break; /* attention_views */
			if (grp->nins == 1 && opt->slice_views && view_ok(s, grp->ins[0])) {
				s->view[grp->ins[0]->id] = true;
				s->nviews++;
				break;
			}
			if (grp->nins == 1 && !reads_const(s, grp->ins[0]))
				add_call(a, s, (SchedCall){.kind = SCHED_RUNTIME, .g = grp, .ins = grp->ins[0], .lo = 0, .hi = 0});
			else
				add_call(a, s, (SchedCall){.kind = SCHED_LOOP, .g = grp, .ins = NULL, .lo = 0, .hi = grp->nins});
			break;
		case FUSE_MULTI: add_call(a, s, (SchedCall){.kind = SCHED_MULTI, .g = grp, .ins = NULL, .lo = 0, .hi = grp->nparts}); break;
		case FUSE_MATMUL:
			if (accumulates(grp) && opt->accumulate) {
				add_call(a, s, (SchedCall){.kind = SCHED_ACCUM, .g = grp, .ins = grp->ins[0], .lo = 0, .hi = 0});
				break;
			}
			split_group(a, s, grp, opt);
			break;
		case FUSE_ATTENTION: {
			const char *why = attention_why(a, s, grp, opt);
			if (!why) {
				add_call(a, s, attention_call_of(a, s, grp));
				break;
			}
			note_split(a, s, grp, why);
			split_group(a, s, grp, opt);
			break;
		}
		case FUSE_REDUCE: split_group(a, s, grp, opt); break;
		case FUSE__N: BUG("fusion kind");
		}
	}
}

int sched_members(const SchedCall *c, const Ins ***out)
{
	if (c->mem) {
		*out = c->mem;
		return c->nmem;
	}
	if (c->kind == SCHED_RUNTIME) {
		*out = (const Ins **)&c->ins;
		return 1;
	}
	if (c->kind == SCHED_LOOP || c->kind == SCHED_ROW) {
		*out = (const Ins **)c->g->ins + c->lo;
		return c->hi - c->lo;
	}
	*out = (const Ins **)c->g->ins;
	return c->g->nins;
}

void sched_inline(const Schedule *s, const SchedCall *c, bool *inl)
{
	const FuseGroup *grp = c->g;
	for (int i = c->hi - 1; i >= c->lo; i--) {
		const Ins *x = grp->ins[i];
		inl[i] = false;
		if (s->need[x->id] || x->op == OP_store)
			continue;
		bool any = false, all = true;
		for (int j = i + 1; j < c->hi; j++) {
			const Ins *u = grp->ins[j];
			for (int k = 0; k < u->nargs; k++)
				if (sched_src(u->args[k]) == x) {
					any = true;
					all &= u->op == OP_concat || inl[j];
				}
		}
		inl[i] = any && all;
	}
}

/* Does a runtime kernel of this op allow its output over an input of the same shape? */
static bool runtime_inplace(const Ins *ins)
{
	return op_info(ins->op)->kind == KIND_ELEMWISE && ins->op != OP_cast;
}

/* Which values each call writes to memory, and the memory steps. */
static void plan_memory(Arena *a, Schedule *s)
{
	const Func *f = s->f;
	for (int k = 0; k < s->calls.n; k++) {
		const SchedCall *c = &s->calls.p[k];
		const Ins **mem;
		int n = sched_members(c, &mem);
		if (c->kind == SCHED_RUNTIME && memplan_needs_buffer(c->ins))
			s->need[c->ins->id] = true;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < mem[i]->nargs; j++) {
				const Ins *x = sched_mem(s, mem[i]->args[j]);
				if (!sched_is_free(x) || s->filled[x->id])
					if (s->call_of[x->id] != k && s->call_of[x->id] >= 0)
						s->need[x->id] = true;
			}
	}
	for (int i = 0; i < f->rets.n; i++)
		s->need[sched_mem(s, f->rets.p[i])->id] = true;
	s->nsteps = s->calls.n + 1;
	s->steps = arena_alloc(a, sizeof *s->steps * (size_t)(s->nsteps + 1));
	MemStep *s0 = &s->steps[0];
	s0->defs = arena_alloc(a, sizeof *s0->defs * (size_t)(f->body.n + 1));
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->op == OP_scalar)
			s0->defs[s0->ndefs++] = f->body.p[i];
	for (int k = 0; k < s->calls.n; k++) {
		const SchedCall *c = &s->calls.p[k];
		MemStep *st = &s->steps[k + 1];
		const Ins **mem;
		int n = sched_members(c, &mem), cap = 0;
		for (int i = 0; i < n; i++)
			cap += mem[i]->nargs + 1;
		st->defs = arena_alloc(a, sizeof *st->defs * (size_t)(n + 1));
		st->uses = arena_alloc(a, sizeof *st->uses * (size_t)(cap + 1));
		for (int i = 0; i < n; i++) {
			if (s->need[mem[i]->id] && s->call_of[mem[i]->id] == k)
				st->defs[st->ndefs++] = mem[i];
			for (int j = 0; j < mem[i]->nargs; j++) {
				const Ins *x = sched_mem(s, mem[i]->args[j]);
				if (s->need[x->id] || x->op == OP_scalar)
					st->uses[st->nuses++] = x;
			}
		}
		st->inplace = arena_alloc(a, sizeof *st->inplace * (size_t)(2 * (st->ndefs * st->nuses + cap) + 2));
		if (c->kind == SCHED_RUNTIME && runtime_inplace(c->ins)) {
			for (int j = 0; j < c->ins->nargs; j++) {
				const Ins *x = sched_src(c->ins->args[j]);
				if (x != sched_mem(s, x)) /* through a view: not where the output is written */
					continue;
				if (s->need[x->id] && x->op != OP_scalar && type_eq(&c->ins->args[j]->type, &c->ins->type) &&
				    x->type.dt == c->ins->type.dt) {
					st->inplace[2 * st->ninplace] = c->ins;
					st->inplace[2 * st->ninplace++ + 1] = x;
				}
			}
		}
		bool concat = false; /* members a concat reads are computed where it reads them: not in place */
		for (int i = 0; c->kind == SCHED_LOOP && i < n; i++)
			concat |= mem[i]->op == OP_concat;
		if (c->kind != SCHED_LOOP || concat)
			continue;
		const FuseGroup *grp = c->g;
		for (int d = 0; d < st->ndefs; d++) {
			const Ins *o = st->defs[d];
			int oi = c->lo;
			while (grp->ins[oi] != o)
				oi++;
			SchedLin w = sched_lin(&grp->map[oi], &o->type);
			for (int u = 0; u < st->nuses; u++) {
				const Ins *in = st->uses[u];
				if (in->op == OP_scalar || in->type.dt != o->type.dt || type_numel(&in->type, 1) != type_numel(&o->type, 1))
					continue;
				bool same = true, seen = false;
				for (int i = c->lo; i < c->hi && same; i++)
					for (int j = 0; j < grp->ins[i]->nargs && same; j++) {
						if (sched_mem(s, grp->ins[i]->args[j]) != in)
							continue;
						if (sched_src(grp->ins[i]->args[j]) != in) { /* through a view, at an offset */
							same = false;
							seen = true;
							continue;
						}
						FuseMap rm;
						SchedLin r;
						/* read where o is written, and before it is (members run in order) */
						same = i <= oi && fuse_read_map(grp, i, j, &rm) &&
						       (r = sched_lin(&rm, &in->type), sched_lin_eq(&r, &w));
						seen = true;
					}
				if (same && seen) {
					st->inplace[2 * st->ninplace] = o;
					st->inplace[2 * st->ninplace++ + 1] = in;
				}
			}
		}
	}
}

Schedule *lower_func(Arena *a, const Func *f, const LowerOptions *opt, int64_t batch, int float_bytes, bool naive,
                     Diag *d)
{
	const FusePlan *fp = fuse_plan(a, f, d);
	if (!fp)
		return NULL;
	Schedule *s = arena_alloc(a, sizeof *s);
	memset(s, 0, sizeof *s);
	int nid = f->next_id + 1;
	s->f = f;
	s->fp = fp;
	s->call_of = arena_alloc(a, sizeof *s->call_of * (size_t)nid);
	for (int i = 0; i < nid; i++)
		s->call_of[i] = -1;
	s->need = arena_alloc(a, sizeof *s->need * (size_t)nid);
	s->filled = arena_alloc(a, sizeof *s->filled * (size_t)nid);
	s->view = arena_alloc(a, sizeof *s->view * (size_t)nid);
	memset(s->view, 0, sizeof *s->view * (size_t)nid);
	s->store_as = arena_alloc(a, sizeof *s->store_as * (size_t)nid);
	memset(s->store_as, 0, sizeof *s->store_as * (size_t)nid);
	memset(s->need, 0, sizeof *s->need * (size_t)nid);
	memset(s->filled, 0, sizeof *s->filled * (size_t)nid);
	build_calls(a, s, opt);
	plan_memory(a, s);
	s->plan = memplan_steps(a, f, s->steps, s->nsteps, batch, float_bytes, naive);
	return s;
}

void lower_print(Buf *b, const Schedule *s, const char *target)
{
	buf_printf(b, "@%s on the %s target: %d calls, %d views; activations %lld bytes (lower bound %lld)\n",
	           s->f->name, target, s->calls.n, s->nviews, (long long)s->plan->size, (long long)s->plan->lower_bound);
	for (int k = 0; k < s->calls.n; k++) {
		const SchedCall *c = &s->calls.p[k];
		const Ins **mem;
		int n = sched_members(c, &mem);
		buf_printf(b, "  %4d %-9s", k, sched_kind_name(c->kind));
		if (c->g)
			buf_printf(b, " kernel %d", c->g->id);
		buf_puts(b, ":");
		for (int i = 0; i < n && i < 8; i++)
			buf_printf(b, " %%%d %s", mem[i]->id, op_info(mem[i]->op)->name);
		if (n > 8)
			buf_printf(b, " ... (%d ops)", n);
		bool any = false;
		for (int i = 0; i < n; i++)
			if (s->need[mem[i]->id] && s->call_of[mem[i]->id] == k) {
				buf_printf(b, "%s%%%d@%lld", any ? " " : "  -> ", mem[i]->id, (long long)s->plan->offset[mem[i]->id]);
				any = true;
			}
		buf_putc(b, '\n');
	}
	for (int i = 0; i < s->splits.n; i++)
		buf_printf(b, "  kernel %d (%s) split: %s\n", s->splits.p[i].g->id, fuse_kind_name(s->splits.p[i].g->kind),
		           s->splits.p[i].why);
}
