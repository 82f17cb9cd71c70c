/* cgen.h: what the C and CUDA targets share (codegen/ only; codegen.h is the public side).
 *
 * Both write one file: the parameter, model and recipe tables of runtime/train/trainer.h
 * (c.c: cgen_tables), and each function's body, which is the target's own (emit_func).
 */
#ifndef MAEC_CGEN_H
#define MAEC_CGEN_H

#include "codegen.h"
#include "passes.h"

typedef enum FuncKind { FUNC_STEP, FUNC_UPDATE, FUNC_MODEL } FuncKind;

typedef struct CGen CGen;
struct CGen {
	Buf *out;
	const Module *m;
	Arena *a;
	Diag *d;
	const char *target;    /* "C", "CUDA": for messages */
	const char *slab[4];   /* C expressions of the parameter, gradient, m and v slabs */
	int64_t *state_offset; /* per global parameter: elements in the parameter slab, then in each state slab (-1: none) */
	int64_t params_numel, state_numel;
	const MemPlan *plan;   /* of the function being emitted */
	const Func *f;
	const char **names;    /* by id in f: a value's C name (NULL, or none: vN) */
	int float_bytes;
	bool naive_memory;     /* -fno-memplan: every value its own buffer */
	bool failed;
	/* Writes a function (its kind's signature, runtime/train/trainer.h) and sets plan. */
	void (*emit_func)(CGen *g, const Func *f, FuncKind kind, int64_t batch);
	void *target_state;
};

/* cuda_prelude.c: the top of every CUDA trainer's kernel source */
extern const char cuda_prelude[];
extern const char cuda_prelude_bf16[]; /* after it, when activations are stored in bf16 */

/* cost.c: the records of what the CUDA target emits, for the cost model (cost.def). A
 * record is one kernel launch, cuBLAS product, device copy or piece of host work of a
 * function at its batch; cost_site writes its entry of the trainer's site-cost table. */
typedef enum CostKind {
#define DEVICE(...)
#define KIND(id, name, bw, flop) COST_##id,
#define PARAM(...)
#include "cost.def"
} CostKind;
typedef struct CostRec CostRec;
CostRec *cost_begin(CostLog *log, CostKind kind, const Func *f, const Ins *ins, int64_t batch, int64_t threads);
void cost_op(CostRec *r, const Ins *ins);    /* a member: its name, DSL line, FLOPs (ops.def) */
void cost_label(CostRec *r, const Ins *ins); /* its name and DSL line only */
void cost_read(CostRec *r, const Ins *x);    /* x's bytes at the batch, once per kernel */
void cost_write(CostRec *r, const Ins *x);
void cost_bytes(CostRec *r, const void *key, int64_t bytes, bool write); /* other memory, once per key */
void cost_gemm(CostRec *r, const Ins *ins);  /* a product: its GEMM plan's FLOPs, launches, operands */
void cost_mm_flops(CostRec *r, const Ins *ins); /* a product's FLOPs only, on the tensor cores */
void cost_host_copy(CostLog *log, const Func *f, const Ins *ins, int64_t batch, int64_t bytes); /* -1: ins's */
void cost_site(Buf *b, const CostRec *r, int device); /* r NULL: a site without device work */

/* c.c */
FMT(3, 4) void cgen_fail(CGen *g, const Ins *ins, const char *fmt, ...);
const char *c_name(CGen *g, const char *name);  /* an identifier made of name */
const char *c_str(CGen *g, const char *s);      /* a C string literal of s */
/* A C literal of x: the shortest decimal that reads back to it (fmt_double), or NAN,
 * INFINITY, -INFINITY (math.h). */
const char *c_double(CGen *g, double x);
/* s as text inside a comment of the generated code: a file name or a name from the input
 * must not end the comment ("*" "/") or bring a control byte; those become '?'. */
const char *c_comment(CGen *g, const char *s);
/* An element offset (sched_lin) over loop coordinates c0.., B by its name; one coordinate
 * of a FuseMap. */
const char *cgen_lin_text(CGen *g, const SchedLin *l, int rank);
const char *cgen_coord_text(CGen *g, const FuseIndex *x);
/* A diagnostic when g->plan, f's at batch, is larger than any machine (MemPlan.too_big). */
void cgen_plan_fits(CGen *g, const Func *f, int64_t batch);
/* A C array literal of n dimensions or attribute values (B, the batch, by its name), or
 * NULL for none. */
const char *int_array(CGen *g, const int64_t *v, int n);
const char *numel(CGen *g, const Type *t);      /* elements, "B * N" when batched */
const char *v(CGen *g, const Ins *x);           /* a value's C name (cgen_name_values), else vN */
void cgen_name_values(CGen *g, const Func *f);  /* names f's values by state_dict, scalar, op and id */
/* "%12 add, %13 gelu": members [lo, hi) of a group (the first 8, then how many more). */
const char *cgen_ops_list(CGen *g, const FuseGroup *grp, int lo, int hi);
/* The slab (0 param, 1 grad, 2 m, 3 v) and element offset of a parameter's slot. */
void cgen_slot(CGen *g, const Ins *ins, const char *slot, int *slab, int64_t *off);
/* The address of a parameter's slot ("param", "grad", "m", "v") in its slab. */
const char *state_slab(CGen *g, const Ins *ins, const char *slot);
/* false (after a diagnostic) when the instruction has 64-bit integer tensors */
bool cgen_types_ok(CGen *g, const Ins *ins);
/* "file:line:col in encoder.blocks.3.norm1": where a value came from, the block instance
 * that made it included (Loc.scope); "(no location)" for none. */
const char *cgen_where(CGen *g, Loc loc);
/* The line before an instruction's code: its id, op and DSL location, then note. */
void cgen_comment(CGen *g, const Ins *ins, const char *note);
int64_t setting_int(const Recipe *r, RecipeKey key);
const char *setting_word(const Recipe *r, RecipeKey key);
/* The constant, parameter, model and recipe tables, the program and main(); device is
 * the C expression of the program's RtDevice pointer ("NULL" on the host). */
void cgen_tables(CGen *g, const char *source, const char *device);

#endif
