/* safetensors.c: reading and writing checkpoints in the safetensors format.
 *
 * The format (maec_rt.h has the summary): u64 little-endian header length N, N bytes of a
 * JSON object, the data. The reader takes nothing on trust: every size, offset and byte of
 * the JSON is checked, and a bad file gives a message naming it and the problem. The JSON
 * parser accepts exactly the subset safetensors uses (an object of tensor entries and an
 * optional "__metadata__" object of strings), with JSON's full string syntax; it is strict
 * where the reference implementation (huggingface/safetensors) is, and also rejects unknown
 * fields in a tensor entry and duplicate keys, which the reference accepts or ignores.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maec_rt.h"

#define ST_MAX_HEADER 100000000u /* the reference implementation's limit on N */

typedef struct Entry {
	RtTensor t;           /* t.name and t.shape point at name and shape */
	char *name;
	int64_t *shape;
	uint64_t begin, end;  /* data_offsets (a file read) */
} Entry;

typedef struct Meta {
	char *key, *value;
} Meta;

struct RtSafetensors {
	Entry *tensors;
	int n, cap;
	Meta *meta;
	int nmeta, capmeta;
	unsigned char *bytes; /* a file read: its contents, which the tensors point into */
	bool failed;          /* a bad rt_st_add or rt_st_meta, reported by rt_st_write */
	char *error;          /* its message (NULL if even that ran out of memory) */
};

static const struct {
	const char *name;
	size_t size;
} dtypes[RT_DTYPE__N] = {
	[RT_F32] = {"F32", 4}, [RT_F64] = {"F64", 8}, [RT_I32] = {"I32", 4}, [RT_I64] = {"I64", 8},
	[RT_U8] = {"U8", 1},
};

const char *rt_dtype_name(RtDType dt)
{
	return (unsigned)dt < RT_DTYPE__N ? dtypes[dt].name : NULL;
}

size_t rt_dtype_size(RtDType dt)
{
	return (unsigned)dt < RT_DTYPE__N ? dtypes[dt].size : 0;
}

/* Growable strings. A failed allocation sets oom and makes later appends no-ops, so a
 * sequence of appends needs one check at the end. */

typedef struct Str {
	char *p;
	size_t n, cap;
	bool oom;
} Str;

static void str_putn(Str *s, const char *p, size_t n)
{
	if (s->oom)
		return;
	if (s->n + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap < s->n + n + 1)
			cap *= 2;
		char *q = realloc(s->p, cap);
		if (!q) {
			s->oom = true;
			return;
		}
		s->p = q;
		s->cap = cap;
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
	s->p[s->n] = '\0';
}

static void str_putc(Str *s, char c)
{
	str_putn(s, &c, 1);
}

static void str_printf(Str *s, const char *fmt, ...) RT_FMT(2, 3);
static void str_printf(Str *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *t = rt_vformat(fmt, ap);
	va_end(ap);
	if (t)
		str_putn(s, t, strlen(t));
	else
		s->oom = true;
	free(t);
}

/* Grow an array of elem-byte items to hold one more. */
static bool grow(void **p, int *cap, int n, size_t elem)
{
	if (n < *cap)
		return true;
	if (*cap > INT_MAX / 2)
		return false;
	int c = *cap ? 2 * *cap : 8;
	void *q = realloc(*p, (size_t)c * elem);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0 when there is none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* A JSON string literal, escaping what JSON requires. */
static void str_json(Str *s, const char *text)
{
	str_putc(s, '"');
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '"': str_putn(s, "\\\"", 2); break;
		case '\\': str_putn(s, "\\\\", 2); break;
		case '\n': str_putn(s, "\\n", 2); break;
		case '\r': str_putn(s, "\\r", 2); break;
		case '\t': str_putn(s, "\\t", 2); break;
		case '\b': str_putn(s, "\\b", 2); break;
		case '\f': str_putn(s, "\\f", 2); break;
		default:
			if (c < 0x20)
				str_printf(s, "\\u%04x", c);
			else
				str_putc(s, (char)c);
		}
	}
	str_putc(s, '"');
}

/* "[2, 3]", or the first 8 dimensions and "...", for messages. */
static void str_shape(Str *s, const int64_t *shape, int rank)
{
	str_putc(s, '[');
	for (int i = 0; i < rank && i < 8; i++)
		str_printf(s, "%s%" PRId64, i ? ", " : "", shape[i]);
	if (rank > 8)
		str_putn(s, ", ...", 5);
	str_putc(s, ']');
}

