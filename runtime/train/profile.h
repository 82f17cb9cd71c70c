/* profile.h: the trainer's --profile: wall time per kernel call site of the generated code.
 *
 * A generated trainer names each of its kernel call sites in one constant table of
 * RtProfSite (the function, the kernel, the IR ops it runs, the DSL line it came from).
 * With --profile the trainer creates an RtProfile; every site then times its call
 * (rt_prof_now before, rt_prof_add after) and rt_prof_print writes three tables: the
 * sites, the kernels by kind (the op, or the fusion group's kind), and the DSL lines.
 * Times are the calling thread's wall clock around the whole call, its OpenMP threads
 * included. Without --profile (st->prof NULL) a site costs one test of a pointer.
 */
#ifndef MAEC_PROFILE_H
#define MAEC_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct RtProfSite {
	int id;             /* its index in the program's table; -1 to -4: the driver's own (trainer.c) */
	const char *func;   /* "pretrain.step" */
	const char *kernel; /* the kernel's kind: an op ("matmul") or a fusion group's kind ("elementwise") */
	const char *ops;    /* the IR ops it runs, "%12 add, %13 gelu" */
	const char *where;  /* "models/mae.dsl:20:9": its root's DSL location */
} RtProfSite;

typedef struct RtProfile RtProfile;

RtProfile *rt_prof_new(void); /* NULL when out of memory */
void rt_prof_free(RtProfile *p);
double rt_prof_now(void);     /* seconds, monotonic */
void rt_prof_add(RtProfile *p, const RtProfSite *site, double start);
void rt_prof_reset(RtProfile *p); /* forget what was measured (after warm-up) */
/* The tables, as milliseconds per step over `steps` steps, largest first. */
void rt_prof_print(const RtProfile *p, FILE *f, int64_t steps);

#ifdef __cplusplus
}
#endif

#endif
