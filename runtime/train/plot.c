/* plot.c: the loss curve as an SVG file: a few lines of text, readable in any browser,
 * with axes and labels that a PNG written without a font could not carry. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maec_rt.h"

enum { W = 720, H = 400, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50 };

/* A tick spacing of 1, 2 or 5 times a power of ten giving about `want` ticks over span. */
static double tick_step(double span, int want)
{
	double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
	return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

typedef struct Axes {
	double x0, x1, y0, y1;
} Axes;

static double px(const Axes *a, double x)
{
	return LEFT + (x - a->x0) / (a->x1 - a->x0) * (W - LEFT - RIGHT);
}

static double py(const Axes *a, double y)
{
	return H - BOTTOM - (y - a->y0) / (a->y1 - a->y0) * (H - TOP - BOTTOM);
}

static void series(FILE *f, const Axes *a, const double *x, const double *y, int64_t n, const char *colour,
                   bool dots)
{
	if (n == 0)
		return;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour);
	for (int64_t i = 0; i < n; i++)
		if (isfinite(y[i]))
			fprintf(f, "%.1f,%.1f ", px(a, x[i]), py(a, y[i]));
	fprintf(f, "\"/>\n");
	for (int64_t i = 0; dots && i < n; i++)
		if (isfinite(y[i]))
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(a, x[i]), py(a, y[i]), colour);
}

static void limits(const double *v, int64_t n, double *lo, double *hi)
{
	for (int64_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			*lo = v[i] < *lo ? v[i] : *lo;
			*hi = v[i] > *hi ? v[i] : *hi;
		}
}

int rt_plot_loss_svg(const char *path, const char *title, const double *train_step, const double *train_loss,
                     int64_t ntrain, const double *val_step, const double *val_loss, int64_t nval, char **err)
{
	*err = NULL;
	Axes a = {INFINITY, -INFINITY, INFINITY, -INFINITY};
	limits(train_step, ntrain, &a.x0, &a.x1);
	limits(val_step, nval, &a.x0, &a.x1);
	limits(train_loss, ntrain, &a.y0, &a.y1);
	limits(val_loss, nval, &a.y0, &a.y1);
	if (!(a.x0 <= a.x1)) /* nothing finite yet */
		a = (Axes){0, 1, 0, 1};
	if (a.x1 - a.x0 < 1)
		a.x1 = a.x0 + 1;
	double pad = (a.y1 - a.y0) * 0.05;
	if (!(pad > 0))
		pad = fabs(a.y1) * 0.05 + 1e-3;
	a.y0 -= pad;
	a.y1 += pad;
	char *tmp = rt_format("%s.tmp.%ld", path, (long)getpid());
	FILE *f = tmp ? fopen(tmp, "w") : NULL;
	if (!f) {
		*err = rt_format("%s: cannot write: %s", tmp ? tmp : path, tmp ? strerror(errno) : "out of memory");
		free(tmp);
		return -1;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
	           "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	        W, H);
	fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\">", LEFT);
	for (const char *c = title; *c; c++) /* the title is the recipe's name and the model file's path */
		*c == '<' ? fputs("&lt;", f) : *c == '&' ? fputs("&amp;", f) : fputc(*c, f);
	fprintf(f, "</text>\n");
	double xs = tick_step(a.x1 - a.x0, 6), ys = tick_step(a.y1 - a.y0, 5);
	for (double x = ceil(a.x0 / xs) * xs; x <= a.x1 + 1e-9 * xs; x += xs)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
		           "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
		        px(&a, x), TOP, px(&a, x), H - BOTTOM, px(&a, x), H - BOTTOM + 16, x);
	for (double y = ceil(a.y0 / ys) * ys; y <= a.y1 + 1e-9 * ys; y += ys)
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
		           "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
		        LEFT, py(&a, y), W - RIGHT, py(&a, y), LEFT - 6, py(&a, y) + 4, fabs(y) < 1e-12 * ys ? 0 : y);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n", LEFT, TOP,
	        W - LEFT - RIGHT, H - TOP - BOTTOM);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">optimizer step</text>\n", (LEFT + W - RIGHT) / 2,
	        H - 12);
	fprintf(f, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">loss</text>\n",
	        (TOP + H - BOTTOM) / 2, (TOP + H - BOTTOM) / 2);
	series(f, &a, train_step, train_loss, ntrain, "#1f77b4", false);
	series(f, &a, val_step, val_loss, nval, "#ff7f0e", true);
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#1f77b4\">training (each logged step)</text>\n", W - RIGHT - 330,
	        TOP - 8);
	if (nval)
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#ff7f0e\">validation (each epoch)</text>\n", W - RIGHT - 150,
		        TOP - 8);
	fprintf(f, "</svg>\n");
	int rc = 0;
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		*err = rt_format("%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}
