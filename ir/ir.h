/* ir.h: maec's typed tensor IR and the support code every stage shares.
 *
 * A Module holds global parameters, functions and recipes. A function is a list of
 * instructions in SSA form; each instruction produces one tensor of a static type
 * (dtype + shape, where the dimension B is the run-time batch) and carries the DSL
 * location that made it. The text form (print.c / read.c) is documented in docs/ir.md.
 */
#ifndef MAEC_IR_H
#define MAEC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAEC_VERSION "0.1.0"

#define FMT(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))

/* support.c: bugs in maec itself stop here, naming the place. */
NORETURN void maec_bug(const char *file, int line, const char *fmt, ...) FMT(3, 4);
#define BUG(...) maec_bug(__FILE__, __LINE__, __VA_ARGS__)
#define CHECK(c) ((c) ? (void)0 : maec_bug(__FILE__, __LINE__, "check failed: %s", #c))

/* support.c: arenas. One per compilation, freed at once. */
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n); /* zeroed, aligned for any type */
void *arena_grow(Arena *a, void *p, size_t old, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) FMT(2, 3);
char *arena_vprintf(Arena *a, const char *fmt, va_list ap);

/* Growable arrays living in an arena. */
#define VEC(T) struct { T *p; int n, cap; }
#define vec_push(arena, v, x)                                                            \
	do {                                                                                 \
		if ((v).n == (v).cap) {                                                          \
			int cap_ = (v).cap ? 2 * (v).cap : 8;                                        \
			(v).p = arena_grow((arena), (v).p, sizeof *(v).p * (size_t)(v).cap,          \
			                   sizeof *(v).p * (size_t)cap_);                            \
			(v).cap = cap_;                                                              \
		}                                                                                \
		(v).p[(v).n++] = (x);                                                            \
	} while (0)

/* support.c: heap strings (no fixed-size buffers anywhere). */
typedef struct Buf { char *p; size_t n, cap; } Buf;
void buf_putc(Buf *b, char c);
void buf_puts(Buf *b, const char *s);
void buf_putn(Buf *b, const char *s, size_t n);
void buf_printf(Buf *b, const char *fmt, ...) FMT(2, 3);
void buf_free(Buf *b);
void fmt_double(Buf *b, double x); /* shortest text that reads back to x */
int edit_distance(const char *a, const char *b, int limit);
/* The whole of a file of at most MAX_SOURCE_BYTES; false with *why (static text) if it
 * cannot be read, is a directory or is larger. */
#define MAX_SOURCE_BYTES ((size_t)64 << 20)
#define MAX_SOURCE_TEXT "64 MiB"
bool read_file(const char *path, char **text, size_t *len, const char **why);

/* diag.c: sources and diagnostics. Locations are byte spans into a SrcFile;
 * line and column are computed when printing. */
typedef struct SrcFile {
	const char *name;
	const char *text;
	size_t len;
	uint32_t *line_start; /* byte offset of each line */
	int nlines;
} SrcFile;

typedef struct Loc {
	const char *file; /* NULL: no location */
	int line, col;    /* 1-based */
	int len;          /* bytes on that line the span covers, at least 1 */
	/* the block instance whose forward made it, as its state_dict path
	 * ("encoder.transformer.3.norm1"); NULL: the model's own code or none */
	const char *scope;
} Loc;

typedef struct Diag {
	FILE *out;
	VEC(SrcFile *) files;
	Arena *arena;
	int errors, warnings;
	int max_errors; /* stop printing (not counting) after this many */
	bool color;
} Diag;

void diag_init(Diag *d, Arena *a, FILE *out);
SrcFile *diag_add_file(Diag *d, const char *name, const char *text, size_t len);
Loc src_loc(const SrcFile *f, uint32_t lo, uint32_t hi);
void diag_error(Diag *d, Loc loc, const char *fmt, ...) FMT(3, 4);
void diag_note(Diag *d, Loc loc, const char *fmt, ...) FMT(3, 4);
void diag_verror(Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap);

/* Types. */
/* bf16 is a storage type (passes/precision.c): only casts, products and the ops that move
 * data read it; every other op computes in f32 from a cast (dtype_reads_bf16). */
