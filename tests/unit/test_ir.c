/* test_ir: the IR's text form, reader, verifier, DOT output and shape rules.
 *
 * Usage: test_ir [--update] DIR, where DIR is tests/ir:
 *   DIR/ops.ir      every op, init kind and recipe value kind, in printed form: it must
 *                   read, verify and print back byte for byte;
 *   DIR/bad/NAME.ir malformed modules; the diagnostics they give are the comment lines
 *                   "# expect: LINE" at the end of each file (trailing blanks ignored).
 * --update rewrites those expectation blocks from the current output, for review.
 * Prints "N passed, M failed" and exits nonzero when anything failed.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#include "../check.h"

typedef struct Tests {
	Tally tally;
	Arena *arena; /* for the whole run */
} Tests;


/* Reading with captured diagnostics. */

typedef struct Result {
	Module *m;    /* NULL when reading failed */
	bool verified;
	char *diags;  /* everything printed, in the arena */
} Result;

static Result read_text(Tests *t, const char *name, const char *text, size_t len, bool verify)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		BUG("open_memstream failed");
	Diag d;
	diag_init(&d, t->arena, f);
	SrcFile *src = diag_add_file(&d, name, text, len);
	Result r = {.m = module_read(t->arena, &d, src)};
	r.verified = r.m && verify && module_verify(r.m, &d);
	fclose(f);
	r.diags = arena_strndup(t->arena, out, n);
	free(out);
	return r;
}

static char *print_module(Tests *t, const Module *m)
{
	Buf b = {0};
	module_print(&b, m);
	char *s = arena_strndup(t->arena, b.p ? b.p : "", b.n);
	buf_free(&b);
	return s;
}

static char *load(Tests *t, const char *path, size_t *len)
{
	char *text;
	const char *why;
	if (!read_file(path, &text, len, &why)) {
		EXPECT(t, false, "cannot read %s: %s", path, why);
		return NULL;
	}
	char *copy = arena_strndup(t->arena, text, *len);
	free(text);
	return copy;
}

/* The first line where a and b differ, for messages. */
static int first_diff_line(const char *a, const char *b)
{
	int line = 1;
	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	return line;
}

/* ops.ir: round trip and coverage. */

/* What ops.ir must use, so that a new op, initialiser or value kind without a
 * round-trip test fails here. */
typedef struct Coverage {
	bool ops[OP__N], inits[INIT__N], rvals[RV_LIST + 1], matmul[4];
	bool nested_list, frozen, named_ret, unnamed_ret, unlocated;
} Coverage;

static void cover_rval(Coverage *c, const RVal *v)
{
	c->rvals[v->kind] = true;
	for (int i = 0; i < v->nitems; i++) {
		c->nested_list |= v->items[i].kind == RV_LIST;
		cover_rval(c, &v->items[i]);
	}
}

static void cover_func(Coverage *c, const Func *f)
{
	for (int k = 0; k < f->body.n; k++) {
		const Ins *ins = f->body.p[k];
		c->ops[ins->op] = true;
		c->unlocated |= !ins->loc.file;
		if (ins->op == OP_matmul)
			c->matmul[2 * ins->attr[0].i + ins->attr[1].i] = true;
	}
	for (int k = 0; k < f->ret_names.n; k++) {
		c->named_ret |= f->ret_names.p[k] != NULL;
		c->unnamed_ret |= f->ret_names.p[k] == NULL;
	}
}

static void check_coverage(Tests *t, const Module *m)
{
	Coverage c = {0};
	for (int i = 0; i < m->params.n; i++) {
		c.inits[m->params.p[i]->init] = true;
		c.frozen |= m->params.p[i]->frozen;
	}
	for (int i = 0; i < m->funcs.n; i++)
		cover_func(&c, m->funcs.p[i]);
	for (int i = 0; i < m->recipes.n; i++)
		for (int k = 0; k < m->recipes.p[i]->settings.n; k++)
			cover_rval(&c, &m->recipes.p[i]->settings.p[k].val);
	for (int op = 0; op < OP__N; op++)
		EXPECT(t, c.ops[op], "ops.ir does not use op '%s'", op_info((Op)op)->name);
	for (int k = 0; k < INIT__N; k++)
		EXPECT(t, c.inits[k], "ops.ir does not use initialiser '%s'", init_info((InitKind)k)->name);
	for (int k = 0; k <= RV_LIST; k++)
		EXPECT(t, c.rvals[k], "ops.ir's recipes lack value kind %d", k);
	for (int k = 0; k < 4; k++)
		EXPECT(t, c.matmul[k], "ops.ir lacks matmul ta=%d tb=%d", k / 2, k % 2);
	EXPECT(t, c.nested_list, "ops.ir lacks a nested list in a recipe");
	EXPECT(t, c.frozen, "ops.ir lacks a frozen param");
	EXPECT(t, c.named_ret && c.unnamed_ret, "ops.ir lacks named or unnamed results");
	EXPECT(t, c.unlocated, "ops.ir lacks an instruction without a location");
}

