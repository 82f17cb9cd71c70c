/* parser.y: the DSL grammar (docs/dsl.md has it in EBNF). Pure, reentrant, with byte-span
 * locations and lookahead correction so that "expected ..." lists are exact. Errors are
 * reported in our own words (yyreport_syntax_error) and the parser resumes at the next
 * end of line, so one run reports several errors. */
%define api.pure full
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {Parser *p}

%code requires {
#include "frontend.h"
typedef void *yyscan_t;
}

%code provides {
int yylex(YYSTYPE *yylval, YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <ctype.h>
#include <string.h>

#define YYMAXDEPTH 1200 /* deeper nesting is reported, not followed */
#define YYLLOC_DEFAULT(cur, rhs, n)                                                      \
	do {                                                                                 \
		if (n) {                                                                         \
			(cur).lo = YYRHSLOC(rhs, 1).lo;                                              \
			(cur).hi = YYRHSLOC(rhs, n).hi;                                              \
		} else {                                                                         \
			(cur).lo = (cur).hi = YYRHSLOC(rhs, 0).hi;                                   \
		}                                                                                \
	} while (0)

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *p, const char *msg);
static Expr *call(Parser *p, Expr *callee, Expr *args, Span s);
static Stmt *assign(Parser *p, const char *name, Span name_span, Expr *value, Span s);
static void add_name(Parser *p, Stmt *st, const char *name, Span s);
}

%union {
	int64_t i;
	double f;
	const char *str;
	Expr *expr;
	Stmt *stmt;
	StmtList stmts;
	Decl *decl;
	TypeExpr *type;
	FormalList formals;
	Formal formal;
	FuncDef *def;
}

%token END 0 "end of file"
%token NL "end of line"
%token <str> IDENT "name"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token <str> STRING "string"
%token BLOCK "'block'" MODEL "'model'" RECIPE "'recipe'" DEF "'def'" PARAM "'param'"
%token RETURN "'return'" IF "'if'" ELSE "'else'" REPEAT "'repeat'" FROZEN "'frozen'"
%token TRUE "'true'" FALSE "'false'"
%token POW "'**'" IDIV "'//'" ARROW "'->'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token AND "'&&'" OR "'||'" ELLIPSIS "'...'"
%token '(' "'('" ')' "')'" '[' "'['" ']' "']'" '{' "'{'" '}' "'}'" ',' "','" ':' "':'"
%token '=' "'='" '.' "'.'" '+' "'+'" '-' "'-'" '*' "'*'" '/' "'/'" '%' "'%'" '<' "'<'"
%token '>' "'>'" '!' "'!'" '@' "'@'"

%left OR
%left AND
%nonassoc EQ NE '<' '>' LE GE
%left '+' '-'
%left '*' '/' IDIV '%' '@'
%precedence UNARY
%right POW

%type <expr> expr postfix primary args arglist arg exprs subs sub
%type <stmt> stmt if_stmt names
%type <stmts> stmts else_opt
%type <decl> decl
%type <type> type dims
%type <formals> formals formal_list
%type <formal> formal
%type <def> def rets types
%type <i> frozen_opt

%%

/* After an error the parser skips to the end of the line; a '{' on the way starts a
 * body that it reads through to its '}', so that the braces stay paired. */
file
	: %empty
	| file decl NL          { if ($2) vec_push(p->arena, p->ast->decls, $2); }
	| file error NL         { yyerrok; }
	| file error '{' stmts '}' NL { yyerrok; }
	;

decl
	: stmt                  { $$ = decl_new(p, D_STMT, @$); $$->stmt = $1; }
	| BLOCK IDENT '(' formals ')' '{' stmts '}' {
		$$ = decl_new(p, D_BLOCK, @$);
		$$->name = $2; $$->name_span = @2; $$->formals = $4; $$->body = $7;
	}
	| MODEL IDENT '=' expr  { $$ = decl_new(p, D_MODEL, @$); $$->name = $2; $$->name_span = @2; $$->value = $4; }
	| RECIPE IDENT '{' stmts '}' {
		$$ = decl_new(p, D_RECIPE, @$); $$->name = $2; $$->name_span = @2; $$->body = $4;
	}
	;

