/* c.c: the C target. One readable C file per module: the parameter, model and recipe
 * tables the runtime's driver reads (runtime/train/trainer.h), and for each recipe its step
 * (forward, backward, gradient accumulation) and update (AdamW) functions, one kernel
 * call of runtime/kernels/cpu.h per IR instruction, with the DSL location it came from.
 *
 * Requires: a verified module after the optim pass.
 * Values live where memplan.c puts them in the activation slab, planned at the recipe's
 * micro-batch; arguments, parameters and optimizer state are pointers into their slabs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cgen.h"

void cgen_fail(CGen *g, const Ins *ins, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(g->d, "error", ins ? ins->loc : (Loc){0}, fmt, ap);
	va_end(ap);
	g->failed = true;
}

const char *c_name(CGen *g, const char *name)
{
	char *s = arena_strdup(g->a, name);
	for (char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			*p = '_';
	return s;
}

const char *c_double(CGen *g, double x)
{
	if (x != x)
		return "NAN";
	if (x == 1.0 / 0.0 || x == -1.0 / 0.0)
		return x > 0 ? "INFINITY" : "-INFINITY";
	Buf b = {0};
	fmt_double(&b, x);
	const char *r = arena_strdup(g->a, b.p);
	buf_free(&b);
	return r;
}

const char *c_str(CGen *g, const char *s)
{
	Buf b = {0};
	buf_putc(&b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c == '?') /* '?': no trigraph (??/ is a backslash in C11) */
			buf_printf(&b, "\\%c", c);
		else if (c < ' ' || c >= 127)
			buf_printf(&b, "\\%03o", c);
		else
			buf_putc(&b, (char)c);
	}
	buf_putc(&b, '"');
	const char *r = arena_strdup(g->a, b.p);
	buf_free(&b);
	return r;
}

const char *c_comment(CGen *g, const char *s)
{
	char *r = arena_strdup(g->a, s);
	for (char *p = r; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p >= 127 || (p[0] == '*' && p[1] == '/'))
			*p = '?';
	return r;
}

/* "n + b * B" */
static const char *nb(CGen *g, int64_t n, int64_t b)
{
	if (b == 0)
		return arena_printf(g->a, "%lld", (long long)n);
	if (n == 0)
		return arena_printf(g->a, "%lld * B", (long long)b);
	return arena_printf(g->a, "(%lld + %lld * B)", (long long)n, (long long)b);
}

const char *cgen_lin_text(CGen *g, const SchedLin *l, int rank)
{
	Buf b = {0};
	for (int d = 0; d < rank; d++)
		if (l->n[d] == 1 && l->b[d] == 0)
			buf_printf(&b, "%sc%d", b.n ? " + " : "", d);
		else if (l->n[d] || l->b[d])
			buf_printf(&b, "%sc%d * %s", b.n ? " + " : "", d, nb(g, l->n[d], l->b[d]));
	if (l->n[IR_MAX_RANK] || l->b[IR_MAX_RANK] || !b.n)
		buf_printf(&b, "%s%s", b.n ? " + " : "", nb(g, l->n[IR_MAX_RANK], l->b[IR_MAX_RANK]));
	const char *s = arena_strdup(g->a, b.p);
	buf_free(&b);
	return s;
}

const char *cgen_coord_text(CGen *g, const FuseIndex *x)
{
	Buf b = {0};
	for (int k = 0; k < x->n; k++)
		buf_printf(&b, "%sc%d * %lld", b.n ? " + " : "", x->dim[k], (long long)x->coef[k]);
	if (x->off || !b.n)
		buf_printf(&b, "%s%lld", b.n ? " + " : "", (long long)x->off);
	const char *s = arena_strdup(g->a, b.p);
	buf_free(&b);
	return s;
}

void cgen_plan_fits(CGen *g, const Func *f, int64_t batch)
{
	if (g->plan->too_big)
		cgen_fail(g, NULL,
		          "@%s: the activations at batch %lld need more than " MEMPLAN_MAX_TEXT
		          ", more than any machine holds: lower the recipe's batch or micro_batch",
		          f->name, (long long)batch);
}

/* ---------- values ---------- */

/* The C type of x's elements in memory; a bf16 value is computed as rt_real (temp_type). */
static const char *ctype(const Ins *x)
{
	return x->type.dt == DT_I32 ? "int32_t" : x->type.dt == DT_BF16 ? "rt_bf16" : "rt_real";
}

static const char *temp_type(const Ins *x)
{
	return x->type.dt == DT_I32 ? "int32_t" : "rt_real";
}

/* A C array literal of n dimensions or attribute values (B, the batch, by its name), or
 * NULL for none. */
const char *int_array(CGen *g, const int64_t *v, int n)
{
	if (n == 0)
		return "NULL";
	Buf b = {0};
	buf_puts(&b, "(const int64_t[]){");
	for (int i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, ", ");
		if (v[i] == DIM_B)
			buf_putc(&b, 'B');
		else
			buf_printf(&b, "%lld", (long long)v[i]);
	}
	buf_putc(&b, '}');
	const char *s = arena_strdup(g->a, b.p);
	buf_free(&b);
	return s;
}

static const char *dims(CGen *g, const Type *t)
{
	return int_array(g, t->dim, t->rank);
}

const char *numel(CGen *g, const Type *t)
{
	int64_t n = type_numel(t, 1);
	bool batch = false;
	for (int i = 0; i < t->rank; i++)
		batch |= t->dim[i] == DIM_B;
	return batch ? arena_printf(g->a, "B * %lld", (long long)n) : arena_printf(g->a, "%lld", (long long)n);
}

const char *v(CGen *g, const Ins *x)
{
	if (g->names && g->names[x->id])
		return g->names[x->id];
	return arena_printf(g->a, "v%d", x->id);
}

/* The C names of f's values in the host code both targets write: a parameter's slot by its
 * state_dict name (encoder_norm_weight, and _grad, _m, _v for its state), a host scalar by
 * its name (lr), every other value by its op and id (gelu12); a name that comes twice gets
 * its id too. Kernels keep vN: their text is shared between calls (kernel_once). */
void cgen_name_values(CGen *g, const Func *f)
{
	g->names = arena_alloc(g->a, sizeof *g->names * (size_t)(f->next_id + 1));
	const char **seen = arena_alloc(g->a, sizeof *seen * (size_t)(f->body.n + 1));
	int nseen = 0;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *x = f->body.p[i];
		const char *n;
		if (x->op == OP_param || x->op == OP_state) {
			n = c_name(g, x->attr[0].g->name);
			if (x->op == OP_state)
				n = arena_printf(g->a, "%s_%s", n, x->attr[1].s);
		} else if (x->op == OP_scalar) {
			n = c_name(g, x->attr[0].s); /* the host scalar it holds: lr, batch */
		} else {
			n = arena_printf(g->a, "%s%d", op_info(x->op)->name, x->id);
		}
		for (int k = 0; k < nseen; k++)
			if (strcmp(seen[k], n) == 0) {
				n = arena_printf(g->a, "%s_%d", n, x->id);
				break;
			}
		seen[nseen++] = n;
		g->names[x->id] = n;
	}
}

/* "rank, dims" of a value. */
static const char *shape(CGen *g, const Ins *x)
{
	return arena_printf(g->a, "%d, %s", x->type.rank, dims(g, &x->type));
}

static const char *esize(const Ins *x)
{
	return x->type.dt == DT_I32 ? "sizeof(int32_t)" : x->type.dt == DT_BF16 ? "sizeof(rt_bf16)" : "sizeof(rt_real)";
}

/* ---------- instructions ---------- */

/* The C target's own state: the kernel call sites, for the table the profiler reads. */
typedef struct CTarget {
	Buf sites;   /* the entries of prof_sites[] */
	int nsites;
	Buf out_sites; /* out_sites[]: the op and DSL location of each output --detect-anomaly checks */
	int nout_sites;
	Buf checks;    /* the checks of the call being emitted: "OUT(x, n, k) || ..." */
	Buf kernels; /* the generated kernels: the optimised part of the file */
	Buf protos;  /* their prototypes */
	bool *declared; /* by id, in the function being emitted: its C pointer is declared */
	bool update;    /* emitting an update: its multi-tensor loops keep to st's shard (--zero 1) */
	/* the loop kernels emitted so far, by their text with canonical names: one is emitted
	 * once and called wherever the same loop comes again (the blocks of a model, its recipes) */
	const char **kernel_text, **kernel_name;
	uint64_t *kernel_hash;
	int nkernel, capkernel;
} CTarget;

const char *cgen_where(CGen *g, Loc loc)
{
	if (!loc.file)
		return "(no location)";
	return loc.scope ? arena_printf(g->a, "%s:%d:%d in %s", loc.file, loc.line, loc.col, loc.scope)
	                 : arena_printf(g->a, "%s:%d:%d", loc.file, loc.line, loc.col);
}

/* A new entry of prof_sites[]: the function, the kernel's kind, the ops it runs and the
 * DSL location of its root. Returns its index. */
static int site(CGen *g, const char *kernel, const char *ops, Loc loc)
{
	CTarget *t = g->target_state;
	const char *where = cgen_where(g, loc);
	buf_printf(&t->sites, "\t{%d, %s, %s, %s, %s},\n", t->nsites, c_str(g, g->f->name), c_str(g, kernel), c_str(g, ops),
	           c_str(g, where));
	return t->nsites++;
}

/* --detect-anomaly: the values of x at ptr, checked after the kernel call emitted next
 * (emit_run); a bf16 value is checked where a kernel converts it back. */
static void anomaly(CGen *g, const Ins *x, const char *ptr)
{
	if (x->type.dt == DT_BF16)
		return;
	CTarget *t = g->target_state;
	buf_printf(&t->out_sites, "\t{\"%s\", %s},\n", op_info(x->op)->name, c_str(g, cgen_where(g, x->loc)));
	buf_printf(&t->checks, "%sOUT(%s, %s, %d)", t->checks.p && *t->checks.p ? " || " : "", ptr,
	           numel(g, &x->type), t->nout_sites++);
}

/* The one checked call of the trainer: RUN(site, call, checks), with the checks anomaly()
 * gathered for it (0 when it makes no float value). */
static void emit_run(CGen *g, int sid, const char *c)
{
	CTarget *t = g->target_state;
	buf_printf(g->out, "\tRUN(%d, %s, %s);\n", sid, c, t->checks.p && *t->checks.p ? t->checks.p : "0");
	buf_free(&t->checks);
}

static void call(CGen *g, const Ins *ins, const char *fmt, ...) FMT(3, 4);

/* One checked and timed kernel call of the runtime: a failing status names the op and its
 * DSL location. */
static void call(CGen *g, const Ins *ins, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *c = arena_vprintf(g->a, fmt, ap);
	va_end(ap);
	const char *name = op_info(ins->op)->name;
	int id = site(g, name, arena_printf(g->a, "%%%d %s", ins->id, name), ins->loc);
	if (ins->type.dt != DT_I32) /* the result is float: --detect-anomaly looks at it */
		anomaly(g, ins, v(g, ins));
	emit_run(g, id, c);
}

/* ---------- one instruction, through the runtime's kernels ---------- */

static const char *unary_ops[OP__N] = {
	[OP_neg] = "RT_OP_NEG", [OP_exp] = "RT_OP_EXP", [OP_log] = "RT_OP_LOG", [OP_sqrt] = "RT_OP_SQRT",
	[OP_rsqrt] = "RT_OP_RSQRT", [OP_tanh] = "RT_OP_TANH", [OP_sigmoid] = "RT_OP_SIGMOID",
	[OP_relu] = "RT_OP_RELU", [OP_gelu] = "RT_OP_GELU", [OP_abs] = "RT_OP_ABS",
};

static const char *binary_ops[OP__N] = {
	[OP_add] = "RT_OP_ADD", [OP_sub] = "RT_OP_SUB", [OP_mul] = "RT_OP_MUL", [OP_div] = "RT_OP_DIV",
	[OP_pow] = "RT_OP_POW", [OP_maximum] = "RT_OP_MAXIMUM", [OP_minimum] = "RT_OP_MINIMUM",
	[OP_eq] = "RT_OP_EQ", [OP_lt] = "RT_OP_LT",
};

static const char *reduce_ops[OP__N] = {[OP_sum] = "RT_OP_SUM", [OP_mean] = "RT_OP_MEAN", [OP_max] = "RT_OP_MAX"};

