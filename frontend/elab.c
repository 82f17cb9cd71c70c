/* elab.c: evaluates a checked syntax tree and lowers its models and recipes to IR.
 *
 * Requires: a syntax tree from parse_source with no syntax errors.
 * Guarantees: one IR function per model (its forward) and one per recipe (its loss), with
 *   every instruction shape-checked and carrying the DSL span that made it; global
 *   parameters named as the owning model's state_dict; recipes resolved with every setting
 *   filled in. Reports every error it finds and returns NULL if there was one.
 *
 * The program is run, not translated: constants are computed, blocks are instantiated into
 * trees of instances (holding parameters), and calling an instance inlines its forward
 * function, emitting IR for tensor operations as it goes. So repetition, conditionals on
 * constants and parameter sharing cost nothing at run time, and every shape is static.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

typedef enum VKind {
	V_ERROR, /* an error was already reported: propagate silently */
	V_NONE, V_INT, V_FLOAT, V_BOOL, V_STR, V_BATCH, V_TUPLE, V_TENSOR, V_BLOCK, V_FUNC, V_INST,
	V_PARAM, V_BUILTIN, V_DTYPE
} VKind;

typedef struct Inst Inst;
typedef struct PDecl PDecl;
typedef struct Builtin Builtin;

typedef struct Val {
	VKind kind;
	int64_t i;           /* int, bool, dtype */
	double f;            /* float */
	const char *s;       /* string */
	Ins *t;              /* tensor */
	const Decl *block;   /* block definition */
	const FuncDef *fn;   /* top-level function */
	Inst *inst;          /* instance */
	PDecl *param;        /* parameter */
	const Builtin *builtin;
	struct Val *items;   /* tuple or list */
	int n;
} Val;

typedef struct Binding {
	const char *name;
	Val v;
	Span span;
} Binding;

typedef struct Scope {
	struct Scope *parent;
	VEC(Binding) b;
} Scope;

/* A parameter as declared in a block instance. It becomes a global Param when the first
 * model that reaches it claims it. */
struct PDecl {
	Type type;
	InitKind init;
	double arg[4];
	bool frozen;
	Span span;
	Param *global;
};

struct Inst {
	const Decl *def;   /* NULL for a repeat(n) sequence */
	const char *block; /* block name, for messages */
	Scope *args;       /* constructor arguments */
	Scope *members;    /* what the body bound: parameters, children, constants */
	const FuncDef *forward;
	VEC(Inst *) seq;
	const char *path;  /* its state_dict path in the first model that holds it; NULL: none */
};

typedef struct Named {
	PDecl *param;
	const char *name;
} Named;

typedef struct Model {
	const char *name;
	Inst *root;
	Span span;
	VEC(Named) params; /* in state_dict order */
	Func *func;
	bool failed; /* its forward has errors, already reported */
} Model;

typedef struct Elab {
	Arena *a;
	Diag *d;
	const SrcFile *src;
	Module *m;
	Scope *globals;
	VEC(Model *) models;
	/* the function being built */
	Func *fn;
	Model *model;
	const char *scope; /* the path of the instance whose forward is being inlined (Loc.scope) */
	const char *loss_scope; /* "RECIPE.loss" while a recipe's loss is elaborated */
	VEC(Named) param_ins_names;
	VEC(Ins *) param_ins;
	/* guards */
	VEC(const void *) active; /* blocks being instantiated and functions being called */
	VEC(const char *) active_names; /* "block 'A'", for messages */
	int64_t ninstances, ninstructions;
	int nstreams; /* random streams used by the function being built */
	int expr_depth;
	bool depth_reported;
} Elab;

enum { MAX_EXPR_DEPTH = 256, MAX_ACTIVE = 200, MAX_INSTANCES = 100000, MAX_INSTRUCTIONS = 4000000, MAX_REPEAT = 10000 };

typedef struct Arg {
	const char *key; /* NULL for positional */
	Val v;
	Span span;       /* of the value */
	Span key_span;   /* of the keyword */
} Arg;

typedef struct Call {
	const char *what; /* "block 'Linear'", "'softmax'" ... */
	Span span;
	VEC(Arg) args;
} Call;

typedef Val (*BuiltinFn)(Elab *e, const Builtin *b, Call *c);

struct Builtin {
	const char *name;
	BuiltinFn fn;
	Op op;
};

typedef enum Ctx { CTX_TOP, CTX_BLOCK, CTX_FUNC, CTX_RECIPE } Ctx;

/* What a function body produced: its return value and the statement that returned. */
typedef struct Frame {
	bool returned;
	Val v;
	const Stmt *ret;
} Frame;

static Val eval(Elab *e, Scope *s, const Expr *x);
static void exec(Elab *e, Scope *s, const StmtList *body, Ctx ctx, Inst *inst, Frame *fr);
static Val call_value(Elab *e, Val callee, Call *c, const Expr *callee_expr);

/* ---------- values and messages ---------- */

static Val verr(void)
{
	return (Val){.kind = V_ERROR};
}

static Val vint(int64_t i)
{
	return (Val){.kind = V_INT, .i = i};
}

static Val vfloat(double f)
{
	return (Val){.kind = V_FLOAT, .f = f};
}

static Val vbool(bool b)
{
	return (Val){.kind = V_BOOL, .i = b};
}

static Val vtensor(Ins *t)
{
	return (Val){.kind = V_TENSOR, .t = t};
}

static Loc loc_of(const Elab *e, Span s)
{
	return src_loc(e->src, s.lo, s.hi);
}

FMT(3, 4) static Val error_at(Elab *e, Span s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(e->d, "error", loc_of(e, s), fmt, ap);
	va_end(ap);
	return verr();
}

FMT(3, 4) static void note_at(Elab *e, Span s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(e->d, "note", loc_of(e, s), fmt, ap);
	va_end(ap);
}

static const char *type_str(Elab *e, const Type *t)
{
	Buf b = {0};
	type_print(&b, t);
	const char *s = arena_strdup(e->a, b.p);
	buf_free(&b);
	return s;
}

static const char *kind_name(VKind k)
{
	static const char *names[] = {"an erroneous value", "nothing", "an integer", "a number", "a boolean",
	                              "a string", "the batch dimension", "a tuple", "a tensor", "a block",
	                              "a function", "a block instance", "a parameter", "a builtin", "a dtype"};
	return names[k];
}

static const char *describe(Elab *e, Val v)
{
	switch (v.kind) {
	case V_INT: return arena_printf(e->a, "the integer %lld", (long long)v.i);
	case V_FLOAT: {
		Buf b = {0};
		fmt_double(&b, v.f);
		const char *s = arena_printf(e->a, "the number %s", b.p);
		buf_free(&b);
		return s;
	}
	case V_BOOL: return v.i ? "the boolean true" : "the boolean false";
	case V_TENSOR: return arena_printf(e->a, "a tensor %s", type_str(e, &v.t->type));
	case V_PARAM: return arena_printf(e->a, "a parameter %s", type_str(e, &v.param->type));
	case V_INST: return arena_printf(e->a, "an instance of block '%s'", v.inst->block);
	case V_BLOCK: return arena_printf(e->a, "block '%s'", v.block->name);
	case V_FUNC: return arena_printf(e->a, "function '%s'", v.fn->name);
	default: return kind_name(v.kind);
	}
}

static const char *span_text(Elab *e, Span s)
{
	uint32_t hi = s.hi > s.lo + 60 ? s.lo + 60 : s.hi;
	return arena_strndup(e->a, e->src->text + s.lo, hi - s.lo);
}

/* ---------- scopes ---------- */

static Scope *scope_new(Elab *e, Scope *parent)
{
	Scope *s = arena_alloc(e->a, sizeof *s);
	s->parent = parent;
	return s;
}

static Binding *scope_find_local(Scope *s, const char *name)
{
	for (int i = s->b.n - 1; i >= 0; i--)
		if (strcmp(s->b.p[i].name, name) == 0)
			return &s->b.p[i];
	return NULL;
}

static Binding *scope_find(Scope *s, const char *name)
{
	for (; s; s = s->parent) {
		Binding *b = scope_find_local(s, name);
		if (b)
			return b;
	}
	return NULL;
}

/* Binds a name. In function bodies a name may be bound again (x = x + h); elsewhere a
 * second binding is an error. */
static void bind(Elab *e, Scope *s, const char *name, Val v, Span span, bool rebind)
{
	Binding *old = scope_find_local(s, name);
	if (old && rebind) {
		old->v = v;
		return;
	}
	if (old) {
		error_at(e, span, "'%s' is already defined", name);
		if (old->span.hi > 0)
			note_at(e, old->span, "first defined here");
		return;
	}
	vec_push(e->a, s->b, ((Binding){name, v, span}));
}

/* Keeps `cand` in *best if it is the closest spelling of `name` so far. */
static void consider(const char *name, const char *cand, const char **best, int *best_d)
{
	int d = edit_distance(name, cand, *best_d);
	if (d >= (int)strlen(name)) /* 'B' for 'n' is no guess */
		return;
	if (d <= *best_d && (!*best || d < *best_d)) {
		*best = cand;
		*best_d = d;
	}
}

/* The closest spelling of name among the visible names (and the builtins), or NULL. */
static void consider_builtins(const char *name, const char **best, int *best_d);

static const char *closest(Scope *s, const char *name, bool with_builtins)
{
	const char *best = NULL;
	int best_d = (int)strlen(name) / 3 + 1;
	if (best_d > 3)
		best_d = 3;
	for (Scope *sc = s; sc; sc = sc->parent)
		for (int i = 0; i < sc->b.n; i++)
			consider(name, sc->b.p[i].name, &best, &best_d);
	if (with_builtins)
		consider_builtins(name, &best, &best_d);
	return best;
}

static const char *did_you_mean(Elab *e, const char *best)
{
	return best ? arena_printf(e->a, "; did you mean '%s'?", best) : "";
}

/* ---------- IR emission ---------- */

static bool in_function(Elab *e, Span span)
{
	if (e->fn)
		return true;
	error_at(e, span, "tensor operations belong in a function body");
	return false;
}

static Ins *emit_ins(Elab *e, Op op, Ins **args, int nargs, const Attr *attrs, Span span)
{
	if (++e->ninstructions > MAX_INSTRUCTIONS) {
		if (e->ninstructions == MAX_INSTRUCTIONS + 1)
			error_at(e, span, "the program makes more than %d IR instructions", MAX_INSTRUCTIONS);
		return NULL;
	}
	Ins *ins = ins_new(e->m, e->fn, op, args, nargs, loc_of(e, span));
	ins->loc.scope = e->scope;
	const OpInfo *oi = op_info(op);
	for (int i = 0; i < oi->nattrs; i++)
		ins->attr[i] = attrs[i];
	const char *err = ins_infer(ins, e->a);
	if (err) {
		error_at(e, span, "%s", err);
		return NULL;
	}
	func_append(e->m, e->fn, ins);
	return ins;
}

static Val emit(Elab *e, Op op, Ins **args, int nargs, const Attr *attrs, Span span)
{
	Ins *ins = emit_ins(e, op, args, nargs, attrs, span);
	return ins ? vtensor(ins) : verr();
}

static Ins *emit_full(Elab *e, DType dt, double value, const int64_t *dims, int rank, Span span)
{
	Attr at[IR_MAX_ATTRS] = {{0}};
	at[0].nv = rank;
	at[0].v = arena_alloc(e->a, sizeof(int64_t) * (size_t)(rank ? rank : 1));
	if (rank) /* scalars come with dims == NULL */
		memcpy(at[0].v, dims, sizeof(int64_t) * (size_t)rank);
	at[1].i = dt;
	at[2].f = value;
	return emit_ins(e, OP_full, NULL, 0, at, span);
}

static const char *model_local_name(Elab *e, PDecl *p)
{
	for (int i = 0; i < e->model->params.n; i++)
		if (e->model->params.p[i].param == p)
			return e->model->params.p[i].name;
	return NULL;
}

/* A parameter used in a function: one `param` instruction per function. */
static Val param_tensor(Elab *e, PDecl *p, Span use)
{
	for (int i = 0; i < e->param_ins.n; i++)
		if (e->param_ins_names.p[i].param == p)
			return vtensor(e->param_ins.p[i]);
	const char *local = model_local_name(e, p);
	if (!local) {
		error_at(e, use, "this parameter is not a member of model '%s', so it would not be saved with it",
		         e->model->name);
		note_at(e, p->span, "declared here; bind it to a member of the block (for example `name = other.name`)");
		return verr();
	}
	Attr at[IR_MAX_ATTRS] = {{0}};
	at[0].g = p->global;
	at[1].s = local;
	Ins *ins = emit_ins(e, OP_param, NULL, 0, at, p->span);
	if (!ins)
		return verr();
	ins->loc.scope = p->global->loc.scope; /* the instance that declares it */
	vec_push(e->a, e->param_ins, ins);
	vec_push(e->a, e->param_ins_names, ((Named){p, local}));
	return vtensor(ins);
}

/* Tensors, parameters and numbers all serve as tensor operands; numbers become
 * scalars of the element type `like`. */
static Ins *as_tensor(Elab *e, Val v, Span span, DType like, const char *what)
{
	switch (v.kind) {
	case V_TENSOR: return v.t;
	case V_PARAM: {
		Val t = param_tensor(e, v.param, span);
		return t.kind == V_TENSOR ? t.t : NULL;
	}
	case V_INT:
	case V_BOOL:
	case V_FLOAT:
		if (!in_function(e, span))
			return NULL;
		if (v.kind == V_FLOAT && !dtype_is_float(like) && v.f != (double)(int64_t)v.f) {
			error_at(e, span, "%s: the number %g does not fit the %s operands here", what, v.f, dtype_name(like));
			return NULL;
		}
		return emit_full(e, like, v.kind == V_FLOAT ? v.f : (double)v.i, NULL, 0, span);
	case V_ERROR: return NULL;
	default: error_at(e, span, "%s must be a tensor, got %s", what, describe(e, v)); return NULL;
	}
}

static bool is_tensorish(Val v)
{
	return v.kind == V_TENSOR || v.kind == V_PARAM;
}