stmts
	: %empty                { $$ = (StmtList){0}; }
	| stmts stmt NL         { $$ = $1; vec_push(p->arena, $$, $2); }
	| stmts error NL        { $$ = $1; yyerrok; }
	| stmts error '{' stmts '}' NL { $$ = $1; yyerrok; }
	;

stmt
	: IDENT '=' expr        { $$ = assign(p, $1, @1, $3, @$); }
	| MODEL '=' expr        { $$ = assign(p, "model", @1, $3, @$); /* a recipe's setting */ }
	| names '=' expr        { $$ = $1; $$->value = $3; $$->span = @$; }
	| '(' names ')' '=' expr { $$ = $2; $$->value = $5; $$->span = @$; }
	| RETURN exprs          { $$ = stmt_new(p, S_RETURN, @$); $$->value = $2->items.n == 1 ? $2->items.p[0] : $2; }
	| PARAM IDENT ':' type '=' expr frozen_opt {
		$$ = stmt_new(p, S_PARAM, @$); add_name(p, $$, $2, @2);
		$$->type = $4; $$->value = $6; $$->frozen = $7;
	}
	| def                   { $$ = stmt_new(p, S_DEF, @$); $$->def = $1; }
	| if_stmt
	;

names
	: IDENT ',' IDENT       { $$ = stmt_new(p, S_UNPACK, @$); add_name(p, $$, $1, @1); add_name(p, $$, $3, @3); }
	| names ',' IDENT       { $$ = $1; add_name(p, $$, $3, @3); }
	;

frozen_opt
	: %empty                { $$ = 0; }
	| FROZEN                { $$ = 1; }
	;

def
	: DEF IDENT '(' formals ')' rets '{' stmts '}' {
		$$ = $6; $$->name = $2; $$->name_span = @2; $$->span = @$; $$->formals = $4; $$->body = $8;
	}
	;

rets
	: %empty                { $$ = arena_alloc(p->arena, sizeof *$$); }
	| ARROW type            { $$ = arena_alloc(p->arena, sizeof *$$); $$->has_rets = true; vec_push(p->arena, $$->rets, $2); }
	| ARROW '(' types ')'   { $$ = $3; }
	;

types
	: type ',' type         {
		$$ = arena_alloc(p->arena, sizeof *$$); $$->has_rets = true;
		vec_push(p->arena, $$->rets, $1); vec_push(p->arena, $$->rets, $3);
	}
	| types ',' type        { $$ = $1; vec_push(p->arena, $$->rets, $3); }
	;

if_stmt
	: IF expr '{' stmts '}' else_opt {
		$$ = stmt_new(p, S_IF, @$); $$->value = $2; $$->then = $4; $$->els = $6;
	}
	;

else_opt
	: %empty                { $$ = (StmtList){0}; }
	| ELSE '{' stmts '}'    { $$ = $3; }
	| ELSE if_stmt          { $$ = (StmtList){0}; vec_push(p->arena, $$, $2); }
	;

formals
	: %empty                { $$ = (FormalList){0}; }
	| formal_list
	| formal_list ','
	;

formal_list
	: formal                { $$ = (FormalList){0}; vec_push(p->arena, $$, $1); }
	| formal_list ',' formal { $$ = $1; vec_push(p->arena, $$, $3); }
	;

formal
	: IDENT                 { $$ = (Formal){.name = $1, .span = @$}; }
	| IDENT '=' expr        { $$ = (Formal){.name = $1, .span = @$, .deflt = $3}; }
	| IDENT ':' type        { $$ = (Formal){.name = $1, .span = @$, .type = $3}; }
	| IDENT ':' IDENT       { $$ = (Formal){.name = $1, .span = @$, .block_type = $3, .block_type_span = @3}; }
	;