const char *state_slab(CGen *g, const Ins *ins, const char *slot)
{
	const Param *p = ins->attr[0].g;
	if (strcmp(slot, "param") == 0)
		return arena_printf(g->a, "%s + %lld", g->slab[0], (long long)g->state_offset[p->index * 2]);
	int64_t off = g->state_offset[p->index * 2 + 1];
	int k = strcmp(slot, "grad") == 0 ? 1 : strcmp(slot, "m") == 0 ? 2 : strcmp(slot, "v") == 0 ? 3 : 0;
	if (off < 0 || k == 0) {
		cgen_fail(g, ins, "the %s target has no state slot '%s' for $%s", g->target, slot, p->name);
		return "NULL";
	}
	return arena_printf(g->a, "%s + %lld", g->slab[k], (long long)off);
}

bool cgen_types_ok(CGen *g, const Ins *ins)
{
	for (int i = 0; i <= ins->nargs; i++) {
		const Ins *t = i < ins->nargs ? ins->args[i] : ins;
		if (t->type.dt == DT_I64) {
			cgen_fail(g, ins, "the %s target has no 64-bit integer tensors ('%s')", g->target, op_info(ins->op)->name);
			return false;
		}
	}
	return true;
}

void cgen_comment(CGen *g, const Ins *ins, const char *note)
{
	buf_printf(g->out, "\t/* %%%d = %s", ins->id, op_info(ins->op)->name);
	if (ins->loc.file)
		buf_printf(g->out, "  %s", c_comment(g, cgen_where(g, ins->loc)));
	buf_printf(g->out, "%s */\n", note);
}

/* The runtime kernel call of one instruction (its result and operands are declared). */
static void emit_runtime(CGen *g, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	const Ins *x = ins->nargs ? ins->args[0] : NULL, *y = ins->nargs > 1 ? ins->args[1] : NULL;
	bool i32 = ins->type.dt == DT_I32, xi32 = x && x->type.dt == DT_I32;
	if (!cgen_types_ok(g, ins))
		return;
	cgen_comment(g, ins, "");
	switch (ins->op) {
	case OP_store:
		buf_printf(g->out, "\tmemcpy(%s, %s, sizeof(rt_real) * (size_t)(%s));\n", state_slab(g, ins, ins->attr[1].s),
		           v(g, x), numel(g, &ins->type));
		return;
	case OP_full:
		call(g, ins, "%s(%s, %s, %s)", i32 ? "rt_fill_i32" : "rt_fill", v(g, ins), shape(g, ins),
		     i32 ? arena_printf(g->a, "%.0f", ins->attr[2].f) : c_double(g, ins->attr[2].f));
		return;
	case OP_randperm: {
		const Type *t = &ins->type;
		if (ins->attr[1].i != t->rank - 1) {
			cgen_fail(g, ins, "the C target draws permutations along the last axis only");
			return;
		}
		Type rows = *t;
		rows.rank--;
		buf_printf(g->out, "\trt_randperm(%s, %s, %lld, st->seed, RT_STREAM_OPS + %lld, st->rng_step);\n", v(g, ins),
		           numel(g, &rows), (long long)t->dim[t->rank - 1], (long long)ins->attr[2].i);
		return;
	}
	case OP_gelu_grad: call(g, ins, "rt_gelu_grad(%s, %s, %s, %s)", v(g, ins), v(g, x), v(g, y), shape(g, x)); return;
	case OP_cast:
		if (ins->type.dt == DT_BF16 && x->type.dt != DT_BF16)
			call(g, ins, "rt_cast_real_bf16(%s, %s, %s)", v(g, ins), v(g, x), shape(g, x));
		else if (x->type.dt == DT_BF16 && ins->type.dt != DT_BF16)
			call(g, ins, "rt_cast_bf16_real(%s, %s, %s)", v(g, ins), v(g, x), shape(g, x));
		else if (xi32 && !i32)
			call(g, ins, "rt_cast_i32_real(%s, %s, %s)", v(g, ins), v(g, x), shape(g, x));
		else if (!xi32 && i32)
			call(g, ins, "rt_cast_real_i32(%s, %s, %s)", v(g, ins), v(g, x), shape(g, x));
		else
			call(g, ins, "rt_copy(%s, %s, %s, %s)", v(g, ins), v(g, x), esize(x), shape(g, x));
		return;
	case OP_argmax:
		call(g, ins, "%s(%s, %s, %s, %lld)", xi32 ? "rt_argmax_i32" : "rt_argmax", v(g, ins), v(g, x), shape(g, x),
		     (long long)ins->attr[0].i);
		return;
	case OP_softmax:
	case OP_log_softmax:
		call(g, ins, "rt_%s(%s, %s, %s, %lld)", oi->name, v(g, ins), v(g, x), shape(g, x), (long long)ins->attr[0].i);
		return;
	case OP_softmax_grad:
	case OP_log_softmax_grad:
		call(g, ins, "rt_%s(%s, %s, %s, %s, %lld)", oi->name, v(g, ins), v(g, x), v(g, y), shape(g, x),
		     (long long)ins->attr[0].i);
		return;
	case OP_layernorm:
		call(g, ins, "rt_layernorm(%s, %s, %s, %s)", v(g, ins), v(g, x), shape(g, x), c_double(g, ins->attr[0].f));
		return;
	case OP_layernorm_grad:
		call(g, ins, "rt_layernorm_grad(%s, %s, %s, %s, %s)", v(g, ins), v(g, x), v(g, y), shape(g, x),
		     c_double(g, ins->attr[0].f));
		return;
	case OP_cross_entropy:
		call(g, ins, "rt_cross_entropy(%s, %s, %s, %s)", v(g, ins), v(g, x), v(g, y), shape(g, x));
		return;
	case OP_cross_entropy_grad:
		call(g, ins, "rt_cross_entropy_grad(%s, %s, %s, %s, %s)", v(g, ins), v(g, x), v(g, y), v(g, ins->args[2]),
		     shape(g, x));
		return;
	case OP_matmul:
	case OP_matmul_reduce:
		call(g, ins, "rt_%s%s(%s, %s, %s, %s, %s, %lld, %lld)", oi->name, x->type.dt == DT_BF16 ? "_bf16" : "",
		     v(g, ins), v(g, x), v(g, y), shape(g, x), shape(g, y), (long long)ins->attr[0].i,
		     (long long)ins->attr[1].i);
		return;
	case OP_transpose:
		call(g, ins, "rt_transpose(%s, %s, %s, %s, %s)", v(g, ins), v(g, x), esize(x), shape(g, x),
		     int_array(g, ins->attr[0].v, ins->attr[0].nv));
		return;
	case OP_expand:
		call(g, ins, "rt_expand(%s, %s, %s, %s, %s)", v(g, ins), v(g, x), esize(x), shape(g, x), shape(g, ins));
		return;
	case OP_concat: {
		int64_t axis = ins->attr[0].i;
		Buf xs = {0}, lens = {0};
		for (int k = 0; k < ins->nargs; k++) {
			buf_printf(&xs, "%s%s", k ? ", " : "", v(g, ins->args[k]));
			buf_printf(&lens, "%s%lld", k ? ", " : "", (long long)ins->args[k]->type.dim[axis]);
		}
		call(g, ins, "rt_concat(%s, %d, (const void *const[]){%s}, %s, (const int64_t[]){%s}, %s, %lld)", v(g, ins),
		     ins->nargs, xs.p, esize(ins), lens.p, shape(g, ins), (long long)axis);
		buf_free(&xs);
		buf_free(&lens);
		return;
	}
	case OP_slice:
		call(g, ins, "rt_slice(%s, %s, %s, %s, %lld, %lld, %lld)", v(g, ins), v(g, x), esize(x), shape(g, x),
		     (long long)ins->attr[0].i, (long long)ins->attr[1].i, (long long)ins->attr[2].i);
		return;
	case OP_gather:
		call(g, ins, "rt_gather(%s, %s, %s, %s, %s, %s, %lld)", v(g, ins), v(g, x), v(g, y), esize(x), shape(g, x),
		     shape(g, y), (long long)ins->attr[0].i);
		return;
	case OP_scatter_add:
		call(g, ins, "rt_scatter_add(%s, %s, %s, %s, %s, %lld, %lld)", v(g, ins), v(g, x), v(g, y), shape(g, x),
		     shape(g, y), (long long)ins->attr[0].i, (long long)ins->attr[1].i);
		return;
	case OP_argsort:
		call(g, ins, "%s(%s, %s, %s, %lld)", xi32 ? "rt_argsort_i32" : "rt_argsort", v(g, ins), v(g, x), shape(g, x),
		     (long long)ins->attr[0].i);
		return;
	default: break;
	}
	if (unary_ops[ins->op]) {
		call(g, ins, "%s(%s, %s, %s, %s)", i32 ? "rt_unary_i32" : "rt_unary", unary_ops[ins->op], v(g, ins), v(g, x),
		     shape(g, x));
		return;
	}
	if (binary_ops[ins->op]) {
		const char *fn = !xi32 ? "rt_binary" : ins->op == OP_eq || ins->op == OP_lt ? "rt_compare_i32" : "rt_binary_i32";
		call(g, ins, "%s(%s, %s, %s, %s, %s, %s)", fn, binary_ops[ins->op], v(g, ins), v(g, x), shape(g, x), v(g, y),
		     shape(g, y));
		return;
	}
	if (reduce_ops[ins->op]) {
		call(g, ins, "%s(%s, %s, %s, %s, %d, %s)", xi32 ? "rt_reduce_i32" : "rt_reduce", reduce_ops[ins->op], v(g, ins),
		     v(g, x), shape(g, x), ins->attr[0].nv, int_array(g, ins->attr[0].v, ins->attr[0].nv));
		return;
	}
	cgen_fail(g, ins, "the C target cannot emit '%s'", oi->name);
}

/* ---------- the kernel calls of a function ---------- */

/* The schedule of f (passes/lower.c) and its memory plan, which g->plan becomes. NULL
 * (after a message) if its kernel=N groups are not a valid plan. */
static Schedule *plan_func(CGen *g, const Func *f, int64_t batch)
{
	Schedule *fn = lower_func(g->a, f, &lower_c, batch, g->float_bytes, g->naive_memory, g->d);
	if (!fn) {
		g->failed = true;
		return NULL;
	}
	CTarget *ct = g->target_state;
	ct->declared = arena_alloc(g->a, sizeof *ct->declared * (size_t)(f->next_id + 1));
	memset(ct->declared, 0, sizeof *ct->declared * (size_t)(f->next_id + 1));
	g->plan = fn->plan;
	return fn;
}

/* ---------- declarations ---------- */

/* Declares x's C pointer (and what it views) before its first use. */
static void declare(CGen *g, Schedule *fn, const Ins *x)
{
	bool *declared = ((CTarget *)g->target_state)->declared;
	if (declared[x->id])
		return;
	declared[x->id] = true;
	switch (x->op) {
	case OP_arg: return; /* at the top */
	case OP_param:
	case OP_state:
		buf_printf(g->out, "\trt_real *%s = %s;\n", v(g, x), state_slab(g, x, x->op == OP_param ? "param" : x->attr[1].s));
		return;
	case OP_reshape: /* a view: the same bytes */
		declare(g, fn, x->args[0]);
		buf_printf(g->out, "\t%s *%s = (%s *)%s; /* reshape %%%d */\n", ctype(x), v(g, x), ctype(x), v(g, x->args[0]),
		           x->args[0]->id);
		return;
	default: break;
	}
	if (g->plan->offset[x->id] < 0) {
		cgen_fail(g, x, "the C target has no buffer for %%%d (%s)", x->id, op_info(x->op)->name);
		return;
	}
	buf_printf(g->out, "\t%s *%s = (%s *)(st->act + %lld);\n", ctype(x), v(g, x), ctype(x),
	           (long long)g->plan->offset[x->id]);
}

/* ---------- generated loops ---------- */

typedef struct Loop {
	CGen *g;
	Schedule *fn;
	const SchedCall *c;
	const FuseGroup *grp;
	const Type *space;
	bool *inl;    /* by member index: computed inside the expression that reads it */
	bool real_f;  /* float build: the f functions (expf, ...) */
} Loop;

static int member_index(const Loop *l, const Ins *x)
{
	for (int i = l->c->lo; i < l->c->hi; i++)
		if (l->grp->ins[i] == x)
			return i;
	return -1;
}

static const char *value_expr(Loop *l, const Ins *x);
static const char *elem_expr(Loop *l, const Ins *x, const char *a, const char *b);

