/* guard.h: the trainer's guards (guard.c), inside the runtime. rt_anomaly, which generated
 * code calls, is in trainer.h. */
#ifndef MAEC_GUARD_H
#define MAEC_GUARD_H

#include "train/trainer.h"

int64_t rt_first_nonfinite(const real *x, int64_t n); /* index of the first NaN or inf, or -1 */
double rt_sum_squares(const real *x, int64_t n);      /* in double */
const char *rt_nonfinite_name(double x);              /* "nan", "inf" or "-inf" */
/* path: a comment line with what, then one index a line (written whole, then renamed). */
int rt_write_indexes(const char *path, const char *what, const int64_t *idx, int64_t n);
/* Keeps metrics.csv's header and the complete rows of steps up to last_step. */
int rt_metrics_truncate(const char *path, int64_t last_step);
/* Removes DIR/NAME.tmp.PID and DIR/images/NAME.tmp.PID: the checkpoints, pictures and curves a
 * killed run left half written. */
void rt_remove_partial(const char *dir, const char *recipe);
int64_t rt_host_memory(void); /* bytes of physical memory, or -1 if unknown */

#endif
