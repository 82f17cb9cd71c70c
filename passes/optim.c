/* optim.c: optimizer lowering — gradient accumulation and AdamW, in IR.
 *
 * Requires: @R.grad from autodiff for each recipe R (results: the loss's, then
 *   grad.NAME per trained parameter).
 * Guarantees: @R.grad becomes @R.step, which adds each gradient into the parameter's
 *   "grad" state (so over micro-batches the state holds the sum of the micro-batch mean
 *   gradients) and returns only the loss's results. A new function @R.update applies
 *   one AdamW step to every trained parameter from that state and zeroes it.
 * Invalidates: nothing else.
 *
 * The update is PyTorch's AdamW (torch/optim/adamw.py, single-tensor path), operation
 * for operation, with the step-dependent scalars computed on the host in double
 * precision as PyTorch does and read through `scalar`:
 *   p = p * adamw_decay                      adamw_decay    = 1 - lr * weight_decay
 *   m = m * beta1 + g * (1 - beta1)
 *   v = v * beta2 + (1 - beta2) * g * g
 *   p = p + (-adam_step_size) * (m / (sqrt(v) / adam_bc2_sqrt + eps))
 *                                            adam_step_size = lr / (1 - beta1^t)
 *                                            adam_bc2_sqrt  = sqrt(1 - beta2^t)
 */
#include <string.h>

#include "passes.h"

const char *const host_scalar_names[HS__N] = {
#define RT_SCALAR(name, what) #name,
#include "../runtime/train/scalars.def"
#undef RT_SCALAR
};

int host_scalar_index(const char *name)
{
	for (int i = 0; i < HS__N; i++)
		if (strcmp(host_scalar_names[i], name) == 0)
			return i;
	return -1;
}

typedef VEC(Ins *) InsVec;

typedef struct Lower {
	Module *m;
	Func *f;
	Loc loc;
} Lower;

static Ins *emit(Lower *l, Op op, Ins **args, int nargs, const Attr *at)
{
	return func_emit(l->m, l->f, op, args, nargs, at, l->loc, "optimizer lowering");
}

static Ins *bin(Lower *l, Op op, Ins *x, Ins *y)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	Ins *args[2] = {x, y};
	return emit(l, op, args, 2, at);
}

static Ins *un_sqrt(Lower *l, Ins *x)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	return emit(l, OP_sqrt, &x, 1, at);
}

static Ins *constant(Lower *l, double v)
{
	Attr at[IR_MAX_ATTRS] = {{.nv = 0}, {.i = DT_F32}, {.f = v}};
	return emit(l, OP_full, NULL, 0, at);
}

static Ins *host_scalar(Lower *l, const char *name)
{
	Attr at[IR_MAX_ATTRS] = {{.s = name}};
	return emit(l, OP_scalar, NULL, 0, at);
}

static Ins *state(Lower *l, Param *p, const char *slot)
{
	Attr at[IR_MAX_ATTRS] = {{.g = p}, {.s = slot}};
	return emit(l, OP_state, NULL, 0, at);
}

static void store(Lower *l, Ins *x, Param *p, const char *slot)
{
	Attr at[IR_MAX_ATTRS] = {{.g = p}, {.s = slot}};
	emit(l, OP_store, &x, 1, at);
}

static Ins *find_param(const Func *f, const char *name)
{
	for (int i = 0; i < f->body.n; i++) {
		Ins *ins = f->body.p[i];
		if (ins->op == OP_param && strcmp(ins->attr[1].s, name) == 0)
			return ins;
	}
	return NULL;
}

/* A numeric setting; IR read from a file may leave it out or give something else, and
 * then PyTorch's default stands (the front end always writes them). */
static double setting(const Recipe *r, RecipeKey key, int item, double deflt)
{
	const RSetting *s = recipe_setting(r, key);
	if (!s)
		return deflt;
	const RVal *v = s->val.kind == RV_LIST && item < s->val.nitems ? &s->val.items[item] : &s->val;
	return v->kind == RV_INT ? (double)v->i : v->kind == RV_FLOAT ? v->f : deflt;
}

