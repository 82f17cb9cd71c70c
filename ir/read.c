/* read.c: parses the IR text form that print.c writes (grammar: docs/ir.md).
 *
 * Requires: src registered with diag_add_file, so that diagnostics show the line; the
 *   text may hold any bytes, NUL included: src->len bounds it, not a terminator.
 * Guarantees: either a module that prints back as the input (normalised), every
 *   instruction having gone through its shape rule and having the type it declares,
 *   or NULL after every error found has been reported through d at its span in the
 *   .ir file. Names resolve; operands are defined on an earlier line of their function.
 *   What a well-formed module may still get wrong (args first, a non-empty ret) is
 *   module_verify's to check.
 *
 * Each item is one line, so after an error the reader goes on with the next line
 * and one run reports many errors. An instruction whose line failed leaves its id
 * "poisoned": later uses of it fail quietly rather than repeat the error.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

enum {
	MAX_NAME = 4096,     /* bytes in a name */
	MAX_LIST_DEPTH = 32, /* nesting of recipe lists */
	MAX_SHOWN = 32,      /* bytes of a token quoted in a message */
};

typedef enum TokKind {
	T_EOL,     /* end of the line */
	T_WORD,    /* [A-Za-z_][A-Za-z0-9_.]* */
	T_INT,     /* -?[0-9]+ */
	T_FLOAT,   /* -?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)? with '.' or 'e'; -?inf; -?nan */
	T_LOCAL,   /* %N, N < INT_MAX */
	T_GLOBAL,  /* $name */
	T_FUNC,    /* @name */
	T_STR,     /* "..." */
	T_PUNCT,   /* one of : = , [ ] ( ) { } */
	T_COMMENT, /* '#' to the end of the line */
	T_BAD,     /* malformed; the lexer has reported it */
} TokKind;

typedef struct Token {
	TokKind kind;
	uint32_t lo, hi; /* byte span in the source */
	char punct;
	int64_t i;     /* T_INT, T_LOCAL */
	double f;      /* T_FLOAT */
	const char *s; /* T_WORD and the words inf, nan; T_GLOBAL, T_FUNC without the sigil; T_STR decoded */
} Token;

/* What an instruction id stands for in the function being read. */
typedef struct Def {
	int id;    /* -1: empty slot */
	Ins *ins;  /* NULL: poisoned, its line failed */
	uint32_t lo, hi;
} Def;

/* An @name in a recipe, checked once every function is known. */
typedef struct FuncRef {
	const char *name;
	uint32_t lo, hi;
} FuncRef;

typedef struct Reader {
	const SrcFile *src;
	Diag *d;
	Module *m;
	Arena *scratch; /* tokens, maps; freed when reading ends */
	int errors;
	uint32_t pos, eol; /* the lexer's place; the end of the current line */
	Token tok;
	uint32_t prev_hi; /* end of the token before tok */
	const char *last_file; /* location file names are shared when repeated */
	const char *last_scope; /* and scopes alike */

	Func *func; /* the function being read, or NULL */
	uint32_t func_lo, func_hi;
	bool ret_seen;
	Def *defs;
	int ndefs, defcap;

	Recipe *recipe; /* the recipe being read, or NULL */
	uint32_t recipe_lo, recipe_hi;
	VEC(FuncRef) func_refs;
} Reader;

static void error_at(Reader *r, uint32_t lo, uint32_t hi, const char *fmt, ...) FMT(4, 5);
static bool syntax_error(Reader *r, const char *fmt, ...) FMT(2, 3);
static void lex_error(Reader *r, uint32_t lo, uint32_t hi, const char *fmt, ...) FMT(4, 5);

static void error_at(Reader *r, uint32_t lo, uint32_t hi, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(r->d, "error", src_loc(r->src, lo, hi), fmt, ap);
	va_end(ap);
	r->errors++;
}

/* Reports at the current token, unless the lexer already has; returns false. */
static bool syntax_error(Reader *r, const char *fmt, ...)
{
	if (r->tok.kind == T_BAD)
		return false;
	va_list ap;
	va_start(ap, fmt);
	diag_verror(r->d, "error", src_loc(r->src, r->tok.lo, r->tok.hi), fmt, ap);
	va_end(ap);
	r->errors++;
	return false;
}

/* Lexer. */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '.';
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The byte at i, or -1 past the end of the line. */
static int peek(const Reader *r, uint32_t i)
{
	return i < r->eol ? (unsigned char)r->src->text[i] : -1;
}

/* The source text of [lo, hi) as a quoted, printable, shortened string. */
static const char *quote_span(Reader *r, uint32_t lo, uint32_t hi)
{
	Buf b = {0};
	buf_putc(&b, '\'');
	for (uint32_t i = lo; i < hi; i++) {
		if (i - lo == MAX_SHOWN) {
			buf_puts(&b, "...");
			break;
		}
		unsigned char c = (unsigned char)r->src->text[i];
		if (c < ' ' || c >= 127)
			buf_printf(&b, "\\x%02x", c);
		else
			buf_putc(&b, (char)c);
	}
	buf_putc(&b, '\'');
	char *s = arena_strdup(r->scratch, b.p);
	buf_free(&b);
	return s;
}

static const char *tok_desc(Reader *r)
{
	if (r->tok.kind == T_EOL)
		return "end of line";
	return quote_span(r, r->tok.lo, r->tok.hi);
}

/* Reports a malformed token, which becomes T_BAD, ending the token at hi. */
static void lex_error(Reader *r, uint32_t lo, uint32_t hi, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(r->d, "error", src_loc(r->src, lo, hi), fmt, ap);
	va_end(ap);
	r->errors++;
	r->tok.kind = T_BAD;
	r->tok.hi = r->pos = hi;
}

static size_t count_digits(const char *s)
{
	size_t n = 0;
	while (is_digit(s[n]))
		n++;
	return n;
}

typedef enum NumError { NUM_OK, NUM_BAD, NUM_INT_RANGE, NUM_FLOAT_RANGE } NumError;

