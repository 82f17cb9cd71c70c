/* guard.c: the trainer's guards against losing work (docs/robustness.md).
 *
 *  - Numerical: rt_first_nonfinite finds a NaN or an infinity in a tensor; the driver
 *    (trainer.c) checks every micro-batch's results and every step's gradient norm
 *    before the update, and rt_anomaly is what --detect-anomaly's hook in the generated
 *    code calls after each kernel.
 *  - The offending batch: rt_write_indexes writes the dataset indexes of a step's images.
 *  - Resuming after a kill: rt_metrics_truncate cuts metrics.csv back to the step of the
 *    checkpoint a run resumes from, dropping the rows of steps it will run again and a
 *    last line cut short by the kill.
 *    rt_remove_partial removes the half-written files such a kill leaves.
 *  - Memory: rt_host_memory, what the machine holds, for a refusal before the slabs are
 *    allocated instead of an out-of-memory kill in the middle of a run.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/guard.h"

int64_t rt_first_nonfinite(const real *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return i;
	return -1;
}

double rt_sum_squares(const real *x, int64_t n)
{
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)x[i] * (double)x[i];
	return s;
}

const char *rt_nonfinite_name(double x)
{
	return isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

int rt_anomaly(const real *x, int64_t n, const char *where, const char *op)
{
	int64_t i = rt_first_nonfinite(x, n);
	if (i < 0)
		return 0;
	fprintf(stderr,
	        "trainer: --detect-anomaly: %s: '%s' produced %s (element %lld of %lld), the first kernel of this "
	        "call to do so\n",
	        where, op, rt_nonfinite_name((double)x[i]), (long long)i, (long long)n);
	return 1;
}

int rt_write_indexes(const char *path, const char *what, const int64_t *idx, int64_t n)
{
	char *tmp = rt_format("%s.tmp", path);
	FILE *f = tmp ? fopen(tmp, "w") : NULL;
	if (!f) {
		fprintf(stderr, "trainer: cannot write '%s': %s\n", tmp ? tmp : path, tmp ? strerror(errno) : "out of memory");
		free(tmp);
		return 1;
	}
	fprintf(f, "# %s\n", what);
	for (int64_t i = 0; i < n; i++)
		fprintf(f, "%lld\n", (long long)idx[i]);
	int bad = ferror(f) | (fclose(f) != 0);
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, "trainer: cannot write '%s': %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return 1;
	}
	free(tmp);
	return 0;
}

int rt_metrics_truncate(const char *path, int64_t last_step)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT) /* a run directory without metrics: nothing to keep */
			return 0;
		fprintf(stderr, "trainer: cannot read '%s': %s\n", path, strerror(errno));
		return 1;
	}
	char *tmp = rt_format("%s.tmp", path);
	FILE *out = tmp ? fopen(tmp, "w") : NULL;
	if (!out) {
		fprintf(stderr, "trainer: cannot write '%s': %s\n", tmp ? tmp : path, tmp ? strerror(errno) : "out of memory");
		fclose(f);
		free(tmp);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int64_t kept = 0, dropped = 0;
	for (int first = 1; (len = getline(&line, &cap, f)) > 0; first = 0) {
		if (line[len - 1] != '\n') { /* the kill cut this one short */
			dropped++;
			continue;
		}
		char *end;
		long long step = strtoll(line, &end, 10);
		if (first || (end != line && *end == ',' && step <= last_step)) {
			fwrite(line, 1, (size_t)len, out);
			kept += !first;
		} else {
			dropped++;
		}
	}
	free(line);
	int bad = ferror(f) | ferror(out);
	fclose(f);
	bad |= fclose(out) != 0;
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, "trainer: cannot rewrite '%s': %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return 1;
	}
	if (dropped)
		printf("resume: %s keeps the %lld rows up to step %lld; %lld later rows are run again\n", path,
		       (long long)kept, (long long)last_step, (long long)dropped);
	free(tmp);
	return 0;
}

int64_t rt_host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (int64_t)pages * size : -1;
}

/* NAME.tmp.PID: a file an atomic write (rt_st_write, png.c, plot.c) had not renamed yet. */
static bool is_partial(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	if (!t || !t[5])
		return false;
	for (t += 5; *t; t++)
		if (*t < '0' || *t > '9')
			return false;
	return true;
}

static void remove_partial_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_partial(e->d_name))
			continue;
		char *path = rt_format("%s/%s", dir, e->d_name);
		if (path && unlink(path) == 0)
			printf("resume: removed %s, a file the stopped run had not finished writing\n", path);
		free(path);
	}
	closedir(d);
}

void rt_remove_partial(const char *dir, const char *recipe)
{
	(void)recipe; /* every write of a run is atomic the same way: checkpoints, pictures, curves */
	remove_partial_in(dir);
	char *images = rt_format("%s/images", dir);
	if (images)
		remove_partial_in(images);
	free(images);
}
