/* comm.h: the ranks of a data-parallel run and their collectives (comm.c;
 * docs/distributed.md).
 *
 * A trainer started by mpirun (Open MPI) finds its rank in the environment the launcher
 * sets and loads Open MPI's libmpi.so.40 itself (dlopen): a trainer run alone is one rank
 * and needs no MPI library, and one launched without the library installed says so. The
 * trainer calls MPI from its main thread only.
 *
 * Every call but rt_comm_open is collective where MPI's is: each rank makes the same calls
 * in the same order. Each returns 0, or nonzero after printing what failed. Buffers are
 * summed in place; counts are elements and may exceed MPI's int (calls are split).
 */
#ifndef MAEC_COMM_H
#define MAEC_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum RtCommType { RT_COMM_F32, RT_COMM_F64, RT_COMM_I32 } RtCommType;

typedef struct RtComm RtComm;

/* The run's ranks: from the launcher's environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * PMIX_RANK), through MPI; else one rank without MPI. NULL after a message (a launcher
 * but no MPI library, or MPI_Init failed). */
RtComm *rt_comm_open(void);
/* MPI_Finalize when MPI was opened, and frees c. */
void rt_comm_close(RtComm *c);
/* Stops every rank (MPI_Abort) with the exit status code; with one rank, exit(code). */
void rt_comm_abort(RtComm *c, int code) __attribute__((noreturn));

int rt_comm_rank(const RtComm *c);
int rt_comm_size(const RtComm *c);
/* The rank among those on this machine, and how many run here (a GPU each). */
int rt_comm_local_rank(const RtComm *c);
int rt_comm_local_size(const RtComm *c);
/* Launched by an MPI launcher (also with one rank). */
bool rt_comm_mpi(const RtComm *c);

/* Sums x[0..n) of every rank into each rank's x. */
int rt_comm_allreduce(RtComm *c, void *x, int64_t n, RtCommType t);
/* root's bytes to every rank. */
int rt_comm_bcast(RtComm *c, void *x, size_t bytes, int root);
/* In place: rank r's elements x[at[r] .. at[r + 1]) to every rank (at has size + 1 entries). */
int rt_comm_allgather(RtComm *c, void *x, const int64_t *at, RtCommType t);
/* The sum over ranks of x[at[r] .. at[r + 1]) to rank r's out (n = at[r + 1] - at[r]
 * elements); x is every rank's whole buffer, read only. */
int rt_comm_reduce_scatter(RtComm *c, const void *x, void *out, const int64_t *at, RtCommType t);

/* Nonblocking sums in place (the gradient buckets): started in the same order on every
 * rank, finished together by rt_comm_wait; rt_comm_progress lets MPI move the started ones
 * on between kernels. The buffer must not be touched until rt_comm_wait returns. */
int rt_comm_start(RtComm *c, void *x, int64_t n, RtCommType t);
int rt_comm_progress(RtComm *c);
int rt_comm_wait(RtComm *c);

/* Seconds this rank has spent inside blocking collectives and rt_comm_wait since the last
 * call (--profile's communication time). */
double rt_comm_take_seconds(RtComm *c);

#ifdef __cplusplus
}
#endif

#endif