/* The value member u reads as its operand k. */
static const char *operand_expr(Loop *l, int ui, int k)
{
	CGen *g = l->g;
	const Ins *u = l->grp->ins[ui];
	const Ins *s = sched_src(u->args[k]);
	if (member_index(l, s) >= 0)
		return value_expr(l, s);
	if (sched_const_full(l->fn, s)) {
		if (s->type.dt == DT_I32)
			return arena_printf(g->a, "(int32_t)%.0f", s->attr[2].f);
		return arena_printf(g->a, "(rt_real)%s", c_double(g, s->attr[2].f));
	}
	FuseMap m;
	if (!fuse_read_map(l->grp, ui, k, &m))
		BUG("%%%d: no map for operand %d", u->id, k);
	SchedLin lin = sched_lin(&m, &s->type);
	const char *at = arena_printf(g->a, "v%d[%s]", s->id, cgen_lin_text(g, &lin, l->space->rank));
	return s->type.dt == DT_BF16 ? arena_printf(g->a, "rt_real_of_bf16(%s)", at) : at;
}

static const char *fn_name(const Loop *l, const char *base)
{
	return arena_printf(l->g->a, "%s%s", base, l->real_f ? "f" : "");
}

/* The expression of one member's value from its operands' (x is a member). */
static const char *compute(Loop *l, int xi)
{
	CGen *g = l->g;
	const Ins *x = l->grp->ins[xi];
	const char *a = x->nargs > 0 ? operand_expr(l, xi, 0) : NULL;
	const char *b = x->nargs > 1 && x->op != OP_concat ? operand_expr(l, xi, 1) : NULL;
	
	switch (x->op) {
	case OP_store:
	case OP_transpose:
	case OP_expand:
	case OP_slice: return a;
	case OP_concat: {
		Buf t = {0};
		const char *at = cgen_coord_text(g, &l->grp->map[xi].at[x->attr[0].i]);
		int64_t end = 0;
		buf_putc(&t, '(');
		for (int k = 0; k < x->nargs; k++) {
			end += x->args[k]->type.dim[x->attr[0].i];
			if (k + 1 < x->nargs)
				buf_printf(&t, "%s < %lld ? %s : ", at, (long long)end, operand_expr(l, xi, k));
			else
				buf_printf(&t, "%s)", operand_expr(l, xi, k));
		}
		const char *s = arena_strdup(g->a, t.p);
		buf_free(&t);
		return s;
	}
	default: return elem_expr(l, x, a, b);
	}
}

/* An elementwise op of x applied to operand expressions a and b. */
static const char *elem_expr(Loop *l, const Ins *x, const char *a, const char *b)
{
	CGen *g = l->g;
	bool i32 = x->nargs > 0 && x->args[0]->type.dt == DT_I32;
	switch (x->op) {
	case OP_add: return i32 ? arena_printf(g->a, "rt_i32_add(%s, %s)", a, b) : arena_printf(g->a, "(%s + %s)", a, b);
	case OP_sub: return i32 ? arena_printf(g->a, "rt_i32_sub(%s, %s)", a, b) : arena_printf(g->a, "(%s - %s)", a, b);
	case OP_mul: return i32 ? arena_printf(g->a, "rt_i32_mul(%s, %s)", a, b) : arena_printf(g->a, "(%s * %s)", a, b);
	case OP_div: return i32 ? arena_printf(g->a, "rt_i32_div(%s, %s)", a, b) : arena_printf(g->a, "(%s / %s)", a, b);
	case OP_pow:
		return i32 ? arena_printf(g->a, "rt_i32_pow(%s, %s)", a, b) : arena_printf(g->a, "%s(%s, %s)", fn_name(l, "pow"), a, b);
	case OP_maximum:
		return i32 ? arena_printf(g->a, "(%s > %s ? %s : %s)", a, b, a, b) : arena_printf(g->a, "rt_e_max(%s, %s)", a, b);
	case OP_minimum:
		return i32 ? arena_printf(g->a, "(%s < %s ? %s : %s)", a, b, a, b) : arena_printf(g->a, "rt_e_min(%s, %s)", a, b);
	case OP_eq: return arena_printf(g->a, "(%s == %s ? (rt_real)1 : (rt_real)0)", a, b);
	case OP_lt: return arena_printf(g->a, "(%s < %s ? (rt_real)1 : (rt_real)0)", a, b);
	case OP_neg: return i32 ? arena_printf(g->a, "rt_i32_neg(%s)", a) : arena_printf(g->a, "(-%s)", a);
	case OP_exp:
	case OP_log:
	case OP_sqrt:
	case OP_tanh: return arena_printf(g->a, "%s(%s)", fn_name(l, op_info(x->op)->name), a);
	case OP_rsqrt: return arena_printf(g->a, "((rt_real)1 / %s(%s))", fn_name(l, "sqrt"), a);
	case OP_sigmoid: return arena_printf(g->a, "((rt_real)1 / ((rt_real)1 + %s(-%s)))", fn_name(l, "exp"), a);
	case OP_relu: return i32 ? arena_printf(g->a, "(%s > 0 ? %s : 0)", a, a) : arena_printf(g->a, "rt_e_relu(%s)", a);
	case OP_abs:
		return i32 ? arena_printf(g->a, "(%s < 0 ? rt_i32_neg(%s) : %s)", a, a, a)
		           : arena_printf(g->a, "%s(%s)", fn_name(l, "fabs"), a);
	case OP_gelu: return arena_printf(g->a, "gelu_(%s)", a);
	case OP_gelu_grad: return arena_printf(g->a, "gelu_grad_(%s, %s)", a, b);
	case OP_cast:
		if (x->type.dt == x->args[0]->type.dt || x->args[0]->type.dt == DT_BF16)
			return a; /* a bf16 operand is an rt_real already */
		if (x->type.dt == DT_BF16)
			return arena_printf(g->a, "rt_round_bf16(%s)", a);
		return x->type.dt == DT_I32 ? arena_printf(g->a, "rt_i32_of_real(%s)", a) : arena_printf(g->a, "(rt_real)%s", a);
	default: break;
	}
	cgen_fail(g, x, "the C target cannot fuse '%s' into a loop", op_info(x->op)->name);
	return "0";
}

static const char *value_expr(Loop *l, const Ins *x)
{
	int xi = member_index(l, x);
	if (l->inl[xi])
		return compute(l, xi);
	return arena_printf(l->g->a, "t%d", x->id);
}

/* A kernel's text with its values renamed in order of appearance: v12, v40 -> v0, v1; t..,
 * s.., b.. and w.. alike (they are IR ids, which differ between two copies of the same loop). */
static char *canonical(CGen *g, const char *text)
{
	Buf b = {0};
	long *ids[5] = {NULL, NULL, NULL, NULL, NULL};
	int n[5] = {0, 0, 0, 0, 0};
	for (const char *p = text; *p;) {
		const char *k = strchr("vtsbw", *p);
		bool start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		char *end = NULL;
		long id = k && start && isdigit((unsigned char)p[1]) ? strtol(p + 1, &end, 10) : -1;
		if (id < 0 || isalnum((unsigned char)*end) || *end == '_') {
			buf_putc(&b, *p++);
			continue;
		}
		int kind = (int)(k - "vtsbw"), j = 0;
		while (j < n[kind] && ids[kind][j] != id)
			j++;
		if (j == n[kind]) {
			long *grown = realloc(ids[kind], sizeof(long) * (size_t)(n[kind] + 1));
			if (!grown)
				BUG("out of memory");
			ids[kind] = grown;
			ids[kind][n[kind]++] = id;
		}
		buf_printf(&b, "%c%d", *p, j);
		p = end;
	}
	char *r = arena_strdup(g->a, b.p ? b.p : "");
	buf_free(&b);
	for (int k = 0; k < 5; k++)
		free(ids[k]);
	return r;
}

/* Appends the kernel `text` (its name written @NAME@) to kbody as `name`, or finds the same
 * kernel emitted before; returns the name to call it by. */
static const char *kernel_once(CGen *g, Buf *kbody, const char *text, const char *name, const char *what)
{
	CTarget *t = g->target_state;
	const char *c = canonical(g, text);
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *q = c; *q; q++)
		h = (h ^ (unsigned char)*q) * 0x100000001b3ull;
	for (int i = 0; i < t->nkernel; i++)
		if (t->kernel_hash[i] == h && strcmp(t->kernel_text[i], c) == 0)
			return t->kernel_name[i];
	if (t->nkernel == t->capkernel) {
		int cap = t->capkernel ? 2 * t->capkernel : 256;
		const char **text2 = arena_alloc(g->a, sizeof *text2 * (size_t)cap), **name2 = arena_alloc(g->a, sizeof *name2 * (size_t)cap);
		uint64_t *hash2 = arena_alloc(g->a, sizeof *hash2 * (size_t)cap);
		for (int i = 0; i < t->nkernel; i++)
			text2[i] = t->kernel_text[i], name2[i] = t->kernel_name[i], hash2[i] = t->kernel_hash[i];
		t->kernel_text = text2, t->kernel_name = name2, t->kernel_hash = hash2, t->capkernel = cap;
	}
	t->kernel_text[t->nkernel] = c;
	t->kernel_name[t->nkernel] = name;
	t->kernel_hash[t->nkernel++] = h;
	/* the kernel and its prototype (the text's first line), with its name */
	const char *at = strstr(c, "@NAME@");
	const char *eol = strchr(c, '\n');
	buf_printf(&t->protos, "%.*s%s%.*s;\n", (int)(at - c), c, name, (int)(eol - at - 6), at + 6);
	buf_printf(kbody, "/* first made for %s */\n%.*s%s%s", c_comment(g, what), (int)(at - c), c, name, at + 6);
	return name;
}

/* text holds the identifier id as a whole token. */
static bool uses_ident(const char *text, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = text ? strstr(text, id) : NULL; p; p = strstr(p + 1, id)) {
		bool before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = isalnum((unsigned char)p[n]) || p[n] == '_';
		if (!before && !after)
			return true;
	}
	return false;
}

/* A generated loop over the group's space (or one MULTI part's): a kernel function in
 * the optimised section, called from the function being emitted. */
