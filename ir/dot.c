/* dot.c: writes a module as a Graphviz graph, for looking at (dot -Tsvg), not for
 * reading back.
 *
 * Requires: a module that module_verify accepts (a broken one still gives a graph,
 *   but instructions with equal ids share a node).
 * Guarantees: one cluster per function, labelled with its name; one node per
 *   instruction, labelled "%id op", its type and the DSL "file:line"; an edge from
 *   each operand to its user (numbered when the op takes more than one); params are
 *   boxes, args grey ellipses, and the results meet in a double-octagon "ret" node.
 */
#include "ir.h"

/* Writes s as the inside of a DOT string: quotes and backslashes escaped (a lone
 * backslash would start a label escape such as \N), line breaks as \n, and other
 * control bytes as '?'. */
static void put_escaped(Buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else {
			buf_putc(b, c < ' ' || c == 127 ? '?' : (char)c);
		}
	}
}

static void put_node_name(Buf *b, int func, const Ins *ins)
{
	buf_printf(b, "\"f%d.%d\"", func, ins->id);
}

/* "%id op [name]", the type, and "file:line" when the instruction has a location. */
static void put_label(Buf *b, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	Buf text = {0};
	buf_printf(&text, "%%%d %s", ins->id, oi->name);
	if (ins->op == OP_param && ins->attr[0].g)
		buf_printf(&text, " $%s", ins->attr[0].g->name);
	if (ins->op == OP_arg && ins->attr[0].s)
		buf_printf(&text, " %s", ins->attr[0].s);
	buf_putc(&text, '\n');
	type_print(&text, &ins->type);
	if (ins->loc.file)
		buf_printf(&text, "\n%s:%d", ins->loc.file, ins->loc.line);
	buf_puts(b, "label=\"");
	put_escaped(b, text.p);
	buf_putc(b, '"');
	buf_free(&text);
}

static void put_ins(Buf *b, int func, const Ins *ins)
{
	buf_puts(b, "\t\t");
	put_node_name(b, func, ins);
	buf_puts(b, " [");
	put_label(b, ins);
	if (ins->op == OP_param)
		buf_puts(b, ", shape=box");
	else if (ins->op == OP_arg)
		buf_puts(b, ", style=filled, fillcolor=lightgrey");
	buf_puts(b, "];\n");
	for (int k = 0; k < ins->nargs; k++) {
		buf_puts(b, "\t\t");
		put_node_name(b, func, ins->args[k]);
		buf_puts(b, " -> ");
		put_node_name(b, func, ins);
		if (ins->nargs > 1)
			buf_printf(b, " [label=\"%d\"]", k);
		buf_puts(b, ";\n");
	}
}

static void put_func(Buf *b, int index, const Func *f)
{
	buf_printf(b, "\tsubgraph cluster_%d {\n\t\tlabel=\"@", index);
	put_escaped(b, f->name);
	buf_puts(b, "\";\n");
	for (int i = 0; i < f->body.n; i++)
		put_ins(b, index, f->body.p[i]);
	buf_printf(b, "\t\t\"f%d.ret\" [label=\"ret\", shape=doubleoctagon];\n", index);
	for (int i = 0; i < f->rets.n; i++) {
		buf_puts(b, "\t\t");
		put_node_name(b, index, f->rets.p[i]);
		buf_printf(b, " -> \"f%d.ret\"", index);
		if (i < f->ret_names.n && f->ret_names.p[i]) {
			buf_puts(b, " [label=\"");
			put_escaped(b, f->ret_names.p[i]);
			buf_puts(b, "\"]");
		}
		buf_puts(b, ";\n");
	}
	buf_puts(b, "\t}\n");
}

void module_dot(Buf *b, const Module *m)
{
	buf_puts(b, "digraph maec {\n"
	            "\tgraph [fontname=\"monospace\"];\n"
	            "\tnode [fontname=\"monospace\", fontsize=10];\n"
	            "\tedge [fontname=\"monospace\", fontsize=9];\n");
	for (int i = 0; i < m->funcs.n; i++)
		put_func(b, i, m->funcs.p[i]);
	buf_puts(b, "}\n");
}