type
	: '[' dims ']'          { $$ = $2; $$->span = @$; }
	| IDENT '[' dims ']'    { $$ = $3; $$->span = @$; $$->dtype = $1; $$->dtype_span = @1; }
	;

dims
	: %empty                { $$ = arena_alloc(p->arena, sizeof *$$); }
	| expr                  { $$ = arena_alloc(p->arena, sizeof *$$); vec_push(p->arena, $$->dims, $1); }
	| ELLIPSIS              { $$ = arena_alloc(p->arena, sizeof *$$); vec_push(p->arena, $$->dims, expr_new(p, E_ELLIPSIS, @1)); }
	| dims ',' expr         { $$ = $1; vec_push(p->arena, $$->dims, $3); }
	;

exprs
	: expr                  { $$ = expr_new(p, E_TUPLE, @$); vec_push(p->arena, $$->items, $1); }
	| exprs ',' expr        { $$ = $1; $$->span = @$; vec_push(p->arena, $$->items, $3); }
	;

expr
	: postfix
	| expr OR expr          { $$ = expr_binary(p, B_OR, $1, $3, @$); }
	| expr AND expr         { $$ = expr_binary(p, B_AND, $1, $3, @$); }
	| expr EQ expr          { $$ = expr_binary(p, B_EQ, $1, $3, @$); }
	| expr NE expr          { $$ = expr_binary(p, B_NE, $1, $3, @$); }
	| expr '<' expr         { $$ = expr_binary(p, B_LT, $1, $3, @$); }
	| expr '>' expr         { $$ = expr_binary(p, B_GT, $1, $3, @$); }
	| expr LE expr          { $$ = expr_binary(p, B_LE, $1, $3, @$); }
	| expr GE expr          { $$ = expr_binary(p, B_GE, $1, $3, @$); }
	| expr '+' expr         { $$ = expr_binary(p, B_ADD, $1, $3, @$); }
	| expr '-' expr         { $$ = expr_binary(p, B_SUB, $1, $3, @$); }
	| expr '*' expr         { $$ = expr_binary(p, B_MUL, $1, $3, @$); }
	| expr '/' expr         { $$ = expr_binary(p, B_DIV, $1, $3, @$); }
	| expr IDIV expr        { $$ = expr_binary(p, B_IDIV, $1, $3, @$); }
	| expr '%' expr         { $$ = expr_binary(p, B_MOD, $1, $3, @$); }
	| expr '@' expr         { $$ = expr_binary(p, B_MATMUL, $1, $3, @$); }
	| expr POW expr         { $$ = expr_binary(p, B_POW, $1, $3, @$); }
	| '-' expr %prec UNARY  { $$ = expr_binary(p, U_NEG, $2, NULL, @$); }
	| '!' expr %prec UNARY  { $$ = expr_binary(p, U_NOT, $2, NULL, @$); }
	| REPEAT '(' expr ')' postfix { $$ = expr_new(p, E_REPEAT, @$); $$->a = $3; $$->b = $5; }
	;

postfix
	: primary
	| postfix '(' args ')'  { $$ = call(p, $1, $3, @$); }
	| postfix '[' subs ']'  { $$ = $3; $$->a = $1; $$->span = @$; }
	| postfix '.' IDENT     { $$ = expr_new(p, E_MEMBER, @$); $$->a = $1; $$->s = $3; }
	;