static void emit_loop(CGen *g, Schedule *fn, const SchedCall *c, const Type *space, const char *name, Buf *kbody)
{
	const FuseGroup *grp = c->g;
	Loop l = {g, fn, c, grp, space, arena_alloc(g->a, sizeof(bool) * (size_t)(grp->nins + 1)), g->float_bytes == 4};
	sched_inline(fn, c, l.inl);
	/* the body, for one point c0..c(r-1) of the space */
	Buf body = {0};
	for (int i = c->lo; i < c->hi; i++) {
		const Ins *x = grp->ins[i];
		if (l.inl[i])
			continue;
		SchedLin w = sched_lin(&grp->map[i], &x->type);
		if (x->op == OP_store) {
			buf_printf(&body, "\t\t\ts%d[%s] = %s;\n", x->id, cgen_lin_text(g, &w, space->rank), operand_expr(&l, i, 0));
			continue;
		}
		buf_printf(&body, "\t\t\tconst %s t%d = %s; /* %s */\n", temp_type(x), x->id, compute(&l, i), op_info(x->op)->name);
		if (fn->need[x->id])
			buf_printf(&body, x->type.dt == DT_BF16 ? "\t\t\tv%d[%s] = rt_bf16_of_real(t%d);\n" : "\t\t\tv%d[%s] = t%d;\n",
			           x->id, cgen_lin_text(g, &w, space->rank), x->id);
	}
	/* parameters: outputs, stores' slots, inputs */
	Buf params = {0}, args = {0};
	for (int i = c->lo; i < c->hi; i++) {
		const Ins *x = grp->ins[i];
		if (x->op == OP_store) {
			buf_printf(&params, ", rt_real *s%d", x->id);
			buf_printf(&args, ", %s", state_slab(g, x, x->attr[1].s));
		} else if (fn->need[x->id] && !l.inl[i]) {
			declare(g, fn, x);
			buf_printf(&params, ", %s *v%d", ctype(x), x->id);
			buf_printf(&args, ", %s", v(g, x));
		}
	}
	for (int i = c->lo; i < c->hi; i++)
		for (int k = 0; k < grp->ins[i]->nargs; k++) {
			const Ins *s = sched_src(grp->ins[i]->args[k]);
			if (member_index(&l, s) >= 0 || sched_const_full(fn, s))
				continue;
			bool dup = false;
			for (int i2 = c->lo; i2 <= i && !dup; i2++)
				for (int k2 = 0; k2 < (i2 < i ? grp->ins[i2]->nargs : k); k2++)
					dup |= sched_src(grp->ins[i2]->args[k2]) == s;
			if (dup)
				continue;
			declare(g, fn, s);
			buf_printf(&params, ", const %s *v%d", ctype(s), s->id);
			buf_printf(&args, ", %s", v(g, s));
		}
	/* the function: rows of the space in parallel, the last axis in blocks, vectorised;
	 * it takes B and names the coordinates its body uses, no others */
	int r = space->rank;
	bool takes_b = uses_ident(body.p, "B");
	for (int d = 0; d < r; d++)
		takes_b |= space->dim[d] == DIM_B;
	const char *sig = arena_printf(g->a, "%s%s", takes_b ? ", int64_t B" : "", params.p ? params.p : "");
	sig = *sig ? sig + 2 : "void";
	Buf k = {0}; /* the kernel, named @NAME@ until kernel_once names it */
	buf_printf(&k, "int @NAME@(%s)\n{\n", sig);
	Buf outer = {0};
	for (int d = 0; d < r; d++)
		buf_printf(&k, "\tconst int64_t n%d = %s;\n", d, space->dim[d] == DIM_B ? "B" : arena_printf(g->a, "%lld", (long long)space->dim[d]));
	if (r == 0) {
		buf_printf(&k, "\t{\n\t\t{\n%s\t\t}\n\t}\n\treturn 0;\n}\n\n", body.p ? body.p : "");
	} else {
		for (int d = 0; d < r - 1; d++)
			buf_printf(&outer, " * n%d", d);
		int L = r - 1;
		int used = -1; /* the outermost coordinate the body uses (the rows are counted from the last) */
		for (int d = L - 1; d >= 0; d--)
			if (uses_ident(body.p, arena_printf(g->a, "c%d", d)))
				used = d;
		buf_printf(&k,
		           "\tconst int64_t blocks = (n%d + %d - 1) / %d, tasks = blocks%s;\n"
		           "#pragma omp parallel for schedule(static) if (tasks * n%d > %d)\n"
		           "\tfor (int64_t task = 0; task < tasks; task++) {\n",
		           L, 4096, 4096, outer.p ? outer.p : "", L, 32768);
		if (used >= 0)
			buf_puts(&k, "\t\tint64_t rest = task / blocks;\n");
		for (int d = L - 1; used >= 0 && d >= used; d--) {
			if (uses_ident(body.p, arena_printf(g->a, "c%d", d)))
				buf_printf(&k, "\t\tconst int64_t c%d = rest %% n%d;\n", d, d);
			if (d > used)
				buf_printf(&k, "\t\trest /= n%d;\n", d);
		}
		buf_printf(&k,
		           "\t\tconst int64_t lo = task %% blocks * 4096, hi = lo + 4096 < n%d ? lo + 4096 : n%d;\n"
		           "#pragma omp simd\n"
		           "\t\tfor (int64_t c%d = lo; c%d < hi; c%d++) {\n%s\t\t}\n\t}\n\treturn 0;\n}\n\n",
		           L, L, L, L, L, body.p ? body.p : "");
	}
	buf_free(&outer);
	name = kernel_once(g, kbody, k.p, name,
	                   arena_printf(g->a, "kernel %d (%s): %s; %s", grp->id, fuse_kind_name(grp->kind),
	                                cgen_ops_list(g, grp, c->lo, c->hi), cgen_where(g, grp->ins[c->hi - 1]->loc)));
	buf_free(&k);
	buf_printf(&args, "%s", "");
	int sid = site(g, grp->kind == FUSE_LOOP ? "loop" : arena_printf(g->a, "loop (%s)", fuse_kind_name(grp->kind)),
	               arena_printf(g->a, "kernel %d: %s", grp->id, cgen_ops_list(g, grp, c->lo, c->hi)), grp->ins[c->hi - 1]->loc);
	buf_printf(g->out, "\t/* kernel %d (%s): %s; %s */\n", grp->id, fuse_kind_name(grp->kind),
	           cgen_ops_list(g, grp, c->lo, c->hi), c_comment(g, cgen_where(g, grp->ins[c->hi - 1]->loc)));
	const char *call_args = arena_printf(g->a, "%s%s", takes_b ? ", B" : "", args.p ? args.p : "");
	for (int i = c->lo; i < c->hi; i++)
		if (fn->need[grp->ins[i]->id] && grp->ins[i]->type.dt != DT_I32 && grp->ins[i]->op != OP_store)
			anomaly(g, grp->ins[i], v(g, grp->ins[i]));
	emit_run(g, sid, arena_printf(g->a, "%s(%s)", name, *call_args ? call_args + 2 : ""));
	buf_free(&body);
	buf_free(&params);
	buf_free(&args);
}

/* "%12 add, %13 gelu" (the first 8, then how many more). */
const char *cgen_ops_list(CGen *g, const FuseGroup *grp, int lo, int hi)
{
	Buf b = {0};
	for (int i = lo; i < hi && i < lo + 8; i++)
		buf_printf(&b, "%s%%%d %s", i > lo ? ", " : "", grp->ins[i]->id, op_info(grp->ins[i]->op)->name);
	if (hi - lo > 8)
		buf_printf(&b, ", ... (%d ops)", hi - lo);
	const char *s = arena_strdup(g->a, b.p ? b.p : "");
	buf_free(&b);
	return s;
}

void cgen_slot(CGen *g, const Ins *ins, const char *slot, int *slab, int64_t *off)
{
	const Param *p = ins->attr[0].g;
	*slab = strcmp(slot, "param") == 0 ? 0 : strcmp(slot, "grad") == 0 ? 1 : strcmp(slot, "m") == 0 ? 2 : 3;
	*off = g->state_offset[p->index * 2 + (*slab != 0)];
}

/* MULTI: one loop over the elements of every part, in chunks spread over the threads;
 * each part's tensors (its parameter's slots) come from a table. The parts have the
 * same ops, so the body is part 0's. */
/* A MULTI group runs as one loop over a chunk table when no part's value lives on and part
 * 0's ops are the ones its body writes (AdamW's); else loop by loop. */
static bool multi_ok(const Schedule *fn, const FuseGroup *grp)
{
	for (int i = 0; i < grp->nins; i++)
		if (fn->need[grp->ins[i]->id])
			return false;
	static const bool body_op[OP__N] = {[OP_store] = true, [OP_add] = true, [OP_sub] = true, [OP_mul] = true,
	                                    [OP_div] = true, [OP_sqrt] = true, [OP_neg] = true, [OP_maximum] = true,
	                                    [OP_minimum] = true};
	for (int j = 0; j < grp->part[1] - grp->part[0]; j++) {
		const Ins *x = grp->ins[j];
		if (!body_op[x->op] || (x->op != OP_store && x->type.dt != DT_F32 && x->type.dt != DT_F64))
			return false;
	}
	return true;
}

/* The first operand of part 0 in a state slab (grad, m, v), whose offsets the shard
 * (--zero 1) is counted in; NULL: none. */
static const Ins *multi_state_slot(const FuseGroup *grp)
{
	for (int j = 0; j < grp->part[1] - grp->part[0]; j++) {
		const Ins *x = grp->ins[j];
		if (x->op == OP_store && strcmp(x->attr[1].s, "param") != 0)
			return x;
		for (int k = 0; k < x->nargs; k++) {
			const Ins *s = sched_src(x->args[k]);
			if (s->op == OP_state)
				return s;
		}
	}
	return NULL;
}

/* An update's call that keeps to the shard: a multi-tensor loop with a state slot. */
static bool multi_shards(const Schedule *fn, const SchedCall *c)
{
	return c->kind == SCHED_MULTI && multi_ok(fn, c->g) && multi_state_slot(c->g);
}

