/* passes.h: transformations on the IR, one file each. Every pass keeps the module
 * valid for module_verify. */
#ifndef MAEC_PASSES_H
#define MAEC_PASSES_H

#include "ir.h"

#include <stdio.h>

/* What every pass is given: where it reports, and this compilation's options that passes
 * obey. A pass returns false after reporting to d why it could not do its work; the driver
 * then stops. The storage policy and recomputation are the module's (Module.precision,
 * Module.remat): the code generators read them too. */
typedef struct PassCtx {
	Diag *d;
	bool no_fuse;        /* -fno-fuse: fuse leaves every instruction a kernel of its own */
	FILE *fusion_report; /* --report=fusion: fuse writes each function's decisions here; NULL: none */
} PassCtx;

/* The host scalars a function reads with `scalar name="NAME"` (runtime/train/scalars.def): the
 * passes emit them by enum, the targets check a name with host_scalar_index. */
typedef enum HostScalar {
#define RT_SCALAR(name, what) HS_##name,
#include "../runtime/train/scalars.def"
#undef RT_SCALAR
	HS__N
} HostScalar;
extern const char *const host_scalar_names[HS__N];
int host_scalar_index(const char *name); /* -1: none */

typedef struct Pass {
	const char *name;
	bool (*run)(Module *m, PassCtx *ctx);
	const char *what;
} Pass;

/* autodiff.c */
bool pass_autodiff(Module *m, PassCtx *ctx);

/* optim.c */
bool pass_optim(Module *m, PassCtx *ctx);

/* memplan.c: an analysis, not a transformation. A backend describes how it runs a
 * function, one MemStep per kernel call; the plan places every value a step writes. */
typedef struct MemStep {
	const Ins **defs;    /* the values it writes (a buffer each) */
	int ndefs;
	const Ins **uses;    /* the values it reads (reshape views resolved to their source) */
	int nuses;
	const Ins **inplace; /* pairs (out, in): out may take in's bytes if in dies at this step */
	int ninplace;
} MemStep;

typedef struct MemPlan {
	int64_t *offset;     /* byte offset of each value in the slab, by id; -1: no buffer */
	int64_t size;        /* the slab */
	int64_t lower_bound; /* the most bytes live at once */
	int64_t naive;       /* every value its own buffer */
	const Ins **peak;    /* the values live when lower_bound is reached */
	int npeak;
	int peak_step;
	int inplace;         /* values that took an input's bytes */
	const char *ordering; /* the one kept: "schedule order", "largest first", or "none" */
	int64_t size_in_order, size_by_size;
	bool too_big;        /* a size passed MEMPLAN_MAX_BYTES (sizes stop there): no machine holds it */
} MemPlan;
#define MEMPLAN_MAX_BYTES ((int64_t)1 << 52) /* 4 PiB */
#define MEMPLAN_MAX_TEXT "4 PiB"
MemPlan *memplan_steps(Arena *a, const Func *f, const MemStep *steps, int nsteps, int64_t batch, int float_bytes,
                       bool naive);
bool memplan_needs_buffer(const Ins *ins);
int64_t memplan_bytes(const Ins *ins, int64_t batch, int float_bytes); /* aligned */

/* dce.c */
bool pass_dce(Module *m, PassCtx *ctx);

/* remat.c: forward values the backward recomputes instead of keeping (maec --recompute).
 * The contract and the classes are at the top of remat.c. */
typedef enum RematPolicy { REMAT_NONE, REMAT_CHEAP, REMAT_AUTO } RematPolicy;

typedef struct RematValue {
	const Func *f;
	const Ins *value; /* the forward value no longer kept */
	const Ins *clone; /* what the backward reads instead */
	bool cheap;
	int64_t bytes;    /* per image: its buffer, the saving */
	double flops;     /* per image: the instructions its clone repeats */
} RematValue;

typedef struct RematCount {
	const char *func;
	int candidates, cheap, taken; /* the first `cheap` candidates are the cheap ones */
} RematCount;

typedef struct Remat {
	RematPolicy policy;
	/* auto: the first `count` candidates of each function named here; all of the others' */
	VEC(struct RematLimit { const char *func; int count; }) limits;
	VEC(RematValue) chosen;  /* written by the pass */
	VEC(RematCount) counts;  /* written by the pass: one per function */
} Remat;

bool pass_remat(Module *m, PassCtx *ctx);
const char *remat_policy_name(RematPolicy p);

/* fuse.c: groups each function's instructions into kernels. The contract, the rule and
 * what each kind means for a backend are at the top of fuse.c. The pass writes the
 * groups into the IR (kernel=N, members contiguous); fuse_plan reads them back, with
 * what a backend needs to emit each kernel. */
