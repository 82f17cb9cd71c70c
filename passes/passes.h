/* passes.h: transformations on the IR, one file each. Every pass keeps the module
 * valid for module_verify. */
#ifndef MAEC_PASSES_H
#define MAEC_PASSES_H

#include "ir.h"

typedef struct Pass {
	const char *name;
	void (*run)(Module *m);
	const char *what;
} Pass;

/* autodiff.c */
void pass_autodiff(Module *m);

/* optim.c */
void pass_optim(Module *m);

/* memplan.c: an analysis, not a transformation. */
typedef struct MemPlan {
	int64_t *offset;     /* byte offset of each value in the slab, by id; -1: no buffer */
	int64_t size;        /* the slab */
	int64_t lower_bound; /* the most bytes live at once */
	int64_t naive;       /* every value its own buffer */
	const Ins **peak;    /* the values live when lower_bound is reached */
	int npeak;
	bool too_big;        /* a size passed MEMPLAN_MAX_BYTES (sizes stop there): no machine holds it */
} MemPlan;
#define MEMPLAN_MAX_BYTES ((int64_t)1 << 52) /* 4 PiB */
#define MEMPLAN_MAX_TEXT "4 PiB"
MemPlan *memplan_func(Arena *a, const Func *f, int64_t batch, int float_bytes);
bool memplan_needs_buffer(const Ins *ins);

/* dce.c */
void pass_dce(Module *m);

#endif
