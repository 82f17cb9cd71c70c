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

/* dce.c */
void pass_dce(Module *m);

#endif