static DType val_dtype(Val v)
{
	return v.kind == V_TENSOR ? v.t->type.dt : v.kind == V_PARAM ? v.param->type.dt : DT_F32;
}

/* ---------- numbers ---------- */

static bool is_number(Val v)
{
	return v.kind == V_INT || v.kind == V_FLOAT || v.kind == V_BOOL;
}

static double num(Val v)
{
	return v.kind == V_FLOAT ? v.f : (double)v.i;
}

static Val fold_int(Elab *e, BinOp op, int64_t a, int64_t b, Span span)
{
	int64_t r = 0;
	switch (op) {
	case B_ADD: if (__builtin_add_overflow(a, b, &r)) goto overflow; return vint(r);
	case B_SUB: if (__builtin_sub_overflow(a, b, &r)) goto overflow; return vint(r);
	case B_MUL: if (__builtin_mul_overflow(a, b, &r)) goto overflow; return vint(r);
	case B_DIV:
		if (b == 0)
			return error_at(e, span, "division by zero");
		if (a % b == 0 && !(a == INT64_MIN && b == -1))
			return vint(a / b);
		return vfloat((double)a / (double)b);
	case B_IDIV:
	case B_MOD: {
		if (b == 0)
			return error_at(e, span, "division by zero");
		if (a == INT64_MIN && b == -1)
			goto overflow;
		int64_t q = a / b, m = a % b;
		if (m != 0 && ((m < 0) != (b < 0))) { /* floor, as Python */
			q--;
			m += b;
		}
		return vint(op == B_IDIV ? q : m);
	}
	case B_POW:
		if (b < 0)
			return vfloat(pow((double)a, (double)b));
		r = 1;
		for (int64_t k = 0; k < b; k++)
			if (__builtin_mul_overflow(r, a, &r))
				goto overflow;
		return vint(r);
	default: BUG("fold_int %d", op);
	}
overflow:
	return error_at(e, span, "integer overflow in '%s'", span_text(e, span));
}

static Val fold(Elab *e, BinOp op, Val x, Val y, Span span)
{
	if (op == B_AND || op == B_OR) {
		if (x.kind != V_BOOL || y.kind != V_BOOL)
			return error_at(e, span, "'%s' needs two booleans, got %s and %s", binop_spelling(op),
			                describe(e, x), describe(e, y));
		return vbool(op == B_AND ? x.i && y.i : x.i || y.i);
	}
	double a = num(x), b = num(y);
	switch (op) {
	case B_EQ: return vbool(a == b);
	case B_NE: return vbool(a != b);
	case B_LT: return vbool(a < b);
	case B_LE: return vbool(a <= b);
	case B_GT: return vbool(a > b);
	case B_GE: return vbool(a >= b);
	case B_MATMUL: return error_at(e, span, "'@' multiplies tensors, not numbers");
	default: break;
	}
	if (x.kind != V_FLOAT && y.kind != V_FLOAT)
		return fold_int(e, op, x.i, y.i, span);
	double r;
	switch (op) {
	case B_ADD: r = a + b; break;
	case B_SUB: r = a - b; break;
	case B_MUL: r = a * b; break;
	case B_DIV:
		if (b == 0)
			return error_at(e, span, "division by zero");
		r = a / b;
		break;
	case B_IDIV:
	case B_MOD:
		if (b == 0)
			return error_at(e, span, "division by zero");
		r = op == B_IDIV ? floor(a / b) : a - b * floor(a / b);
		break;
	case B_POW: r = pow(a, b); break;
	default: BUG("fold %d", op);
	}
	if (!isfinite(r))
		return error_at(e, span, "'%s' is not a finite number", span_text(e, span));
	return vfloat(r);
}

/* ---------- tensor operators ---------- */

static Val tensor_binary(Elab *e, BinOp op, Val x, Val y, Span span)
{
	Op ops[] = {[B_ADD] = OP_add, [B_SUB] = OP_sub, [B_MUL] = OP_mul, [B_DIV] = OP_div,
	            [B_POW] = OP_pow, [B_MATMUL] = OP_matmul, [B_EQ] = OP_eq, [B_LT] = OP_lt, [B_GT] = OP_lt};
	bool ok = op == B_ADD || op == B_SUB || op == B_MUL || op == B_DIV || op == B_POW ||
	          op == B_MATMUL || op == B_EQ || op == B_LT || op == B_GT;
	if (!ok)
		return error_at(e, span, "'%s' is not defined for tensors", binop_spelling(op));
	if (!in_function(e, span))
		return verr();
	DType dt = is_tensorish(x) ? val_dtype(x) : val_dtype(y);
	Ins *a = as_tensor(e, x, span, dt, "left operand");
	Ins *b = as_tensor(e, y, span, dt, "right operand");
	if (!a || !b)
		return verr();
	Ins *args[2] = {a, b};
	if (op == B_GT) { /* x > y is y < x */
		args[0] = b;
		args[1] = a;
	}
	Attr at[IR_MAX_ATTRS] = {{0}};
	return emit(e, ops[op], args, 2, at, span);
}

static Val binary(Elab *e, BinOp op, Val x, Val y, Span span)
{
	if (x.kind == V_ERROR || y.kind == V_ERROR)
		return verr();
	if (is_number(x) && is_number(y))
		return fold(e, op, x, y, span);
	if ((is_tensorish(x) || is_number(x)) && (is_tensorish(y) || is_number(y)))
		return tensor_binary(e, op, x, y, span);
	if (x.kind == V_BATCH || y.kind == V_BATCH)
		return error_at(e, span, "the batch dimension cannot take part in arithmetic");
	return error_at(e, span, "'%s' cannot combine %s and %s", binop_spelling(op), describe(e, x), describe(e, y));
}

static Val unary(Elab *e, BinOp op, Val x, Span span)
{
	if (x.kind == V_ERROR)
		return verr();
	if (op == U_NOT) {
		if (x.kind != V_BOOL)
			return error_at(e, span, "'!' needs a boolean, got %s", describe(e, x));
		return vbool(!x.i);
	}
	if (x.kind == V_INT) {
		if (x.i == INT64_MIN)
			return error_at(e, span, "integer overflow");
		return vint(-x.i);
	}
	if (x.kind == V_FLOAT)
		return vfloat(-x.f);
	if (is_tensorish(x) && in_function(e, span)) {
		Ins *a = as_tensor(e, x, span, DT_F32, "operand");
		Attr at[IR_MAX_ATTRS] = {{0}};
		return a ? emit(e, OP_neg, &a, 1, at, span) : verr();
	}
	return error_at(e, span, "cannot negate %s", describe(e, x));
}

/* ---------- calls ---------- */

static int count_positional(const Call *c)
{
	int n = 0;
	for (int i = 0; i < c->args.n; i++)
		n += c->args.p[i].key == NULL;
	return n;
}

/* Matches a call's arguments to formal names: positional first, then keywords.
 * out[i] is the argument for formal i, or NULL. */
static bool match_args(Elab *e, Call *c, const char *const *formals, int nformals, Arg **out)
{
	for (int i = 0; i < nformals; i++)
		out[i] = NULL;
	int pos = 0;
	bool ok = true;
	for (int i = 0; i < c->args.n; i++) {
		Arg *a = &c->args.p[i];
		if (!a->key) {
			if (pos >= nformals) {
				error_at(e, a->span, "%s takes %d argument%s, got %d", c->what, nformals, nformals == 1 ? "" : "s",
				         count_positional(c));
				return false;
			}
			out[pos++] = a;
			continue;
		}
		int k = -1;
		for (int j = 0; j < nformals; j++)
			if (strcmp(formals[j], a->key) == 0)
				k = j;
		if (k < 0) {
			const char *best = NULL;
			int best_d = 2;
			for (int j = 0; j < nformals; j++)
				consider(a->key, formals[j], &best, &best_d);
			if (best)
				error_at(e, a->key_span, "%s has no argument '%s'; did you mean '%s'?", c->what, a->key, best);
			else
				error_at(e, a->key_span, "%s has no argument '%s'", c->what, a->key);
			ok = false;
		} else if (out[k]) {
			error_at(e, a->key_span, "argument '%s' of %s is given twice", a->key, c->what);
			ok = false;
		} else {
			out[k] = a;
		}
	}
	return ok;
}

static bool active_push(Elab *e, const void *what, Span span, const char *kind, const char *name)
{
	for (int i = 0; i < e->active.n; i++)
		if (e->active.p[i] == what) { /* "... itself through block 'B', block 'C'" */
			Buf via = {0};
			for (int k = i + 1; k < e->active.n; k++)
				buf_printf(&via, "%s%s", k == i + 1 ? " through " : ", ", e->active_names.p[k]);
			error_at(e, span, "%s '%s' is recursive: it %s itself%s", kind, name,
			         strcmp(kind, "block") == 0 ? "instantiates" : "calls", via.p ? via.p : "");
			buf_free(&via);
			return false;
		}
	if (e->active.n >= MAX_ACTIVE) {
		error_at(e, span, "blocks and functions nest more than %d deep", MAX_ACTIVE);
		return false;
	}
	vec_push(e->a, e->active, what);
	vec_push(e->a, e->active_names, arena_printf(e->a, "%s '%s'", kind, name));
	return true;
}

static void active_pop(Elab *e)
{
	e->active.n--;
	e->active_names.n--;
}

/* Dimension expressions of a type, checked against (and binding names from) a tensor.
 * `want` receives the dimensions the declaration asks for, for messages. */
static bool type_matches(Elab *e, Scope *s, const TypeExpr *te, const Type *got, Type *want, bool bind_batch,
                         const char **batch_name)
{
	DType dt = DT_F32;
	if (te->dtype && !dtype_parse(te->dtype, &dt)) {
		error_at(e, te->dtype_span, "unknown dtype '%s' (f32, f64, i32 or i64)", te->dtype);
		return false;
	}
	int nd = te->dims.n, skip = 0;
	bool ellipsis = nd > 0 && te->dims.p[0]->kind == E_ELLIPSIS;
	for (int i = 1; i < nd; i++)
		if (te->dims.p[i]->kind == E_ELLIPSIS) {
			error_at(e, te->dims.p[i]->span, "'...' may only stand first in a type");
			return false;
		}
	if (ellipsis) {
		nd--;
		skip = 1;
	}
	bool ok = got->dt == dt && (ellipsis ? got->rank >= nd : got->rank == nd);
	*want = (Type){.dt = dt, .rank = got ? nd : 0};
	int off = ellipsis && got->rank >= nd ? got->rank - nd : 0;
	for (int i = 0; i < nd; i++) {
		const Expr *x = te->dims.p[i + skip];
		int64_t have = ok ? got->dim[off + i] : 0;
		if (x->kind == E_NAME && !scope_find(s, x->s)) {
			if (!ok) {
				want->dim[i] = 0;
				continue;
			}
			if (bind_batch) {
				if (*batch_name && strcmp(*batch_name, x->s) != 0) {
					error_at(e, x->span, "'%s' is a second unknown dimension; only the batch ('%s') may be unknown here",
					         x->s, *batch_name);
					return false;
				}
				*batch_name = x->s;
				have = DIM_B;
			}
			bind(e, s, x->s, have == DIM_B ? (Val){.kind = V_BATCH} : vint(have), x->span, false);
			want->dim[i] = have;
			continue;
		}
		Val v = eval(e, s, x);
		if (v.kind == V_ERROR)
			return false;
		if (v.kind == V_BATCH)
			want->dim[i] = DIM_B;
		else if (v.kind == V_INT && v.i >= 1 && v.i <= IR_MAX_DIM)
			want->dim[i] = v.i;
		else {
			error_at(e, x->span, "a dimension must be an integer between 1 and 2^40, got %s", describe(e, v));
			return false;
		}
		if (want->dim[i] != have)
			ok = false;
	}
	return ok;
}

static const char *want_str(Elab *e, const Type *t)
{
	Buf b = {0};
	buf_printf(&b, "%s[", dtype_name(t->dt));
	for (int i = 0; i < t->rank; i++) {
		if (i)
			buf_putc(&b, ',');
		if (t->dim[i] == DIM_B)
			buf_putc(&b, 'B');
		else if (t->dim[i] == 0)
			buf_putc(&b, '?');
		else
			buf_printf(&b, "%lld", (long long)t->dim[i]);
	}
	buf_putc(&b, ']');
	const char *s = arena_strdup(e->a, b.p);
	buf_free(&b);
	return s;
}

static bool check_tensor_type(Elab *e, Scope *s, const TypeExpr *te, Val v, Span span, const char *what)
{
	if (v.kind == V_ERROR)
		return false;
	Ins *t = as_tensor(e, v, span, DT_F32, what);
	if (!t)
		return false;
	Type want = {0};
	const char *none = NULL;
	int errors = e->d->errors;
	if (type_matches(e, s, te, &t->type, &want, false, &none))
		return true;
	if (e->d->errors == errors)
		error_at(e, span, "%s should be %s (declared %s), got %s", what, want_str(e, &want), span_text(e, te->span),
		         type_str(e, &t->type));
	return false;
}