static void check_dot(Tests *t, const Module *m)
{
	Buf b = {0};
	module_dot(&b, m);
	EXPECT(t, b.p && strncmp(b.p, "digraph maec {\n", 15) == 0 && strstr(b.p, "subgraph cluster_1 {") &&
	              strstr(b.p, "label=\"@pretrain.loss\"") && strstr(b.p, "shape=doubleoctagon") &&
	              strstr(b.p, "\"f0.6\" -> \"f0.7\" [label=\"0\"]") && strstr(b.p, "\\\"patches\\\" \\\\") &&
	              b.n > 1 && b.p[b.n - 2] == '}',
	       "DOT output is not as expected:\n%s", b.p ? b.p : "");
	buf_free(&b);
}

/* A printed module reads back to a module that prints the same: the reader and
 * the printer agree on every byte the reader accepts. */
static bool is_fixpoint(Tests *t, const Module *m)
{
	char *once = print_module(t, m);
	Result r = read_text(t, "reprinted.ir", once, strlen(once), false);
	return r.m && strcmp(print_module(t, r.m), once) == 0;
}

/* Every prefix and many one-byte changes of ops.ir: no crash (the sanitizer build
 * checks memory), and whatever reads at all must print back as it reads. */
static void check_mutants(Tests *t, const char *text, size_t len)
{
	static const char bytes[] = {0, '\n', ' ', '%', '$', '@', '"', '\\', '[', ']', ',', '=', '#', '-', '9', 'B', 'e', '.'};
	char *buf = malloc(len + 1);
	int read_ok = 0, bad = 0, runs = 0;
	for (size_t cut = 0; cut <= len; cut += 7, runs++) {
		Result r = read_text(t, "prefix.ir", text, cut, false);
		read_ok += r.m != NULL;
		bad += r.m && !is_fixpoint(t, r.m);
	}
	for (size_t pos = 0; pos < len; pos += 3)
		for (size_t k = pos % 5; k < sizeof bytes; k += 5, runs++) {
			memcpy(buf, text, len);
			buf[pos] = bytes[k];
			Result r = read_text(t, "mutant.ir", buf, len, true);
			read_ok += r.m != NULL;
			bad += r.m && !is_fixpoint(t, r.m);
		}
	free(buf);
	EXPECT(t, bad == 0, "%d of %d mutants of ops.ir read but do not print back to a fixpoint", bad, read_ok);
	EXPECT(t, read_ok > 0 && read_ok < runs, "mutants: %d of %d read; expected some but not all", read_ok, runs);
}

static void test_ops_ir(Tests *t, const char *dir)
{
	const char *path = arena_printf(t->arena, "%s/ops.ir", dir);
	size_t len;
	char *text = load(t, path, &len);
	if (!text)
		return;
	Result r = read_text(t, "ops.ir", text, len, true);
	if (!EXPECT(t, r.m && r.verified, "ops.ir does not read and verify:\n%s", r.diags))
		return;
	char *printed = print_module(t, r.m);
	EXPECT(t, strlen(printed) == len && memcmp(printed, text, len) == 0,
	       "ops.ir prints back differently from line %d:\n%s", first_diff_line(printed, text), printed);
	Result again = read_text(t, "printed.ir", printed, strlen(printed), true);
	EXPECT(t, again.m && again.verified && strcmp(print_module(t, again.m), printed) == 0,
	       "the printed ops.ir does not read back to itself:\n%s", again.diags);
	check_coverage(t, r.m);
	check_dot(t, r.m);
	check_mutants(t, text, len);
}

/* bad/NAME.ir: expected diagnostics. */

static const char EXPECT_TAG[] = "# expect: ";

/* Lines of s, each with trailing blanks removed. */
typedef VEC(char *) Lines;

