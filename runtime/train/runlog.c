/* runlog.c: what a training run leaves in its run directory and shows while it runs.
 *
 * The directory (runs/RECIPE-TIMESTAMP/ unless --out names one) is made here and never
 * reused by accident: a directory that exists is refused unless the run resumes it or
 * --overwrite says so. The log then writes, as the run goes:
 *   metrics.csv            step,epoch,RESULTS...,lr,seconds,images_per_s: a row for
 *                          every optimizer step
 *   epochs.csv             step,epoch,train_RESULT...[,val_RESULT...]: a row for every
 *                          complete epoch, its training means and validation
 *   events.out.tfevents.*  TensorBoard: the reference's tags at the epoch as step
 *                          (mae_loss; cls/loss and cls/acc as train and val runs, in
 *                          the subdirectories cls_loss_train/ ... as PyTorch's add_scalars
 *                          makes them), and at the optimizer step step/RESULT, lr and
 *                          images_per_s; pictures as mae_image
 *   loss.svg               the loss curve, redrawn at most every 10 s and at each epoch
 *   images/NAME.png        the pictures
 * and reports progress through progress.c.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "train/trainer.h"

enum { TB_MAIN, TB_LOSS_TRAIN, TB_LOSS_VAL, TB_ACC_TRAIN, TB_ACC_VAL, TB__N };
static const char *const tb_dirs[TB__N] = {"", "cls_loss_train", "cls_loss_val", "cls_acc_train", "cls_acc_val"};

typedef struct Series {
	double *x, *y;
	int64_t n, cap;
} Series;

struct RtRunLog {
	char *dir;
	const RtRecipeDesc *r;
	RtRunLogOptions o;
	FILE *metrics, *epochs;
	RtEventWriter *tb[TB__N];
	RtProgress *progress;
	Series train, val;
	double last_plot;
	bool warned; /* a file that could not be written was reported once */
};

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void series_add(Series *s, double x, double y)
{
	if (s->n == s->cap) {
		int64_t cap = s->cap ? 2 * s->cap : 256;
		double *nx = realloc(s->x, sizeof(double) * (size_t)cap), *ny = nx ? realloc(s->y, sizeof(double) * (size_t)cap) : NULL;
		if (nx)
			s->x = nx;
		if (!nx || !ny)
			return; /* the curve misses a point; the run goes on */
		s->y = ny;
		s->cap = cap;
	}
	s->x[s->n] = x;
	s->y[s->n++] = y;
}

/* A failure to write a log file is reported once and the run goes on: the checkpoints
 * are what must not fail. */
static void log_failed(RtRunLog *l, char *err)
{
	if (!l->warned)
		rt_progress_line(l->progress, "trainer: warning: %s (the run goes on; further such warnings are not shown)",
		                 err ? err : "out of memory");
	l->warned = true;
	free(err);
}

static int make_dir(const char *path, char **err)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	*err = rt_format("cannot create '%s': %s", path, strerror(errno));
	return -1;
}

/* Makes every missing directory of path, as mkdir -p. */
static int make_dirs(const char *path, char **err)
{
	char *p = rt_format("%s", path);
	if (!p) {
		*err = NULL;
		return -1;
	}
	int rc = 0;
	for (char *c = p + 1; *c && !rc; c++)
		if (*c == '/') {
			*c = 0;
			rc = make_dir(p, err);
			*c = '/';
		}
	if (!rc)
		rc = make_dir(p, err);
	free(p);
	return rc;
}

char *rt_run_dir(const char *out, const char *recipe, bool resume, bool overwrite, char **err)
{
	*err = NULL;
	struct stat sb;
	if (resume) {
		if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			*err = rt_format("cannot resume '%s': %s", out, errno ? strerror(errno) : "not a directory");
			return NULL;
		}
		return rt_format("%s", out);
	}
	char *dir = NULL;
	if (out) {
		if (stat(out, &sb) == 0 && !overwrite) {
			*err = rt_format("'%s' exists: it may hold a run. Give another --out, --resume %s to continue it, "
			                 "or --overwrite to replace its files",
			                 out, out);
			return NULL;
		}
		dir = rt_format("%s", out);
	} else {
		time_t t = time(NULL);
		struct tm tm;
		char stamp[32];
		localtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		/* two runs started in the same second get -2, -3, ... */
		dir = rt_format("runs/%s-%s", recipe, stamp);
		for (int k = 2; dir && stat(dir, &sb) == 0; k++) {
			free(dir);
			dir = rt_format("runs/%s-%s-%d", recipe, stamp, k);
		}
	}
	if (!dir || make_dirs(dir, err)) {
		free(dir);
		return NULL;
	}
	return dir;
}

