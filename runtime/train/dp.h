/* dp.h: data parallelism in the training driver (dp.c; docs/distributed.md). trainer.c
 * uses it; generated code does not.
 *
 * Every rank runs the same loop over the same micro-batches in the same global order; rank
 * r computes the micro-batches of its slots of each optimizer step (rt_dp_owner) and adds
 * their gradients into its gradient slab, exactly as one process accumulates them, and the
 * slabs are then summed over the ranks: the C target in buckets started while the backward
 * of the rank's last micro-batch goes on (MPI_Iallreduce), a device through its hook (NCCL).
 * With --zero 1 (C target) each rank sums, updates and keeps current only its shard of the
 * state slab, and the parameters are gathered after the update.
 */
#ifndef MAEC_DP_H
#define MAEC_DP_H

#include <stdio.h>

#include "train/trainer.h"

typedef struct RtDp RtDp;

/* For st (st->comm set; with zero, st's shard is set here). NULL after a message. */
RtDp *rt_dp_open(const RtProgram *p, const RtRecipeDesc *r, RtState *st, bool zero);
void rt_dp_close(RtDp *d);

/* The rank that computes slot `slot` of the nmicro micro-batches of a step. */
int rt_dp_owner(const RtDp *d, int64_t slot, int64_t nmicro);

/* Before the rank's last micro-batch of a step that every rank completes: gradients then
 * go to their buckets' sums as the backward finalises them (the C target). */
void rt_dp_arm(RtDp *d);
/* After the rank's micro-batches of a step: the gradient slab summed over the ranks (with
 * zero: the rank's shard only). */
int rt_dp_sum_grads(RtDp *d);
/* The sum of squares of the summed gradients, over every rank's shard. */
int rt_dp_grad_sumsq(RtDp *d, double *sumsq);
/* After the update: with zero, every rank's updated parameters to every rank, and the
 * gradients outside the shard cleared. */
int rt_dp_after_update(RtDp *d);
/* With zero, every rank's summed shard of the gradients to every rank (a dump). */
int rt_dp_gather_grads(RtDp *d);
/* Before the driver reads the optimizer's state (a checkpoint): with zero, each rank's
 * shard of m and v to every rank. */
int rt_dp_gather_state(RtDp *d);
/* The gradients accumulated so far in a step that is under way, summed over the ranks: a
 * buffer the caller frees, or st->grad itself with one rank (*owned false). NULL after a
 * message. */
rt_real *rt_dp_partial_grads(RtDp *d, bool *owned);
/* --profile: how the gradients were summed (nothing with one rank). */
void rt_dp_report(const RtDp *d, FILE *f);

#endif
