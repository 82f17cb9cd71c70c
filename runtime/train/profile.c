/* profile.c: the trainer's --profile tables (profile.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/profile.h"

typedef struct Entry {
	const RtProfSite *site;
	double sec;
	int64_t calls;
} Entry;

enum { EXTRA = 4 }; /* the driver's own sites, ids -1 to -EXTRA (profile.h) */

struct RtProfile {
	Entry *e; /* by site id */
	int n, cap;
	Entry extra[EXTRA];
};

RtProfile *rt_prof_new(void)
{
	return calloc(1, sizeof(RtProfile));
}

void rt_prof_free(RtProfile *p)
{
	if (p)
		free(p->e);
	free(p);
}

double rt_prof_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rt_prof_add(RtProfile *p, const RtProfSite *site, double start)
{
	double dt = rt_prof_now() - start;
	if (site->id < 0) {
		if (site->id >= -EXTRA) {
			p->extra[-site->id - 1].site = site;
			p->extra[-site->id - 1].sec += dt;
			p->extra[-site->id - 1].calls++;
		}
		return;
	}
	if (site->id >= p->cap) {
		int cap = p->cap ? p->cap : 256;
		while (cap <= site->id)
			cap *= 2;
		Entry *e = realloc(p->e, sizeof *e * (size_t)cap);
		if (!e)
			return; /* out of memory: this call goes unrecorded */
		memset(e + p->cap, 0, sizeof *e * (size_t)(cap - p->cap));
		p->e = e;
		p->cap = cap;
	}
	if (site->id >= p->n)
		p->n = site->id + 1;
	p->e[site->id].site = site;
	p->e[site->id].sec += dt;
	p->e[site->id].calls++;
}

void rt_prof_reset(RtProfile *p)
{
	if (p->e)
		memset(p->e, 0, sizeof *p->e * (size_t)p->cap);
	memset(p->extra, 0, sizeof p->extra);
	p->n = 0;
}

/* Rows of a table: a key and its totals. */
typedef struct Row {
	const char *key;
	size_t keylen;
	double sec;
	int64_t calls;
	const Entry *first; /* for the sites table */
} Row;

static int by_key(const void *a, const void *b)
{
	const Row *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int by_time(const void *a, const void *b)
{
	const Row *x = a, *y = b;
	return (x->sec < y->sec) - (x->sec > y->sec);
}

/* The rows merged by key, largest time first; returns how many. */
static int merge(Row *r, int n)
{
	qsort(r, (size_t)n, sizeof *r, by_key);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (k > 0 && by_key(&r[k - 1], &r[i]) == 0) {
			r[k - 1].sec += r[i].sec;
			r[k - 1].calls += r[i].calls;
		} else {
			r[k++] = r[i];
		}
	}
	qsort(r, (size_t)k, sizeof *r, by_time);
	return k;
}

/* The DSL file and line of "file:line:col" (without the column). */
static size_t line_len(const char *where)
{
	const char *last = strrchr(where, ':');
	if (!last || last == where)
		return strlen(where);
	const char *prev = last - 1;
	while (prev > where && *prev != ':')
		prev--;
	return *prev == ':' ? (size_t)(last - where) : strlen(where);
}

void rt_prof_print(const RtProfile *p, FILE *f, int64_t steps)
{
	if (steps < 1)
		steps = 1;
	int n = 0;
	double total = 0;
	Row *r = malloc(sizeof *r * (size_t)(p->n + EXTRA));
	const Entry **all = malloc(sizeof *all * (size_t)(p->n + EXTRA)); /* the sites, then the driver's */
	if (!r || !all) {
		free(r);
		free(all);
		return;
	}
	for (int i = 0; i < p->n + EXTRA; i++) {
		all[i] = i < p->n ? &p->e[i] : &p->extra[i - p->n];
		if (all[i]->site && all[i]->calls) {
			total += all[i]->sec;
			n++;
		}
	}
	double ms = 1e3 / (double)steps;
	fprintf(f, "profile: %.1f ms per step in %d kernel sites, over %lld step%s\n", total * ms, n, (long long)steps,
	        steps == 1 ? "" : "s");
	if (n == 0) {
		free(r);
		free(all);
		return;
	}
	const char *title[3] = {"by kernel kind", "by DSL line", "by site (the 30 largest)"};
	for (int t = 0; t < 3; t++) {
		int k = 0;
		for (int i = 0; i < p->n + EXTRA; i++) {
			const Entry *e = all[i];
			if (!e->site || !e->calls)
				continue;
			const char *key = t == 0 ? e->site->kernel : e->site->where;
			size_t len = t == 1 ? line_len(key) : strlen(key);
			if (t == 2) /* every site its own row */
				key = (const char *)e, len = sizeof *e;
			r[k++] = (Row){key, len, e->sec, e->calls, e};
		}
		k = t == 2 ? (qsort(r, (size_t)k, sizeof *r, by_time), k) : merge(r, k);
		fprintf(f, "\n%s:\n%10s %6s %8s  %s\n", title[t], "ms/step", "%", "calls", t == 2 ? "function  kernel  where  ops" : "");
		double shown = 0;
		int rows = t == 2 ? 30 : 40;
		for (int i = 0; i < k && i < rows; i++) {
			shown += r[i].sec;
			fprintf(f, "%10.2f %6.1f %8.1f  ", r[i].sec * ms, 100 * r[i].sec / total, (double)r[i].calls / (double)steps);
			if (t == 2)
				fprintf(f, "%s  %s  %s  %s\n", r[i].first->site->func, r[i].first->site->kernel, r[i].first->site->where,
				        r[i].first->site->ops);
			else
				fprintf(f, "%.*s\n", (int)r[i].keylen, r[i].key);
		}
		if (k > rows)
			fprintf(f, "%10.2f %6.1f %8s  (%d more)\n", (total - shown) * ms, 100 * (total - shown) / total, "",
			        k - rows);
	}
	free(r);
	free(all);
}