static Lines split_lines(Tests *t, const char *s)
{
	Lines lines = {0};
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *line = arena_strndup(t->arena, s, n);
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = 0;
		vec_push(t->arena, lines, line);
		s = nl ? nl + 1 : s + strlen(s);
	}
	return lines;
}

/* The text without its expectation lines, and those lines' contents. */
static size_t split_expectations(Tests *t, const char *text, size_t len, Lines *want)
{
	size_t body = len;
	*want = (Lines){0};
	for (size_t lo = 0; lo < len;) {
		const char *nl = memchr(text + lo, '\n', len - lo);
		size_t hi = nl ? (size_t)(nl - text) : len;
		if (hi - lo >= sizeof EXPECT_TAG - 2 && memcmp(text + lo, EXPECT_TAG, sizeof EXPECT_TAG - 2) == 0) {
			size_t from = lo + sizeof EXPECT_TAG - 1 < hi ? lo + sizeof EXPECT_TAG - 1 : hi;
			Lines one = split_lines(t, arena_strndup(t->arena, text + from, hi - from));
			vec_push(t->arena, *want, one.n ? one.p[0] : "");
			if (body == len)
				body = lo;
		} else {
			body = len; /* expectations must end the file */
		}
		lo = hi + 1;
	}
	return body;
}

static void update_expectations(Tests *t, const char *path, const char *text, size_t body, const char *diags)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		EXPECT(t, false, "cannot write %s", path);
		return;
	}
	fwrite(text, 1, body, f);
	Lines got = split_lines(t, diags);
	for (int i = 0; i < got.n; i++)
		fprintf(f, "%s%s\n", EXPECT_TAG, got.p[i]);
	fclose(f);
}