/* Parses s, the NUL-terminated text of one number token, into t. */
static NumError number_value(const char *s, Token *t)
{
	bool neg = *s == '-';
	const char *p = s + neg, *q = p;
	if (strcmp(p, "inf") == 0 || strcmp(p, "nan") == 0) {
		t->kind = T_FLOAT;
		t->f = strtod(s, NULL);
		return NUM_OK;
	}
	bool is_float = false;
	size_t n = count_digits(q);
	if (!n)
		return NUM_BAD;
	q += n;
	if (*q == '.') {
		if (!(n = count_digits(++q)))
			return NUM_BAD;
		q += n;
		is_float = true;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		q += *q == '+' || *q == '-';
		if (!(n = count_digits(q)))
			return NUM_BAD;
		q += n;
		is_float = true;
	}
	if (*q)
		return NUM_BAD;
	if (is_float) {
		errno = 0;
		t->kind = T_FLOAT;
		t->f = strtod(s, NULL);
		return errno == ERANGE && isinf(t->f) ? NUM_FLOAT_RANGE : NUM_OK;
	}
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (q = p; *q; q++) {
		uint64_t digit = (uint64_t)(*q - '0');
		if (v > (limit - digit) / 10)
			return NUM_INT_RANGE;
		v = v * 10 + digit;
	}
	t->kind = T_INT;
	t->i = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return NUM_OK;
}

/* A number is a run of name characters, with a sign after an exponent's 'e'. */
static void lex_number(Reader *r)
{
	uint32_t p = r->pos + (peek(r, r->pos) == '-');
	for (;;) {
		int c = peek(r, p);
		if (is_name_char(c) || ((c == '+' || c == '-') && (peek(r, p - 1) | 32) == 'e'))
			p++;
		else
			break;
	}
	Token *t = &r->tok;
	t->hi = r->pos = p;
	const char *s = arena_strndup(r->scratch, r->src->text + t->lo, t->hi - t->lo);
	const char *text = quote_span(r, t->lo, t->hi);
	switch (number_value(s, t)) {
	case NUM_OK: break;
	case NUM_BAD: lex_error(r, t->lo, t->hi, "bad number %s", text); break;
	case NUM_INT_RANGE: lex_error(r, t->lo, t->hi, "integer %s does not fit in 64 bits", text); break;
	case NUM_FLOAT_RANGE: lex_error(r, t->lo, t->hi, "number %s is too large for a double", text); break;
	}
}

/* [A-Za-z0-9_.]* from pos; false (reported) when longer than MAX_NAME. */
static bool lex_name(Reader *r, uint32_t from)
{
	uint32_t p = from;
	while (is_name_char(peek(r, p)))
		p++;
	Token *t = &r->tok;
	t->hi = r->pos = p;
	if (p - from > MAX_NAME) {
		lex_error(r, t->lo, t->hi, "name is longer than %d bytes", MAX_NAME);
		return false;
	}
	t->s = arena_strndup(r->scratch, r->src->text + from, p - from);
	return true;
}

static void lex_word(Reader *r)
{
	r->tok.kind = T_WORD;
	if (!lex_name(r, r->pos))
		return;
	if (strcmp(r->tok.s, "inf") == 0 || strcmp(r->tok.s, "nan") == 0) {
		r->tok.kind = T_FLOAT;
		r->tok.f = strtod(r->tok.s, NULL);
	}
}

static void lex_sigil(Reader *r, TokKind kind)
{
	r->tok.kind = kind;
	if (lex_name(r, r->pos + 1) && !r->tok.s[0])
		lex_error(r, r->tok.lo, r->tok.hi, "expected a name after '%c'", kind == T_GLOBAL ? '$' : '@');
}

static void lex_local(Reader *r)
{
	Token *t = &r->tok;
	uint32_t p = r->pos + 1;
	int64_t v = 0;
	for (; is_digit(peek(r, p)); p++)
		if (v <= INT_MAX) /* stays in range: reported below */
			v = v * 10 + (peek(r, p) - '0');
	uint32_t digits_end = p;
	while (is_name_char(peek(r, p)))
		p++;
	t->kind = T_LOCAL;
	t->hi = r->pos = p;
	t->i = v;
	if (digits_end == t->lo + 1 || digits_end != p)
		lex_error(r, t->lo, p, "expected an instruction number such as %%3, found %s", quote_span(r, t->lo, p));
	else if (v >= IR_MAX_ID) /* passes keep per-instruction tables of next_id entries */
		lex_error(r, t->lo, p, "instruction number %s is too large (the limit is %d)", quote_span(r, t->lo, p),
		          IR_MAX_ID - 1);
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if ((c | 32) >= 'a' && (c | 32) <= 'f')
		return (c | 32) - 'a' + 10;
	return -1;
}

/* A string holds printable bytes and the escapes \" \\ \xHH (not \x00). */
static void lex_string(Reader *r)
{
	Token *t = &r->tok;
	char *s = arena_alloc(r->scratch, r->eol - r->pos + 1);
	size_t n = 0;
	uint32_t p = r->pos + 1;
	t->kind = T_STR;
	for (;;) {
		int c = peek(r, p);
		if (c < 0) {
			lex_error(r, t->lo, p, "unterminated string: missing '\"' before the end of the line");
			return;
		}
		if (c == '"')
			break;
		if (c < ' ' || c == 127) {
			lex_error(r, p, p + 1, "control character %s in a string: write it as \\xHH", quote_span(r, p, p + 1));
			return;
		}
		if (c != '\\') {
			s[n++] = (char)c;
			p++;
			continue;
		}
		int e = peek(r, p + 1);
		if (e == '"' || e == '\\') {
			s[n++] = (char)e;
			p += 2;
			continue;
		}
		if (e == 'x') {
			int h1 = hex_value(peek(r, p + 2)), h0 = h1 >= 0 ? hex_value(peek(r, p + 3)) : -1;
			if (h1 >= 0 && h0 >= 0 && h1 + h0 > 0) {
				s[n++] = (char)(h1 * 16 + h0);
				p += 4;
				continue;
			}
			if (h1 == 0 && h0 == 0) {
				lex_error(r, p, p + 4, "a string cannot hold a NUL byte");
				return;
			}
		}
		uint32_t end = p + 1 + (e >= 0);
		lex_error(r, p, end, "bad escape %s in a string: use \\\", \\\\ or \\xHH", quote_span(r, p, end));
		return;
	}
	s[n] = 0;
	t->s = s;
	t->hi = r->pos = p + 1;
}