/* Calls a DSL function (a forward or a top-level def), inlining its body. */
static Val call_function(Elab *e, const FuncDef *fd, Scope *closure, Inst *self, Call *c, const char *fname)
{
	if (!active_push(e, fd, c->span, "function", fname))
		return verr();
	int n = fd->formals.n;
	const char **names = arena_alloc(e->a, sizeof *names * (size_t)(n ? n : 1));
	Arg **args = arena_alloc(e->a, sizeof *args * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++)
		names[i] = fd->formals.p[i].name;
	Val result = verr();
	int body_errors = -1; /* errors before the body ran */
	if (!match_args(e, c, names, n, args))
		goto out;
	Scope *s = scope_new(e, closure);
	bool ok = true;
	for (int i = 0; i < n && ok; i++) {
		const Formal *f = &fd->formals.p[i];
		Val v;
		Span sp = args[i] ? args[i]->span : c->span;
		if (args[i])
			v = args[i]->v;
		else if (f->deflt)
			v = eval(e, closure, f->deflt);
		else {
			error_at(e, c->span, "missing argument '%s' of %s", f->name, c->what);
			note_at(e, fd->name_span, "'%s' is defined here", fname);
			goto out;
		}
		if (v.kind == V_ERROR)
			goto out;
		if (f->block_type && (v.kind != V_INST || !v.inst->def || strcmp(v.inst->block, f->block_type) != 0)) {
			error_at(e, sp, "argument '%s' of %s must be an instance of block '%s', got %s", f->name, c->what,
			         f->block_type, describe(e, v));
			goto out;
		}
		if (f->type) {
			const char *what = arena_printf(e->a, "argument '%s' of %s", f->name, c->what);
			ok = check_tensor_type(e, s, f->type, v, sp, what);
			if (ok && v.kind == V_PARAM)
				v = param_tensor(e, v.param, sp);
		}
		bind(e, s, f->name, v, f->span, false);
	}
	if (!ok)
		goto out;
	Frame fr = {0};
	body_errors = e->d->errors;
	exec(e, s, &fd->body, CTX_FUNC, self, &fr);
	if (!fr.returned) {
		if (e->d->errors == body_errors) /* else a 'return' may have been skipped by the error */
			error_at(e, fd->name_span, "function '%s' ends without 'return'", fname);
		goto out;
	}
	result = fr.v;
	if (result.kind == V_ERROR || !fd->has_rets)
		goto out;
	int nres = result.kind == V_TUPLE ? result.n : 1;
	if (nres != fd->rets.n) {
		result = error_at(e, fr.ret->span, "'%s' returns %d value%s but declares %d", fname, nres,
		                  nres == 1 ? "" : "s", fd->rets.n);
		goto out;
	}
	for (int i = 0; i < nres; i++) {
		Val r = result.kind == V_TUPLE ? result.items[i] : result;
		const char *what = arena_printf(e->a, "result %d of '%s'", i + 1, fname);
		if (!check_tensor_type(e, s, fd->rets.p[i], r, fr.ret->span, what)) {
			result = verr();
			goto out;
		}
	}
out:
	/* Errors in the body may depend on the arguments: show the call too (unless it is the
	 * model's or the recipe's own, which has no call in the text). */
	if (body_errors >= 0 && e->d->errors > body_errors && c->span.lo != fd->name_span.lo)
		note_at(e, c->span, "in this call of '%s'", fname);
	active_pop(e);
	return result;
}

static Val call_instance(Elab *e, Inst *inst, Call *c)
{
	if (!inst->def) { /* a sequence: each member in turn */
		if (c->args.n != 1 || c->args.p[0].key) {
			return error_at(e, c->span, "a repeated block takes one tensor, got %d argument%s", c->args.n,
			                c->args.n == 1 ? "" : "s");
		}
		Val v = c->args.p[0].v;
		for (int i = 0; i < inst->seq.n && v.kind != V_ERROR; i++) {
			Call sub = {.what = arena_printf(e->a, "'%s.forward' (repeat %d)", inst->seq.p[i]->block, i), .span = c->span};
			vec_push(e->a, sub.args, ((Arg){NULL, v, c->args.p[0].span, c->args.p[0].span}));
			v = call_instance(e, inst->seq.p[i], &sub);
			if (v.kind == V_TUPLE)
				return error_at(e, c->span, "a repeated block must return one tensor, not a tuple");
		}
		return v;
	}
	if (!inst->forward)
		return error_at(e, c->span, "block '%s' has no forward function to call", inst->block);
	const char *fname = arena_printf(e->a, "%s.forward", inst->block);
	c->what = arena_printf(e->a, "'%s'", fname);
	const char *caller = e->scope;
	if (inst->path) /* its instructions name the layer they belong to */
		e->scope = inst->path;
	Val v = call_function(e, inst->forward, inst->members, inst, c, fname);
	e->scope = caller;
	return v;
}

static Val instantiate(Elab *e, const Decl *def, Call *c)
{
	if (++e->ninstances > MAX_INSTANCES)
		return error_at(e, c->span, "the program makes more than %d block instances", MAX_INSTANCES);
	if (!active_push(e, def, c->span, "block", def->name))
		return verr();
	Val result = verr();
	int n = def->formals.n;
	const char **names = arena_alloc(e->a, sizeof *names * (size_t)(n ? n : 1));
	Arg **args = arena_alloc(e->a, sizeof *args * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++)
		names[i] = def->formals.p[i].name;
	c->what = arena_printf(e->a, "block '%s'", def->name);
	if (!match_args(e, c, names, n, args))
		goto out;
	Inst *inst = arena_alloc(e->a, sizeof *inst);
	inst->def = def;
	inst->block = def->name;
	inst->args = scope_new(e, e->globals);
	inst->members = scope_new(e, inst->args);
	for (int i = 0; i < n; i++) {
		const Formal *f = &def->formals.p[i];
		Val v;
		if (args[i])
			v = args[i]->v;
		else if (f->deflt)
			v = eval(e, e->globals, f->deflt);
		else {
			error_at(e, c->span, "missing argument '%s' of block '%s'", f->name, def->name);
			note_at(e, def->name_span, "block '%s' is defined here", def->name);
			goto out;
		}
		if (v.kind == V_ERROR)
			goto out;
		Span sp = args[i] ? args[i]->span : f->span;
		if (f->type) {
			error_at(e, f->type->span, "block arguments are compile-time values; tensor arguments belong to its forward function");
			goto out;
		}
		if (f->block_type && (v.kind != V_INST || !v.inst->def || strcmp(v.inst->block, f->block_type) != 0)) {
			error_at(e, sp, "argument '%s' of block '%s' must be an instance of block '%s', got %s", f->name,
			         def->name, f->block_type, describe(e, v));
			goto out;
		}
		if (v.kind == V_TENSOR || v.kind == V_PARAM) {
			error_at(e, sp, "block arguments are compile-time values, got %s", describe(e, v));
			goto out;
		}
		bind(e, inst->args, f->name, v, f->span, false);
	}
	int errors = e->d->errors;
	Func *fn = e->fn; /* a block body computes constants, not tensors */
	e->fn = NULL;
	exec(e, inst->members, &def->body, CTX_BLOCK, inst, NULL);
	e->fn = fn;
	if (e->d->errors == errors)
		result = (Val){.kind = V_INST, .inst = inst};
	else /* the errors may depend on the arguments: show them */
		note_at(e, c->span, "in this instance of block '%s'", def->name);
out:
	active_pop(e);
	return result;
}

static Val repeat(Elab *e, Scope *s, const Expr *x)
{
	Val n = eval(e, s, x->a);
	if (n.kind == V_ERROR)
		return n;
	if (n.kind != V_INT || n.i < 1 || n.i > MAX_REPEAT)
		return error_at(e, x->a->span, "repeat count must be an integer between 1 and %d, got %s", MAX_REPEAT,
		                describe(e, n));
	if (x->b->kind != E_CALL)
		return error_at(e, x->b->span, "repeat needs a block call such as Block(dim, heads)");
	Inst *seq = arena_alloc(e->a, sizeof *seq);
	for (int64_t i = 0; i < n.i; i++) {
		Val v = eval(e, s, x->b);
		if (v.kind == V_ERROR)
			return v;
		if (v.kind != V_INST || !v.inst->def)
			return error_at(e, x->b->span, "repeat needs a block call, got %s", describe(e, v));
		seq->block = v.inst->block;
		vec_push(e->a, seq->seq, v.inst);
	}
	return (Val){.kind = V_INST, .inst = seq};
}

static Val call_value(Elab *e, Val callee, Call *c, const Expr *callee_expr)
{
	for (int i = 0; i < c->args.n; i++)
		if (c->args.p[i].v.kind == V_ERROR)
			return verr();
	switch (callee.kind) {
	case V_ERROR: return callee;
	case V_BLOCK: return instantiate(e, callee.block, c);
	case V_INST:
		for (int i = 0; i < e->models.n; i++) /* its errors were reported with the model */
			if (e->models.p[i]->root == callee.inst && e->models.p[i]->failed)
				return verr();
		return call_instance(e, callee.inst, c);
	case V_FUNC: {
		c->what = arena_printf(e->a, "function '%s'", callee.fn->name);
		const char *caller = e->scope;
		if (!caller || caller == e->loss_scope) /* outside every layer: they name the function */
			e->scope = callee.fn->name;
		Val v = call_function(e, callee.fn, e->globals, NULL, c, callee.fn->name);
		e->scope = caller;
		return v;
	}
	case V_BUILTIN:
		c->what = arena_printf(e->a, "'%s'", callee.builtin->name);
		return callee.builtin->fn(e, callee.builtin, c);
	default:
		return error_at(e, callee_expr->span, "'%s' is %s, which cannot be called", span_text(e, callee_expr->span),
		                describe(e, callee));
	}
}

/* ---------- builtins ---------- */

/* Defaults of op attributes in the DSL. */
static const struct {
	Op op;
	const char *attr;
	double value;
	bool is_list;
} attr_defaults[] = {
	{OP_sum, "axes", 0, true},     {OP_sum, "keepdim", 0, false},  {OP_mean, "axes", 0, true},
	{OP_mean, "keepdim", 0, false}, {OP_max, "axes", 0, true},      {OP_max, "keepdim", 0, false},
	{OP_argmax, "axis", -1, false}, {OP_softmax, "axis", -1, false}, {OP_log_softmax, "axis", -1, false},
	{OP_layernorm, "eps", 1e-5, false}, {OP_matmul, "ta", 0, false}, {OP_matmul, "tb", 0, false},
	{OP_full, "dtype", DT_F32, false}, {OP_randperm, "axis", -1, false}, {OP_randperm, "stream", -1, false}, {OP_concat, "axis", 0, false},
	{OP_gather, "axis", 0, false}, {OP_argsort, "axis", -1, false},
};

static bool attr_default(Op op, const char *name, Attr *at)
{
	for (size_t i = 0; i < sizeof attr_defaults / sizeof *attr_defaults; i++)
		if (attr_defaults[i].op == op && strcmp(attr_defaults[i].attr, name) == 0) {
			at->i = (int64_t)attr_defaults[i].value;
			at->f = attr_defaults[i].value;
			return true;
		}
	return false;
}

static bool to_attr(Elab *e, AttrKind k, Val v, Span span, Attr *at, const char *what)
{
	switch (k) {
	case ATTR_INT:
		if (v.kind == V_INT || v.kind == V_BOOL) {
			at->i = v.i;
			return true;
		}
		break;
	case ATTR_FLOAT:
		if (is_number(v)) {
			at->f = num(v);
			return true;
		}
		break;
	case ATTR_STR:
		if (v.kind == V_STR) {
			at->s = v.s;
			return true;
		}
		break;
	case ATTR_DTYPE:
		if (v.kind == V_DTYPE) {
			at->i = v.i;
			return true;
		}
		break;
	case ATTR_INTS:
	case ATTR_SHAPE: {
		Val one = v;
		const Val *items = v.kind == V_TUPLE ? v.items : &one;
		int n = v.kind == V_TUPLE ? v.n : 1;
		if (n > IR_MAX_RANK) {
			error_at(e, span, "%s has %d entries; the limit is %d", what, n, IR_MAX_RANK);
			return false;
		}
		at->nv = n;
		at->v = arena_alloc(e->a, sizeof(int64_t) * (size_t)(n ? n : 1));
		for (int i = 0; i < n; i++) {
			if (items[i].kind == V_INT)
				at->v[i] = items[i].i;
			else if (items[i].kind == V_BATCH && k == ATTR_SHAPE)
				at->v[i] = DIM_B;
			else {
				error_at(e, span, "%s must be a list of integers%s, got %s", what,
				         k == ATTR_SHAPE ? " (or the batch dimension)" : "", describe(e, items[i]));
				return false;
			}
		}
		return true;
	}
	case ATTR_GLOBAL: break;
	}
	static const char *want[] = {"an integer", "a list of integers", "a shape", "a number", "a string",
	                             "a parameter", "a dtype (f32, f64, i32 or i64)"};
	error_at(e, span, "%s must be %s, got %s", what, want[k], describe(e, v));
	return false;
}

static Val fold_call(Elab *e, const Builtin *b, Call *c);

/* "a tensor, then axis", "2 tensors, then ta and tb": what a builtin op takes. */
static const char *op_signature(Elab *e, const OpInfo *oi, int ntensors)
{
	Buf b = {0};
	if (oi->nargs == 1 || oi->nargs < 0)
		buf_puts(&b, oi->nargs < 0 ? "tensors" : "a tensor");
	else if (oi->nargs > 1)
		buf_printf(&b, "%d tensors", ntensors);
	for (int i = 0; i < oi->nattrs; i++)
		buf_printf(&b, "%s%s", i == 0 ? (oi->nargs != 0 ? ", then " : "") : i == oi->nattrs - 1 ? " and " : ", ",
		           oi->attr_name[i]);
	const char *s = arena_strdup(e->a, b.p ? b.p : "no arguments");
	buf_free(&b);
	return s;
}

/* Every op of the table is a builtin of the same name: tensor operands first, then the
 * attributes in table order, positionally or by keyword. */