/* The message in s, or NULL when building it ran out of memory. */
static char *str_take(Str *s)
{
	if (s->oom || !s->p) {
		free(s->p);
		return NULL;
	}
	return s->p;
}

/* ---- The tensor set ---- */

RtSafetensors *rt_st_create(void)
{
	return calloc(1, sizeof(RtSafetensors));
}

void rt_st_free(RtSafetensors *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->n; i++) {
		free(st->tensors[i].name);
		free(st->tensors[i].shape);
	}
	for (int i = 0; i < st->nmeta; i++) {
		free(st->meta[i].key);
		free(st->meta[i].value);
	}
	free(st->tensors);
	free(st->meta);
	free(st->bytes);
	free(st->error);
	free(st);
}

static void st_fail(RtSafetensors *st, const char *fmt, ...) RT_FMT(2, 3);
static void st_fail(RtSafetensors *st, const char *fmt, ...)
{
	if (st->failed)
		return;
	st->failed = true;
	va_list ap;
	va_start(ap, fmt);
	st->error = rt_vformat(fmt, ap);
	va_end(ap);
}

/* The elements of a shape, or -1 when a dimension is negative or the product overflows. */
static int64_t shape_numel(const int64_t *shape, int rank)
{
	int64_t numel = 1;
	for (int i = 0; i < rank; i++)
		if (shape[i] < 0)
			return -1;
		else if (shape[i] == 0)
			numel = 0;
	if (numel == 0)
		return 0;
	for (int i = 0; i < rank; i++) {
		if (numel > INT64_MAX / shape[i])
			return -1;
		numel *= shape[i];
	}
	return numel;
}

/* Append an entry that takes ownership of name and shape (freed here on failure). */
static bool st_append(RtSafetensors *st, char *name, RtDType dtype, int64_t *shape, int rank, int64_t numel)
{
	if (!grow((void **)&st->tensors, &st->cap, st->n, sizeof(Entry))) {
		free(name);
		free(shape);
		return false;
	}
	Entry *e = &st->tensors[st->n++];
	*e = (Entry){.name = name, .shape = shape};
	e->t = (RtTensor){.name = name, .dtype = dtype, .rank = rank, .shape = shape, .numel = numel,
	                  .nbytes = (size_t)numel * dtypes[dtype].size};
	return true;
}

void rt_st_add(RtSafetensors *st, const char *name, RtDType dtype, const int64_t *shape, int rank,
               const void *data, size_t nbytes)
{
	if (!st || st->failed)
		return;
	if (!name) {
		st_fail(st, "rt_st_add: the tensor has no name");
		return;
	}
	if (!utf8_valid(name) || strcmp(name, "__metadata__") == 0) {
		st_fail(st, "tensor '%s': the name %s", name,
		        utf8_valid(name) ? "__metadata__ is reserved" : "is not valid UTF-8");
		return;
	}
	if ((unsigned)dtype >= RT_DTYPE__N) {
		st_fail(st, "tensor '%s': unknown dtype %d", name, (int)dtype);
		return;
	}
	if (rank < 0 || (rank > 0 && !shape)) {
		st_fail(st, "tensor '%s': bad rank %d or no shape", name, rank);
		return;
	}
	int64_t numel = shape_numel(shape, rank);
	size_t size = dtypes[dtype].size;
	if (numel < 0 || (uint64_t)numel > SIZE_MAX / size || (size_t)numel * size != nbytes || (nbytes && !data)) {
		Str m = {0};
		str_printf(&m, "tensor '%s': shape ", name);
		str_shape(&m, shape, rank);
		if (numel < 0)
			str_printf(&m, " has a negative dimension or too many elements");
		else if (nbytes && !data)
			str_printf(&m, ": no data");
		else
			str_printf(&m, " of %s needs %" PRIu64 " bytes, but %zu were given", dtypes[dtype].name,
			           (uint64_t)numel * size, nbytes);
		char *msg = str_take(&m);
		st_fail(st, "%s", msg ? msg : "out of memory");
		free(msg);
		return;
	}
	char *copy = strdup(name);
	int64_t *shp = malloc(sizeof *shp * (size_t)(rank ? rank : 1));
	if (!copy || !shp) {
		free(copy);
		free(shp);
		st_fail(st, "out of memory adding tensor '%s'", name);
		return;
	}
	if (rank)
		memcpy(shp, shape, sizeof *shp * (size_t)rank);
	if (!st_append(st, copy, dtype, shp, rank, numel)) {
		st_fail(st, "out of memory adding tensor '%s'", name);
		return;
	}
	st->tensors[st->n - 1].t.data = data;
}