/* Moves to the next token of the current line. */
static void next(Reader *r)
{
	r->prev_hi = r->tok.hi;
	while (r->pos < r->eol && is_blank(peek(r, r->pos)))
		r->pos++;
	Token *t = &r->tok;
	memset(t, 0, sizeof *t);
	t->lo = t->hi = r->pos;
	int c = peek(r, r->pos), c1 = peek(r, r->pos + 1);
	if (c < 0) {
		t->kind = T_EOL;
	} else if (c == '#') {
		t->kind = T_COMMENT;
		t->hi = r->pos = r->eol;
	} else if (c == '"') {
		lex_string(r);
	} else if (c == '%') {
		lex_local(r);
	} else if (c == '$') {
		lex_sigil(r, T_GLOBAL);
	} else if (c == '@') {
		lex_sigil(r, T_FUNC);
	} else if (is_digit(c) || (c == '-' && (is_digit(c1) || is_alpha(c1)))) {
		lex_number(r);
	} else if (is_alpha(c)) {
		lex_word(r);
	} else if (c && strchr(":=,[](){}", c)) {
		t->kind = T_PUNCT;
		t->punct = (char)c;
		t->hi = ++r->pos;
	} else {
		lex_error(r, t->lo, t->lo + 1, "unexpected character %s", quote_span(r, t->lo, t->lo + 1));
	}
}

/* Parser helpers. */

static bool is_punct(const Reader *r, char c)
{
	return r->tok.kind == T_PUNCT && r->tok.punct == c;
}

static bool is_word(const Reader *r, const char *w)
{
	return r->tok.kind == T_WORD && strcmp(r->tok.s, w) == 0;
}

/* A word where no number can stand: the words 'inf' and 'nan' lex as numbers, but
 * they are names too (a DSL result may be called `nan`). lex_word keeps their text. */
static bool is_name(const Reader *r)
{
	return r->tok.kind == T_WORD || (r->tok.kind == T_FLOAT && r->tok.s);
}

static bool expect_punct(Reader *r, char c, const char *where)
{
	if (!is_punct(r, c))
		return syntax_error(r, "expected '%c' %s, found %s", c, where, tok_desc(r));
	next(r);
	return true;
}

/* The closest candidate to a misspelt name, as a message suffix. */
typedef struct Suggest {
	const char *name;
	const char *best;
	int dist;
} Suggest;

static void suggest_try(Suggest *sg, const char *candidate)
{
	int limit = strlen(sg->name) > 3 ? 2 : 1;
	int dist = edit_distance(sg->name, candidate, limit);
	if (dist <= limit && (!sg->best || dist < sg->dist)) {
		sg->best = candidate;
		sg->dist = dist;
	}
}

static const char *suggest_text(Reader *r, const Suggest *sg, const char *sigil)
{
	return sg->best ? arena_printf(r->scratch, "; did you mean '%s%s'?", sigil, sg->best) : "";
}

/* "# file:line:col", then " in SCOPE" when it names a block instance (a path of names and
 * numbers joined by dots): the file is everything before the last two ":N" fields. */
static bool read_location(Reader *r, Loc *loc)
{
	const char *text = r->src->text;
	uint32_t lo = r->tok.lo + 1, hi = r->tok.hi;
	while (hi > lo && is_blank(text[hi - 1]))
		hi--;
	uint32_t scope = hi; /* the first byte of the scope: hi for none */
	while (scope > lo && (is_alpha(text[scope - 1]) || is_digit((unsigned char)text[scope - 1]) || text[scope - 1] == '.'))
		scope--;
	const char *scope_text = NULL;
	if (scope < hi && scope >= lo + 4 && memcmp(text + scope - 4, " in ", 4) == 0 && text[scope] != '.' &&
	    text[hi - 1] != '.') {
		if (!r->last_scope || strlen(r->last_scope) != hi - scope || memcmp(r->last_scope, text + scope, hi - scope) != 0)
			r->last_scope = arena_strndup(r->m->arena, text + scope, hi - scope);
		scope_text = r->last_scope;
		hi = scope - 4;
	}
	uint32_t colon[2] = {0, 0};
	int ncolons = 0;
	for (uint32_t i = hi; i > lo && ncolons < 2; i--)
		if (text[i - 1] == ':')
			colon[ncolons++] = i - 1;
	long field[2] = {0, 0}; /* line, col */
	bool ok = lo < hi && text[lo] == ' ' && ncolons == 2;
	for (int k = 0; ok && k < 2; k++) {
		uint32_t from = colon[1 - k] + 1, to = k == 0 ? colon[0] : hi;
		ok = from < to && to - from <= 9;
		for (uint32_t i = from; ok && i < to; i++) {
			ok = is_digit((unsigned char)text[i]);
			field[k] = field[k] * 10 + (text[i] - '0');
		}
	}
	for (uint32_t i = lo + 1; ok && i < colon[1]; i++)
		ok = (unsigned char)text[i] >= ' ' && text[i] != 127;
	if (!ok)
		return syntax_error(r, "expected a location '# file:line:col', found %s", tok_desc(r));
	uint32_t flo = lo + 1, fn = colon[1] - flo;
	if (!r->last_file || strlen(r->last_file) != fn || memcmp(r->last_file, text + flo, fn) != 0)
		r->last_file = arena_strndup(r->m->arena, text + flo, fn);
	*loc = (Loc){.file = r->last_file, .line = (int)field[0], .col = (int)field[1], .len = 1, .scope = scope_text};
	return true;
}

