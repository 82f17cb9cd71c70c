/* support.c: arenas, growable strings, number formatting, small helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"

void maec_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s:%d: internal error in maec: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "maec: out of memory allocating %zu bytes\n", n);
		exit(1);
	}
	return p;
}

/* An arena is a chain of chunks; big requests get a chunk of their own. */
typedef struct Chunk {
	struct Chunk *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
} Chunk;

struct Arena {
	Chunk *head;
};

enum { CHUNK_SIZE = 64 * 1024 };

Arena *arena_new(void)
{
	Arena *a = xmalloc(sizeof *a);
	a->head = NULL;
	return a;
}

void arena_free(Arena *a)
{
	if (!a)
		return;
	for (Chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(Arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	Chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
		if (n > SIZE_MAX - sizeof(Chunk))
			BUG("arena request of %zu bytes", n);
		c = xmalloc(sizeof(Chunk) + cap);
		c->used = 0;
		c->cap = cap;
		if (n > CHUNK_SIZE / 4 && a->head) { /* keep the current chunk for small requests */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

void *arena_grow(Arena *a, void *p, size_t old, size_t n)
{
	void *q = arena_alloc(a, n);
	if (p && old)
		memcpy(q, p, old < n ? old : n);
	return q;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *arena_strdup(Arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(Arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		BUG("bad format %s", fmt);
	char *p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

static void buf_reserve(Buf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		fprintf(stderr, "maec: out of memory growing a string to %zu bytes\n", cap);
		exit(1);
	}
	b->p = p;
	b->cap = cap;
}

void buf_putn(Buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void buf_putc(Buf *b, char c)
{
	buf_putn(b, &c, 1);
}

void buf_puts(Buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

void buf_printf(Buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		BUG("bad format %s", fmt);
	buf_reserve(b, (size_t)n);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	b->n += (size_t)n;
	va_end(ap);
}

void buf_free(Buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* The shortest %g form that reads back to the same double, always with a '.', 'e',
 * "inf" or "nan" so that the reader can tell it from an integer. */
void fmt_double(Buf *b, double x)
{
	char s[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, x);
		if (strtod(s, NULL) == x)
			break;
	}
	if (!strpbrk(s, ".eEni"))
		strcat(s, ".0");
	buf_puts(b, s);
}

/* Levenshtein distance, giving up (returning limit + 1) past limit. */
int edit_distance(const char *a, const char *b, int limit)
{
	size_t na = strlen(a), nb = strlen(b);
	if ((na > nb ? na - nb : nb - na) > (size_t)limit || nb > 256)
		return limit + 1;
	int row[257];
	for (size_t j = 0; j <= nb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= na; i++) {
		int diag = row[0], best = row[0] = (int)i;
		for (size_t j = 1; j <= nb; j++) {
			int up = row[j];
			int v = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			if (up + 1 < v)
				v = up + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
	}
	return row[nb];
}

bool read_file(const char *path, char **text, size_t *len, const char **why)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*why = strerror(errno);
		return false;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(f);
		*why = "it is a directory";
		return false;
	}
	/* Read in chunks up to the limit rather than trusting st_size: a pipe or a device
	 * (/dev/zero) has none, and would otherwise fill the memory. */
	Buf b = {0};
	char chunk[65536];
	size_t n;
	bool bad = false, big = false;
	while (!big && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		big = b.n + n > MAX_SOURCE_BYTES;
		if (!big)
			buf_putn(&b, chunk, n);
	}
	bad = ferror(f);
	fclose(f);
	if (bad || big) {
		buf_free(&b);
		*why = big ? "the file is larger than " MAX_SOURCE_TEXT ", the most maec reads" : "read error";
		return false;
	}
	if (!b.p)
		buf_reserve(&b, 0), b.p[0] = 0;
	*text = b.p;
	*len = b.n;
	return true;
}