static void test_bad_file(Tests *t, const char *dir, const char *file, bool update)
{
	const char *path = arena_printf(t->arena, "%s/bad/%s", dir, file);
	const char *name = arena_printf(t->arena, "bad/%s", file);
	size_t len;
	char *text = load(t, path, &len);
	if (!text)
		return;
	Lines want;
	size_t body = split_expectations(t, text, len, &want);
	Result r = read_text(t, name, text, len, true);
	EXPECT(t, !r.m || !r.verified, "%s: no error reported", name);
	if (update) {
		update_expectations(t, path, text, body, r.diags);
		return;
	}
	EXPECT(t, want.n > 0, "%s: no '# expect: ' lines at its end", name);
	Lines got = split_lines(t, r.diags);
	bool same = got.n == want.n;
	for (int i = 0; same && i < got.n; i++)
		same = strcmp(got.p[i], want.p[i]) == 0;
	if (!EXPECT(t, same, "%s: diagnostics differ", name)) {
		fprintf(stderr, "--- expected\n");
		for (int i = 0; i < want.n; i++)
			fprintf(stderr, "%s\n", want.p[i]);
		fprintf(stderr, "--- got\n%s---\n", r.diags);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_bad_files(Tests *t, const char *dir, bool update)
{
	const char *bad = arena_printf(t->arena, "%s/bad", dir);
	DIR *d = opendir(bad);
	if (!EXPECT(t, d != NULL, "cannot open %s", bad))
		return;
	VEC(char *) names = {0};
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (n > 3 && strcmp(e->d_name + n - 3, ".ir") == 0)
			vec_push(t->arena, names, arena_strdup(t->arena, e->d_name));
	}
	closedir(d);
	qsort(names.p, (size_t)names.n, sizeof *names.p, name_cmp);
	EXPECT(t, names.n >= 12, "only %d files in %s", names.n, bad);
	for (int i = 0; i < names.n; i++)
		test_bad_file(t, dir, names.p[i], update);
}

/* Shape rules, called directly. */

typedef struct Fixture {
	Tests *t;
	Module *m;
	Func *f;
} Fixture;

/* "f32[B,3]" to a Type; the tests' own strings, so a bad one is a bug here. */
static Type type_of(const char *s)
{
	Type ty = {0};
	const char *open = strchr(s, '[');
	char *dt = strndup(s, open ? (size_t)(open - s) : 0);
	if (!open || !dtype_parse(dt, &ty.dt))
		BUG("bad test type %s", s);
	free(dt);
	for (const char *p = open + 1; *p && *p != ']'; p += *p == ',') {
		CHECK(ty.rank < IR_MAX_RANK);
		if (*p == 'B') {
			ty.dim[ty.rank++] = DIM_B;
			p++;
		} else {
			char *end;
			ty.dim[ty.rank++] = strtoll(p, &end, 10);
			CHECK(end > p);
			p = end;
		}
	}
	return ty;
}

static Ins *arg(Fixture *fx, const char *type)
{
	Ins *ins = ins_new(fx->m, fx->f, OP_arg, NULL, 0, (Loc){0});
	ins->type = type_of(type);
	func_append(fx->m, fx->f, ins);
	return ins;
}

/* An op on args of the given types (NULL ends the list). */
static Ins *make(Fixture *fx, Op op, const char *t0, const char *t1, const char *t2)
{
	Ins *args[3];
	int n = 0;
	for (const char *const *ty = (const char *const[]){t0, t1, t2}; n < 3 && ty[n]; n++)
		args[n] = arg(fx, ty[n]);
	return ins_new(fx->m, fx->f, op, args, n, (Loc){0});
}

static void set_ints(Fixture *fx, Attr *at, const int64_t *v, int n)
{
	at->v = arena_alloc(fx->m->arena, sizeof *v * (size_t)(n ? n : 1));
	if (n)
		memcpy(at->v, v, sizeof *v * (size_t)n);
	at->nv = n;
}

static void infer_is(Fixture *fx, int line, Ins *ins, const char *type)
{
	const char *msg = ins_infer(ins, fx->m->arena);
	Buf b = {0};
	if (!msg)
		type_print(&b, &ins->type);
	expect(fx->t, !msg && strcmp(b.p, type) == 0, line, "'%s' gives %s, expected %s", op_info(ins->op)->name,
	       msg ? msg : b.p, type);
	buf_free(&b);
}

static void infer_fails(Fixture *fx, int line, Ins *ins, const char *message)
{
	const char *msg = ins_infer(ins, fx->m->arena);
	expect(fx->t, msg && strcmp(msg, message) == 0, line, "'%s' gives \"%s\", expected \"%s\"",
	       op_info(ins->op)->name, msg ? msg : "(no error)", message);
}

#define INFER_IS(fx, ins, type) infer_is((fx), __LINE__, (ins), (type))
#define INFER_FAILS(fx, ins, msg) infer_fails((fx), __LINE__, (ins), (msg))
#define INTS(...) (int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static void test_broadcast(Fixture *fx)
{
	INFER_IS(fx, make(fx, OP_add, "f32[B,1]", "f32[3]", NULL), "f32[B,3]");
	INFER_IS(fx, make(fx, OP_mul, "f32[1,4]", "f32[B,1,1]", NULL), "f32[B,1,4]");
	INFER_IS(fx, make(fx, OP_sub, "f32[B,4]", "f32[1,4]", NULL), "f32[B,4]");
	INFER_IS(fx, make(fx, OP_eq, "i32[2]", "i32[2]", NULL), "f32[2]");
	INFER_FAILS(fx, make(fx, OP_add, "f32[B,2]", "f32[3,2]", NULL),
	            "cannot broadcast f32[B,2] and f32[3,2] for 'add' (dimension 0: B vs 3)");
	INFER_FAILS(fx, make(fx, OP_add, "f32[2]", "f64[2]", NULL),
	            "'add' operands have different element types: f32[2] and f64[2]");
	INFER_FAILS(fx, make(fx, OP_exp, "i32[2]", NULL, NULL), "'exp' needs a floating-point operand, got i32[2]");
	INFER_FAILS(fx, make(fx, OP_add, "f32[2]", NULL, NULL), "'add' takes 2 operands, got 1");
}

static void test_matmul(Fixture *fx)
{
	INFER_IS(fx, make(fx, OP_matmul, "f32[B,4,8]", "f32[8,16]", NULL), "f32[B,4,16]");
	Ins *ta = make(fx, OP_matmul, "f32[8,4]", "f32[8,16]", NULL);
	ta->attr[0].i = 1;
	INFER_IS(fx, ta, "f32[4,16]");
	Ins *tb = make(fx, OP_matmul, "f32[B,4,8]", "f32[B,6,8]", NULL);
	tb->attr[1].i = 1;
	INFER_IS(fx, tb, "f32[B,4,6]");
	Ins *both = make(fx, OP_matmul, "f32[8,4]", "f32[6,8]", NULL);
	both->attr[0].i = both->attr[1].i = 1;
	INFER_IS(fx, both, "f32[4,6]");
	INFER_FAILS(fx, make(fx, OP_matmul, "f32[4,8]", "f32[4,8]", NULL),
	            "'matmul' inner dimensions differ: f32[4,8] times f32[4,8]");
	Ins *bad_flag = make(fx, OP_matmul, "f32[4,8]", "f32[8,4]", NULL);
	bad_flag->attr[1].i = 2;
	INFER_FAILS(fx, bad_flag, "ta and tb must be 0 or 1");
	INFER_FAILS(fx, make(fx, OP_matmul, "f32[8]", "f32[8,4]", NULL),
	            "'matmul' needs operands of rank 2 or more, got f32[8] and f32[8,4]");
}

static void test_injective(Fixture *fx)
{
	Ins *reshape = make(fx, OP_reshape, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &reshape->attr[0], INTS(DIM_B, 32));
	INFER_IS(fx, reshape, "f32[B,32]");
	Ins *bad_reshape = make(fx, OP_reshape, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &bad_reshape->attr[0], INTS(DIM_B, 30));
	INFER_FAILS(fx, bad_reshape, "cannot reshape f32[B,4,8] to [B,30]: element counts differ");

	Ins *perm = make(fx, OP_transpose, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &perm->attr[0], INTS(0, 2, 1));
	INFER_IS(fx, perm, "f32[B,8,4]");
	Ins *bad_perm = make(fx, OP_transpose, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &bad_perm->attr[0], INTS(0, 1, 1));
	INFER_FAILS(fx, bad_perm, "[0,1,1] is not a permutation of the 3 axes of f32[B,4,8]");

	Ins *gather = make(fx, OP_gather, "f32[B,4,8]", "i32[B,2]", NULL);
	gather->attr[0].i = 1;
	INFER_IS(fx, gather, "f32[B,2,8]");
	Ins *gather_neg = make(fx, OP_gather, "f32[B,4,8]", "i32[B,4,3]", NULL);
	gather_neg->attr[0].i = -1;
	INFER_IS(fx, gather_neg, "f32[B,4,3]");
	EXPECT(fx->t, gather_neg->attr[0].i == 2, "gather axis -1 normalised to %lld", (long long)gather_neg->attr[0].i);
	INFER_FAILS(fx, make(fx, OP_gather, "f32[B,4,8]", "i32[B,4]", NULL),
	            "'gather' cannot index the batch dimension of f32[B,4,8]");
	Ins *gather_cover = make(fx, OP_gather, "f32[B,4,8]", "i32[B,4,8,2]", NULL);
	gather_cover->attr[0].i = 1;
	INFER_FAILS(fx, gather_cover,
	            "'gather' along axis 1: indexes i32[B,4,8,2] do not cover the leading axes of f32[B,4,8]");
	Ins *gather_dim = make(fx, OP_gather, "f32[B,4,8]", "i32[B,2,3]", NULL);
	gather_dim->attr[0].i = 1;
	INFER_FAILS(fx, gather_dim, "'gather' indexes i32[B,2,3] and source f32[B,4,8] differ in dimension 2");
	Ins *gather_float = make(fx, OP_gather, "f32[B,4,8]", "f32[B,2]", NULL);
	gather_float->attr[0].i = 1;
	INFER_FAILS(fx, gather_float, "'gather' needs integer indexes, got f32[B,2]");

	Ins *concat = make(fx, OP_concat, "f32[B,2]", "f32[B,3]", "f32[B,1]");
	concat->attr[0].i = -1;
	INFER_IS(fx, concat, "f32[B,6]");
	INFER_FAILS(fx, make(fx, OP_concat, "f32[B,2]", "f32[B,2]", NULL),
	            "cannot concatenate along the batch dimension of f32[B,2]");

	Ins *slice = make(fx, OP_slice, "f32[B,8]", NULL, NULL);
	slice->attr[0].i = 1;
	slice->attr[1].i = 2;
	slice->attr[2].i = 5;
	INFER_IS(fx, slice, "f32[B,3]");
	Ins *bad_slice = make(fx, OP_slice, "f32[B,8]", NULL, NULL);
	bad_slice->attr[0].i = 1;
	bad_slice->attr[1].i = 4;
	bad_slice->attr[2].i = 9;
	INFER_FAILS(fx, bad_slice, "slice 4:9 is empty or out of range for axis 1 of f32[B,8]");

	Ins *expand = make(fx, OP_expand, "f32[1,8]", NULL, NULL);
	set_ints(fx, &expand->attr[0], INTS(DIM_B, 4, 8));
	INFER_IS(fx, expand, "f32[B,4,8]");
}

static void test_reduce(Fixture *fx)
{
	Ins *sum = make(fx, OP_sum, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &sum->attr[0], INTS(-1, -2));
	INFER_IS(fx, sum, "f32[B]");
	EXPECT(fx->t, sum->attr[0].nv == 2 && sum->attr[0].v[0] == 1 && sum->attr[0].v[1] == 2,
	       "reduce axes [-1,-2] not normalised to [1,2]");
	Ins *keep = make(fx, OP_mean, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &keep->attr[0], INTS(-1));
	keep->attr[1].i = 1;
	INFER_IS(fx, keep, "f32[B,4,1]");
	Ins *all = make(fx, OP_max, "f32[B,4,8]", NULL, NULL);
	INFER_IS(fx, all, "f32[]");
	EXPECT(fx->t, all->attr[0].nv == 0, "reduce over all axes keeps axes=[]");
	Ins *twice = make(fx, OP_sum, "f32[B,4,8]", NULL, NULL);
	set_ints(fx, &twice->attr[0], INTS(2, -1));
	INFER_FAILS(fx, twice, "axis 2 is listed twice in 'sum'");
	Ins *out = make(fx, OP_sum, "f32[B,4]", NULL, NULL);
	set_ints(fx, &out->attr[0], INTS(-3));
	INFER_FAILS(fx, out, "axis -3 is out of range for 'sum' on a rank-2 tensor");
	Ins *ce = make(fx, OP_cross_entropy, "f32[B,10]", "i32[B]", NULL);
	INFER_IS(fx, ce, "f32[]");
	Ins *sm = make(fx, OP_softmax, "f32[B,4]", NULL, NULL);
	sm->attr[0].i = -1;
	INFER_IS(fx, sm, "f32[B,4]");
	EXPECT(fx->t, sm->attr[0].i == 1, "softmax axis -1 not normalised to 1");
}

static void test_shapes(Tests *t)
{
	Fixture fx = {.t = t, .m = module_new(t->arena)};
	fx.f = module_add_func(fx.m, "shapes", (Loc){0});
	test_broadcast(&fx);
	test_matmul(&fx);
	test_injective(&fx);
	test_reduce(&fx);
}

/* The verifier, on modules broken by hand. */

typedef struct Small {
	Module *m;
	Func *f;
	Ins *x, *y, *sum; /* x, y : f32[B,4]; sum = add x, y; ret sum */
	bool unprintable; /* broken past what the printer can show */
} Small;

static Ins *append(Module *m, Func *f, Op op, Ins **args, int nargs)
{
	Ins *ins = ins_new(m, f, op, args, nargs, (Loc){.file = "small.dsl", .line = 3, .col = 5, .len = 1});
	func_append(m, f, ins);
	return ins;
}

static Small small_module(Tests *t)
{
	Small s = {.m = module_new(t->arena)};
	s.f = module_add_func(s.m, "small", (Loc){.file = "small.dsl", .line = 1, .col = 1, .len = 1});
	s.x = append(s.m, s.f, OP_arg, NULL, 0);
	s.y = append(s.m, s.f, OP_arg, NULL, 0);
	s.x->type = s.y->type = type_of("f32[B,4]");
	s.sum = append(s.m, s.f, OP_add, (Ins *[]){s.x, s.y}, 2);
	CHECK(!ins_infer(s.sum, s.m->arena));
	vec_push(s.m->arena, s.f->rets, s.sum);
	vec_push(s.m->arena, s.f->ret_names, NULL);
	return s;
}

/* Runs the verifier; it must fail, say want, and leave the module as it was. */
static void verify_fails(Tests *t, int line, const Small *s, const char *want)
{
	char *before = s->unprintable ? NULL : print_module(t, s->m);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	Diag d;
	diag_init(&d, t->arena, f);
	bool ok = module_verify(s->m, &d);
	fclose(f);
	expect(t, !ok && strstr(out, want) && strncmp(out, "small.dsl:", 10) == 0 && strstr(out, "IR verifier: "),
	       line, "verifier said \"%s\", expected \"%s\"", out, want);
	expect(t, !before || strcmp(before, print_module(t, s->m)) == 0, line, "the verifier changed the module");
	free(out);
}

#define VERIFY_FAILS(t, s, want) verify_fails((t), __LINE__, (s), (want))

static void test_verifier(Tests *t)
{
	Diag quiet;
	diag_init(&quiet, t->arena, stderr);
	Small ok = small_module(t);
	EXPECT(t, module_verify(ok.m, &quiet), "the small module does not verify");

	Small late = small_module(t); /* use before definition */
	Ins *later = append(late.m, late.f, OP_neg, (Ins *[]){late.x}, 1);
	CHECK(!ins_infer(later, late.m->arena));
	late.sum->args[1] = later;
	VERIFY_FAILS(t, &late, "@small: %2: operand 1 (%3) is used before it is defined");

	Small wrong = small_module(t);
	wrong.sum->type = type_of("f32[B,5]");
	VERIFY_FAILS(t, &wrong, "@small: %2: 'add' has type f32[B,5] but its operands give f32[B,4]");

	Small foreign = small_module(t), other = small_module(t);
	foreign.sum->args[0] = other.x;
	VERIFY_FAILS(t, &foreign, "operand 0 (%0) is not an instruction of @small");

	Small twice = small_module(t);
	twice.y->id = 0;
	VERIFY_FAILS(t, &twice, "id %0 is used twice in @small");

	Small noret = small_module(t);
	noret.f->rets.n = noret.f->ret_names.n = 0;
	VERIFY_FAILS(t, &noret, "@small returns nothing");

	Small argless = small_module(t);
	Ins *late_arg = append(argless.m, argless.f, OP_arg, NULL, 0);
	late_arg->type = type_of("f32[2]");
	VERIFY_FAILS(t, &argless, "@small: %3: 'arg' after other instructions: arguments come first");

	Small stray = small_module(t);
	Param *p = arena_alloc(t->arena, sizeof *p);
	p->name = "stray";
	p->type = type_of("f32[4]");
	Ins *pi = append(stray.m, stray.f, OP_param, NULL, 0);
	pi->attr[0].g = p;
	pi->type = p->type;
	VERIFY_FAILS(t, &stray, "attribute 'ref' does not refer to a parameter of this module");

	Small batch = small_module(t);
	Type bt = type_of("f32[B,4]");
	module_add_param(batch.m, "b", &bt, (Loc){.file = "small.dsl", .line = 2, .col = 1, .len = 1});
	VERIFY_FAILS(t, &batch, "$b: type f32[B,4] has the batch dimension B");

	Small axis = small_module(t);
	Ins *sm = append(axis.m, axis.f, OP_softmax, (Ins *[]){axis.sum}, 1);
	sm->attr[0].i = -1;
	sm->type = axis.sum->type;
	VERIFY_FAILS(t, &axis, "attribute 'axis' is -1, not in its normal form 1");

	Small count = small_module(t);
	count.sum->nargs = 1;
	VERIFY_FAILS(t, &count, "'add' takes 2 operands, has 1");

	Small dtype = small_module(t);
	Ins *c = append(dtype.m, dtype.f, OP_cast, (Ins *[]){dtype.x}, 1);
	c->attr[0].i = 9;
	dtype.unprintable = true;
	c->type = dtype.x->type;
	VERIFY_FAILS(t, &dtype, "attribute 'dtype' is 9, not an element type");

	Small recipe = small_module(t);
	Recipe *r = module_add_recipe(recipe.m, "train", (Loc){.file = "small.dsl", .line = 9, .col = 1, .len = 1});
	vec_push(t->arena, r->settings, ((RSetting){"model", {.kind = RV_FUNC, .s = "smal"}, {.file = "small.dsl", .line = 10, .col = 3, .len = 1}}));
	VERIFY_FAILS(t, &recipe, "recipe @train: 'model' refers to @smal, which is not a function of this module");

	Small next = small_module(t);
	next.f->next_id = 2;
	VERIFY_FAILS(t, &next, "id %2 is not between 0 and next_id 2");
}

int main(int argc, char **argv)
{
	bool update = argc == 3 && strcmp(argv[1], "--update") == 0;
	if (argc != 2 && !update) {
		fprintf(stderr, "usage: test_ir [--update] TESTS_IR_DIR\n");
		return 2;
	}
	const char *dir = argv[argc - 1];
	Tests t = {.arena = arena_new()};
	test_ops_ir(&t, dir);
	test_bad_files(&t, dir, update);
	test_shapes(&t);
	test_verifier(&t);
	arena_free(t.arena);
	return tally_report(&t.tally);
}
