/* fuse.c: groups a function's instructions into kernels.
 *
 * Requires: a verified function (any stage; the training step after optim is the user).
 * Guarantees (fuse_func): a partition of the instructions into groups, each a kernel a
 *   backend emits as one unit, or a view (ALIAS) or constant (CONST) that needs none:
 *   - every group can run at one point of the schedule: right after the groups it reads
 *     (not before its first member's place), and before every group that reads one of
 *     its results; ordered by those points the groups are a valid schedule, and reads of
 *     optimizer state come before the kernel that stores into the same slot;
 *   - in the loops of a group (LOOP, MULTI, the prologue and epilogue of REDUCE, the
 *     epilogue of MATMUL, the rows of ATTENTION) every member is computed exactly once
 *     per point of the iteration space, at coordinates that are affine in the loop's (a
 *     FuseMap), and a member written to memory is written whole;
 *   - a value that a kernel other than its own reads, or the function returns, is one of
 *     its group's outputs (materialised); all others live only inside their kernel.
 *   fuse_apply writes the groups into the IR (kernel=N, each kernel's members adjacent)
 *   and fuse_plan reads them back, with the maps, so a backend needs only the IR.
 * Invalidates: nothing in the IR but the order of instructions (fuse_apply), which stays
 *   a valid schedule; memory plans made before it.
 *
 * The rule (producer -> consumer fusion, as TVM's FuseOps and XLA's instruction fusion,
 * from the op kinds of ir/ops.def, never from patterns of a model):
 *   - ELEMWISE ops, stores and the injective ops that move data by an affine map
 *     (transpose, expand, slice, concat) are loop ops; reshapes are views of their
 *     operand's buffer and `full`s constants, both read through by the loops;
 *   - MATMUL ops and the reductions (REDUCE: sums, softmax, layernorm and their
 *     gradients) anchor a group: at most one per group; gather, scatter_add, argsort,
 *     randperm, argmax and cross-entropy are opaque and stay alone;
 *   - consumers are visited in schedule order, and each operand's group is merged into
 *     the consumer's when the merged group keeps every guarantee above: a loop producer
 *     joins a loop consumer over the same iteration space (a producer read at other
 *     coordinates, or broadcast, would be computed twice); a product takes elementwise
 *     consumers over its result as its epilogue (bias, GELU, residual; never a prologue:
 *     BLAS reads operands from memory); a reduction takes the loops that make its
 *     operands as its prologue and, for the row ops whose result has its input's shape,
 *     elementwise consumers as its epilogue. When every reader of the producer is in
 *     the consumer's group, the group post-dominates it (TVM's rule); a producer may also
 *     keep readers outside (multi-output fusion: a forward activation the backward
 *     reads is written once, by the kernel that computes it), and then the merge stands
 *     only if those readers can still run after the whole group.
 *   - then a product feeding a row softmax (or its gradient) along its last axis whose
 *     result feeds products batched over the same leading axes joins them into one
 *     ATTENTION group (scores, softmax, weighted sum; or their backward), which the
 *     backends run per batch element without the T x T matrix going to memory;
 *   - a backward instruction that recomputes a forward one (passes/remat.c's clones) never
 *     shares a kernel with a forward instruction, which would compute it in the forward and
 *     keep it; a loop of them joins a backward kernel that reads the same values over the
 *     same space (GELU's output in its gradient's epilogue), and a recomputed softmax joins
 *     its gradient's ATTENTION group with its rows' product, which then makes the
 *     probabilities itself;
 *   - last, loop groups that read only parameters, optimizer state and constants and
 *     have the same ops (AdamW's update of each parameter) become one MULTI group.
 * Every producer -> consumer pair that was considered and not merged is recorded with
 * its reason (FuseWhy).
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

const FuseOptions fuse_all = {.epilogues = true, .reductions = true, .attention = true, .multi_tensor = true};

const char *fuse_kind_name(FuseKind k)
{
	static const char *const names[FUSE__N] = {"alias", "const", "single", "loop", "reduce", "matmul", "attention",
	                                           "multi"};
	return (unsigned)k < FUSE__N ? names[k] : "?";
}

const char *fuse_why_name(FuseWhy w)
{
	static const char *const names[WHY__N] = {
		"different iteration space", "would compute the producer twice or in part",
		"a kernel between them reads the producer", "reduction or product boundary", "operand of a matrix product",
		"opaque op", "switched off", "a recomputation stays out of the forward"};
	return (unsigned)w < WHY__N ? names[w] : "?";
}

/* ---------- roles ---------- */

typedef enum Role { R_FREE, R_LOOP, R_MM, R_RED, R_OPAQUE } Role;

static Role role(const Ins *ins)
{
	switch (ins->op) {
	case OP_arg:
	case OP_param:
	case OP_state:
	case OP_scalar:
	case OP_reshape:
	case OP_full: return R_FREE;
	case OP_store:
	case OP_transpose:
	case OP_expand:
	case OP_slice:
	case OP_concat: return R_LOOP;
	case OP_sum:
	case OP_mean:
	case OP_max:
	case OP_softmax:
	case OP_log_softmax:
	case OP_softmax_grad:
	case OP_log_softmax_grad:
	case OP_layernorm:
	case OP_layernorm_grad: return R_RED;
	default: break;
	}
	switch (op_info(ins->op)->kind) {
	case KIND_ELEMWISE: return R_LOOP;
	case KIND_MATMUL: return R_MM;
	default: return R_OPAQUE;
	}
}

bool fuse_is_loop_op(const Ins *x)
{
	return role(x) == R_LOOP;
}

bool fuse_is_reduction(const Ins *x)
{
	return role(x) == R_RED;
}

/* Reductions whose result has their input's shape: they take an epilogue. */
static bool is_row_op(const Ins *ins)
{
	return ins->op == OP_softmax || ins->op == OP_log_softmax || ins->op == OP_softmax_grad ||
	       ins->op == OP_log_softmax_grad || ins->op == OP_layernorm || ins->op == OP_layernorm_grad;
}

static bool is_anchor(const Ins *ins)
{
	Role r = role(ins);
	return r == R_MM || r == R_RED;
}

/* The value a reshape chain views. */
static Ins *source(Ins *x)
{
	while (x->op == OP_reshape)
		x = x->args[0];
	return x;
}

/* ---------- affine maps ---------- */

static bool is_b(int64_t d)
{
	return d == DIM_B;
}

static void idx_add_term(FuseIndex *x, int dim, int64_t coef)
{
	if (coef == 0)
		return;
	int k = 0;
	while (k < x->n && x->dim[k] < dim)
		k++;
	if (k < x->n && x->dim[k] == dim) {
		x->coef[k] += coef;
		if (x->coef[k] == 0) {
			memmove(&x->dim[k], &x->dim[k + 1], sizeof *x->dim * (size_t)(x->n - k - 1));
			memmove(&x->coef[k], &x->coef[k + 1], sizeof *x->coef * (size_t)(x->n - k - 1));
			x->n--;
		}
		return;
	}
	CHECK(x->n < IR_MAX_RANK);
	memmove(&x->dim[k + 1], &x->dim[k], sizeof *x->dim * (size_t)(x->n - k));
	memmove(&x->coef[k + 1], &x->coef[k], sizeof *x->coef * (size_t)(x->n - k));
	x->dim[k] = dim;
	x->coef[k] = coef;
	x->n++;
}

static bool map_eq(const FuseMap *a, const FuseMap *b)
{
	if (a->rank != b->rank)
		return false;
	for (int i = 0; i < a->rank; i++) {
		const FuseIndex *x = &a->at[i], *y = &b->at[i];
		if (x->off != y->off || x->n != y->n)
			return false;
		for (int k = 0; k < x->n; k++)
			if (x->dim[k] != y->dim[k] || x->coef[k] != y->coef[k])
				return false;
	}
	return true;
}

static void map_identity(FuseMap *m, const Type *space)
{
	memset(m, 0, sizeof *m);
	m->rank = space->rank;
	for (int i = 0; i < space->rank; i++)
		idx_add_term(&m->at[i], i, 1);
}

/* A failed conversion may say how to refine the space: split dimension `dim` into
 * [size / factor, factor]. */
