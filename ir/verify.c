/* verify.c: checks every invariant of a module (docs/ir.md, "Invariants").
 *
 * Requires: nothing of the module but that its pointers, where not NULL, point at
 *   objects of their types: the verifier runs between passes to catch their bugs.
 * Guarantees: reports each broken invariant through d, at the location of the item
 *   and prefixed "IR verifier: "; returns true when it reported nothing. Changes
 *   nothing: shape rules run on copies of the instructions.
 *
 * An instruction whose own type is malformed is not used to re-check its users, so
 * one broken instruction gives one report, not one per use.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Verifier {
	const Module *m;
	Diag *d;
	Arena *scratch;
	int errors;
} Verifier;

/* An instruction's address and its place in the body, sorted by address. */
typedef struct Place {
	const Ins *ins;
	int index;
} Place;

static void fail(Verifier *v, Loc loc, const char *fmt, ...) FMT(3, 4);
static void fail_ins(Verifier *v, const Func *f, const Ins *ins, const char *fmt, ...) FMT(4, 5);

static void fail(Verifier *v, Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(v->scratch, fmt, ap);
	va_end(ap);
	diag_error(v->d, loc, "IR verifier: %s", msg);
	v->errors++;
}

/* Prefixes the message with the function and instruction it is about. */
static void fail_ins(Verifier *v, const Func *f, const Ins *ins, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(v->scratch, fmt, ap);
	va_end(ap);
	fail(v, ins->loc, "@%s: %%%d: %s", f->name, ins->id, msg);
}

static const char *type_text(Verifier *v, const Type *t)
{
	Buf b = {0};
	type_print(&b, t);
	char *s = arena_strdup(v->scratch, b.p);
	buf_free(&b);
	return s;
}

/* NULL if t is a type a value can have, else what is wrong with it. */
static const char *type_problem(Verifier *v, const Type *t, bool batch_ok)
{
	if (t->dt < 0 || t->dt >= DT__N)
		return arena_printf(v->scratch, "element type %d is not one of f32, f64, i32, i64", (int)t->dt);
	if (t->rank < 0 || t->rank > IR_MAX_RANK)
		return arena_printf(v->scratch, "rank %d is not between 0 and %d", t->rank, IR_MAX_RANK);
	for (int i = 0; i < t->rank; i++) {
		if (t->dim[i] == DIM_B && !batch_ok)
			return arena_printf(v->scratch, "type %s has the batch dimension B", type_text(v, t));
		if (t->dim[i] != DIM_B && (t->dim[i] < 1 || t->dim[i] > IR_MAX_DIM))
			return arena_printf(v->scratch, "dimension %d is %lld, not between 1 and 2^40 or B", i,
			                    (long long)t->dim[i]);
	}
	int64_t n = type_numel(t, 1);
	if (n < 0 || n > IR_MAX_DIM)
		return arena_printf(v->scratch, "type %s has more than 2^40 elements per image", type_text(v, t));
	return NULL;
}

static bool param_in_module(const Module *m, const Param *p)
{
	return p && p->index >= 0 && p->index < m->params.n && m->params.p[p->index] == p;
}

static void verify_params(Verifier *v)
{
	const Module *m = v->m;
	for (int i = 0; i < m->params.n; i++) {
		const Param *p = m->params.p[i];
		if (!p || !p->name) {
			fail(v, (Loc){0}, "parameter %d is %s", i, p ? "unnamed" : "NULL");
			continue;
		}
		if (p->index != i)
			fail(v, p->loc, "$%s is parameter %d but says it is number %d", p->name, i, p->index);
		for (int k = 0; k < i; k++)
			if (m->params.p[k] && m->params.p[k]->name && strcmp(m->params.p[k]->name, p->name) == 0) {
				fail(v, p->loc, "parameter $%s is defined twice", p->name);
				break;
			}
		const char *why = type_problem(v, &p->type, false);
		if (why)
			fail(v, p->loc, "$%s: %s", p->name, why);
		if (p->init < 0 || p->init >= INIT__N)
			fail(v, p->loc, "$%s: initialiser %d is not one of the table's", p->name, (int)p->init);
	}
}

static int place_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const Place *)a)->ins, y = (uintptr_t)((const Place *)b)->ins;
	return x < y ? -1 : x > y;
}