static bool emit_multi(CGen *g, Schedule *fn, const SchedCall *c, const char *name, Buf *kbody)
{
	const FuseGroup *grp = c->g;
	int n0 = grp->part[1] - grp->part[0];
	if (!multi_ok(fn, grp))
		return false; /* loop by loop */
	/* the slots: each param, state or store operand of part 0, in order */
	int nslot = 0, *slot_kind = arena_alloc(g->a, sizeof(int) * (size_t)(4 * n0 + 4));
	const Ins **slot_ins = arena_alloc(g->a, sizeof(Ins *) * (size_t)(4 * n0 + 4));
	int *slot_of = arena_alloc(g->a, sizeof(int) * (size_t)(g->f->next_id + 1));
	for (int j = 0; j < n0; j++) {
		const Ins *x = grp->ins[j];
		const Ins *cands[IR_MAX_ATTRS + 4];
		int nc = 0;
		for (int k = 0; k < x->nargs; k++)
			cands[nc++] = sched_src(x->args[k]);
		if (x->op == OP_store)
			cands[nc++] = x;
		for (int k = 0; k < nc; k++) {
			const Ins *s = cands[k];
			if (s->op != OP_param && s->op != OP_state && s->op != OP_store)
				continue;
			bool dup = false;
			for (int t = 0; t < nslot && !dup; t++)
				dup = slot_ins[t] == s;
			if (dup)
				continue;
			slot_of[s->id] = nslot;
			slot_kind[nslot] = j * 8 + (s == x ? IR_MAX_ATTRS + 1 : k);
			slot_ins[nslot++] = s;
		}
	}
	/* the table: per part, each slot's element offset; then the chunks */
	buf_printf(kbody, "static const int64_t %s_at[%d][%d] = {\n", name, grp->nparts, nslot ? nslot : 1);
	int64_t nchunks = 0;
	for (int p = 0; p < grp->nparts; p++) {
		buf_puts(kbody, "\t{");
		for (int t = 0; t < nslot; t++) {
			int j = slot_kind[t] / 8, k = slot_kind[t] % 8;
			const Ins *x = grp->ins[grp->part[p] + j];
			const Ins *s = k == IR_MAX_ATTRS + 1 ? x : sched_src(x->args[k]);
			int slab;
			int64_t off;
			cgen_slot(g, s, s->op == OP_param ? "param" : s->attr[1].s, &slab, &off);
			buf_printf(kbody, "%s%lld", t ? ", " : "", (long long)off);
		}
		const Loc *loc = &grp->ins[grp->part[p]]->loc;
		buf_printf(kbody, "%s}, /* %s */\n", nslot ? "" : "0",
		           loc->file ? arena_printf(g->a, "%s:%d", c_comment(g, loc->file), loc->line) : "");
		nchunks += (type_numel(&grp->part_space[p], 1) + 16383) / 16384;
	}
	buf_printf(kbody, "};\n\n/* part, first element, elements */\nstatic const int64_t %s_chunk[%lld][3] = {\n", name,
	           (long long)nchunks);
	for (int p = 0; p < grp->nparts; p++) {
		int64_t n = type_numel(&grp->part_space[p], 1);
		for (int64_t lo = 0; lo < n; lo += 16384)
			buf_printf(kbody, "\t{%d, %lld, %lld},\n", p, (long long)lo, (long long)(n - lo < 16384 ? n - lo : 16384));
	}
	buf_puts(kbody, "};\n\n");
	/* the body over element i of a part, from part 0's ops */
	Buf params = {0}, args = {0}, body = {0};
	for (int j = 0; j < n0; j++)
		for (int k = 0; k < grp->ins[j]->nargs; k++) {
			const Ins *s = sched_src(grp->ins[j]->args[k]);
			if (s->op != OP_scalar)
				continue;
			bool dup = false;
			for (int j2 = 0; j2 <= j && !dup; j2++)
				for (int k2 = 0; k2 < (j2 < j ? grp->ins[j2]->nargs : k); k2++)
					dup |= sched_src(grp->ins[j2]->args[k2]) == s;
			if (dup)
				continue;
			declare(g, fn, s);
			buf_printf(&params, ", const rt_real *v%d", s->id);
			buf_printf(&args, ", %s", v(g, s));
		}
	bool real_f = g->float_bytes == 4;
	for (int j = 0; j < n0; j++) {
		const Ins *x = grp->ins[j];
		const char *opnd[IR_MAX_ATTRS + 4];
		for (int k = 0; k < x->nargs && k < IR_MAX_ATTRS + 4; k++) {
			const Ins *s = sched_src(x->args[k]);
			if (s->op == OP_param || s->op == OP_state)
				opnd[k] = arena_printf(g->a, "p%d[i]", slot_of[s->id]);
			else if (s->op == OP_scalar)
				opnd[k] = arena_printf(g->a, "v%d[0]", s->id);
			else if (s->op == OP_full)
				opnd[k] = arena_printf(g->a, "(rt_real)%s", c_double(g, s->attr[2].f));
			else
				opnd[k] = arena_printf(g->a, "t%d", s->id);
		}
		const char *e;
		switch (x->op) {
		case OP_store: buf_printf(&body, "\t\t\tp%d[i] = %s;\n", slot_of[x->id], opnd[0]); continue;
		case OP_add: e = arena_printf(g->a, "(%s + %s)", opnd[0], opnd[1]); break;
		case OP_sub: e = arena_printf(g->a, "(%s - %s)", opnd[0], opnd[1]); break;
		case OP_mul: e = arena_printf(g->a, "(%s * %s)", opnd[0], opnd[1]); break;
		case OP_div: e = arena_printf(g->a, "(%s / %s)", opnd[0], opnd[1]); break;
		case OP_sqrt: e = arena_printf(g->a, "%s(%s)", real_f ? "sqrtf" : "sqrt", opnd[0]); break;
		case OP_neg: e = arena_printf(g->a, "(-%s)", opnd[0]); break;
		case OP_maximum: e = arena_printf(g->a, "rt_e_max(%s, %s)", opnd[0], opnd[1]); break;
		case OP_minimum: e = arena_printf(g->a, "rt_e_min(%s, %s)", opnd[0], opnd[1]); break;
		default: return false; /* anything else: loop by loop */
		}
		if (x->type.dt != DT_F32 && x->type.dt != DT_F64)
			return false;
		buf_printf(&body, "\t\t\tconst rt_real t%d = %s; /* %s */\n", x->id, e, op_info(x->op)->name);
	}
	buf_printf(&((CTarget *)g->target_state)->protos, "int %s(RtState *st%s);\n", name, params.p ? params.p : "");
	buf_printf(kbody, "/* kernel %d (multi): %d parts of %s; %s and %d more (each part's DSL line: %s_at) */\n",
	           grp->id, grp->nparts, cgen_ops_list(g, grp, 0, n0), c_comment(g, cgen_where(g, grp->ins[0]->loc)),
	           grp->nparts - 1, name);
	buf_printf(kbody, "int %s(RtState *st%s)\n{\n#pragma omp parallel for schedule(static)\n"
	                  "\tfor (int64_t k = 0; k < %lld; k++) {\n\t\tconst int64_t *at = %s_at[%s_chunk[k][0]];\n",
	           name, params.p ? params.p : "", (long long)nchunks, name, name);
	for (int t = 0; t < nslot; t++) {
		int slab;
		int64_t off;
		const Ins *s = slot_ins[t];
		cgen_slot(g, s, s->op == OP_param ? "param" : s->attr[1].s, &slab, &off);
		const char *base[4] = {"st->params", "st->grad", "st->m", "st->v"};
		buf_printf(kbody, "\t\trt_real *p%d = %s + at[%d]; /* %s */\n", t, base[slab], t,
		           s->op == OP_param ? "param" : s->attr[1].s);
	}
	const Ins *state = ((CTarget *)g->target_state)->update ? multi_state_slot(grp) : NULL;
	if (state) { /* the shard's elements only (--zero 1; all of them otherwise) */
		int t = slot_of[state->id];
		buf_printf(kbody, "\t\tint64_t lo = %s_chunk[k][1], hi = lo + %s_chunk[k][2];\n"
		                  "\t\tif (at[%d] + lo < st->shard_lo)\n\t\t\tlo = st->shard_lo - at[%d];\n"
		                  "\t\tif (at[%d] + hi > st->shard_hi)\n\t\t\thi = st->shard_hi - at[%d];\n",
		           name, name, t, t, t, t);
	} else {
		buf_printf(kbody, "\t\tconst int64_t lo = %s_chunk[k][1], hi = lo + %s_chunk[k][2];\n", name, name);
	}
	buf_printf(kbody, "#pragma omp simd\n\t\tfor (int64_t i = lo; i < hi; i++) {\n%s\t\t}\n\t}\n\treturn 0;\n}\n\n",
	           body.p ? body.p : "");
	int sid = site(g, "multi", arena_printf(g->a, "kernel %d: %d parts of %s", grp->id, grp->nparts,
	                                       cgen_ops_list(g, grp, 0, n0)), grp->ins[0]->loc);
	buf_printf(g->out, "\t/* kernel %d (multi): %d parts of %s; %s%s */\n", grp->id, grp->nparts,
	           cgen_ops_list(g, grp, 0, n0), c_comment(g, cgen_where(g, grp->ins[0]->loc)),
	           grp->nparts > 1 ? arena_printf(g->a, " and %d more", grp->nparts - 1) : "");
	emit_run(g, sid, arena_printf(g->a, "%s(st%s)", name, args.p ? args.p : ""));
	buf_free(&params);
	buf_free(&args);
	buf_free(&body);
	return true;
}

/* A product added into its gradient slot by the BLAS. */
static void emit_accum(CGen *g, Schedule *fn, const SchedCall *c)
{
	const FuseGroup *grp = c->g;
	const Ins *mm = grp->ins[0], *st = grp->ins[2];
	const Ins *x = mm->args[0], *y = mm->args[1];
	declare(g, fn, x);
	declare(g, fn, y);
	buf_printf(g->out, "\t/* kernel %d (matmul): %s, accumulated into the slot; %s */\n", grp->id,
	           cgen_ops_list(g, grp, 0, 3), c_comment(g, cgen_where(g, mm->loc)));
	int sid = site(g, op_info(mm->op)->name, arena_printf(g->a, "kernel %d: %s", grp->id, cgen_ops_list(g, grp, 0, 3)),
	               mm->loc);
	anomaly(g, st, state_slab(g, st, st->attr[1].s));
	emit_run(g, sid, arena_printf(g->a, "rt_%s_add%s(%s, %s, %s, %s, %s, %lld, %lld)", op_info(mm->op)->name,
	                              x->type.dt == DT_BF16 ? "_bf16" : "", state_slab(g, st, st->attr[1].s), v(g, x),
	                              v(g, y), shape(g, x), shape(g, y), (long long)mm->attr[0].i, (long long)mm->attr[1].i));
}

/* ---------- attention ---------- */

/* Elements of one batch element's block of x (its last two axes). */
static int64_t block_of(const Ins *x)
{
	return x->type.dim[x->type.rank - 2] * x->type.dim[x->type.rank - 1];
}

static bool member_of(const FuseGroup *grp, const Ins *x)
{
	for (int i = 0; i < grp->nins; i++)
		if (grp->ins[i] == x)
			return true;
	return false;
}

/* The block a member or an input has for batch element `be`, or a scalar. */
static const char *attn_operand(CGen *g, const FuseGroup *grp, const Ins *s)
{
	if (member_of(grp, s))
		return arena_printf(g->a, "b%d", s->id);
	if (type_numel(&s->type, 1) == 1)
		return arena_printf(g->a, "v%d", s->id);
	if (s->type.dt == DT_BF16) /* widened at the start of the task */
		return arena_printf(g->a, "w%d", s->id);
	return arena_printf(g->a, "(v%d + be * %lld)", s->id, (long long)block_of(s));
}

/* ATTENTION: one task per batch element (the rows' leading axes): its products through
 * the BLAS on one thread, its softmax rows and elementwise ops, every block it makes in
 * the thread's scratch (in cache), but the values others read, written to memory. bf16
 * values (--precision=bf16) are computed in rt_real blocks of the scratch too: an input's
 * block widened first, a member's rounded after it is made, and written to memory at the
 * end of the task when others read it. */
static void emit_attention(CGen *g, Schedule *fn, const SchedCall *c, const char *name, Buf *kbody)
{
	const FuseGroup *grp = c->g;
	const Type *sp = &grp->space;
	Buf params = {0}, args = {0}, body = {0}, tail = {0};
	int64_t scratch = 0;
	int64_t *at = arena_alloc(g->a, sizeof *at * (size_t)(grp->nins + 1));
	for (int i = 0; i < grp->nins; i++) {
		const Ins *x = grp->ins[i];
		if (fn->need[x->id]) {
			declare(g, fn, x);
			buf_printf(&params, ", %s *v%d", ctype(x), x->id);
			buf_printf(&args, ", %s", v(g, x));
		}
		if (!fn->need[x->id] || x->type.dt == DT_BF16) {
			at[i] = scratch;
			scratch += block_of(x);
		}
	}
	/* inputs: blocks, or scalars; bf16 blocks widened into the scratch */
	for (int i = 0; i < grp->nins; i++)
		for (int k = 0; k < grp->ins[i]->nargs; k++) {
			const Ins *s = sched_src(grp->ins[i]->args[k]);
			bool dup = false;
			for (int j = 0; j < grp->nins && !dup; j++)
				dup = grp->ins[j] == s;
			for (int i2 = 0; i2 <= i && !dup; i2++)
				for (int k2 = 0; k2 < (i2 < i ? grp->ins[i2]->nargs : k); k2++)
					dup |= sched_src(grp->ins[i2]->args[k2]) == s;
			if (dup || sched_const_full(fn, s))
				continue;
			declare(g, fn, s);
			buf_printf(&params, ", const %s *v%d", ctype(s), s->id);
			buf_printf(&args, ", %s", v(g, s));
			if (s->type.dt == DT_BF16 && type_numel(&s->type, 1) != 1) {
				buf_printf(&body, "\t\t\trt_real *w%d = scratch + %lld;\n", s->id, (long long)scratch);
				buf_printf(&body, "\t\t\tfor (int64_t e = 0; e < %lld; e++)\n\t\t\t\tw%d[e] = rt_real_of_bf16(v%d[be * %lld + e]);\n",
				           (long long)block_of(s), s->id, s->id, (long long)block_of(s));
				scratch += block_of(s);
			}
		}
	/* block pointers of this batch element; a bf16 one others read goes to memory last */
	for (int i = 0; i < grp->nins; i++) {
		const Ins *x = grp->ins[i];
		if (fn->need[x->id] && x->type.dt != DT_BF16)
			buf_printf(&body, "\t\t\trt_real *b%d = v%d + be * %lld;\n", x->id, x->id, (long long)block_of(x));
		else
			buf_printf(&body, "\t\t\trt_real *b%d = scratch + %lld;\n", x->id, (long long)at[i]);
		if (fn->need[x->id] && x->type.dt == DT_BF16)
			buf_printf(&tail, "\t\t\tfor (int64_t e = 0; e < %lld; e++)\n\t\t\t\tv%d[be * %lld + e] = rt_bf16_of_real(b%d[e]);\n",
			           (long long)block_of(x), x->id, (long long)block_of(x), x->id);
	}
	int64_t rows = sp->dim[sp->rank - 2], cols = sp->dim[sp->rank - 1];
	for (int i = 0; i < grp->nins; i++) {
		const Ins *x = grp->ins[i];
		buf_printf(&body, "\t\t\t/* %s */\n", op_info(x->op)->name);
		if (x->op == OP_matmul) {
			const Ins *a = sched_src(x->args[0]), *b = sched_src(x->args[1]);
			const Type *ta = &x->args[0]->type, *tb = &x->args[1]->type;
			int64_t ar = ta->dim[ta->rank - 2], ac = ta->dim[ta->rank - 1], br = tb->dim[tb->rank - 2],
			        bc = tb->dim[tb->rank - 1];
			int64_t m = x->attr[0].i ? ac : ar, k = x->attr[0].i ? ar : ac, n = x->attr[1].i ? br : bc;
			buf_printf(&body, "\t\t\trt_gemm(%lld, %lld, %lld, %lld, %lld, %s, %lld, %s, %lld, 0, b%d, %lld);\n",
			           (long long)x->attr[0].i, (long long)x->attr[1].i, (long long)m, (long long)n, (long long)k,
			           attn_operand(g, grp, a), (long long)ac, attn_operand(g, grp, b), (long long)bc, x->id, (long long)n);
			if (x->type.dt == DT_BF16) /* the product's value is its bf16 rounding */
				buf_printf(&body, "\t\t\tfor (int64_t e = 0; e < %lld; e++)\n\t\t\t\tb%d[e] = rt_round_bf16(b%d[e]);\n",
				           (long long)block_of(x), x->id, x->id);
		} else if (x->op == OP_softmax) {
			buf_printf(&body, "\t\t\trt_softmax_rows(b%d, %s, %lld, %lld);\n", x->id, attn_operand(g, grp, sched_src(x->args[0])),
			           (long long)rows, (long long)cols);
		} else if (x->op == OP_softmax_grad) {
			buf_printf(&body, "\t\t\trt_softmax_grad_rows(b%d, %s, %s, %lld, %lld);\n", x->id,
			           attn_operand(g, grp, sched_src(x->args[0])), attn_operand(g, grp, sched_src(x->args[1])), (long long)rows, (long long)cols);
		} else {
			Loop l = {g, fn, c, grp, sp, arena_alloc(g->a, sizeof(bool) * (size_t)(grp->nins + 1)), g->float_bytes == 4};
			SchedCall one = {.kind = SCHED_LOOP, .g = grp, .lo = i, .hi = i + 1};
			l.c = &one;
			/* operands at element e of the block */
			const char *ops[2] = {"0", "0"};
			for (int k = 0; k < x->nargs && k < 2; k++) {
				const Ins *s = sched_src(x->args[k]);
				ops[k] = member_of(grp, s)               ? arena_printf(g->a, "b%d[e]", s->id)
				         : sched_const_full(fn, s)             ? arena_printf(g->a, "(rt_real)%s", c_double(g, s->attr[2].f))
				         : s->type.dt == DT_BF16 && type_numel(&s->type, 1) == 1
				             ? arena_printf(g->a, "rt_real_of_bf16(v%d[0])", s->id)
				         : type_numel(&s->type, 1) == 1 ? arena_printf(g->a, "v%d[0]", s->id)
				         : s->type.dt == DT_BF16 ? arena_printf(g->a, "w%d[e]", s->id)
				                                         : arena_printf(g->a, "v%d[be * %lld + e]", s->id,
				                                                        (long long)block_of(s));
			}
			buf_printf(&body, "#pragma omp simd\n\t\t\tfor (int64_t e = 0; e < %lld; e++)\n\t\t\t\tb%d[e] = %s;\n",
			           (long long)block_of(x), x->id, elem_expr(&l, x, ops[0], ops[1]));
		}
	}
	buf_printf(&body, "%s", tail.p ? tail.p : "");
	buf_free(&tail);
	Buf lead = {0};
	for (int d = 0; d < sp->rank - 2; d++)
		buf_printf(&lead, "%s%s", d ? " * " : "", sp->dim[d] == DIM_B ? "B" : arena_printf(g->a, "%lld", (long long)sp->dim[d]));
	Buf k = {0};
	buf_printf(&k,
	           "int @NAME@(int64_t B%s)\n{\n"
	           "\tconst int64_t batch = %s; /* one task each: its blocks stay in cache */\n"
	           "\tint failed = 0;\n"
	           "#pragma omp parallel\n"
	           "\t{\n"
	           "\t\trt_real *scratch = malloc(sizeof(rt_real) * %lld);\n"
	           "#pragma omp for schedule(static)\n"
	           "\t\tfor (int64_t be = 0; be < batch; be++) {\n"
	           "\t\t\tif (!scratch) {\n"
	           "#pragma omp atomic write\n"
	           "\t\t\t\tfailed = 1;\n"
	           "\t\t\t\tcontinue;\n"
	           "\t\t\t}\n%s"
	           "\t\t}\n"
	           "\t\tfree(scratch);\n"
	           "\t}\n"
	           "\treturn failed ? RT_CPU_ENOMEM : 0;\n}\n\n",
	           params.p ? params.p : "", lead.p, (long long)(scratch ? scratch : 1), body.p);
	name = kernel_once(g, kbody, k.p, name,
	                   arena_printf(g->a, "kernel %d (attention): %s; %s", grp->id, cgen_ops_list(g, grp, 0, grp->nins),
	                                cgen_where(g, grp->root->loc)));
	buf_free(&k);
	int sid = site(g, "attention", arena_printf(g->a, "kernel %d: %s", grp->id, cgen_ops_list(g, grp, 0, grp->nins)),
	               grp->root->loc);
	buf_printf(g->out, "\t/* kernel %d (attention): %s; %s */\n", grp->id, cgen_ops_list(g, grp, 0, grp->nins),
	           c_comment(g, cgen_where(g, grp->root->loc)));
	for (int i = 0; i < grp->nins; i++)
		if (fn->need[grp->ins[i]->id])
			anomaly(g, grp->ins[i], v(g, grp->ins[i]));
	emit_run(g, sid, arena_printf(g->a, "%s(B%s)", name, args.p ? args.p : ""));
	buf_free(&lead);
	buf_free(&params);
	buf_free(&args);
	buf_free(&body);
}