typedef struct Split {
	int dim;
	int64_t factor;
} Split;

/* m, the coordinates of a value of shape u, as coordinates of the same elements viewed
 * as shape w (a reshape: the same row-major order). Fails when a loop dimension would
 * straddle two of w's axes; *split then says how to refine the space, or dim -1. */
static bool convert(const FuseMap *m, const Type *u, const Type *w, const Type *space, FuseMap *out, Split *split)
{
	split->dim = -1;
	memset(out, 0, sizeof *out);
	out->rank = w->rank;
	int i = 0, j = 0;
	for (;;) {
		while (i < u->rank && u->dim[i] == 1)
			i++;
		while (j < w->rank && w->dim[j] == 1)
			j++;
		if (i == u->rank && j == w->rank)
			return true;
		if (i == u->rank || j == w->rank)
			return false;
		if (is_b(u->dim[i]) || is_b(w->dim[j])) {
			if (!is_b(u->dim[i]) || !is_b(w->dim[j]))
				return false;
			out->at[j++] = m->at[i++];
			continue;
		}
		int i0 = i, j0 = j;
		int64_t pu = u->dim[i++], pw = w->dim[j++];
		while (pu != pw) {
			if (pu < pw) {
				if (i == u->rank || is_b(u->dim[i]))
					return false;
				pu *= u->dim[i++];
			} else {
				if (j == w->rank || is_b(w->dim[j]))
					return false;
				pw *= w->dim[j++];
			}
		}
		if (i - i0 == 1 && j - j0 == 1) {
			out->at[j0] = m->at[i0];
			continue;
		}
		/* The block's linear position, then its digits in w's axes. */
		FuseIndex lin = {0};
		int64_t inner = 1;
		for (int k = i - 1; k >= i0; k--) {
			lin.off += m->at[k].off * inner;
			for (int t = 0; t < m->at[k].n; t++)
				idx_add_term(&lin, m->at[k].dim[t], m->at[k].coef[t] * inner);
			inner *= u->dim[k];
		}
		int64_t innerw[IR_MAX_RANK], top[IR_MAX_RANK];
		inner = 1;
		for (int k = j - 1; k >= j0; k--) {
			innerw[k] = inner;
			inner *= w->dim[k];
		}
		if (lin.off < 0 || lin.off >= pw)
			return false;
		for (int k = j0; k < j; k++) {
			out->at[k].off = lin.off / innerw[k] % w->dim[k];
			top[k] = out->at[k].off;
		}
		for (int t = 0; t < lin.n; t++) {
			int64_t coef = lin.coef[t], range = space->dim[lin.dim[t]];
			int k = j - 1;
			while (k >= j0 && !(coef >= innerw[k] && coef < innerw[k] * w->dim[k]))
				k--;
			if (k < j0 || coef % innerw[k] || is_b(range) || coef < 0)
				return false;
			int64_t q = coef / innerw[k];
			idx_add_term(&out->at[k], lin.dim[t], q);
			top[k] += q * (range - 1);
			if (q * range > w->dim[k] && w->dim[k] % q == 0 && range % (w->dim[k] / q) == 0 &&
			    range > w->dim[k] / q) {
				split->dim = lin.dim[t];
				split->factor = w->dim[k] / q;
			}
		}
		for (int k = j0; k < j; k++)
			if (top[k] >= w->dim[k])
				return false;
		split->dim = -1;
	}
}

/* The coordinates of operand k of u, given u's. */
static void operand_map(const Ins *u, int k, const FuseMap *mu, FuseMap *out)
{
	const Ins *x = u->args[k];
	memset(out, 0, sizeof *out);
	out->rank = x->type.rank;
	switch (u->op) {
	case OP_transpose:
		for (int i = 0; i < u->type.rank; i++)
			out->at[u->attr[0].v[i]] = mu->at[i];
		return;
	case OP_slice:
		*out = *mu;
		out->at[u->attr[0].i].off += u->attr[1].i;
		return;
	case OP_concat: {
		*out = *mu;
		int64_t off = 0;
		for (int t = 0; t < k; t++)
			off += u->args[t]->type.dim[u->attr[0].i];
		out->at[u->attr[0].i].off -= off;
		return;
	}
	default: /* elementwise and expand: broadcast, aligned on the right */
		for (int i = 0; i < x->type.rank; i++) {
			int ui = i + u->type.rank - x->type.rank;
			if (!(x->type.dim[i] == 1 && u->type.dim[ui] != 1))
				out->at[i] = mu->at[ui];
		}
		return;
	}
}

/* Every loop dimension of more than one element appears in m: the value is computed
 * once per loop point, not once for many. */
static bool full_rank(const FuseMap *m, const Type *space)
{
	bool seen[IR_MAX_RANK] = {0};
	for (int i = 0; i < m->rank; i++)
		for (int t = 0; t < m->at[i].n; t++)
			seen[m->at[i].dim[t]] = true;
	for (int d = 0; d < space->rank; d++)
		if (space->dim[d] != 1 && !seen[d])
			return false;
	return true;
}

/* m visits every element of shape t exactly once. */
static bool bijective(const FuseMap *m, const Type *t, const Type *space)
{
	int uses[IR_MAX_RANK] = {0};
	for (int i = 0; i < m->rank; i++) {
		const FuseIndex *x = &m->at[i];
		if (x->off != 0)
			return false;
		if (is_b(t->dim[i])) {
			if (x->n != 1 || x->coef[0] != 1 || !is_b(space->dim[x->dim[0]]))
				return false;
			uses[x->dim[0]]++;
			continue;
		}
		int64_t run = 1;
		bool used[IR_MAX_RANK] = {0};
		for (int done = 0; done < x->n; done++) { /* terms by increasing coefficient */
			int best = -1;
			for (int k = 0; k < x->n; k++)
				if (!used[k] && (best < 0 || x->coef[k] < x->coef[best]))
					best = k;
			used[best] = true;
			if (x->coef[best] != run || is_b(space->dim[x->dim[best]]))
				return false;
			run *= space->dim[x->dim[best]];
			uses[x->dim[best]]++;
		}
		if (run != t->dim[i])
			return false;
	}
	for (int d = 0; d < space->rank; d++)
		if (space->dim[d] != 1 && uses[d] != 1)
			return false;
	return true;
}

/* ---------- the analysis ---------- */

typedef VEC(int) IntVec;

typedef struct Grp {
	VEC(Ins *) mem; /* by position */
	double t;       /* where it runs: after its inputs (at least its first member's position) */
	int anchors;
	bool dead;
} Grp;

typedef struct Fuser {
	Arena *a;
	const Func *f;
	const FuseOptions *opt;
	int *pos;       /* by id: position in the body */
	IntVec *users;  /* by id: the instructions that read it, through reshapes */
	IntVec *after;  /* by id: stores that must run after it (it reads the slot's old value) */
	IntVec *before; /* by id, for stores: the readers of the slot's old value */
	bool *returned; /* by id: it, or a reshape of it, is a result */
	bool *fwd;      /* by id, when deciding (fuse_func): a result depends on it (the forward) */
	bool *recomp;   /* by id, when deciding: a backward instruction that computes what a
	                 * forward one does (a clone of passes/remat.c), see recomputations() */
	int *grp;       /* by id: its group, -1 for free values */
	VEC(Grp) g;
	VEC(FuseReject) rejects;
	/* the candidate group of one check */
	int *mark;      /* by id: == stamp when a member */
	int *cidx;      /* by id: index among the candidate's members */
	int stamp;
	Ins **cand;
	int ncand;
	FuseMap *map;   /* by candidate index */
	Type space;
	double cand_t;  /* where the candidate would run */
} Fuser;

/* A group runs this much after the last group it reads. */
#define AFTER 1e-6

static bool member(const Fuser *fz, const Ins *x)
{
	return fz->mark[x->id] == fz->stamp;
}

/* Is candidate member v read by anything outside the candidate, or returned? */
static bool read_outside(const Fuser *fz, const Ins *v)
{
	if (fz->returned[v->id])
		return true;
	const IntVec *u = &fz->users[v->id];
	for (int k = 0; k < u->n; k++)
		if (fz->mark[u->p[k]] != fz->stamp)
			return true;
	return false;
}

