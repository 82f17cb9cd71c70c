/* progress.c: what a training run shows while it runs.
 *
 * On a terminal, one line redrawn in place for each epoch: a bar, the epoch's steps, the
 * loss and metrics, the learning rate, images/s and the time left to the end of the run (carriage return, the line, then
 * "erase to the end of the line"; cut to the terminal's width so that it never wraps, which
 * would break the redraw). Anywhere else (a pipe, a file), one plain line every
 * log_every steps and nothing that is not printable text. Whole lines (an epoch's summary,
 * a file written) clear the bar first; the next step draws it again.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "maec_rt.h"

struct RtProgress {
	FILE *f;
	bool tty, quiet, bar_shown;
	int64_t log_every;
	double last_draw;
};

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

RtProgress *rt_progress_new(FILE *f, int mode, bool quiet, int64_t log_every)
{
	RtProgress *pr = calloc(1, sizeof *pr);
	if (!pr)
		return NULL;
	pr->f = f;
	pr->tty = mode == RT_PROGRESS_BAR || (mode == RT_PROGRESS_AUTO && isatty(fileno(f)));
	pr->quiet = quiet;
	pr->log_every = log_every > 0 ? log_every : 1;
	return pr;
}

bool rt_progress_is_bar(const RtProgress *pr)
{
	return pr->tty;
}

/* Seconds as M:SS, or H:MM:SS from an hour up; "?" before there is an estimate. */
static void format_duration(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 1e8) {
		snprintf(buf, n, "?");
		return;
	}
	long long t = (long long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, n, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%lld:%02lld", t / 60, t % 60);
}

static int terminal_width(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* The text of a step's report after its "epoch E ..." head, shared by both forms. */
static void step_fields(char *buf, size_t n, const RtProgressStep *s)
{
	size_t k = 0;
	for (int i = 0; i < s->nresults && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "  %s %.6f", s->names[i], s->values[i]);
	char eta[32], run_eta[32];
	format_duration(eta, sizeof eta, s->eta_epoch_s);
	format_duration(run_eta, sizeof run_eta, s->eta_run_s);
	if (k < n)
		snprintf(buf + k, n - k, "  lr %.3e  %.3f s  %.1f img/s  eta %s (run %s)", s->lr, s->seconds,
		         s->images_per_s, eta, run_eta);
}

void rt_progress_step(RtProgress *pr, const RtProgressStep *s)
{
	if (pr->quiet)
		return;
	char fields[512];
	step_fields(fields, sizeof fields, s);
	if (!pr->tty) {
		if (s->step % pr->log_every == 0) {
			fprintf(pr->f, "epoch %lld step %lld%s\n", (long long)s->epoch, (long long)s->step, fields);
			fflush(pr->f);
		}
		return;
	}
	/* A redraw at most every 0.1 s, and always the epoch's last step. */
	double t = monotonic_s();
	if (pr->bar_shown && t - pr->last_draw < 0.1 && s->epoch_step < s->epoch_steps)
		return;
	pr->last_draw = t;
	enum { BAR = 10 };
	char bar[BAR + 1];
	int64_t filled = s->epoch_steps > 0 ? s->epoch_step * BAR / s->epoch_steps : 0;
	for (int i = 0; i < BAR; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[BAR] = 0;
	/* Shorter than the line form, so that it fits 80 columns: the results to 4 places,
	 * no step time, the time left for the whole run only (the bar shows the epoch's). */
	char line[768], run_eta[32];
	int k = snprintf(line, sizeof line, "epoch %lld [%s] %lld/%lld", (long long)s->epoch, bar,
	                 (long long)s->epoch_step, (long long)s->epoch_steps);
	for (int i = 0; i < s->nresults && k < (int)sizeof line; i++)
		k += snprintf(line + k, sizeof line - (size_t)k, "  %s %.4f", s->names[i], s->values[i]);
	format_duration(run_eta, sizeof run_eta, s->eta_run_s);
	if (k < (int)sizeof line)
		snprintf(line + k, sizeof line - (size_t)k, "  lr %.2e  %.0f img/s  eta %s", s->lr, s->images_per_s,
		         run_eta);
	int width = terminal_width(pr->f) - 1;
	if ((int)strlen(line) > width)
		line[width] = 0;
	fprintf(pr->f, "\r%s\033[K", line);
	fflush(pr->f);
	pr->bar_shown = true;
}

void rt_progress_end_bar(RtProgress *pr)
{
	if (pr->tty && pr->bar_shown) {
		fputc('\n', pr->f);
		fflush(pr->f);
	}
	pr->bar_shown = false;
}

void rt_progress_line(RtProgress *pr, const char *fmt, ...)
{
	if (pr->tty && pr->bar_shown)
		fprintf(pr->f, "\r\033[K"); /* the bar comes back with the next step */
	pr->bar_shown = false;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(pr->f, fmt, ap);
	va_end(ap);
	fputc('\n', pr->f);
	fflush(pr->f);
}

void rt_progress_free(RtProgress *pr)
{
	if (pr)
		rt_progress_end_bar(pr);
	free(pr);
}