typedef enum FuseKind {
	FUSE_ALIAS,     /* a reshape: a view of its operand's buffer, no kernel */
	FUSE_CONST,     /* a `full` that every reader computes in its own loop: no kernel */
	FUSE_SINGLE,    /* one op with no fusion: a product, reduction or opaque op alone */
	FUSE_LOOP,      /* elementwise, broadcast and injective ops over one iteration space */
	FUSE_REDUCE,    /* a reduction or normalisation with an elementwise prologue on its
	                 * operands and (row ops) an epilogue on its result */
	FUSE_MATMUL,    /* a matrix product with an elementwise epilogue on its result */
	FUSE_ATTENTION, /* product, row softmax (or its gradient), products: per batch element */
	FUSE_MULTI,     /* one loop repeated over many independent tensors (the optimizer) */
	FUSE__N
} FuseKind;

typedef enum FuseWhy {
	WHY_SPACE,     /* different iteration spaces: a broadcast producer, an axis split */
	WHY_DUPLICATE, /* the producer would be computed more than once, or only in part */
	WHY_CYCLE,     /* a path leaves the kernel and comes back into it */
	WHY_REDUCTION, /* reduction boundary: both sides hold a reduction or a product */
	WHY_MATMUL,    /* operand of a product: the BLAS reads it from memory */
	WHY_OPAQUE,    /* an op that needs all of its input at once (sort, gather, ...) */
	WHY_BACKEND,   /* this kind of fusion is switched off (FuseOptions) */
	WHY_RECOMPUTE, /* a forward instruction and a recomputation of one (remat.c): the
	                * kernel would compute it twice, in the forward, and keep it */
	WHY__N
} FuseWhy;

/* One coordinate of a value at loop point c: off + sum of coef[k] * c[dim[k]]. */
typedef struct FuseIndex {
	int64_t off;
	int n;
	int dim[IR_MAX_RANK];
	int64_t coef[IR_MAX_RANK];
} FuseIndex;

/* Where a kernel reads or writes a value (of `rank` coordinates) at loop point c. */
typedef struct FuseMap {
	int rank;
	FuseIndex at[IR_MAX_RANK];
} FuseMap;

typedef struct FuseGroup {
	int id;          /* the IR's kernel=N; 0 for ALIAS and CONST */
	FuseKind kind;
	Ins *root;       /* the product, the reduction, the last product (ATTENTION), or the
	                  * loop's last instruction */
	Ins **ins;       /* the members, in schedule order */
	int nins;
	Ins **outs;      /* members whose values others read, or returned: written to memory */
	int nouts;
	Ins **inputs;    /* values the members read from outside (reshapes resolved to their source) */
	int ninputs;
	/* LOOP, MULTI (each part) and the loops of REDUCE, MATMUL, ATTENTION: the iteration
	 * space (a shape every reshape in the kernel only merges, batch B included) and, by
	 * position in ins, each member's coordinates at a point of it. Members that no loop
	 * computes (the products, reductions) have rank -1. */
	Type space;
	FuseMap *map;
	/* MULTI: part k is ins[part[k] .. part[k + 1]), each with its own space and maps. */
	int nparts;
	int *part;
	Type *part_space;
	bool no_loop;    /* SINGLE: a loop op that no loop can compute (no affine map of its own
	                  * space reads its operand); the runtime's kernel, no cast member either */
} FuseGroup;

typedef struct FuseReject {
	const Ins *producer, *consumer;
	FuseWhy why;
} FuseReject;

typedef struct FusePlan {
	const Func *f;
	FuseGroup *groups; /* in schedule order */
	int ngroups;
	int *group_of;     /* by instruction id: its group, -1 for arguments, parameters, state, scalars */
	FuseReject *rejects;
	int nrejects;
	int kernels;       /* groups that are kernels (not ALIAS or CONST) */
	int unfused;       /* kernels with every instruction its own */
} FusePlan;

typedef struct FuseOptions {
	bool epilogues; /* products with elementwise epilogues */
	bool reductions; /* reductions with prologues and epilogues */
	bool attention;
	bool multi_tensor;
} FuseOptions;

extern const FuseOptions fuse_all; /* everything on */