/* The map of a view `head` (of head's shape) converted to the shape of the value its
 * reshape chain views. */
static bool through_chain(const Ins *head, const FuseMap *m, const Type *space, FuseMap *out, Split *split)
{
	const Ins *src = head;
	while (src->op == OP_reshape)
		src = src->args[0];
	split->dim = -1;
	if (src == head) {
		*out = *m;
		return true;
	}
	return convert(m, &head->type, &src->type, space, out, split);
}

/* Row ops over the same rows: an ATTENTION kernel that recomputes the probabilities holds
 * the softmax and its gradient. */
static bool same_rows(const Ins *x, const Ins *row)
{
	return row && is_row_op(x) && is_row_op(row) && type_same_dims(&x->args[0]->type, &row->args[0]->type);
}

/* The coordinates at which member u reads its operand a (through reshapes, in the
 * source's shape). */
static bool read_map(const Fuser *fz, const Ins *u, int a, const Ins *row, FuseMap *out, Split *split)
{
	FuseMap om;
	if (u == row || (role(u) == R_RED && same_rows(u, row)))
		map_identity(&om, &fz->space);
	else
		operand_map(u, a, &fz->map[fz->cidx[u->id]], &om);
	return through_chain(u->args[a], &om, &fz->space, out, split);
}

/* The loop of the candidate: its iteration space and each member's coordinates. The
 * anchors (products, reductions) are computed by their own code and read at the
 * identity; a row reduction reads its operands at the identity. Returns -1, or why the
 * candidate cannot be one kernel. */
static int compute_maps(Fuser *fz)
{
	Ins **mem = fz->cand;
	int n = fz->ncand;
	const Ins *row = NULL, *mm = NULL;
	int nanchor = 0;
	bool rows_apart = false; /* reductions other than row ops over one space */
	for (int i = 0; i < n; i++) {
		if (role(mem[i]) == R_RED) {
			rows_apart |= row && !same_rows(mem[i], row);
			row = mem[i], nanchor++;
		} else if (role(mem[i]) == R_MM) {
			mm = mem[i], nanchor++;
		}
	}
	if (nanchor > 1 && (!row || !is_row_op(row) || rows_apart))
		return WHY_REDUCTION;
	/* The space: a reduction's input, a product's result, the last loop member's shape. */
	Type space = row ? row->args[0]->type : mm ? mm->type : mem[n - 1]->type;
	for (int attempt = 0; attempt < 2 * IR_MAX_RANK; attempt++) {
		fz->space = space;
		Split split = {-1, 0};
		int why = -1;
		for (int i = n - 1; i >= 0 && why < 0; i--) {
			Ins *v = mem[i];
			FuseMap req, got;
			bool have = false;
			const IntVec *us = &fz->users[v->id];
			for (int k = 0; k < us->n && why < 0; k++) {
				if (fz->mark[us->p[k]] != fz->stamp)
					continue;
				const Ins *u = mem[fz->cidx[us->p[k]]];
				for (int a = 0; a < u->nargs && why < 0; a++) {
					if (source(u->args[a]) != v)
						continue;
					if (role(u) == R_MM) {
						if (nanchor == 1)
							why = WHY_MATMUL; /* a prologue: the BLAS reads operands from memory */
						continue;             /* ATTENTION: the product reads the block whole */
					}
					if (role(u) == R_RED && u != row && !same_rows(u, row)) {
						why = WHY_REDUCTION;
						break;
					}
					if (!read_map(fz, u, a, row, &got, &split)) {
						why = WHY_SPACE;
						break;
					}
					if (have && !map_eq(&req, &got))
						why = WHY_DUPLICATE;
					req = got;
					have = true;
				}
			}
			if (why >= 0)
				break;
			if (is_anchor(v)) {
				fz->map[i] = (FuseMap){.rank = -1};
				if (!have)
					continue;
				/* its loop readers read it whole, where it is (an epilogue) */
				FuseMap id0, ident;
				map_identity(&id0, &space);
				if ((role(v) == R_RED && !is_row_op(v)) || !convert(&id0, &space, &v->type, &space, &ident, &split) ||
				    !map_eq(&ident, &req))
					why = WHY_SPACE;
				continue;
			}
			if (!have) {
				FuseMap id0;
				map_identity(&id0, &space);
				if (!convert(&id0, &space, &v->type, &space, &req, &split)) {
					why = WHY_SPACE;
					break;
				}
			}
			if (!full_rank(&req, &space)) {
				why = WHY_SPACE; /* broadcast: it would be computed once per element of the larger side */
				break;
			}
			if ((read_outside(fz, v) || v->op == OP_store) && !bijective(&req, &v->type, &space)) {
				why = WHY_DUPLICATE; /* needed whole elsewhere, computed in part here */
				break;
			}
			fz->map[i] = req;
			/* its reads of values from outside: affine too */
			for (int a = 0; a < v->nargs && why < 0; a++) {
				if (member(fz, source(v->args[a])))
					continue;
				FuseMap om;
				operand_map(v, a, &fz->map[i], &om);
				if (!through_chain(v->args[a], &om, &space, &got, &split))
					why = WHY_SPACE;
			}
		}
		if (why < 0)
			return -1;
		/* Refine the space where a reshape splits one of its axes, and try again. */
		if (why != WHY_SPACE || split.dim < 0 || space.rank == IR_MAX_RANK)
			return why;
		int d = split.dim;
		memmove(&space.dim[d + 1], &space.dim[d], sizeof *space.dim * (size_t)(space.rank - d));
		space.rank++;
		space.dim[d] /= split.factor;
		space.dim[d + 1] = split.factor;
	}
	return WHY_SPACE;
}

/* Makes list[0..n) the candidate, by position. */
static void set_candidate_list(Fuser *fz, Ins *const *list, int n)
{
	fz->stamp++;
	fz->ncand = n;
	if (list != fz->cand)
		memcpy(fz->cand, list, sizeof *list * (size_t)n);
	for (int i = 1; i < n; i++) { /* insertion sort: the pieces are sorted already */
		Ins *x = fz->cand[i];
		int j = i;
		for (; j > 0 && fz->pos[fz->cand[j - 1]->id] > fz->pos[x->id]; j--)
			fz->cand[j] = fz->cand[j - 1];
		fz->cand[j] = x;
	}
	for (int i = 0; i < n; i++) {
		fz->mark[fz->cand[i]->id] = fz->stamp;
		fz->cidx[fz->cand[i]->id] = i;
	}
}

/* Makes the union of groups gs[0..n) the candidate. */
static void set_candidate(Fuser *fz, const int *gs, int n)
{
	int k = 0;
	for (int q = 0; q < n; q++) {
		const Grp *g = &fz->g.p[gs[q]];
		for (int i = 0; i < g->mem.n; i++)
			fz->cand[k++] = g->mem.p[i];
	}
	set_candidate_list(fz, fz->cand, k);
}

/* Where the candidate runs: right after the groups it reads (and, for stores, the
 * readers of the slots' old values), not before its first member's place. It is a
 * valid kernel if every reader of its members, and every store that must follow one of
 * its reads, runs later. */
static bool order_ok(Fuser *fz)
{
	double t = fz->pos[fz->cand[0]->id];
	for (int i = 0; i < fz->ncand; i++) {
		const Ins *x = fz->cand[i];
		for (int a = 0; a < x->nargs; a++) {
			const Ins *s = source(x->args[a]);
			if (!member(fz, s) && fz->grp[s->id] >= 0 && fz->g.p[fz->grp[s->id]].t + AFTER > t)
				t = fz->g.p[fz->grp[s->id]].t + AFTER;
		}
		const IntVec *b = &fz->before[x->id];
		for (int k = 0; k < b->n; k++)
			if (fz->mark[b->p[k]] != fz->stamp && fz->grp[b->p[k]] >= 0 && fz->g.p[fz->grp[b->p[k]]].t + AFTER > t)
				t = fz->g.p[fz->grp[b->p[k]]].t + AFTER;
	}
	fz->cand_t = t;
	for (int i = 0; i < fz->ncand; i++) {
		const Ins *x = fz->cand[i];
		for (int pass = 0; pass < 2; pass++) {
			const IntVec *us = pass ? &fz->after[x->id] : &fz->users[x->id];
			for (int k = 0; k < us->n; k++) {
				int u = us->p[k];
				if (fz->mark[u] == fz->stamp)
					continue;
				int gu = fz->grp[u];
				if (gu >= 0 && fz->g.p[gu].t <= t)
					return false;
			}
		}
	}
	return true;
}