static Val builtin_op(Elab *e, const Builtin *b, Call *c)
{
	const OpInfo *oi = op_info(b->op);
	if (c->args.n >= 1 && is_number(c->args.p[0].v) && (b->op == OP_max || oi->nargs == 1))
		return fold_call(e, b, c);
	if (!in_function(e, c->span))
		return verr();
	int npos = count_positional(c);
	int ntensors = oi->nargs;
	if (ntensors < 0) { /* variadic: every leading positional tensor */
		ntensors = 0;
		while (ntensors < c->args.n && !c->args.p[ntensors].key && is_tensorish(c->args.p[ntensors].v))
			ntensors++;
		if (ntensors == 0)
			return error_at(e, c->span, "%s needs at least one tensor", c->what);
	}
	if (npos < ntensors)
		return error_at(e, c->span, "%s takes %s; got %d argument%s", c->what, op_signature(e, oi, ntensors), npos,
		                npos == 1 ? "" : "s");
	DType like = DT_F32;
	for (int i = 0; i < ntensors; i++)
		if (is_tensorish(c->args.p[i].v)) {
			like = val_dtype(c->args.p[i].v);
			break;
		}
	Ins **ops = arena_alloc(e->a, sizeof *ops * (size_t)(ntensors ? ntensors : 1));
	for (int i = 0; i < ntensors; i++) {
		const char *what = arena_printf(e->a, "operand %d of %s", i + 1, c->what);
		if (!(ops[i] = as_tensor(e, c->args.p[i].v, c->args.p[i].span, like, what)))
			return verr();
	}
	if (npos - ntensors > oi->nattrs)
		return error_at(e, c->args.p[ntensors + oi->nattrs].span, "%s takes %s; got %d arguments", c->what,
		                op_signature(e, oi, ntensors), npos);
	/* The rest are attributes. */
	Call rest = {.what = c->what, .span = c->span};
	for (int i = ntensors; i < c->args.n; i++)
		vec_push(e->a, rest.args, c->args.p[i]);
	Arg *given[IR_MAX_ATTRS];
	if (!match_args(e, &rest, oi->attr_name, oi->nattrs, given))
		return verr();
	Attr at[IR_MAX_ATTRS] = {{0}};
	for (int i = 0; i < oi->nattrs; i++) {
		const char *what = arena_printf(e->a, "argument '%s' of %s", oi->attr_name[i], c->what);
		if (given[i]) {
			if (!to_attr(e, oi->attr_kind[i], given[i]->v, given[i]->span, &at[i], what))
				return verr();
		} else if (!attr_default(b->op, oi->attr_name[i], &at[i])) {
			return error_at(e, c->span, "missing argument '%s' of %s", oi->attr_name[i], c->what);
		}
	}
	if (b->op == OP_randperm && at[2].i < 0) /* each draws its own random stream */
		at[2].i = e->nstreams++;
	return emit(e, b->op, ops, ntensors, at, c->span);
}

static Val builtin_fill(Elab *e, const Builtin *b, Call *c)
{
	const char *names[] = {"shape", "dtype"};
	Arg *args[2];
	if (!in_function(e, c->span) || !match_args(e, c, names, 2, args))
		return verr();
	if (!args[0])
		return error_at(e, c->span, "missing argument 'shape' of %s", c->what);
	Attr shape = {0}, dt = {.i = DT_F32};
	if (!to_attr(e, ATTR_SHAPE, args[0]->v, args[0]->span, &shape, "shape") ||
	    (args[1] && !to_attr(e, ATTR_DTYPE, args[1]->v, args[1]->span, &dt, "dtype")))
		return verr();
	Ins *t = emit_full(e, (DType)dt.i, strcmp(b->name, "ones") == 0, shape.v, shape.nv, c->span);
	return t ? vtensor(t) : verr();
}

static Val builtin_swapaxes(Elab *e, const Builtin *b, Call *c)
{
	(void)b;
	const char *names[] = {"x", "a", "b"};
	Arg *args[3];
	if (!in_function(e, c->span) || !match_args(e, c, names, 3, args))
		return verr();
	for (int i = 0; i < 3; i++)
		if (!args[i])
			return error_at(e, c->span, "missing argument '%s' of %s", names[i], c->what);
	Ins *x = as_tensor(e, args[0]->v, args[0]->span, DT_F32, "operand of 'swapaxes'");
	if (!x)
		return verr();
	int r = x->type.rank;
	int64_t ax[2];
	for (int i = 0; i < 2; i++) {
		Val v = args[i + 1]->v;
		if (v.kind != V_INT || v.i < -r || v.i >= r)
			return error_at(e, args[i + 1]->span, "axis must be an integer in [%d, %d), got %s", -r, r, describe(e, v));
		ax[i] = v.i < 0 ? v.i + r : v.i;
	}
	Attr at[IR_MAX_ATTRS] = {{0}};
	at[0].nv = r;
	at[0].v = arena_alloc(e->a, sizeof(int64_t) * (size_t)(r ? r : 1));
	for (int i = 0; i < r; i++)
		at[0].v[i] = i == ax[0] ? ax[1] : i == ax[1] ? ax[0] : i;
	return emit(e, OP_transpose, &x, 1, at, c->span);
}

/* Builtins on numbers: int(), float(), min(), max(), and the one-operand math ops. */
static Val fold_call(Elab *e, const Builtin *b, Call *c)
{
	bool two = strcmp(b->name, "min") == 0 || strcmp(b->name, "max") == 0;
	if (c->args.n != (two ? 2 : 1) || c->args.p[0].key)
		return error_at(e, c->span, "%s on numbers takes %d argument%s", c->what, two ? 2 : 1, two ? "s" : "");
	for (int i = 0; i < c->args.n; i++)
		if (!is_number(c->args.p[i].v))
			return error_at(e, c->args.p[i].span, "%s takes numbers here, got %s", c->what,
			                describe(e, c->args.p[i].v));
	Val x = c->args.p[0].v;
	double f = num(x), r;
	if (two) {
		Val y = c->args.p[1].v;
		bool first = strcmp(b->name, "min") == 0 ? num(x) <= num(y) : num(x) >= num(y);
		return first ? x : y;
	}
	if (strcmp(b->name, "int") == 0) {
		if (x.kind != V_FLOAT)
			return vint(x.i);
		if (!(fabs(f) < 9.2e18))
			return error_at(e, c->span, "%g does not fit in an integer", f);
		return vint((int64_t)f); /* toward zero, as Python's int() */
	}
	switch (b->op) {
	case OP__N: return vfloat(f); /* float() */
	case OP_neg: return unary(e, U_NEG, x, c->span);
	case OP_abs: return x.kind == V_FLOAT ? vfloat(fabs(f)) : x.i == INT64_MIN ? unary(e, U_NEG, x, c->span) : vint(x.i < 0 ? -x.i : x.i);
	case OP_exp: r = exp(f); break;
	case OP_log: r = log(f); break;
	case OP_sqrt: r = sqrt(f); break;
	case OP_tanh: r = tanh(f); break;
	default: return error_at(e, c->span, "%s takes a tensor, got %s", c->what, describe(e, x));
	}
	if (!isfinite(r))
		return error_at(e, c->span, "%s of %g is not a finite number", c->what, f);
	return vfloat(r);
}

static const Builtin builtins[] = {
#define OP(name, nargs, kind, shape, flops, grad, attrs) {#name, builtin_op, OP_##name},
#include "ops.def"
#undef OP
	{"zeros", builtin_fill, OP_full},
	{"ones", builtin_fill, OP_full},
	{"swapaxes", builtin_swapaxes, OP_transpose},
	{"int", fold_call, OP__N},
	{"float", fold_call, OP__N},
	{"min", fold_call, OP__N},
};

/* Ops that only the compiler makes are not builtins of the language. */
static bool user_visible(const Builtin *b)
{
	if (b->op == OP__N)
		return true;
	OpKind k = op_info(b->op)->kind;
	return k != KIND_ARG && k != KIND_EFFECT && b->op != OP_param && b->op != OP_state && b->op != OP_scalar;
}

static void consider_builtins(const char *name, const char **best, int *best_d)
{
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (user_visible(&builtins[i]))
			consider(name, builtins[i].name, best, best_d);
}

static const Builtin *builtin_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return user_visible(&builtins[i]) ? &builtins[i] : NULL;
	return NULL;
}

/* ---------- expressions ---------- */

static Val lookup(Elab *e, Scope *s, const Expr *x)
{
	Binding *b = scope_find(s, x->s);
	if (b)
		return b->v;
	const Builtin *bi = builtin_lookup(x->s);
	if (bi)
		return (Val){.kind = V_BUILTIN, .builtin = bi};
	DType dt;
	if (dtype_parse(x->s, &dt))
		return (Val){.kind = V_DTYPE, .i = dt};
	error_at(e, x->span, "unknown name '%s'%s", x->s, did_you_mean(e, closest(s, x->s, true)));
	return verr();
}

static Val member(Elab *e, Scope *s, const Expr *x)
{
	Val obj = eval(e, s, x->a);
	if (obj.kind == V_ERROR)
		return obj;
	if (obj.kind != V_INST || !obj.inst->def)
		return error_at(e, x->span, "%s has no members", describe(e, obj));
	Binding *b = scope_find_local(obj.inst->members, x->s);
	if (!b)
		b = scope_find_local(obj.inst->args, x->s);
	if (b)
		return b->v;
	/* Suggest among the instance's own names only; point at the name after the dot. */
	Scope args = {.b = obj.inst->args->b};
	Scope members = {.parent = &args, .b = obj.inst->members->b};
	Span name = {x->span.hi - (uint32_t)strlen(x->s), x->span.hi};
	return error_at(e, name, "block '%s' has no member '%s'%s", obj.inst->block, x->s,
	                did_you_mean(e, closest(&members, x->s, false)));
}

/* x[i, a:b, :] on tensors (slices, and indexes that drop the axis), tuples and
 * repeated blocks. */
static Val subscript(Elab *e, Scope *s, const Expr *x)
{
	Val obj = eval(e, s, x->a);
	if (obj.kind == V_ERROR)
		return obj;
	if (obj.kind == V_TUPLE || (obj.kind == V_INST && !obj.inst->def)) {
		int n = obj.kind == V_TUPLE ? obj.n : obj.inst->seq.n;
		if (x->items.n != 1 || x->items.p[0]->kind == E_SLICE)
			return error_at(e, x->span, "%s takes one integer index", describe(e, obj));
		Val i = eval(e, s, x->items.p[0]);
		if (i.kind == V_ERROR)
			return i;
		if (i.kind != V_INT || i.i < -n || i.i >= n)
			return error_at(e, x->items.p[0]->span, "index must be an integer in [%d, %d), got %s", -n, n,
			                describe(e, i));
		int64_t k = i.i < 0 ? i.i + n : i.i;
		return obj.kind == V_TUPLE ? obj.items[k] : (Val){.kind = V_INST, .inst = obj.inst->seq.p[k]};
	}
	if (!is_tensorish(obj))
		return error_at(e, x->a->span, "%s cannot be indexed", describe(e, obj));
	if (!in_function(e, x->span))
		return verr();
	Ins *t = as_tensor(e, obj, x->a->span, DT_F32, "indexed value");
	if (!t)
		return verr();
	int rank = t->type.rank;
	if (x->items.n > rank)
		return error_at(e, x->span, "%d indexes for a tensor of rank %d", x->items.n, rank);
	bool drop[IR_MAX_RANK] = {0};
	for (int ax = 0; ax < x->items.n; ax++) {
		const Expr *sub = x->items.p[ax];
		int64_t dim = t->type.dim[ax], lo, hi;
		if (sub->kind == E_SLICE && !sub->a && !sub->b)
			continue;
		int64_t bounds[2];
		const Expr *ends[2] = {sub->kind == E_SLICE ? sub->a : sub, sub->kind == E_SLICE ? sub->b : NULL};
		for (int k = 0; k < 2; k++) {
			bounds[k] = k == 0 ? 0 : dim;
			if (!ends[k])
				continue;
			Val v = eval(e, s, ends[k]);
			if (v.kind == V_ERROR)
				return v;
			if (v.kind != V_INT)
				return error_at(e, ends[k]->span, "an index must be an integer, got %s", describe(e, v));
			bounds[k] = v.i < 0 && dim != DIM_B ? v.i + dim : v.i;
		}
		lo = bounds[0];
		hi = sub->kind == E_SLICE ? bounds[1] : lo + 1;
		drop[ax] = sub->kind != E_SLICE;
		if (dim == DIM_B)
			return error_at(e, sub->span, "the batch dimension cannot be indexed or sliced");
		if (lo < 0 || hi > dim || lo >= hi)
			return error_at(e, sub->span, "%s %lld:%lld is out of range for axis %d of %s",
			                sub->kind == E_SLICE ? "slice" : "index", (long long)lo, (long long)hi, ax,
			                type_str(e, &t->type));
		Attr at[IR_MAX_ATTRS] = {{.i = ax}, {.i = lo}, {.i = hi}};
		if (!(t = emit_ins(e, OP_slice, &t, 1, at, x->span)))
			return verr();
	}
	int n = 0;
	Attr shape = {.v = arena_alloc(e->a, sizeof(int64_t) * IR_MAX_RANK)};
	for (int ax = 0; ax < rank; ax++)
		if (!drop[ax])
			shape.v[n++] = t->type.dim[ax];
	if (n == rank)
		return vtensor(t);
	shape.nv = n;
	Attr at[IR_MAX_ATTRS] = {shape};
	return emit(e, OP_reshape, &t, 1, at, x->span);
}

/* The span of `key` in `key = value`, read back from the value (the syntax tree keeps
 * the value only); the value's span if the text does not read so. */
static Span key_span(Elab *e, const char *key, Span value)
{
	const char *t = e->src->text;
	uint32_t i = value.lo;
	size_t n = strlen(key);
	while (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '\r' || t[i - 1] == '\n'))
		i--;
	if (i == 0 || t[i - 1] != '=')
		return value;
	for (i--; i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '\r' || t[i - 1] == '\n'); i--)
		;
	if (i < n || strncmp(t + i - n, key, n) != 0)
		return value;
	return (Span){i - (uint32_t)n, i};
}

static Val eval_call(Elab *e, Scope *s, const Expr *x)
{
	Val callee = eval(e, s, x->a);
	Call c = {.what = "this call", .span = x->span};
	bool bad = callee.kind == V_ERROR;
	for (int i = 0; i < x->items.n; i++) {
		Val v = eval(e, s, x->items.p[i]);
		bad |= v.kind == V_ERROR;
		Span sp = x->items.p[i]->span;
		Span ksp = x->keys.p[i] ? key_span(e, x->keys.p[i], sp) : sp;
		for (int j = 0; j < i && x->keys.p[i]; j++)
			if (x->keys.p[j] && strcmp(x->keys.p[j], x->keys.p[i]) == 0) {
				error_at(e, ksp, "argument '%s' is given twice", x->keys.p[i]);
				bad = true;
			}
		if (x->keys.p[i] == NULL && i > 0 && x->keys.p[i - 1]) {
			error_at(e, x->items.p[i]->span, "a positional argument cannot follow a keyword argument");
			bad = true;
		}
		vec_push(e->a, c.args, ((Arg){x->keys.p[i], v, sp, ksp}));
	}
	if (bad)
		return verr();
	return call_value(e, callee, &c, x->a);
}