/* Where ins is in the function's body, or -1. */
static int place_of(const Place *places, int n, const Ins *ins)
{
	Place key = {ins, 0};
	const Place *p = bsearch(&key, places, (size_t)n, sizeof *places, place_cmp);
	return p ? p->index : -1;
}

static int id_cmp(const void *a, const void *b)
{
	const Ins *x = *(Ins *const *)a, *y = *(Ins *const *)b;
	uintptr_t px = (uintptr_t)x, py = (uintptr_t)y;
	return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : (px > py) - (px < py);
}

/* Ids are unique, non-negative and below next_id (so ins_new cannot repeat one). */
static void verify_ids(Verifier *v, const Func *f)
{
	const Ins **sorted = arena_alloc(v->scratch, sizeof *sorted * (size_t)(f->body.n + 1));
	for (int i = 0; i < f->body.n; i++)
		sorted[i] = f->body.p[i];
	qsort(sorted, (size_t)f->body.n, sizeof *sorted, id_cmp);
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = sorted[i];
		if (i > 0 && sorted[i - 1]->id == ins->id)
			fail_ins(v, f, ins, "id %%%d is used twice in @%s", ins->id, f->name);
		if (ins->id < 0 || ins->id >= f->next_id)
			fail_ins(v, f, ins, "id %%%d is not between 0 and next_id %d", ins->id, f->next_id);
	}
}

/* Attribute values the shape rules rely on: dtypes in range, lists allocated,
 * parameters in this module. */
static bool verify_attrs(Verifier *v, const Func *f, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	bool ok = true;
	for (int k = 0; k < oi->nattrs; k++) {
		const Attr *at = &ins->attr[k];
		const char *name = oi->attr_name[k];
		switch (oi->attr_kind[k]) {
		case ATTR_DTYPE:
			if (at->i < 0 || at->i >= DT__N) {
				fail_ins(v, f, ins, "attribute '%s' is %lld, not an element type", name, (long long)at->i);
				ok = false;
			}
			break;
		case ATTR_INTS:
		case ATTR_SHAPE:
			if (at->nv < 0 || (at->nv > 0 && !at->v)) {
				fail_ins(v, f, ins, "attribute '%s' is a list of %d integers at %p", name, at->nv, (void *)at->v);
				ok = false;
			}
			break;
		case ATTR_GLOBAL:
			if (!param_in_module(v->m, at->g)) {
				fail_ins(v, f, ins, "attribute '%s' does not refer to a parameter of this module", name);
				ok = false;
			}
			break;
		case ATTR_INT:
		case ATTR_FLOAT:
		case ATTR_STR: break;
		}
	}
	return ok;
}

static bool same_ints(const Attr *a, const Attr *b)
{
	return a->nv == b->nv && (a->nv == 0 || memcmp(a->v, b->v, sizeof *a->v * (size_t)a->nv) == 0);
}

/* Shape rules normalise integers and integer lists (axes); nothing else. */
static bool same_attr(AttrKind kind, const Attr *a, const Attr *b)
{
	switch (kind) {
	case ATTR_INT: return a->i == b->i;
	case ATTR_INTS:
	case ATTR_SHAPE: return same_ints(a, b);
	case ATTR_FLOAT:
	case ATTR_STR:
	case ATTR_GLOBAL:
	case ATTR_DTYPE: return true;
	}
	return true;
}

static const char *attr_text(Verifier *v, AttrKind kind, const Attr *at)
{
	if (kind == ATTR_INT)
		return arena_printf(v->scratch, "%lld", (long long)at->i);
	Buf b = {0};
	buf_putc(&b, '[');
	for (int i = 0; i < at->nv; i++)
		buf_printf(&b, "%s%lld", i ? "," : "", (long long)at->v[i]);
	buf_putc(&b, ']');
	char *s = arena_strdup(v->scratch, b.p);
	buf_free(&b);
	return s;
}

/* Re-runs the shape rule on a copy (rules normalise attributes in place) and
 * compares the type and the attributes with the instruction's. */
