/* parse.c: runs the scanner and parser over one source file; syntax tree constructors. */
#include <string.h>

#include "frontend.h"
#include "parser.h"
#include "lexer.h"

Loc span_loc(const Parser *p, Span s)
{
	return src_loc(p->src, s.lo, s.hi);
}

void parse_error(Parser *p, Span s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(p->diag, "error", span_loc(p, s), fmt, ap);
	va_end(ap);
}

Ast *parse_source(Arena *a, Diag *d, const SrcFile *src)
{
	Parser p = {.arena = a, .diag = d, .src = src, .last_token = NL};
	p.ast = arena_alloc(a, sizeof *p.ast);
	if (src->len > UINT32_MAX / 2) {
		diag_error(d, (Loc){.file = src->name, .line = 1, .col = 1, .len = 1}, "file is too large (%zu bytes)", src->len);
		return NULL;
	}
	yyscan_t scanner;
	if (yylex_init_extra(&p, &scanner))
		BUG("cannot start the scanner");
	YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->len, scanner);
	int errors = d->errors;
	int rc = yyparse(scanner, &p);
	yy_delete_buffer(buf, scanner);
	yylex_destroy(scanner);
	if (rc != 0 && d->errors == errors) /* the parser gave up without saying why */
		diag_error(d, src_loc(src, (uint32_t)src->len, (uint32_t)src->len), "cannot parse this file");
	return d->errors == errors ? p.ast : NULL;
}

Expr *expr_new(Parser *p, ExprKind k, Span s)
{
	Expr *e = arena_alloc(p->arena, sizeof *e);
	e->kind = k;
	e->span = s;
	return e;
}

Expr *expr_binary(Parser *p, BinOp op, Expr *a, Expr *b, Span s)
{
	Expr *e = expr_new(p, b ? E_BINARY : E_UNARY, s);
	e->op = op;
	e->a = a;
	e->b = b;
	return e;
}

Stmt *stmt_new(Parser *p, StmtKind k, Span s)
{
	Stmt *st = arena_alloc(p->arena, sizeof *st);
	st->kind = k;
	st->span = s;
	return st;
}

Decl *decl_new(Parser *p, DeclKind k, Span s)
{
	Decl *d = arena_alloc(p->arena, sizeof *d);
	d->kind = k;
	d->span = s;
	return d;
}

const char *binop_spelling(BinOp op)
{
	static const char *s[] = {"+", "-", "*", "/", "//", "%", "**", "@", "==", "!=", "<", "<=",
	                          ">", ">=", "&&", "||", "-", "!"};
	CHECK(op >= 0 && op <= U_NOT);
	return s[op];
}
