/* nccl_emu.c: the NCCL and CUDA stream calls of gpu_nccl.h emulated for the host emulation
 * of the device (gpu_emu.c), so that its trainer under mpirun runs gpu_nccl.c's data
 * parallelism as a GPU does.
 *
 *   - The sum is MPI's (rt_comm_allreduce), in place on the host memory that the emulated
 *     device slabs are. The unique id still travels as NCCL's does: ncclCommInitRank
 *     refuses an id that ncclGetUniqueId did not make or that differs from rank 0's.
 *   - Work runs when it is enqueued, so streams need not order anything here; instead
 *     they check that the order a GPU needs was asked for: a sum's stream must have
 *     waited for an event of another stream (the compute stream's work) since its last
 *     sum, and another stream must wait for an event recorded after a sum (or the host
 *     synchronise with its stream) before the next sum or the stream's end. An event
 *     waited for must have been recorded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu/gpu_nccl.h"

/* ncclResult_t's values that the emulation returns (nccl.h) */
enum { NCCL_SUCCESS = 0, NCCL_SYSTEM_ERROR = 2, NCCL_INVALID_ARGUMENT = 4, NCCL_INVALID_USAGE = 5 };
/* CUDA's status for a call the emulation refuses: cudaErrorInvalidValue */
enum { CUDA_INVALID = 1 };

static const char magic[] = "maec emulated NCCL";

struct RtNccl {
	RtComm *c;
};

struct RtNcclComm {
	RtComm *c;
};

struct RtCudaStream {
	bool ordered;        /* it waited for another stream's event since its last sum */
	int64_t sums, seen;  /* the sums run on it; how many of them others waited for */
};

struct RtCudaEvent {
	RtCudaStream *stream; /* where it was last recorded; NULL: never */
	int64_t sums;         /* the stream's sums before it */
};

RtNccl *rt_nccl_load(RtComm *c)
{
	RtNccl *n = calloc(1, sizeof *n);
	if (!n)
		fprintf(stderr, "trainer: out of memory\n");
	else
		n->c = c;
	return n;
}

void rt_nccl_unload(RtNccl *n)
{
	free(n);
}

int rt_nccl_get_unique_id(RtNccl *n, RtNcclId *id)
{
	(void)n;
	memset(id, 0, sizeof *id);
	memcpy(id->internal, magic, sizeof magic);
	long long stamp[2] = {(long long)getpid(), (long long)time(NULL)};
	memcpy(id->internal + sizeof magic, stamp, sizeof stamp);
	return NCCL_SUCCESS;
}

/* Collective, as NCCL's: every rank compares its id with rank 0's, and all fail if one
 * differs. */
int rt_nccl_comm_init_rank(RtNccl *n, RtNcclComm **comm, int nranks, RtNcclId id, int rank)
{
	*comm = NULL;
	int r = rt_comm_rank(n->c);
	if (nranks != rt_comm_size(n->c) || rank != r) {
		fprintf(stderr, "trainer: rank %d: emulated ncclCommInitRank: rank %d of %d, but MPI says rank %d of %d\n", r,
		        rank, nranks, r, rt_comm_size(n->c));
		return NCCL_INVALID_ARGUMENT;
	}
	RtNcclId root = id;
	if (rt_comm_bcast(n->c, &root, sizeof root, 0))
		return NCCL_SYSTEM_ERROR;
	float bad = memcmp(id.internal, magic, sizeof magic) != 0 || memcmp(&id, &root, sizeof id) != 0;
	if (bad)
		fprintf(stderr, "trainer: rank %d: emulated ncclCommInitRank: the unique id is not rank 0's\n", r);
	if (rt_comm_allreduce(n->c, &bad, 1, RT_COMM_F32))
		return NCCL_SYSTEM_ERROR;
	if (bad > 0) /* every rank fails, as no communicator forms */
		return NCCL_INVALID_ARGUMENT;
	if (!(*comm = calloc(1, sizeof **comm)))
		return NCCL_SYSTEM_ERROR;
	(*comm)->c = n->c;
	return NCCL_SUCCESS;
}

int rt_nccl_all_reduce(RtNccl *n, const float *send, float *recv, size_t count, RtNcclComm *comm,
                       RtCudaStream *stream)
{
	int r = rt_comm_rank(n->c);
	if (!comm || !stream) {
		fprintf(stderr, "trainer: rank %d: emulated ncclAllReduce without a communicator or a stream\n", r);
		return NCCL_INVALID_ARGUMENT;
	}
	if (!stream->ordered || stream->seen < stream->sums) {
		fprintf(stderr, "trainer: rank %d: emulated ncclAllReduce: %s\n", r,
		        !stream->ordered ? "its stream did not wait for the compute stream's work"
		                         : "nothing waited for the stream's previous sum");
		return NCCL_INVALID_USAGE;
	}
	stream->ordered = false;
	stream->sums++;
	if (send != recv)
		memcpy(recv, send, sizeof(float) * count);
	return rt_comm_allreduce(comm->c, recv, (int64_t)count, RT_COMM_F32) ? NCCL_SYSTEM_ERROR : NCCL_SUCCESS;
}

int rt_nccl_comm_destroy(RtNccl *n, RtNcclComm *comm)
{
	(void)n;
	free(comm);
	return NCCL_SUCCESS;
}

const char *rt_nccl_error_string(RtNccl *n, int result)
{
	(void)n;
	switch (result) {
	case NCCL_SUCCESS: return "no error";
	case NCCL_SYSTEM_ERROR: return "unhandled system error (emulated NCCL; MPI's message is above)";
	case NCCL_INVALID_ARGUMENT: return "invalid argument (emulated NCCL; see above)";
	case NCCL_INVALID_USAGE: return "invalid usage (emulated NCCL; see above)";
	default: return "unknown result code (emulated NCCL)";
	}
}

int rt_cuda_stream_create(RtCudaStream **s)
{
	return (*s = calloc(1, sizeof **s)) ? 0 : CUDA_INVALID;
}

int rt_cuda_stream_destroy(RtCudaStream *s)
{
	if (s && s->seen < s->sums) {
		fprintf(stderr, "trainer: emulated cudaStreamDestroy: a sum on the stream was never waited for\n");
		return CUDA_INVALID;
	}
	free(s);
	return 0;
}

int rt_cuda_event_create(RtCudaEvent **e)
{
	return (*e = calloc(1, sizeof **e)) ? 0 : CUDA_INVALID;
}

int rt_cuda_event_destroy(RtCudaEvent *e)
{
	free(e);
	return 0;
}

int rt_cuda_event_record(RtCudaEvent *e, RtCudaStream *s)
{
	if (!e || !s)
		return CUDA_INVALID;
	*e = (RtCudaEvent){.stream = s, .sums = s->sums};
	return 0;
}

int rt_cuda_stream_wait_event(RtCudaStream *s, RtCudaEvent *e)
{
	if (!s || !e || !e->stream || e->stream == s) {
		fprintf(stderr, "trainer: emulated cudaStreamWaitEvent: %s\n",
		        !s || !e ? "no stream or no event" : !e->stream ? "the event was never recorded" : "on its own stream");
		return CUDA_INVALID;
	}
	s->ordered = true;
	if (e->stream->seen < e->sums) /* s's later work is ordered after those sums */
		e->stream->seen = e->sums;
	return 0;
}

int rt_cuda_stream_synchronize(RtCudaStream *s)
{
	if (!s)
		return CUDA_INVALID;
	s->seen = s->sums;
	return 0;
}

const char *rt_cuda_error_string(int result)
{
	return result == 0 ? "no error" : "invalid argument (emulated CUDA; see above)";
}