static void verify_shape(Verifier *v, const Func *f, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	Ins copy = *ins;
	for (int k = 0; k < oi->nattrs; k++)
		if (oi->attr_kind[k] == ATTR_INTS || oi->attr_kind[k] == ATTR_SHAPE) {
			size_t size = sizeof *copy.attr[k].v * (size_t)ins->attr[k].nv;
			copy.attr[k].v = arena_alloc(v->scratch, size ? size : 1);
			if (size)
				memcpy(copy.attr[k].v, ins->attr[k].v, size);
		}
	if (ins->op != OP_arg)
		copy.type = (Type){0};
	const char *msg = ins_infer(&copy, v->scratch);
	if (msg) {
		fail_ins(v, f, ins, "%s", msg);
		return;
	}
	if (!type_eq(&copy.type, &ins->type))
		fail_ins(v, f, ins, "'%s' has type %s but its operands give %s", oi->name, type_text(v, &ins->type),
		         type_text(v, &copy.type));
	for (int k = 0; k < oi->nattrs; k++)
		if (!same_attr(oi->attr_kind[k], &ins->attr[k], &copy.attr[k]))
			fail_ins(v, f, ins, "attribute '%s' is %s, not in its normal form %s", oi->attr_name[k],
			         attr_text(v, oi->attr_kind[k], &ins->attr[k]), attr_text(v, oi->attr_kind[k], &copy.attr[k]));
}

/* One instruction, at index i of the body; sets typed[i] when users may rely on
 * its type. */
static void verify_ins(Verifier *v, const Func *f, const Place *places, int i, bool *typed, bool *args_done)
{
	const Ins *ins = f->body.p[i];
	if (ins->op < 0 || ins->op >= OP__N) {
		fail_ins(v, f, ins, "op %d is not in the op table", (int)ins->op);
		return;
	}
	const OpInfo *oi = op_info(ins->op);
	if (ins->op != OP_arg)
		*args_done = true;
	else if (*args_done)
		fail_ins(v, f, ins, "'arg' after other instructions: arguments come first");
	const char *why = type_problem(v, &ins->type, true);
	if (why)
		fail_ins(v, f, ins, "%s", why);
	typed[i] = !why;

	if (oi->nargs >= 0 ? ins->nargs != oi->nargs : ins->nargs < 1) {
		fail_ins(v, f, ins, "'%s' takes %s%d operand%s, has %d", oi->name, oi->nargs < 0 ? "at least " : "",
		         oi->nargs < 0 ? 1 : oi->nargs, oi->nargs == 1 || oi->nargs < 0 ? "" : "s", ins->nargs);
		return;
	}
	if (ins->nargs > 0 && !ins->args) {
		fail_ins(v, f, ins, "has %d operands but no operand array", ins->nargs);
		return;
	}
	bool operands_typed = true;
	for (int k = 0; k < ins->nargs; k++) {
		const Ins *a = ins->args[k];
		int at = a ? place_of(places, f->body.n, a) : -1;
		if (!a)
			fail_ins(v, f, ins, "operand %d is NULL", k);
		else if (at < 0)
			fail_ins(v, f, ins, "operand %d (%%%d) is not an instruction of @%s", k, a->id, f->name);
		else if (at >= i)
			fail_ins(v, f, ins, "operand %d (%%%d) is used before it is defined", k, a->id);
		operands_typed = operands_typed && at >= 0 && at < i && typed[at];
	}
	if (verify_attrs(v, f, ins) && operands_typed && !why)
		verify_shape(v, f, ins);
}

static void verify_rets(Verifier *v, const Func *f, const Place *places)
{
	bool effects = false; /* a function that only stores state need not return anything */
	for (int i = 0; i < f->body.n && !effects; i++)
		effects = op_info(f->body.p[i]->op)->kind == KIND_EFFECT;
	if (f->rets.n < 1 && !effects)
		fail(v, f->loc, "@%s returns nothing", f->name);
	if (f->ret_names.n != f->rets.n)
		fail(v, f->loc, "@%s has %d results but %d result names", f->name, f->rets.n, f->ret_names.n);
	for (int i = 0; i < f->rets.n; i++) {
		const Ins *r = f->rets.p[i];
		if (!r)
			fail(v, f->loc, "@%s: result %d is NULL", f->name, i);
		else if (place_of(places, f->body.n, r) < 0)
			fail(v, f->loc, "@%s: result %d (%%%d) is not an instruction of @%s", f->name, i, r->id, f->name);
	}
}