/* ---------- functions ---------- */

/* The instructions a call runs. */
static int call_members(const SchedCall *c, const Ins *const **mem)
{
	if (c->kind == SCHED_RUNTIME || !c->g) {
		*mem = &c->ins;
		return 1;
	}
	if (c->kind == SCHED_LOOP || c->kind == SCHED_ROW) {
		*mem = (const Ins *const *)c->g->ins + c->lo;
		return c->hi - c->lo;
	}
	*mem = (const Ins *const *)c->g->ins;
	return c->g->nins;
}

/* After call k: GRAD_READY for each parameter whose gradient's last store it ran. */
static void emit_grad_ready(CGen *g, const SchedCall *c, int k, const int *last_store)
{
	const Ins *const *mem;
	int n = call_members(c, &mem);
	for (int i = 0; i < n; i++) {
		const Ins *x = mem[i];
		if (x->op != OP_store || strcmp(x->attr[1].s, "grad") != 0)
			continue;
		const Param *p = x->attr[0].g;
		if (last_store[p->index] != k)
			continue;
		buf_printf(g->out, "\tGRAD_READY(%lld, %lld); /* $%s */\n", (long long)g->state_offset[2 * p->index + 1],
		           (long long)type_numel(&x->args[0]->type, 1), c_comment(g, p->name));
	}
}

/* A recipe's step: int NAME(RtState *st, int64_t B, const rt_real *images,
 * const int32_t *labels, rt_real *results), its scalar results in results[];
 * its update: int NAME(RtState *st);
 * a model's forward: int NAME(RtState *st, int64_t B, const rt_real *images,
 * rt_real *const *outs), its results copied to outs[]. */
static void emit_func_c(CGen *g, const Func *f, FuncKind kind, int64_t batch)
{
	CTarget *ct = g->target_state;
	bool is_step = kind != FUNC_UPDATE;
	ct->update = kind == FUNC_UPDATE;
	g->f = f;
	cgen_name_values(g, f);
	Schedule *fn = plan_func(g, f, batch);
	if (!fn)
		return;
	cgen_plan_fits(g, f, batch);
	buf_printf(g->out, "\n/* @%s", c_comment(g, f->name));
	if (f->loc.file)
		buf_printf(g->out, ", from %s:%d", c_comment(g, f->loc.file), f->loc.line);
	buf_printf(g->out, "; %d kernels; activations %lld bytes at batch %lld. */\n", fn->fp->kernels,
	           (long long)g->plan->size, (long long)batch);
	if (kind == FUNC_STEP)
		buf_printf(g->out, "static int %s(RtState *st, int64_t B, const rt_real *images, const int32_t *labels, "
		                   "rt_real *results)\n{\n",
		           c_name(g, f->name));
	else if (kind == FUNC_MODEL)
		buf_printf(g->out, "static int model_%s(RtState *st, int64_t B, const rt_real *images, rt_real *const *outs)\n"
		                   "{\n\tconst int32_t *labels = NULL;\n",
		           c_name(g, f->name));
	else
		buf_printf(g->out, "static int %s(RtState *st)\n{\n", c_name(g, f->name));
	size_t body_at = g->out->n; /* an update declares B = 1 when its calls pass it */
	int narg = 0;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (ins->op != OP_arg)
			continue;
		ct->declared[ins->id] = true;
		if (!is_step || narg > 1) {
			cgen_fail(g, ins, "the C target passes a step at most two arguments: the images and the labels");
			continue;
		}
		bool label = narg++ == 1;
		if (label != (ins->type.dt == DT_I32))
			cgen_fail(g, ins, "the C target expects f32 images and then i32 labels");
		buf_printf(g->out, "\t%s%s *%s = %s;\n", "const ", ctype(ins), v(g, ins), label ? "labels" : "images");
	}
	if (is_step && narg < 2)
		buf_puts(g->out, "\t(void)labels;\n");
	if (kind == FUNC_MODEL && narg != 1)
		cgen_fail(g, NULL, "the C target runs models of one argument (the images); @%s takes %d", f->name, narg);
	if (is_step && narg < 1)
		buf_puts(g->out, "\t(void)images;\n");
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (ins->op != OP_scalar)
			continue;
		if (host_scalar_index(ins->attr[0].s) < 0)
			cgen_fail(g, ins, "the C target has no host scalar '%s'", ins->attr[0].s);
		cgen_comment(g, ins, "");
		declare(g, fn, ins);
		buf_printf(g->out, "\t%s[0] = st->s.%s;\n", v(g, ins), ins->attr[0].s);
	}
	/* per parameter, the call holding the last store into its gradient */
	int *last_store = NULL;
	if (kind == FUNC_STEP) {
		int nparams = (int)g->m->params.n;
		last_store = arena_alloc(g->a, sizeof(int) * (size_t)(nparams ? nparams : 1));
		for (int i = 0; i < nparams; i++)
			last_store[i] = -1;
		for (int k = 0; k < fn->calls.n; k++) {
			const Ins *const *mem;
			int n = call_members(&fn->calls.p[k], &mem);
			for (int i = 0; i < n; i++)
				if (mem[i]->op == OP_store && strcmp(mem[i]->attr[1].s, "grad") == 0)
					last_store[mem[i]->attr[0].g->index] = k;
		}
	}
	int seq = 0;
	for (int k = 0; k < fn->calls.n; k++) {
		const SchedCall *c = &fn->calls.p[k];
		if (kind == FUNC_UPDATE && !multi_shards(fn, c))
			buf_printf(g->out, "	if (st->shard_lo > 0 || st->shard_hi < %lld) {\n"
			                   "\t\tfprintf(stderr, \"trainer: @%s: --zero 1 needs an update of multi-tensor loops only\\n\");\n"
			                   "\t\treturn 1;\n\t}\n",
			           (long long)g->state_numel, c_comment(g, f->name));
		const char *name = c->kind == SCHED_LOOP || c->kind == SCHED_MULTI || c->kind == SCHED_ATTN
		                       ? arena_printf(g->a, "%s_k%d_%d", c_name(g, f->name), c->g->id, seq++)
		                       : NULL;
		switch (c->kind) {
		case SCHED_RUNTIME:
			for (int j = 0; j < c->ins->nargs; j++)
				declare(g, fn, c->ins->args[j]);
			if (memplan_needs_buffer(c->ins))
				declare(g, fn, c->ins);
			emit_runtime(g, c->ins);
			break;
		case SCHED_ACCUM: emit_accum(g, fn, c); break;
		case SCHED_ATTN: emit_attention(g, fn, c, name, &ct->kernels); break;
		case SCHED_ROW: BUG("the C target's schedule has no row calls (lower_c)");
		case SCHED_LOOP:
			emit_loop(g, fn, c, &c->g->space, name, &ct->kernels);
			break;
		case SCHED_MULTI:
			if (emit_multi(g, fn, c, name, &ct->kernels))
				break;
			for (int p = 0; p < c->g->nparts; p++) { /* part by part */
				SchedCall part = {.kind = SCHED_LOOP, .g = c->g, .lo = c->g->part[p], .hi = c->g->part[p + 1]};
				const char *pname = arena_printf(g->a, "%s_%d", name, p);
				emit_loop(g, fn, &part, &c->g->part_space[p], pname, &ct->kernels);
			}
			break;
		}
		if (last_store)
			emit_grad_ready(g, c, k, last_store);
	}
	for (int i = 0; i < f->rets.n; i++) {
		const Ins *r = f->rets.p[i];
		const char *what = f->ret_names.p[i] ? c_comment(g, f->ret_names.p[i]) : "";
		declare(g, fn, r);
		if (kind == FUNC_MODEL)
			buf_printf(g->out, "\tmemcpy(outs[%d], %s, sizeof(%s) * (size_t)(%s)); /* %s */\n", i, v(g, r), ctype(r),
			           numel(g, &r->type), what);
		else
			buf_printf(g->out, "\tresults[%d] = %s[0]; /* %s */\n", i, v(g, r), what);
	}
	if (kind == FUNC_STEP && f->rets.n == 0)
		buf_puts(g->out, "\t(void)results;\n");
	if (kind == FUNC_UPDATE && uses_ident(g->out->p + body_at, "B")) {
		char *rest = arena_strdup(g->a, g->out->p + body_at);
		g->out->n = body_at;
		buf_printf(g->out, "\tconst int64_t B = 1;\n%s", rest);
	}
	buf_puts(g->out, "\treturn 0;\n}\n");
	g->f = NULL;
	g->names = NULL;
}