static Val eval_expr(Elab *e, Scope *s, const Expr *x);

/* Expressions nest as deep as the text says (1+1+...): bounded, so that an absurd file
 * gets a message instead of overflowing the stack. */
static Val eval(Elab *e, Scope *s, const Expr *x)
{
	if (e->expr_depth >= MAX_EXPR_DEPTH) {
		if (!e->depth_reported)
			error_at(e, x->span, "this expression nests more than %d levels deep", MAX_EXPR_DEPTH);
		e->depth_reported = true;
		return verr();
	}
	e->expr_depth++;
	Val v = eval_expr(e, s, x);
	e->expr_depth--;
	return v;
}

static Val eval_expr(Elab *e, Scope *s, const Expr *x)
{
	switch (x->kind) {
	case E_INT: return vint(x->i);
	case E_FLOAT: return vfloat(x->f);
	case E_BOOL: return vbool(x->i);
	case E_STR: return (Val){.kind = V_STR, .s = x->s};
	case E_NAME: return lookup(e, s, x);
	case E_MEMBER: return member(e, s, x);
	case E_INDEX: return subscript(e, s, x);
	case E_CALL: return eval_call(e, s, x);
	case E_BINARY: {
		Val a = eval(e, s, x->a);
		Val b = eval(e, s, x->b);
		return binary(e, x->op, a, b, x->span);
	}
	case E_UNARY: return unary(e, x->op, eval(e, s, x->a), x->span);
	case E_TUPLE:
	case E_LIST: {
		Val v = {.kind = V_TUPLE, .n = x->items.n};
		v.items = arena_alloc(e->a, sizeof *v.items * (size_t)(v.n ? v.n : 1));
		for (int i = 0; i < v.n; i++)
			if ((v.items[i] = eval(e, s, x->items.p[i])).kind == V_ERROR)
				return verr();
		return v;
	}
	case E_REPEAT: return repeat(e, s, x);
	case E_SLICE: return error_at(e, x->span, "a slice may only appear inside [ ]");
	case E_ELLIPSIS: return error_at(e, x->span, "'...' may only appear in a type");
	}
	BUG("eval: expression kind %d", x->kind);
}

/* ---------- statements ---------- */

static const char *ctx_name(Ctx ctx)
{
	return ctx == CTX_TOP ? "at the top level" : ctx == CTX_BLOCK ? "in a block body"
	       : ctx == CTX_FUNC ? "in a function body" : "in a recipe";
}