typedef enum DType { DT_F32, DT_F64, DT_I32, DT_I64, DT_BF16, DT__N } DType;
#define IR_MAX_RANK 8
#define DIM_B (-1) /* the run-time batch dimension */
#define IR_MAX_DIM ((int64_t)1 << 40)
#define IR_MAX_ID (1 << 22) /* instruction numbers are below this: passes index tables by them */

typedef struct Type {
	DType dt;
	int rank;
	int64_t dim[IR_MAX_RANK];
} Type;

const char *dtype_name(DType dt);
bool dtype_parse(const char *s, DType *dt);
bool dtype_is_float(DType dt);
size_t dtype_size(DType dt);
int64_t type_numel(const Type *t, int64_t batch); /* B taken as batch; -1 on overflow */
bool type_eq(const Type *a, const Type *b);
bool type_same_dims(const Type *a, const Type *b); /* the shapes only, whatever the dtypes */
void type_print(Buf *b, const Type *t);

/* The op table (ops.def). */
typedef enum OpKind {
	KIND_ARG, KIND_SOURCE, KIND_ELEMWISE, KIND_REDUCE, KIND_INJECTIVE, KIND_MATMUL, KIND_OPAQUE,
	KIND_EFFECT
} OpKind;

typedef enum Op {
#define OP(name, nargs, kind, shape, flops, grad, attrs) OP_##name,
#include "ops.def"
#undef OP
	OP__N
} Op;

#define IR_MAX_ATTRS 4

typedef enum AttrKind { ATTR_INT, ATTR_INTS, ATTR_SHAPE, ATTR_FLOAT, ATTR_STR, ATTR_GLOBAL, ATTR_DTYPE } AttrKind;

typedef struct Attr {
	int64_t i;    /* int, dtype */
	double f;     /* float */
	const char *s; /* string */
	int64_t *v;   /* int list, shape */
	int nv;
	struct Param *g; /* global parameter */
} Attr;

typedef struct Ins Ins;
typedef const char *(*ShapeFn)(Ins *ins, Arena *a); /* NULL, or an error message */
typedef double (*FlopsFn)(const Ins *ins);          /* per image: B = 1 */

typedef struct OpInfo {
	const char *name;
	int nargs;
	OpKind kind;
	int nattrs;
	const char *const *attr_name;
	const AttrKind *attr_kind;
	ShapeFn shape;
	FlopsFn flops;
} OpInfo;

const OpInfo *op_info(Op op); /* ir.c */
bool op_lookup(const char *name, Op *op);
const char *op_kind_name(OpKind k);
int op_attr_index(Op op, const char *name); /* -1 if absent */
bool op_reads_bf16(Op op);                  /* may take a bf16 operand */

/* Instructions and functions. */
struct Ins {
	Op op;
	int id; /* printed %id; unique in its function */
	Type type;
	int nargs;
	Ins **args;
	Attr attr[IR_MAX_ATTRS];
	Loc loc;
	int kernel; /* the kernel the fuse pass put it in (kernel=N), 0 for none */
};

/* The initialisers (runtime/kernels/inits.def, which the runtime numbers alike). */
typedef enum InitKind {
#define RT_INIT(kind, name, nargs, argnames) INIT_##kind,
#include "../runtime/kernels/inits.def"
#undef RT_INIT
	INIT__N
} InitKind;

typedef struct InitInfo {
	const char *name;
	int nargs;            /* number of numeric arguments */
	const char *argnames; /* for messages and docs */
} InitInfo;

const InitInfo *init_info(InitKind k);
bool init_lookup(const char *name, InitKind *k);

typedef struct Param {
	const char *name; /* module-unique: the owning model's name, '.', its state_dict name */
	Type type;
	InitKind init;
	double init_arg[4];
	bool frozen; /* fixed values: never trained by any recipe */
	Loc loc;
	int index;
} Param;

typedef struct Func {
	const char *name;
	VEC(Ins *) body; /* in order; args first */
	VEC(Ins *) rets;
	VEC(const char *) ret_names; /* NULL entries for unnamed results */
	Loc loc;
	int next_id;
} Func;

