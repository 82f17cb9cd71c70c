/* gpu_nccl.h: data parallelism of the CUDA trainers on their device slabs (gpu_nccl.c, the
 * RtDevice hooks dp_open and dp_allreduce of both device backends), and the calls of NCCL
 * and of CUDA's streams and events that it is written against. Each backend links one
 * implementation of those calls:
 *   nccl_cuda.c  NCCL itself (libnccl.so.2, loaded at run time) and the CUDA runtime, for
 *                gpu_cuda.c;
 *   nccl_emu.c   their emulation for gpu_emu.c: the sums through MPI (comm.h) on the host
 *                memory that the emulated slabs are, and streams and events that check
 *                how the sums are ordered against the trainer's work.
 * So the emulated trainer under mpirun makes the real device's calls in the real order.
 * Nothing here is included by generated code.
 */
#ifndef MAEC_GPU_NCCL_H
#define MAEC_GPU_NCCL_H

#include <stddef.h>
#include <stdint.h>

#include "train/comm.h"
#include "gpu/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct RtNccl RtNccl;             /* a loaded NCCL, or the emulation */
typedef struct RtNcclComm RtNcclComm;     /* ncclComm_t */
typedef struct RtCudaStream RtCudaStream; /* cudaStream_t */
typedef struct RtCudaEvent RtCudaEvent;   /* cudaEvent_t */
typedef struct RtNcclId {                 /* ncclUniqueId: bytes that rank 0 sends to the others */
	char internal[128];
} RtNcclId;

/* ---- gpu_nccl.c ---- */

typedef struct RtGpuDp RtGpuDp;

/* dp_open: the device's communicator over c's ranks (collective), its sums ordered against
 * `compute`, the stream the trainer's work runs on. NULL after a message. */
RtGpuDp *rt_gpu_dp_open(RtComm *c, RtCudaStream *compute);
/* dp_allreduce: elements [off, off + n) of st's device slab `which` (rt_gpu_slab) summed over
 * the ranks in place, after the work enqueued so far on the compute stream and before what
 * is enqueued there next; the host does not wait. */
int rt_gpu_dp_allreduce(RtGpuDp *d, RtState *st, int which, int64_t off, int64_t n);
/* Waits for the sums under way and destroys the communicator (NULL: nothing). */
void rt_gpu_dp_close(RtGpuDp *d);

/* ---- nccl_cuda.c or nccl_emu.c: the calls gpu_nccl.c makes ----
 * Each returns NCCL's status (ncclResult_t) or CUDA's (cudaError_t): 0 on success; the
 * caller prints a failure with rt_nccl_error_string or rt_cuda_error_string. */

/* The library, for c's rank: NULL after a message when it cannot be loaded. */
RtNccl *rt_nccl_load(RtComm *c);
void rt_nccl_unload(RtNccl *n);
int rt_nccl_get_unique_id(RtNccl *n, RtNcclId *id);
int rt_nccl_comm_init_rank(RtNccl *n, RtNcclComm **comm, int nranks, RtNcclId id, int rank);
/* ncclAllReduce(send, recv, count, ncclFloat, ncclSum, comm, stream) */
int rt_nccl_all_reduce(RtNccl *n, const float *send, float *recv, size_t count, RtNcclComm *comm,
                       RtCudaStream *stream);
int rt_nccl_comm_destroy(RtNccl *n, RtNcclComm *comm);
const char *rt_nccl_error_string(RtNccl *n, int result);

/* A non-blocking stream (cudaStreamCreateWithFlags), an event without timing
 * (cudaEventCreateWithFlags), and cudaEventRecord, cudaStreamWaitEvent,
 * cudaStreamSynchronize. */
int rt_cuda_stream_create(RtCudaStream **s);
int rt_cuda_stream_destroy(RtCudaStream *s);
int rt_cuda_event_create(RtCudaEvent **e);
int rt_cuda_event_destroy(RtCudaEvent *e);
int rt_cuda_event_record(RtCudaEvent *e, RtCudaStream *s);
int rt_cuda_stream_wait_event(RtCudaStream *s, RtCudaEvent *e);
int rt_cuda_stream_synchronize(RtCudaStream *s);
const char *rt_cuda_error_string(int result);

#ifdef __cplusplus
}
#endif

#endif