void rt_st_meta(RtSafetensors *st, const char *key, const char *value)
{
	if (!st || st->failed)
		return;
	if (!key || !value || !utf8_valid(key) || !utf8_valid(value)) {
		st_fail(st, "metadata '%s': the key and value must be valid UTF-8 strings", key ? key : "(null)");
		return;
	}
	char *v = strdup(value);
	if (!v) {
		st_fail(st, "out of memory adding metadata '%s'", key);
		return;
	}
	for (int i = 0; i < st->nmeta; i++)
		if (strcmp(st->meta[i].key, key) == 0) {
			free(st->meta[i].value);
			st->meta[i].value = v;
			return;
		}
	char *k = strdup(key);
	if (!k || !grow((void **)&st->meta, &st->capmeta, st->nmeta, sizeof(Meta))) {
		free(k);
		free(v);
		st_fail(st, "out of memory adding metadata '%s'", key);
		return;
	}
	st->meta[st->nmeta++] = (Meta){k, v};
}

int rt_st_count(const RtSafetensors *st)
{
	return st->n;
}

const RtTensor *rt_st_tensor(const RtSafetensors *st, int i)
{
	RT_CHECK(i >= 0 && i < st->n);
	return &st->tensors[i].t;
}

const RtTensor *rt_st_get(const RtSafetensors *st, const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i].t;
	return NULL;
}

int rt_st_meta_count(const RtSafetensors *st)
{
	return st->nmeta;
}

const char *rt_st_meta_key(const RtSafetensors *st, int i)
{
	RT_CHECK(i >= 0 && i < st->nmeta);
	return st->meta[i].key;
}

const char *rt_st_meta_value(const RtSafetensors *st, int i)
{
	RT_CHECK(i >= 0 && i < st->nmeta);
	return st->meta[i].value;
}

const char *rt_st_meta_get(const RtSafetensors *st, const char *key)
{
	for (int i = 0; i < st->nmeta; i++)
		if (strcmp(st->meta[i].key, key) == 0)
			return st->meta[i].value;
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that occurs twice among names[0..n) (sorted by a copy, so O(n log n) for fuzzed
 * headers with a million keys), or NULL. *oom is set when the copy cannot be made. */
static const char *find_duplicate(const char **names, int n, bool *oom)
{
	*oom = false;
	if (n < 2)
		return NULL;
	const char **sorted = malloc(sizeof *sorted * (size_t)n);
	if (!sorted) {
		*oom = true;
		return NULL;
	}
	memcpy(sorted, names, sizeof *sorted * (size_t)n);
	qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
	const char *dup = NULL;
	for (int i = 1; i < n && !dup; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			dup = sorted[i];
	free(sorted);
	return dup;
}

/* Checks duplicate tensor names, then metadata keys; a message or NULL. */
static char *check_duplicates(const RtSafetensors *st, const char *what)
{
	int most = st->n > st->nmeta ? st->n : st->nmeta;
	const char **names = malloc(sizeof *names * (size_t)(most > 0 ? most : 1));
	if (!names)
		return rt_format("%s: out of memory", what);
	bool oom = false;
	const char *dup = NULL;
	char *msg = NULL;
	for (int i = 0; i < st->n; i++)
		names[i] = st->tensors[i].name;
	if ((dup = find_duplicate(names, st->n, &oom)))
		msg = rt_format("%s: two tensors are named '%s'", what, dup);
	if (!msg && !oom) {
		for (int i = 0; i < st->nmeta; i++)
			names[i] = st->meta[i].key;
		if ((dup = find_duplicate(names, st->nmeta, &oom)))
			msg = rt_format("%s: the metadata key '%s' occurs twice", what, dup);
	}
	if (oom && !msg)
		msg = rt_format("%s: out of memory", what);
	free(names);
	return msg;
}

/* ---- Writing ---- */

/* The header: metadata first, then the tensors in the order they were added, each taking
 * the next nbytes of the data; padded with spaces to a multiple of 8 bytes, as the
 * reference writer does, so the data starts 8-byte aligned. */
static void build_header(const RtSafetensors *st, Str *h)
{
	str_putc(h, '{');
	bool comma = false;
	if (st->nmeta) {
		str_json(h, "__metadata__");
		str_putn(h, ":{", 2);
		for (int i = 0; i < st->nmeta; i++) {
			if (i)
				str_putc(h, ',');
			str_json(h, st->meta[i].key);
			str_putc(h, ':');
			str_json(h, st->meta[i].value);
		}
		str_putc(h, '}');
		comma = true;
	}
	uint64_t offset = 0;
	for (int i = 0; i < st->n; i++) {
		const RtTensor *t = &st->tensors[i].t;
		if (comma)
			str_putc(h, ',');
		comma = true;
		str_json(h, t->name);
		str_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
		for (int d = 0; d < t->rank; d++)
			str_printf(h, "%s%" PRId64, d ? "," : "", t->shape[d]);
		str_printf(h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset, offset + t->nbytes);
		offset += t->nbytes;
	}
	str_putc(h, '}');
	while (h->n % 8)
		str_putc(h, ' ');
}

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
		ssize_t k = write(fd, c, chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return false;
		}
		c += k;
		n -= (size_t)k;
	}
	return true;
}

