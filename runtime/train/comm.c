/* comm.c: the ranks of a data-parallel run (comm.h), on Open MPI loaded at run time.
 *
 * Why dlopen and not a link: a trainer is one binary for one process and for many, and
 * one process must run where no MPI is installed. Open MPI's ABI (libmpi.so.40, every 4.x
 * and 5.x release) makes each handle the address of a predefined object of the library
 * (MPI_COMM_WORLD is &ompi_mpi_comm_world), and MPI_IN_PLACE the address 1; this file
 * declares just those, so building the trainer library needs no MPI headers either.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/comm.h"

typedef void *Handle; /* MPI_Comm, MPI_Datatype, MPI_Op, MPI_Request: addresses in Open MPI */
#define IN_PLACE ((void *)1)

typedef struct Mpi {
	void *lib;
	int (*Init)(int *, char ***);
	int (*Finalize)(void);
	int (*Abort)(Handle, int);
	int (*Comm_rank)(Handle, int *);
	int (*Comm_size)(Handle, int *);
	int (*Allreduce)(const void *, void *, int, Handle, Handle, Handle);
	int (*Iallreduce)(const void *, void *, int, Handle, Handle, Handle, Handle *);
	int (*Bcast)(void *, int, Handle, int, Handle);
	int (*Allgatherv)(const void *, int, Handle, void *, const int *, const int *, Handle, Handle);
	int (*Reduce_scatter)(const void *, void *, const int *, Handle, Handle, Handle);
	int (*Testall)(int, Handle *, int *, void *);
	int (*Waitall)(int, Handle *, void *);
	int (*Error_string)(int, char *, int *);
	Handle world, f32, f64, i32, byte, sum;
} Mpi;

struct RtComm {
	int rank, size, local_rank, local_size;
	Mpi *mpi;          /* NULL: one rank, no MPI */
	Handle *req;       /* the started sums */
	int nreq, capreq;
	double seconds;    /* in blocking collectives since rt_comm_take_seconds */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int env_int(const char *const *names, int fallback)
{
	for (; *names; names++) {
		const char *s = getenv(*names);
		if (s && *s)
			return atoi(s);
	}
	return fallback;
}

static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", NULL};
static const char *const local_rank_vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", NULL};
static const char *const local_size_vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", NULL};

/* Launched by an MPI launcher: one of its variables is set. */
static bool launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static int check(const RtComm *c, int rc, const char *what)
{
	if (rc == 0)
		return 0;
	char msg[512]; /* MPI_MAX_ERROR_STRING is 256 in Open MPI */
	int len = 0;
	if (c->mpi->Error_string(rc, msg, &len) != 0)
		snprintf(msg, sizeof msg, "error %d", rc);
	fprintf(stderr, "trainer: rank %d: %s failed: %.*s\n", c->rank, what, len > 0 ? len : (int)strlen(msg), msg);
	return 1;
}

static Mpi *load_mpi(void)
{
	static const char *const libs[] = {"libmpi.so.40", "libmpi.so"};
	void *lib = NULL;
	/* RTLD_GLOBAL: Open MPI's own plugins resolve its symbols through the global scope */
	for (size_t i = 0; i < sizeof libs / sizeof *libs && !lib; i++)
		lib = dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		fprintf(stderr, "trainer: started by an MPI launcher (%d ranks) but Open MPI's library cannot be loaded "
		                "(%s): install it (Debian: openmpi-bin), or run the trainer alone\n",
		        env_int(size_vars, 0), dlerror());
		return NULL;
	}
	Mpi *m = calloc(1, sizeof *m);
	if (!m) {
		fprintf(stderr, "trainer: out of memory\n");
		return NULL;
	}
	m->lib = lib;
	struct {
		const char *name;
		void **at;
	} sym[] = {
		{"MPI_Init", (void **)&m->Init},
		{"MPI_Finalize", (void **)&m->Finalize},
		{"MPI_Abort", (void **)&m->Abort},
		{"MPI_Comm_rank", (void **)&m->Comm_rank},
		{"MPI_Comm_size", (void **)&m->Comm_size},
		{"MPI_Allreduce", (void **)&m->Allreduce},
		{"MPI_Iallreduce", (void **)&m->Iallreduce},
		{"MPI_Bcast", (void **)&m->Bcast},
		{"MPI_Allgatherv", (void **)&m->Allgatherv},
		{"MPI_Reduce_scatter", (void **)&m->Reduce_scatter},
		{"MPI_Testall", (void **)&m->Testall},
		{"MPI_Waitall", (void **)&m->Waitall},
		{"MPI_Error_string", (void **)&m->Error_string},
		{"ompi_mpi_comm_world", &m->world},
		{"ompi_mpi_float", &m->f32},
		{"ompi_mpi_double", &m->f64},
		{"ompi_mpi_int", &m->i32},
		{"ompi_mpi_byte", &m->byte},
		{"ompi_mpi_op_sum", &m->sum},
	};
	for (size_t i = 0; i < sizeof sym / sizeof *sym; i++)
		if (!(*sym[i].at = dlsym(lib, sym[i].name))) {
			fprintf(stderr, "trainer: the MPI library loaded lacks %s: Open MPI 4 or later is needed\n", sym[i].name);
			free(m);
			return NULL;
		}
	return m;
}