/* The end of an item: an optional location comment, then the end of the line. */
static bool end_of_item(Reader *r, const char *item, Loc *loc)
{
	*loc = (Loc){0};
	if (r->tok.kind == T_COMMENT) {
		if (!read_location(r, loc))
			return false;
		next(r);
	}
	if (r->tok.kind != T_EOL)
		return syntax_error(r, "unexpected %s after %s", tok_desc(r), item);
	return true;
}

static bool end_of_line(Reader *r, const char *item)
{
	if (r->tok.kind != T_EOL)
		return syntax_error(r, "unexpected %s after %s", tok_desc(r), item);
	return true;
}

/* Types, dimensions and numbers. */

static bool read_dim(Reader *r, int64_t *dim)
{
	if (is_word(r, "B")) {
		*dim = DIM_B;
	} else if (r->tok.kind == T_INT) {
		if (r->tok.i < 1 || r->tok.i > IR_MAX_DIM)
			return syntax_error(r, "dimension %lld is out of range: a dimension is between 1 and 2^40, or B",
			                    (long long)r->tok.i);
		*dim = r->tok.i;
	} else {
		return syntax_error(r, "expected a dimension (a positive integer or B), found %s", tok_desc(r));
	}
	next(r);
	return true;
}

static bool read_dtype(Reader *r, DType *dt)
{
	if (r->tok.kind != T_WORD)
		return syntax_error(r, "expected an element type (f32, f64, i32 or i64), found %s", tok_desc(r));
	if (!dtype_parse(r->tok.s, dt)) {
		Suggest sg = {.name = r->tok.s};
		for (int i = 0; i < DT__N; i++)
			suggest_try(&sg, dtype_name((DType)i));
		return syntax_error(r, "unknown element type '%s'%s", r->tok.s, suggest_text(r, &sg, ""));
	}
	next(r);
	return true;
}

/* dtype '[' [dim {',' dim}] ']' */
static bool read_type(Reader *r, Type *t)
{
	*t = (Type){0};
	if (r->tok.kind != T_WORD)
		return syntax_error(r, "expected a type such as f32[B,3], found %s", tok_desc(r));
	if (!read_dtype(r, &t->dt) || !expect_punct(r, '[', "after the element type"))
		return false;
	while (!is_punct(r, ']')) {
		if (t->rank > 0 && !expect_punct(r, ',', "between dimensions"))
			return false;
		if (t->rank == IR_MAX_RANK)
			return syntax_error(r, "a type has at most %d dimensions", IR_MAX_RANK);
		if (!read_dim(r, &t->dim[t->rank]))
			return false;
		t->rank++;
	}
	next(r);
	return true;
}

/* A type a value can have: no more than 2^40 elements per image (B = 1). */
static bool check_size(Reader *r, const Type *t, uint32_t lo, uint32_t hi)
{
	int64_t numel = type_numel(t, 1);
	if (numel >= 0 && numel <= IR_MAX_DIM)
		return true;
	error_at(r, lo, hi, "type has more than 2^40 elements per image");
	return false;
}

static bool read_float(Reader *r, double *x)
{
	if (r->tok.kind == T_FLOAT)
		*x = r->tok.f;
	else if (r->tok.kind == T_INT)
		*x = (double)r->tok.i;
	else
		return syntax_error(r, "expected a number, found %s", tok_desc(r));
	next(r);
	return true;
}

/* '[' [item {',' item}] ']' with items integers, or dimensions when is_shape. */
static bool read_int_list(Reader *r, bool is_shape, int64_t **v, int *nv)
{
	VEC(int64_t) items = {0};
	if (!expect_punct(r, '[', is_shape ? "to begin a shape" : "to begin a list of integers"))
		return false;
	while (!is_punct(r, ']')) {
		if (items.n > 0 && !expect_punct(r, ',', "between list items"))
			return false;
		int64_t x;
		if (is_shape) {
			if (!read_dim(r, &x))
				return false;
		} else {
			if (r->tok.kind != T_INT)
				return syntax_error(r, "expected an integer, found %s", tok_desc(r));
			x = r->tok.i;
			next(r);
		}
		vec_push(r->scratch, items, x);
	}
	next(r);
	*nv = items.n;
	*v = arena_alloc(r->m->arena, sizeof **v * (size_t)(items.n ? items.n : 1));
	if (items.n)
		memcpy(*v, items.p, sizeof **v * (size_t)items.n);
	return true;
}

/* Instructions. */

static Def *def_slot(Def *defs, int cap, int id)
{
	uint32_t i = ((uint32_t)id * 2654435761u) & (uint32_t)(cap - 1);
	while (defs[i].id != -1 && defs[i].id != id)
		i = (i + 1) & (uint32_t)(cap - 1);
	return &defs[i];
}

static Def *def_find(const Reader *r, int id)
{
	if (!r->defcap)
		return NULL;
	Def *d = def_slot(r->defs, r->defcap, id);
	return d->id == id ? d : NULL;
}

static void def_add(Reader *r, int id, Ins *ins, uint32_t lo, uint32_t hi)
{
	if (2 * (r->ndefs + 1) > r->defcap) {
		int cap = r->defcap ? 2 * r->defcap : 64;
		Def *defs = arena_alloc(r->scratch, sizeof *defs * (size_t)cap);
		for (int i = 0; i < cap; i++)
			defs[i].id = -1;
		for (int i = 0; i < r->defcap; i++)
			if (r->defs[i].id != -1)
				*def_slot(defs, cap, r->defs[i].id) = r->defs[i];
		r->defs = defs;
		r->defcap = cap;
	}
	*def_slot(r->defs, r->defcap, id) = (Def){id, ins, lo, hi};
	r->ndefs++;
}