/* Makes a completed rename durable; best effort (not every file system can sync a folder). */
static void sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? rt_format("%.*s", (int)(slash - path + 1), path) : rt_format(".");
	if (!dir)
		return;
	int fd = open(dir, O_RDONLY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int rt_st_write(const RtSafetensors *st, const char *path, char **err)
{
	*err = NULL;
	if (!st) {
		*err = rt_format("%s: cannot write: out of memory", path);
		return -1;
	}
	if (st->failed) {
		*err = st->error ? rt_format("%s: not written: %s", path, st->error) : NULL;
		return -1;
	}
	if ((*err = check_duplicates(st, path)))
		return -1;
	Str h = {0};
	build_header(st, &h);
	char *tmp = rt_format("%s.tmp.%ld", path, (long)getpid());
	if (h.oom || !tmp) {
		free(h.p);
		free(tmp);
		*err = rt_format("%s: cannot write: out of memory", path);
		return -1;
	}
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));

	/* Each step runs only if all before it worked; the first failure and its errno stay. */
	const char *failed = NULL;
	int e = 0;
#define STEP(ok, what) ((void)(!failed && !(ok) && (failed = (what), e = errno)))
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	STEP(fd >= 0, "cannot create");
	STEP(write_all(fd, len, 8) && write_all(fd, h.p, h.n), "cannot write");
	for (int i = 0; i < st->n; i++)
		STEP(write_all(fd, st->tensors[i].t.data, st->tensors[i].t.nbytes), "cannot write");
	STEP(fsync(fd) == 0, "cannot sync");
	if (fd >= 0) {
		int closed = close(fd);
		STEP(closed == 0, "cannot close");
	}
	STEP(rename(tmp, path) == 0, "cannot rename into place");
#undef STEP
	if (failed) {
		if (fd >= 0)
			unlink(tmp);
		*err = rt_format("%s: %s %s: %s", path, failed, tmp, strerror(e));
	} else {
		sync_parent(path);
	}
	free(h.p);
	free(tmp);
	return failed ? -1 : 0;
}

/* ---- Reading: the JSON header ---- */

typedef struct Parser {
	const unsigned char *p; /* the header */
	size_t n, pos;
	const char *what;       /* the file, for messages */
	char *error;
	bool seen_meta;
	RtSafetensors *st;
	Str s;                  /* scratch for strings */
} Parser;

/* Records the first error, at the current position counted from the file's start. */
static bool perr(Parser *ps, const char *fmt, ...) RT_FMT(2, 3);
static bool perr(Parser *ps, const char *fmt, ...)
{
	if (ps->error)
		return false;
	va_list ap;
	va_start(ap, fmt);
	char *msg = rt_vformat(fmt, ap);
	va_end(ap);
	if (msg)
		ps->error = rt_format("%s: bad safetensors header at byte %zu: %s", ps->what, 8 + ps->pos, msg);
	free(msg);
	return false; /* a NULL error after a failed parse means out of memory */
}

/* What is at the current position, for "expected X, found Y". */
static const char *found(Parser *ps, Str *buf)
{
	buf->n = 0;
	if (ps->pos >= ps->n)
		str_printf(buf, "the end of the header");
	else if (ps->p[ps->pos] >= 0x20 && ps->p[ps->pos] < 0x7F)
		str_printf(buf, "'%c'", ps->p[ps->pos]);
	else
		str_printf(buf, "byte 0x%02x", ps->p[ps->pos]);
	return buf->oom ? "?" : buf->p;
}

