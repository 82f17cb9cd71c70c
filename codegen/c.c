/* c.c: the C target. One readable C file per module: the parameter, model and recipe
 * tables the runtime's driver reads (runtime/trainer.h), and for each recipe its step
 * (forward, backward, gradient accumulation) and update (AdamW) functions, one kernel
 * call of runtime/cpu.h per IR instruction, with the DSL location it came from.
 *
 * Requires: a verified module after the optim pass.
 * Values live where memplan.c puts them in the activation slab, planned at the recipe's
 * micro-batch; arguments, parameters and optimizer state are pointers into their slabs.
 */
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

void cgen_plan_fits(CGen *g, const Func *f, int64_t batch)
{
	if (g->plan->too_big)
		cgen_fail(g, NULL,
		          "@%s: the activations at batch %lld need more than " MEMPLAN_MAX_TEXT
		          ", more than any machine holds: lower the recipe's batch or micro_batch",
		          f->name, (long long)batch);
}

/* ---------- values ---------- */

static const char *ctype(const Ins *x)
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
	return arena_printf(g->a, "v%d", x->id);
}

/* "rank, dims" of a value. */
static const char *shape(CGen *g, const Ins *x)
{
	return arena_printf(g->a, "%d, %s", x->type.rank, dims(g, &x->type));
}

static const char *esize(const Ins *x)
{
	return x->type.dt == DT_I32 ? "sizeof(int32_t)" : "sizeof(rt_real)";
}

/* ---------- instructions ---------- */

static void call(CGen *g, const Ins *ins, const char *fmt, ...) FMT(3, 4);

/* One checked kernel call: a failing status names the op and its DSL location. */
static void call(CGen *g, const Ins *ins, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *c = arena_vprintf(g->a, fmt, ap);
	va_end(ap);
	const char *where = ins->loc.file ? arena_printf(g->a, "%s:%d:%d", ins->loc.file, ins->loc.line, ins->loc.col)
	                                  : "(no location)";
	buf_printf(g->out, "\tCHECK(%s, %s, \"%s\");\n", c, c_str(g, where), op_info(ins->op)->name);
	if (ins->type.dt != DT_I32) /* the result is float: --detect-anomaly looks at it */
		buf_printf(g->out, "\tANOMALY(%s, %s, %s, \"%s\");\n", v(g, ins), numel(g, &ins->type), c_str(g, where),
		           op_info(ins->op)->name);
}

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
		buf_printf(g->out, "  %s:%d:%d", c_comment(g, ins->loc.file), ins->loc.line, ins->loc.col);
	buf_printf(g->out, "%s */\n", note);
}