/* %N naming an earlier instruction; a poisoned one fails without a message. */
static bool read_operand(Reader *r, Ins **ins)
{
	if (r->tok.kind != T_LOCAL)
		return syntax_error(r, "expected an operand such as %%3, found %s", tok_desc(r));
	const Def *d = def_find(r, (int)r->tok.i);
	if (!d)
		return syntax_error(r, "%%%d is not defined before this use in @%s", (int)r->tok.i, r->func->name);
	if (!d->ins)
		return false;
	*ins = d->ins;
	next(r);
	return true;
}

static const char *attr_kind_desc(AttrKind k)
{
	switch (k) {
	case ATTR_INT: return "an integer";
	case ATTR_INTS: return "a list of integers such as [0,1]";
	case ATTR_SHAPE: return "a shape such as [B,3]";
	case ATTR_FLOAT: return "a number";
	case ATTR_STR: return "a string";
	case ATTR_GLOBAL: return "a parameter such as $w";
	case ATTR_DTYPE: return "an element type";
	}
	BUG("attribute kind %d", (int)k);
}

/* Whether the current token can begin a value of the kind. */
static bool token_fits(const Reader *r, AttrKind kind)
{
	switch (kind) {
	case ATTR_INT: return r->tok.kind == T_INT;
	case ATTR_INTS:
	case ATTR_SHAPE: return is_punct(r, '[');
	case ATTR_FLOAT: return r->tok.kind == T_FLOAT || r->tok.kind == T_INT;
	case ATTR_STR: return r->tok.kind == T_STR;
	case ATTR_GLOBAL: return r->tok.kind == T_GLOBAL;
	case ATTR_DTYPE: return r->tok.kind == T_WORD;
	}
	return false;
}

static bool read_param_ref(Reader *r, Param **p)
{
	*p = module_find_param(r->m, r->tok.s);
	if (*p)
		return true;
	Suggest sg = {.name = r->tok.s};
	for (int i = 0; i < r->m->params.n; i++)
		suggest_try(&sg, r->m->params.p[i]->name);
	return syntax_error(r, "unknown parameter '$%s'%s", r->tok.s, suggest_text(r, &sg, "$"));
}

static bool read_attr_value(Reader *r, Op op, int k, Attr *at)
{
	const OpInfo *oi = op_info(op);
	AttrKind kind = oi->attr_kind[k];
	if (!token_fits(r, kind))
		return syntax_error(r, "attribute '%s' of '%s' takes %s, found %s", oi->attr_name[k], oi->name,
		                    attr_kind_desc(kind), tok_desc(r));
	switch (kind) {
	case ATTR_INTS:
	case ATTR_SHAPE: return read_int_list(r, kind == ATTR_SHAPE, &at->v, &at->nv);
	case ATTR_FLOAT: return read_float(r, &at->f);
	case ATTR_DTYPE: {
		DType dt;
		if (!read_dtype(r, &dt))
			return false;
		at->i = dt;
		return true;
	}
	case ATTR_INT: at->i = r->tok.i; break;
	case ATTR_STR: at->s = arena_strdup(r->m->arena, r->tok.s); break;
	case ATTR_GLOBAL:
		if (!read_param_ref(r, &at->g))
			return false;
		break;
	}
	next(r);
	return true;
}

/* {name '=' value}, each attribute of the op exactly once, in any order, and the
 * kernel=N that any instruction may carry (the fuse pass's groups). */
static bool read_attrs(Reader *r, Op op, Attr *attr, int *kernel, uint32_t op_lo, uint32_t op_hi)
{
	const OpInfo *oi = op_info(op);
	bool seen[IR_MAX_ATTRS] = {0};
	while (r->tok.kind == T_WORD) {
		if (strcmp(r->tok.s, "kernel") == 0 && op_attr_index(op, "kernel") < 0) {
			if (*kernel)
				return syntax_error(r, "attribute 'kernel' is given twice");
			next(r);
			if (!expect_punct(r, '=', "after 'kernel'"))
				return false;
			if (r->tok.kind != T_INT || r->tok.i < 1 || r->tok.i >= IR_MAX_ID)
				return syntax_error(r, "kernel takes a number from 1 to %d, found %s", IR_MAX_ID - 1, tok_desc(r));
			*kernel = (int)r->tok.i;
			next(r);
			continue;
		}
		int k = op_attr_index(op, r->tok.s);
		if (k < 0) {
			Suggest sg = {.name = r->tok.s};
			for (int i = 0; i < oi->nattrs; i++)
				suggest_try(&sg, oi->attr_name[i]);
			return syntax_error(r, "'%s' has no attribute '%s'%s", oi->name, r->tok.s,
			                    oi->nattrs ? suggest_text(r, &sg, "") : "; it takes none");
		}
		if (seen[k])
			return syntax_error(r, "attribute '%s' is given twice", oi->attr_name[k]);
		seen[k] = true;
		next(r);
		if (!expect_punct(r, '=', arena_printf(r->scratch, "after '%s'", oi->attr_name[k])) ||
		    !read_attr_value(r, op, k, &attr[k]))
			return false;
	}
	if (r->tok.kind == T_BAD)
		return false;
	for (int k = 0; k < oi->nattrs; k++)
		if (!seen[k]) {
			error_at(r, op_lo, op_hi, "'%s' needs attribute '%s' (%s)", oi->name, oi->attr_name[k],
			         attr_kind_desc(oi->attr_kind[k]));
			return false;
		}
	return true;
}

static bool read_op(Reader *r, Op *op)
{
	if (r->tok.kind != T_WORD)
		return syntax_error(r, "expected an op name, found %s", tok_desc(r));
	if (!op_lookup(r->tok.s, op)) {
		Suggest sg = {.name = r->tok.s};
		for (int i = 0; i < OP__N; i++)
			suggest_try(&sg, op_info((Op)i)->name);
		return syntax_error(r, "unknown op '%s'%s", r->tok.s, suggest_text(r, &sg, ""));
	}
	next(r);
	return true;
}

