/* gpu_nccl.c: data parallelism of the CUDA trainers on their device slabs (gpu_nccl.h): the
 * RtDevice hooks dp_open and dp_allreduce, written once for both device backends against
 * NCCL's calls and CUDA's stream and event calls, which nccl_cuda.c makes on a GPU and
 * nccl_emu.c emulates over MPI. So the emulated trainer, under mpirun, runs this file as a
 * GPU would, and its checks of the streams' order hold for both.
 *
 * The communicator: rank 0 makes NCCL's unique id, rt_comm_bcast sends it to every rank,
 * and each joins with ncclCommInitRank on its current device (one GPU a rank: the
 * backend's open chose it).
 *
 * A sum runs on a communication stream of its own: it waits for an event recorded on the
 * compute stream (`ready`: the gradients are complete), and the compute stream waits for
 * an event recorded after it (`done`), so the update that follows reads the sum; the host
 * returns at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gpu/gpu_nccl.h"

struct RtGpuDp {
	int rank, size;
	RtNccl *nccl;
	RtNcclComm *comm;
	RtCudaStream *compute, *stream; /* the trainer's stream, the sums' */
	RtCudaEvent *ready, *done;
};

static int nccl_fail(const RtGpuDp *d, int e, const char *call, int line)
{
	fprintf(stderr, "trainer: rank %d: %s (runtime/gpu/gpu_nccl.c:%d): %s\n", d->rank, call, line,
	        rt_nccl_error_string(d->nccl, e));
	return 1;
}

static int cuda_fail(const RtGpuDp *d, int e, const char *call, int line)
{
	fprintf(stderr, "trainer: rank %d: %s (runtime/gpu/gpu_nccl.c:%d): %s\n", d->rank, call, line,
	        rt_cuda_error_string(e));
	return 1;
}

/* Each returns nonzero from the enclosing function after printing the failure. */
#define NCCL(call)                                                                                                     \
	do {                                                                                                               \
		int e_ = (call);                                                                                               \
		if (e_ != 0)                                                                                                   \
			return nccl_fail(d, e_, #call, __LINE__);                                                                  \
	} while (0)
#define CUDA(call)                                                                                                     \
	do {                                                                                                               \
		int e_ = (call);                                                                                               \
		if (e_ != 0)                                                                                                   \
			return cuda_fail(d, e_, #call, __LINE__);                                                                  \
	} while (0)

static int join(RtGpuDp *d, RtComm *c)
{
	if (!(d->nccl = rt_nccl_load(c)))
		return 1;
	RtNcclId id = {{0}};
	if (d->rank == 0)
		NCCL(rt_nccl_get_unique_id(d->nccl, &id));
	if (rt_comm_bcast(c, &id, sizeof id, 0))
		return 1;
	NCCL(rt_nccl_comm_init_rank(d->nccl, &d->comm, d->size, id, d->rank));
	CUDA(rt_cuda_stream_create(&d->stream));
	CUDA(rt_cuda_event_create(&d->ready));
	CUDA(rt_cuda_event_create(&d->done));
	return 0;
}

RtGpuDp *rt_gpu_dp_open(RtComm *c, RtCudaStream *compute)
{
	RtGpuDp *d = calloc(1, sizeof *d);
	if (!d) {
		fprintf(stderr, "trainer: out of memory\n");
		return NULL;
	}
	*d = (RtGpuDp){.rank = rt_comm_rank(c), .size = rt_comm_size(c), .compute = compute};
	if (join(d, c)) {
		rt_gpu_dp_close(d);
		return NULL;
	}
	return d;
}

int rt_gpu_dp_allreduce(RtGpuDp *d, RtState *st, int which, int64_t off, int64_t n)
{
	const RtGpuSlabs *s = st->dev;
	if (which < 0 || which > 3 || off < 0 || n < 0 || (uint64_t)(off + n) > s->slab_n[which]) {
		fprintf(stderr, "trainer: internal error: a sum of slab %d, elements [%lld, %lld), outside its %zu\n", which,
		        (long long)off, (long long)(off + n), which >= 0 && which <= 3 ? s->slab_n[which] : 0);
		return 1;
	}
	if (n == 0)
		return 0;
	float *x = rt_gpu_slab(st, which) + off;
	CUDA(rt_cuda_event_record(d->ready, d->compute));
	CUDA(rt_cuda_stream_wait_event(d->stream, d->ready));
	NCCL(rt_nccl_all_reduce(d->nccl, x, x, (size_t)n, d->comm, d->stream));
	CUDA(rt_cuda_event_record(d->done, d->stream));
	CUDA(rt_cuda_stream_wait_event(d->compute, d->done));
	return 0;
}

/* The sums under way finished, the communicator, events and stream destroyed: a failure
 * is printed and leaves the rest to the process's end. */
static int leave(RtGpuDp *d)
{
	if (d->stream)
		CUDA(rt_cuda_stream_synchronize(d->stream));
	if (d->comm)
		NCCL(rt_nccl_comm_destroy(d->nccl, d->comm));
	if (d->done)
		CUDA(rt_cuda_event_destroy(d->done));
	if (d->ready)
		CUDA(rt_cuda_event_destroy(d->ready));
	if (d->stream)
		CUDA(rt_cuda_stream_destroy(d->stream));
	return 0;
}

void rt_gpu_dp_close(RtGpuDp *d)
{
	if (!d)
		return;
	leave(d);
	rt_nccl_unload(d->nccl);
	free(d);
}
