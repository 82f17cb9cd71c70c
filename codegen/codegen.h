/* codegen.h: the targets. Each writes a program from a module after the passes. */
#ifndef MAEC_CODEGEN_H
#define MAEC_CODEGEN_H

#include "ir.h"

/* c.c: the C trainer (OpenMP + CBLAS), linked with runtime/, computing in float or (for
 * gradient checks) double. Reports through d and returns false if the module uses what
 * the target cannot emit. */
bool codegen_c(Buf *out, const Module *m, const char *source, bool use_double, Arena *a, Diag *d);

/* build.c: compiles a generated C trainer with the system C compiler and the runtime's
 * sources into the executable `exe`, its tensors in float or (use_double, for gradient
 * checks) double. Returns false (after printing why) on failure. */
bool build_c_trainer(const char *c_file, const char *exe, bool verbose, bool use_double);

#endif