/* Can the groups gs[0..n) be one kernel? -1, or why not. */
static int check(Fuser *fz, const int *gs, int n)
{
	set_candidate(fz, gs, n);
	for (int i = 0; i < fz->ncand; i++)
		if (role(fz->cand[i]) == R_OPAQUE)
			return WHY_OPAQUE;
	bool fwd = false, recomp = false;
	for (int i = 0; fz->recomp && i < fz->ncand; i++) {
		fwd |= fz->fwd[fz->cand[i]->id];
		recomp |= fz->recomp[fz->cand[i]->id];
	}
	if (fwd && recomp)
		return WHY_RECOMPUTE;
	if (!order_ok(fz))
		return WHY_CYCLE;
	return compute_maps(fz);
}

static void merge(Fuser *fz, const int *gs, int n)
{
	Grp *to = &fz->g.p[gs[0]];
	to->t = fz->cand_t; /* of the check that allowed it */
	for (int k = 1; k < n; k++) {
		Grp *from = &fz->g.p[gs[k]];
		for (int i = 0; i < from->mem.n; i++)
			vec_push(fz->a, to->mem, from->mem.p[i]);
		to->anchors += from->anchors;
		from->dead = true;
		from->mem.n = 0;
	}
	/* members by position */
	for (int i = 1; i < to->mem.n; i++) {
		Ins *x = to->mem.p[i];
		int j = i;
		for (; j > 0 && fz->pos[to->mem.p[j - 1]->id] > fz->pos[x->id]; j--)
			to->mem.p[j] = to->mem.p[j - 1];
		to->mem.p[j] = x;
	}
	for (int i = 0; i < to->mem.n; i++)
		fz->grp[to->mem.p[i]->id] = gs[0];
}

static void reject(Fuser *fz, const Ins *p, const Ins *c, int why)
{
	vec_push(fz->a, fz->rejects, ((FuseReject){p, c, (FuseWhy)why}));
}

/* The greedy producer -> consumer merges, consumers in schedule order. */
static void fuse_pairs(Fuser *fz)
{
	const Func *f = fz->f;
	for (int i = 0; i < f->body.n; i++) {
		Ins *c = f->body.p[i];
		if (fz->grp[c->id] < 0)
			continue;
		for (int a = 0; a < c->nargs; a++) {
			Ins *p = source(c->args[a]);
			if (fz->grp[p->id] < 0)
				continue;
			bool seen = false; /* an operand read twice is one candidate */
			for (int b = 0; b < a && !seen; b++)
				seen = source(c->args[b]) == p;
			int gp = fz->grp[p->id], gc = fz->grp[c->id];
			if (seen || gp == gc)
				continue;
			int why = -1;
			Role rp = role(p), rc = role(c);
			int gs[2] = {gc, gp};
			if (rp == R_OPAQUE || rc == R_OPAQUE)
				why = WHY_OPAQUE;
			else if (rc == R_MM)
				why = WHY_MATMUL;
			else if (fz->g.p[gp].anchors && fz->g.p[gc].anchors)
				why = WHY_REDUCTION;
			else {
				bool mm = false, red = false;
				for (int k = 0; k < 2; k++)
					for (int t = 0; t < fz->g.p[gs[k]].mem.n; t++) {
						mm |= role(fz->g.p[gs[k]].mem.p[t]) == R_MM;
						red |= role(fz->g.p[gs[k]].mem.p[t]) == R_RED;
					}
				if ((mm && !fz->opt->epilogues) || (red && !fz->opt->reductions))
					why = WHY_BACKEND;
				else
					why = check(fz, gs, 2);
			}
			if (why < 0)
				merge(fz, gs, 2);
			else
				reject(fz, p, c, why);
		}
	}
}

/* The group of x when it is a group of one anchor and loop members, else -1. */
static int single_anchor_group(const Fuser *fz, const Ins *x, Role want)
{
	int g = fz->grp[x->id];
	if (g < 0 || fz->g.p[g].anchors != 1)
		return -1;
	for (int i = 0; i < fz->g.p[g].mem.n; i++) {
		const Ins *m = fz->g.p[g].mem.p[i];
		if (is_anchor(m) && role(m) != want)
			return -1;
	}
	return g;
}

static const Ins *anchor_of(const Grp *g)
{
	for (int i = 0; i < g->mem.n; i++)
		if (is_anchor(g->mem.p[i]))
			return g->mem.p[i];
	return NULL;
}

/* Products batched over exactly the leading axes of the rows: one block per batch element. */
static bool batched_like(const Ins *mm, const Type *rows)
{
	if (mm->op != OP_matmul || mm->type.rank != rows->rank)
		return false;
	for (int k = 0; k < 2; k++)
		if (mm->args[k]->type.rank != rows->rank)
			return false;
	for (int i = 0; i < rows->rank - 2; i++)
		if (mm->type.dim[i] != rows->dim[i] || mm->args[0]->type.dim[i] != rows->dim[i] ||
		    mm->args[1]->type.dim[i] != rows->dim[i])
			return false;
	return true;
}

/* gs[0..n) and group gq, a bare product batched like the rows (with y: one of y^T C), if
 * the kernel stays valid: the new count. */
static int join_product(Fuser *fz, int *gs, int n, int gq, const Type *rows, const Ins *y)
{
	if (gq < 0 || fz->g.p[gq].mem.n != 1)
		return n;
	for (int t = 0; t < n; t++)
		if (gs[t] == gq)
			return n;
	const Ins *q = fz->g.p[gq].mem.p[0];
	if (role(q) != R_MM || !batched_like(q, rows) || (y && (q->args[0] != y || !q->attr[0].i || q->attr[1].i)))
		return n;
	gs[n] = gq;
	return check(fz, gs, n + 1) < 0 ? n + 1 : n;
}

/* A recomputed row softmax (passes/remat.c) that a softmax_grad reads, alone in a group of
 * its own with the product that makes its rows: the gradient's kernel takes it. */
static bool recomputed_rows(const Fuser *fz, const Ins *x)
{
	if (!fz->recomp || x->op != OP_softmax || !fz->recomp[x->id] || x->attr[0].i != x->type.rank - 1)
		return false;
	int g = single_anchor_group(fz, x, R_RED);
	if (g < 0 || single_anchor_group(fz, source(x->args[0]), R_MM) < 0)
		return false;
	const IntVec *us = &fz->users[x->id];
	for (int k = 0; k < us->n; k++)
		if (fz->f->body.p[fz->pos[us->p[k]]]->op == OP_softmax_grad)
			return true;
	return false;
}

/* ATTENTION: a product -> a row softmax (or its gradient) along the last axis ->
 * products that read the rows (and, for the gradient, products that read its y
 * transposed), all batched over the same leading axes. */