static const char *result_name(const RtRecipeDesc *r, int i)
{
	return r->result_names[i] ? r->result_names[i] : "result";
}

/* One column of a CSV file of numbers with a header: (first column, column col) of each
 * row that has it, into a series (the loss curve of a resumed run). */
static void read_column(Series *out, const char *path, int col)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	for (bool header = true; getline(&line, &cap, f) > 0; header = false) {
		if (header)
			continue;
		char *fields[64] = {0}, *save = NULL;
		int n = 0;
		for (char *tok = strtok_r(line, ",\n", &save); tok && n < 64; tok = strtok_r(NULL, ",\n", &save))
			fields[n++] = tok;
		if (col < n)
			series_add(out, strtod(fields[0], NULL), strtod(fields[col], NULL));
	}
	free(line);
	fclose(f);
}

/* Opens DIR/NAME for appending (resumed) or anew, with the header when new. */
static FILE *open_csv(const char *dir, const char *name, bool resumed, char **header, char **err)
{
	char *path = rt_format("%s/%s", dir, name);
	FILE *f = path ? fopen(path, resumed ? "a" : "w") : NULL;
	if (!f)
		*err = rt_format("cannot write '%s': %s", path ? path : dir, path ? strerror(errno) : "out of memory");
	else if (!resumed)
		fputs(*header, f);
	free(*header);
	*header = NULL;
	free(path);
	return f;
}

RtRunLog *rt_runlog_open(const char *dir, const RtRecipeDesc *r, const RtRunLogOptions *o, char **err)
{
	*err = NULL;
	RtRunLog *l = calloc(1, sizeof *l);
	if (!l || !(l->dir = rt_format("%s", dir)) ||
	    !(l->progress = rt_progress_new(stdout, o->progress_mode, o->quiet, o->log_every))) {
		rt_runlog_close(l);
		return NULL;
	}
	l->r = r;
	l->o = *o;
	if (o->resumed) { /* the loss curve so far: metrics.csv's loss, epochs.csv's val_loss */
		char *m = rt_format("%s/metrics.csv", dir), *e = rt_format("%s/epochs.csv", dir);
		if (m)
			read_column(&l->train, m, 2);
		if (e && r->eval && r->val_split >= 0)
			read_column(&l->val, e, 2 + r->nresults);
		free(m);
		free(e);
	}
	char *head = rt_format("step,epoch"), *more;
	for (int i = 0; i < r->nresults && head; i++, free(head), head = more)
		more = rt_format("%s,%s", head, result_name(r, i));
	more = head ? rt_format("%s,lr,seconds,images_per_s\n", head) : NULL;
	free(head);
	l->metrics = more ? open_csv(dir, "metrics.csv", o->resumed, &more, err) : NULL;
	head = l->metrics ? rt_format("step,epoch") : NULL;
	for (int k = 0; k < 2 && head; k++)
		for (int i = 0; i < r->nresults && head && (k == 0 || (r->eval && r->val_split >= 0)); i++, free(head), head = more)
			more = rt_format("%s,%s_%s", head, k ? "val" : "train", result_name(r, i));
	more = head ? rt_format("%s\n", head) : NULL;
	free(head);
	l->epochs = more ? open_csv(dir, "epochs.csv", o->resumed, &more, err) : NULL;
	if (!l->metrics || !l->epochs) {
		rt_runlog_close(l);
		return NULL;
	}
	int ntb = r->nargs >= 2 ? TB__N : 1; /* the train/val runs are the classifier's */
	for (int k = 0; k < ntb; k++) {
		char *sub = *tb_dirs[k] ? rt_format("%s/%s", dir, tb_dirs[k]) : rt_format("%s", dir);
		if (!sub || make_dir(sub, err) || !(l->tb[k] = rt_tb_open(sub, err))) {
			free(sub);
			rt_runlog_close(l);
			return NULL;
		}
		free(sub);
	}
	char *images = rt_format("%s/images", dir);
	int rc = images ? make_dir(images, err) : -1;
	free(images);
	if (rc) {
		rt_runlog_close(l);
		return NULL;
	}
	return l;
}

RtProgress *rt_runlog_progress(RtRunLog *l)
{
	return l->progress;
}

static void tb_scalar(RtRunLog *l, int k, const char *tag, int64_t step, double v)
{
	char *err = NULL;
	if (l->tb[k] && rt_tb_scalar(l->tb[k], tag, step, wall_s(), v, &err))
		log_failed(l, err);
}

static void plot(RtRunLog *l)
{
	char *path = rt_format("%s/loss.svg", l->dir), *title = rt_format("%s: loss", l->r->name), *err = NULL;
	if (!path || !title || rt_plot_loss_svg(path, title, l->train.x, l->train.y, l->train.n, l->val.x, l->val.y,
	                                        l->val.n, &err))
		log_failed(l, err);
	free(path);
	free(title);
	l->last_plot = mono_s();
}