primary
	: IDENT                 { $$ = expr_new(p, E_NAME, @$); $$->s = $1; }
	| INT                   { $$ = expr_new(p, E_INT, @$); $$->i = $1; }
	| FLOAT                 { $$ = expr_new(p, E_FLOAT, @$); $$->f = $1; }
	| STRING                { $$ = expr_new(p, E_STR, @$); $$->s = $1; }
	| TRUE                  { $$ = expr_new(p, E_BOOL, @$); $$->i = 1; }
	| FALSE                 { $$ = expr_new(p, E_BOOL, @$); $$->i = 0; }
	| '(' expr ')'          { $$ = $2; }
	| '(' expr ',' ')'      { $$ = expr_new(p, E_TUPLE, @$); vec_push(p->arena, $$->items, $2); }
	| '(' expr ',' exprs ')' {
		$$ = $4; $$->span = @$;
		vec_push(p->arena, $$->items, $2); /* move the first item to the front */
		memmove($$->items.p + 1, $$->items.p, sizeof *$$->items.p * (size_t)($$->items.n - 1));
		$$->items.p[0] = $2;
	}
	| '[' ']'               { $$ = expr_new(p, E_LIST, @$); }
	| '[' exprs ']'         { $$ = $2; $$->kind = E_LIST; $$->span = @$; }
	| '[' exprs ',' ']'     { $$ = $2; $$->kind = E_LIST; $$->span = @$; }
	;

args
	: %empty                { $$ = expr_new(p, E_CALL, @$); }
	| arglist
	| arglist ','
	;

arglist
	: arg                   { $$ = expr_new(p, E_CALL, @$); vec_push(p->arena, $$->items, $1); vec_push(p->arena, $$->keys, NULL); }
	| arglist ',' arg       { $$ = $1; vec_push(p->arena, $$->items, $3); vec_push(p->arena, $$->keys, NULL); }
	;

arg
	: expr
	| IDENT '=' expr        { $$ = expr_new(p, E_CALL, @$); $$->s = $1; $$->b = $3; /* unwrapped by call() */ }
	;

subs
	: sub                   { $$ = expr_new(p, E_INDEX, @$); vec_push(p->arena, $$->items, $1); }
	| subs ',' sub          { $$ = $1; vec_push(p->arena, $$->items, $3); }
	;

sub
	: expr
	| ':'                   { $$ = expr_new(p, E_SLICE, @$); }
	| expr ':'              { $$ = expr_new(p, E_SLICE, @$); $$->a = $1; }
	| ':' expr              { $$ = expr_new(p, E_SLICE, @$); $$->b = $2; }
	| expr ':' expr         { $$ = expr_new(p, E_SLICE, @$); $$->a = $1; $$->b = $3; }
	;

%%

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *p, const char *msg)
{
	(void)scanner;
	if (strcmp(msg, "memory exhausted") == 0)
		parse_error(p, *loc, "nesting is too deep (the parser's stack holds %d entries: about a thousand nested brackets or operators, or 300 nested bodies)", YYMAXDEPTH);
	else
		parse_error(p, *loc, "%s", msg);
}

/* Reads the text before `upto` as the scanner does (comments run to the end of the line,
 * strings to their closing quote on the line) to find where the last token before it
 * ends and which bracket is the innermost still open there (-1: none). A '}' also
 * closes the brackets left open inside its body. For messages only. */
static int64_t open_bracket(Parser *p, uint32_t upto, uint32_t *last_end)
{
	const char *t = p->src->text;
	VEC(uint32_t) open = {0};
	*last_end = 0;
	for (uint32_t i = 0; i < upto; i++) {
		char c = t[i];
		if (c == '#') {
			while (i + 1 < upto && t[i + 1] != '\n')
				i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		*last_end = i + 1;
		if (c == '"' || c == '\'') {
			uint32_t j = i + 1;
			while (j < upto && t[j] != c && t[j] != '\n')
				j += t[j] == '\\' && j + 1 < upto && t[j + 1] != '\n' ? 2 : 1;
			i = j < upto && t[j] == c ? j : j - 1;
			*last_end = i + 1;
		} else if (c == '(' || c == '[' || c == '{') {
			vec_push(p->arena, open, i);
		} else if ((c == ')' || c == ']') && open.n > 0 && t[open.p[open.n - 1]] == (c == ')' ? '(' : '[')) {
			open.n--;
		} else if (c == '}') {
			while (open.n > 0 && t[open.p[--open.n]] != '{')
				;
		}
	}
	return open.n > 0 ? (int64_t)open.p[open.n - 1] : -1;
}

static bool has_token(const yysymbol_kind_t *set, int n, yysymbol_kind_t tok)
{
	for (int i = 0; i < n; i++)
		if (set[i] == tok)
			return true;
	return false;
}

/* Replaces a group of expected tokens by the group's name when all of the group is
 * there; the tokens of `also` then go too. */
static int collapse(yysymbol_kind_t *set, int n, const yysymbol_kind_t *group, int ngroup,
                    const yysymbol_kind_t *also, int nalso, yysymbol_kind_t name)
{
	for (int i = 0; i < ngroup; i++)
		if (!has_token(set, n, group[i]))
			return n;
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!has_token(group, ngroup, set[i]) && !has_token(also, nalso, set[i]))
			set[k++] = set[i];
	set[k++] = name;
	return k;
}