/* ---------- tables ---------- */

int64_t setting_int(const Recipe *r, RecipeKey key)
{
	const RSetting *s = recipe_setting(r, key);
	return s && s->val.kind == RV_INT ? s->val.i : 0;
}

static double setting_num(const Recipe *r, RecipeKey key, int item)
{
	const RSetting *s = recipe_setting(r, key);
	if (!s)
		return 0;
	const RVal *v = s->val.kind == RV_LIST ? &s->val.items[item] : &s->val;
	return v->kind == RV_INT ? (double)v->i : v->f;
}

const char *setting_word(const Recipe *r, RecipeKey key)
{
	const RSetting *s = recipe_setting(r, key);
	return s && (s->val.kind == RV_IDENT || s->val.kind == RV_FUNC) ? s->val.s : "";
}

static double rv_num(const RVal *v)
{
	return v->kind == RV_INT ? (double)v->i : v->f;
}

/* An image_folder recipe's RtImageSpec (trainer.h) as C; zeros for other data. The IR
 * may leave a setting out: its default (ir/recipe.def). */
/* Whether the data set `name` is read with the recipe's transforms (an image folder): its
 * row of runtime/formats/datasets.def has a shape of 0s, the loss's. */
static bool data_has_transforms(const char *name)
{
	static const struct {
		const char *name;
		int channels;
	} sets[] = {
#define RT_DATASET(id, name, channels, height, width, loader) {#name, channels},
#include "../runtime/formats/datasets.def"
#undef RT_DATASET
	};
	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
		if (strcmp(sets[i].name, name) == 0)
			return sets[i].channels == 0;
	return false;
}

/* The recipe table's .images (RtImageSpec) of an image-folder recipe; "" for the others. */
static const char *image_spec(CGen *g, const Recipe *r, const Type *image)
{
	if (!data_has_transforms(setting_word(r, RK_data)))
		return "";
	double mean[3] = {0.5, 0.5, 0.5}, sd[3] = {0.5, 0.5, 0.5}, scale[2] = {0, 0}, ratio[2] = {0, 0}, flip = 0;
	int64_t side = image->dim[2] > image->dim[3] ? image->dim[2] : image->dim[3];
	int64_t val_resize = setting_int(r, RK_val_resize), resize = 0;
	if (!val_resize)
		val_resize = (int64_t)((double)side / 0.875); /* the official MAE's int(input_size / crop_pct), 224 -> 256 */
	for (int k = RK_mean; k <= RK_std; k++) {
		const RSetting *s = recipe_setting(r, (RecipeKey)k);
		for (int c = 0; s && s->val.kind == RV_LIST && c < 3; c++)
			(k == RK_mean ? mean : sd)[c] = setting_num(r, (RecipeKey)k, s->val.nitems == 1 ? 0 : c);
	}
	bool random_crop = false;
	const RSetting *aug = recipe_setting(r, RK_augment);
	for (int i = 0; aug && aug->val.kind == RV_LIST && i < aug->val.nitems; i++) {
		const RVal *it = aug->val.items[i].items;
		int kind = augment_find(it[0].s);
		if (kind == AUG_random_resized_crop) {
			random_crop = true;
			scale[0] = rv_num(&it[2]), scale[1] = rv_num(&it[3]), ratio[0] = rv_num(&it[4]), ratio[1] = rv_num(&it[5]);
		} else if (kind == AUG_resize)
			resize = (int64_t)rv_num(&it[1]);
		else if (kind == AUG_horizontal_flip)
			flip = rv_num(&it[1]);
	}
	const RSetting *folder = recipe_setting(r, RK_folder);
	const char *dir = folder && folder->val.kind == RV_STR && *folder->val.s ? c_str(g, folder->val.s) : "NULL";
	return arena_printf(g->a, "\t\t.images = {.folder = %s, .mean = {%s, %s, %s}, .std = {%s, %s, %s}, .random_crop = %d,\n"
	                          "\t\t           .scale = {%s, %s}, .ratio = {%s, %s}, .resize = %lld, .flip = %s, .val_resize = %lld},\n",
	                    dir,
	                    c_double(g, mean[0]), c_double(g, mean[1]), c_double(g, mean[2]), c_double(g, sd[0]),
	                    c_double(g, sd[1]), c_double(g, sd[2]), random_crop, c_double(g, scale[0]), c_double(g, scale[1]),
	                    c_double(g, ratio[0]), c_double(g, ratio[1]), (long long)(resize ? resize : val_resize),
	                    c_double(g, flip), (long long)val_resize);
}