const char *fuse_kind_name(FuseKind k);
bool fuse_is_loop_op(const Ins *x);   /* computed by a loop: elementwise, store, transpose, expand, slice, concat */
bool fuse_is_reduction(const Ins *x); /* a reduction or row op that takes a prologue */
const char *fuse_why_name(FuseWhy w);
/* Decides the groups of f (an analysis: f is not changed). */
FusePlan *fuse_func(Arena *a, const Func *f, const FuseOptions *opt);
/* The plan that f's kernel=N annotations describe (all ALIAS/CONST/SINGLE/LOOP when f has
 * none); no rejections. NULL, after a message to d, if the annotations are not a valid
 * plan (a kernel that is not convex, or whose loop has no iteration space). */
FusePlan *fuse_plan(Arena *a, const Func *f, Diag *d);
/* The coordinates at which member g->ins[i] reads its operand k, in the shape of the
 * value the operand's reshapes view, at a point of g's space (of its part's, for MULTI).
 * False when the member is a product, which reads its operands whole. */
bool fuse_read_map(const FuseGroup *g, int i, int k, FuseMap *out);
/* Writes p into its function: kernel=N on the members, each kernel's members adjacent. */
void fuse_apply(Module *m, Func *f, const FusePlan *p);
bool pass_fuse(Module *m, PassCtx *ctx);
/* The report: each kernel with its kind, ops and DSL lines; each rejection. */
void fuse_report(Buf *b, const FusePlan *p);

/* precision.c: each value's storage dtype under m->precision, the casts in the kernels. */
bool pass_precision(Module *m, PassCtx *ctx);
const char *precision_name(Precision p);

/* lower.c: the kernels a target runs for a function, in order, each with the values it
 * reads and writes, and the memory plan over them. The contract is at the top of lower.c;
 * both targets emit a schedule call by call. */
typedef enum SchedKind {
	SCHED_RUNTIME, /* one instruction through a runtime kernel (a product, a reduction, one op) */
	SCHED_LOOP,    /* a generated loop: the members g->ins[lo..hi) over the group's space */
	SCHED_MULTI,   /* one loop over many tensors: the parts [lo, hi) of a MULTI group */
	SCHED_ACCUM,   /* a product added into its gradient slot by the BLAS (beta = 1) */
	SCHED_ATTN,    /* an ATTENTION group, per batch element */
	SCHED_ROW,     /* a REDUCE group of a row op (layernorm and its gradient) and its
	                * elementwise epilogue, one kernel */
} SchedKind;

typedef struct SchedCall {
	SchedKind kind;
	const FuseGroup *g; /* NULL for a fill the schedule added */
	const Ins *ins;     /* RUNTIME: the instruction; ACCUM: the product */
	int lo, hi;
	const Ins **mem;    /* ATTENTION: its members and the transposes it writes (store_as) */
	int nmem;
} SchedCall;

/* What a target can run as one kernel; where it cannot, the group is split and the
 * schedule says why. */
typedef struct LowerOptions {
	const char *target; /* "C", "CUDA": for the reasons */
	bool attention;     /* ATTENTION groups as one kernel */
	bool accumulate;    /* products added into their slot by the BLAS */
	bool row_epilogues; /* a softmax or layernorm (or their gradients) and the loops around it as one kernel */
	bool slice_views;   /* a contiguous slice read in place: a view at an offset, no kernel */
	/* a sum, mean or max whose operand is a cast from bf16 made for it alone: one runtime
	 * call (its members the cast and the reduction) that widens the bf16 value as it loads */
	bool widening_reductions;
	/* ATTENTION groups only in the strip form (sched_attention), its rows at most this many
	 * keys long and its products' widths at most this many (0: any form, any size) */
	int attention_max_keys, attention_max_width;
	/* a transpose (and the slices of it) that only attention calls read, read by them with
	 * strides: a view, no call; and a transpose that is the one reader of an attention
	 * call's product, written by the call in the product's place */
	bool attention_views;
} LowerOptions;
extern const LowerOptions lower_c, lower_cuda;

typedef struct SchedSplit {
	const FuseGroup *g;
	const char *why;
} SchedSplit;

typedef struct Schedule {
	const Func *f;
	const FusePlan *fp;
	VEC(SchedCall) calls;
	int *call_of;   /* by id: the call that computes it; -1 */
	bool *need;     /* by id: it lives in the activation slab */
	bool *filled;   /* by id, for fulls: a call fills it into memory (else loops inline it) */
	bool *view;     /* by id, for slices: a view of its operand's bytes at an offset, no call */
	/* by id, for a product of an attention call: the transpose of it, its one reader, that
	 * the call writes in its place (the transpose no call of its own); else NULL */
	const Ins **store_as;
	int nviews;
	MemStep *steps; /* 0: the host scalars; 1 + k: call k */
	int nsteps;
	MemPlan *plan;
	VEC(SchedSplit) splits; /* groups the target could not run as one kernel */
} Schedule;