/* Notes for what the scanner's line rule hides: a bracket left open on an earlier line
 * (its line breaks were spaces; the statement ends at the next one again), an operator
 * that carried the statement over a line break, a keyword written as a name. */
static void syntax_notes(Parser *p, yysymbol_kind_t tok, Span loc, int64_t open, uint32_t last_end)
{
	const char *t = p->src->text;
	uint32_t line_start = loc.lo;
	while (line_start > 0 && t[line_start - 1] != '\n')
		line_start--;
	char c = open >= 0 ? t[open] : 0;
	bool first_on_line = last_end <= line_start && open >= 0 && (uint32_t)open < line_start;
	if (open >= 0 && (tok == YYSYMBOL_YYEOF || (c != '{' && (tok == YYSYMBOL_NL || first_on_line)))) {
		diag_note(p->diag, span_loc(p, (Span){(uint32_t)open, (uint32_t)open + 1}), "this '%c' is not closed", c);
		if (c != '{') /* so that the error recovery ends at this line's end */
			p->depth = 0;
		return;
	}
	uint32_t prev_end;
	open_bracket(p, line_start, &prev_end);
	if (prev_end > 0 && t[prev_end - 1] && strchr("=+-*/%@<>!&|", t[prev_end - 1])) {
		diag_note(p->diag, span_loc(p, (Span){prev_end - 1, prev_end}),
		          "the statement goes on after this '%c' at the end of the line", t[prev_end - 1]);
		return;
	}
	static const char *const keywords[] = {"block", "model", "recipe", "def", "param", "return", "if", "else",
	                                       "repeat", "frozen", "true", "false"};
	uint32_t hi = loc.lo, lo;
	while (hi > line_start && (t[hi - 1] == ' ' || t[hi - 1] == '\t'))
		hi--;
	for (lo = hi; lo > line_start && (isalnum((unsigned char)t[lo - 1]) || t[lo - 1] == '_'); lo--)
		;
	for (size_t i = 0; tok == YYTRANSLATE('=') && i < sizeof keywords / sizeof *keywords; i++)
		if (hi - lo == strlen(keywords[i]) && strncmp(t + lo, keywords[i], hi - lo) == 0)
			diag_note(p->diag, span_loc(p, (Span){lo, hi}), "'%s' is a keyword, so it cannot name a value",
			          keywords[i]);
}