static void fuse_attention(Fuser *fz)
{
	for (int gi = 0; gi < fz->g.n; gi++) {
		Grp *R = &fz->g.p[gi];
		if (R->dead || R->anchors != 1)
			continue;
		const Ins *r = anchor_of(R);
		if (!r || (r->op != OP_softmax && r->op != OP_softmax_grad) || r->type.rank < 3 ||
		    r->attr[0].i != r->type.rank - 1 || recomputed_rows(fz, r))
			continue;
		int gs[16], n = 0;
		gs[n++] = gi;
		/* the product that makes the rows (for the gradient: dP, its second operand) */
		const Ins *in = source(r->args[r->op == OP_softmax ? 0 : 1]);
		int gm = single_anchor_group(fz, in, R_MM);
		if (gm < 0 || gm == gi || !batched_like(anchor_of(&fz->g.p[gm]), &r->type))
			continue;
		gs[n++] = gm;
		/* the products that read them, bare and batched alike, each if the kernel stays valid */
		int why = fz->opt->attention ? -1 : WHY_BACKEND;
		for (int i = 0; i < R->mem.n && n < 16 && why < 0; i++) {
			const IntVec *us = &fz->users[R->mem.p[i]->id];
			for (int k = 0; k < us->n && n < 16; k++)
				n = join_product(fz, gs, n, fz->grp[us->p[k]], &r->type, NULL);
		}
		/* the gradient's: the products that read its y transposed (attention's P^T dO, the
		 * values' gradient), each if the kernel stays valid */
		const Ins *y = r->op == OP_softmax_grad ? source(r->args[0]) : NULL;
		for (int k = 0; y && why < 0 && n >= 3 && k < fz->users[y->id].n && n < 16; k++)
			n = join_product(fz, gs, n, fz->grp[fz->users[y->id].p[k]], &r->type, r->args[0]);
		/* the gradient's y recomputed (passes/remat.c): its rows' product and softmax too, so
		 * the kernel recomputes the probabilities and they never go to memory */
		int gy = y && recomputed_rows(fz, y) ? fz->grp[y->id] : -1;
		int gym = gy >= 0 ? single_anchor_group(fz, source(y->args[0]), R_MM) : -1;
		bool with_y = why < 0 && n >= 3 && n + 2 <= 16 && gym >= 0 && gym != gm &&
		              batched_like(anchor_of(&fz->g.p[gym]), &r->type);
		bool checked = false; /* the last check was of gs[0..n) as it stands */
		if (with_y) {
			gs[n++] = gy;
			gs[n++] = gym;
			checked = check(fz, gs, n) < 0;
			if (!checked)
				n -= 2; /* the kernel reads them from memory */
		}
		if (why < 0 && !checked)
			why = n < 3 ? WHY_CYCLE : check(fz, gs, n);
		if (why < 0)
			merge(fz, gs, n);
		else
			reject(fz, anchor_of(&fz->g.p[gm]), r, why);
	}
}

static bool attr_eq(const Attr *x, const Attr *y)
{
	return x->i == y->i && (x->f == y->f || (x->f != x->f && y->f != y->f)) && x->g == y->g && x->nv == y->nv &&
	       (x->s == y->s || (x->s && y->s && strcmp(x->s, y->s) == 0)) &&
	       (x->nv == 0 || memcmp(x->v, y->v, sizeof *x->v * (size_t)x->nv) == 0);
}

/* The forward (what the function's results depend on) and the recomputations: backward
 * instructions that compute what a forward instruction does, the same op and attributes
 * over the same operands or their recomputations. A kernel never holds a forward
 * instruction and a recomputation: it would compute the value twice, in the forward, and
 * keep it for the backward, which is what passes/remat.c removed. */
static void recomputations(Fuser *fz)
{
	const Func *f = fz->f;
	size_t n = (size_t)f->next_id + 1;
	fz->fwd = arena_alloc(fz->a, sizeof *fz->fwd * n);
	fz->recomp = arena_alloc(fz->a, sizeof *fz->recomp * n);
	const Ins **same = arena_alloc(fz->a, sizeof *same * n); /* by id: the forward one it recomputes */
	func_mark_forward(f, fz->fwd);
	for (int i = 0; i < f->body.n; i++) {
		const Ins *x = f->body.p[i];
		if (fz->fwd[x->id] || x->nargs == 0)
			continue;
		const Ins *a0 = same[x->args[0]->id] ? same[x->args[0]->id] : x->args[0];
		if (!fz->fwd[a0->id])
			continue;
		/* the forward instructions that read a0, among the users of its source */
		const IntVec *us = &fz->users[source((Ins *)a0)->id];
		for (int j = 0; j < us->n && !same[x->id]; j++) {
			const Ins *y = f->body.p[fz->pos[us->p[j]]];
			if (!fz->fwd[y->id] || y->op != x->op || y->nargs != x->nargs)
				continue;
			bool eq = true;
			for (int k = 0; k < x->nargs && eq; k++)
				eq = (same[x->args[k]->id] ? same[x->args[k]->id] : x->args[k]) == y->args[k];
			for (int k = 0; k < op_info(x->op)->nattrs && eq; k++)
				eq = attr_eq(&x->attr[k], &y->attr[k]);
			if (eq)
				same[x->id] = y;
		}
		if (!same[x->id] && x->op == OP_reshape && a0->op != OP_reshape)
			for (int k = 0; k < f->body.n && !same[x->id]; k++) { /* rare: a view of a recomputation */
				const Ins *y = f->body.p[k];
				if (y->op == OP_reshape && fz->fwd[y->id] && y->args[0] == a0 && type_eq(&y->type, &x->type))
					same[x->id] = y;
			}
		fz->recomp[x->id] = same[x->id] != NULL;
	}
}

/* A loop of recomputations joins a backward kernel that reads one of the same values over
 * the same space: it costs no read of its own there, and runs where the backward needs it
 * (GELU's output in the epilogue that computes GELU's gradient from the same input). */
static void fuse_recomputations(Fuser *fz)
{
	for (int gi = 0; gi < fz->g.n; gi++) {
		const Grp *L = &fz->g.p[gi];
		bool loop = !L->dead && !L->anchors && L->mem.n > 0;
		for (int i = 0; i < L->mem.n && loop; i++)
			loop = fz->recomp[L->mem.p[i]->id] && role(L->mem.p[i]) == R_LOOP;
		for (int i = 0; i < L->mem.n && loop; i++) {
			const Ins *x = L->mem.p[i];
			for (int k = 0; k < x->nargs && loop; k++) {
				const Ins *s = source(x->args[k]);
				const IntVec *us = &fz->users[s->id];
				for (int j = 0; j < us->n && loop && fz->fwd[s->id]; j++) {
					int gu = fz->grp[us->p[j]];
					if (gu < 0 || gu == gi || fz->g.p[gu].dead || fz->fwd[us->p[j]] || fz->recomp[us->p[j]])
						continue;
					int gs[2] = {gu, gi};
					if (check(fz, gs, 2) < 0) {
						merge(fz, gs, 2);
						loop = false; /* done */
					}
				}
			}
		}
	}
}

/* A loop group's shape, for MULTI: its ops and how each reads its operands (another
 * member, a constant, a shared scalar, or the part's own parameter and state). NULL when
 * it reads anything else or is not an identity loop over its own space. */
static char *part_signature(Fuser *fz, int gi)
{
	Grp *g = &fz->g.p[gi];
	if (g->anchors)
		return NULL;
	int gs[1] = {gi};
	if (check(fz, gs, 1) >= 0)
		return NULL;
	Buf b = {0};
	const Param *pp = NULL; /* the parameter all of its state belongs to */
	int64_t n = type_numel(&fz->space, 1);
	for (int i = 0; i < fz->ncand; i++) {
		const Ins *x = fz->cand[i];
		if (type_numel(&x->type, 1) != n || (x->op == OP_store && pp && x->attr[0].g != pp))
			goto no;
		buf_printf(&b, "%s", op_info(x->op)->name);
		if (x->op == OP_store)
			buf_printf(&b, ".%s", x->attr[1].s);
		if (x->op == OP_cast)
			buf_printf(&b, ".%d", (int)x->attr[0].i);
		for (int a = 0; a < x->nargs; a++) {
			const Ins *s = source(x->args[a]);
			int64_t sn = type_numel(&s->type, 1);
			if (member(fz, s)) {
				buf_printf(&b, " m%d", fz->cidx[s->id]);
			} else if (s->op == OP_full && (sn == 1 || sn == n)) {
				buf_printf(&b, " f%.17g:%d", s->attr[2].f, sn == 1);
			} else if (s->op == OP_scalar && sn == 1) {
				buf_printf(&b, " s%d", s->id);
			} else if ((s->op == OP_param || s->op == OP_state) && sn == n && (!pp || s->attr[0].g == pp)) {
				pp = s->attr[0].g;
				buf_printf(&b, " %s.%s", op_info(s->op)->name, s->op == OP_state ? s->attr[1].s : "");
			} else {
				goto no;
			}
		}
		buf_putc(&b, ';');
	}
	char *sig = arena_strdup(fz->a, b.p ? b.p : "");
	buf_free(&b);
	return sig;
no:
	buf_free(&b);
	return NULL;
}