static void emit_ins(CGen *g, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	const Ins *x = ins->nargs ? ins->args[0] : NULL, *y = ins->nargs > 1 ? ins->args[1] : NULL;
	bool i32 = ins->type.dt == DT_I32, xi32 = x && x->type.dt == DT_I32;
	if (!cgen_types_ok(g, ins))
		return;
	cgen_comment(g, ins, ""); /* then where the result lives */
	switch (ins->op) {
	case OP_arg: return;
	case OP_param:
	case OP_state:
		buf_printf(g->out, "\trt_real *%s = %s;\n", v(g, ins),
		           state_slab(g, ins, ins->op == OP_param ? "param" : ins->attr[1].s));
		return;
	case OP_store:
		buf_printf(g->out, "\tmemcpy(%s, %s, sizeof(rt_real) * (size_t)(%s));\n", state_slab(g, ins, ins->attr[1].s),
		           v(g, x), numel(g, &ins->type));
		return;
	default: break;
	}
	CHECK(g->plan->offset[ins->id] >= 0);
	buf_printf(g->out, "\t%s *%s = (%s *)(st->act + %lld);\n", ctype(ins), v(g, ins), ctype(ins),
	           (long long)g->plan->offset[ins->id]);
	switch (ins->op) {
	case OP_scalar:
		if (strcmp(ins->attr[0].s, "batch") && strcmp(ins->attr[0].s, "lr") && strcmp(ins->attr[0].s, "adamw_decay") &&
		    strcmp(ins->attr[0].s, "adam_neg_step_size") && strcmp(ins->attr[0].s, "adam_bc2_sqrt"))
			cgen_fail(g, ins, "the C target has no host scalar '%s'", ins->attr[0].s);
		buf_printf(g->out, "\t%s[0] = st->s.%s;\n", v(g, ins), ins->attr[0].s);
		return;
	case OP_full:
		call(g, ins, "%s(%s, %s, %s)", i32 ? "rt_fill_i32" : "rt_fill", v(g, ins), shape(g, ins),
		     arena_printf(g->a, i32 ? "%.0f" : "%.17g", ins->attr[2].f));
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
		if (xi32 && !i32)
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
		call(g, ins, "rt_layernorm(%s, %s, %s, %.17g)", v(g, ins), v(g, x), shape(g, x), ins->attr[0].f);
		return;
	case OP_layernorm_grad:
		call(g, ins, "rt_layernorm_grad(%s, %s, %s, %s, %.17g)", v(g, ins), v(g, x), v(g, y), shape(g, x),
		     ins->attr[0].f);
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
		call(g, ins, "rt_%s(%s, %s, %s, %s, %s, %lld, %lld)", oi->name, v(g, ins), v(g, x), v(g, y), shape(g, x),
		     shape(g, y), (long long)ins->attr[0].i, (long long)ins->attr[1].i);
		return;
	case OP_reshape:
		call(g, ins, "rt_copy(%s, %s, %s, %s)", v(g, ins), v(g, x), esize(x), shape(g, x));
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

/* ---------- functions ---------- */

/* A recipe's step: int NAME(RtState *st, int64_t B, const rt_real *images,
 * const int32_t *labels, rt_real *results), its scalar results in results[];
 * its update: int NAME(RtState *st);
 * a model's forward: int NAME(RtState *st, int64_t B, const rt_real *images,
 * rt_real *const *outs), its results copied to outs[]. */
static void emit_func_c(CGen *g, const Func *f, FuncKind kind, int64_t batch)
{
	bool is_step = kind != FUNC_UPDATE;
	g->f = f;
	g->plan = memplan_func(g->a, f, batch, g->float_bytes);
	cgen_plan_fits(g, f, batch);
	buf_printf(g->out, "\n/* @%s", c_comment(g, f->name));
	if (f->loc.file)
		buf_printf(g->out, ", from %s:%d", c_comment(g, f->loc.file), f->loc.line);
	buf_printf(g->out, "; activations %lld bytes at batch %lld. */\n", (long long)g->plan->size, (long long)batch);
	if (kind == FUNC_STEP)
		buf_printf(g->out, "static int %s(RtState *st, int64_t B, const rt_real *images, const int32_t *labels, "
		                   "rt_real *results)\n{\n",
		           c_name(g, f->name));
	else if (kind == FUNC_MODEL)
		buf_printf(g->out, "static int model_%s(RtState *st, int64_t B, const rt_real *images, rt_real *const *outs)\n"
		                   "{\n\tconst int32_t *labels = NULL;\n",
		           c_name(g, f->name));
	else
		buf_printf(g->out, "static int %s(RtState *st)\n{\n\tconst int64_t B = 1;\n\t(void)B;\n", c_name(g, f->name));
	int narg = 0;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (ins->op != OP_arg)
			continue;
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
	for (int i = 0; i < f->body.n; i++)
		if (f->body.p[i]->op != OP_arg)
			emit_ins(g, f->body.p[i]);
	for (int i = 0; i < f->rets.n; i++) {
		const Ins *r = f->rets.p[i];
		const char *what = f->ret_names.p[i] ? c_comment(g, f->ret_names.p[i]) : "";
		if (kind == FUNC_MODEL)
			buf_printf(g->out, "\tmemcpy(outs[%d], %s, sizeof(%s) * (size_t)(%s)); /* %s */\n", i, v(g, r), ctype(r),
			           numel(g, &r->type), what);
		else
			buf_printf(g->out, "\tresults[%d] = %s[0]; /* %s */\n", i, v(g, r), what);
	}
	if (kind == FUNC_STEP && f->rets.n == 0)
		buf_puts(g->out, "\t(void)results;\n");
	buf_puts(g->out, "\treturn 0;\n}\n");
	g->f = NULL;
}

/* ---------- tables ---------- */

int64_t setting_int(const Recipe *r, const char *key)
{
	const RSetting *s = recipe_get(r, key);
	return s && s->val.kind == RV_INT ? s->val.i : 0;
}

static double setting_num(const Recipe *r, const char *key, int item)
{
	const RSetting *s = recipe_get(r, key);
	if (!s)
		return 0;
	const RVal *v = s->val.kind == RV_LIST ? &s->val.items[item] : &s->val;
	return v->kind == RV_INT ? (double)v->i : v->f;
}

const char *setting_word(const Recipe *r, const char *key)
{
	const RSetting *s = recipe_get(r, key);
	return s && (s->val.kind == RV_IDENT || s->val.kind == RV_FUNC) ? s->val.s : "";
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
		buf_printf(g->out, "}, %lld, %lld, %lld, %d, {", (long long)type_numel(&p->type, 1),
		           (long long)g->state_offset[2 * i], (long long)g->state_offset[2 * i + 1], (int)p->init);
		for (int k = 0; k < 4; k++)
			buf_printf(g->out, "%s%.17g", k ? ", " : "", k < ii->nargs ? p->init_arg[k] : 0.0);
		buf_printf(g->out, "}, %d}, /* %s */\n", p->frozen, c_comment(g, ii->name));
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
			if (strcmp(setting_word(m->recipes.p[k], "model"), f->name) == 0 &&
			    setting_int(m->recipes.p[k], "micro_batch") > batch)
				batch = setting_int(m->recipes.p[k], "micro_batch");
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
	int64_t micro = setting_int(r, "micro_batch");
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
	const RSetting *train = recipe_get(r, "train");
	Buf tr = {0};
	if (train && train->val.kind == RV_LIST)
		for (int i = 0; i < train->val.nitems; i++)
			buf_printf(&tr, "%s%s", i ? "," : "", train->val.items[i].s);
	else
		buf_puts(&tr, "all");
	const char *init = setting_word(r, "init");
	const char *sched = setting_word(r, "schedule");
	buf_printf(table,
	           "\t{%s, %d, %s, %s, %s,\n\t %.17g, %.17g, %.17g, %.17g, %.17g,\n\t %s, %lld, %lld, %lld, %lld, %lld,\n"
	           "\t %s, %s, %d, {%lld, %lld, %lld}, %d, %s_results, %lld, %s_trained, %d, %s, %s, %s, %lld},\n",
	           c_str(g, r->name), model_index(m, setting_word(r, "model")), c_str(g, setting_word(r, "data")),
	           split_code(setting_word(r, "train_split")), split_code(setting_word(r, "val_split")),
	           setting_num(r, "lr", 0), setting_num(r, "betas", 0), setting_num(r, "betas", 1), setting_num(r, "eps", 0),
	           setting_num(r, "weight_decay", 0),
	           strcmp(sched, "constant") == 0 ? "RT_CONSTANT" : strcmp(sched, "warmup_cosine_iter") == 0
	                                                                 ? "RT_WARMUP_COSINE_ITER" : "RT_WARMUP_COSINE",
	           (long long)setting_int(r, "warmup"), (long long)setting_int(r, "epochs"), (long long)setting_int(r, "batch"),
	           (long long)micro, (long long)setting_int(r, "seed"),
	           strcmp(init, "scratch") == 0 || !*init ? "NULL" : c_str(g, init), c_str(g, tr.p), nargs,
	           (long long)image->dim[1], (long long)image->dim[2], (long long)image->dim[3], step->rets.n, rn,
	           (long long)perm_len, rn, ntrained, c_name(g, step->name), c_name(g, update->name),
	           loss ? c_name(g, loss->name) : "NULL", (long long)act);
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
		buf_printf(out, "\t{%s, %.17g},\n", c_str(g, m->consts.p[i].key), v->kind == RV_INT ? (double)v->i : v->f);
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
	           "};\n\nint main(int argc, char **argv)\n{\n\treturn rt_main(&program, argc, argv);\n}\n",
	           c_str(g, source), MAEC_VERSION, m->consts.n, (long long)g->params_numel, (long long)g->state_numel,
	           device);
}

bool codegen_c(Buf *out, const Module *m, const char *source, bool use_double, Arena *a, Diag *d)
{
	CGen g = {.out = out, .m = m, .a = a, .d = d, .float_bytes = use_double ? 8 : 4, .target = "C",
	          .slab = {"st->params", "st->grad", "st->m", "st->v"}, .emit_func = emit_func_c};
	buf_printf(out,
	           "/* Generated by maec %s from %s. Do not edit: change the model and run maec again.\n"
	           " *\n"
	           " * Build: cc -O3 -march=native -fopenmp -I<maec>/runtime this.c <maec>/runtime/{cpu,trainer,\n"
	           " *        guard,philox,init,randperm,safetensors,cifar,idx,util}.c -lopenblas -lz -lm\n"
	           " * (maec FILE.dsl -o NAME does this). Run: NAME RECIPE --data DIR; NAME --help.\n"
	           " */\n"
	           "#include <stdio.h>\n#include <string.h>\n\n#include \"trainer.h\"\n\n"
	           "_Static_assert(sizeof(rt_real) == %d, \"this trainer was generated for %s: build it with "
	           "-DMAEC_REAL=%s\");\n\n"
	           "/* A failing kernel names its op and the DSL line it came from. */\n"
	           "#define CHECK(call, where, op)                                                         \\\n"
	           "\tdo {                                                                               \\\n"
	           "\t\tint rc_ = (call);                                                            \\\n"
	           "\t\tif (rc_ != RT_CPU_OK) {                                                      \\\n"
	           "\t\t\tfprintf(stderr, \"%%s: %%s: %%s\\n\", where, op, rt_cpu_strerror(rc_));         \\\n"
	           "\t\t\treturn 1;                                                                \\\n"
	           "\t\t}                                                                            \\\n"
	           "\t} while (0)\n"
	           "/* --detect-anomaly: the first kernel whose result holds a NaN or an infinity stops the run. */\n"
	           "#define ANOMALY(out, n, where, op)                                                     \\\n"
	           "\tdo {                                                                               \\\n"
	           "\t\tif (st->detect_anomaly && rt_anomaly(out, n, where, op))                          \\\n"
	           "\t\t\treturn 1;                                                                    \\\n"
	           "\t} while (0)\n",
	           MAEC_VERSION, c_comment(&g, source), g.float_bytes, use_double ? "double" : "float", use_double ? "double" : "float");
	cgen_tables(&g, source, "NULL");
	return !g.failed;
}