/* The instructions of one kernel (kernel=N, the fuse pass's groups) are adjacent. */
static void verify_kernels(Verifier *v, const Func *f)
{
	int max = 0;
	for (int i = 0; i < f->body.n; i++) {
		if (f->body.p[i]->kernel < 0 || f->body.p[i]->kernel >= IR_MAX_ID) {
			fail_ins(v, f, f->body.p[i], "has kernel number %d", f->body.p[i]->kernel);
			return;
		}
		if (f->body.p[i]->kernel > max)
			max = f->body.p[i]->kernel;
	}
	if (max == 0)
		return;
	bool *done = arena_alloc(v->scratch, sizeof *done * (size_t)(max + 1));
	for (int i = 0; i < f->body.n; i++) {
		int k = f->body.p[i]->kernel;
		if (k == 0 || (i > 0 && f->body.p[i - 1]->kernel == k))
			continue;
		if (done[k])
			fail_ins(v, f, f->body.p[i], "is in kernel %d, whose instructions are not adjacent in @%s", k, f->name);
		done[k] = true;
	}
}

static void verify_func(Verifier *v, const Func *f, int index)
{
	if (!f->name) {
		fail(v, f->loc, "function %d has no name", index);
		return;
	}
	for (int k = 0; k < index; k++)
		if (v->m->funcs.p[k] && v->m->funcs.p[k]->name && strcmp(v->m->funcs.p[k]->name, f->name) == 0) {
			fail(v, f->loc, "function @%s is defined twice", f->name);
			break;
		}
	int n = f->body.n;
	for (int i = 0; i < n; i++)
		if (!f->body.p[i]) {
			fail(v, f->loc, "@%s: instruction %d of the body is NULL", f->name, i);
			return;
		}
	Place *places = arena_alloc(v->scratch, sizeof *places * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		places[i] = (Place){f->body.p[i], i};
	qsort(places, (size_t)n, sizeof *places, place_cmp);
	for (int i = 1; i < n; i++)
		if (places[i].ins == places[i - 1].ins)
			fail_ins(v, f, places[i].ins, "appears twice in the body of @%s", f->name);
	verify_ids(v, f);
	bool *typed = arena_alloc(v->scratch, sizeof *typed * (size_t)(n + 1));
	bool args_done = false;
	for (int i = 0; i < n; i++)
		verify_ins(v, f, places, i, typed, &args_done);
	verify_rets(v, f, places);
	verify_kernels(v, f);
}

static void verify_rval(Verifier *v, const Recipe *r, const RSetting *s, const RVal *val)
{
	switch (val->kind) {
	case RV_FUNC:
		if (!val->s || !module_find_func(v->m, val->s))
			fail(v, s->loc, "recipe @%s: '%s' refers to @%s, which is not a function of this module", r->name,
			     s->key, val->s ? val->s : "(null)");
		break;
	case RV_LIST:
		for (int i = 0; i < val->nitems; i++)
			verify_rval(v, r, s, &val->items[i]);
		break;
	case RV_STR:
	case RV_IDENT:
		if (!val->s)
			fail(v, s->loc, "recipe @%s: '%s' holds a NULL string", r->name, s->key);
		break;
	case RV_INT:
	case RV_FLOAT: break;
	default: fail(v, s->loc, "recipe @%s: '%s' has value kind %d", r->name, s->key, (int)val->kind);
	}
}

static void verify_recipes(Verifier *v)
{
	for (int i = 0; i < v->m->recipes.n; i++) {
		const Recipe *r = v->m->recipes.p[i];
		for (int k = 0; k < r->settings.n; k++)
			verify_rval(v, r, &r->settings.p[k], &r->settings.p[k].val);
	}
}

bool module_verify(const Module *m, Diag *d)
{
	Verifier v = {.m = m, .d = d, .scratch = arena_new()};
	verify_params(&v);
	for (int i = 0; i < m->funcs.n; i++)
		if (m->funcs.p[i])
			verify_func(&v, m->funcs.p[i], i);
		else
			fail(&v, (Loc){0}, "function %d is NULL", i);
	verify_recipes(&v);
	arena_free(v.scratch);
	return v.errors == 0;
}