RtComm *rt_comm_open(void)
{
	RtComm *c = calloc(1, sizeof *c);
	if (!c) {
		fprintf(stderr, "trainer: out of memory\n");
		return NULL;
	}
	*c = (RtComm){.size = 1, .local_size = 1};
	if (!launched())
		return c;
	if (!(c->mpi = load_mpi())) {
		free(c);
		return NULL;
	}
	Mpi *m = c->mpi;
	if (m->Init(NULL, NULL) != 0 || m->Comm_rank(m->world, &c->rank) || m->Comm_size(m->world, &c->size)) {
		fprintf(stderr, "trainer: MPI_Init failed\n");
		free(m);
		free(c);
		return NULL;
	}
	c->local_rank = env_int(local_rank_vars, 0);
	c->local_size = env_int(local_size_vars, 1);
	if (c->local_size < 1 || c->local_rank < 0 || c->local_rank >= c->local_size)
		c->local_rank = 0, c->local_size = 1;
	return c;
}

void rt_comm_close(RtComm *c)
{
	if (!c)
		return;
	if (c->mpi)
		c->mpi->Finalize();
	free(c->req);
	free(c->mpi);
	free(c);
}

void rt_comm_abort(RtComm *c, int code)
{
	fflush(stdout);
	fflush(stderr);
	if (c && c->mpi && c->size > 1)
		c->mpi->Abort(c->mpi->world, code);
	exit(code);
}

int rt_comm_rank(const RtComm *c) { return c->rank; }
int rt_comm_size(const RtComm *c) { return c->size; }
int rt_comm_local_rank(const RtComm *c) { return c->local_rank; }
int rt_comm_local_size(const RtComm *c) { return c->local_size; }
bool rt_comm_mpi(const RtComm *c) { return c->mpi != NULL; }

static Handle dtype(const RtComm *c, RtCommType t)
{
	return t == RT_COMM_F64 ? c->mpi->f64 : t == RT_COMM_I32 ? c->mpi->i32 : c->mpi->f32;
}

static size_t type_size(RtCommType t)
{
	return t == RT_COMM_F64 ? sizeof(double) : t == RT_COMM_I32 ? sizeof(int32_t) : sizeof(float);
}

/* The most elements one MPI call moves: counts are int. */
enum { CHUNK = 1 << 30 };

int rt_comm_allreduce(RtComm *c, void *x, int64_t n, RtCommType t)
{
	if (!c->mpi)
		return 0;
	double t0 = now_s();
	int rc = 0;
	for (int64_t at = 0; at < n && !rc; at += CHUNK) {
		int k = (int)(n - at < CHUNK ? n - at : CHUNK);
		rc = check(c, c->mpi->Allreduce(IN_PLACE, (char *)x + (size_t)at * type_size(t), k, dtype(c, t), c->mpi->sum,
		                                c->mpi->world), "MPI_Allreduce");
	}
	c->seconds += now_s() - t0;
	return rc;
}

