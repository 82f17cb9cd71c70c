/* frontend.h: the DSL's syntax tree, parser and elaborator (docs/dsl.md). */
#ifndef MAEC_FRONTEND_H
#define MAEC_FRONTEND_H

#include "ir.h"

/* A byte span [lo, hi) in the file being parsed. */
typedef struct Span {
	uint32_t lo, hi;
} Span;

typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef VEC(Expr *) ExprList;
typedef VEC(Stmt *) StmtList;

typedef enum ExprKind {
	E_INT, E_FLOAT, E_STR, E_BOOL, E_NAME, E_MEMBER, E_INDEX, E_CALL, E_BINARY, E_UNARY,
	E_TUPLE, E_LIST, E_REPEAT, E_SLICE, E_ELLIPSIS
} ExprKind;

/* Binary and unary operators, by the token that spells them. */
typedef enum BinOp {
	B_ADD, B_SUB, B_MUL, B_DIV, B_IDIV, B_MOD, B_POW, B_MATMUL, B_EQ, B_NE, B_LT, B_LE, B_GT,
	B_GE, B_AND, B_OR, U_NEG, U_NOT
} BinOp;

struct Expr {
	ExprKind kind;
	Span span;
	int64_t i;      /* E_INT, E_BOOL */
	double f;       /* E_FLOAT */
	const char *s;  /* E_STR text, E_NAME and E_MEMBER name, keyword of a call argument */
	BinOp op;       /* E_BINARY, E_UNARY */
	Expr *a, *b;    /* operands; E_CALL/E_INDEX/E_MEMBER: a is the callee/object;
	                   E_REPEAT: a is the count, b the call; E_SLICE: a:b (either NULL) */
	ExprList items; /* call arguments, subscripts, tuple and list items */
	VEC(const char *) keys; /* E_CALL: keyword of each argument, NULL for positional */
};

/* A tensor type as written: an optional dtype and a list of dimension expressions. */
typedef struct TypeExpr {
	Span span;
	const char *dtype; /* NULL: f32 */
	Span dtype_span;
	ExprList dims;     /* E_ELLIPSIS stands for any number of leading dimensions */
} TypeExpr;

/* A formal argument: of a block (a value, optionally with a default or a block type)
 * or of a function (a tensor type, or nothing for a compile-time value). */
typedef struct Formal {
	const char *name;
	Span span;
	TypeExpr *type;
	const char *block_type; /* `enc: Encoder` */
	Span block_type_span;
	Expr *deflt;
} Formal;
typedef VEC(Formal) FormalList;

typedef struct FuncDef {
	const char *name;
	Span span, name_span;
	FormalList formals;
	VEC(TypeExpr *) rets; /* declared result types; none: unchecked */
	bool has_rets;
	StmtList body;
} FuncDef;

typedef enum StmtKind { S_ASSIGN, S_UNPACK, S_RETURN, S_PARAM, S_DEF, S_IF } StmtKind;

struct Stmt {
	StmtKind kind;
	Span span;
	VEC(const char *) names; /* assignment targets (S_ASSIGN: one), param name */
	VEC(Span) name_spans;
	Expr *value;     /* right-hand side, returned value(s), param initialiser, if condition */
	TypeExpr *type;  /* S_PARAM */
	bool frozen;     /* S_PARAM */
	FuncDef *def;    /* S_DEF */
	StmtList then, els; /* S_IF */
};

typedef enum DeclKind { D_STMT, D_BLOCK, D_MODEL, D_RECIPE } DeclKind;

typedef struct Decl {
	DeclKind kind;
	const char *name;
	Span span, name_span;
	Stmt *stmt;         /* D_STMT: constant or top-level function */
	FormalList formals; /* D_BLOCK */
	StmtList body;      /* D_BLOCK, D_RECIPE */
	Expr *value;        /* D_MODEL */
} Decl;

typedef struct Ast {
	VEC(Decl *) decls;
} Ast;

/* The parser's state, shared with the scanner (lexer.l, parser.y). */
typedef struct Parser {
	Arena *arena;
	Diag *diag;
	const SrcFile *src;
	Ast *ast;
	uint32_t pos;       /* scanner's byte offset */
	int depth;          /* open ( and [: newlines inside them are spaces */
	int last_token;     /* for newline insertion */
	int nesting;        /* open { ... } and expression nesting, against a limit */
} Parser;

/* parse.c */
Ast *parse_source(Arena *a, Diag *d, const SrcFile *src);
Loc span_loc(const Parser *p, Span s);
void parse_error(Parser *p, Span s, const char *fmt, ...) FMT(3, 4);

/* parse.c: constructors used by the grammar. */
Expr *expr_new(Parser *p, ExprKind k, Span s);
Expr *expr_binary(Parser *p, BinOp op, Expr *a, Expr *b, Span s);
Stmt *stmt_new(Parser *p, StmtKind k, Span s);
Decl *decl_new(Parser *p, DeclKind k, Span s);
const char *binop_spelling(BinOp op);

/* elab.c: evaluates the program and lowers models and recipes to IR. elaborate_with
 * replaces top-level constants by values given on the command line (-D NAME=VALUE). */
typedef struct Define {
	const char *name;
	bool is_float;
	int64_t i;
	double f;
} Define;
Module *elaborate(Arena *a, Diag *d, const SrcFile *src, const Ast *ast);
Module *elaborate_with(Arena *a, Diag *d, const SrcFile *src, const Ast *ast, const Define *defs, int ndefs);

#endif