/* Affine element offsets in a contiguous tensor: n + b * B per loop dimension, and the
 * constant at [IR_MAX_RANK]. */
typedef struct SchedLin {
	int64_t n[IR_MAX_RANK + 1], b[IR_MAX_RANK + 1];
} SchedLin;

/* f's schedule for a target at `batch`; NULL (after a message) if its kernel=N groups are
 * not a valid plan. naive: every value its own buffer (-fno-memplan). */
Schedule *lower_func(Arena *a, const Func *f, const LowerOptions *opt, int64_t batch, int float_bytes, bool naive,
                     Diag *d);
void lower_print(Buf *b, const Schedule *s, const char *target); /* --dump-after=lower */
const char *sched_kind_name(SchedKind k);
int sched_members(const SchedCall *c, const Ins ***out); /* the instructions a call computes */
const Ins *sched_src(const Ins *x);                      /* through reshape views */
const Ins *sched_mem(const Schedule *s, const Ins *x);   /* whose bytes x is: through reshapes and slice views */
/* A slice view's first element in its operand: the result, times the batch B if *times_b. */
int64_t sched_view_offset(const Ins *x, bool *times_b);
int sched_member(const FuseGroup *g, const Ins *x);     /* x's index in g's members; -1 */
bool sched_is_free(const Ins *x);                        /* no kernel: arg, param, state, scalar, reshape, full */
bool sched_const_full(const Schedule *s, const Ins *x);  /* a full the loops compute inline */
/* By member index of a LOOP call: the members computed only where a concat that reads
 * them needs them (their coordinates are valid only there). */
void sched_inline(const Schedule *s, const SchedCall *c, bool *inl);
SchedLin sched_lin(const FuseMap *m, const Type *t);      /* the offset of coordinates m in t */

/* An ATTENTION group in the strip form, member indices of the group: the product that
 * makes the rows, R = A B^T (A [.., M, D], B [.., N, D]); elementwise members on R and
 * scalars (the prologue); the row op along the last axis, softmax(.) or softmax_grad(Y,
 * .) with Y from memory; elementwise members on its result and scalars (the epilogue),
 * the last of them X; products that read X as their left operand, X C (C [.., N, E]) or
 * X^T C (C [.., M, E]), the right operand from memory; for softmax_grad, also products
 * Y^T C. Every member's value [.., M, N] can be written row by row. Under bf16 storage
 * (passes/precision.c) the chain may change precision (casts between float dtypes), and
 * softmax_grad's Y may be a cast of a bf16 value in memory, which the products Y^T C read. */
typedef struct SchedAttn {
	int mm, row, last;   /* R's product, the row op, X (the row op when no epilogue) */
	int prod[8], nprod;  /* the products that read X, or (reads_y) softmax_grad's y as Y^T C */
	bool reads_y[8];
	int64_t m, n, d;     /* rows, keys, R's inner size */
	int ycast;           /* the member that widens softmax_grad's y from bf16 in memory; -1 */
	/* softmax_grad's y made by the kernel itself (a recomputation, passes/remat.c): Y = the
	 * row softmax (yrow) of a product Ay By^T (ymm, inner size yd) through elementwise
	 * members; yround, its bf16 rounding that the products Y^T C read; -1 where y is in
	 * memory. ymask: those members, by index (groups of at most 64 members then). */
	int ymm, yrow, yround;
	int64_t yd;
	uint64_t ymask;
} SchedAttn;
/* NULL and *at filled, or why the group is not in the strip form (sizes unchecked). */
const char *sched_attention(const FuseGroup *g, SchedAttn *at);
bool sched_attn_in_y(const SchedAttn *at, int i); /* member i makes softmax_grad's y (ymask) */

/* A value as strides over the bytes of a value in memory (base): element c of it at
 * offset + sum c[i] stride[i], each a number plus a number times the batch B. */
typedef struct SchedStrided {
	const Ins *base;
	int rank;
	int64_t dim[IR_MAX_RANK];
	int64_t stride_n[IR_MAX_RANK], stride_b[IR_MAX_RANK];
	int64_t offset_n, offset_b;
} SchedStrided;
/* x through its reshapes and the views of the schedule; false where a reshape merges
 * axes that are not contiguous there (or the batch would be squared). */
bool sched_strided(const Schedule *s, const Ins *x, SchedStrided *o);
/* A product an attention call writes in the place of a transpose (store_as): where each of
 * its elements goes in the transpose's bytes. */
bool sched_store_strided(const Schedule *s, const Ins *x, SchedStrided *o);
bool sched_lin_eq(const SchedLin *x, const SchedLin *y);

#endif
