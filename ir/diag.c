/* diag.c: GNU-style diagnostics with the source line and a caret under the span. */
#include <string.h>

#include "ir.h"

void diag_init(Diag *d, Arena *a, FILE *out)
{
	memset(d, 0, sizeof *d);
	d->out = out;
	d->arena = a;
	d->max_errors = 50;
}

SrcFile *diag_add_file(Diag *d, const char *name, const char *text, size_t len)
{
	SrcFile *f = arena_alloc(d->arena, sizeof *f);
	f->name = arena_strdup(d->arena, name);
	f->text = text;
	f->len = len;
	int n = 1;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	f->line_start = arena_alloc(d->arena, sizeof *f->line_start * ((size_t)n + 1));
	f->nlines = 0;
	f->line_start[f->nlines++] = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			f->line_start[f->nlines++] = (uint32_t)(i + 1);
	vec_push(d->arena, d->files, f);
	return f;
}

/* Byte span [lo, hi) to line and column. Columns count bytes, as GCC's do. */
Loc src_loc(const SrcFile *f, uint32_t lo, uint32_t hi)
{
	Loc l = {.file = f->name, .line = 1, .col = 1, .len = 1};
	if (lo > f->len)
		lo = (uint32_t)f->len;
	int a = 0, b = f->nlines - 1;
	while (a < b) {
		int m = (a + b + 1) / 2;
		if (f->line_start[m] <= lo)
			a = m;
		else
			b = m - 1;
	}
	l.line = a + 1;
	l.col = (int)(lo - f->line_start[a]) + 1;
	uint32_t eol = a + 1 < f->nlines ? f->line_start[a + 1] - 1 : (uint32_t)f->len;
	if (hi > eol)
		hi = eol;
	l.len = hi > lo ? (int)(hi - lo) : 1;
	return l;
}

static const SrcFile *find_file(const Diag *d, const char *name)
{
	for (int i = d->files.n - 1; i >= 0; i--)
		if (strcmp(d->files.p[i]->name, name) == 0)
			return d->files.p[i];
	return NULL;
}

/* The source line, then '^' under the first byte of the span and '~' under the rest. A
 * line longer than CARET_WIDTH bytes shows only CARET_WIDTH of them around the span's start,
 * with "..." for the rest: a file of one huge line must not print it at every error. */
enum { CARET_WIDTH = 240 };

static void print_caret(const Diag *d, Loc loc)
{
	const SrcFile *f = find_file(d, loc.file);
	if (!f || loc.line < 1 || loc.line > f->nlines)
		return;
	uint32_t start = f->line_start[loc.line - 1];
	uint32_t end = loc.line < f->nlines ? f->line_start[loc.line] - 1 : (uint32_t)f->len;
	if (end > start && f->text[end - 1] == '\r')
		end--;
	int col = loc.col - 1, len = loc.len < 1 ? 1 : loc.len;
	if ((uint32_t)col > end - start)
		col = (int)(end - start);
	const char *before = "", *after = "";
	if (end - start > CARET_WIDTH) { /* a window of the line */
		uint32_t from = (uint32_t)col > CARET_WIDTH / 4 ? start + (uint32_t)col - CARET_WIDTH / 4 : start;
		if (from > end - CARET_WIDTH)
			from = end - CARET_WIDTH;
		if (from > start)
			before = "...";
		if (from + CARET_WIDTH < end)
			after = "...";
		col -= (int)(from - start) - (int)strlen(before);
		start = from;
		end = from + CARET_WIDTH;
	}
	fprintf(d->out, "%5d | %s", loc.line, before);
	for (uint32_t i = start; i < end; i++) {
		char c = f->text[i];
		fputc(c == '\t' ? ' ' : (unsigned char)c < ' ' ? '?' : c, d->out);
	}
	fprintf(d->out, "%s\n      | ", after);
	for (int i = 0; i < col; i++)
		fputc(' ', d->out);
	fputc('^', d->out);
	int shown = (int)(end - start + strlen(before));
	for (int i = 1; i < len && col + i < shown; i++)
		fputc('~', d->out);
	fputc('\n', d->out);
}

void diag_verror(Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap)
{
	bool is_error = strcmp(kind, "error") == 0;
	if (is_error)
		d->errors++;
	if (d->errors > d->max_errors) {
		if (!is_error)
			return;
		if (d->errors == d->max_errors + 1)
			fprintf(d->out, "maec: too many errors, stopping after %d\n", d->max_errors);
		return;
	}
	if (loc.file)
		fprintf(d->out, "%s:%d:%d: ", loc.file, loc.line, loc.col);
	else
		fputs("maec: ", d->out);
	fprintf(d->out, "%s: ", kind);
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
	if (loc.file)
		print_caret(d, loc);
}

void diag_error(Diag *d, Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(d, "error", loc, fmt, ap);
	va_end(ap);
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(d, "note", loc, fmt, ap);
	va_end(ap);
}