/* Runs the shape rule and checks the type the line declares, at [lo, hi). For
 * 'arg', the declared type is the type. */
static bool check_ins_type(Reader *r, Ins *ins, const Type *declared, uint32_t lo, uint32_t hi, uint32_t op_lo,
                           uint32_t op_hi)
{
	if (ins->op == OP_arg) {
		if (!check_size(r, declared, lo, hi))
			return false;
		ins->type = *declared;
	}
	const char *msg = ins_infer(ins, r->m->arena);
	if (msg) {
		error_at(r, op_lo, op_hi, "%s", msg);
		return false;
	}
	if (type_eq(&ins->type, declared))
		return true;
	Buf want = {0}, got = {0};
	type_print(&want, declared);
	type_print(&got, &ins->type);
	error_at(r, lo, hi, "instruction %%%d declares %s but its operands give %s", ins->id, want.p, got.p);
	buf_free(&want);
	buf_free(&got);
	return false;
}

/* The rest of an instruction line, from its type; the id is already read. */
static Ins *read_ins_body(Reader *r, int id)
{
	if (!expect_punct(r, ':', arena_printf(r->scratch, "after %%%d", id)))
		return NULL;
	Type declared;
	uint32_t type_lo = r->tok.lo;
	if (!read_type(r, &declared))
		return NULL;
	uint32_t type_hi = r->prev_hi;
	if (!expect_punct(r, '=', "after the type"))
		return NULL;
	Op op;
	uint32_t op_lo = r->tok.lo, op_hi = r->tok.hi;
	if (!read_op(r, &op))
		return NULL;

	VEC(Ins *) args = {0};
	while (r->tok.kind == T_LOCAL || (args.n > 0 && is_punct(r, ','))) {
		if (args.n > 0 && !expect_punct(r, ',', "between operands"))
			return NULL;
		Ins *arg;
		if (!read_operand(r, &arg))
			return NULL;
		vec_push(r->scratch, args, arg);
	}
	Attr attr[IR_MAX_ATTRS] = {0};
	Loc loc;
	int kernel = 0;
	if (!read_attrs(r, op, attr, &kernel, op_lo, op_hi) || !end_of_item(r, "the instruction", &loc))
		return NULL;

	Ins *ins = ins_new(r->m, r->func, op, args.p, args.n, loc);
	ins->id = id;
	ins->kernel = kernel;
	memcpy(ins->attr, attr, sizeof attr);
	return check_ins_type(r, ins, &declared, type_lo, type_hi, op_lo, op_hi) ? ins : NULL;
}

/* '%N' ':' type '=' op [operands] {attr} [location] */
static void read_ins(Reader *r)
{
	Func *f = r->func;
	int id = (int)r->tok.i;
	uint32_t lo = r->tok.lo, hi = r->tok.hi;
	if (r->ret_seen) {
		syntax_error(r, "instruction after 'ret' in @%s", f->name);
		return;
	}
	const Def *prev = def_find(r, id);
	if (prev) {
		syntax_error(r, "%%%d is already defined in @%s", id, f->name);
		diag_note(r->d, src_loc(r->src, prev->lo, prev->hi), "%%%d was defined here", id);
		return;
	}
	next(r);
	int next_id = f->next_id; /* ins_new takes one; the text gives the id */
	f->next_id = id;          /* so ins_new takes that: id + 1 fits, next_id + 1 may not */
	Ins *ins = read_ins_body(r, id);
	f->next_id = next_id;
	def_add(r, id, ins, lo, hi);
	if (!ins)
		return;
	func_append(r->m, f, ins);
	if (id >= f->next_id)
		f->next_id = id + 1;
}

/* 'ret' [[name '='] %N {',' [name '='] %N}] */
static void read_ret(Reader *r)
{
	Func *f = r->func;
	if (r->ret_seen) {
		syntax_error(r, "second 'ret' in @%s", f->name);
		return;
	}
	r->ret_seen = true;
	next(r);
	while (r->tok.kind != T_EOL && r->tok.kind != T_COMMENT) {
		if (f->rets.n > 0 && !expect_punct(r, ',', "between returned values"))
			return;
		const char *name = NULL;
		if (is_name(r)) {
			name = arena_strdup(r->m->arena, r->tok.s);
			next(r);
			if (!expect_punct(r, '=', "after the result name"))
				return;
		}
		Ins *ins;
		if (!read_operand(r, &ins))
			return;
		vec_push(r->m->arena, f->rets, ins);
		vec_push(r->m->arena, f->ret_names, name);
	}
	end_of_line(r, "'ret', which has no location");
}

/* Blocks. */

/* The @name of a block header; NULL (reported) when missing. */
static const char *read_block_name(Reader *r, const char *what, const char *example, uint32_t *lo, uint32_t *hi)
{
	next(r);
	*lo = r->tok.lo;
	*hi = r->tok.hi;
	if (r->tok.kind == T_FUNC)
		return r->tok.s;
	syntax_error(r, "expected a %s name such as @%s, found %s", what, example, tok_desc(r));
	return NULL;
}

/* The rest of a block header: '{' [location]. */
static void read_block_open(Reader *r, const char *what, Loc *loc)
{
	next(r);
	if (expect_punct(r, '{', arena_printf(r->scratch, "after the %s name", what)))
		end_of_item(r, "'{'", loc);
}

/* 'func' @name '{' [location]. From here on, lines are the function's, even when
 * this one is wrong. */
static void read_func_header(Reader *r)
{
	const char *name = read_block_name(r, "function", "forward", &r->func_lo, &r->func_hi);
	bool dup = name && module_find_func(r->m, name);
	if (dup)
		syntax_error(r, "function @%s is already defined", name);
	r->func = module_add_func(r->m, name ? name : "?", (Loc){0});
	r->ret_seen = false;
	r->defs = NULL;
	r->ndefs = r->defcap = 0;
	if (name && !dup)
		read_block_open(r, "function", &r->func->loc);
}

