/* ir.c: the op table, types, and building modules. */
#include <string.h>

#include "ir.h"

/* The op table, expanded from ops.def at compile time: attribute names, kinds and
 * counts each in a table of their own, then one OpInfo per op pointing into them. */
#define OP(nm, na, kd, sh, fl, gr, attrs) [OP_##nm] = {attrs},
#define A(n, k) #n,
static const char *const attr_names[OP__N][IR_MAX_ATTRS] = {
#include "ops.def"
};
#undef A
#define A(n, k) ATTR_##k,
static const AttrKind attr_kinds[OP__N][IR_MAX_ATTRS] = {
#include "ops.def"
};
#undef A
#undef OP

#define OP(nm, na, kd, sh, fl, gr, attrs)                                                    \
	[OP_##nm] = {.name = #nm, .nargs = na, .kind = KIND_##kd, .nattrs = 0 attrs,              \
	             .attr_name = attr_names[OP_##nm], .attr_kind = attr_kinds[OP_##nm], .shape = sh, .flops = fl},
#define A(n, k) +1
static const OpInfo op_table[OP__N] = {
#include "ops.def"
};
#undef A
#undef OP

const OpInfo *op_info(Op op)
{
	CHECK(op >= 0 && op < OP__N);
	return &op_table[op];
}

bool op_lookup(const char *name, Op *op)
{
	for (int i = 0; i < OP__N; i++)
		if (strcmp(op_info((Op)i)->name, name) == 0) {
			*op = (Op)i;
			return true;
		}
	return false;
}

int op_attr_index(Op op, const char *name)
{
	const OpInfo *oi = op_info(op);
	for (int i = 0; i < oi->nattrs; i++)
		if (strcmp(oi->attr_name[i], name) == 0)
			return i;
	return -1;
}

const char *op_kind_name(OpKind k)
{
	static const char *names[] = {"arg", "source", "elementwise", "reduction", "injective",
	                              "matmul", "opaque", "effect"};
	CHECK(k >= 0 && k <= KIND_EFFECT);
	return names[k];
}

static const InitInfo init_table[INIT__N] = {
#define RT_INIT(kind, name, nargs, argnames) [INIT_##kind] = {#name, nargs, argnames},
#include "../runtime/kernels/inits.def"
#undef RT_INIT
};

const InitInfo *init_info(InitKind k)
{
	CHECK(k >= 0 && k < INIT__N);
	return &init_table[k];
}

bool init_lookup(const char *name, InitKind *k)
{
	for (int i = 0; i < INIT__N; i++)
		if (strcmp(init_table[i].name, name) == 0) {
			*k = (InitKind)i;
			return true;
		}
	return false;
}

static const char *dtype_names[DT__N] = {"f32", "f64", "i32", "i64", "bf16"};

const char *dtype_name(DType dt)
{
	CHECK(dt >= 0 && dt < DT__N);
	return dtype_names[dt];
}

bool dtype_parse(const char *s, DType *dt)
{
	for (int i = 0; i < DT__N; i++)
		if (strcmp(s, dtype_names[i]) == 0) {
			*dt = (DType)i;
			return true;
		}
	return false;
}

bool dtype_is_float(DType dt)
{
	return dt == DT_F32 || dt == DT_F64 || dt == DT_BF16;
}

size_t dtype_size(DType dt)
{
	return dt == DT_F64 || dt == DT_I64 ? 8 : dt == DT_BF16 ? 2 : 4;
}

int64_t type_numel(const Type *t, int64_t batch)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++) {
		int64_t d = t->dim[i] == DIM_B ? batch : t->dim[i];
		if (d < 0 || (d && n > INT64_MAX / d))
			return -1;
		n *= d;
	}
	return n;
}

bool type_eq(const Type *a, const Type *b)
{
	if (a->dt != b->dt || a->rank != b->rank)
		return false;
	for (int i = 0; i < a->rank; i++)
		if (a->dim[i] != b->dim[i])
			return false;
	return true;
}

bool type_same_dims(const Type *a, const Type *b)
{
	if (a->rank != b->rank)
		return false;
	for (int i = 0; i < a->rank; i++)
		if (a->dim[i] != b->dim[i])
			return false;
	return true;
}

void type_print(Buf *b, const Type *t)
{
	buf_printf(b, "%s[", dtype_name(t->dt));
	for (int i = 0; i < t->rank; i++) {
		if (i)
			buf_putc(b, ',');
		if (t->dim[i] == DIM_B)
			buf_putc(b, 'B');
		else
			buf_printf(b, "%lld", (long long)t->dim[i]);
	}
	buf_putc(b, ']');
}

Module *module_new(Arena *a)
{
	Module *m = arena_alloc(a, sizeof *m);
	m->arena = a;
	return m;
}

Param *module_add_param(Module *m, const char *name, const Type *t, Loc loc)
{
	Param *p = arena_alloc(m->arena, sizeof *p);
	p->name = arena_strdup(m->arena, name);
	p->type = *t;
	p->loc = loc;
	p->index = m->params.n;
	vec_push(m->arena, m->params, p);
	return p;
}

Param *module_find_param(const Module *m, const char *name)
{
	for (int i = 0; i < m->params.n; i++)
		if (strcmp(m->params.p[i]->name, name) == 0)
			return m->params.p[i];
	return NULL;
}