/* Recipes: key = value settings, validated by the front end. */
typedef enum RValKind { RV_INT, RV_FLOAT, RV_STR, RV_IDENT, RV_FUNC, RV_LIST } RValKind;
typedef struct RVal {
	RValKind kind;
	int64_t i;
	double f;
	const char *s; /* string, identifier, function name */
	struct RVal *items;
	int nitems;
} RVal;

typedef struct RSetting {
	const char *key;
	RVal val;
	Loc loc;
} RSetting;

typedef struct Recipe {
	const char *name;
	VEC(RSetting) settings;
	Loc loc;
} Recipe;

/* The storage policy passes/precision.c applies (maec --precision). */
typedef enum Precision { PRECISION_FP32, PRECISION_BF16 } Precision;

typedef struct Module {
	Arena *arena;
	Precision precision;
	struct Remat *remat; /* passes/remat.c's policy and choices (maec --recompute); NULL: none */
	VEC(RSetting) consts; /* the program's top-level numeric constants, for the record */
	VEC(Param *) params;
	VEC(Func *) funcs;
	VEC(Recipe *) recipes;
} Module;

/* ir.c: construction and queries. */
Module *module_new(Arena *a);
Param *module_add_param(Module *m, const char *name, const Type *t, Loc loc);
Param *module_find_param(const Module *m, const char *name);
Func *module_add_func(Module *m, const char *name, Loc loc);
Func *module_find_func(const Module *m, const char *name);
Recipe *module_add_recipe(Module *m, const char *name, Loc loc);
Recipe *module_find_recipe(const Module *m, const char *name);
const RSetting *recipe_get(const Recipe *r, const char *key);
/* A recipe's settings by name (recipe.def): recipe_setting(r, RK_micro_batch). */
typedef enum RecipeKey {
#define RECIPE_SETTING(key, ...) RK_##key,
#define RECIPE_LOSS(key, meaning) RK_##key,
#include "recipe.def"
#undef RECIPE_SETTING
#undef RECIPE_LOSS
	RK__N
} RecipeKey;
extern const char *const recipe_key_names[RK__N];
/* The transforms of `augment` (augments.def): augment_find(name) is AUG_name, or -1 for
 * a name that is none. */
typedef enum AugmentKind {
#define AUGMENT(name, args, defaults, meaning) AUG_##name,
#include "augments.def"
#undef AUGMENT
	AUG__N
} AugmentKind;
extern const char *const augment_names[AUG__N];
int augment_find(const char *name);
extern const char *const recipe_key_defaults[RK__N]; /* as recipe.def writes them; NULL: required */
const RSetting *recipe_setting(const Recipe *r, RecipeKey k);
Ins *ins_new(Module *m, Func *f, Op op, Ins **args, int nargs, Loc loc);
void func_append(Module *m, Func *f, Ins *ins);
const char *ins_infer(Ins *ins, Arena *a); /* runs the op's shape rule */
/* A new instruction appended to f, typed by its shape rule; for passes, whose output is
 * well typed by construction: a failing rule is a bug in the pass `who`. */
Ins *func_emit(Module *m, Func *f, Op op, Ins **args, int nargs, const Attr *attrs, Loc loc, const char *who);
bool func_is_model(const Func *f);
/* fwd[id] (f->next_id entries, zeroed by the caller): a result of f depends on it, the
 * forward; the rest of a recipe step is its backward (passes/remat.c, fuse.c). */
void func_mark_forward(const Func *f, bool *fwd);

/* shape.c: shape rules and cost counts (named in ops.def). */
#define OP(name, nargs, kind, shape, flops, grad, attrs)                                 \
	const char *shape(Ins *ins, Arena *a);                                               \
	double flops(const Ins *ins);
#include "ops.def"
#undef OP
double func_flops(const Func *f, bool matmul_only); /* per image */
int64_t func_param_count(const Func *f);

/* print.c: the text form. */
void module_print(Buf *b, const Module *m);
void func_print(Buf *b, const Func *f);
void ins_print(Buf *b, const Ins *ins);

/* read.c: parses the text form; errors go to d. Returns NULL on error. */
Module *module_read(Arena *a, Diag *d, const SrcFile *src);

/* verify.c: checks every invariant of a module; reports through d. */
bool module_verify(const Module *m, Diag *d);

/* dot.c: Graphviz output. */
void module_dot(Buf *b, const Module *m);

#endif