/* 'recipe' @name '{' [location] */
static void read_recipe_header(Reader *r)
{
	const char *name = read_block_name(r, "recipe", "pretrain", &r->recipe_lo, &r->recipe_hi);
	bool dup = name && module_find_recipe(r->m, name);
	if (dup)
		syntax_error(r, "recipe @%s is already defined", name);
	r->recipe = module_add_recipe(r->m, name ? name : "?", (Loc){0});
	if (name && !dup)
		read_block_open(r, "recipe", &r->recipe->loc);
}

static bool read_rval(Reader *r, RVal *v, int depth);

/* '[' [value {',' value}] ']' */
static bool read_rval_list(Reader *r, RVal *v, int depth)
{
	if (depth >= MAX_LIST_DEPTH)
		return syntax_error(r, "lists nest more than %d deep", MAX_LIST_DEPTH);
	next(r);
	VEC(RVal) items = {0};
	while (!is_punct(r, ']')) {
		if (items.n > 0 && !expect_punct(r, ',', "between list items"))
			return false;
		RVal item = {0};
		if (!read_rval(r, &item, depth + 1))
			return false;
		vec_push(r->scratch, items, item);
	}
	next(r);
	v->kind = RV_LIST;
	v->nitems = items.n;
	v->items = arena_alloc(r->m->arena, sizeof *v->items * (size_t)(items.n ? items.n : 1));
	if (items.n)
		memcpy(v->items, items.p, sizeof *v->items * (size_t)items.n);
	return true;
}

/* integer | float | string | name | @function | list */
static bool read_rval(Reader *r, RVal *v, int depth)
{
	const Token *t = &r->tok;
	switch (t->kind) {
	case T_INT: *v = (RVal){.kind = RV_INT, .i = t->i}; break;
	case T_FLOAT: *v = (RVal){.kind = RV_FLOAT, .f = t->f}; break;
	case T_STR: *v = (RVal){.kind = RV_STR, .s = arena_strdup(r->m->arena, t->s)}; break;
	case T_WORD: *v = (RVal){.kind = RV_IDENT, .s = arena_strdup(r->m->arena, t->s)}; break;
	case T_FUNC:
		*v = (RVal){.kind = RV_FUNC, .s = arena_strdup(r->m->arena, t->s)};
		vec_push(r->scratch, r->func_refs, ((FuncRef){v->s, t->lo, t->hi}));
		break;
	default:
		if (is_punct(r, '['))
			return read_rval_list(r, v, depth);
		return syntax_error(r, "expected a value (a number, string, name, @function or list), found %s",
		                    tok_desc(r));
	}
	next(r);
	return true;
}

/* name '=' value [location], in a recipe or (consts != NULL) after 'const' */
static void read_setting_into(Reader *r, bool is_const)
{
	RSetting s = {0};
	if (r->tok.kind != T_WORD) {
		syntax_error(r, is_const ? "expected a constant's name after 'const', found %s"
		                         : "expected a setting 'name = value' or '}', found %s", tok_desc(r));
		return;
	}
	s.key = arena_strdup(r->m->arena, r->tok.s);
	bool twice = false;
	if (is_const) {
		for (int i = 0; i < r->m->consts.n && !twice; i++)
			twice = strcmp(r->m->consts.p[i].key, s.key) == 0;
	} else {
		twice = recipe_get(r->recipe, s.key) != NULL;
	}
	if (twice) {
		if (is_const)
			syntax_error(r, "constant '%s' is defined twice", s.key);
		else
			syntax_error(r, "setting '%s' is given twice in @%s", s.key, r->recipe->name);
		return;
	}
	next(r);
	if (!expect_punct(r, '=', is_const ? "after the constant's name" : "after the setting name") ||
	    !read_rval(r, &s.val, 0) || !end_of_item(r, is_const ? "the constant" : "the setting", &s.loc))
		return;
	if (is_const && s.val.kind != RV_INT && s.val.kind != RV_FLOAT) {
		syntax_error(r, "constant '%s' must be a number", s.key);
		return;
	}
	if (is_const)
		vec_push(r->m->arena, r->m->consts, s);
	else
		vec_push(r->m->arena, r->recipe->settings, s);
}

static void read_setting(Reader *r)
{
	read_setting_into(r, false);
}

/* init '(' [number {',' number}] ')', with the initialiser's number of arguments. */
static bool read_init(Reader *r, InitKind *init, double arg[4])
{
	uint32_t lo = r->tok.lo;
	if (r->tok.kind != T_WORD || !init_lookup(r->tok.s, init)) {
		Suggest sg = {.name = r->tok.kind == T_WORD ? r->tok.s : ""};
		for (int i = 0; i < INIT__N; i++)
			suggest_try(&sg, init_info((InitKind)i)->name);
		return syntax_error(r, "expected an initialiser such as normal(0.02), found %s%s", tok_desc(r),
		                    suggest_text(r, &sg, ""));
	}
	next(r);
	if (!expect_punct(r, '(', "after the initialiser"))
		return false;
	const InitInfo *ii = init_info(*init);
	CHECK(ii->nargs <= 4); /* Param.init_arg */
	int n = 0;
	while (!is_punct(r, ')')) {
		double x;
		if ((n > 0 && !expect_punct(r, ',', "between arguments")) || !read_float(r, &x))
			return false;
		if (n < ii->nargs)
			arg[n] = x;
		n++;
	}
	uint32_t hi = r->tok.hi;
	next(r);
	if (n != ii->nargs) {
		error_at(r, lo, hi, "'%s' takes %d argument%s%s%s%s, got %d", ii->name, ii->nargs, ii->nargs == 1 ? "" : "s",
		         ii->nargs ? " (" : "", ii->argnames, ii->nargs ? ")" : "", n);
		return false;
	}
	return true;
}

