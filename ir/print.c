/* print.c: writes the IR text form (docs/ir.md); read.c reads exactly this. */
#include "ir.h"

static void print_string(Buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < ' ' || c >= 127)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void print_ints(Buf *b, const int64_t *v, int n, bool shape)
{
	buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		if (shape && v[i] == DIM_B)
			buf_putc(b, 'B');
		else
			buf_printf(b, "%lld", (long long)v[i]);
	}
	buf_putc(b, ']');
}

static void print_loc(Buf *b, Loc loc)
{
	if (loc.file)
		buf_printf(b, "  # %s:%d:%d", loc.file, loc.line, loc.col);
	if (loc.file && loc.scope)
		buf_printf(b, " in %s", loc.scope);
	buf_putc(b, '\n');
}

void ins_print(Buf *b, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	buf_printf(b, "  %%%d : ", ins->id);
	type_print(b, &ins->type);
	buf_printf(b, " = %s", oi->name);
	for (int i = 0; i < ins->nargs; i++)
		buf_printf(b, "%s%%%d", i ? ", " : " ", ins->args[i]->id);
	for (int i = 0; i < oi->nattrs; i++) {
		const Attr *at = &ins->attr[i];
		buf_printf(b, " %s=", oi->attr_name[i]);
		switch (oi->attr_kind[i]) {
		case ATTR_INT: buf_printf(b, "%lld", (long long)at->i); break;
		case ATTR_INTS: print_ints(b, at->v, at->nv, false); break;
		case ATTR_SHAPE: print_ints(b, at->v, at->nv, true); break;
		case ATTR_FLOAT: fmt_double(b, at->f); break;
		case ATTR_STR: print_string(b, at->s ? at->s : ""); break;
		case ATTR_GLOBAL: buf_printf(b, "$%s", at->g ? at->g->name : "?"); break;
		case ATTR_DTYPE: buf_puts(b, dtype_name((DType)at->i)); break;
		}
	}
	if (ins->kernel)
		buf_printf(b, " kernel=%d", ins->kernel);
	print_loc(b, ins->loc);
}

void func_print(Buf *b, const Func *f)
{
	buf_printf(b, "func @%s {", f->name);
	print_loc(b, f->loc);
	for (int i = 0; i < f->body.n; i++)
		ins_print(b, f->body.p[i]);
	buf_puts(b, "  ret");
	for (int i = 0; i < f->rets.n; i++) {
		buf_puts(b, i ? ", " : " ");
		if (f->ret_names.p[i])
			buf_printf(b, "%s=", f->ret_names.p[i]);
		buf_printf(b, "%%%d", f->rets.p[i]->id);
	}
	buf_puts(b, "\n}\n");
}

static void print_rval(Buf *b, const RVal *v)
{
	switch (v->kind) {
	case RV_INT: buf_printf(b, "%lld", (long long)v->i); break;
	case RV_FLOAT: fmt_double(b, v->f); break;
	case RV_STR: print_string(b, v->s); break;
	case RV_IDENT: buf_puts(b, v->s); break;
	case RV_FUNC: buf_printf(b, "@%s", v->s); break;
	case RV_LIST:
		buf_putc(b, '[');
		for (int i = 0; i < v->nitems; i++) {
			if (i)
				buf_puts(b, ", ");
			print_rval(b, &v->items[i]);
		}
		buf_putc(b, ']');
		break;
	}
}

static void param_print(Buf *b, const Param *p)
{
	const InitInfo *ii = init_info(p->init);
	buf_printf(b, "param $%s : ", p->name);
	type_print(b, &p->type);
	buf_printf(b, " = %s(", ii->name);
	for (int i = 0; i < ii->nargs; i++) {
		if (i)
			buf_puts(b, ", ");
		fmt_double(b, p->init_arg[i]);
	}
	buf_putc(b, ')');
	if (p->frozen)
		buf_puts(b, " frozen");
	print_loc(b, p->loc);
}

void module_print(Buf *b, const Module *m)
{
	buf_puts(b, "# maec IR " MAEC_VERSION "\n");
	for (int i = 0; i < m->consts.n; i++) {
		buf_printf(b, "const %s = ", m->consts.p[i].key);
		print_rval(b, &m->consts.p[i].val);
		print_loc(b, m->consts.p[i].loc);
	}
	for (int i = 0; i < m->params.n; i++)
		param_print(b, m->params.p[i]);
	for (int i = 0; i < m->funcs.n; i++) {
		buf_putc(b, '\n');
		func_print(b, m->funcs.p[i]);
	}
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *r = m->recipes.p[i];
		buf_printf(b, "\nrecipe @%s {", r->name);
		print_loc(b, r->loc);
		for (int k = 0; k < r->settings.n; k++) {
			buf_printf(b, "  %s = ", r->settings.p[k].key);
			print_rval(b, &r->settings.p[k].val);
			print_loc(b, r->settings.p[k].loc);
		}
		buf_puts(b, "}\n");
	}
}