static void emit_params(CGen *g)
{
	const Module *m = g->m;
	buf_puts(g->out, "\n/* Every parameter: name, shape, place in the slabs, initialiser. */\n"
	                 "static const RtParamDesc params[] = {\n");
	for (int i = 0; i < m->params.n; i++) {
		const Param *p = m->params.p[i];
		buf_printf(g->out, "\t{%s, %d, {", c_str(g, p->name), p->type.rank);
		for (int k = 0; k < p->type.rank; k++)
			buf_printf(g->out, "%s%lld", k ? ", " : "", (long long)p->type.dim[k]);
		const InitInfo *ii = init_info(p->init);
		char *kind = arena_strdup(g->a, ii->name); /* inits.def: RT_INIT_KIND is the name in capitals */
		for (char *c = kind; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		buf_printf(g->out, "}, %lld, %lld, %lld, RT_INIT_%s, {", (long long)type_numel(&p->type, 1),
		           (long long)g->state_offset[2 * i], (long long)g->state_offset[2 * i + 1], kind);
		for (int k = 0; k < 4; k++)
			buf_printf(g->out, "%s%s", k ? ", " : "", c_double(g, k < ii->nargs ? p->init_arg[k] : 0.0));
		buf_printf(g->out, "}, %d},\n", p->frozen);
	}
	buf_puts(g->out, "};\n");
}

static void emit_models(CGen *g)
{
	const Module *m = g->m;
	for (int i = 0; i < m->funcs.n; i++) {
		const Func *f = m->funcs.p[i];
		if (!func_is_model(f))
			continue;
		int64_t batch = 1;
		for (int k = 0; k < m->recipes.n; k++) /* the largest micro-batch that runs it */
			if (strcmp(setting_word(m->recipes.p[k], RK_model), f->name) == 0 &&
			    setting_int(m->recipes.p[k], RK_micro_batch) > batch)
				batch = setting_int(m->recipes.p[k], RK_micro_batch);
		g->emit_func(g, f, FUNC_MODEL, batch);
		bool random = false;
		for (int k = 0; k < f->body.n; k++)
			random |= f->body.p[k]->op == OP_randperm;
		buf_printf(g->out, "\nstatic const char *const %s_outs[] = {", c_name(g, f->name));
		for (int k = 0; k < f->rets.n; k++)
			buf_printf(g->out, "%s%s", k ? ", " : "", f->ret_names.p[k] ? c_str(g, f->ret_names.p[k]) : "NULL");
		buf_printf(g->out, "%s};\nstatic const int64_t %s_out_numel[] = {", f->rets.n ? "" : "NULL", c_name(g, f->name));
		for (int k = 0; k < f->rets.n; k++)
			buf_printf(g->out, "%s%lld", k ? ", " : "", (long long)type_numel(&f->rets.p[k]->type, 1));
		buf_printf(g->out, "%s};\nenum { %s_random = %d, %s_max_batch = %lld, %s_act_bytes = %lld };\n",
		           f->rets.n ? "" : "0", c_name(g, f->name), random, c_name(g, f->name), (long long)batch,
		           c_name(g, f->name), (long long)g->plan->size);
		buf_printf(g->out, "\n/* The state_dict of model %s. */\nstatic const RtName %s_names[] = {\n", c_comment(g, f->name),
		           c_name(g, f->name));
		for (int k = 0; k < f->body.n; k++)
			if (f->body.p[k]->op == OP_param)
				buf_printf(g->out, "\t{%d, %s},\n", f->body.p[k]->attr[0].g->index, c_str(g, f->body.p[k]->attr[1].s));
		buf_puts(g->out, "};\n");
	}
	buf_puts(g->out, "\nstatic const RtModelDesc models[] = {\n");
	for (int i = 0; i < m->funcs.n; i++)
		if (func_is_model(m->funcs.p[i]))
		{
			const char *n = c_name(g, m->funcs.p[i]->name);
			buf_printf(g->out,
			           "\t{%s, %s_names, (int)(sizeof %s_names / sizeof *%s_names), model_%s, %d, %s_outs, %s_out_numel,\n"
			           "\t %s_random, %s_max_batch, %s_act_bytes},\n",
			           c_str(g, m->funcs.p[i]->name), n, n, n, n, m->funcs.p[i]->rets.n, n, n, n, n, n);
		}
	buf_puts(g->out, "};\n");
}

static int model_index(const Module *m, const char *name)
{
	int k = 0;
	for (int i = 0; i < m->funcs.n; i++)
		if (func_is_model(m->funcs.p[i])) {
			if (strcmp(m->funcs.p[i]->name, name) == 0)
				return k;
			k++;
		}
	return -1;
}

static const char *split_code(const char *s)
{
	return strcmp(s, "train") == 0 ? "0" : strcmp(s, "test") == 0 ? "1" : "-1";
}

static void emit_recipe(CGen *g, const Recipe *r, Buf *table)
{
	const Module *m = g->m;
	const char *rn = c_name(g, r->name);
	const Func *step = module_find_func(m, arena_printf(g->a, "%s.step", r->name));
	const Func *update = module_find_func(m, arena_printf(g->a, "%s.update", r->name));
	if (!step || !update) {
		cgen_fail(g, NULL, "recipe '%s' has no @%s.step and @%s.update: run the optim pass first", r->name, r->name, r->name);
		return;
	}
	const Func *loss = module_find_func(m, arena_printf(g->a, "%s.loss", r->name));
	int64_t micro = setting_int(r, RK_micro_batch);
	g->emit_func(g, step, FUNC_STEP, micro);
	int64_t act = g->plan->size;
	g->emit_func(g, update, FUNC_UPDATE, 1);
	act = act > g->plan->size ? act : g->plan->size;
	if (loss) { /* the evaluation: the loss and metrics alone */
		g->emit_func(g, loss, FUNC_STEP, micro);
		act = act > g->plan->size ? act : g->plan->size;
	}
	/* What the trainer needs to know: results, trained parameters, the permutation. */
	buf_printf(g->out, "\nstatic const char *const %s_results[] = {", rn);
	for (int i = 0; i < step->rets.n; i++)
		buf_printf(g->out, "%s%s", i ? ", " : "", step->ret_names.p[i] ? c_str(g, step->ret_names.p[i]) : "NULL");
	buf_printf(g->out, "%s};\nstatic const int %s_trained[] = {", step->rets.n ? "" : "NULL", rn);
	int ntrained = 0;
	for (int i = 0; i < update->body.n; i++) {
		const Ins *ins = update->body.p[i];
		if (ins->op == OP_store && strcmp(ins->attr[1].s, "param") == 0)
			buf_printf(g->out, "%s%d", ntrained++ ? ", " : "", ins->attr[0].g->index);
	}
	buf_printf(g->out, "%s};\n", ntrained ? "" : "-1");
	int64_t perm_len = 0;
	int nargs = 0;
	const Type *image = NULL;
	for (int i = 0; i < step->body.n; i++) {
		const Ins *ins = step->body.p[i];
		if (ins->op == OP_arg && nargs++ == 0)
			image = &ins->type;
		if (ins->op == OP_randperm && ins->attr[2].i == 0)
			perm_len = ins->type.dim[ins->type.rank - 1];
	}
	if (!image || image->rank != 4) {
		cgen_fail(g, NULL, "recipe '%s': the %s target feeds images of shape [B, C, H, W] to the loss", r->name,
		          g->target);
		return;
	}
	const RSetting *train = recipe_setting(r, RK_train);
	Buf tr = {0};
	if (train && train->val.kind == RV_LIST)
		for (int i = 0; i < train->val.nitems; i++)
			buf_printf(&tr, "%s%s", i ? "," : "", train->val.items[i].s);
	else
		buf_puts(&tr, "all");
	const char *init = setting_word(r, RK_init);
	const char *sname = setting_word(r, RK_schedule); /* IR text may leave it out: the default */
	char *sched = arena_printf(g->a, "RT_%s", *sname ? sname : recipe_key_defaults[RK_schedule]); /* RtSchedule */
	for (char *c = sched; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	char *data = arena_strdup(g->a, setting_word(r, RK_data)); /* RT_DATA_NAME (datasets.def) */
	if (!*data)
		cgen_fail(g, NULL, "recipe '%s' names no data set (data = NAME of runtime/formats/datasets.def)", r->name);
	for (char *c = data; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	buf_printf(table,
	           "\t{\n\t\t.name = %s, .model = %d, .data = RT_DATA_%s, .train_split = %s, .val_split = %s,\n"
	           "\t\t.lr = %s, .beta1 = %s, .beta2 = %s, .eps = %s, .weight_decay = %s,\n"
	           "\t\t.schedule = %s, .warmup = %lld, .epochs = %lld, .batch = %lld, .micro_batch = %lld, .seed = %lld,\n"
	           "\t\t.init = %s, .train = %s,\n",
	           c_str(g, r->name), model_index(m, setting_word(r, RK_model)), data,
	           split_code(setting_word(r, RK_train_split)), split_code(setting_word(r, RK_val_split)),
	           c_double(g, setting_num(r, RK_lr, 0)), c_double(g, setting_num(r, RK_betas, 0)),
	           c_double(g, setting_num(r, RK_betas, 1)), c_double(g, setting_num(r, RK_eps, 0)),
	           c_double(g, setting_num(r, RK_weight_decay, 0)), sched, (long long)setting_int(r, RK_warmup),
	           (long long)setting_int(r, RK_epochs), (long long)setting_int(r, RK_batch), (long long)micro,
	           (long long)setting_int(r, RK_seed), strcmp(init, "scratch") == 0 || !*init ? "NULL" : c_str(g, init),
	           c_str(g, tr.p));
	buf_printf(table,
	           "\t\t.nargs = %d, .image = {%lld, %lld, %lld}, .nresults = %d, .result_names = %s_results,\n"
	           "\t\t.perm_len = %lld, .trained = %s_trained, .ntrained = %d,\n"
	           "\t\t.step = %s, .update = %s, .eval = %s, .act_bytes = %lld,\n%s\t},\n",
	           nargs, (long long)image->dim[1], (long long)image->dim[2], (long long)image->dim[3], step->rets.n, rn,
	           (long long)perm_len, rn, ntrained, c_name(g, step->name), c_name(g, update->name),
	           loss ? c_name(g, loss->name) : "NULL", (long long)act, image_spec(g, r, image));
	buf_free(&tr);
}

/* Trained parameters get a place in the state slabs; every one in the parameter slab. */
static void lay_out_state(CGen *g, int64_t *params_numel, int64_t *state_numel)
{
	const Module *m = g->m;
	g->state_offset = arena_alloc(g->a, sizeof *g->state_offset * (size_t)(2 * m->params.n + 1));
	for (int i = 0; i < m->params.n; i++)
		g->state_offset[2 * i + 1] = -1;
	int64_t pn = 0, sn = 0;
	for (int i = 0; i < m->params.n; i++) {
		g->state_offset[2 * i] = pn;
		pn += type_numel(&m->params.p[i]->type, 1);
	}
	for (int f = 0; f < m->funcs.n; f++)
		for (int k = 0; k < m->funcs.p[f]->body.n; k++) {
			const Ins *ins = m->funcs.p[f]->body.p[k];
			if ((ins->op == OP_state || ins->op == OP_store) && g->state_offset[2 * ins->attr[0].g->index + 1] < 0 &&
			    strcmp(ins->attr[1].s, "param") != 0) {
				g->state_offset[2 * ins->attr[0].g->index + 1] = sn;
				sn += type_numel(&ins->attr[0].g->type, 1);
			}
		}
	*params_numel = pn;
	*state_numel = sn;
}

void cgen_tables(CGen *g, const char *source, const char *device)
{
	const Module *m = g->m;
	Buf *out = g->out;
	lay_out_state(g, &g->params_numel, &g->state_numel);
	buf_puts(out, "\nstatic const RtConst consts[] = {\n");
	for (int i = 0; i < m->consts.n; i++) {
		const RVal *v = &m->consts.p[i].val;
		buf_printf(out, "\t{%s, %s},\n", c_str(g, m->consts.p[i].key), c_double(g, v->kind == RV_INT ? (double)v->i : v->f));
	}
	if (m->consts.n == 0)
		buf_puts(out, "\t{NULL, 0},\n");
	buf_puts(out, "};\n");
	emit_params(g);
	emit_models(g);
	Buf table = {0};
	for (int i = 0; i < m->recipes.n; i++)
		emit_recipe(g, m->recipes.p[i], &table);
	buf_printf(out, "\nstatic const RtRecipeDesc recipes[] = {\n%s};\n", table.p ? table.p : "");
	buf_free(&table);
	buf_printf(out,
	           "\nstatic const RtProgram program = {\n"
	           "\t%s, \"%s\", consts, %d, params, (int)(sizeof params / sizeof *params), %lld, %lld,\n"
	           "\tmodels, (int)(sizeof models / sizeof *models), recipes, (int)(sizeof recipes / sizeof *recipes), %s,\n"
	           "\t%s, /* bf16 storage (maec --precision=%s) */\n"
	           "\t\"%s\", /* maec --recompute */\n"
	           "};\n\nint main(int argc, char **argv)\n{\n\treturn rt_main(&program, argc, argv);\n}\n",
	           c_str(g, source), MAEC_VERSION, m->consts.n, (long long)g->params_numel, (long long)g->state_numel,
	           device, m->precision == PRECISION_BF16 ? "true" : "false", precision_name(m->precision),
	           remat_policy_name(m->remat ? m->remat->policy : REMAT_NONE));
}

/* The optimised section's preamble: GELU and its gradient as cpu.c computes them, with
 * erff and expf from glibc's vector library where GCC can call it from a simd loop. */
static const char kernels_preamble[] =
	"#include <math.h>\n#include <stdlib.h>\n"
	"#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && defined(__GLIBC__) && "
	"!defined(MAEC_NO_LIBMVEC)\n"
	"#if __GLIBC_PREREQ(2, 35)\n"
	"float erff(float) __attribute__((simd(\"notinbranch\")));\n"
	"float expf(float) __attribute__((simd(\"notinbranch\")));\n"
	"#endif\n"
	"#endif\n\n"
	"static inline rt_real gelu_(rt_real x)\n{\n"
	"\treturn x * (rt_real)0.5 * ((rt_real)1 + ERF(x * (rt_real)RT_SQRT1_2));\n}\n\n"
	"static inline rt_real gelu_grad_(rt_real x, rt_real dy)\n{\n"
	"\trt_real cdf = (rt_real)0.5 * ((rt_real)1 + ERF(x * (rt_real)RT_SQRT1_2));\n"
	"\trt_real pdf = (rt_real)RT_INV_SQRT_2PI * EXP(x * x * (rt_real)-0.5);\n"
	"\treturn dy * (cdf + x * pdf);\n}\n\n";

bool codegen_c(Buf *out, const Module *m, const char *source, bool use_double, bool naive_memory, Arena *a, Diag *d)
{
	CTarget ct = {0};
	CGen g = {.out = out, .m = m, .a = a, .d = d, .float_bytes = use_double ? 8 : 4, .target = "C",
	          .slab = {"st->params", "st->grad", "st->m", "st->v"}, .emit_func = emit_func_c, .target_state = &ct,
	          .naive_memory = naive_memory};
	buf_printf(out,
	           "/* Generated by maec %s from %s. Do not edit: change the model and run maec again.\n"
	           " *\n"
	           " * Build (maec FILE.dsl -o NAME does this): the fused kernels with optimisation, the rest\n"
	           " * without (it is straight-line calls), then link with maec's trainer library:\n"
	           " *   cc -O3 -march=native -fopenmp -DMAEC_KERNELS -I<maec>/runtime -c this.c -o kernels.o\n"
	           " *   cc -fopenmp -I<maec>/runtime this.c kernels.o libmaec_trainer_float.a -lopenblas -lz -lm\n"
	           " * Run: NAME RECIPE --data DIR; NAME --help.\n"
	           " */\n"
	           "#include <stdio.h>\n#include <string.h>\n\n#include \"train/trainer.h\"\n\n"
	           "_Static_assert(sizeof(rt_real) == %d, \"this trainer was generated for %s: build it with "
	           "-DMAEC_REAL=%s\");\n",
	           MAEC_VERSION, c_comment(&g, source), g.float_bytes, use_double ? "double" : "float",
	           use_double ? "double" : "float");
	/* The functions first, into their own buffer: the kernels and the table of call sites
	 * go before them. */
	Buf body = {0};
	g.out = &body;
	cgen_tables(&g, source, "NULL");
	g.out = out;
	buf_printf(out, "\n/* The fused kernels (kernel=N in the IR), one function each. */\n%s",
	           ct.protos.p ? ct.protos.p : "");
	buf_printf(out, "\n#ifdef MAEC_KERNELS\n\n#define ERF %s\n#define EXP %s\n%s%s", use_double ? "erf" : "erff",
	           use_double ? "exp" : "expf", kernels_preamble, ct.kernels.p ? ct.kernels.p : "");
	buf_printf(out,
	           "#else /* the trainer */\n\n"
	           "/* Every kernel call: timed with --profile; a failing one names its op and the DSL\n"
	           " * line it came from (prof_sites[site]); with --detect-anomaly, check looks at the\n"
	           " * float values it made: the first OUT(x, n, k) whose n values hold a NaN or an\n"
	           " * infinity stops the run, naming out_sites[k], the op and DSL line that made x. */\n"
	           "#define RUN(site, call, check)                                                         \\\n"
	           "\tdo {                                                                               \\\n"
	           "\t\tdouble t_ = st->prof ? rt_prof_now() : 0;                                      \\\n"
	           "\t\tint rc_ = (call);                                                            \\\n"
	           "\t\tif (rc_ != RT_CPU_OK) {                                                      \\\n"
	           "\t\t\tfprintf(stderr, \"%%s: %%s: %%s\\n\", prof_sites[site].where, prof_sites[site].ops, \\\n"
	           "\t\t\t        rt_cpu_strerror(rc_));                                               \\\n"
	           "\t\t\treturn 1;                                                                \\\n"
	           "\t\t}                                                                            \\\n"
	           "\t\tif (st->prof)                                                                \\\n"
	           "\t\t\trt_prof_add(st->prof, &prof_sites[site], t_);                             \\\n"
	           "\t\tif (st->detect_anomaly && (check))                                           \\\n"
	           "\t\t\treturn 1;                                                                \\\n"
	           "\t} while (0)\n"
	           "#define OUT(x, n, k) rt_anomaly(x, n, out_sites[k].where, out_sites[k].op)\n"
	           "/* Data parallelism: a parameter's gradient is final for this micro-batch (its last store\n"
	           " * ran), so its bucket's sum over the ranks may start while the backward goes on. */\n"
	           "#define GRAD_READY(off, n)                                                             \\\n"
	           "\tdo {                                                                               \\\n"
	           "\t\tif (st->grad_ready)                                                           \\\n"
	           "\t\t\tst->grad_ready(st, off, n);                                                  \\\n"
	           "\t} while (0)\n");
	buf_printf(out, "\n/* The kernel call sites: function, kernel, IR ops, DSL location. */\n"
	                "static const RtProfSite prof_sites[] = {\n%s};\n",
	           ct.sites.p ? ct.sites.p : "\t{-1, NULL, NULL, NULL, NULL},\n");
	buf_printf(out, "/* The values --detect-anomaly checks (OUT): the op that makes each, its DSL location. */\n"
	                "static const struct {\n\tconst char *op, *where;\n} out_sites[] = {\n%s};\n",
	           ct.out_sites.p ? ct.out_sites.p : "\t{NULL, NULL},\n");
	buf_putn(out, body.p ? body.p : "", body.n);
	buf_puts(out, "\n#endif /* MAEC_KERNELS */\n");
	buf_free(&body);
	buf_free(&ct.sites);
	buf_free(&ct.out_sites);
	buf_free(&ct.kernels);
	buf_free(&ct.protos);
	return !g.failed;
}
