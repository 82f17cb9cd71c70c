/* dce.c: dead-code elimination.
 *
 * Requires: a verified module.
 * Guarantees: every instruction left is an argument, a parameter, a store, or reaches a
 *   result or a store;
 *   order and ids of the survivors are unchanged.
 * Invalidates: nothing (it only removes instructions; all ops are pure, and randperm
 *   draws from a counter-based generator keyed by the op, not by a shared stream).
 * Arguments and parameters stay: they are the function's signature and the model's state.
 */
#include <string.h>

#include "passes.h"

static void dce_func(Module *m, Func *f)
{
	int n = f->body.n;
	if (n == 0)
		return;
	/* Instructions refer to earlier ones only, so one backward sweep marks all that
	 * are live. Positions are found through the ids, which are unique. */
	int max_id = 0;
	for (int i = 0; i < n; i++)
		if (f->body.p[i]->id > max_id)
			max_id = f->body.p[i]->id;
	bool *live = arena_alloc(m->arena, (size_t)max_id + 1);
	for (int i = 0; i < f->rets.n; i++)
		live[f->rets.p[i]->id] = true;
	for (int i = n - 1; i >= 0; i--) {
		Ins *ins = f->body.p[i];
		if (ins->op == OP_arg || ins->op == OP_param || op_info(ins->op)->kind == KIND_EFFECT)
			live[ins->id] = true;
		if (!live[ins->id])
			continue;
		for (int k = 0; k < ins->nargs; k++)
			live[ins->args[k]->id] = true;
	}
	int kept = 0;
	for (int i = 0; i < n; i++)
		if (live[f->body.p[i]->id])
			f->body.p[kept++] = f->body.p[i];
	f->body.n = kept;
}

bool pass_dce(Module *m, PassCtx *ctx)
{
	(void)ctx;
	for (int i = 0; i < m->funcs.n; i++)
		dce_func(m, m->funcs.p[i]);
	return true;
}