/* "unexpected name 'foo'; expected ')' or ','" in the words of the token aliases, with
 * "an operator" and "an expression" standing for those groups of tokens. At the end of
 * the file, or where a bracket left open on an earlier line swallowed the line breaks,
 * a note shows the bracket. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *p)
{
	(void)scanner;
	enum { MAX_EXPECTED = 6, OPERATOR = -100, EXPRESSION = -101 };
	const yysymbol_kind_t binary[] = {
		YYSYMBOL_OR, YYSYMBOL_AND, YYSYMBOL_EQ, YYSYMBOL_NE, YYSYMBOL_LE, YYSYMBOL_GE, YYSYMBOL_IDIV,
		YYSYMBOL_POW, YYTRANSLATE('<'), YYTRANSLATE('>'), YYTRANSLATE('+'), YYTRANSLATE('-'),
		YYTRANSLATE('*'), YYTRANSLATE('/'), YYTRANSLATE('%'), YYTRANSLATE('@')};
	const yysymbol_kind_t postfix[] = {YYTRANSLATE('('), YYTRANSLATE('['), YYTRANSLATE('.')};
	const yysymbol_kind_t operand[] = {
		YYSYMBOL_IDENT, YYSYMBOL_INT, YYSYMBOL_FLOAT, YYSYMBOL_STRING, YYSYMBOL_TRUE, YYSYMBOL_FALSE,
		YYSYMBOL_REPEAT, YYTRANSLATE('('), YYTRANSLATE('['), YYTRANSLATE('-'), YYTRANSLATE('!')};
	yysymbol_kind_t expected[YYNTOKENS + 2];
	int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
	if (n > MAX_EXPECTED)
		n = collapse(expected, n, binary, sizeof binary / sizeof *binary, postfix, 3, (yysymbol_kind_t)OPERATOR);
	if (n > MAX_EXPECTED)
		n = collapse(expected, n, operand, sizeof operand / sizeof *operand, NULL, 0, (yysymbol_kind_t)EXPRESSION);
	yysymbol_kind_t tok = yypcontext_token(ctx);
	YYLTYPE loc = *yypcontext_location(ctx);
	/* A '}' with no body open after an earlier error most likely closes the body whose
	 * '{' that error made the parser miss (as in `def f() -> [n]` + newline): it would
	 * only repeat the error. */
	if (tok == YYTRANSLATE('}') && p->diag->errors > 0 && !has_token(expected, n, tok))
		return 0;
	uint32_t last_end;
	int64_t open = open_bracket(p, loc.lo, &last_end);
	if (tok == YYSYMBOL_YYEOF || tok == YYSYMBOL_NL) /* right after the last token, before any comment */
		loc.lo = loc.hi = last_end;
	Buf b = {0};
	buf_puts(&b, "syntax error: unexpected ");
	buf_puts(&b, yysymbol_name(tok));
	if ((tok == YYSYMBOL_IDENT || tok == YYSYMBOL_INT || tok == YYSYMBOL_FLOAT) && loc.hi > loc.lo &&
	    loc.hi - loc.lo <= 40)
		buf_printf(&b, " '%.*s'", (int)(loc.hi - loc.lo), p->src->text + loc.lo);
	if (n > 0 && n <= MAX_EXPECTED) {
		buf_puts(&b, "; expected ");
		for (int i = 0; i < n; i++) {
			const char *name = expected[i] == (yysymbol_kind_t)OPERATOR     ? "an operator"
			                   : expected[i] == (yysymbol_kind_t)EXPRESSION ? "an expression"
			                                                                 : yysymbol_name(expected[i]);
			buf_printf(&b, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", name);
		}
	}
	parse_error(p, loc, "%s", b.p);
	buf_free(&b);
	syntax_notes(p, tok, loc, open, last_end);
	return 0;
}

static Expr *call(Parser *p, Expr *callee, Expr *args, Span s)
{
	(void)p;
	args->a = callee;
	args->span = s;
	/* Keyword arguments arrive as E_CALL nodes without a callee: unwrap them. */
	for (int i = 0; i < args->items.n; i++) {
		Expr *e = args->items.p[i];
		if (e->kind == E_CALL && !e->a && e->s) {
			args->keys.p[i] = e->s;
			args->items.p[i] = e->b;
		}
	}
	return args;
}

static Stmt *assign(Parser *p, const char *name, Span name_span, Expr *value, Span s)
{
	Stmt *st = stmt_new(p, S_ASSIGN, s);
	add_name(p, st, name, name_span);
	st->value = value;
	return st;
}

static void add_name(Parser *p, Stmt *st, const char *name, Span s)
{
	vec_push(p->arena, st->names, name);
	vec_push(p->arena, st->name_spans, s);
}