/* MULTI: loop groups of one shape over different tensors become one kernel. */
static void fuse_multi(Fuser *fz)
{
	if (!fz->opt->multi_tensor)
		return;
	int n = fz->g.n;
	char **sig = arena_alloc(fz->a, sizeof *sig * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		if (!fz->g.p[i].dead && fz->g.p[i].mem.n)
			sig[i] = part_signature(fz, i);
	int *gs = arena_alloc(fz->a, sizeof *gs * (size_t)(n + 1));
	/* Rounds: a class that must run after another (stores into the slots another reads)
	 * can join only once that one has. */
	for (int round = 0; round < 4; round++) {
	bool merged = false;
	for (int i = 0; i < n; i++)
		if (!fz->g.p[i].dead && fz->g.p[i].mem.n && round)
			sig[i] = part_signature(fz, i);
	for (int i = 0; i < n; i++) {
		if (!sig[i])
			continue;
		int k = 0;
		gs[k++] = i;
		for (int j = i + 1; j < n; j++)
			if (sig[j] && strcmp(sig[i], sig[j]) == 0) {
				gs[k++] = j;
				sig[j] = NULL;
			}
		sig[i] = NULL;
		if (k < 2)
			continue;
		/* as one group: every reader of a part runs after the last part */
		set_candidate(fz, gs, k);
		if (order_ok(fz)) {
			merge(fz, gs, k);
			merged = true;
		}
	}
	if (!merged)
		break;
	}
}

/* ---------- plans ---------- */

static Fuser *fuser_new(Arena *a, const Func *f, const FuseOptions *opt)
{
	Fuser *fz = arena_alloc(a, sizeof *fz);
	int nid = f->next_id + 1, n = f->body.n + 1;
	*fz = (Fuser){.a = a, .f = f, .opt = opt};
	fz->pos = arena_alloc(a, sizeof *fz->pos * (size_t)nid);
	fz->users = arena_alloc(a, sizeof *fz->users * (size_t)nid);
	fz->after = arena_alloc(a, sizeof *fz->after * (size_t)nid);
	fz->before = arena_alloc(a, sizeof *fz->before * (size_t)nid);
	fz->returned = arena_alloc(a, sizeof *fz->returned * (size_t)nid);
	fz->grp = arena_alloc(a, sizeof *fz->grp * (size_t)nid);
	fz->mark = arena_alloc(a, sizeof *fz->mark * (size_t)nid);
	fz->cidx = arena_alloc(a, sizeof *fz->cidx * (size_t)nid);
	fz->cand = arena_alloc(a, sizeof *fz->cand * (size_t)n);
	fz->map = arena_alloc(a, sizeof *fz->map * (size_t)n);
	for (int i = 0; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		fz->pos[x->id] = i;
		fz->grp[x->id] = -1;
		if (x->op == OP_reshape)
			continue;
		for (int k = 0; k < x->nargs; k++) {
			IntVec *u = &fz->users[source(x->args[k])->id];
			if (u->n == 0 || u->p[u->n - 1] != x->id)
				vec_push(a, *u, x->id);
		}
	}
	for (int i = 0; i < f->rets.n; i++) {
		fz->returned[f->rets.p[i]->id] = true;
		fz->returned[source(f->rets.p[i])->id] = true;
	}
	/* A kernel that reads a slot of optimizer state runs before the stores into it:
	 * the stores of each parameter, then each read of its state against them. */
	int maxp = 0;
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->op == OP_store && f->body.p[i]->attr[0].g->index > maxp)
			maxp = f->body.p[i]->attr[0].g->index;
	IntVec *stores = arena_alloc(a, sizeof *stores * (size_t)(maxp + 1));
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->op == OP_store)
			vec_push(a, stores[f->body.p[i]->attr[0].g->index], i);
	for (int i = 0; i < f->body.n; i++) {
		const Ins *s = f->body.p[i];
		if (s->op != OP_state || s->attr[0].g->index > maxp)
			continue;
		const IntVec *sp = &stores[s->attr[0].g->index];
		for (int j = 0; j < sp->n; j++) {
			const Ins *st = f->body.p[sp->p[j]];
			if (strcmp(st->attr[1].s, s->attr[1].s) != 0)
				continue;
			const IntVec *us = &fz->users[s->id];
			for (int k = 0; k < us->n; k++)
				if (us->p[k] != st->id) {
					vec_push(a, fz->after[us->p[k]], st->id);
					vec_push(a, fz->before[st->id], us->p[k]);
				}
		}
	}
	return fz;
}

static void add_group(Fuser *fz, Ins **mem, int n)
{
	Grp g = {0};
	for (int i = 0; i < n; i++) {
		vec_push(fz->a, g.mem, mem[i]);
		g.anchors += is_anchor(mem[i]);
		if (fz->pos[mem[i]->id] > g.t)
			g.t = fz->pos[mem[i]->id]; /* the schedule it comes in */
		fz->grp[mem[i]->id] = fz->g.n;
	}
	vec_push(fz->a, fz->g, g);
}

/* Does a full need memory of its own (a fill kernel): something other than a loop
 * reads it, or it is a result? */
static bool full_needs_kernel(const Fuser *fz, const Ins *x)
{
	if (fz->returned[x->id])
		return true;
	const IntVec *us = &fz->users[x->id];
	for (int k = 0; k < us->n; k++)
		if (role(fz->f->body.p[fz->pos[us->p[k]]]) != R_LOOP)
			return true;
	return false;
}

typedef struct Order {
	double t;
	int first, g; /* g: a group, or -1 - position of a free value */
} Order;

static int order_cmp(const void *a, const void *b)
{
	const Order *x = a, *y = b;
	return x->t != y->t ? (x->t > y->t) - (x->t < y->t) : (x->first > y->first) - (x->first < y->first);
}

/* The members' connected components (through reshapes), each by position: *parts gets
 * the start of each, and mem is reordered part by part. */
static int components(Fuser *fz, Ins **mem, int n, int **parts)
{
	int *root = arena_alloc(fz->a, sizeof *root * (size_t)n);
	for (int i = 0; i < n; i++)
		root[i] = i;
	for (int i = 0; i < n; i++)
		for (int a = 0; a < mem[i]->nargs; a++) {
			const Ins *s = source(mem[i]->args[a]);
			if (!member(fz, s))
				continue;
			int x = fz->cidx[s->id], y = i;
			while (root[x] != x)
				x = root[x];
			while (root[y] != y)
				y = root[y];
			if (x != y)
				root[x > y ? x : y] = x < y ? x : y;
		}
	int np = 0;
	int *start = arena_alloc(fz->a, sizeof *start * (size_t)(n + 1));
	Ins **sorted = arena_alloc(fz->a, sizeof *sorted * (size_t)n);
	int k = 0;
	for (int r = 0; r < n; r++) {
		int rr = r;
		while (root[rr] != rr)
			rr = root[rr];
		if (rr != r)
			continue;
		start[np++] = k;
		for (int i = 0; i < n; i++) {
			int x = i;
			while (root[x] != x)
				x = root[x];
			if (x == r)
				sorted[k++] = mem[i];
		}
	}
	start[np] = n;
	memcpy(mem, sorted, sizeof *mem * (size_t)n);
	*parts = start;
	return np;
}