static void declare_param(Elab *e, Scope *s, const Stmt *st)
{
	const char *name = st->names.p[0];
	PDecl *p = arena_alloc(e->a, sizeof *p);
	p->span = st->span;
	p->frozen = st->frozen;
	const TypeExpr *te = st->type;
	p->type.dt = DT_F32;
	if (te->dtype && (!dtype_parse(te->dtype, &p->type.dt) || (p->type.dt != DT_F32 && p->type.dt != DT_F64))) {
		error_at(e, te->dtype_span, "parameters are f32 or f64, not '%s'", te->dtype);
		return;
	}
	if (te->dims.n > IR_MAX_RANK) {
		error_at(e, te->span, "parameter '%s' has %d dimensions; the limit is %d", name, te->dims.n, IR_MAX_RANK);
		return;
	}
	p->type.rank = te->dims.n;
	int64_t numel = 1;
	for (int i = 0; i < te->dims.n; i++) {
		const Expr *x = te->dims.p[i];
		if (x->kind == E_NAME && !scope_find(s, x->s) && !builtin_lookup(x->s) && !closest(s, x->s, false)) {
			error_at(e, x->span, "unknown name '%s' in the shape of parameter '%s': parameter shapes are fixed, "
			         "so they cannot name the batch dimension", x->s, name);
			return;
		}
		Val v = eval(e, s, x);
		if (v.kind == V_ERROR)
			return;
		if (v.kind != V_INT || v.i < 1 || v.i > IR_MAX_DIM) {
			bool div = v.kind == V_FLOAT && x->kind == E_BINARY && x->op == B_DIV;
			error_at(e, x->span, "a parameter dimension must be an integer between 1 and 2^40, got %s%s",
			         describe(e, v), div ? " (use // to divide integers)" : "");
			return;
		}
		if (__builtin_mul_overflow(numel, v.i, &numel) || numel > IR_MAX_DIM) {
			error_at(e, te->span, "parameter '%s' has more than 2^40 elements", name);
			return;
		}
		p->type.dim[i] = v.i;
	}
	/* The initialiser: a call of an init kind with numeric arguments. */
	const Expr *init = st->value;
	const Expr *callee = init->kind == E_CALL ? init->a : init;
	InitKind k;
	if (callee->kind != E_NAME || !init_lookup(callee->s, &k)) {
		Buf b = {0};
		for (int i = 0; i < INIT__N; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", init_info((InitKind)i)->name);
		error_at(e, callee->span, "unknown initialiser '%s' (one of %s)", span_text(e, callee->span), b.p);
		buf_free(&b);
		return;
	}
	const InitInfo *ii = init_info(k);
	int nargs = init->kind == E_CALL ? init->items.n : 0;
	if (nargs != ii->nargs) {
		error_at(e, init->span, "initialiser '%s' takes %d argument%s (%s), got %d", ii->name, ii->nargs,
		         ii->nargs == 1 ? "" : "s", ii->argnames, nargs);
		return;
	}
	for (int i = 0; i < nargs; i++) {
		if (init->keys.p[i]) {
			error_at(e, init->items.p[i]->span, "initialiser arguments are positional (%s)", ii->argnames);
			return;
		}
		Val v = eval(e, s, init->items.p[i]);
		if (v.kind == V_ERROR)
			return;
		if (!is_number(v)) {
			error_at(e, init->items.p[i]->span, "initialiser arguments are numbers, got %s", describe(e, v));
			return;
		}
		p->arg[i] = num(v);
	}
	const char *bad = NULL;
	if ((k == INIT_NORMAL || k == INIT_TRUNC_NORMAL) && !(p->arg[0] > 0))
		bad = "the standard deviation must be positive";
	else if (k == INIT_TRUNC_NORMAL && !(p->arg[1] < p->arg[2]))
		bad = "the truncation interval must not be empty";
	else if (k == INIT_UNIFORM && !(p->arg[0] < p->arg[1]))
		bad = "the interval must not be empty";
	else if ((k == INIT_FAN_IN_UNIFORM && !(p->arg[0] >= 1)) || (k == INIT_XAVIER_UNIFORM && !(p->arg[0] >= 1 && p->arg[1] >= 1)))
		bad = "fan-in and fan-out must be at least 1";
	else if (k == INIT_SINCOS2D) {
		double cells = p->arg[0] * p->arg[1] + p->arg[2];
		int r = p->type.rank;
		if (!(p->arg[0] >= 1 && p->arg[1] >= 1 && p->arg[2] >= 0) || r < 2 || (double)type_numel(&p->type, 1) !=
		    cells * (double)p->type.dim[r - 1] || p->type.dim[r - 1] % 4 != 0)
			bad = "sincos2d(grid_h, grid_w, cls_rows) needs a shape of grid_h*grid_w + cls_rows rows and a width divisible by 4";
	}
	if (bad) {
		error_at(e, init->span, "bad initialiser for parameter '%s': %s", name, bad);
		return;
	}
	p->init = k;
	bind(e, s, name, (Val){.kind = V_PARAM, .param = p}, st->name_spans.p[0], false);
}

static void exec_stmt(Elab *e, Scope *s, const Stmt *st, Ctx ctx, Inst *inst, Frame *fr)
{
	bool rebind = ctx == CTX_FUNC;
	switch (st->kind) {
	case S_ASSIGN: {
		if (ctx != CTX_RECIPE && strcmp(st->names.p[0], "model") == 0 && st->name_spans.p[0].hi - st->name_spans.p[0].lo == 5) {
			error_at(e, st->name_spans.p[0], "'model' is a keyword: a model is declared as `model NAME = Block(...)`");
			return;
		}
		Val v = eval(e, s, st->value);
		if (v.kind == V_BATCH && ctx != CTX_FUNC)
			v = error_at(e, st->value->span, "the batch dimension can only be named inside a function");
		bind(e, s, st->names.p[0], v, st->name_spans.p[0], rebind);
		return;
	}
	case S_UNPACK: {
		Val v = eval(e, s, st->value);
		int n = st->names.n;
		if (v.kind != V_ERROR && (v.kind != V_TUPLE || v.n != n)) {
			error_at(e, st->value->span, "cannot unpack %s into %d names", v.kind == V_TUPLE ?
			         arena_printf(e->a, "a tuple of %d values", v.n) : describe(e, v), n);
			v = verr();
		}
		for (int i = 0; i < n; i++)
			bind(e, s, st->names.p[i], v.kind == V_TUPLE ? v.items[i] : verr(), st->name_spans.p[i], rebind);
		return;
	}
	case S_RETURN:
		if (ctx != CTX_FUNC) {
			error_at(e, st->span, "'return' belongs in a function body, not %s", ctx_name(ctx));
			return;
		}
		fr->returned = true;
		fr->v = eval(e, s, st->value);
		fr->ret = st;
		return;
	case S_PARAM:
		if (ctx != CTX_BLOCK) {
			error_at(e, st->span, "parameters are declared in a block body, not %s", ctx_name(ctx));
			return;
		}
		declare_param(e, s, st);
		return;
	case S_DEF: {
		const FuncDef *fd = st->def;
		if (ctx == CTX_BLOCK) {
			if (strcmp(fd->name, "forward") != 0) {
				error_at(e, fd->name_span, "a block defines one function, 'forward', not '%s'", fd->name);
				return;
			}
			if (inst->forward) {
				error_at(e, fd->name_span, "block '%s' defines 'forward' twice", inst->block);
				note_at(e, inst->forward->name_span, "first defined here");
				return;
			}
			inst->forward = fd;
			return;
		}
		if (ctx == CTX_TOP) {
			bind(e, s, fd->name, (Val){.kind = V_FUNC, .fn = fd}, fd->name_span, false);
			return;
		}
		error_at(e, fd->name_span, "functions are defined at the top level or in blocks, not %s", ctx_name(ctx));
		return;
	}
	case S_IF: {
		Val c = eval(e, s, st->value);
		if (c.kind == V_ERROR)
			return;
		if (c.kind != V_BOOL) {
			error_at(e, st->value->span, "an 'if' condition must be a compile-time boolean, got %s", describe(e, c));
			return;
		}
		exec(e, s, c.i ? &st->then : &st->els, ctx, inst, fr);
		return;
	}
	}
	BUG("statement kind %d", st->kind);
}

static void exec(Elab *e, Scope *s, const StmtList *body, Ctx ctx, Inst *inst, Frame *fr)
{
	for (int i = 0; i < body->n; i++) {
		if (fr && fr->returned) {
			error_at(e, body->p[i]->span, "this statement follows 'return' and is never run");
			return;
		}
		exec_stmt(e, s, body->p[i], ctx, inst, fr);
	}
}

/* ---------- models ---------- */

/* state_dict order: an instance's own parameters, then its children, in the order the
 * body bound them, as PyTorch registers them. */
static void collect_params(Elab *e, Model *m, Inst *inst, const char *prefix)
{
	if (!inst->path && *prefix) /* "encoder.blocks.3." */
		inst->path = arena_strndup(e->a, prefix, strlen(prefix) - 1);
	if (!inst->def) {
		for (int i = 0; i < inst->seq.n; i++)
			collect_params(e, m, inst->seq.p[i], arena_printf(e->a, "%s%d.", prefix, i));
		return;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < inst->members->b.n; i++) {
			Binding *b = &inst->members->b.p[i];
			if (pass == 0 && b->v.kind == V_PARAM) {
				bool seen = false;
				for (int k = 0; k < m->params.n && !seen; k++)
					seen = m->params.p[k].param == b->v.param;
				if (!seen)
					vec_push(e->a, m->params, ((Named){b->v.param, arena_printf(e->a, "%s%s", prefix, b->name)}));
			} else if (pass == 1 && b->v.kind == V_INST) {
				collect_params(e, m, b->v.inst, arena_printf(e->a, "%s%s.", prefix, b->name));
			}
		}
}

static void claim_params(Elab *e, Model *m)
{
	for (int i = 0; i < m->params.n; i++) {
		PDecl *p = m->params.p[i].param;
		if (p->global)
			continue;
		const char *gname = arena_printf(e->a, "%s.%s", m->name, m->params.p[i].name);
		Loc loc = loc_of(e, p->span);
		const char *dot = strrchr(m->params.p[i].name, '.'); /* its instance: "encoder.norm" of "encoder.norm.weight" */
		if (dot)
			loc.scope = arena_strndup(e->a, m->params.p[i].name, (size_t)(dot - m->params.p[i].name));
		p->global = module_add_param(e->m, gname, &p->type, loc);
		p->global->init = p->init;
		memcpy(p->global->init_arg, p->arg, sizeof p->arg);
		p->global->frozen = p->frozen;
	}
}

static void begin_func(Elab *e, const char *name, Span span, Model *model)
{
	e->fn = module_add_func(e->m, name, loc_of(e, span));
	e->model = model;
	e->param_ins.n = e->param_ins_names.n = 0;
	e->nstreams = 0;
}

/* After the arguments, every parameter of the model, in state_dict order: the function
 * then describes the model's whole state, used or not. */
static void emit_params(Elab *e)
{
	for (int i = 0; i < e->model->params.n; i++)
		param_tensor(e, e->model->params.p[i].param, e->model->params.p[i].param->span);
}

/* The arguments of a model's or recipe's function: tensors of the declared types, where
 * the one dimension left unnamed is the batch. */
static bool make_args(Elab *e, const FuncDef *fd, Scope *closure, Call *c)
{
	Scope *s = scope_new(e, closure);
	const char *batch = NULL;
	c->span = fd->name_span;
	for (int i = 0; i < fd->formals.n; i++) {
		const Formal *f = &fd->formals.p[i];
		if (!f->type) {
			error_at(e, f->span, "argument '%s' of '%s' needs a tensor type such as [B, 3, 32, 32]", f->name, fd->name);
			return false;
		}
		Type any = {.dt = DT_F32, .rank = IR_MAX_RANK + 1};
		if (f->type->dims.n > IR_MAX_RANK) {
			error_at(e, f->type->span, "a tensor has at most %d dimensions", IR_MAX_RANK);
			return false;
		}
		for (int k = 0; k < f->type->dims.n; k++)
			if (f->type->dims.p[k]->kind == E_ELLIPSIS) {
				error_at(e, f->type->dims.p[k]->span, "the inputs of a model or recipe need every dimension named");
				return false;
			}
		/* Bind dims against a tensor of unknown shape: evaluate each dimension. */
		any.rank = f->type->dims.n;
		for (int k = 0; k < any.rank; k++) {
			const Expr *x = f->type->dims.p[k];
			if (x->kind == E_NAME && !scope_find(s, x->s)) {
				if (batch && strcmp(batch, x->s) != 0) {
					error_at(e, x->span, "'%s' is a second unknown dimension; only the batch ('%s') may be unknown here",
					         x->s, batch);
					return false;
				}
				batch = x->s;
				bind(e, s, x->s, (Val){.kind = V_BATCH}, x->span, false);
				any.dim[k] = DIM_B;
				continue;
			}
			Val v = eval(e, s, x);
			if (v.kind == V_ERROR)
				return false;
			if (v.kind == V_BATCH)
				any.dim[k] = DIM_B;
			else if (v.kind == V_INT && v.i >= 1 && v.i <= IR_MAX_DIM)
				any.dim[k] = v.i;
			else {
				error_at(e, x->span, "a dimension must be an integer between 1 and 2^40, got %s", describe(e, v));
				return false;
			}
		}
		if (f->type->dtype && !dtype_parse(f->type->dtype, &any.dt)) {
			error_at(e, f->type->dtype_span, "unknown dtype '%s' (f32, f64, i32 or i64)", f->type->dtype);
			return false;
		}
		Ins *arg = ins_new(e->m, e->fn, OP_arg, NULL, 0, loc_of(e, f->span));
		arg->type = any;
		arg->attr[0].s = f->name;
		if (type_numel(&any, 1) < 0 || type_numel(&any, 1) > IR_MAX_DIM) {
			error_at(e, f->type->span, "input '%s' has more than 2^40 elements per image", f->name);
			return false;
		}
		func_append(e->m, e->fn, arg);
		vec_push(e->a, c->args, ((Arg){NULL, vtensor(arg), f->span, f->span}));
	}
	return true;
}

/* The function's results: tensors, named after the returned variables. */
static void finish_func(Elab *e, Val result, const FuncDef *fd, const char *first_name)
{
	if (result.kind == V_ERROR)
		return;
	int n = result.kind == V_TUPLE ? result.n : 1;
	for (int i = 0; i < n; i++) {
		Val r = result.kind == V_TUPLE ? result.items[i] : result;
		Ins *t = as_tensor(e, r, fd->name_span, DT_F32, "a result");
		if (!t)
			return;
		vec_push(e->a, e->fn->rets, t);
		vec_push(e->a, e->fn->ret_names, i == 0 ? first_name : NULL);
	}
}

/* Results are named after the variables the function returns (`return loss, acc`),
 * looking through a returned call of a top-level function. */
static void name_results(Elab *e, const FuncDef *fd)
{
	for (int depth = 0; fd && depth < 16; depth++) {
		const Stmt *ret = NULL;
		for (int i = 0; i < fd->body.n; i++)
			if (fd->body.p[i]->kind == S_RETURN)
				ret = fd->body.p[i];
		if (!ret)
			return;
		const Expr *v = ret->value;
		if (v->kind == E_CALL && v->a->kind == E_NAME) {
			Binding *b = scope_find(e->globals, v->a->s);
			fd = b && b->v.kind == V_FUNC ? b->v.fn : NULL;
			continue;
		}
		int n = v->kind == E_TUPLE ? v->items.n : 1;
		for (int k = 0; k < n && k < e->fn->rets.n; k++) {
			const Expr *x = v->kind == E_TUPLE ? v->items.p[k] : v;
			if (x->kind == E_NAME)
				e->fn->ret_names.p[k] = x->s;
		}
		return;
	}
}

static void elab_model(Elab *e, const Decl *d)
{
	Val v = eval(e, e->globals, d->value);
	if (v.kind == V_BLOCK)
		v = error_at(e, d->value->span, "a model is an instance of a block: call it, as in %s(...)", v.block->name);
	else if (v.kind != V_ERROR && (v.kind != V_INST || !v.inst->def))
		v = error_at(e, d->value->span, "a model is an instance of a block, such as MAE(); got %s", describe(e, v));
	for (int i = 0; v.kind == V_INST && i < e->models.n; i++)
		if (e->models.p[i]->root == v.inst)
			v = error_at(e, d->value->span, "this instance is already model '%s'", e->models.p[i]->name);
	if (v.kind == V_ERROR) { /* bound all the same, so that its uses fail quietly */
		bind(e, e->globals, d->name, v, d->name_span, false);
		return;
	}
	Model *m = arena_alloc(e->a, sizeof *m);
	m->name = d->name;
	m->root = v.inst;
	m->span = d->span;
	bind(e, e->globals, d->name, v, d->name_span, false);
	vec_push(e->a, e->models, m);
	collect_params(e, m, m->root, "");
	if (!m->root->path) /* the model's own instructions name it, as its layers' name theirs */
		m->root->path = m->name;
	claim_params(e, m);
	if (!m->root->forward) {
		error_at(e, d->value->span, "block '%s' has no forward function, so it cannot be a model", m->root->block);
		return;
	}
	begin_func(e, d->name, d->span, m);
	m->func = e->fn;
	Call c = {.what = arena_printf(e->a, "model '%s'", d->name)};
	int errors = e->d->errors;
	if (make_args(e, m->root->forward, m->root->members, &c)) {
		emit_params(e);
		Val r = call_instance(e, m->root, &c);
		finish_func(e, r, m->root->forward, NULL);
		name_results(e, m->root->forward);
	}
	m->failed = e->d->errors > errors;
	e->fn = NULL;
	e->model = NULL;
}

static Model *model_of(Elab *e, Val v)
{
	for (int i = 0; i < e->models.n; i++)
		if (v.kind == V_INST && e->models.p[i]->root == v.inst)
			return e->models.p[i];
	return NULL;
}

/* ---------- recipes ---------- */

typedef enum SetKind {
	K_MODEL, K_ENUM, K_DATA, K_FOLDER, K_CHANNELS, K_AUGMENT, K_INT, K_FLOAT, K_PAIR, K_TRAIN, K_INIT
} SetKind;

/* The choices of `schedule` (runtime/train/schedules.def), each after a space:
 * " warmup_cosine warmup_cosine_iter constant". */
static const char schedule_names[] =
#define RT_SCHEDULE(id, name, what) " " #name
#include "../runtime/train/schedules.def"
#undef RT_SCHEDULE
	;

/* Every recipe setting (ir/recipe.def): its kind, its range (lo_open/hi_open: strict
 * bounds) or choices, and its default (NULL: required); indexed by RecipeKey. */
static const struct SettingRule {
	const char *key;
	SetKind kind;
	const char *choices;
	double lo, hi;
	bool lo_open, hi_open;
	const char *deflt;
} recipe_keys[] = {
#define RECIPE_SETTING(key, kind, choices, lo, hi, lo_open, hi_open, deflt, meaning) \
	{#key, kind, choices, lo, hi, lo_open, hi_open, deflt},
#define RECIPE_LOSS(key, meaning)
#include "recipe.def"
#undef RECIPE_SETTING
#undef RECIPE_LOSS
};
enum { NKEYS = sizeof recipe_keys / sizeof *recipe_keys };
_Static_assert((int)NKEYS == (int)RK_loss, "recipe.def: the checked settings come before the loss");

static bool has_choice(const char *choices, const char *s)
{
	size_t n = strlen(s);
	for (const char *c = choices; *c;) {
		const char *end = strchr(c, ' ');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == n && strncmp(c, s, n) == 0)
			return true;
		c += len + (end != NULL);
	}
	return false;
}

static bool in_range(const struct SettingRule *k, double v)
{
	return (k->lo_open ? v > k->lo : v >= k->lo) && (k->hi_open ? v < k->hi : v <= k->hi);
}

/* "(0, 10]": whole bounds without a fraction, as they are written in recipes. */
static const char *range_str(Elab *e, const struct SettingRule *k)
{
	return arena_printf(e->a, "%c%.15g, %.15g%c", k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

/* "a, b or c" from the space-separated choices of a setting. */
static const char *choices_str(Elab *e, const char *choices)
{
	Buf b = {0};
	for (const char *c = choices; *c;) {
		const char *end = strchr(c, ' ');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		buf_printf(&b, "%s%.*s", c == choices ? "" : end ? ", " : " or ", (int)len, c);
		c += len + (end != NULL);
	}
	const char *s = arena_strdup(e->a, b.p);
	buf_free(&b);
	return s;
}

/* The choice closest to `s`, or NULL. */
static const char *closest_choice(Elab *e, const char *choices, const char *s)
{
	const char *best = NULL;
	int best_d = 3;
	for (const char *c = choices; *c;) {
		const char *end = strchr(c, ' ');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		consider(s, arena_strndup(e->a, c, len), &best, &best_d);
		c += len + (end != NULL);
	}
	return best;
}

static RVal rv_ident(const char *s)
{
	return (RVal){.kind = RV_IDENT, .s = s};
}

static bool number_setting(Elab *e, const struct SettingRule *k, Val v, Span span, RVal *out)
{
	if (k->kind == K_INT && v.kind != V_INT) {
		error_at(e, span, "'%s' must be an integer, got %s", k->key, describe(e, v));
		return false;
	}
	if (!is_number(v) || v.kind == V_BOOL) {
		error_at(e, span, "'%s' must be a number, got %s", k->key, describe(e, v));
		return false;
	}
	if (!in_range(k, num(v))) {
		error_at(e, span, "'%s' must be in %s, got %s", k->key, range_str(e, k), span_text(e, span));
		return false;
	}
	*out = k->kind == K_INT ? (RVal){.kind = RV_INT, .i = v.i} : (RVal){.kind = RV_FLOAT, .f = num(v)};
	return true;
}

/* The data sets recipes can read (runtime/formats/datasets.def): their names (the choices of
 * `data`), their image shape (0s: the loss's, as image_folder's) and the loss arguments
 * they feed. */
static const struct Dataset {
	const char *name;
	int64_t channels, height, width;
} datasets[] = {
#define RT_DATASET(id, name, channels, height, width, loader) {#name, channels, height, width},
#include "../runtime/formats/datasets.def"
#undef RT_DATASET
};
enum { NDATASETS = sizeof datasets / sizeof *datasets };

static const struct Dataset *find_dataset(const char *name)
{
	for (int i = 0; i < NDATASETS; i++)
		if (strcmp(datasets[i].name, name) == 0)
			return &datasets[i];
	return NULL;
}

/* The choices of `data`: the names of datasets.def, space-separated. */
static const char *dataset_choices(Elab *e)
{
	Buf b = {0};
	for (int i = 0; i < NDATASETS; i++)
		buf_printf(&b, "%s%s", i ? " " : "", datasets[i].name);
	const char *s = arena_strdup(e->a, b.p);
	buf_free(&b);
	return s;
}

/* The data set whose files the recipe names (`data = image_folder("DIR")`): the row of
 * datasets.def whose images take the loss's shape. */
static const char *folder_dataset(void)
{
	for (int i = 0; i < NDATASETS; i++)
		if (datasets[i].channels == 0)
			return datasets[i].name;
	return "";
}

/* A call's argument: the positional one at pos, else the keyword one named key; NULL when
 * neither is given. Marks it used. */
static const Expr *call_arg(const Expr *x, int pos, const char *key, bool *used)
{
	int p = 0;
	for (int i = 0; i < x->items.n; i++) {
		if (x->keys.p[i] ? strcmp(x->keys.p[i], key) == 0 : p++ == pos) {
			used[i] = true;
			return x->items.p[i];
		}
	}
	return NULL;
}

/* The transforms of `augment` (ir/augments.def), by AugmentKind. */
static const struct Transform {
	const char *name;
	const char *args[3];  /* keywords, in positional order */
	const char *deflt[3]; /* NULL: required */
} transforms[AUG__N] = {
#define AUG_LIST(...) {__VA_ARGS__}
#define AUGMENT(name, args, defaults, meaning) {#name, AUG_LIST args, AUG_LIST defaults},
#include "augments.def"
#undef AUGMENT
#undef AUG_LIST
};

/* "random_resized_crop(size, scale = (0.2, 1.0), ...), resize(size), ... and horizontal_flip(p = 0.5)" */
static const char *transforms_str(Elab *e)
{
	Buf b = {0};
	for (int i = 0; i < AUG__N; i++) {
		const struct Transform *t = &transforms[i];
		buf_printf(&b, "%s%s(", i == 0 ? "" : i == AUG__N - 1 ? " and " : ", ", t->name);
		for (int a = 0; a < 3 && t->args[a]; a++)
			buf_printf(&b, "%s%s%s%s", a ? ", " : "", t->args[a], t->deflt[a] ? " = " : "", t->deflt[a] ? t->deflt[a] : "");
		buf_putc(&b, ')');
	}
	const char *s = arena_strdup(e->a, b.p);
	buf_free(&b);
	return s;
}

/* One transform of `augment`: NAME(args) into [NAME, numbers...]. */
static bool augment_item(Elab *e, const Expr *x, RVal *out)
{
	int kind = x->kind == E_CALL && x->a->kind == E_NAME ? augment_find(x->a->s) : -1;
	if (kind < 0) {
		error_at(e, x->span, "'augment' lists %s; not '%s'", transforms_str(e), span_text(e, x->span));
		return false;
	}
	const struct Transform *t = &transforms[kind];
	bool used[16] = {0};
	VEC(RVal) items = {0};
	vec_push(e->a, items, rv_ident(t->name));
	for (int a = 0; a < 3 && t->args[a]; a++) {
		const Expr *arg = x->items.n <= 16 ? call_arg(x, a, t->args[a], used) : NULL;
		double v[2];
		int n = 1;
		if (arg) {
			Val val = eval(e, e->globals, arg);
			if (val.kind == V_ERROR)
				return false;
			bool pair = strcmp(t->args[a], "scale") == 0 || strcmp(t->args[a], "ratio") == 0;
			bool ok = pair ? val.kind == V_TUPLE && val.n == 2 && is_number(val.items[0]) && is_number(val.items[1])
			               : is_number(val) && val.kind != V_BOOL;
			if (ok && pair) {
				v[0] = num(val.items[0]);
				v[1] = num(val.items[1]);
				n = 2;
				ok = v[0] > 0 && v[0] <= v[1] && (strcmp(t->args[a], "ratio") == 0 || v[1] <= 1);
			} else if (ok) {
				v[0] = num(val);
				ok = strcmp(t->args[a], "p") == 0 ? v[0] >= 0 && v[0] <= 1
				                                  : val.kind == V_INT && v[0] >= 1 && v[0] <= 65536;
			}
			if (!ok) {
				const char *want = strcmp(t->args[a], "p") == 0       ? "a probability in [0, 1]"
				                   : strcmp(t->args[a], "scale") == 0 ? "a pair (lo, hi) with 0 < lo <= hi <= 1"
				                   : strcmp(t->args[a], "ratio") == 0 ? "a pair (lo, hi) with 0 < lo <= hi"
				                                                      : "an integer from 1 to 65536";
				error_at(e, arg->span, "%s's %s must be %s, got %s", t->name, t->args[a], want, span_text(e, arg->span));
				return false;
			}
		} else if (t->deflt[a]) {
			const char *d = t->deflt[a];
			if (d[0] == '(') { /* (0.2, 1.0) or (3/4, 4/3) */
				bool thirds = strchr(d, '/') != NULL;
				v[0] = thirds ? 3.0 / 4 : 0.2;
				v[1] = thirds ? 4.0 / 3 : 1.0;
				n = 2;
			} else
				v[0] = strtod(d, NULL);
		} else {
			error_at(e, x->span, "%s needs its %s", t->name, t->args[a]);
			return false;
		}
		for (int k = 0; k < n; k++)
			vec_push(e->a, items, (strcmp(t->args[a], "size") == 0 ? (RVal){.kind = RV_INT, .i = (int64_t)v[k]}
			                                                       : (RVal){.kind = RV_FLOAT, .f = v[k]}));
	}
	for (int i = 0; i < x->items.n; i++)
		if (i >= 16 || !used[i]) {
			error_at(e, x->items.p[i]->span, "%s takes %s%s%s%s%s", t->name, t->args[0], t->args[1] ? ", " : "",
			         t->args[1] ? t->args[1] : "", t->args[2] ? ", " : "", t->args[2] ? t->args[2] : "");
			return false;
		}
	*out = (RVal){.kind = RV_LIST, .nitems = items.n, .items = items.p};
	return true;
}

/* `augment`: none, or a list of transforms: a crop (random_resized_crop, or resize then
 * center_crop) or none, then horizontal_flip or none. */
static bool augment_setting(Elab *e, const Expr *x, RVal *out)
{
	if (x->kind == E_NAME && strcmp(x->s, "none") == 0) {
		*out = rv_ident("none");
		return true;
	}
	if (x->kind != E_LIST) {
		error_at(e, x->span, "'augment' must be none or a list such as [random_resized_crop(224), horizontal_flip()]");
		return false;
	}
	*out = (RVal){.kind = RV_LIST, .nitems = x->items.n, .items = arena_alloc(e->a, sizeof(RVal) * (size_t)(x->items.n + 1))};
	for (int i = 0; i < x->items.n; i++)
		if (!augment_item(e, x->items.p[i], &out->items[i]))
			return false;
	/* the order torchvision's pipelines use, each once */
	int at = 0, n = out->nitems;
	const RVal *it = out->items;
	bool rrc = n > 0 && augment_find(it[0].items[0].s) == AUG_random_resized_crop;
	bool resize = n > 0 && augment_find(it[0].items[0].s) == AUG_resize;
	at = rrc ? 1 : resize ? 2 : 0;
	if (resize && !(n > 1 && augment_find(it[1].items[0].s) == AUG_center_crop))
		at = n + 1;
	if (at <= n && at < n && augment_find(it[at].items[0].s) == AUG_horizontal_flip)
		at++;
	if (at != n) {
		error_at(e, x->span, "'augment' takes a crop (random_resized_crop(...), or resize(...) then center_crop(...)), "
		         "then horizontal_flip(...), each at most once and in that order");
		return false;
	}
	return true;
}

/* `mean` and `std`: a number for every channel, or a tuple of one per channel. */
static bool channels_setting(Elab *e, const struct SettingRule *k, const Expr *x, RVal *out)
{
	Val v = eval(e, e->globals, x);
	if (v.kind == V_ERROR)
		return false;
	const Val *items = v.kind == V_TUPLE ? v.items : &v;
	int n = v.kind == V_TUPLE ? v.n : 1;
	if (n != 1 && n != 3) {
		error_at(e, x->span, "'%s' must be a number or a tuple of one per channel, such as (0.485, 0.456, 0.406)", k->key);
		return false;
	}
	*out = (RVal){.kind = RV_LIST, .nitems = n, .items = arena_alloc(e->a, sizeof(RVal) * (size_t)n)};
	struct SettingRule item = *k;
	item.kind = K_FLOAT;
	for (int i = 0; i < n; i++)
		if (!number_setting(e, &item, items[i], v.kind == V_TUPLE ? x->items.p[i]->span : x->span, &out->items[i]))
			return false;
	return true;
}

/* `data`: a data set's name, or image_folder("DIR") (*folder: DIR). */
static bool data_setting(Elab *e, const Expr *x, RVal *out, const char **folder)
{
	if (x->kind == E_NAME && find_dataset(x->s)) {
		*out = rv_ident(x->s);
		return true;
	}
	if (x->kind == E_CALL && x->a->kind == E_NAME && strcmp(x->a->s, folder_dataset()) == 0) {
		if (x->items.n != 1 || x->keys.p[0] || x->items.p[0]->kind != E_STR) {
			error_at(e, x->span, "image_folder takes the folder as a string, such as image_folder(\"data/train\")");
			return false;
		}
		*folder = x->items.p[0]->s;
		*out = rv_ident(folder_dataset());
		return true;
	}
	const char *choices = dataset_choices(e);
	const char *hint = x->kind == E_NAME ? did_you_mean(e, closest_choice(e, choices, x->s)) : "";
	error_at(e, x->span, "'data' must be %s (image_folder(\"DIR\") names its folder), not '%s'%s", choices_str(e, choices),
	         span_text(e, x->span), hint);
	return false;
}

/* One `key = value` of a recipe, checked against its schema. */
static bool check_setting(Elab *e, const struct SettingRule *k, const Expr *x, RVal *out, Model **model,
                          const char **folder)
{
	if (k->kind == K_DATA)
		return data_setting(e, x, out, folder);
	if (k->kind == K_AUGMENT)
		return augment_setting(e, x, out);
	if (k->kind == K_CHANNELS)
		return channels_setting(e, k, x, out);
	if (k->kind == K_FOLDER) {
		if (x->kind != E_STR) {
			error_at(e, x->span, "'folder' must be a string (the image folder's path)");
			return false;
		}
		*out = (RVal){.kind = RV_STR, .s = x->s};
		return true;
	}
	if (k->kind == K_ENUM || k->kind == K_INIT || (k->kind == K_TRAIN && x->kind == E_NAME)) {
		bool ok = x->kind == E_NAME && (k->kind == K_ENUM ? has_choice(k->choices, x->s) : true);
		if (ok && k->kind == K_TRAIN && strcmp(x->s, "all") != 0)
			ok = false;
		if (!ok) {
			const char *choices = k->kind == K_ENUM ? choices_str(e, k->choices)
			                      : k->kind == K_INIT ? "scratch or the name of an earlier recipe"
			                                          : "all or a list of parameter names such as [\"head\"]";
			const char *hint = "";
			if (k->kind == K_ENUM && x->kind == E_NAME)
				hint = did_you_mean(e, closest_choice(e, k->choices, x->s));
			error_at(e, x->span, "'%s' must be %s, not '%s'%s", k->key, choices, span_text(e, x->span), hint);
			return false;
		}
		*out = rv_ident(x->s);
		return true;
	}
	Val v = eval(e, e->globals, x);
	if (v.kind == V_ERROR)
		return false;
	switch (k->kind) {
	case K_MODEL:
		if (!(*model = model_of(e, v))) {
			error_at(e, x->span, "'model' must name a model, got %s", describe(e, v));
			return false;
		}
		*out = (RVal){.kind = RV_FUNC, .s = (*model)->name};
		return true;
	case K_INT:
	case K_FLOAT: return number_setting(e, k, v, x->span, out);
	case K_PAIR: {
		if (v.kind != V_TUPLE || v.n != 2) {
			error_at(e, x->span, "'%s' must be a pair of numbers such as (0.9, 0.999)", k->key);
			return false;
		}
		*out = (RVal){.kind = RV_LIST, .nitems = 2, .items = arena_alloc(e->a, 2 * sizeof(RVal))};
		struct SettingRule item = *k;
		item.kind = K_FLOAT;
		for (int i = 0; i < 2; i++)
			if (!number_setting(e, &item, v.items[i], x->items.p[i]->span, &out->items[i]))
				return false;
		return true;
	}
	case K_TRAIN: {
		if (v.kind != V_TUPLE || v.n == 0) {
			error_at(e, x->span, "'train' must be all, or a list of parameter names such as [\"head\"]");
			return false;
		}
		*out = (RVal){.kind = RV_LIST, .nitems = v.n, .items = arena_alloc(e->a, sizeof(RVal) * (size_t)v.n)};
		for (int i = 0; i < v.n; i++) {
			if (v.items[i].kind != V_STR) {
				error_at(e, x->items.p[i]->span, "'train' lists parameter names as strings, got %s",
				         describe(e, v.items[i]));
				return false;
			}
			out->items[i] = (RVal){.kind = RV_STR, .s = v.items[i].s};
		}
		return true;
	}
	default: BUG("setting kind %d", k->kind);
	}
}

static RVal default_setting(Elab *e, const struct SettingRule *k, const RVal *vals)
{
	if (strcmp(k->deflt, recipe_key_names[RK_batch]) == 0) /* micro_batch: the batch */
		return vals[RK_batch];
	switch (k->kind) {
	case K_FOLDER: return (RVal){.kind = RV_STR, .s = ""};
	case K_CHANNELS: {
		RVal v = {.kind = RV_LIST, .nitems = 1, .items = arena_alloc(e->a, sizeof(RVal))};
		v.items[0] = (RVal){.kind = RV_FLOAT, .f = strtod(k->deflt, NULL)};
		return v;
	}
	case K_INT: return (RVal){.kind = RV_INT, .i = strtoll(k->deflt, NULL, 10)};
	case K_FLOAT: return (RVal){.kind = RV_FLOAT, .f = strtod(k->deflt, NULL)};
	case K_PAIR: {
		RVal v = {.kind = RV_LIST, .nitems = 2, .items = arena_alloc(e->a, 2 * sizeof(RVal))};
		char *end;
		v.items[0] = (RVal){.kind = RV_FLOAT, .f = strtod(k->deflt, &end)};
		v.items[1] = (RVal){.kind = RV_FLOAT, .f = strtod(end, NULL)};
		return v;
	}
	default: return rv_ident(k->deflt);
	}
}

static int key_index(const char *key)
{
	for (int i = 0; i < NKEYS; i++)
		if (strcmp(recipe_keys[i].key, key) == 0)
			return i;
	return -1;
}

/* image_folder's images take the loss's shape: [B, C, H, W] of 1 or 3 channels, which its
 * other settings must fit. */
static bool check_folder_shape(Elab *e, const FuncDef *fd, const Type *t, const RVal *vals, const Span *spans)
{
	if (t->dt != DT_F32 || t->rank != 4 || t->dim[0] != DIM_B || (t->dim[1] != 1 && t->dim[1] != 3) ||
	    t->dim[2] < 1 || t->dim[3] < 1) {
		error_at(e, fd->formals.p[0].span, "image_folder feeds images of shape [B, 1 or 3, H, W], but the loss takes %s",
		         type_str(e, t));
		return false;
	}
	int64_t C = t->dim[1], H = t->dim[2], W = t->dim[3];
	for (int k = RK_mean; k <= RK_std; k++)
		if (vals[k].nitems != 1 && vals[k].nitems != C) {
			error_at(e, spans[k], "'%s' gives %d values; the images have %lld channel%s", recipe_key_names[k],
			         vals[k].nitems, (long long)C, C == 1 ? "" : "s");
			return false;
		}
	const RVal *aug = &vals[RK_augment];
	for (int i = 0; aug->kind == RV_LIST && i < aug->nitems; i++) {
		const RVal *it = &aug->items[i];
		const char *name = it->items[0].s;
		int kind = augment_find(name);
		if (kind == AUG_random_resized_crop || kind == AUG_center_crop) {
			if (it->items[1].i != H || it->items[1].i != W) {
				error_at(e, spans[RK_augment], "%s(%lld) makes %lldx%lld images; the loss takes %lldx%lld", name,
				         (long long)it->items[1].i, (long long)it->items[1].i, (long long)it->items[1].i,
				         (long long)H, (long long)W);
				return false;
			}
		} else if (kind == AUG_resize && (it->items[1].i < H || it->items[1].i < W)) {
			error_at(e, spans[RK_augment], "resize(%lld) before center_crop(%lld): the shorter side must be at least "
			         "the crop's", (long long)it->items[1].i, (long long)H);
			return false;
		}
	}
	if (vals[RK_val_resize].i && (vals[RK_val_resize].i < H || vals[RK_val_resize].i < W)) {
		error_at(e, spans[RK_val_resize], "val_resize %lld is smaller than the %lldx%lld images its center crop makes",
		         (long long)vals[RK_val_resize].i, (long long)H, (long long)W);
		return false;
	}
	return true;
}

static void check_loss(Elab *e, const FuncDef *fd, const RVal *vals, const Span *spans, const Recipe *r)
{
	const char *data = vals[RK_data].s;
	const struct Dataset *ds = find_dataset(data);
	CHECK(ds);
	Func *f = e->fn;
	Type img = {.dt = DT_F32, .rank = 4, .dim = {DIM_B, ds->channels, ds->height, ds->width}};
	if (ds->channels == 0) { /* image_folder: the loss's shape */
		if (f->body.n == 0 || f->body.p[0]->op != OP_arg) {
			error_at(e, fd->name_span, "recipe '%s' reads images: its loss takes them as its first argument", r->name);
			return;
		}
		if (!check_folder_shape(e, fd, &f->body.p[0]->type, vals, spans))
			return;
		img = f->body.p[0]->type;
	}
	Type label = {.dt = DT_I32, .rank = 1, .dim = {DIM_B}};
	const Type *feeds[] = {&img, &label};
	const char *feed_names[] = {"images", "labels"};
	int nargs = 0;
	for (int i = 0; i < f->body.n && f->body.p[i]->op == OP_arg; i++, nargs++) {
		if (i >= 2) {
			error_at(e, fd->formals.p[i].span, "a loss takes at most two arguments: the images and the labels");
			return;
		}
		if (!type_eq(&f->body.p[i]->type, feeds[i]))
			error_at(e, fd->formals.p[i].span, "recipe '%s' reads %s %s %s, but the loss takes %s", r->name, data,
			         feed_names[i], type_str(e, feeds[i]), type_str(e, &f->body.p[i]->type));
	}
	if (f->rets.n == 0)
		return;
	const Type *t = &f->rets.p[0]->type;
	if (t->rank != 0 || !dtype_is_float(t->dt))
		error_at(e, fd->name_span, "the loss must return a scalar first, got %s", type_str(e, t));
	for (int i = 1; i < f->rets.n; i++) /* the first was checked just above */
		if (f->rets.p[i]->type.rank != 0)
			error_at(e, fd->name_span, "result %d of the loss is %s; metrics are scalars", i + 1,
			         type_str(e, &f->rets.p[i]->type));
}

static void check_train(Elab *e, const RVal *train, Model *m, Span span)
{
	if (train->kind != RV_LIST)
		return;
	for (int i = 0; i < train->nitems; i++) {
		const char *want = train->items[i].s;
		size_t n = strlen(want);
		bool found = false;
		const char *best = NULL;
		int best_d = 3;
		for (int k = 0; k < m->params.n && !found; k++) {
			const char *name = m->params.p[k].name;
			found = strncmp(name, want, n) == 0 && (name[n] == 0 || name[n] == '.');
			const char *dot = strchr(name, '.');
			char *head = arena_strndup(e->a, name, dot ? (size_t)(dot - name) : strlen(name));
			int d = edit_distance(want, head, 2);
			if (d < best_d)
				best = head, best_d = d;
		}
		if (found)
			continue;
		if (best)
			error_at(e, span, "'train': model '%s' has no parameter '%s' or '%s.*'; did you mean '%s'?", m->name, want,
			         want, best);
		else
			error_at(e, span, "'train': model '%s' has no parameter '%s' or '%s.*'", m->name, want, want);
	}
}

static void elab_recipe(Elab *e, const Decl *d)
{
	Recipe *r = module_add_recipe(e->m, d->name, loc_of(e, d->name_span));
	RVal vals[NKEYS];
	Span spans[NKEYS];
	bool set[NKEYS] = {0}, misspelt[NKEYS] = {0}, bad = false;
	const FuncDef *loss = NULL;
	Model *model = NULL;
	for (int i = 0; i < d->body.n; i++) {
		const Stmt *st = d->body.p[i];
		if (st->kind == S_DEF && strcmp(st->def->name, "loss") == 0) {
			if (loss) {
				error_at(e, st->def->name_span, "recipe '%s' defines 'loss' twice", d->name);
				note_at(e, loss->name_span, "first defined here");
				bad = true;
			}
			loss = st->def;
			continue;
		}
		if (st->kind != S_ASSIGN) {
			error_at(e, st->span, "a recipe holds settings (key = value) and 'def loss(...)'");
			bad = true;
			continue;
		}
		const char *key = st->names.p[0];
		int k = key_index(key);
		if (k < 0) {
			const char *best = NULL;
			int best_d = 3;
			for (int j = 0; j < NKEYS; j++) {
				int dist = edit_distance(key, recipe_keys[j].key, 2);
				if (dist < best_d)
					best = recipe_keys[j].key, best_d = dist;
			}
			if (best)
				error_at(e, st->name_spans.p[0], "unknown recipe setting '%s'; did you mean '%s'?", key, best);
			else
				error_at(e, st->name_spans.p[0], "unknown recipe setting '%s'", key);
			if (best) /* not "does not set" it as well */
				misspelt[key_index(best)] = true;
			bad = true;
			continue;
		}
		if (set[k]) {
			error_at(e, st->name_spans.p[0], "'%s' is set twice", key);
			note_at(e, spans[k], "first set here");
			bad = true;
			continue;
		}
		set[k] = true;
		spans[k] = st->span;
		const char *folder = NULL;
		if (!check_setting(e, &recipe_keys[k], st->value, &vals[k], &model, &folder))
			bad = true;
		if (folder && set[RK_folder]) {
			error_at(e, st->span, "image_folder(\"...\") sets 'folder', which is set already");
			note_at(e, spans[RK_folder], "set here");
			bad = true;
		} else if (folder) {
			set[RK_folder] = true;
			spans[RK_folder] = st->value->items.p[0]->span;
			vals[RK_folder] = (RVal){.kind = RV_STR, .s = folder};
		}
	}
	/* image_folder's settings mean nothing to the other data sets */
	static const RecipeKey folder_keys[] = {RK_folder, RK_mean, RK_std, RK_augment, RK_val_resize};
	bool is_folder = set[RK_data] && vals[RK_data].kind == RV_IDENT && strcmp(vals[RK_data].s, folder_dataset()) == 0;
	for (size_t i = 0; set[RK_data] && !bad && i < sizeof folder_keys / sizeof *folder_keys; i++)
		if (set[folder_keys[i]] && !is_folder) {
			error_at(e, spans[folder_keys[i]], "'%s' is a setting of image_folder data; recipe '%s' reads %s",
			         recipe_keys[folder_keys[i]].key, d->name, vals[RK_data].s);
			bad = true;
		}
	Buf missing = {0}; /* "'lr', 'epochs' and 'batch'" */
	int nmissing = 0, left = 0;
	for (int k = 0; k < NKEYS; k++)
		left += !set[k] && !misspelt[k] && !recipe_keys[k].deflt;
	for (int k = 0; k < NKEYS; k++)
		if (!set[k] && !misspelt[k] && !recipe_keys[k].deflt) {
			nmissing++;
			buf_printf(&missing, "%s'%s'", nmissing == 1 ? "" : nmissing == left ? " and " : ", ", recipe_keys[k].key);
		}
	if (nmissing) {
		error_at(e, d->name_span, "recipe '%s' does not set %s", d->name, missing.p);
		bad = true;
	}
	buf_free(&missing);
	if (!loss) {
		error_at(e, d->name_span, "recipe '%s' has no 'def loss(...)'", d->name);
		bad = true;
	}
	if (bad)
		return;
	for (int k = 0; k < NKEYS; k++)
		if (!set[k]) {
			vals[k] = default_setting(e, &recipe_keys[k], vals);
			spans[k] = d->name_span;
		}
	int kb = RK_batch, km = RK_micro_batch, kw = RK_warmup, ke = RK_epochs;
	if (vals[km].i > vals[kb].i || vals[kb].i % vals[km].i != 0) {
		error_at(e, spans[km], "micro_batch %lld must divide batch %lld", (long long)vals[km].i, (long long)vals[kb].i);
		return;
	}
	if (vals[kw].i > vals[ke].i) {
		error_at(e, spans[kw], "warmup (%lld epochs) is longer than the run (%lld epoch%s)", (long long)vals[kw].i,
		         (long long)vals[ke].i, vals[ke].i == 1 ? "" : "s");
		return;
	}
	int ki = RK_init;
	if (vals[ki].kind == RV_IDENT && strcmp(vals[ki].s, "scratch") != 0) {
		bool found = false;
		for (int i = 0; i < e->m->recipes.n - 1 && !found; i++)
			found = strcmp(e->m->recipes.p[i]->name, vals[ki].s) == 0;
		if (!found) {
			error_at(e, spans[ki], "'init' must be scratch or the name of an earlier recipe; no recipe '%s' comes "
			         "before '%s'", vals[ki].s, d->name);
			return;
		}
	}
	check_train(e, &vals[RK_train], model, spans[RK_train]);
	for (int k = 0; k < NKEYS; k++) {
		bool folder_key = false;
		for (size_t i = 0; i < sizeof folder_keys / sizeof *folder_keys; i++)
			folder_key |= (int)folder_keys[i] == k;
		if (folder_key && !is_folder)
			continue;
		vec_push(e->a, r->settings, ((RSetting){recipe_keys[k].key, vals[k], loc_of(e, spans[k])}));
		if (k == 0) {
			RVal lf = {.kind = RV_FUNC, .s = arena_printf(e->a, "%s.loss", d->name)};
			vec_push(e->a, r->settings, ((RSetting){recipe_key_names[RK_loss], lf, loc_of(e, loss->name_span)}));
		}
	}
	begin_func(e, arena_printf(e->a, "%s.loss", d->name), loss->span, model);
	Call c = {.what = arena_printf(e->a, "the loss of recipe '%s'", d->name)};
	if (make_args(e, loss, e->globals, &c)) {
		emit_params(e);
		e->scope = e->loss_scope = arena_printf(e->a, "%s.loss", d->name); /* the recipe's own instructions */
		Val res = call_function(e, loss, e->globals, NULL, &c, "loss");
		e->scope = e->loss_scope = NULL;
		finish_func(e, res, loss, "loss");
		name_results(e, loss);
		if (e->fn->rets.n > 0) /* whatever the variable, the first result is the loss */
			e->fn->ret_names.p[0] = "loss";
		if (res.kind != V_ERROR)
			check_loss(e, loss, vals, spans, r);
	}
	e->fn = NULL;
	e->model = NULL;
}

/* ---------- the program ---------- */

/* A top-level constant given on the command line replaces the file's value. */
static bool override_const(Elab *e, const Stmt *st, const Define *defs, int ndefs, bool *used)
{
	if (st->kind != S_ASSIGN)
		return false;
	for (int k = 0; k < ndefs; k++) {
		if (strcmp(defs[k].name, st->names.p[0]) != 0)
			continue;
		used[k] = true;
		Val v = defs[k].is_float ? vfloat(defs[k].f) : vint(defs[k].i);
		bind(e, e->globals, st->names.p[0], v, st->name_spans.p[0], false);
		return true;
	}
	return false;
}

Module *elaborate(Arena *a, Diag *d, const SrcFile *src, const Ast *ast)
{
	return elaborate_with(a, d, src, ast, NULL, 0);
}

Module *elaborate_with(Arena *a, Diag *d, const SrcFile *src, const Ast *ast, const Define *defs, int ndefs)
{
	Elab e = {.a = a, .d = d, .src = src, .m = module_new(a)};
	e.globals = scope_new(&e, NULL);
	int errors = d->errors;
	bool *used = arena_alloc(a, (size_t)ndefs + 1);
	for (int i = 0; i < ast->decls.n; i++) {
		const Decl *decl = ast->decls.p[i];
		switch (decl->kind) {
		case D_STMT:
			if (!override_const(&e, decl->stmt, defs, ndefs, used))
				exec_stmt(&e, e.globals, decl->stmt, CTX_TOP, NULL, NULL);
			break;
		case D_BLOCK: bind(&e, e.globals, decl->name, (Val){.kind = V_BLOCK, .block = decl}, decl->name_span, false); break;
		case D_MODEL: elab_model(&e, decl); break;
		case D_RECIPE:
			if (module_find_recipe(e.m, decl->name)) {
				error_at(&e, decl->name_span, "recipe '%s' is already defined", decl->name);
				diag_note(d, module_find_recipe(e.m, decl->name)->loc, "first defined here");
				break;
			}
			elab_recipe(&e, decl);
			break;
		}
	}
	for (int k = 0; k < ndefs; k++)
		if (!used[k])
			diag_error(d, (Loc){0}, "-D %s: %s defines no top-level constant '%s'", defs[k].name, src->name,
			           defs[k].name);
	if (d->errors == errors && e.models.n == 0)
		diag_error(d, (Loc){.file = src->name, .line = 1, .col = 1, .len = 1}, "the file defines no model (write `model NAME = Block(...)`)");
	/* The top-level numbers go into the module, so trainers can record the configuration. */
	for (int i = 0; i < e.globals->b.n; i++) {
		const Binding *b = &e.globals->b.p[i];
		if (b->v.kind != V_INT && b->v.kind != V_FLOAT)
			continue;
		RVal v = b->v.kind == V_INT ? (RVal){.kind = RV_INT, .i = b->v.i} : (RVal){.kind = RV_FLOAT, .f = b->v.f};
		vec_push(a, e.m->consts, ((RSetting){b->name, v, loc_of(&e, b->span)}));
	}
	return d->errors == errors ? e.m : NULL;
}
