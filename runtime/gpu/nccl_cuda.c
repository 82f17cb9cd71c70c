/* nccl_cuda.c: the calls of gpu_nccl.h on a GPU: NCCL, loaded at run time, and the CUDA
 * runtime's streams and events (for gpu_cuda.c).
 *
 * Why dlopen and not a link: a CUDA trainer run as one process must run where NCCL is not
 * installed; only a run started by an MPI launcher loads libnccl.so.2 (dp_open), and one
 * without it says so. NCCL's ABI is stable over its 2.x releases: its functions are
 * declared here with the few types they take (an enum is an int, a communicator and a
 * stream are addresses), which are checked against nccl.h where that is installed.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>

#include "gpu/gpu_nccl.h"

enum { NCCL_FLOAT = 7, NCCL_SUM = 0 }; /* ncclFloat, ncclSum */

#if __has_include(<nccl.h>)
#include <nccl.h>
_Static_assert(sizeof(ncclUniqueId) == sizeof(RtNcclId), "ncclUniqueId is RtNcclId");
_Static_assert(ncclSuccess == 0 && (int)ncclFloat == NCCL_FLOAT && (int)ncclSum == NCCL_SUM, "NCCL's enums as here");
#endif

struct RtNccl {
	int (*GetUniqueId)(RtNcclId *id);
	int (*CommInitRank)(RtNcclComm **comm, int nranks, RtNcclId id, int rank);
	int (*AllReduce)(const void *send, void *recv, size_t count, int type, int op, RtNcclComm *comm,
	                 cudaStream_t stream);
	int (*CommDestroy)(RtNcclComm *comm);
	const char *(*GetErrorString)(int result);
};

RtNccl *rt_nccl_load(RtComm *c)
{
	/* RTLD_LOCAL: nothing else resolves through NCCL */
	void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		fprintf(stderr, "trainer: rank %d: the GPUs of a run under an MPI launcher sum through NCCL, and NCCL "
		                "(libnccl.so.2) cannot be loaded: %s: install it (Debian: libnccl2), or run the trainer "
		                "alone\n",
		        rt_comm_rank(c), why ? why : "not found");
		return NULL;
	}
	RtNccl *n = calloc(1, sizeof *n);
	if (!n) {
		fprintf(stderr, "trainer: out of memory\n");
		dlclose(lib);
		return NULL;
	}
	struct {
		const char *name;
		void **at;
	} sym[] = {
		{"ncclGetUniqueId", (void **)&n->GetUniqueId},
		{"ncclCommInitRank", (void **)&n->CommInitRank},
		{"ncclAllReduce", (void **)&n->AllReduce},
		{"ncclCommDestroy", (void **)&n->CommDestroy},
		{"ncclGetErrorString", (void **)&n->GetErrorString},
	};
	for (size_t i = 0; i < sizeof sym / sizeof *sym; i++)
		if (!(*sym[i].at = dlsym(lib, sym[i].name))) {
			fprintf(stderr, "trainer: rank %d: the NCCL library loaded (libnccl.so.2) lacks %s\n", rt_comm_rank(c),
			        sym[i].name);
			free(n);
			dlclose(lib);
			return NULL;
		}
	return n;
}

/* The library stays loaded: NCCL's threads may outlive its communicators. */
void rt_nccl_unload(RtNccl *n)
{
	free(n);
}

int rt_nccl_get_unique_id(RtNccl *n, RtNcclId *id)
{
	return n->GetUniqueId(id);
}

int rt_nccl_comm_init_rank(RtNccl *n, RtNcclComm **comm, int nranks, RtNcclId id, int rank)
{
	return n->CommInitRank(comm, nranks, id, rank);
}

int rt_nccl_all_reduce(RtNccl *n, const float *send, float *recv, size_t count, RtNcclComm *comm,
                       RtCudaStream *stream)
{
	return n->AllReduce(send, recv, count, NCCL_FLOAT, NCCL_SUM, comm, (cudaStream_t)stream);
}

int rt_nccl_comm_destroy(RtNccl *n, RtNcclComm *comm)
{
	return n->CommDestroy(comm);
}

const char *rt_nccl_error_string(RtNccl *n, int result)
{
	return n && n->GetErrorString ? n->GetErrorString(result) : "NCCL not loaded";
}

int rt_cuda_stream_create(RtCudaStream **s)
{
	cudaStream_t x = NULL;
	cudaError_t e = cudaStreamCreateWithFlags(&x, cudaStreamNonBlocking);
	*s = (RtCudaStream *)x;
	return (int)e;
}

int rt_cuda_stream_destroy(RtCudaStream *s)
{
	return (int)cudaStreamDestroy((cudaStream_t)s);
}

int rt_cuda_event_create(RtCudaEvent **e)
{
	cudaEvent_t x = NULL;
	cudaError_t rc = cudaEventCreateWithFlags(&x, cudaEventDisableTiming);
	*e = (RtCudaEvent *)x;
	return (int)rc;
}

int rt_cuda_event_destroy(RtCudaEvent *e)
{
	return (int)cudaEventDestroy((cudaEvent_t)e);
}

int rt_cuda_event_record(RtCudaEvent *e, RtCudaStream *s)
{
	return (int)cudaEventRecord((cudaEvent_t)e, (cudaStream_t)s);
}

int rt_cuda_stream_wait_event(RtCudaStream *s, RtCudaEvent *e)
{
	return (int)cudaStreamWaitEvent((cudaStream_t)s, (cudaEvent_t)e, 0);
}

int rt_cuda_stream_synchronize(RtCudaStream *s)
{
	return (int)cudaStreamSynchronize((cudaStream_t)s);
}

const char *rt_cuda_error_string(int result)
{
	return cudaGetErrorString((cudaError_t)result);
}