/* The plan of fz's groups. Returns NULL, after a message, if a group is not a kernel. */
static FusePlan *build_plan(Fuser *fz, Diag *d)
{
	const Func *f = fz->f;
	Arena *a = fz->a;
	FusePlan *p = arena_alloc(a, sizeof *p);
	p->f = f;
	p->group_of = arena_alloc(a, sizeof *p->group_of * (size_t)(f->next_id + 1));
	for (int i = 0; i <= f->next_id; i++)
		p->group_of[i] = -1;
	Order *ord = arena_alloc(a, sizeof *ord * (size_t)(fz->g.n + f->body.n + 1));
	int n = 0;
	for (int i = 0; i < fz->g.n; i++)
		if (!fz->g.p[i].dead && fz->g.p[i].mem.n)
			ord[n++] = (Order){fz->g.p[i].t, fz->pos[fz->g.p[i].mem.p[0]->id], i};
	for (int i = 0; i < f->body.n; i++) {
		Op op = f->body.p[i]->op;
		if (op == OP_reshape || op == OP_full) { /* just before its first reader */
			double t = i;
			const IntVec *us = &fz->users[source(f->body.p[i])->id];
			for (int k = 0; k < us->n; k++)
				if (fz->grp[us->p[k]] >= 0 && fz->g.p[fz->grp[us->p[k]]].t - AFTER / 2 < t)
					t = fz->g.p[fz->grp[us->p[k]]].t - AFTER / 2;
			ord[n++] = (Order){t, i, -1 - i};
		}
		else
			p->unfused += fz->grp[f->body.p[i]->id] >= 0;
		p->unfused += op == OP_full;
	}
	qsort(ord, (size_t)n, sizeof *ord, order_cmp);
	p->groups = arena_alloc(a, sizeof *p->groups * (size_t)(n + 1));
	for (int k = 0; k < n; k++) {
		FuseGroup *g = &p->groups[p->ngroups];
		*g = (FuseGroup){.space.rank = -1};
		if (ord[k].g < 0) {
			Ins *x = f->body.p[-1 - ord[k].g];
			g->ins = arena_alloc(a, sizeof *g->ins);
			g->ins[0] = x;
			g->nins = 1;
			g->root = x;
			if (x->op == OP_reshape) {
				g->kind = FUSE_ALIAS;
				g->inputs = arena_alloc(a, sizeof *g->inputs);
				g->inputs[0] = source(x);
				g->ninputs = 1;
			} else {
				g->kind = full_needs_kernel(fz, x) ? FUSE_SINGLE : FUSE_CONST;
				if (g->kind == FUSE_SINGLE) {
					g->outs = g->ins;
					g->nouts = 1;
				}
			}
		} else {
			Grp *gr = &fz->g.p[ord[k].g];
			g->nins = gr->mem.n;
			g->ins = arena_alloc(a, sizeof *g->ins * (size_t)g->nins);
			memcpy(g->ins, gr->mem.p, sizeof *g->ins * (size_t)g->nins);
			set_candidate_list(fz, g->ins, g->nins);
			memcpy(g->ins, fz->cand, sizeof *g->ins * (size_t)g->nins);
			int anchors = gr->anchors;
			bool opaque = false;
			for (int i = 0; i < g->nins; i++)
				opaque |= role(g->ins[i]) == R_OPAQUE;
			/* a loop op alone that no loop can compute (a slice of a reshape that is not
			 * affine in any space of its own, [B,6,8] of [B,384,8] of [B,3,32,32]): the
			 * runtime's kernel, which reads its operand whole */
			if (!opaque && anchors == 0 && g->nins == 1 && compute_maps(fz) >= 0)
				opaque = g->no_loop = true;
			set_candidate_list(fz, g->ins, g->nins);
			if (opaque || (anchors == 1 && g->nins == 1)) {
				g->kind = FUSE_SINGLE;
				g->root = g->ins[0];
				if (g->nins != 1) {
					const Ins *o = g->ins[0];
					for (int i = 0; i < g->nins; i++)
						if (role(g->ins[i]) == R_OPAQUE || is_anchor(g->ins[i]))
							o = g->ins[i];
					diag_error(d, o->loc, "kernel of %%%d: '%s' cannot be fused with others", o->id,
					           op_info(o->op)->name);
					return NULL;
				}
			} else {
				if (anchors == 0) {
					g->nparts = components(fz, g->ins, g->nins, &g->part);
					g->kind = g->nparts > 1 ? FUSE_MULTI : FUSE_LOOP;
					if (g->nparts == 1)
						g->nparts = 0;
				} else if (anchors == 1) {
					g->kind = role(anchor_of(gr)) == R_MM ? FUSE_MATMUL : FUSE_REDUCE;
				} else {
					g->kind = FUSE_ATTENTION;
				}
				g->map = arena_alloc(a, sizeof *g->map * (size_t)g->nins);
				int np = g->nparts ? g->nparts : 1;
				if (g->nparts)
					g->part_space = arena_alloc(a, sizeof *g->part_space * (size_t)np);
				for (int q = 0; q < np; q++) {
					int lo = g->nparts ? g->part[q] : 0, hi = g->nparts ? g->part[q + 1] : g->nins;
					set_candidate_list(fz, g->ins + lo, hi - lo);
					/* outside-readers are judged against the whole group */
					for (int i = 0; i < g->nins; i++)
						fz->mark[g->ins[i]->id] = fz->stamp;
					int why = compute_maps(fz);
					if (why >= 0) {
						diag_error(d, g->ins[lo]->loc, "kernel of %%%d cannot be one kernel: %s", g->ins[lo]->id,
						           fuse_why_name((FuseWhy)why));
						return NULL;
					}
					memcpy(g->ins + lo, fz->cand, sizeof *g->ins * (size_t)(hi - lo));
					memcpy(g->map + lo, fz->map, sizeof *g->map * (size_t)(hi - lo));
					if (g->nparts)
						g->part_space[q] = fz->space;
					else
						g->space = fz->space;
				}
				g->root = g->ins[g->nins - 1];
				for (int i = 0; i < g->nins; i++)
					if (g->kind != FUSE_LOOP && g->kind != FUSE_MULTI && is_anchor(g->ins[i]))
						g->root = g->ins[i]; /* the anchor, or ATTENTION's last product */
			}
			/* outputs and inputs, against the whole group */
			set_candidate_list(fz, g->ins, g->nins);
			for (int i = 0; i < g->nins; i++)
				fz->cidx[g->ins[i]->id] = i; /* keep the part order */
			g->outs = arena_alloc(a, sizeof *g->outs * (size_t)g->nins);
			for (int i = 0; i < g->nins; i++)
				if (g->ins[i]->op != OP_store && read_outside(fz, g->ins[i]))
					g->outs[g->nouts++] = g->ins[i];
			int cap = 0;
			for (int i = 0; i < g->nins; i++)
				cap += g->ins[i]->nargs;
			g->inputs = arena_alloc(a, sizeof *g->inputs * (size_t)(cap + 1));
			for (int i = 0; i < g->nins; i++)
				for (int k2 = 0; k2 < g->ins[i]->nargs; k2++) {
					Ins *s = source(g->ins[i]->args[k2]);
					bool dup = member(fz, s);
					for (int t = 0; t < g->ninputs && !dup; t++)
						dup = g->inputs[t] == s;
					if (!dup)
						g->inputs[g->ninputs++] = s;
				}
		}
		if (g->kind != FUSE_ALIAS && g->kind != FUSE_CONST)
			g->id = ++p->kernels;
		for (int i = 0; i < g->nins; i++)
			p->group_of[g->ins[i]->id] = p->ngroups;
		p->ngroups++;
	}
	/* the rejections that stand: a later phase (attention) may have joined the pair */
	p->rejects = arena_alloc(a, sizeof *p->rejects * (size_t)(fz->rejects.n + 1));
	for (int i = 0; i < fz->rejects.n; i++) {
		const FuseReject *r = &fz->rejects.p[i];
		if (p->group_of[r->producer->id] != p->group_of[r->consumer->id])
			p->rejects[p->nrejects++] = *r;
	}
	return p;
}

FusePlan *fuse_func(Arena *a, const Func *f, const FuseOptions *opt)
{
	Fuser *fz = fuser_new(a, f, opt);
	recomputations(fz);
	for (int i = 0; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		if (role(x) != R_FREE)
			add_group(fz, &x, 1);
	}
	fuse_pairs(fz);
	fuse_attention(fz);
	fuse_recomputations(fz);
	fuse_multi(fz);
	Diag d;
	diag_init(&d, a, stderr);
	FusePlan *p = build_plan(fz, &d);
	CHECK(p); /* the analysis makes only kernels */
	return p;
}

