/* pool.c: a pool of threads for the image-folder loader (dataset.h): rt_pool_for runs
 * fn(arg, i) for i in 0..n-1 on the pool's threads and the caller's, and returns when all
 * are done. Items are taken in any order by any thread, so fn must write only item i's
 * output; the results then do not depend on the number of threads.
 */
#include <pthread.h>
#include <stdlib.h>

#include "formats/dataset.h"

struct RtPool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *threads;
	int nthreads;
	uint64_t job;          /* bumped for each rt_pool_for */
	void (*fn)(void *arg, int64_t i);
	void *arg;
	int64_t n, next, left; /* items, the next to take, those not finished */
	bool quit;
};

/* Takes items of the current job until none is left; called with mu held, returns with it. */
static void take_items(RtPool *p)
{
	while (p->next < p->n) {
		int64_t i = p->next++;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->arg, i);
		pthread_mutex_lock(&p->mu);
		if (--p->left == 0)
			pthread_cond_broadcast(&p->done);
	}
}

static void *worker(void *arg)
{
	RtPool *p = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->job == seen)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit)
			break;
		seen = p->job;
		take_items(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

RtPool *rt_pool_new(int threads)
{
	RtPool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->threads = malloc(sizeof(pthread_t) * (size_t)(threads > 1 ? threads - 1 : 1));
	/* the caller is one of the threads; fewer started than asked is fewer, not a failure */
	for (int t = 0; p->threads && t < threads - 1; t++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
			p->nthreads++;
	return p;
}

int rt_pool_threads(const RtPool *p)
{
	return p->nthreads + 1;
}

void rt_pool_for(RtPool *p, int64_t n, void (*fn)(void *arg, int64_t i), void *arg)
{
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->next = 0;
	p->left = n;
	p->job++;
	pthread_cond_broadcast(&p->work);
	take_items(p);
	while (p->left > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void rt_pool_free(RtPool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int t = 0; t < p->nthreads; t++)
		pthread_join(p->threads[t], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->threads);
	free(p);
}