Func *module_add_func(Module *m, const char *name, Loc loc)
{
	Func *f = arena_alloc(m->arena, sizeof *f);
	f->name = arena_strdup(m->arena, name);
	f->loc = loc;
	vec_push(m->arena, m->funcs, f);
	return f;
}

Func *module_find_func(const Module *m, const char *name)
{
	for (int i = 0; i < m->funcs.n; i++)
		if (strcmp(m->funcs.p[i]->name, name) == 0)
			return m->funcs.p[i];
	return NULL;
}

Recipe *module_add_recipe(Module *m, const char *name, Loc loc)
{
	Recipe *r = arena_alloc(m->arena, sizeof *r);
	r->name = arena_strdup(m->arena, name);
	r->loc = loc;
	vec_push(m->arena, m->recipes, r);
	return r;
}

Recipe *module_find_recipe(const Module *m, const char *name)
{
	for (int i = 0; i < m->recipes.n; i++)
		if (strcmp(m->recipes.p[i]->name, name) == 0)
			return m->recipes.p[i];
	return NULL;
}

const char *const recipe_key_names[RK__N] = {
#define RECIPE_SETTING(key, ...) #key,
#define RECIPE_LOSS(key, meaning) #key,
#include "recipe.def"
#undef RECIPE_SETTING
#undef RECIPE_LOSS
};

const char *const recipe_key_defaults[RK__N] = {
#define RECIPE_SETTING(key, kind, choices, lo, hi, lo_open, hi_open, deflt, meaning) deflt,
#define RECIPE_LOSS(key, meaning) NULL,
#include "recipe.def"
#undef RECIPE_SETTING
#undef RECIPE_LOSS
};

const char *const augment_names[AUG__N] = {
#define AUGMENT(name, args, defaults, meaning) #name,
#include "augments.def"
#undef AUGMENT
};

int augment_find(const char *name)
{
	for (int i = 0; i < AUG__N; i++)
		if (strcmp(augment_names[i], name) == 0)
			return i;
	return -1;
}

const RSetting *recipe_setting(const Recipe *r, RecipeKey k)
{
	return recipe_get(r, recipe_key_names[k]);
}

const RSetting *recipe_get(const Recipe *r, const char *key)
{
	for (int i = 0; i < r->settings.n; i++)
		if (strcmp(r->settings.p[i].key, key) == 0)
			return &r->settings.p[i];
	return NULL;
}

Ins *ins_new(Module *m, Func *f, Op op, Ins **args, int nargs, Loc loc)
{
	Ins *ins = arena_alloc(m->arena, sizeof *ins);
	ins->op = op;
	ins->id = f->next_id++;
	ins->nargs = nargs;
	ins->args = arena_alloc(m->arena, sizeof *args * (size_t)(nargs ? nargs : 1));
	if (nargs)
		memcpy(ins->args, args, sizeof *args * (size_t)nargs);
	ins->loc = loc;
	return ins;
}

void func_append(Module *m, Func *f, Ins *ins)
{
	vec_push(m->arena, f->body, ins);
}

Ins *func_emit(Module *m, Func *f, Op op, Ins **args, int nargs, const Attr *attrs, Loc loc, const char *who)
{
	Ins *ins = ins_new(m, f, op, args, nargs, loc);
	for (int i = 0; i < op_info(op)->nattrs; i++)
		ins->attr[i] = attrs[i];
	const char *err = ins_infer(ins, m->arena);
	if (err)
		BUG("%s emitted an ill-typed '%s': %s", who, op_info(op)->name, err);
	func_append(m, f, ins);
	return ins;
}

const char *ins_infer(Ins *ins, Arena *a)
{
	const OpInfo *oi = op_info(ins->op);
	if (oi->nargs >= 0 ? ins->nargs != oi->nargs : ins->nargs < 1)
		return arena_printf(a, "'%s' takes %s%d operand%s, got %d", oi->name,
		                    oi->nargs < 0 ? "at least " : "", oi->nargs < 0 ? 1 : oi->nargs,
		                    oi->nargs == 1 || oi->nargs < 0 ? "" : "s", ins->nargs);
	if (!op_reads_bf16(ins->op))
		for (int k = 0; k < ins->nargs; k++)
			if (ins->args[k]->type.dt == DT_BF16)
				return arena_printf(a, "'%s' computes in f32: cast its bf16 operand %d to f32 first", oi->name,
				                    k + 1);
	return oi->shape(ins, a);
}

/* bf16 is storage: casts convert it, products read it (and accumulate in f32), and the
 * ops that only move data keep it; the rest compute in f32. */
bool op_reads_bf16(Op op)
{
	OpKind k = op_info(op)->kind;
	return op == OP_cast || k == KIND_MATMUL || (k == KIND_INJECTIVE && op != OP_scatter_add);
}

/* A model's function takes only tensors; a recipe's loss is named recipe.loss. */
void func_mark_forward(const Func *f, bool *fwd)
{
	for (int i = 0; i < f->rets.n; i++)
		fwd[f->rets.p[i]->id] = true;
	for (int i = f->body.n - 1; i >= 0; i--) /* operands come before their readers */
		for (int k = 0; fwd[f->body.p[i]->id] && k < f->body.p[i]->nargs; k++)
			fwd[f->body.p[i]->args[k]->id] = true;
}

bool func_is_model(const Func *f)
{
	return strchr(f->name, '.') == NULL;
}