/* 'param' $name ':' type '=' init ['frozen'] [location] */
static void read_param(Reader *r)
{
	next(r);
	if (r->tok.kind != T_GLOBAL) {
		syntax_error(r, "expected a parameter name such as $w, found %s", tok_desc(r));
		return;
	}
	const char *name = r->tok.s;
	if (module_find_param(r->m, name)) {
		syntax_error(r, "parameter $%s is already defined", name);
		return;
	}
	next(r);
	if (!expect_punct(r, ':', "after the parameter name"))
		return;
	Type t;
	uint32_t type_lo = r->tok.lo;
	if (!read_type(r, &t))
		return;
	uint32_t type_hi = r->prev_hi;
	for (int i = 0; i < t.rank; i++)
		if (t.dim[i] == DIM_B) {
			error_at(r, type_lo, type_hi, "a parameter cannot have the batch dimension B");
			return;
		}
	InitKind init;
	double arg[4] = {0};
	if (!check_size(r, &t, type_lo, type_hi) || !expect_punct(r, '=', "after the parameter type") ||
	    !read_init(r, &init, arg))
		return;
	bool frozen = is_word(r, "frozen");
	if (frozen)
		next(r);
	Loc loc;
	if (!end_of_item(r, "the parameter", &loc))
		return;
	Param *p = module_add_param(r->m, name, &t, loc);
	p->init = init;
	memcpy(p->init_arg, arg, sizeof arg);
	p->frozen = frozen;
}

/* Lines. */

static bool is_block_start(const Reader *r)
{
	return is_word(r, "func") || is_word(r, "recipe") || is_word(r, "param") || is_word(r, "const");
}

static void read_top_line(Reader *r)
{
	if (is_word(r, "param"))
		read_param(r);
	else if (is_word(r, "const")) {
		next(r);
		read_setting_into(r, true);
	} else if (is_word(r, "func"))
		read_func_header(r);
	else if (is_word(r, "recipe"))
		read_recipe_header(r);
	else if (r->tok.kind == T_LOCAL || is_word(r, "ret"))
		syntax_error(r, "%s outside a function", r->tok.kind == T_LOCAL ? "instruction" : "'ret'");
	else
		syntax_error(r, "expected 'const', 'param', 'func' or 'recipe', found %s", tok_desc(r));
}

static void close_func(Reader *r)
{
	if (!r->ret_seen)
		syntax_error(r, "function @%s ends without 'ret'", r->func->name);
	r->func = NULL;
}

static void unclosed(Reader *r, const char *what, const char *name, uint32_t lo, uint32_t hi)
{
	error_at(r, lo, hi, "%s @%s has no closing '}'", what, name);
}

/* One line of a function; false when the line is not the function's. */
static bool read_func_line(Reader *r)
{
	if (r->tok.kind == T_LOCAL) {
		read_ins(r);
	} else if (is_word(r, "ret")) {
		read_ret(r);
	} else if (is_punct(r, '}')) {
		close_func(r);
		next(r);
		end_of_line(r, "'}'");
	} else if (is_block_start(r)) {
		unclosed(r, "function", r->func->name, r->func_lo, r->func_hi);
		r->func = NULL;
		return false;
	} else {
		syntax_error(r, "expected an instruction, 'ret' or '}', found %s", tok_desc(r));
	}
	return true;
}

/* One line of a recipe; false when the line is not the recipe's. A setting may
 * be called 'func', so a line starts a block only when a name follows. */
static bool read_recipe_line(Reader *r)
{
	if (is_punct(r, '}')) {
		r->recipe = NULL;
		next(r);
		end_of_line(r, "'}'");
		return true;
	}
	if (is_block_start(r)) {
		uint32_t pos = r->pos;
		Token word = r->tok;
		next(r);
		if (r->tok.kind == T_BAD)
			return true;
		bool block = r->tok.kind == T_FUNC || r->tok.kind == T_GLOBAL;
		r->pos = pos;
		r->tok = word;
		if (block) {
			unclosed(r, "recipe", r->recipe->name, r->recipe_lo, r->recipe_hi);
			r->recipe = NULL;
			return false;
		}
	}
	read_setting(r);
	return true;
}

static void read_line(Reader *r, uint32_t lo, uint32_t eol)
{
	r->pos = lo;
	r->eol = eol;
	next(r);
	if (r->tok.kind == T_EOL || r->tok.kind == T_COMMENT || r->tok.kind == T_BAD)
		return;
	if (r->func && read_func_line(r))
		return;
	if (r->recipe && read_recipe_line(r))
		return;
	if (!r->func && !r->recipe)
		read_top_line(r);
}

static void finish(Reader *r)
{
	if (r->func)
		unclosed(r, "function", r->func->name, r->func_lo, r->func_hi);
	if (r->recipe)
		unclosed(r, "recipe", r->recipe->name, r->recipe_lo, r->recipe_hi);
	for (int i = 0; i < r->func_refs.n; i++) {
		const FuncRef *ref = &r->func_refs.p[i];
		if (module_find_func(r->m, ref->name))
			continue;
		Suggest sg = {.name = ref->name};
		for (int k = 0; k < r->m->funcs.n; k++)
			suggest_try(&sg, r->m->funcs.p[k]->name);
		error_at(r, ref->lo, ref->hi, "no function @%s in this module%s", ref->name, suggest_text(r, &sg, "@"));
	}
}

Module *module_read(Arena *a, Diag *d, const SrcFile *src)
{
	if (src->len >= UINT32_MAX) {
		diag_error(d, (Loc){0}, "%s: an IR file must be smaller than 4 GiB", src->name);
		return NULL;
	}
	Reader r = {.src = src, .d = d, .m = module_new(a), .scratch = arena_new()};
	uint32_t len = (uint32_t)src->len;
	for (uint32_t lo = 0; lo < len;) {
		const char *nl = memchr(src->text + lo, '\n', len - lo);
		uint32_t eol = nl ? (uint32_t)(nl - src->text) : len;
		read_line(&r, lo, eol);
		lo = eol + 1;
	}
	finish(&r);
	arena_free(r.scratch);
	return r.errors ? NULL : r.m;
}