/* @R.grad -> @R.step: gradients accumulate into state; returns the loss's results. */
static void lower_step(Module *m, Func *f, InsVec *params)
{
	Lower l = {.m = m, .f = f};
	int nkeep = 0;
	for (int i = 0; i < f->rets.n; i++) {
		const char *name = f->ret_names.p[i];
		if (!name || strncmp(name, "grad.", 5) != 0) {
			f->rets.p[nkeep] = f->rets.p[i];
			f->ret_names.p[nkeep++] = name;
			continue;
		}
		Ins *p = find_param(f, name + 5);
		CHECK(p);
		Ins *g = f->rets.p[i];
		l.loc = p->loc;
		store(&l, bin(&l, OP_add, state(&l, p->attr[0].g, "grad"), g), p->attr[0].g, "grad");
		vec_push(m->arena, *params, p);
	}
	f->rets.n = f->ret_names.n = nkeep;
	f->name = arena_printf(m->arena, "%.*s.step", (int)(strlen(f->name) - 5), f->name);
}

static void lower_update(Module *m, const Recipe *r, const Func *step, Ins **params, int n)
{
	Func *f = module_add_func(m, arena_printf(m->arena, "%s.update", r->name), step->loc);
	Lower l = {.m = m, .f = f, .loc = r->loc};
	double beta1 = setting(r, RK_betas, 0, 0.9), beta2 = setting(r, RK_betas, 1, 0.999), eps = setting(r, RK_eps, 0, 1e-8);
	Ins *decay = host_scalar(&l, host_scalar_names[HS_adamw_decay]);
	Ins *neg_step = host_scalar(&l, host_scalar_names[HS_adam_neg_step_size]);
	Ins *bc2_sqrt = host_scalar(&l, host_scalar_names[HS_adam_bc2_sqrt]);
	Ins *b1 = constant(&l, beta1), *one_b1 = constant(&l, 1 - beta1);
	Ins *b2 = constant(&l, beta2), *one_b2 = constant(&l, 1 - beta2);
	Ins *e = constant(&l, eps);
	for (int i = 0; i < n; i++) {
		const Ins *src = params[i];
		Param *gp = src->attr[0].g;
		l.loc = src->loc;
		Attr at[IR_MAX_ATTRS] = {{.g = gp}, {.s = src->attr[1].s}};
		Ins *p = emit(&l, OP_param, NULL, 0, at);
		Ins *g = state(&l, gp, "grad");
		Ins *mo = bin(&l, OP_add, bin(&l, OP_mul, state(&l, gp, "m"), b1), bin(&l, OP_mul, g, one_b1));
		Ins *vo = bin(&l, OP_add, bin(&l, OP_mul, state(&l, gp, "v"), b2),
		              bin(&l, OP_mul, bin(&l, OP_mul, one_b2, g), g));
		Ins *denom = bin(&l, OP_add, bin(&l, OP_div, un_sqrt(&l, vo), bc2_sqrt), e);
		Ins *po = bin(&l, OP_add, bin(&l, OP_mul, p, decay), bin(&l, OP_mul, neg_step, bin(&l, OP_div, mo, denom)));
		store(&l, po, gp, "param");
		store(&l, mo, gp, "m");
		store(&l, vo, gp, "v");
		Attr z[IR_MAX_ATTRS] = {{.v = gp->type.dim, .nv = gp->type.rank}, {.i = gp->type.dt}, {.f = 0}};
		store(&l, emit(&l, OP_full, NULL, 0, z), gp, "grad");
	}
}

bool pass_optim(Module *m, PassCtx *ctx)
{
	(void)ctx;
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *r = m->recipes.p[i];
		Func *f = module_find_func(m, arena_printf(m->arena, "%s.grad", r->name));
		if (!f || module_find_func(m, arena_printf(m->arena, "%s.update", r->name)))
			continue;
		InsVec params = {0};
		lower_step(m, f, &params);
		if (params.n) /* a recipe that trains nothing has no update */
			lower_update(m, r, f, params.p, params.n);
	}
	return true;
}