FusePlan *fuse_plan(Arena *a, const Func *f, Diag *d)
{
	Fuser *fz = fuser_new(a, f, &fuse_all);
	/* kernel=N: the members of N; unannotated instructions alone */
	int maxk = 0;
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->kernel > maxk)
			maxk = f->body.p[i]->kernel;
	VEC(Ins *) *byk = arena_alloc(a, sizeof *byk * (size_t)(maxk + 1));
	for (int i = 0; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		if (role(x) != R_FREE && x->kernel > 0)
			vec_push(a, byk[x->kernel], x);
	}
	for (int i = 0; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		if (role(x) == R_FREE)
			continue;
		if (x->kernel == 0)
			add_group(fz, &x, 1);
		else if (byk[x->kernel].n) {
			add_group(fz, byk[x->kernel].p, byk[x->kernel].n);
			byk[x->kernel].n = 0;
		}
	}
	/* each group runs at its last member: nothing outside may read a member earlier */
	for (int gi = 0; gi < fz->g.n; gi++) {
		int gs[1] = {gi};
		set_candidate(fz, gs, 1);
		if (!order_ok(fz)) {
			diag_error(d, fz->g.p[gi].mem.p[0]->loc, "kernel of %%%d: a value it makes is read before it runs",
			           fz->g.p[gi].mem.p[0]->id);
			return NULL;
		}
	}
	return build_plan(fz, d);
}

bool fuse_read_map(const FuseGroup *g, int i, int k, FuseMap *out)
{
	const Ins *u = g->ins[i];
	const Type *space = &g->space;
	if (g->nparts) {
		int q = 0;
		while (g->part[q + 1] <= i)
			q++;
		space = &g->part_space[q];
	}
	FuseMap om;
	Split split;
	if (role(u) == R_MM)
		return false;
	if (role(u) == R_RED)
		map_identity(&om, space);
	else
		operand_map(u, k, &g->map[i], &om);
	return through_chain(u->args[k], &om, space, out, &split);
}

/* ---------- into the IR, and the report ---------- */

static void place(Ins *x, bool *placed, Ins **body, int *n)
{
	if (placed[x->id])
		return;
	if (role(x) != R_FREE) /* kernels are placed by their group, in order */
		BUG("%%%d %s is read before its kernel runs", x->id, op_info(x->op)->name);
	for (int k = 0; k < x->nargs; k++)
		place(x->args[k], placed, body, n);
	placed[x->id] = true;
	body[(*n)++] = x;
}

void fuse_apply(Module *m, Func *f, const FusePlan *p)
{
	int n = 0;
	Ins **body = arena_alloc(m->arena, sizeof *body * (size_t)(f->body.n + 1));
	bool *placed = arena_alloc(m->arena, sizeof *placed * (size_t)(f->next_id + 1));
	for (int i = 0; i < f->body.n; i++) {
		Ins *x = f->body.p[i];
		x->kernel = 0;
		/* arguments, parameters (their order is the state_dict's), state and scalars first */
		if (x->op == OP_arg || x->op == OP_param || x->op == OP_state || x->op == OP_scalar) {
			placed[x->id] = true;
			body[n++] = x;
		}
	}
	for (int gi = 0; gi < p->ngroups; gi++) {
		const FuseGroup *g = &p->groups[gi];
		if (g->kind == FUSE_ALIAS || g->kind == FUSE_CONST || role(g->ins[0]) == R_FREE)
			continue;
		/* Free operands first; a view of a member goes after it, inside the kernel's run. */
		int first = -1;
		for (int i = 0; i < g->nins; i++) {
			for (int k = 0; k < g->ins[i]->nargs; k++)
				if (role(g->ins[i]->args[k]) == R_FREE)
					place(g->ins[i]->args[k], placed, body, &n);
			if (first >= 0) /* views and operands between members: inside the run */
				for (; first < n; first++)
					body[first]->kernel = g->id;
			else
				first = n;
			g->ins[i]->kernel = g->id;
			placed[g->ins[i]->id] = true;
			body[n++] = g->ins[i];
		}
	}
	for (int i = 0; i < f->body.n; i++)
		place(f->body.p[i], placed, body, &n);
	CHECK(n == f->body.n);
	memcpy(f->body.p, body, sizeof *body * (size_t)n);
}

bool pass_fuse(Module *m, PassCtx *ctx)
{
	if (ctx->no_fuse)
		return true;
	Arena *scratch = arena_new();
	for (int i = 0; i < m->funcs.n; i++) {
		FusePlan *plan = fuse_func(scratch, m->funcs.p[i], &fuse_all);
		if (ctx->fusion_report) { /* what it decided and why, before the IR changes */
			Buf b = {0};
			fuse_report(&b, plan);
			fwrite(b.p, 1, b.n, ctx->fusion_report);
			buf_free(&b);
		}
		fuse_apply(m, m->funcs.p[i], plan);
	}
	arena_free(scratch);
	return true;
}

/* "file:L1,L2,..." for the members' DSL lines, in order, each once. */
static void dsl_lines(Buf *b, Ins *const *ins, int n)
{
	const char *file = NULL;
	int *lines = malloc(sizeof *lines * (size_t)(n + 1)), nl = 0;
	if (!lines)
		BUG("out of memory");
	for (int i = 0; i < n; i++) {
		if (!ins[i]->loc.file)
			continue;
		if (!file)
			file = ins[i]->loc.file;
		if (strcmp(file, ins[i]->loc.file) != 0)
			continue; /* one model file per function */
		lines[nl++] = ins[i]->loc.line;
	}
	for (int i = 1; i < nl; i++) { /* sort, then print each once */
		int x = lines[i], j = i;
		for (; j > 0 && lines[j - 1] > x; j--)
			lines[j] = lines[j - 1];
		lines[j] = x;
	}
	if (file) {
		buf_printf(b, "%s:", file);
		for (int i = 0; i < nl; i++)
			if (i == 0 || lines[i] != lines[i - 1])
				buf_printf(b, "%s%d", i ? "," : "", lines[i]);
	} else {
		buf_puts(b, "(no location)");
	}
	free(lines);
}

void fuse_report(Buf *b, const FusePlan *p)
{
	int kinds[FUSE__N] = {0}, why[WHY__N] = {0};
	for (int i = 0; i < p->ngroups; i++)
		kinds[p->groups[i].kind]++;
	buf_printf(b, "@%s: %d kernels fused, %d unfused;", p->f->name, p->kernels, p->unfused);
	for (int k = FUSE_SINGLE; k < FUSE__N; k++)
		if (kinds[k])
			buf_printf(b, " %d %s", kinds[k], fuse_kind_name((FuseKind)k));
	buf_printf(b, "; %d reshape views, %d constants inlined\n", kinds[FUSE_ALIAS], kinds[FUSE_CONST]);
	for (int i = 0; i < p->ngroups; i++) {
		const FuseGroup *g = &p->groups[i];
		if (g->kind == FUSE_ALIAS || g->kind == FUSE_CONST)
			continue;
		buf_printf(b, "  kernel %d %s", g->id, fuse_kind_name(g->kind));
		if (g->nparts)
			buf_printf(b, " of %d parts", g->nparts);
		if (g->space.rank >= 0 && g->nins > 1 && !g->nparts) {
			buf_puts(b, " over ");
			type_print(b, &g->space);
		}
		buf_puts(b, ":");
		int shown = g->nparts ? g->part[1] : g->nins;
		for (int k = 0; k < shown; k++)
			buf_printf(b, "%s %%%d %s", k ? "," : "", g->ins[k]->id, op_info(g->ins[k]->op)->name);
		if (g->nparts)
			buf_puts(b, ", ...");
		buf_puts(b, "  ");
		dsl_lines(b, g->ins, g->nins);
		buf_putc(b, '\n');
	}
	for (int i = 0; i < p->nrejects; i++)
		why[p->rejects[i].why]++;
	buf_printf(b, "  rejected %d:", p->nrejects);
	for (int w = 0; w < WHY__N; w++)
		if (why[w])
			buf_printf(b, " %d %s;", why[w], fuse_why_name((FuseWhy)w));
	buf_putc(b, '\n');
	for (int i = 0; i < p->nrejects; i++) {
		const FuseReject *r = &p->rejects[i];
		buf_printf(b, "    %%%d %s -> %%%d %s: %s  ", r->producer->id, op_info(r->producer->op)->name, r->consumer->id,
		           op_info(r->consumer->op)->name, fuse_why_name(r->why));
		Ins *pair[2] = {(Ins *)r->producer, (Ins *)r->consumer};
		dsl_lines(b, pair, 2);
		buf_putc(b, '\n');
	}
}