void rt_runlog_step(RtRunLog *l, const RtProgressStep *s)
{
	rt_progress_step(l->progress, s);
	fprintf(l->metrics, "%lld,%lld", (long long)s->step, (long long)s->epoch);
	for (int i = 0; i < s->nresults; i++)
		fprintf(l->metrics, ",%.17g", s->values[i]);
	fprintf(l->metrics, ",%.17g,%.6f,%.3f\n", s->lr, s->seconds, s->images_per_s);
	fflush(l->metrics);
	for (int i = 0; i < s->nresults; i++) {
		char *tag = rt_format("step/%s", result_name(l->r, i));
		if (tag)
			tb_scalar(l, TB_MAIN, tag, s->step, s->values[i]);
		free(tag);
	}
	tb_scalar(l, TB_MAIN, "lr", s->step, s->lr);
	tb_scalar(l, TB_MAIN, "images_per_s", s->step, s->images_per_s);
	if (s->nresults)
		series_add(&l->train, (double)s->step, s->values[0]);
	if (mono_s() - l->last_plot > 10)
		plot(l);
}

/* The reference's per-epoch tags: mae_loss for a pretraining recipe (images only),
 * cls/loss and cls/acc as train and val for a classifier; other results as cls/NAME. */
static void tb_epoch(RtRunLog *l, bool val, int64_t epoch, const double *v)
{
	const RtRecipeDesc *r = l->r;
	if (r->nargs < 2) {
		if (!val)
			tb_scalar(l, TB_MAIN, "mae_loss", epoch, v[0]);
		for (int i = 1; i < r->nresults; i++) { /* metrics of a pretraining loss, if any */
			char *tag = rt_format("%s/%s", val ? "val" : "train", result_name(r, i));
			if (tag)
				tb_scalar(l, TB_MAIN, tag, epoch, v[i]);
			free(tag);
		}
		return;
	}
	tb_scalar(l, val ? TB_LOSS_VAL : TB_LOSS_TRAIN, "cls/loss", epoch, v[0]);
	if (r->nresults > 1)
		tb_scalar(l, val ? TB_ACC_VAL : TB_ACC_TRAIN, "cls/acc", epoch, v[1]);
	for (int i = 2; i < r->nresults; i++) {
		char *tag = rt_format("cls/%s_%s", result_name(r, i), val ? "val" : "train");
		if (tag)
			tb_scalar(l, TB_MAIN, tag, epoch, v[i]);
		free(tag);
	}
}

void rt_runlog_epoch(RtRunLog *l, int64_t epoch, int64_t step, const double *train, const double *val)
{
	rt_progress_end_bar(l->progress);
	fprintf(l->epochs, "%lld,%lld", (long long)step, (long long)epoch);
	for (int i = 0; i < l->r->nresults; i++)
		fprintf(l->epochs, ",%.17g", train[i]);
	for (int i = 0; val && i < l->r->nresults; i++)
		fprintf(l->epochs, ",%.17g", val[i]);
	fputc('\n', l->epochs);
	fflush(l->epochs);
	tb_epoch(l, false, epoch, train);
	if (val) {
		tb_epoch(l, true, epoch, val);
		series_add(&l->val, (double)step, val[0]);
	}
	plot(l);
}

int rt_runlog_picture(RtRunLog *l, const char *name, const char *tag, int64_t tb_step, const uint8_t *px, int w,
                      int h, int c)
{
	char *path = rt_format("%s/images/%s", l->dir, name), *err = NULL;
	void *png = NULL;
	size_t n = 0;
	int rc = path ? rt_png_encode(px, w, h, c, &png, &n, &err) : -1;
	if (!rc)
		rc = rt_file_write(path, png, n, &err);
	if (!rc && l->tb[TB_MAIN] && rt_tb_image(l->tb[TB_MAIN], tag, tb_step, wall_s(), h, w, c, png, n, &err))
		rc = -1;
	if (rc)
		log_failed(l, err);
	free(png);
	free(path);
	return rc;
}

int rt_runlog_close(RtRunLog *l)
{
	if (!l)
		return 0;
	int rc = 0;
	if (l->progress && l->metrics)
		plot(l);
	for (int k = 0; k < TB__N; k++)
		if (rt_tb_close(l->tb[k]))
			rc = -1;
	if (l->metrics && fclose(l->metrics) != 0)
		rc = -1;
	if (l->epochs && fclose(l->epochs) != 0)
		rc = -1;
	rt_progress_free(l->progress);
	free(l->train.x);
	free(l->train.y);
	free(l->val.x);
	free(l->val.y);
	free(l->dir);
	free(l);
	return rc;
}