static bool expected(Parser *ps, const char *what)
{
	Str b = {0};
	perr(ps, "expected %s, found %s", what, found(ps, &b));
	free(b.p);
	return false;
}

static void skip_ws(Parser *ps)
{
	while (ps->pos < ps->n && (ps->p[ps->pos] == ' ' || ps->p[ps->pos] == '\t' || ps->p[ps->pos] == '\n' ||
	                           ps->p[ps->pos] == '\r'))
		ps->pos++;
}

/* Skips blanks, then consumes c if it is next. */
static bool accept(Parser *ps, char c)
{
	skip_ws(ps);
	if (ps->pos < ps->n && ps->p[ps->pos] == (unsigned char)c) {
		ps->pos++;
		return true;
	}
	return false;
}

static int hex4(const unsigned char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(Str *s, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	str_putn(s, b, n);
}

/* A JSON string, decoded into a new malloc'd C string. \u0000 is refused: names and
 * metadata are C strings. */
static char *parse_string(Parser *ps, const char *what)
{
	if (!accept(ps, '"'))
		return expected(ps, what), NULL;
	Str *s = &ps->s;
	s->n = 0;
	if (s->p)
		s->p[0] = '\0';
	for (;;) {
		if (ps->pos >= ps->n)
			return perr(ps, "unterminated string"), NULL;
		unsigned char c = ps->p[ps->pos];
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c < 0x20)
			return perr(ps, "control character 0x%02x in a string (write it as \\u%04x)", c, c), NULL;
		if (c != '\\') {
			size_t k = utf8_len(ps->p + ps->pos, ps->n - ps->pos);
			if (!k)
				return perr(ps, "invalid UTF-8 in a string"), NULL;
			str_putn(s, (const char *)ps->p + ps->pos, k);
			ps->pos += k;
			continue;
		}
		if (ps->pos + 1 >= ps->n)
			return perr(ps, "unterminated string"), NULL;
		char e = (char)ps->p[ps->pos + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			str_putc(s, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
			ps->pos += 2;
			continue;
		}
		if (e != 'u')
			return perr(ps, "invalid escape sequence in a string"), NULL;
		int cp = ps->pos + 6 <= ps->n ? hex4(ps->p + ps->pos + 2) : -1;
		if (cp < 0)
			return perr(ps, "\\u needs four hexadecimal digits"), NULL;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return perr(ps, "unpaired surrogate \\u%04x in a string", cp), NULL;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			int lo = ps->pos + 12 <= ps->n && ps->p[ps->pos + 6] == '\\' && ps->p[ps->pos + 7] == 'u'
			                 ? hex4(ps->p + ps->pos + 8)
			                 : -1;
			if (lo < 0xDC00 || lo > 0xDFFF)
				return perr(ps, "unpaired surrogate \\u%04x in a string", cp), NULL;
			put_utf8(s, 0x10000 + ((uint32_t)(cp - 0xD800) << 10) + (uint32_t)(lo - 0xDC00));
			ps->pos += 12;
			continue;
		}
		if (cp == 0)
			return perr(ps, "\\u0000 is not allowed in names and metadata"), NULL;
		put_utf8(s, (uint32_t)cp);
		ps->pos += 6;
	}
	char *out = s->oom ? NULL : strdup(s->p ? s->p : "");
	if (!out)
		perr(ps, "out of memory");
	return out;
}

/* A JSON number that must be a non-negative integer below 2^63. */
static bool parse_uint(Parser *ps, uint64_t *v)
{
	skip_ws(ps);
	if (ps->pos < ps->n && ps->p[ps->pos] == '-')
		return perr(ps, "expected a non-negative integer, found a negative number");
	if (ps->pos >= ps->n || ps->p[ps->pos] < '0' || ps->p[ps->pos] > '9')
		return expected(ps, "a non-negative integer");
	uint64_t x = 0;
	size_t start = ps->pos;
	while (ps->pos < ps->n && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
		unsigned d = ps->p[ps->pos] - '0';
		if (x > (uint64_t)(INT64_MAX - d) / 10)
			return perr(ps, "integer too large");
		x = x * 10 + d;
		ps->pos++;
	}
	if (ps->p[start] == '0' && ps->pos - start > 1)
		return ps->pos = start, perr(ps, "leading zeros are not allowed in JSON numbers");
	if (ps->pos < ps->n && (ps->p[ps->pos] == '.' || ps->p[ps->pos] == 'e' || ps->p[ps->pos] == 'E'))
		return perr(ps, "expected an integer, found a fraction or an exponent");
	*v = x;
	return true;
}