int rt_comm_bcast(RtComm *c, void *x, size_t bytes, int root)
{
	if (!c->mpi)
		return 0;
	double t0 = now_s();
	int rc = 0;
	for (size_t at = 0; at < bytes && !rc; at += CHUNK) {
		int k = (int)(bytes - at < CHUNK ? bytes - at : CHUNK);
		rc = check(c, c->mpi->Bcast((char *)x + at, k, c->mpi->byte, root, c->mpi->world), "MPI_Bcast");
	}
	c->seconds += now_s() - t0;
	return rc;
}

/* MPI's int counts and displacements of the ranges at[]; NULL after a message. */
static int *int_counts(const RtComm *c, const int64_t *at, bool displs)
{
	int *v = malloc(sizeof(int) * (size_t)c->size);
	if (!v) {
		fprintf(stderr, "trainer: out of memory\n");
		return NULL;
	}
	for (int r = 0; r < c->size; r++) {
		int64_t k = displs ? at[r] : at[r + 1] - at[r];
		if (k < 0 || k > INT_MAX) {
			fprintf(stderr, "trainer: a shard of %lld elements is more than one MPI call moves\n", (long long)k);
			free(v);
			return NULL;
		}
		v[r] = (int)k;
	}
	return v;
}

int rt_comm_allgather(RtComm *c, void *x, const int64_t *at, RtCommType t)
{
	if (!c->mpi || c->size == 1)
		return 0;
	int *count = int_counts(c, at, false), *displ = int_counts(c, at, true);
	int rc = !count || !displ;
	double t0 = now_s();
	if (!rc)
		rc = check(c, c->mpi->Allgatherv(IN_PLACE, 0, dtype(c, t), x, count, displ, dtype(c, t), c->mpi->world),
		           "MPI_Allgatherv");
	c->seconds += now_s() - t0;
	free(count);
	free(displ);
	return rc;
}

int rt_comm_reduce_scatter(RtComm *c, const void *x, void *out, const int64_t *at, RtCommType t)
{
	if (!c->mpi || c->size == 1) {
		memmove(out, (const char *)x + (size_t)at[c->rank] * type_size(t),
		        (size_t)(at[c->rank + 1] - at[c->rank]) * type_size(t));
		return 0;
	}
	/* MPI_Reduce_scatter reads every rank's contribution from at[0] on */
	int *count = int_counts(c, at, false);
	int rc = !count;
	double t0 = now_s();
	if (!rc)
		rc = check(c, c->mpi->Reduce_scatter((const char *)x + (size_t)at[0] * type_size(t), out, count, dtype(c, t),
		                                     c->mpi->sum, c->mpi->world), "MPI_Reduce_scatter");
	c->seconds += now_s() - t0;
	free(count);
	return rc;
}

int rt_comm_start(RtComm *c, void *x, int64_t n, RtCommType t)
{
	if (!c->mpi)
		return 0;
	for (int64_t at = 0; at < n; at += CHUNK) {
		if (c->nreq == c->capreq) {
			int cap = c->capreq ? 2 * c->capreq : 64;
			Handle *req = realloc(c->req, sizeof *req * (size_t)cap);
			if (!req) {
				fprintf(stderr, "trainer: out of memory\n");
				return 1;
			}
			c->req = req;
			c->capreq = cap;
		}
		int k = (int)(n - at < CHUNK ? n - at : CHUNK);
		if (check(c, c->mpi->Iallreduce(IN_PLACE, (char *)x + (size_t)at * type_size(t), k, dtype(c, t), c->mpi->sum,
		                                c->mpi->world, &c->req[c->nreq]), "MPI_Iallreduce"))
			return 1;
		c->nreq++;
	}
	return 0;
}

int rt_comm_progress(RtComm *c)
{
	if (!c->mpi || c->nreq == 0)
		return 0;
	int done = 0;
	return check(c, c->mpi->Testall(c->nreq, c->req, &done, NULL), "MPI_Testall");
}

int rt_comm_wait(RtComm *c)
{
	if (!c->mpi || c->nreq == 0)
		return 0;
	double t0 = now_s();
	int rc = check(c, c->mpi->Waitall(c->nreq, c->req, NULL), "MPI_Waitall");
	c->nreq = 0;
	c->seconds += now_s() - t0;
	return rc;
}

double rt_comm_take_seconds(RtComm *c)
{
	double s = c->seconds;
	c->seconds = 0;
	return s;
}