/* [n, n, ...] of non-negative integers, into a malloc'd array (at least one slot). */
static bool parse_uint_array(Parser *ps, const char *what, int64_t **out, int *count)
{
	*out = NULL;
	*count = 0;
	if (!accept(ps, '['))
		return expected(ps, what);
	int64_t *v = malloc(sizeof *v);
	int n = 0, cap = 1;
	if (!v)
		return perr(ps, "out of memory");
	if (!accept(ps, ']')) {
		do {
			uint64_t x = 0;
			if (!parse_uint(ps, &x)) {
				free(v);
				return false;
			}
			if (!grow((void **)&v, &cap, n, sizeof *v)) {
				free(v);
				return perr(ps, "out of memory");
			}
			v[n++] = (int64_t)x;
		} while (accept(ps, ','));
		if (!accept(ps, ']')) {
			free(v);
			return expected(ps, "',' or ']' in an array of integers");
		}
	}
	*out = v;
	*count = n;
	return true;
}

/* "F32" and the like, at the current position. */
static bool parse_dtype(Parser *ps, const char *name, RtDType *dtype)
{
	skip_ws(ps);
	size_t at = ps->pos;
	char *d = parse_string(ps, "a dtype string");
	if (!d)
		return false;
	*dtype = RT_DTYPE__N;
	for (int i = 0; i < RT_DTYPE__N; i++)
		if (strcmp(d, dtypes[i].name) == 0)
			*dtype = (RtDType)i;
	if (*dtype == RT_DTYPE__N) {
		ps->pos = at;
		perr(ps, "tensor '%s': unsupported dtype '%s' (maec reads F32, F64, I32, I64 and U8)", name, d);
	}
	free(d);
	return *dtype != RT_DTYPE__N;
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, in any order. Takes name:
 * the new entry owns it, or it is freed. */
static bool parse_tensor(Parser *ps, char *name)
{
	RtDType dtype = RT_DTYPE__N;
	int64_t *shape = NULL, *offsets = NULL;
	int rank = -1, noffsets = -1; /* -1: not seen yet */
	bool ok = false;
	if (!accept(ps, '{')) {
		expected(ps, "'{' opening a tensor entry");
		goto done;
	}
	if (accept(ps, '}')) {
		perr(ps, "tensor '%s' has no dtype, shape or data_offsets", name);
		goto done;
	}
	do {
		skip_ws(ps);
		size_t at = ps->pos;
		char *key = parse_string(ps, "a field name in a tensor entry");
		if (!key)
			goto done;
		bool is_dtype = strcmp(key, "dtype") == 0, is_shape = strcmp(key, "shape") == 0,
		     is_offsets = strcmp(key, "data_offsets") == 0;
		bool fine = false;
		if (!is_dtype && !is_shape && !is_offsets) {
			ps->pos = at;
			perr(ps, "tensor '%s': unknown field '%s' (a tensor has dtype, shape and data_offsets)", name, key);
		} else if ((is_dtype && dtype != RT_DTYPE__N) || (is_shape && rank >= 0) || (is_offsets && noffsets >= 0)) {
			ps->pos = at;
			perr(ps, "tensor '%s': field '%s' occurs twice", name, key);
		} else if (!accept(ps, ':')) {
			expected(ps, "':'");
		} else if (is_dtype) {
			fine = parse_dtype(ps, name, &dtype);
		} else if (is_shape) {
			fine = parse_uint_array(ps, "'[' opening a shape", &shape, &rank);
		} else {
			skip_ws(ps);
			size_t vat = ps->pos;
			fine = parse_uint_array(ps, "'[' opening data_offsets", &offsets, &noffsets);
			if (fine && noffsets != 2) {
				ps->pos = vat;
				fine = perr(ps, "tensor '%s': data_offsets has %d numbers, not 2 (begin and end)", name, noffsets);
			}
		}
		free(key);
		if (!fine)
			goto done;
	} while (accept(ps, ','));
	if (!accept(ps, '}')) {
		expected(ps, "',' or '}' in a tensor entry");
		goto done;
	}
	const char *missing = dtype == RT_DTYPE__N ? "dtype" : rank < 0 ? "shape" : noffsets < 0 ? "data_offsets" : NULL;
	if (missing) {
		ps->pos--; /* at the '}' */
		perr(ps, "tensor '%s' has no %s", name, missing);
		goto done;
	}
	int64_t numel = shape_numel(shape, rank);
	if (numel < 0 || (uint64_t)numel > SIZE_MAX / dtypes[dtype].size) {
		perr(ps, "tensor '%s': the shape has too many elements", name);
		goto done;
	}
	bool appended = st_append(ps->st, name, dtype, shape, rank, numel); /* takes name and shape */
	name = NULL;
	shape = NULL;
	if (!appended) {
		perr(ps, "out of memory");
		goto done;
	}
	Entry *e = &ps->st->tensors[ps->st->n - 1];
	e->begin = (uint64_t)offsets[0];
	e->end = (uint64_t)offsets[1];
	ok = true;
done:
	free(name);
	free(shape);
	free(offsets);
	return ok;
}

/* {"key": "value", ...} */
static bool parse_metadata(Parser *ps)
{
	if (ps->seen_meta)
		return perr(ps, "__metadata__ occurs twice");
	ps->seen_meta = true;
	if (!accept(ps, '{'))
		return expected(ps, "'{' opening __metadata__");
	if (accept(ps, '}'))
		return true;
	RtSafetensors *st = ps->st;
	do {
		char *key = parse_string(ps, "a metadata key string");
		if (!key)
			return false;
		char *value = NULL;
		bool colon = accept(ps, ':');
		skip_ws(ps);
		if (!colon)
			expected(ps, "':'");
		else if (ps->pos < ps->n && ps->p[ps->pos] != '"')
			perr(ps, "the value of metadata '%s' must be a string", key);
		else
			value = parse_string(ps, "a metadata value string");
		if (value && !grow((void **)&st->meta, &st->capmeta, st->nmeta, sizeof(Meta))) {
			free(value);
			value = NULL;
			perr(ps, "out of memory");
		}
		if (!value) {
			free(key);
			return false;
		}
		st->meta[st->nmeta++] = (Meta){key, value};
	} while (accept(ps, ','));
	if (!accept(ps, '}'))
		return expected(ps, "',' or '}' in __metadata__");
	return true;
}

static bool parse_header(Parser *ps)
{
	if (!accept(ps, '{'))
		return expected(ps, "'{' (a safetensors header is a JSON object)");
	if (!accept(ps, '}')) {
		do {
			char *name = parse_string(ps, "a tensor name string");
			if (!name)
				return false;
			if (!accept(ps, ':')) {
				free(name);
				return expected(ps, "':'");
			}
			bool ok;
			if (strcmp(name, "__metadata__") == 0) {
				free(name);
				ok = parse_metadata(ps);
			} else {
				ok = parse_tensor(ps, name); /* takes name */
			}
			if (!ok)
				return false;
		} while (accept(ps, ','));
		if (!accept(ps, '}'))
			return expected(ps, "',' or '}' after a header entry");
	}
	skip_ws(ps);
	if (ps->pos < ps->n)
		return expected(ps, "the end of the header (only blanks may follow the JSON object)");
	return true;
}

/* ---- Reading: sizes and offsets ---- */

static int cmp_entry_offsets(const void *a, const void *b)
{
	const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* Every tensor's offsets match its shape and lie in the data section, which the tensors
 * cover exactly: sorted by offset, each begins where the previous ended. */
static char *check_offsets(RtSafetensors *st, const char *what, const unsigned char *data, uint64_t ndata)
{
	for (int i = 0; i < st->n; i++) {
		Entry *e = &st->tensors[i];
		const char *dt = dtypes[e->t.dtype].name;
		if (e->end < e->begin)
			return rt_format("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
			                 what, e->name, e->begin, e->end);
		if (e->end > ndata)
			return rt_format("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] reach beyond the data "
			                 "section, which has %" PRIu64 " bytes (truncated file?)",
			                 what, e->name, e->begin, e->end, ndata);
		if (e->end - e->begin != e->t.nbytes) {
			Str m = {0};
			str_printf(&m, "%s: tensor '%s': shape ", what, e->name);
			str_shape(&m, e->t.shape, e->t.rank);
			str_printf(&m, " of %s takes %zu bytes, but data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64, dt,
			           e->t.nbytes, e->begin, e->end, e->end - e->begin);
			return str_take(&m);
		}
		e->t.data = data + e->begin;
	}
	Entry **order = malloc(sizeof *order * (size_t)(st->n > 0 ? st->n : 1));
	if (!order)
		return rt_format("%s: out of memory", what);
	for (int i = 0; i < st->n; i++)
		order[i] = &st->tensors[i];
	qsort(order, (size_t)st->n, sizeof *order, cmp_entry_offsets);
	char *msg = NULL;
	uint64_t at = 0;
	for (int i = 0; i < st->n && !msg; i++) {
		const Entry *e = order[i];
		if (e->begin < at)
			msg = rt_format("%s: tensors '%s' and '%s' overlap (data_offsets [%" PRIu64 ", %" PRIu64 "] and [%" PRIu64
			                ", %" PRIu64 "])",
			                what, order[i - 1]->name, e->name, order[i - 1]->begin, order[i - 1]->end, e->begin,
			                e->end);
		else if (e->begin > at)
			msg = rt_format("%s: bytes %" PRIu64 " to %" PRIu64 " of the data section belong to no tensor", what,
			                at, e->begin);
		at = e->end;
	}
	if (!msg && at != ndata)
		msg = rt_format("%s: the data section has %" PRIu64 " bytes, but the tensors end at byte %" PRIu64, what,
		                ndata, at);
	free(order);
	return msg;
}

/* Parses a whole file held in bytes[0..size), taking ownership of bytes. */
static RtSafetensors *st_parse_owned(unsigned char *bytes, size_t size, const char *what, char **err)
{
	*err = NULL;
	RtSafetensors *st = rt_st_create();
	if (!st) {
		free(bytes);
		*err = rt_format("%s: out of memory", what);
		return NULL;
	}
	st->bytes = bytes;
	if (size < 8) {
		*err = rt_format("%s: %zu bytes is too short for a safetensors file (8 bytes of header length, then "
		                 "the header)",
		                 what, size);
		goto fail;
	}
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | bytes[i];
	if (hlen > size - 8) {
		*err = rt_format("%s: the header length in the first 8 bytes is %" PRIu64 ", but only %zu bytes follow: "
		                 "not a safetensors file, or a truncated one",
		                 what, hlen, size - 8);
		goto fail;
	}
	if (hlen > ST_MAX_HEADER) {
		*err = rt_format("%s: the header length %" PRIu64 " exceeds the limit of %u bytes", what, hlen,
		                 ST_MAX_HEADER);
		goto fail;
	}
	Parser ps = {.p = bytes + 8, .n = (size_t)hlen, .what = what, .st = st};
	bool ok = parse_header(&ps);
	free(ps.s.p);
	if (!ok) {
		*err = ps.error;
		goto fail;
	}
	if ((*err = check_duplicates(st, what)))
		goto fail;
	if ((*err = check_offsets(st, what, bytes + 8 + hlen, size - 8 - hlen)))
		goto fail;
	return st;
fail:
	if (!*err)
		*err = rt_format("%s: out of memory", what);
	rt_st_free(st);
	return NULL;
}

RtSafetensors *rt_st_parse(const void *bytes, size_t n, const char *what, char **err)
{
	unsigned char *copy = malloc(n ? n : 1);
	if (!copy) {
		*err = rt_format("%s: out of memory (%zu bytes)", what, n);
		return NULL;
	}
	if (n)
		memcpy(copy, bytes, n);
	return st_parse_owned(copy, n, what, err);
}

RtSafetensors *rt_st_read(const char *path, char **err)
{
	*err = NULL;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		*err = rt_format("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	unsigned char *bytes = NULL;
	size_t size = 0, got = 0;
	if (fstat(fd, &sb) != 0) {
		*err = rt_format("%s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		*err = rt_format("%s: not a regular file", path);
		goto fail;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX - 1) {
		*err = rt_format("%s: too large to read (%jd bytes)", path, (intmax_t)sb.st_size);
		goto fail;
	}
	size = (size_t)sb.st_size;
	if (!(bytes = malloc(size ? size : 1))) {
		*err = rt_format("%s: out of memory reading %zu bytes", path, size);
		goto fail;
	}
	while (got < size) {
		ssize_t k = read(fd, bytes + got, size - got < ((size_t)1 << 30) ? size - got : ((size_t)1 << 30));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*err = rt_format("%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (k == 0) {
			*err = rt_format("%s: the file shrank while being read (%zu of %zu bytes)", path, got, size);
			goto fail;
		}
		got += (size_t)k;
	}
	close(fd);
	return st_parse_owned(bytes, size, path, err);
fail:
	close(fd);
	free(bytes);
	return NULL;
}
