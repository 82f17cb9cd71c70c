/* cuda.c: the CUDA target. One readable C++ file per module, built with nvcc (or, for
 * tests without a GPU, with the host C++ compiler against runtime/gpu/gpu_emu.c): the tables
 * of runtime/train/trainer.h (shared with the C target, c.c), each function as the device work
 * it launches, and the source of its kernels, which the trainer compiles at start through
 * NVRTC (runtime/gpu/gpu.h says how they are called).
 *
 * Requires: a verified module after the optim pass; float tensors (no --real=double) and
 * i32 index tensors.
 *
 * Each IR instruction becomes one kernel launch (elementwise, reduction, data movement),
 * one or more cuBLAS GEMMs (matmul, matmul_reduce), a device copy (store, reshape) or host
 * work done before the launches (arg, randperm, scalar). Kernels are specialised to their
 * instruction's static shapes, constants baked in, with the batch B as the one run-time
 * size; instructions that give the same kernel text share one kernel, named after its op
 * and carrying the DSL line of its first use. Every launch passes its site, so a kernel
 * that finds bad data names the op and DSL line of the instruction.
 *
 * Every launch, product, copy and piece of host work is also a record of the cost model
 * (cost.c: its bytes, FLOPs and kind, as emitted), so that --report=cost is the schedule
 * the trainer runs; the site table carries each one's estimate for MAEC_PROFILE.
 *
 * Numerics follow runtime/kernels/cpu.c: the same formulas, sums of reductions, softmax,
 * layernorm and cross-entropy in double. One thread computes one output element (or one
 * line of a softmax or layernorm); long reductions run in two kernels over fixed chunks,
 * so every result is deterministic.
 */
#include <string.h>

#include "cgen.h"
#include "maec_rt.h" /* RT_STREAM_OPS: the random streams of ops */

enum {
	MAX_OPERANDS = 32,  /* RT_GPU_MAX_OPERANDS of runtime/gpu/gpu.h: outputs and inputs of a launch */
};

typedef struct KernelSet {
	Buf src;           /* every kernel's text */
	const char **names;
	const char **texts; /* each kernel's text with @NAME@ for its name, for sharing */
	uint64_t *hashes;
	int n, cap;
	Buf sites;         /* the site table's initialisers */
	int nsites;
	int64_t scratch_bytes, act_bytes, io_bytes;
	int ngraphs;
	bool tiles;        /* the attention kernels' tile functions are in src */
	int64_t batch;     /* the batch the function being emitted is planned for */
	/* Per value id of the function: its place in the io slab (-1: none). The values the
	 * host writes before the launches (arguments, permutations, scalars) live there, not
	 * in the activation slab, whose plan may give their bytes to values made earlier. */
	int64_t *io_off;
	bool *declared;    /* by value id of the function: its pointer is declared */
	const Schedule *sched; /* of the function being emitted */
	/* The cost model's records (cost.c): the next site's, consumed by site(); the site
	 * table's estimates on `device`. */
	CostLog *log;
	CostRec *rec;
	int device;
	Buf site_costs;
} KernelSet;

static KernelSet *ks(CGen *g)
{
	return g->target_state;
}

/* ---------- shapes as C expressions ---------- */

/* A dimension: its number, or B. */
static const char *dim(CGen *g, int64_t d)
{
	return d == DIM_B ? "B" : arena_printf(g->a, "%lld", (long long)d);
}

/* The product of dims[lo, hi) as an expression ("1" when empty). */
static const char *prod(CGen *g, const int64_t *d, int lo, int hi)
{
	int64_t c = 1;
	bool b = false;
	for (int i = lo; i < hi; i++) {
		if (d[i] == DIM_B)
			b = true;
		else
			c *= d[i];
	}
	if (!b)
		return arena_printf(g->a, "%lld", (long long)c);
	return c == 1 ? "B" : arena_printf(g->a, "(B * %lld)", (long long)c);
}

/* The type of x's elements in registers: a bf16 value is computed in float. */
static const char *ktype(const Ins *x)
{
	return x->type.dt == DT_I32 ? "int" : "float";
}

/* ... and in memory: --precision=bf16 stores it in 16 bits (cuda_bf16.h's type). */
static const char *mtype(const Ins *x)
{
	return x->type.dt == DT_BF16 ? "__nv_bfloat16" : ktype(x);
}

/* The element `at` of x's memory as a register value: a bf16 one widened (exactly). */
static const char *load(CGen *g, const Ins *x, const char *at)
{
	return x->type.dt == DT_BF16 ? arena_printf(g->a, "__bfloat162float(%s)", at) : at;
}

/* A register value as x's element in memory: rounded to the nearest bf16 (ties to even)
 * for a bf16 value. */
static const char *stored(CGen *g, const Ins *x, const char *value)
{
	return x->type.dt == DT_BF16 ? arena_printf(g->a, "__float2bfloat16(%s)", value) : value;
}

/* The bytes of n elements of x. */
static int64_t bytes_of(const Ins *x, int64_t n)
{
	return n * (int64_t)dtype_size(x->type.dt);
}

/* x's pointer type in the host code, which only passes addresses (bf16: its bits). */
static const char *host_type(const Ins *x)
{
	return x->type.dt == DT_I32 ? "int32_t" : x->type.dt == DT_BF16 ? "uint16_t" : "float";
}

/* ---------- kernels ---------- */

/* Adds a kernel whose text names itself @NAME@, or finds the one with the same text;
 * returns its index. */
static int kernel(CGen *g, const Ins *ins, const char *base, const char *text)
{
	KernelSet *k = ks(g);
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *s = text; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	for (int i = 0; i < k->n; i++)
		if (k->hashes[i] == h && strcmp(k->texts[i], text) == 0)
			return i;
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->names = arena_grow(g->a, k->names, sizeof *k->names * (size_t)k->n, sizeof *k->names * (size_t)k->cap);
		k->texts = arena_grow(g->a, k->texts, sizeof *k->texts * (size_t)k->n, sizeof *k->texts * (size_t)k->cap);
		k->hashes = arena_grow(g->a, k->hashes, sizeof *k->hashes * (size_t)k->n, sizeof *k->hashes * (size_t)k->cap);
	}
	const char *name = arena_printf(g->a, "%s_%d", base, k->n);
	k->names[k->n] = name;
	k->texts[k->n] = arena_strdup(g->a, text);
	k->hashes[k->n] = h;
	buf_printf(&k->src, "\n/* %s", op_info(ins->op)->name);
	if (ins->loc.file)
		buf_printf(&k->src, ", first from %s:%d:%d", c_comment(g, ins->loc.file), ins->loc.line, ins->loc.col);
	buf_puts(&k->src, " */\n");
	for (const char *s = text; *s; s++) {
		if (strncmp(s, "@NAME@", 6) == 0) {
			buf_puts(&k->src, name);
			s += 5;
		} else {
			buf_putc(&k->src, *s);
		}
	}
	return k->n++;
}

/* A site: the instruction's op and DSL location, for messages. */
static int site(CGen *g, const Ins *ins)
{
	KernelSet *k = ks(g);
	const char *where = ins->loc.file ? arena_printf(g->a, "%s %s:%d:%d", op_info(ins->op)->name, ins->loc.file,
	                                                 ins->loc.line, ins->loc.col)
	                                  : op_info(ins->op)->name;
	buf_printf(&k->sites, "\t%s,\n", c_str(g, where));
	cost_site(&k->site_costs, k->rec, k->device);
	k->rec = NULL;
	return k->nsites++;
}

/* The cost record of the next launch (cost.c): of kind `kind` over `threads` threads at
 * the function's batch, running ins. */
static CostRec *cost_new(CGen *g, CostKind kind, const Ins *ins, int64_t threads)
{
	KernelSet *k = ks(g);
	k->rec = cost_begin(k->log, kind, g->f, ins, k->batch, threads);
	return k->rec;
}

/* ... that writes ins and reads its operands. */
static CostRec *cost_ins(CGen *g, CostKind kind, const Ins *ins, int64_t threads)
{
	CostRec *r = cost_new(g, kind, ins, threads);
	cost_write(r, ins);
	for (int a = 0; a < ins->nargs; a++)
		cost_read(r, ins->args[a]);
	return r;
}

static int64_t numel_at(CGen *g, const Type *t)
{
	return type_numel(t, ks(g)->batch);
}

/* Host code: a launch of kernel ki over `threads` threads with the values' addresses. */
static void launch(CGen *g, const Ins *ins, int ki, const char *threads, int nptr, const char *const *ptrs)
{
	KernelSet *k = ks(g);
	buf_printf(g->out, "\t{\n\t\tconst RtPtrs p_ = {{");
	for (int i = 0; i < nptr; i++)
		buf_printf(g->out, "%s(void *)(%s)", i ? ", " : "", ptrs[i]);
	buf_printf(g->out, "}};\n\t\tTRY(rt_gpu_launch(st, K_%s, %s, B, &p_, %d));\n\t}\n", k->names[ki], threads,
	           site(g, ins));
}

/* The common start of a kernel: its signature and typed operands; out is p.p[0]. */
static void kbegin(Buf *b, const char *out_type, int nin, const char *const *in_types)
{
	buf_printf(b, "MAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n");
	if (out_type)
		buf_printf(b, "\t%s *out = (%s *)p.p[0];\n", out_type, out_type);
	for (int i = 0; i < nin; i++)
		buf_printf(b, "\tconst %s *x%d = (const %s *)p.p[%d];\n", in_types[i], i, in_types[i], i + 1);
}

/* Code that splits the flat index `var` into coordinates c0.. of dims[0, rank) (row-major),
 * only those in need[]. */
static void coords(CGen *g, Buf *b, const char *var, const int64_t *d, int rank, const bool *need)
{
	int last = -1;
	for (int i = 0; i < rank; i++)
		if (need[i])
			last = i;
	if (last < 0)
		return;
	buf_printf(b, "\t\ti64 r_ = %s;\n", var);
	int first = 0;
	while (first < rank && !need[first])
		first++;
	for (int i = rank - 1; i >= first; i--) {
		if (i == first) {
			buf_printf(b, "\t\tconst i64 c%d = r_%s;\n", i, first > 0 ? arena_printf(g->a, " %% %s", dim(g, d[i])) : "");
			break;
		}
		if (need[i])
			buf_printf(b, "\t\tconst i64 c%d = r_ %% %s;\n", i, dim(g, d[i]));
		buf_printf(b, "\t\tr_ /= %s;\n", dim(g, d[i]));
	}
}

/* The offset expression sum of c_i * stride_i for the coordinates whose stride is not
 * zero; strides are expressions ("0" for a broadcast axis). */
static const char *offset(CGen *g, int rank, const char *const *stride)
{
	Buf b = {0};
	for (int i = 0; i < rank; i++) {
		if (strcmp(stride[i], "0") == 0)
			continue;
		if (b.n)
			buf_puts(&b, " + ");
		if (strcmp(stride[i], "1") == 0)
			buf_printf(&b, "c%d", i);
		else
			buf_printf(&b, "c%d * %s", i, stride[i]);
	}
	const char *s = arena_strdup(g->a, b.n ? b.p : "0");
	buf_free(&b);
	return s;
}

/* Row-major strides of dims as expressions. */
static void strides(CGen *g, const int64_t *d, int rank, const char **out)
{
	for (int i = 0; i < rank; i++)
		out[i] = prod(g, d, i + 1, rank);
}

/* ---------- elementwise ---------- */

static const char *unary_expr(CGen *g, int op, bool i32)
{
	if (i32)
		switch (op) {
		case OP_neg: return "(int)(0u - (unsigned)a)";
		case OP_relu: return "a > 0 ? a : 0";
		case OP_abs: return "a < 0 ? (int)(0u - (unsigned)a) : a";
		default: return NULL;
		}
	(void)g;
	switch (op) {
	case OP_neg: return "-a";
	case OP_exp: return "expf(a)";
	case OP_log: return "logf(a)";
	case OP_sqrt: return "sqrtf(a)";
	case OP_rsqrt: return "1.0f / sqrtf(a)";
	case OP_tanh: return "tanhf(a)";
	case OP_sigmoid: return "1.0f / (1.0f + expf(-a))";
	case OP_relu: return "a > 0.0f || a != a ? a : 0.0f";
	case OP_gelu: return "maec_gelu(a)";
	case OP_abs: return "fabsf(a)";
	default: return NULL;
	}
}

static const char *binary_expr(int op, bool i32)
{
	if (i32)
		switch (op) {
		case OP_add: return "(int)((unsigned)a + (unsigned)b)";
		case OP_sub: return "(int)((unsigned)a - (unsigned)b)";
		case OP_mul: return "(int)((unsigned)a * (unsigned)b)";
		case OP_div: return "maec_div_i32(a, b)";
		case OP_pow: return "maec_pow_i32(a, b)";
		case OP_maximum: return "a > b ? a : b";
		case OP_minimum: return "a < b ? a : b";
		case OP_eq: return "a == b ? 1.0f : 0.0f";
		case OP_lt: return "a < b ? 1.0f : 0.0f";
		default: return NULL;
		}
	switch (op) {
	case OP_add: return "a + b";
	case OP_sub: return "a - b";
	case OP_mul: return "a * b";
	case OP_div: return "a / b";
	case OP_pow: return "powf(a, b)";
	case OP_maximum: return "a != a ? a : b != b ? b : a > b ? a : b";
	case OP_minimum: return "a != a ? a : b != b ? b : a < b ? a : b";
	case OP_eq: return "a == b ? 1.0f : 0.0f";
	case OP_lt: return "a < b ? 1.0f : 0.0f";
	default: return NULL;
	}
}

/* The output's dims and, per operand, whether each output axis is broadcast in it,
 * merged: axes of size 1 dropped, neighbours with the same broadcast pattern joined. */
typedef struct Bc {
	int rank, nops;
	int64_t dim[IR_MAX_RANK];
	bool bcast[MAX_OPERANDS][IR_MAX_RANK];
	bool batched[IR_MAX_RANK]; /* the merged axis holds B */
} Bc;

static void bc_init(Bc *bc, const Type *out, int nops, const Type *const *ops)
{
	*bc = (Bc){.nops = nops};
	for (int i = 0; i < out->rank; i++) {
		int64_t d = out->dim[i];
		if (d == 1)
			continue;
		bool bb[MAX_OPERANDS];
		for (int k = 0; k < nops; k++) {
			int j = i - (out->rank - ops[k]->rank);
			bb[k] = j < 0 || ops[k]->dim[j] == 1;
		}
		bool same = bc->rank > 0 && !bc->batched[bc->rank - 1] && d != DIM_B;
		for (int k = 0; k < nops && same; k++)
			same = bc->bcast[k][bc->rank - 1] == bb[k];
		if (same) {
			bc->dim[bc->rank - 1] *= d;
			continue;
		}
		bc->dim[bc->rank] = d;
		bc->batched[bc->rank] = d == DIM_B;
		for (int k = 0; k < nops; k++)
			bc->bcast[k][bc->rank] = bb[k];
		bc->rank++;
	}
}

/* The index of operand k for output coordinates c0.. of bc (or "i" when it has none
 * broadcast). */
static const char *bc_index(CGen *g, const Bc *bc, int k)
{
	bool any = false;
	for (int i = 0; i < bc->rank; i++)
		any |= bc->bcast[k][i];
	if (!any)
		return "i";
	const char *st[IR_MAX_RANK];
	int64_t d[IR_MAX_RANK];
	for (int i = 0; i < bc->rank; i++)
		d[i] = bc->bcast[k][i] ? 1 : bc->dim[i];
	strides(g, d, bc->rank, st);
	for (int i = 0; i < bc->rank; i++)
		if (bc->bcast[k][i])
			st[i] = "0";
	return offset(g, bc->rank, st);
}

/* The output coordinates an index needs: those of the axes an operand with some broadcast
 * axis does not broadcast (operands without any are indexed by the flat index). */
static void bc_need(const Bc *bc, bool *need)
{
	for (int i = 0; i < bc->rank; i++)
		need[i] = false;
	for (int k = 0; k < bc->nops; k++) {
		bool any = false;
		for (int i = 0; i < bc->rank; i++)
			any |= bc->bcast[k][i];
		for (int i = 0; i < bc->rank && any; i++)
			need[i] |= !bc->bcast[k][i];
	}
}

/* out[i] = expr(a, b, ...) over the output, operands broadcast. */
static void elementwise(CGen *g, const Ins *ins, const char *expr)
{
	const Type *ops[MAX_OPERANDS] = {0};
	const char *types[4], *ptrs[5] = {v(g, ins)};
	for (int k = 0; k < ins->nargs; k++) {
		ops[k] = &ins->args[k]->type;
		types[k] = mtype(ins->args[k]);
		ptrs[k + 1] = v(g, ins->args[k]);
	}
	Bc bc;
	bc_init(&bc, &ins->type, ins->nargs, ops);
	bool need[IR_MAX_RANK];
	bc_need(&bc, need);
	Buf b = {0};
	kbegin(&b, mtype(ins), ins->nargs, types);
	buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) {\n", prod(g, bc.dim, 0, bc.rank));
	coords(g, &b, "i", bc.dim, bc.rank, need);
	static const char names[] = "abcd";
	for (int k = 0; k < ins->nargs; k++)
		buf_printf(&b, "\t\tconst %s %c = %s;\n", ktype(ins->args[k]), names[k],
		           load(g, ins->args[k], arena_printf(g->a, "x%d[%s]", k, bc_index(g, &bc, k))));
	buf_printf(&b, "\t\tout[i] = %s;\n\t}\n}\n", stored(g, ins, expr));
	int ki = kernel(g, ins, op_info(ins->op)->name, b.p);
	buf_free(&b);
	cost_ins(g, COST_loop, ins, numel_at(g, &ins->type));
	launch(g, ins, ki, numel(g, &ins->type), ins->nargs + 1, ptrs);
}

static void fill(CGen *g, const Ins *ins, const char *value)
{
	Buf b = {0};
	kbegin(&b, mtype(ins), 0, NULL);
	buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) out[i] = %s;\n}\n", prod(g, ins->type.dim, 0, ins->type.rank),
	           stored(g, ins, value));
	int ki = kernel(g, ins, "fill", b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins)};
	cost_write(cost_new(g, COST_fill, ins, numel_at(g, &ins->type)), ins);
	launch(g, ins, ki, numel(g, &ins->type), 1, ptrs);
}

/* ---------- data movement ---------- */

/* out[i] = x[index(c)] over the output's coordinates, for transpose and expand: `st`
 * holds x's stride for each output axis ("0": broadcast). */
static void gather_copy(CGen *g, const Ins *ins, const char *base, const char *const *st)
{
	const Type *t = &ins->type;
	bool need[IR_MAX_RANK];
	for (int i = 0; i < t->rank; i++)
		need[i] = strcmp(st[i], "0") != 0;
	const char *ty = mtype(ins); /* a move: x's dtype */
	Buf b = {0};
	kbegin(&b, ty, 1, &ty);
	buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) {\n", prod(g, t->dim, 0, t->rank));
	coords(g, &b, "i", t->dim, t->rank, need);
	buf_printf(&b, "\t\tout[i] = x0[%s];\n\t}\n}\n", offset(g, t->rank, st));
	int ki = kernel(g, ins, base, b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0])};
	cost_ins(g, COST_move, ins, numel_at(g, t));
	launch(g, ins, ki, numel(g, t), 2, ptrs);
}

static void transpose(CGen *g, const Ins *ins)
{
	const Type *x = &ins->args[0]->type;
	const char *xs[IR_MAX_RANK], *st[IR_MAX_RANK];
	strides(g, x->dim, x->rank, xs);
	for (int i = 0; i < x->rank; i++)
		st[i] = x->dim[ins->attr[0].v[i]] == 1 ? "0" : xs[ins->attr[0].v[i]];
	gather_copy(g, ins, "transpose", st);
}

static void expand(CGen *g, const Ins *ins)
{
	const Type *x = &ins->args[0]->type, *t = &ins->type;
	const char *xs[IR_MAX_RANK], *st[IR_MAX_RANK];
	strides(g, x->dim, x->rank, xs);
	for (int i = 0; i < t->rank; i++) {
		int j = i - (t->rank - x->rank);
		st[i] = j < 0 || x->dim[j] == 1 ? "0" : xs[j];
	}
	gather_copy(g, ins, "expand", st);
}

/* slice and concat: the tensors as [outer, A, inner] around the axis. */
static void slice(CGen *g, const Ins *ins)
{
	const Type *x = &ins->args[0]->type, *t = &ins->type;
	int axis = (int)ins->attr[0].i;
	const char *ty = mtype(ins); /* a move: x's dtype */
	Buf b = {0};
	kbegin(&b, ty, 1, &ty);
	buf_printf(&b,
	           "\tconst i64 n = %s, inner = %s, len = %lld;\n\tMAEC_LOOP(i, n) {\n"
	           "\t\tconst i64 j = i %% inner, a = i / inner %% len, o = i / inner / len;\n"
	           "\t\tout[i] = x0[(o * %lld + a + %lld) * inner + j];\n\t}\n}\n",
	           prod(g, t->dim, 0, t->rank), prod(g, t->dim, axis + 1, t->rank), (long long)t->dim[axis],
	           (long long)x->dim[axis], (long long)ins->attr[1].i);
	int ki = kernel(g, ins, "slice", b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0])};
	CostRec *r = cost_new(g, COST_move, ins, numel_at(g, t));
	cost_write(r, ins);
	cost_bytes(r, ins->args[0], bytes_of(ins, numel_at(g, t)), false); /* only the part taken is read */
	launch(g, ins, ki, numel(g, t), 2, ptrs);
}

static void concat(CGen *g, const Ins *ins)
{
	const Type *t = &ins->type;
	int axis = (int)ins->attr[0].i;
	if (ins->nargs > MAX_OPERANDS - 1) {
		cgen_fail(g, ins, "the CUDA target joins at most %d tensors in one concat", MAX_OPERANDS - 1);
		return;
	}
	const char *ty = mtype(ins), *types[MAX_OPERANDS], *ptrs[MAX_OPERANDS] = {v(g, ins)};
	for (int k = 0; k < ins->nargs; k++) {
		types[k] = ty;
		ptrs[k + 1] = v(g, ins->args[k]);
	}
	Buf b = {0};
	kbegin(&b, ty, ins->nargs, types);
	buf_printf(&b,
	           "\tconst i64 n = %s, inner = %s, len = %lld;\n\tMAEC_LOOP(i, n) {\n"
	           "\t\tconst i64 j = i %% inner, a = i / inner %% len, o = i / inner / len;\n",
	           prod(g, t->dim, 0, t->rank), prod(g, t->dim, axis + 1, t->rank), (long long)t->dim[axis]);
	int64_t at = 0;
	for (int k = 0; k < ins->nargs; k++) {
		int64_t l = ins->args[k]->type.dim[axis];
		buf_printf(&b, "\t\t%sif (a < %lld)\n\t\t\tout[i] = x%d[(o * %lld + a - %lld) * inner + j];\n", k ? "else " : "",
		           (long long)(at + l), k, (long long)l, (long long)at);
		at += l;
	}
	buf_puts(&b, "\t}\n}\n");
	int ki = kernel(g, ins, "concat", b.p);
	buf_free(&b);
	cost_ins(g, COST_move, ins, numel_at(g, t));
	launch(g, ins, ki, numel(g, t), ins->nargs + 1, ptrs);
}

/* gather: out has idx's dims, then x's from idx's rank on; the index replaces the
 * coordinate at `axis`. scatter_add is its adjoint, into a zeroed output. */
static void gather_like(CGen *g, const Ins *ins, bool scatter)
{
	const Ins *x = ins->args[0], *idx = ins->args[1];
	int axis = (int)ins->attr[0].i, ri = idx->type.rank;
	/* gather: iterate over out (= idx dims ++ x dims[ri..]); scatter: over dy (x here). */
	const Type *it = scatter ? &x->type : &ins->type;
	const Type *big = scatter ? &ins->type : &x->type; /* the tensor the index points into */
	const char *is[IR_MAX_RANK], *bs[IR_MAX_RANK], *ist[IR_MAX_RANK], *bst[IR_MAX_RANK];
	strides(g, idx->type.dim, ri, is);
	strides(g, big->dim, big->rank, bs);
	bool need[IR_MAX_RANK];
	for (int i = 0; i < it->rank; i++) {
		ist[i] = i < ri ? is[i] : "0";
		bst[i] = i == axis ? "0" : bs[i];
		need[i] = true;
	}
	const char *types[] = {mtype(x), "int"};
	Buf b = {0};
	kbegin(&b, mtype(ins), 2, types);
	buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) {\n", prod(g, it->dim, 0, it->rank));
	coords(g, &b, "i", it->dim, it->rank, need);
	buf_printf(&b,
	           "\t\tconst int ix = x1[%s];\n"
	           "\t\tif (ix < 0 || ix >= %lld) {\n\t\t\tmaec_fail(site);\n\t\t\tcontinue;\n\t\t}\n"
	           "\t\tconst i64 at = %s + (i64)ix * %s;\n",
	           offset(g, ri, ist), (long long)big->dim[axis], offset(g, it->rank, bst), bs[axis]);
	buf_puts(&b, scatter ? "\t\tatomicAdd(&out[at], x0[i]);\n\t}\n}\n" : "\t\tout[i] = x0[at];\n\t}\n}\n");
	int ki = kernel(g, ins, scatter ? "scatter_add" : "gather", b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, x), v(g, idx)};
	if (scatter) {
		cost_ins(g, COST_scatter, ins, numel_at(g, it));
	} else { /* a gather reads of x only the elements it takes, as many as it writes */
		CostRec *r = cost_new(g, COST_gather, ins, numel_at(g, it));
		cost_write(r, ins);
		cost_bytes(r, x, bytes_of(x, numel_at(g, it)), false);
		cost_read(r, idx);
	}
	launch(g, ins, ki, numel(g, it), 3, ptrs);
}

/* ---------- reductions ---------- */

/* The input split into groups of adjacent axes, kept or reduced, without size-1 axes;
 * each group's size is c, times B when `batched`. */
typedef struct Groups {
	int n;
	int64_t c[IR_MAX_RANK];
	bool batched[IR_MAX_RANK], red[IR_MAX_RANK];
} Groups;

static void groups(Groups *gr, const Type *x, const Attr *axes)
{
	bool red[IR_MAX_RANK] = {0};
	for (int k = 0; k < axes->nv; k++)
		red[axes->v[k]] = true;
	if (axes->nv == 0)
		for (int i = 0; i < x->rank; i++)
			red[i] = true;
	gr->n = 0;
	for (int i = 0; i < x->rank; i++) {
		int64_t d = x->dim[i];
		bool b = d == DIM_B;
		if (d == 1)
			continue;
		if (gr->n > 0 && gr->red[gr->n - 1] == red[i] && !(b && gr->batched[gr->n - 1])) {
			gr->c[gr->n - 1] *= b ? 1 : d;
			gr->batched[gr->n - 1] |= b;
			continue;
		}
		gr->c[gr->n] = b ? 1 : d;
		gr->batched[gr->n] = b;
		gr->red[gr->n++] = red[i];
	}
}

/* Group i's size as an expression. */
static const char *gdim(CGen *g, const Groups *gr, int i)
{
	if (!gr->batched[i])
		return arena_printf(g->a, "%lld", (long long)gr->c[i]);
	return gr->c[i] == 1 ? "B" : arena_printf(g->a, "(B * %lld)", (long long)gr->c[i]);
}

/* The product of the kept (or reduced) groups' sizes, at batch `batch` when given. */
static const char *gprod(CGen *g, const Groups *gr, bool reduced)
{
	int64_t c = 1;
	bool b = false;
	for (int i = 0; i < gr->n; i++)
		if (gr->red[i] == reduced) {
			c *= gr->c[i];
			b |= gr->batched[i];
		}
	return !b ? arena_printf(g->a, "%lld", (long long)c) : c == 1 ? "B" : arena_printf(g->a, "(B * %lld)", (long long)c);
}

static int64_t gprod_at(const Groups *gr, bool reduced, int64_t batch)
{
	int64_t p = 1;
	for (int i = 0; i < gr->n; i++)
		if (gr->red[i] == reduced)
			p *= gr->c[i] * (gr->batched[i] ? batch : 1);
	return p;
}

/* Code computing `var` = the input offset of output o's first element (kept groups) or
 * of reduced element r (reduced groups). */
static void group_offset(CGen *g, Buf *b, const Groups *gr, bool reduced, const char *idx, const char *var)
{
	const char *st[IR_MAX_RANK];
	for (int i = gr->n - 1; i >= 0; i--)
		st[i] = i == gr->n - 1 ? "1" : arena_printf(g->a, "%s * %s", st[i + 1], gdim(g, gr, i + 1));
	bool any = false;
	for (int i = 0; i < gr->n; i++)
		any |= gr->red[i] == reduced;
	if (!any) {
		buf_printf(b, "\t\tconst i64 %s = 0;\n", var);
		return;
	}
	buf_printf(b, "\t\ti64 %s = 0;\n\t\t{\n\t\t\ti64 q_ = %s;\n", var, idx);
	for (int i = gr->n - 1; i >= 0; i--) {
		if (gr->red[i] != reduced)
			continue;
		buf_printf(b, "\t\t\t%s += q_ %% %s * %s;\n\t\t\tq_ /= %s;\n", var, gdim(g, gr, i), st[i], gdim(g, gr, i));
	}
	buf_puts(b, "\t\t}\n");
}

/* sum, mean, max. Three layouts after grouping:
 *   [R, O]  columns (a bias's gradient): a thread per output walks down its column, the
 *           threads of a warp side by side; long columns are cut into chunks summed by
 *           their own threads, then added up in order by a second kernel (the partial
 *           sums in the scratch slab), so that enough threads run;
 *   [O, R]  rows: a warp per output, lanes striding along the row;
 *   other   a thread per output (or per output and chunk), each reduced element's offset
 *           computed from its index.
 * Sums accumulate in double (i32: in 64 bits, wrapped); the order is fixed by the shapes. */
enum { TARGET_THREADS = 65536, MIN_CHUNK = 32 };

/* A one-kernel reduction's cost: it writes ins and reads x (its operand, or the bf16 value
 * that operand widens). */
static void reduce_cost(CGen *g, const Ins *ins, const Ins *x, int64_t threads)
{
	CostRec *r = cost_new(g, COST_reduce, ins, threads);
	cost_write(r, ins);
	cost_read(r, x);
}

static void reduce(CGen *g, const Ins *ins)
{
	const Ins *x = ins->args[0];
	const Schedule *sc = ks(g)->sched;
	if (x->op == OP_cast && !sc->need[x->id] && sc->call_of[x->id] == sc->call_of[ins->id])
		x = x->args[0]; /* a widened bf16 operand (lower's widening_reductions): loaded as it is */
	int op = ins->op;
	bool i32 = x->type.dt == DT_I32;
	if (i32 && op == OP_mean) {
		cgen_fail(g, ins, "the CUDA target has no mean of i32 tensors");
		return;
	}
	Groups gr;
	groups(&gr, &x->type, &ins->attr[0]);
	const char *O = gprod(g, &gr, false), *R = gprod(g, &gr, true);
	int64_t o_max = gprod_at(&gr, false, ks(g)->batch), r_max = gprod_at(&gr, true, ks(g)->batch);
	bool columns = gr.n == 2 && gr.red[0] && !gr.red[1], rows = gr.n == 2 && !gr.red[0] && gr.red[1];
	const char *acc_t = i32 ? (op == OP_sum ? "unsigned long long" : "int") : op == OP_max ? "float" : "double";
	const char *init = op == OP_max ? (i32 ? "(-2147483647 - 1)" : "-maec_inf()") : "0";
	const char *step = op == OP_max ? (i32 ? "acc = v > acc ? v : acc;" : "acc = v > acc || v != v ? v : acc;")
	                                : (i32 ? "acc += (unsigned long long)(long long)v;" : "acc += (double)v;");
	const char *vt = i32 ? "int" : "float";
	const char *finish = op == OP_mean ? "(float)(acc * (1.0 / (double)R))"
	                     : i32 && op == OP_sum ? "(int)(unsigned)acc"
	                     : i32 ? "acc" : op == OP_sum ? "(float)acc" : "acc";
	const char *types[] = {mtype(x)};
	const char *name = op_info(op)->name;
	Buf b = {0};
	if (rows && r_max >= 32 && !i32) { /* a warp per row */
		kbegin(&b, vt, 1, types);
		buf_printf(&b,
		           "\tconst i64 O = %s, R = %s;\n\tconst int lane = threadIdx.x %% MAEC_WARP;\n"
		           "\tMAEC_WARP_LOOP(o, O) {\n\t\t%s acc = %s;\n"
		           "\t\tfor (i64 r = lane; r < R; r += MAEC_WARP) {\n\t\t\tconst %s v = %s;\n\t\t\t%s\n\t\t}\n"
		           "\t\tacc = %s;\n\t\tif (lane == 0)\n\t\t\tout[o] = %s;\n\t}\n}\n",
		           O, R, acc_t, init, vt, load(g, x, "x0[o * R + r]"), step, op == OP_max ? "maec_warp_max(acc)" : "maec_warp_sum(acc)", finish);
		int ki = kernel(g, ins, arena_printf(g->a, "%s_rows", name), b.p);
		const char *ptrs[] = {v(g, ins), v(g, x)};
		reduce_cost(g, ins, x, o_max * 32);
		launch(g, ins, ki, arena_printf(g->a, "%s * 32", O), 2, ptrs);
		buf_free(&b);
		return;
	}
	/* the loop over reduced elements [lo, hi) of output o into acc */
	Buf loop = {0};
	if (columns) {
		buf_printf(&loop, "\t\tfor (i64 r = lo; r < hi; r++) {\n\t\t\tconst %s v = %s;\n\t\t\t%s\n\t\t}\n", vt,
		           load(g, x, "x0[r * O + o]"), step);
	} else {
		group_offset(g, &loop, &gr, false, "o", "base");
		buf_printf(&loop, "\t\tfor (i64 r = lo; r < hi; r++) {\n");
		Buf inner = {0};
		group_offset(g, &inner, &gr, true, "r", "off");
		buf_puts(&loop, inner.p);
		buf_free(&inner);
		buf_printf(&loop, "\t\t\tconst %s v = %s;\n\t\t\t%s\n\t\t}\n", vt, load(g, x, "x0[base + off]"), step);
	}
	bool two = o_max < TARGET_THREADS && r_max >= 2 * MIN_CHUNK;
	if (!two) {
		kbegin(&b, vt, 1, types);
		buf_printf(&b, "\tconst i64 O = %s, R = %s;\n\tMAEC_LOOP(o, O) {\n\t\tconst i64 lo = 0, hi = R;\n\t\t%s acc = %s;\n",
		           O, R, acc_t, init);
		buf_puts(&b, loop.p);
		buf_printf(&b, "\t\tout[o] = %s;\n\t}\n}\n", finish);
		int ki = kernel(g, ins, name, b.p);
		const char *ptrs[] = {v(g, ins), v(g, x)};
		reduce_cost(g, ins, x, o_max);
		launch(g, ins, ki, O, 2, ptrs);
	} else {
		/* Stage 1: partial[c * O + o] over chunk c of the reduced elements, C chunks of L
		 * (enough chunks for TARGET_THREADS threads, none shorter than MIN_CHUNK);
		 * stage 2: each output's chunks in order. */
		const char *part_t = i32 && op == OP_sum ? "unsigned long long" : "double";
		const char *chunks = arena_printf(g->a,
		                                  "\tconst i64 O = %s, R = %s, CT = (%d + O - 1) / O, CR = (R + %d - 1) / %d;\n"
		                                  "\tconst i64 C = CT < CR ? CT : CR, L = (R + C - 1) / C;\n\t(void)L;\n",
		                                  O, R, TARGET_THREADS, MIN_CHUNK, MIN_CHUNK);
		kbegin(&b, NULL, 1, types);
		buf_printf(&b,
		           "\t%s *part = (%s *)p.p[0];\n%s"
		           "\tMAEC_LOOP(t, O * C) {\n\t\tconst i64 o = t %% O, c = t / O, lo = c * L, hi = lo + L < R ? lo + L : R;\n"
		           "\t\t(void)o;\n\t\t%s acc = %s;\n",
		           part_t, part_t, chunks, acc_t, init);
		buf_puts(&b, loop.p);
		buf_printf(&b, "\t\tpart[t] = (%s)acc;\n\t}\n}\n", part_t);
		int k1 = kernel(g, ins, arena_printf(g->a, "%s_partial", name), b.p);
		b.n = 0;
		b.p[0] = 0;
		/* stage 2: a warp per output, lanes striding over the chunks (a thread per output
		 * for i32 sums, whose 64-bit wrapping sum has no shuffle here) */
		bool warp = !i32;
		kbegin(&b, vt, 0, NULL);
		buf_printf(&b,
		           "\tconst %s *part = (const %s *)p.p[1];\n%s\tconst int lane = %s;\n\t(void)lane;\n"
		           "\t%s(o, O) {\n\t\t%s acc = %s;\n\t\tfor (i64 c = %s; c < C; c += %s) {\n"
		           "\t\t\tconst %s v = part[c * O + o];\n\t\t\t%s\n\t\t}\n%s\t\tif (lane == 0)\n\t\t\tout[o] = %s;\n\t}\n}\n",
		           part_t, part_t, chunks, warp ? "threadIdx.x % MAEC_WARP" : "0", warp ? "MAEC_WARP_LOOP" : "MAEC_LOOP",
		           acc_t, init, warp ? "lane" : "0", warp ? "MAEC_WARP" : "1",
		           op == OP_max ? (i32 ? "int" : "float") : part_t,
		           op == OP_max ? (i32 ? "acc = v > acc ? v : acc;" : "acc = v > acc || v != v ? v : acc;")
		                        : "acc += v;",
		           !warp ? "" : op == OP_max ? "\t\tacc = maec_warp_max(acc);\n" : "\t\tacc = maec_warp_sum(acc);\n",
		           finish);
		int k2 = kernel(g, ins, arena_printf(g->a, "%s_chunks", name), b.p);
		const char *p1[] = {"rt_gpu_scratch(st)", v(g, x)}, *p2[] = {v(g, ins), "rt_gpu_scratch(st)"};
		const char *ct = arena_printf(g->a, "((%d + %s - 1) / %s)", TARGET_THREADS, O, O);
		const char *cr = arena_printf(g->a, "((%s + %d - 1) / %d)", R, MIN_CHUNK, MIN_CHUNK);
		/* the costs: stage 1 reads x and writes the partial sums, stage 2 reads them */
		int64_t ct_n = (TARGET_THREADS + o_max - 1) / o_max, cr_n = (r_max + MIN_CHUNK - 1) / MIN_CHUNK;
		int64_t parts = o_max * (ct_n < cr_n ? ct_n : cr_n), part_bytes = parts * 8;
		CostRec *c1 = cost_new(g, COST_partial, ins, parts);
		cost_read(c1, x);
		cost_bytes(c1, &ks(g)->scratch_bytes, part_bytes, true);
		launch(g, ins, k1, arena_printf(g->a, "%s * (%s < %s ? %s : %s)", O, ct, cr, ct, cr), 2, p1);
		CostRec *c2 = cost_new(g, COST_chunks, NULL, warp ? o_max * 32 : o_max);
		cost_label(c2, ins);
		cost_bytes(c2, &ks(g)->scratch_bytes, part_bytes, false);
		cost_write(c2, ins);
		launch(g, ins, k2, warp ? arena_printf(g->a, "%s * 32", O) : O, 2, p2);
		int64_t bytes = (TARGET_THREADS + o_max) * 8; /* O * C <= O * ceil(TARGET / O) */
		if (bytes > ks(g)->scratch_bytes)
			ks(g)->scratch_bytes = bytes;
	}
	buf_free(&loop);
	buf_free(&b);
}

/* Ops along one axis: the tensor as [outer, n, inner]; one thread per line. */
static void along(CGen *g, const Ins *ins, int axis, const char *base, const char *body, int nin)
{
	const Type *t = &ins->args[0]->type;
	const char *types[] = {ktype(ins->args[0]), nin > 1 ? ktype(ins->args[1]) : "float"};
	Type lines = *t;
	lines.dim[axis] = 1;
	Buf b = {0};
	kbegin(&b, ktype(ins), nin, types);
	buf_printf(&b,
	           "\tconst i64 lines = %s, n = %lld, inner = %s;\n\tMAEC_LOOP(t, lines) {\n"
	           "\t\tconst i64 at = t / inner * n * inner + t %% inner, s = inner;\n\t\t(void)s;\n%s\t}\n}\n",
	           prod(g, lines.dim, 0, lines.rank), (long long)t->dim[axis], prod(g, t->dim, axis + 1, t->rank), body);
	int ki = kernel(g, ins, base, b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0]), nin > 1 ? v(g, ins->args[1]) : NULL};
	cost_ins(g, COST_line, ins, numel_at(g, &lines));
	launch(g, ins, ki, numel(g, &lines), nin + 1, ptrs);
}

/* Rows of n contiguous elements (x = x0 + row * n, o = out + row * n), a warp per row: the
 * lanes take every MAEC_WARP-th element, their partial maxima and double sums combined by
 * shuffles. The host emulation runs warps of one thread, which is the same computation. */
static void rows_warp(CGen *g, const Ins *ins, const char *base, const Type *rows, int64_t n, const char *body, int nin)
{
	const char *types[] = {ktype(ins->args[0]), nin > 1 ? ktype(ins->args[1]) : "float"};
	Buf b = {0};
	kbegin(&b, ktype(ins), nin, types);
	buf_printf(&b,
	           "\tconst i64 rows = %s, n = %lld;\n\tconst int lane = threadIdx.x %% MAEC_WARP;\n"
	           "\tMAEC_WARP_LOOP(row, rows) {\n\t\tfloat *o = out + row * n;\n\t\t(void)o;\n%s\t}\n}\n",
	           prod(g, rows->dim, 0, rows->rank), (long long)n, body);
	int ki = kernel(g, ins, base, b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0]), nin > 1 ? v(g, ins->args[1]) : NULL};
	cost_ins(g, COST_row, ins, numel_at(g, rows) * 32);
	launch(g, ins, ki, arena_printf(g->a, "%s * 32", numel(g, rows)), nin + 1, ptrs);
}

#define LANES "for (i64 k = lane; k < n; k += MAEC_WARP)"

static const char *const log_softmax_warp =
	"\t\tconst float *x = x0 + row * n;\n\t\tfloat m = -maec_inf();\n"
	"\t\t" LANES "\n\t\t\tm = x[k] > m || x[k] != x[k] ? x[k] : m;\n\t\tm = maec_warp_max(m);\n"
	"\t\tdouble sum = 0;\n\t\t" LANES "\n\t\t\tsum += (double)expf(x[k] - m);\n"
	"\t\tconst double lse = log(maec_warp_sum(sum));\n"
	"\t\t" LANES "\n\t\t\to[k] = (float)((double)(x[k] - m) - lse);\n";

static const char *const log_softmax_grad_warp =
	"\t\tconst float *y = x0 + row * n, *dy = x1 + row * n;\n\t\tdouble sum = 0;\n"
	"\t\t" LANES "\n\t\t\tsum += (double)dy[k];\n\t\tsum = maec_warp_sum(sum);\n"
	"\t\t" LANES "\n\t\t\to[k] = (float)((double)dy[k] - (double)expf(y[k]) * sum);\n";

static const char *const softmax_body =
	"\t\tconst float *x = x0 + at;\n\t\tfloat *o = out + at;\n"
	"\t\tfloat m = x[0];\n\t\tfor (i64 k = 1; k < n; k++)\n\t\t\tm = x[k * s] > m || x[k * s] != x[k * s] ? x[k * s] : m;\n"
	"\t\tdouble sum = 0;\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\tsum += (double)(o[k * s] = expf(x[k * s] - m));\n"
	"\t\tconst double inv = 1.0 / sum;\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\to[k * s] = (float)((double)o[k * s] * inv);\n";

static const char *const log_softmax_body =
	"\t\tconst float *x = x0 + at;\n\t\tfloat *o = out + at;\n"
	"\t\tfloat m = x[0];\n\t\tfor (i64 k = 1; k < n; k++)\n\t\t\tm = x[k * s] > m || x[k * s] != x[k * s] ? x[k * s] : m;\n"
	"\t\tdouble sum = 0;\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\tsum += (double)expf(x[k * s] - m);\n"
	"\t\tconst double lse = log(sum);\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\to[k * s] = (float)((double)(x[k * s] - m) - lse);\n";

static const char *const softmax_grad_body =
	"\t\tconst float *y = x0 + at, *dy = x1 + at;\n\t\tfloat *o = out + at;\n"
	"\t\tdouble dot = 0;\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\tdot += (double)dy[k * s] * (double)y[k * s];\n"
	"\t\tfor (i64 k = 0; k < n; k++)\n\t\t\to[k * s] = (float)((double)y[k * s] * ((double)dy[k * s] - dot));\n";

static const char *const log_softmax_grad_body =
	"\t\tconst float *y = x0 + at, *dy = x1 + at;\n\t\tfloat *o = out + at;\n"
	"\t\tdouble sum = 0;\n\t\tfor (i64 k = 0; k < n; k++)\n\t\t\tsum += (double)dy[k * s];\n"
	"\t\tfor (i64 k = 0; k < n; k++)\n\t\t\to[k * s] = (float)((double)dy[k * s] - (double)expf(y[k * s]) * sum);\n";

static const char *const argmax_body =
	"\t\tconst %s *x = x0 + at;\n\t\ti64 best = 0;\n\t\t%s m = x[0];\n"
	"\t\tfor (i64 k = 1; k < n%s; k++) {\n\t\t\tconst %s v = x[k * s];\n"
	"\t\t\tif (%s) {\n\t\t\t\tm = v;\n\t\t\t\tbest = k;\n\t\t\t}\n\t\t}\n\t\tout[t] = (int)best;\n";

/* argsort: a thread per element finds its stable rank in its line (how many elements
 * come before it; NaN sorts last) and writes its index there. */
static void argsort(CGen *g, const Ins *ins)
{
	const Type *t = &ins->args[0]->type;
	int axis = (int)ins->attr[0].i;
	const char *ty = ktype(ins->args[0]);
	Buf b = {0};
	kbegin(&b, "int", 1, &ty);
	buf_printf(&b,
	           "\tconst i64 total = %s, n = %lld, inner = %s;\n\tMAEC_LOOP(i, total) {\n"
	           "\t\tconst i64 j = i %% inner, k = i / inner %% n, line = i / inner / n * n * inner + j;\n"
	           "\t\tconst double key = (double)x0[i];\n\t\ti64 rank = 0;\n"
	           "\t\tfor (i64 q = 0; q < n; q++) {\n\t\t\tconst double o = (double)x0[line + q * inner];\n"
	           "\t\t\tconst bool lt = o < key || (key != key && o == o), gt = key < o || (o != o && key == key);\n"
	           "\t\t\trank += lt || (!gt && q < k);\n\t\t}\n"
	           "\t\tout[line + rank * inner] = (int)k;\n\t}\n}\n",
	           prod(g, t->dim, 0, t->rank), (long long)t->dim[axis], prod(g, t->dim, axis + 1, t->rank));
	int ki = kernel(g, ins, "argsort", b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0])};
	cost_ins(g, COST_argsort, ins, numel_at(g, t));
	launch(g, ins, ki, numel(g, t), 2, ptrs);
}

/* randperm along the last axis, as rt_randperm draws it (runtime/kernels/randperm.c): each element's
 * Philox key, then each element's rank among its row's (key, index) pairs, which is where
 * its index goes. The keys and the seed and step words (written by the host before the
 * step) follow the permutation in the io slab. */
static void randperm(CGen *g, const Ins *ins)
{
	const Type *t = &ins->type;
	int64_t n = t->dim[t->rank - 1], bytes = (numel_at(g, t) * 4 + 255) / 256 * 256;
	const char *keys = arena_printf(g->a, "(char *)%s + %lld", v(g, ins), (long long)bytes);
	const char *words = arena_printf(g->a, "(char *)%s + %lld", v(g, ins), (long long)(2 * bytes));
	Buf b = {0};
	buf_printf(&b,
	           "MAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n"
	           "\tunsigned *keys = (unsigned *)p.p[0];\n\tconst unsigned *w = (const unsigned *)p.p[1]; /* seed, step */\n"
	           "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) keys[i] = maec_philox_key(w[0], w[1], %uu, w[2], "
	           "(unsigned long long)i);\n}\n",
	           prod(g, t->dim, 0, t->rank), (unsigned)(RT_STREAM_OPS + (uint32_t)ins->attr[2].i));
	int ki = kernel(g, ins, "randperm_keys", b.p);
	buf_free(&b);
	CostRec *r = cost_new(g, COST_loop, ins, numel_at(g, t));
	cost_bytes(r, ins, numel_at(g, t) * 4, true);
	const char *kp[] = {keys, words};
	launch(g, ins, ki, numel(g, t), 2, kp);
	buf_printf(&b,
	           "MAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n"
	           "\tint *out = (int *)p.p[0];\n\tconst unsigned *keys = (const unsigned *)p.p[1];\n"
	           "\tconst i64 total = %s, n = %lld;\n\tMAEC_LOOP(i, total) {\n"
	           "\t\tconst i64 k = i %% n, row = i - k;\n\t\tconst unsigned key = keys[i];\n\t\ti64 rank = 0;\n"
	           "\t\tfor (i64 q = 0; q < n; q++) {\n\t\t\tconst unsigned o = keys[row + q];\n"
	           "\t\t\trank += o < key || (o == key && q < k);\n\t\t}\n"
	           "\t\tout[row + rank] = (int)k;\n\t}\n}\n",
	           prod(g, t->dim, 0, t->rank), (long long)n);
	ki = kernel(g, ins, "randperm_rank", b.p);
	buf_free(&b);
	r = cost_new(g, COST_argsort, ins, numel_at(g, t));
	cost_write(r, ins);
	cost_bytes(r, keys, numel_at(g, t) * 4, false);
	const char *rp[] = {v(g, ins), keys};
	launch(g, ins, ki, numel(g, t), 2, rp);
}

static const char *row_code(CGen *g, const Ins *r, const char *X, const char *DY, const char **value);

/* softmax, log_softmax and their gradients: a warp per row when the axis is the last one
 * (contiguous rows), else a thread per strided line. */
static void softmax_family(CGen *g, const Ins *ins)
{
	const Type *t = &ins->args[0]->type;
	int axis = (int)ins->attr[0].i, op = ins->op;
	const char *name = op_info(op)->name;
	int nin = op == OP_softmax_grad || op == OP_log_softmax_grad ? 2 : 1;
	if (axis == t->rank - 1) {
		Type rows = *t;
		rows.rank--;
		const char *value, *pre = row_code(g, ins, "x0[row * n + k]", "x1[row * n + k]", &value);
		const char *body = pre ? arena_printf(g->a, "%s\t\t" LANES "\n\t\t\to[k] = %s;\n", pre, value)
		                   : op == OP_log_softmax ? log_softmax_warp : log_softmax_grad_warp;
		rows_warp(g, ins, name, &rows, t->dim[axis], body, nin);
		return;
	}
	along(g, ins, axis, name,
	      op == OP_softmax ? softmax_body : op == OP_log_softmax ? log_softmax_body
	      : op == OP_softmax_grad ? softmax_grad_body : log_softmax_grad_body,
	      nin);
}

/* text with @X@ and @DY@ replaced by X and DY */
static const char *row_subst(CGen *g, const char *text, const char *X, const char *DY)
{
	Buf w = {0};
	for (const char *t = text; *t; t++)
		if (strncmp(t, "@X@", 3) == 0) {
			buf_puts(&w, X);
			t += 2;
		} else if (strncmp(t, "@DY@", 4) == 0) {
			buf_puts(&w, DY);
			t += 3;
		} else {
			buf_putc(&w, *t);
		}
	const char *r = arena_strdup(g->a, w.p ? w.p : "");
	buf_free(&w);
	return r;
}

/* The code of a row op along the last axis for the row `row` of a warp, reading element k
 * of its operands as the expressions X and DY (softmax_grad's y and dy, layernorm_grad's
 * x and dy): its statistics; then *value, element k's result. layernorm and its
 * gradient: the mean, then the biased variance around it, in double (two passes, as
 * runtime/kernels/cpu.c); softmax: the maximum, then the sum of the exponentials in double; its
 * gradient: the dot product of y and dy in double. NULL for other ops. */
static const char *row_code(CGen *g, const Ins *r, const char *X, const char *DY, const char **value)
{
	Buf b = {0};
	const char *v = NULL;
	switch (r->op) {
	case OP_layernorm:
	case OP_layernorm_grad:
		buf_printf(&b,
		           "\t\tconst double eps = %s;\n"
		           "\t\tdouble mean = 0, var = 0;\n\t\t" LANES "\n\t\t\tmean += (double)@X@;\n"
		           "\t\tmean = maec_warp_sum(mean) / (double)n;\n\t\t" LANES " {\n"
		           "\t\t\tconst double d = (double)@X@ - mean;\n\t\t\tvar += d * d;\n\t\t}\n"
		           "\t\tconst double rstd = 1.0 / sqrt(maec_warp_sum(var) / (double)n + eps);\n",
		           c_double(g, r->attr[0].f));
		v = "(float)(((double)@X@ - mean) * rstd)";
		if (r->op == OP_layernorm)
			break;
		buf_puts(&b, "\t\tdouble sg = 0, sgx = 0;\n"
		             "\t\t" LANES " {\n\t\t\tsg += (double)@DY@;\n"
		             "\t\t\tsgx += (double)@DY@ * (((double)@X@ - mean) * rstd);\n\t\t}\n"
		             "\t\tconst double mg = maec_warp_sum(sg) / (double)n, mgx = maec_warp_sum(sgx) / (double)n;\n");
		v = "(float)(rstd * ((double)@DY@ - mg - (((double)@X@ - mean) * rstd) * mgx))";
		break;
	case OP_softmax:
		buf_puts(&b, "\t\tfloat m = -maec_inf();\n\t\t" LANES " {\n\t\t\tconst float x = @X@;\n"
		             "\t\t\tm = x > m || x != x ? x : m;\n\t\t}\n\t\tm = maec_warp_max(m);\n"
		             "\t\tdouble sum = 0;\n\t\t" LANES "\n\t\t\tsum += (double)expf(@X@ - m);\n"
		             "\t\tconst double inv = 1.0 / maec_warp_sum(sum);\n");
		v = "(float)((double)expf(@X@ - m) * inv)";
		break;
	case OP_softmax_grad:
		buf_puts(&b, "\t\tdouble dot = 0;\n\t\t" LANES "\n\t\t\tdot += (double)@DY@ * (double)@X@;\n"
		             "\t\tdot = maec_warp_sum(dot);\n");
		v = "(float)((double)@X@ * ((double)@DY@ - dot))";
		break;
	default: return NULL;
	}
	const char *code = row_subst(g, b.p, X, DY);
	*value = row_subst(g, v, X, DY);
	buf_free(&b);
	return code;
}

/* layernorm and its gradient over the last axis, a warp per row (row_code). */
static void layernorm(CGen *g, const Ins *ins, bool grad)
{
	const Type *t = &ins->args[0]->type;
	const char *value, *pre = row_code(g, ins, "x0[row * n + k]", "x1[row * n + k]", &value);
	const char *body = arena_printf(g->a, "%s\t\t" LANES "\n\t\t\to[k] = %s;\n", pre, value);
	Type rows = *t;
	rows.rank--;
	rows_warp(g, ins, grad ? "layernorm_grad" : "layernorm", &rows, t->dim[t->rank - 1], body, grad ? 2 : 1);
}

/* cross_entropy: one thread, the rows in order (the sum's order is fixed, as on the
 * CPU); its gradient: a thread per row. A label out of range records the site. */
static void cross_entropy(CGen *g, const Ins *ins, bool grad)
{
	const Type *t = &ins->args[0]->type;
	const char *types[] = {"float", "int", "float"};
	Buf b = {0};
	kbegin(&b, "float", grad ? 3 : 2, types);
	buf_printf(&b, "\tconst i64 rows = %s, c = %lld;\n", dim(g, t->dim[0]), (long long)t->dim[1]);
	const char *lse = "\t\tconst float *x = x0 + r * c;\n\t\tfloat m = x[0];\n"
	                  "\t\tfor (i64 k = 1; k < c; k++)\n\t\t\tm = x[k] > m || x[k] != x[k] ? x[k] : m;\n"
	                  "\t\tdouble se = 0;\n\t\tfor (i64 k = 0; k < c; k++)\n\t\t\tse += (double)expf(x[k] - m);\n"
	                  "\t\tconst double lse = (double)m + log(se);\n"
	                  "\t\tconst int y = x1[r];\n\t\tif (y < 0 || y >= c) {\n\t\t\tmaec_fail(site);\n\t\t\tcontinue;\n\t\t}\n";
	if (!grad)
		buf_printf(&b, "\tMAEC_LOOP(t, 1) {\n\t\tdouble s = 0;\n\t\tfor (i64 r = 0; r < rows; r++) {\n%s"
		               "\t\t\ts += lse - (double)x[y];\n\t\t}\n\t\tout[0] = (float)(s / (double)rows);\n\t}\n}\n",
		           lse);
	else
		buf_printf(&b, "\tconst double scale = (double)x2[0] / (double)rows;\n\tMAEC_LOOP(r, rows) {\n%s"
		               "\t\tfor (i64 k = 0; k < c; k++)\n"
		               "\t\t\tout[r * c + k] = (float)((exp((double)x[k] - lse) - (double)(k == y)) * scale);\n\t}\n}\n",
		           lse);
	int ki = kernel(g, ins, grad ? "cross_entropy_grad" : "cross_entropy", b.p);
	buf_free(&b);
	const char *ptrs[] = {v(g, ins), v(g, ins->args[0]), v(g, ins->args[1]), grad ? v(g, ins->args[2]) : NULL};
	cost_ins(g, grad ? COST_line : COST_serial, ins, !grad ? 1 : t->dim[0] == DIM_B ? ks(g)->batch : t->dim[0]);
	launch(g, ins, ki, grad ? dim(g, t->dim[0]) : "1", grad ? 4 : 3, ptrs);
}

/* ---------- instructions ---------- */

/* A device copy of x's elements. */
static void copy(CGen *g, const Ins *ins, const char *dst, const Ins *x)
{
	CostRec *r = cost_new(g, COST_copy, ins, 0);
	cost_read(r, x);
	cost_bytes(r, ins, bytes_of(x, numel_at(g, &x->type)), true);
	buf_printf(g->out, "\tTRY(rt_gpu_copy(st, %s, %s, %d * (size_t)(%s), %d));\n", dst, v(g, x),
	           (int)dtype_size(x->type.dt), numel(g, &x->type), site(g, ins));
}

/* A float constant as a C++ literal. */
static const char *float_lit(CGen *g, double f)
{
	if (f != f)
		return "maec_nan()";
	if (f > 3.5e38 || f < -3.5e38)
		return f > 0 ? "maec_inf()" : "-maec_inf()";
	const char *s = arena_printf(g->a, "%.9g", f);
	return arena_printf(g->a, "%s%sf", s, strpbrk(s, ".e") ? "" : ".0");
}

static void dims_local(CGen *g, const char *name, const Type *t)
{
	buf_printf(g->out, "\t\tconst int64_t %s[] = {", name);
	for (int i = 0; i < t->rank; i++)
		buf_printf(g->out, "%s%s", i ? ", " : "", dim(g, t->dim[i]));
	buf_puts(g->out, "};\n");
}

/* rt_gpu_matmul's storage types of a product out = x y (both operands of x's dtype). */
static const char *gemm_types(const Ins *out, const Ins *x)
{
	bool in = x->type.dt == DT_BF16, o = out->type.dt == DT_BF16;
	return in && o ? "RT_GEMM_BF16_IN | RT_GEMM_BF16_OUT" : in ? "RT_GEMM_BF16_IN" : o ? "RT_GEMM_BF16_OUT" : "RT_GEMM_F32";
}

static void emit_ins(CGen *g, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	const Ins *x = ins->nargs ? ins->args[0] : NULL;
	bool i32 = ins->type.dt == DT_I32, xi32 = x && x->type.dt == DT_I32;
	if (!cgen_types_ok(g, ins))
		return;
	cgen_comment(g, ins, "");
	switch (ins->op) {
	case OP_store:
		if (x->op == OP_full && x->type.dt == DT_F32 && type_same_dims(&x->type, &ins->args[0]->type)) {
			/* a constant stored (the gradients zeroed): filled in place */
			const char *ptrs[] = {state_slab(g, ins, ins->attr[1].s)};
			Buf b = {0};
			kbegin(&b, "float", 0, NULL);
			buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) out[i] = %s;\n}\n",
			           prod(g, x->type.dim, 0, x->type.rank), float_lit(g, x->attr[2].f));
			int ki = kernel(g, ins, "fill", b.p);
			buf_free(&b);
			cost_bytes(cost_new(g, COST_fill, ins, numel_at(g, &x->type)), ins, numel_at(g, &x->type) * 4, true);
			launch(g, ins, ki, numel(g, &x->type), 1, ptrs);
			return;
		}
		copy(g, ins, state_slab(g, ins, ins->attr[1].s), x);
		return;
	case OP_randperm: randperm(g, ins); return;
	case OP_full:
		fill(g, ins, i32 ? arena_printf(g->a, "%.0f", ins->attr[2].f) : float_lit(g, ins->attr[2].f));
		return;
	case OP_cast: /* to and from bf16: widened as loaded, rounded as stored */
		if (x->type.dt == ins->type.dt)
			copy(g, ins, v(g, ins), x);
		else
			elementwise(g, ins, xi32 ? "(float)a" : i32 ? "maec_f32_to_i32(a)" : "a");
		return;
	case OP_gelu_grad: elementwise(g, ins, "maec_gelu_grad(a, b)"); return;
	case OP_sum:
	case OP_mean:
	case OP_max: reduce(g, ins); return;
	case OP_argmax: {
		const char *ty = xi32 ? "int" : "float";
		along(g, ins, (int)ins->attr[0].i, "argmax",
		      arena_printf(g->a, argmax_body, ty, ty, xi32 ? "" : " && m == m", ty, xi32 ? "v > m" : "v > m || v != v"),
		      1);
		return;
	}
	case OP_softmax:
	case OP_log_softmax:
	case OP_softmax_grad:
	case OP_log_softmax_grad: softmax_family(g, ins); return;
	case OP_layernorm: layernorm(g, ins, false); return;
	case OP_layernorm_grad: layernorm(g, ins, true); return;
	case OP_cross_entropy: cross_entropy(g, ins, false); return;
	case OP_cross_entropy_grad: cross_entropy(g, ins, true); return;
	case OP_matmul:
	case OP_matmul_reduce:
		buf_puts(g->out, "\t{\n");
		dims_local(g, "da", &x->type);
		dims_local(g, "db", &ins->args[1]->type);
		cost_gemm(cost_new(g, COST_gemm, ins, 0), ins);
		buf_printf(g->out, "\t\tTRY(rt_gpu_matmul(st, %s, %s, %s, %s, %d, da, %d, db, %lld, %lld, %d, 0, %d));\n\t}\n",
		           v(g, ins), v(g, x), v(g, ins->args[1]), gemm_types(ins, x), x->type.rank, ins->args[1]->type.rank,
		           (long long)ins->attr[0].i, (long long)ins->attr[1].i, ins->op == OP_matmul_reduce, site(g, ins));
		return;
	case OP_transpose: transpose(g, ins); return;
	case OP_expand: expand(g, ins); return;
	case OP_concat: concat(g, ins); return;
	case OP_slice: slice(g, ins); return;
	case OP_gather: gather_like(g, ins, false); return;
	case OP_scatter_add:
		fill(g, ins, "0.0f");
		gather_like(g, ins, true);
		return;
	case OP_argsort: argsort(g, ins); return;
	default: break;
	}
	const char *e = NULL;
	if (oi->nargs == 1)
		e = unary_expr(g, ins->op, i32);
	else if (oi->nargs == 2)
		e = binary_expr(ins->op, xi32);
	if (e && oi->kind == KIND_ELEMWISE) {
		elementwise(g, ins, e);
		return;
	}
	cgen_fail(g, ins, "the CUDA target cannot emit '%s'%s", oi->name, i32 ? " on i32 tensors" : "");
}

/* ---------- generated loops ---------- */

/* The expression of an elementwise instruction in its operands a and b, or NULL. */
static const char *elementwise_expr(CGen *g, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	const Ins *x = ins->nargs ? ins->args[0] : NULL;
	bool i32 = ins->type.dt == DT_I32, xi32 = x && x->type.dt == DT_I32;
	if (oi->kind != KIND_ELEMWISE || ins->type.dt == DT_I64 || (x && x->type.dt == DT_I64))
		return NULL;
	if (ins->op == OP_gelu_grad)
		return "maec_gelu_grad(a, b)";
	if (ins->op == OP_cast) /* a bf16 operand is a float register already */
		return ins->type.dt == DT_BF16 && x->type.dt != DT_BF16 ? "maec_round_bf16(a)"
		       : xi32 == i32                                   ? "a"
		       : xi32                                          ? "(float)a"
		                                                       : "maec_f32_to_i32(a)";
	if (oi->nargs == 1)
		return unary_expr(g, ins->op, i32);
	if (oi->nargs == 2)
		return binary_expr(ins->op, xi32);
	return NULL;
}

/* A SCHED_LOOP call (or one part of a MULTI): one thread per point of its space, every
 * member computed in registers at the point, each read of memory through the member's
 * affine map; the members others read are written, and the stores. */
typedef struct Loop {
	CGen *g;
	const Schedule *s;
	const SchedCall *c;
	const FuseGroup *grp;
	const Type *space;
	bool *inl;            /* by member index: computed in the branch of the concat that reads it */
	const Ins *in[MAX_OPERANDS]; /* the values read from memory, p.p[nout + k] */
	int nin, nout;
	const char *ptr[MAX_OPERANDS]; /* the launch's operands, host side */
	int nptr;
	bool full;            /* more operands than a launch takes */
	bool used[IR_MAX_RANK]; /* the axes of the space an offset or a concat reads */
	bool read[MAX_OPERANDS]; /* the inputs read, since the caller last cleared it */
	/* a MULTI part (emit_multi): every offset is the point's own index j in its part */
	bool flat, bad;
} Loop;

static int loop_member(const Loop *l, const Ins *x)
{
	for (int i = l->c->lo; i < l->c->hi; i++)
		if (l->grp->ins[i] == x)
			return i;
	return -1;
}

static int loop_input(Loop *l, const Ins *x)
{
	for (int k = 0; k < l->nin; k++)
		if (l->in[k] == x)
			return l->read[k] = true, k;
	if (l->nptr == MAX_OPERANDS) {
		l->full = true;
		return 0;
	}
	l->in[l->nin] = x;
	l->read[l->nin] = true;
	l->ptr[l->nptr++] = v(l->g, x);
	return l->nin++;
}

static void loop_define(Loop *l, Buf *b, int xi, const char *tab);

/* The element offset of coordinates m in a tensor of type t; notes the axes it uses. */
static const char *loop_offset(Loop *l, const FuseMap *m, const Type *t)
{
	SchedLin lin = sched_lin(m, t);
	if (l->flat) { /* j when the map is the identity of the part's space, 0 for a scalar */
		FuseMap id = {.rank = l->space->rank};
		for (int d = 0; d < l->space->rank; d++)
			id.at[d] = (FuseIndex){.n = 1, .dim = {d}, .coef = {1}};
		SchedLin ident = sched_lin(&id, l->space), zero = {0};
		for (int d = 0; d < l->space->rank; d++)
			if (l->space->dim[d] == 1) /* its coordinate is always 0 */
				lin.n[d] = lin.b[d] = ident.n[d] = ident.b[d] = 0;
		if (sched_lin_eq(&lin, &ident) && type_numel(t, 1) == type_numel(l->space, 1))
			return "j";
		if (!sched_lin_eq(&lin, &zero) || type_numel(t, 1) != 1)
			l->bad = true;
		return "0";
	}
	for (int d = 0; d < l->space->rank; d++)
		l->used[d] |= lin.n[d] || lin.b[d];
	return cgen_lin_text(l->g, &lin, l->space->rank);
}

/* The value member ui reads as its operand k. */
static const char *loop_operand(Loop *l, int ui, int k)
{
	CGen *g = l->g;
	const Ins *u = l->grp->ins[ui], *x = sched_src(u->args[k]);
	int xi = loop_member(l, x);
	if (xi >= 0)
		return arena_printf(g->a, "t%d", xi - l->c->lo);
	if (sched_const_full(l->s, x))
		return x->type.dt == DT_I32 ? arena_printf(g->a, "%.0f", x->attr[2].f) : float_lit(g, x->attr[2].f);
	FuseMap m;
	if (!fuse_read_map(l->grp, ui, k, &m))
		BUG("%%%d: no map for operand %d", u->id, k);
	return load(g, x, arena_printf(g->a, "x%d[%s]", loop_input(l, x), loop_offset(l, &m, &x->type)));
}

/* The members a concat's operand k needs computed in its branch, then the operand. */
static void loop_branch(Loop *l, Buf *b, int ci, int k, const char *tab)
{
	const Ins *cat = l->grp->ins[ci];
	bool *want = arena_alloc(l->g->a, sizeof *want * (size_t)(ci + 1));
	memset(want, 0, sizeof *want * (size_t)(ci + 1));
	int x = loop_member(l, sched_src(cat->args[k]));
	if (x >= 0 && l->inl[x])
		want[x] = true;
	for (int i = ci - 1; i >= l->c->lo; i--) /* what the wanted members read, transitively */
		if (want[i])
			for (int a = 0; a < l->grp->ins[i]->nargs; a++) {
				int y = loop_member(l, sched_src(l->grp->ins[i]->args[a]));
				if (y >= 0 && l->inl[y])
					want[y] = true;
			}
	for (int i = l->c->lo; i < ci; i++)
		if (want[i])
			loop_define(l, b, i, tab);
}

/* Statements that define t<id> of member xi (its operands defined before). */
static void loop_define(Loop *l, Buf *b, int xi, const char *tab)
{
	CGen *g = l->g;
	const Ins *x = l->grp->ins[xi];
	const char *ty = ktype(x);
	const int t = xi - l->c->lo;
	if (x->op == OP_concat && l->flat) {
		l->bad = true;
		return;
	}
	if (x->op == OP_concat) {
		const FuseIndex *ax = &l->grp->map[xi].at[x->attr[0].i];
		const char *at = cgen_coord_text(g, ax);
		for (int k = 0; k < ax->n; k++)
			l->used[ax->dim[k]] = true;
		const char *in = arena_printf(g->a, "%s\t", tab);
		buf_printf(b, "%s%s t%d; /* concat */\n", tab, ty, t);
		int64_t end = 0;
		for (int k = 0; k < x->nargs; k++) {
			end += x->args[k]->type.dim[x->attr[0].i];
			if (k + 1 < x->nargs)
				buf_printf(b, "%s%sif (%s < %lld) {\n", tab, k ? "} else " : "", at, (long long)end);
			else
				buf_printf(b, "%s} else {\n", tab);
			loop_branch(l, b, xi, k, in);
			buf_printf(b, "%st%d = %s;\n", in, t, loop_operand(l, xi, k));
		}
		buf_printf(b, "%s}\n", tab);
		return;
	}
	if (x->op == OP_transpose || x->op == OP_expand || x->op == OP_slice) {
		buf_printf(b, "%sconst %s t%d = %s; /* %s */\n", tab, ty, t, loop_operand(l, xi, 0), op_info(x->op)->name);
		return;
	}
	const char *e = elementwise_expr(g, x);
	if (!e) {
		cgen_fail(g, x, "the CUDA target cannot compute '%s' in a loop", op_info(x->op)->name);
		return;
	}
	buf_printf(b, "%s%s t%d;\n%s{ /* %s */\n", tab, ty, t, tab, op_info(x->op)->name);
	static const char names[] = "ab";
	for (int k = 0; k < x->nargs; k++)
		buf_printf(b, "%s\tconst %s %c = %s;\n", tab, ktype(x->args[k]), names[k], loop_operand(l, xi, k));
	buf_printf(b, "%s\tt%d = %s;\n%s}\n", tab, t, e, tab);
}

static void declare(CGen *g, const Ins *x);

/* The launch's outputs, in member order: each member another kernel reads (declared),
 * each store's slot; out[i - lo] its operand index (-1: none). */
static int *loop_outputs(Loop *l, Buf *head)
{
	CGen *g = l->g;
	const SchedCall *c = l->c;
	int call = l->s->call_of[c->ins ? c->ins->id : l->grp->ins[c->lo]->id];
	int *out = arena_alloc(g->a, sizeof *out * (size_t)(c->hi - c->lo));
	for (int i = c->lo; i < c->hi; i++) {
		const Ins *x = l->grp->ins[i];
		out[i - c->lo] = -1;
		if (x->op != OP_store && (!l->s->need[x->id] || l->s->call_of[x->id] != call))
			continue;
		out[i - c->lo] = l->nptr;
		if (x->op == OP_store) {
			buf_printf(head, "\tfloat *o%d = (float *)p.p[%d];\n", l->nptr, l->nptr);
			l->ptr[l->nptr++] = state_slab(g, x, x->attr[1].s);
		} else {
			declare(g, x);
			buf_printf(head, "\t%s *o%d = (%s *)p.p[%d];\n", mtype(x), l->nptr, mtype(x), l->nptr);
			l->ptr[l->nptr++] = v(g, x);
		}
	}
	return out;
}

/* The statements of members [from, hi) at a point: each computed, written where out says,
 * the stores made. False (after a message) when the launch would take too many operands. */
static bool loop_body(Loop *l, Buf *body, const int *out, int from, const char *tab)
{
	const SchedCall *c = l->c;
	for (int i = from; i < c->hi && !l->full; i++) {
		const Ins *x = l->grp->ins[i];
		if (l->inl[i])
			continue;
		const char *w = loop_offset(l, &l->grp->map[i], &x->type);
		if (x->op == OP_store) {
			buf_printf(body, "%so%d[%s] = %s; /* store */\n", tab, out[i - c->lo], w, loop_operand(l, i, 0));
			continue;
		}
		loop_define(l, body, i, tab);
		if (out[i - c->lo] >= 0)
			buf_printf(body, "%so%d[%s] = %s;\n", tab, out[i - c->lo], w,
			           stored(l->g, x, arena_printf(l->g->a, "t%d", i - c->lo)));
	}
	if (l->full)
		cgen_fail(l->g, l->grp->root, "kernel %d reads and writes more than the %d tensors a CUDA launch takes",
		          l->grp->id, MAX_OPERANDS);
	return !l->full;
}

/* The cost of a loop's members (all but skip): their FLOPs, what they write, the stores;
 * the inputs, each read at most once a point. */
static void loop_cost(Loop *l, CostRec *cr, const int *out, int skip)
{
	CGen *g = l->g;
	const SchedCall *c = l->c;
	for (int i = c->lo; i < c->hi; i++) {
		const Ins *x = l->grp->ins[i];
		if (i == skip)
			continue;
		if (x->op == OP_store) {
			cost_label(cr, x);
			cost_bytes(cr, x, bytes_of(x->args[0], numel_at(g, &x->args[0]->type)), true);
			continue;
		}
		cost_op(cr, x);
		if (out[i - c->lo] >= 0)
			cost_write(cr, x);
	}
	for (int e = 0; e < l->nin; e++) { /* a map touches at most a point's worth of elements */
		int64_t n = numel_at(g, &l->in[e]->type), pts = numel_at(g, l->space);
		cost_bytes(cr, l->in[e], bytes_of(l->in[e], n < pts ? n : pts), false);
	}
}

/* The host side of a loop's or a row's launch: its site (kind, DSL line, kernel, ops) and
 * cost, and the launch of kernel ki over `threads` threads. */
static void loop_launch(Loop *l, CostRec *cr, const char *kind, int ki, const char *threads)
{
	CGen *g = l->g;
	KernelSet *k = ks(g);
	const Ins *root = l->grp->ins[l->c->hi - 1];
	const char *ops = cgen_ops_list(g, l->grp, l->c->lo, l->c->hi);
	const char *where = root->loc.file ? arena_printf(g->a, "%s %s:%d:%d (kernel %d: %s)", kind, root->loc.file,
	                                                  root->loc.line, root->loc.col, l->grp->id, ops)
	                                   : arena_printf(g->a, "%s (kernel %d: %s)", kind, l->grp->id, ops);
	buf_printf(&k->sites, "\t%s,\n", c_str(g, where));
	cost_site(&k->site_costs, cr, k->device);
	k->rec = NULL;
	buf_printf(g->out, "\t{\n\t\tconst RtPtrs p_ = {{");
	for (int q = 0; q < l->nptr; q++)
		buf_printf(g->out, "%s(void *)(%s)", q ? ", " : "", l->ptr[q]);
	buf_printf(g->out, "}};\n\t\tTRY(rt_gpu_launch(st, K_%s, %s, B, &p_, %d));\n\t}\n", k->names[ki], threads,
	           k->nsites++);
}

static void emit_loop(CGen *g, const Schedule *s, const SchedCall *c, const Type *space)
{
	const FuseGroup *grp = c->g;
	Loop l = {.g = g, .s = s, .c = c, .grp = grp, .space = space};
	l.inl = arena_alloc(g->a, sizeof *l.inl * (size_t)(grp->nins + 1));
	sched_inline(s, c, l.inl);
	Buf head = {0}, body = {0};
	int *out = loop_outputs(&l, &head);
	l.nout = l.nptr;
	if (!loop_body(&l, &body, out, c->lo, "\t\t")) {
		buf_free(&head);
		buf_free(&body);
		return;
	}
	for (int e = 0; e < l.nin; e++) {
		declare(g, l.in[e]);
		buf_printf(&head, "\tconst %s *x%d = (const %s *)p.p[%d];\n", mtype(l.in[e]), e, mtype(l.in[e]), l.nout + e);
	}
	/* the kernel: the point's coordinates from the flat index, then the members */
	Buf b = {0};
	buf_printf(&b, "MAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n%s", head.p ? head.p : "");
	buf_printf(&b, "\tconst i64 n = %s;\n\tMAEC_LOOP(i, n) {\n", prod(g, space->dim, 0, space->rank));
	coords(g, &b, "i", space->dim, space->rank, l.used);
	buf_printf(&b, "%s\t}\n}\n", body.p ? body.p : "");
	int ki = kernel(g, grp->ins[c->hi - 1], "loop", b.p);
	buf_free(&b);
	buf_free(&head);
	buf_free(&body);
	buf_printf(g->out, "\t/* kernel %d (%s): %s; %s */\n", grp->id, fuse_kind_name(grp->kind),
	           cgen_ops_list(g, grp, c->lo, c->hi), c_comment(g, cgen_where(g, grp->ins[c->hi - 1]->loc)));
	CostRec *cr = cost_new(g, COST_fused, NULL, numel_at(g, space));
	loop_cost(&l, cr, out, -1);
	loop_launch(&l, cr, "loop", ki, numel(g, space));
}

/* A MULTI call as one kernel over the elements of all its parts, one after another: each
 * thread finds its part in a table (its first element, then the offset of each tensor it
 * reads or stores in its slab), and runs the part's body, which every part shares. False,
 * with nothing emitted, when the parts differ in more than their parameters' slots. */
static bool emit_multi(CGen *g, const Schedule *s, const SchedCall *c)
{
	KernelSet *k = ks(g);
	const FuseGroup *grp = c->g;
	int np = c->hi - c->lo;
	Loop *L = arena_alloc(g->a, sizeof *L * (size_t)np);
	SchedCall *parts = arena_alloc(g->a, sizeof *parts * (size_t)np);
	const Ins ***st = arena_alloc(g->a, sizeof *st * (size_t)np);
	int *nst = arena_alloc(g->a, sizeof *nst * (size_t)np);
	Buf body0 = {0};
	bool ok = true;
	for (int p = 0; p < np && ok; p++) {
		parts[p] = (SchedCall){.kind = SCHED_LOOP, .g = grp, .ins = NULL, .lo = grp->part[c->lo + p], .hi = grp->part[c->lo + p + 1]};
		Loop *l = &L[p];
		*l = (Loop){.g = g, .s = s, .c = &parts[p], .grp = grp, .space = &grp->part_space[c->lo + p], .flat = true};
		l->inl = arena_alloc(g->a, sizeof *l->inl * (size_t)(grp->nins + 1));
		sched_inline(s, &parts[p], l->inl);
		st[p] = arena_alloc(g->a, sizeof **st * (size_t)(parts[p].hi - parts[p].lo));
		nst[p] = 0;
		Buf b = {0};
		for (int i = parts[p].lo; i < parts[p].hi && ok; i++) {
			const Ins *x = grp->ins[i];
			if (l->inl[i])
				continue;
			if (x->op == OP_store) {
				const char *w = loop_offset(l, &grp->map[i], &x->type);
				buf_printf(&b, "\t\to%d[%s] = %s; /* store */\n", nst[p], w, loop_operand(l, i, 0));
				st[p][nst[p]++] = x;
				continue;
			}
			ok = !s->need[x->id]; /* only the stores leave the kernel */
			loop_define(l, &b, i, "\t\t");
		}
		ok = ok && !l->bad && !l->full && !g->failed;
		if (p == 0)
			body0 = b;
		else {
			ok = ok && nst[p] == nst[0] && l->nin == L[0].nin && strcmp(b.p ? b.p : "", body0.p ? body0.p : "") == 0;
			buf_free(&b);
		}
	}
	/* each input: the same value in every part (a scalar), or a slot of the same slab */
	int nin = ok ? L[0].nin : 0, *slab = arena_alloc(g->a, sizeof *slab * (size_t)(nin + nst[0] + 1));
	bool *shared = arena_alloc(g->a, sizeof *shared * (size_t)(nin + 1));
	for (int e = 0; e < nin && ok; e++) {
		shared[e] = np > 1 && L[1].in[e] == L[0].in[e];
		for (int p = 0; p < np && ok; p++) {
			const Ins *x = L[p].in[e];
			int sl = -1;
			int64_t off;
			if (x->op == OP_param || x->op == OP_state)
				cgen_slot(g, x, x->op == OP_param ? "param" : x->attr[1].s, &sl, &off);
			ok = shared[e] ? x == L[0].in[e] : sl >= 0 && (p == 0 || sl == slab[e]);
			slab[e] = sl;
		}
	}
	for (int q = 0; q < (ok ? nst[0] : 0); q++) {
		int64_t off;
		for (int p = 0; p < np && ok; p++) {
			int sl;
			cgen_slot(g, st[p][q], st[p][q]->attr[1].s, &sl, &off);
			ok = p == 0 || sl == slab[nin + q];
			slab[nin + q] = sl;
		}
	}
	if (!ok || np < 2 || nst[0] == 0) {
		buf_free(&body0);
		return false;
	}
	/* the table: per part its first element, its stores' offsets, its inputs' offsets */
	int w = 1 + nst[0] + nin;
	int64_t total = 0;
	Buf b = {0};
	buf_printf(&b, "__device__ const i64 @NAME@_parts[%d] = {\n", np * w);
	for (int p = 0; p < np; p++) {
		int64_t off;
		int sl;
		buf_printf(&b, "\t%lld,", (long long)total);
		for (int q = 0; q < nst[0]; q++) {
			cgen_slot(g, st[p][q], st[p][q]->attr[1].s, &sl, &off);
			buf_printf(&b, " %lld,", (long long)off);
		}
		for (int e = 0; e < nin; e++) {
			const Ins *x = L[p].in[e];
			off = 0;
			if (!shared[e])
				cgen_slot(g, x, x->op == OP_param ? "param" : x->attr[1].s, &sl, &off);
			buf_printf(&b, " %lld,", (long long)off);
		}
		buf_printf(&b, " /* %s */\n", c_comment(g, st[p][0]->attr[0].g->name));
		total += type_numel(L[p].space, 1);
	}
	buf_printf(&b, "};\n\nMAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n"
	               "\tfloat *const slab[4] = {(float *)p.p[0], (float *)p.p[1], (float *)p.p[2], (float *)p.p[3]};\n"
	               "\tconst i64 n = %lld;\n\tMAEC_LOOP(i, n) {\n"
	               "\t\tint lo = 0, hi = %d; /* the part: the last that starts at i or before */\n"
	               "\t\twhile (hi - lo > 1) {\n\t\t\tconst int mid = (lo + hi) / 2;\n"
	               "\t\t\tif (@NAME@_parts[mid * %d] <= i)\n\t\t\t\tlo = mid;\n\t\t\telse\n\t\t\t\thi = mid;\n\t\t}\n"
	               "\t\tconst i64 *part = @NAME@_parts + lo * %d;\n\t\tconst i64 j = i - part[0];\n",
	           (long long)total, np, w, w);
	int nshared = 0;
	for (int q = 0; q < nst[0]; q++)
		buf_printf(&b, "\t\tfloat *o%d = slab[%d] + part[%d];\n", q, slab[nin + q], 1 + q);
	for (int e = 0; e < nin; e++) {
		const char *t = mtype(L[0].in[e]);
		if (shared[e])
			buf_printf(&b, "\t\tconst %s *x%d = (const %s *)p.p[%d];\n", t, e, t, 4 + nshared++);
		else
			buf_printf(&b, "\t\tconst float *x%d = slab[%d] + part[%d];\n", e, slab[e], 1 + nst[0] + e);
	}
	buf_printf(&b, "%s\t}\n}\n", body0.p ? body0.p : "");
	const Ins *root = grp->ins[grp->part[c->lo + 1] - 1];
	int ki = kernel(g, root, "multi", b.p);
	buf_free(&b);
	buf_free(&body0);
	/* the host side */
	const char *ops = cgen_ops_list(g, grp, parts[0].lo, parts[0].hi);
	buf_printf(g->out, "\t/* kernel %d (multi): %d tensors, each %s; %s%s */\n", grp->id, np, ops,
	           c_comment(g, cgen_where(g, grp->ins[parts[0].lo]->loc)),
	           np > 1 ? arena_printf(g->a, " and %d more", np - 1) : "");
	CostRec *cr = cost_new(g, COST_fused, NULL, total);
	for (int p = 0; p < np; p++) {
		for (int i = parts[p].lo; i < parts[p].hi; i++) {
			const Ins *x = grp->ins[i];
			if (x->op == OP_store) {
				cost_label(cr, x);
				cost_bytes(cr, x, type_numel(&x->args[0]->type, 1) * 4, true);
			} else {
				cost_op(cr, x);
			}
		}
		for (int e = 0; e < nin; e++)
			cost_read(cr, L[p].in[e]);
	}
	const char *ptrs[MAX_OPERANDS] = {g->slab[0], g->slab[1], g->slab[2], g->slab[3]};
	int nptr = 4;
	for (int e = 0; e < nin; e++)
		if (shared[e]) {
			declare(g, L[0].in[e]);
			if (nptr == MAX_OPERANDS) {
				cgen_fail(g, root, "kernel %d reads more than the %d tensors a CUDA launch takes", grp->id, MAX_OPERANDS);
				return true;
			}
			ptrs[nptr++] = v(g, L[0].in[e]);
		}
	const char *where = arena_printf(g->a, "multi (kernel %d: %d tensors, each %s)", grp->id, np, ops);
	buf_printf(&k->sites, "\t%s,\n", c_str(g, where));
	cost_site(&k->site_costs, cr, k->device);
	k->rec = NULL;
	buf_printf(g->out, "\t{\n\t\tconst RtPtrs p_ = {{");
	for (int q = 0; q < nptr; q++)
		buf_printf(g->out, "%s(void *)(%s)", q ? ", " : "", ptrs[q]);
	buf_printf(g->out, "}};\n\t\tTRY(rt_gpu_launch(st, K_%s, %lld, B, &p_, %d));\n\t}\n", k->names[ki],
	           (long long)total, k->nsites++);
	return true;
}

/* A SCHED_ROW call: the row kernel of a row op (softmax, layernorm, their gradients) along
 * the last axis, a warp per row, with the members around it: the prologue's value of each
 * operand computed where the row kernel reads it (a device function of the point), the
 * epilogue where each element of the result is made. Only the members another kernel
 * reads, and the stores, are written. */
static void emit_row(CGen *g, const Schedule *s, const SchedCall *c)
{
	const FuseGroup *grp = c->g;
	const Ins *r = c->ins;
	const Type *space = &grp->space;
	const int64_t n = space->dim[space->rank - 1];
	Loop l = {.g = g, .s = s, .c = c, .grp = grp, .space = space};
	l.inl = arena_alloc(g->a, sizeof *l.inl * (size_t)(grp->nins + 1));
	sched_inline(s, c, l.inl);
	const int ri = loop_member(&l, r);
	Buf head = {0}, body = {0}, fns = {0};
	int *out = loop_outputs(&l, &head);
	/* the row op's operands: from memory, or a prologue member through its function */
	const char *rd[2] = {"0", "0"};
	Buf pro[2] = {{0}, {0}};
	bool reads[3][MAX_OPERANDS] = {{0}}; /* by each prologue function, by the kernel */
	for (int j = 0; j < r->nargs && j < 2; j++)
		if (loop_member(&l, r->args[j]) < 0) {
			declare(g, r->args[j]);
			buf_printf(&head, "\tconst float *r%d = (const float *)p.p[%d];\n", j, l.nptr);
			l.ptr[l.nptr++] = v(g, r->args[j]);
			rd[j] = arena_printf(g->a, "r%d[row * n + k]", j);
		}
	l.nout = l.nptr; /* the inputs the members read come after */
	for (int j = 0; j < r->nargs && j < 2; j++) {
		int m = loop_member(&l, r->args[j]);
		if (m < 0)
			continue;
		rd[j] = arena_printf(g->a, "@NAME@_in%d(p, row * n + k)", j);
		memset(l.read, 0, sizeof l.read);
		bool *want = arena_alloc(g->a, sizeof *want * (size_t)(grp->nins + 1));
		memset(want, 0, sizeof *want * (size_t)(grp->nins + 1));
		want[m] = true;
		for (int i = m; i >= c->lo; i--)
			if (want[i])
				for (int a = 0; a < grp->ins[i]->nargs; a++) {
					int y = loop_member(&l, sched_src(grp->ins[i]->args[a]));
					if (y >= 0)
						want[y] = true;
				}
		for (int i = c->lo; i <= m; i++)
			if (want[i])
				loop_define(&l, &pro[j], i, "\t");
		buf_printf(&pro[j], "\treturn t%d;\n}\n\n", m - c->lo);
		memcpy(reads[j], l.read, sizeof l.read);
	}
	memset(l.read, 0, sizeof l.read);
	if (out[ri - c->lo] >= 0)
		buf_printf(&body, "\t\t\to%d[i] = %s;\n", out[ri - c->lo], stored(g, r, arena_printf(g->a, "t%d", ri - c->lo)));
	if (!loop_body(&l, &body, out, ri + 1, "\t\t\t")) {
		buf_free(&head);
		buf_free(&body);
		buf_free(&pro[0]);
		buf_free(&pro[1]);
		return;
	}
	/* the inputs and the point's coordinates, for the kernel and each function */
	memcpy(reads[2], l.read, sizeof l.read);
	Buf ins[3] = {{0}, {0}, {0}}, cs = {0};
	for (int e = 0; e < l.nin; e++) {
		declare(g, l.in[e]);
		for (int q = 0; q < 3; q++)
			if (reads[q][e])
				buf_printf(&ins[q], "\tconst %s *x%d = (const %s *)p.p[%d];\n", mtype(l.in[e]), e, mtype(l.in[e]),
				           l.nout + e);
	}
	coords(g, &cs, "i", space->dim, space->rank, l.used);
	for (int d = 0; d < space->rank; d++)
		if (l.used[d])
			buf_printf(&cs, "\t\t(void)c%d;\n", d);
	for (int j = 0; j < 2; j++)
		if (pro[j].p) {
			buf_printf(&fns, "MAEC_DEV float @NAME@_in%d(const RtPtrs &p, i64 i)\n{\n%s", j, ins[j].p ? ins[j].p : "");
			for (const char *q = cs.p; q && *q; q++) /* one tab less */
				if (!(*q == '\t' && (q == cs.p || q[-1] == '\n')))
					buf_putc(&fns, *q);
			buf_puts(&fns, pro[j].p);
			buf_free(&pro[j]);
		}
	const char *value, *pre = row_code(g, r, rd[0], rd[1], &value);
	CHECK(pre);
	Type rows = *space;
	rows.rank--;
	Buf b = {0};
	buf_printf(&b, "%sMAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n%s%s",
	           fns.p ? fns.p : "", head.p ? head.p : "", ins[2].p ? ins[2].p : "");
	buf_printf(&b, "\tconst i64 rows = %s, n = %lld;\n\tconst int lane = threadIdx.x %% MAEC_WARP;\n"
	               "\tMAEC_WARP_LOOP(row, rows) {\n%s\t\t" LANES " {\n\t\t\tconst i64 i = row * n + k;\n",
	           prod(g, rows.dim, 0, rows.rank), (long long)n, pre);
	for (const char *q = cs.p; q && *q; q++) /* one tab deeper */
		buf_printf(&b, "%s%c", q == cs.p || q[-1] == '\n' ? "\t" : "", *q);
	buf_printf(&b, "\t\t\tconst float t%d = %s;\n%s\t\t}\n\t}\n}\n", ri - c->lo, value, body.p ? body.p : "");
	buf_free(&cs);
	for (int q = 0; q < 3; q++)
		buf_free(&ins[q]);
	buf_free(&fns);
	int ki = kernel(g, r, arena_printf(g->a, "%s_row", op_info(r->op)->name), b.p);
	buf_free(&b);
	buf_free(&head);
	buf_free(&body);
	buf_printf(g->out, "\t/* kernel %d (%s): %s; %s */\n", grp->id, fuse_kind_name(grp->kind),
	           cgen_ops_list(g, grp, c->lo, c->hi), c_comment(g, cgen_where(g, grp->ins[c->hi - 1]->loc)));
	CostRec *cr = cost_new(g, COST_row, NULL, numel_at(g, &rows) * 32);
	cost_op(cr, r);
	if (out[ri - c->lo] >= 0)
		cost_write(cr, r);
	loop_cost(&l, cr, out, ri);
	for (int j = 0; j < r->nargs; j++)
		if (loop_member(&l, r->args[j]) < 0)
			cost_read(cr, r->args[j]);
	loop_launch(&l, cr, "row", ki, arena_printf(g->a, "%s * 32", numel(g, &rows)));
}

/* ---------- attention ---------- */

/* The tensor-core tiles the attention kernels use, once in the source before the first:
 * tf32 fragments of 16 x 16 x 8; loads and stores of tiles at any place of a matrix
 * (through the warp's stage when the tile is partial or unaligned, zeros outside the
 * matrix); products in the trainer's precision (maec_precision: fp32 as three tf32
 * products, hi hi + hi lo + lo hi, whose error is of fp32's order; tf32 and bf16 as one). */
static const char attention_tiles[] =
	"\n/* ---- tiles on the tensor cores: the attention kernels' products ---- */\n"
	"#ifdef __CUDACC_RTC__\n#include <mma.h>\n#include <cuda_bf16.h>\n#endif\n"
	"namespace mw = nvcuda::wmma;\n"
	"/* an element of an operand in memory as a float, and a float into one (bf16: rounded) */\n"
	"MAEC_DEV float maec_f32(float x)\n{\n\treturn x;\n}\n"
	"MAEC_DEV float maec_f32(__nv_bfloat16 x)\n{\n\treturn __bfloat162float(x);\n}\n"
	"MAEC_DEV void maec_put(float &d, float x)\n{\n\td = x;\n}\n"
	"MAEC_DEV void maec_put(__nv_bfloat16 &d, float x)\n{\n\td = __float2bfloat16(x);\n}\n"
	"typedef mw::fragment<mw::matrix_a, 16, 16, 8, mw::precision::tf32, mw::row_major> maec_a_row;\n"
	"typedef mw::fragment<mw::matrix_a, 16, 16, 8, mw::precision::tf32, mw::col_major> maec_a_col;\n"
	"typedef mw::fragment<mw::matrix_b, 16, 16, 8, mw::precision::tf32, mw::row_major> maec_b_row;\n"
	"typedef mw::fragment<mw::matrix_b, 16, 16, 8, mw::precision::tf32, mw::col_major> maec_b_col;\n"
	"typedef mw::fragment<mw::accumulator, 16, 16, 8, float> maec_acc;\n"
	"/* The R x C tile at (r0, c0) of an nr x nc matrix whose element (r, c) is at\n"
	" * p[r * rs + c * cs], zeros outside it, into f, row-major (ROW) or column-major; bf16\n"
	" * elements widened through the stage (exactly: tf32 holds every bf16). */\n"
	"template <bool ROW, int R, int C, class F, class T>\n"
	"MAEC_DEV void maec_tile_load(F &f, const T *p, i64 rs, i64 cs, i64 r0, i64 c0, i64 nr, i64 nc, float *stage)\n"
	"{\n"
	"\tconst T *at = p + r0 * rs + c0 * cs;\n"
	"\tconst i64 ld = ROW ? rs : cs;\n"
	"\tif (sizeof(T) == 4 && r0 + R <= nr && c0 + C <= nc && (ROW ? cs : rs) == 1 && ld % 4 == 0 &&\n"
	"\t    ((unsigned long long)at & 31) == 0) {\n"
	"\t\tmw::load_matrix_sync(f, (const float *)at, (unsigned)ld);\n"
	"\t\treturn;\n"
	"\t}\n"
	"\tfor (int e = threadIdx.x % MAEC_WARP; e < R * C; e += MAEC_WARP) {\n"
	"\t\tconst int r = ROW ? e / C : e % R, c = ROW ? e % C : e / R;\n"
	"\t\tstage[e] = r0 + r < nr && c0 + c < nc ? maec_f32(at[r * rs + c * cs]) : 0.0f;\n"
	"\t}\n"
	"\t__syncwarp();\n"
	"\tmw::load_matrix_sync(f, stage, ROW ? C : R);\n"
	"\t__syncwarp();\n"
	"}\n"
	"/* The 16 x 16 tile f at (r0, c0) of an nr x nc row-major matrix p (row stride ld), the\n"
	" * elements inside it (bf16: rounded, through the stage). */\n"
	"template <class T>\n"
	"MAEC_DEV void maec_tile_store(T *p, i64 ld, i64 r0, i64 c0, i64 nr, i64 nc, const maec_acc &f, float *stage)\n"
	"{\n"
	"\tT *at = p + r0 * ld + c0;\n"
	"\tif (sizeof(T) == 4 && r0 + 16 <= nr && c0 + 16 <= nc && ld % 4 == 0 && ((unsigned long long)at & 31) == 0) {\n"
	"\t\tmw::store_matrix_sync((float *)at, f, (unsigned)ld, mw::mem_row_major);\n"
	"\t\treturn;\n"
	"\t}\n"
	"\tmw::store_matrix_sync(stage, f, 16, mw::mem_row_major);\n"
	"\t__syncwarp();\n"
	"\tfor (int e = threadIdx.x % MAEC_WARP; e < 256; e += MAEC_WARP)\n"
	"\t\tif (r0 + e / 16 < nr && c0 + e % 16 < nc)\n"
	"\t\t\tmaec_put(at[e / 16 * ld + e % 16], stage[e]);\n"
	"\t__syncwarp();\n"
	"}\n"
	"/* c += a b in precision prec (maec_precision) */\n"
	"template <class FA, class FB> MAEC_DEV void maec_tile_mma(maec_acc &c, FA &a, FB &b, int prec)\n"
	"{\n"
	"\tif (prec == 0) {\n"
	"\t\tFA al;\n\t\tFB bl;\n"
	"\t\tfor (int i = 0; i < a.num_elements; i++) {\n"
	"\t\t\tconst float h = mw::__float_to_tf32(a.x[i]);\n"
	"\t\t\tal.x[i] = mw::__float_to_tf32(a.x[i] - h);\n\t\t\ta.x[i] = h;\n\t\t}\n"
	"\t\tfor (int i = 0; i < b.num_elements; i++) {\n"
	"\t\t\tconst float h = mw::__float_to_tf32(b.x[i]);\n"
	"\t\t\tbl.x[i] = mw::__float_to_tf32(b.x[i] - h);\n\t\t\tb.x[i] = h;\n\t\t}\n"
	"\t\tmw::mma_sync(c, al, b, c);\n\t\tmw::mma_sync(c, a, bl, c);\n\t\tmw::mma_sync(c, a, b, c);\n"
	"\t\treturn;\n"
	"\t}\n"
	"\tfor (int i = 0; i < a.num_elements; i++)\n\t\ta.x[i] = mw::__float_to_tf32(a.x[i]);\n"
	"\tfor (int i = 0; i < b.num_elements; i++)\n\t\tb.x[i] = mw::__float_to_tf32(b.x[i]);\n"
	"\tmw::mma_sync(c, a, b, c);\n"
	"}\n";

enum { ATTN_WARPS = 8 }; /* RT_GPU_BLOCK / 32 of runtime/gpu/gpu.h: a block's warps */

/* The op names of the loop members in [lo, hi), for comments in the kernel text (no value
 * ids, so that the groups of every block share one kernel). */
static const char *attn_ops(CGen *g, const FuseGroup *grp, int lo, int hi)
{
	Buf b = {0};
	for (int i = lo; i < hi; i++)
		if (!sched_is_free(grp->ins[i]) && grp->ins[i]->op != OP_matmul)
			buf_printf(&b, "%s%s", b.n ? ", " : "", op_info(grp->ins[i]->op)->name);
	const char *r = arena_strdup(g->a, b.p ? b.p : "");
	buf_free(&b);
	return r;
}

/* An operand of a chain member: the chain value t, a constant, or a scalar in memory
 * (p.p[*np], noted in ptr). */
static const char *attn_operand(CGen *g, const Schedule *s, const Ins *x, const Ins *chain, const char **ptr,
                                int *np, Buf *head)
{
	const Ins *src = sched_src(x);
	if (x == chain)
		return "t";
	if (sched_const_full(s, src))
		return float_lit(g, src->attr[2].f);
	declare(g, src);
	buf_printf(head, "\tconst float s%d = *(const float *)p.p[%d];\n", *np, *np);
	ptr[*np] = v(g, src);
	return arena_printf(g->a, "s%d", (*np)++);
}

/* Statements for members (from, to] of a strip-form chain at element k of row `row`: each
 * member applied to t, written where the schedule keeps it. ychain: the members that make
 * softmax_grad's y in the kernel (SchedAttn's ymask), else the others. */
static void attn_chain(CGen *g, const Schedule *s, const FuseGroup *grp, const SchedAttn *at, int from, int to,
                       bool ychain, Buf *b, Buf *head, const char **ptr, int *np)
{
	const int mm = ychain ? at->ymm : at->mm;
	for (int i = from + 1; i <= to; i++) {
		const Ins *x = grp->ins[i];
		/* a product of softmax_grad's y, or the cast that widens y, among them */
		if (sched_is_free(x) || x->op == OP_matmul || i == at->ycast || sched_attn_in_y(at, i) != ychain ||
		    (ychain && (i == at->yrow || i == at->yround)))
			continue;
		const char *e = elementwise_expr(g, x);
		CHECK(e);
		const Ins *chain = NULL;
		for (int j = i - 1; j >= 0 && !chain; j--)
			if (!sched_is_free(grp->ins[j]) && (grp->ins[j]->op != OP_matmul || j == mm) && j != at->ycast &&
			    sched_attn_in_y(at, j) == ychain)
				chain = grp->ins[j];
		const char *ops[2] = {"0", "0"};
		for (int k = 0; k < x->nargs && k < 2; k++)
			ops[k] = attn_operand(g, s, x->args[k], chain, ptr, np, head);
		buf_printf(b, "\t\t\t\t\t{ /* %s */\n\t\t\t\t\t\tconst float a = %s, b = %s;\n\t\t\t\t\t\t(void)b;\n"
		              "\t\t\t\t\t\tt = %s;\n\t\t\t\t\t}\n",
		           op_info(x->op)->name, ops[0], ops[1], e);
		if (s->need[x->id]) {
			declare(g, x);
			buf_printf(head, "\t%s *o%d = (%s *)p.p[%d] + be * (M * N); /* %s */\n", mtype(x), *np, mtype(x), *np,
			           op_info(x->op)->name);
			ptr[*np] = v(g, x);
			buf_printf(b, "\t\t\t\t\to%d[row * N + k] = %s;\n", *np, stored(g, x, "t"));
			(*np)++;
		}
	}
}

/* n + b B as text */
static const char *lin_nb(CGen *g, int64_t n, int64_t b)
{
	if (!b)
		return arena_printf(g->a, "%lld", (long long)n);
	if (!n)
		return b == 1 ? "B" : arena_printf(g->a, "%lld * B", (long long)b);
	return arena_printf(g->a, "(%lld + %lld * B)", (long long)n, (long long)b);
}

/* An operand of an attention kernel (the last two axes its matrix, the others the batch
 * elements), read through its strides over memory (sched_strided): its pointer p.p[*np]
 * at the batch element `be`, NAME, with NAME_rs and NAME_cs its row and column strides,
 * declared in head. */
static void attn_pointer(CGen *g, const SchedStrided st, const char *ty, const char *name, bool out, Buf *head,
                         const char **ptr, int *np)
{
	declare(g, st.base);
	ptr[*np] = st.offset_n || st.offset_b ? arena_printf(g->a, "%s + %s", v(g, st.base), lin_nb(g, st.offset_n, st.offset_b))
	                                      : v(g, st.base);
	const int r = st.rank;
	/* the batch element's offset: be * the innermost lead stride where the lead axes are
	 * contiguous in each other, else coordinate by coordinate */
	bool dense = true;
	for (int i = 0; i + 1 < r - 2; i++)
		dense &= st.dim[i + 1] != DIM_B && st.stride_n[i] == st.stride_n[i + 1] * st.dim[i + 1] &&
		         st.stride_b[i] == st.stride_b[i + 1] * st.dim[i + 1];
	Buf at = {0};
	if (r < 3) {
		buf_puts(&at, "0");
	} else if (dense) {
		buf_printf(&at, "be * %s", lin_nb(g, st.stride_n[r - 3], st.stride_b[r - 3]));
	} else {
		const char *rest = "be";
		for (int i = r - 3; i >= 0; i--) {
			const char *d = dim(g, st.dim[i]);
			buf_printf(&at, "%s(%s%s%s) * %s", at.n ? " + " : "", rest, i ? " % " : "", i ? d : "",
			           lin_nb(g, st.stride_n[i], st.stride_b[i]));
			rest = arena_printf(g->a, "%s / %s", rest, d);
		}
	}
	if (out) { /* the tile stores take adjacent columns */
		CHECK(st.stride_n[r - 1] == 1 && st.stride_b[r - 1] == 0);
		buf_printf(head, "\t%s *%s = (%s *)p.p[%d] + %s;\n\tconst i64 %s_rs = %s;\n", ty, name, ty, (*np)++, at.p, name,
		           lin_nb(g, st.stride_n[r - 2], st.stride_b[r - 2]));
	} else {
		buf_printf(head, "\tconst %s *%s = (const %s *)p.p[%d] + %s;\n\tconst i64 %s_rs = %s, %s_cs = %s;\n", ty, name,
		           ty, (*np)++, at.p, name, lin_nb(g, st.stride_n[r - 2], st.stride_b[r - 2]), name,
		           lin_nb(g, st.stride_n[r - 1], st.stride_b[r - 1]));
	}
	buf_free(&at);
}

static void attn_input(CGen *g, const Schedule *s, const Ins *x, const char *name, Buf *head, const char **ptr, int *np)
{
	SchedStrided st;
	if (!sched_strided(s, x, &st)) {
		cgen_fail(g, x, "the CUDA attention kernel cannot read %%%d with strides", x->id);
		st = (SchedStrided){.base = x, .rank = x->type.rank};
	}
	attn_pointer(g, st, mtype(x), name, false, head, ptr, np);
}

/* A product's output: its own place, or its elements' places in the transpose the
 * schedule has the call write instead (store_as: of it, or of the concat it is a piece of). */
static void attn_output(CGen *g, const Schedule *s, const Ins *x, const char *name, Buf *head, const char **ptr,
                        int *np)
{
	SchedStrided st;
	CHECK(s->store_as[x->id] ? sched_store_strided(s, x, &st) : sched_strided(s, x, &st)); /* else row-major */
	attn_pointer(g, st, mtype(x), name, true, head, ptr, np);
}

/* ATTENTION in the strip form (sched_attention), one kernel: a block of 8 warps per batch
 * element, its rows in strips of 16. For each strip: R = A B^T on the tensor cores into a
 * strip of shared memory; each row through the prologue, the row op (row_code: the same
 * numerics as the row kernels) and the epilogue, the values others read written as they
 * are made; then the products that read the rows: X C for the strip's rows of the output,
 * X^T C added into tiles each warp keeps in registers over all the strips, stored at the
 * end. R and the values no other kernel reads never reach memory. */
static void emit_attention(CGen *g, const Schedule *s, const SchedCall *c)
{
	KernelSet *ks_ = ks(g);
	const FuseGroup *grp = c->g;
	SchedAttn at;
	const char *why = sched_attention(grp, &at);
	if (why)
		BUG("kernel %d: %s", grp->id, why);
	const Ins *mm = grp->ins[at.mm], *r = grp->ins[at.row];
	const bool ymade = at.yrow >= 0; /* softmax_grad's y recomputed here, into ystrip */
	bool ys = ymade; /* a product reads softmax_grad's y transposed: its strip in shared memory */
	for (int q = 0; q < at.nprod; q++)
		ys |= at.reads_y[q];
	const Type *rt = &mm->type;
	const int64_t np16 = (at.n + 15) / 16 * 16;
	const char *ptr[MAX_OPERANDS];
	int np = 0;
	Buf head = {0}, pro = {0}, epi = {0}, prods = {0}, fin = {0};
	/* R's operands, softmax_grad's y */
	attn_input(g, s, mm->args[0], "A", &head, ptr, &np);
	attn_input(g, s, mm->args[1], "Bm", &head, ptr, &np);
	const char *y = NULL;
	Buf ybody = {0}; /* ymade: each row of Y, made in ystrip */
	if (ymade) {
		const Ins *ym = grp->ins[at.ymm], *yrow = grp->ins[at.yrow];
		attn_input(g, s, ym->args[0], "Ay", &head, ptr, &np);
		attn_input(g, s, ym->args[1], "By", &head, ptr, &np);
		Buf ypro = {0};
		attn_chain(g, s, grp, &at, at.ymm, at.yrow - 1, true, &ypro, &head, ptr, &np);
		const char *yvalue, *ystats = row_code(g, yrow, "yr[k]", "yr[k]", &yvalue);
		CHECK(ystats);
		buf_printf(&ybody,
		           "\t\t\t\t{ /* Y's row, recomputed: %s */\n\t\t\t\tfloat *yr = ystrip + rr * NP;\n"
		           "\t\t\t\tfor (i64 k = lane; k < N; k += MAEC_WARP) {\n\t\t\t\t\tfloat t = %s;\n%s\t\t\t\t\tyr[k] = t;\n"
		           "\t\t\t\t}\n\t\t\t\t__syncwarp();\n",
		           attn_ops(g, grp, at.ymm + 1, at.yrow + 1), ym->type.dt == DT_BF16 ? "maec_round_bf16(yr[k])" : "yr[k]",
		           ypro.p ? ypro.p : "");
		for (const char *q = ystats; *q; q++)
			buf_printf(&ybody, "%s%c", q == ystats || q[-1] == '\n' ? "\t\t" : "", *q);
		buf_printf(&ybody,
		           "\t\t\t\t__syncwarp();\n\t\t\t\tfor (i64 k = lane; k < N; k += MAEC_WARP)\n\t\t\t\t\tyr[k] = %s;\n"
		           "\t\t\t\t__syncwarp();\n\t\t\t\t}\n",
		           yvalue);
		buf_free(&ypro);
		y = "ystrip[rr * NP + k]";
	} else if (r->op == OP_softmax_grad) { /* softmax_grad's y, in memory (or its bf16 form there, widened) */
		const Ins *ym = at.ycast >= 0 ? grp->ins[at.ycast]->args[0] : r->args[0];
		attn_input(g, s, ym, "Y", &head, ptr, &np);
		y = load(g, ym, "Y[row * Y_rs + k * Y_cs]");
	}
	/* the product R itself, when another kernel reads it */
	if (s->need[mm->id]) {
		declare(g, mm);
		buf_printf(&head, "\t%s *o%d = (%s *)p.p[%d] + be * (M * N); /* R */\n", mtype(mm), np, mtype(mm), np);
		ptr[np] = v(g, mm);
		buf_printf(&pro, "\t\t\t\t\to%d[row * N + k] = %s;\n", np++, stored(g, mm, "t"));
	}
	attn_chain(g, s, grp, &at, at.mm, at.row - 1, false, &pro, &head, ptr, &np);
	const char *value, *stats = row_code(g, r, y ? y : "xr[k]", "xr[k]", &value);
	CHECK(stats);
	if (s->need[r->id]) {
		declare(g, r);
		buf_printf(&head, "\t%s *o%d = (%s *)p.p[%d] + be * (M * N); /* %s */\n", mtype(r), np, mtype(r), np,
		           op_info(r->op)->name);
		ptr[np] = v(g, r);
		buf_printf(&epi, "\t\t\t\t\to%d[row * N + k] = %s;\n", np++, stored(g, r, "t"));
	}
	attn_chain(g, s, grp, &at, at.row, at.last, false, &epi, &head, ptr, &np);
	/* the products that read X */
	for (int q = 0; q < at.nprod; q++) {
		const Ins *x = grp->ins[at.prod[q]], *cm = x->args[1];
		const int64_t e = x->type.dim[x->type.rank - 1], et = (e + 15) / 16;
		const bool tr = x->attr[0].i;
		attn_input(g, s, cm, arena_printf(g->a, "C%d", q), &head, ptr, &np);
		buf_printf(&head, "\t/* O%d = %s%s C%d%s */\n", q, at.reads_y[q] ? "Y" : "X", tr ? "^T" : "", q,
		           s->store_as[x->id] ? ", written transposed" : "");
		attn_output(g, s, x, arena_printf(g->a, "O%d", q), &head, ptr, &np);
		if (!tr) {
			buf_printf(&prods,
			           "\t\t/* O%d = X C%d: the strip's rows, a warp per 16 columns */\n"
			           "\t\tfor (int t = warp; t < %lld; t += %d) {\n"
			           "\t\t\tmaec_acc c;\n\t\t\tmw::fill_fragment(c, 0.0f);\n"
			           "\t\t\tfor (int k0 = 0; k0 < N; k0 += 8) {\n"
			           "\t\t\t\tmaec_a_row a;\n\t\t\t\tmaec_b_row b;\n"
			           "\t\t\t\tmw::load_matrix_sync(a, strip + k0, NP);\n"
			           "\t\t\t\tmaec_tile_load<true, 8, 16>(b, C%d, C%d_rs, C%d_cs, k0, t * 16, N, %lld, stage);\n"
			           "\t\t\t\tmaec_tile_mma(c, a, b, prec);\n\t\t\t}\n"
			           "\t\t\tmaec_tile_store(O%d, O%d_rs, r0, t * 16, M, %lld, c, stage);\n\t\t}\n",
			           q, q, (long long)et, ATTN_WARPS, q, q, q, (long long)e, q, q, (long long)e);
			continue;
		}
		const int64_t tiles = (np16 / 16) * et, per = (tiles + ATTN_WARPS - 1) / ATTN_WARPS;
		buf_printf(&head, "\tmaec_acc acc%d[%lld]; /* O%d = %s^T C%d: tile warp + %d i of its %lld */\n", q,
		           (long long)per, q, at.reads_y[q] ? "Y" : "X", q, ATTN_WARPS, (long long)tiles);
		buf_printf(&head, "\tfor (int i = 0; i < %lld; i++)\n\t\tmw::fill_fragment(acc%d[i], 0.0f);\n", (long long)per, q);
		buf_printf(&prods,
		           "\t\t/* O%d += %s^T C%d over the strip's rows */\n"
		           "#pragma unroll\n\t\tfor (int i = 0; i < %lld; i++) {\n"
		           "\t\t\tconst int t = warp + %d * i;\n\t\t\tif (t >= %lld)\n\t\t\t\tbreak;\n"
		           "\t\t\tfor (int k0 = 0; k0 < 16; k0 += 8) {\n"
		           "\t\t\t\tmaec_a_col a;\n\t\t\t\tmaec_b_row b;\n"
		           "\t\t\t\tmw::load_matrix_sync(a, %s + k0 * NP + t / %lld * 16, NP);\n"
		           "\t\t\t\tmaec_tile_load<true, 8, 16>(b, C%d, C%d_rs, C%d_cs, r0 + k0, t %% %lld * 16, M, %lld, stage);\n"
		           "\t\t\t\tmaec_tile_mma(acc%d[i], a, b, prec);\n\t\t\t}\n\t\t}\n",
		           q, at.reads_y[q] ? "Y" : "X", q, (long long)per, ATTN_WARPS, (long long)tiles,
		           at.reads_y[q] ? "ystrip" : "strip", (long long)et, q, q, q, (long long)et, (long long)e, q);
		buf_printf(&fin,
		           "#pragma unroll\n\tfor (int i = 0; i < %lld; i++) {\n"
		           "\t\tconst int t = warp + %d * i;\n\t\tif (t >= %lld)\n\t\t\tbreak;\n"
		           "\t\tmaec_tile_store(O%d, O%d_rs, t / %lld * 16, t %% %lld * 16, N, %lld, acc%d[i], stage);\n\t}\n",
		           (long long)per, ATTN_WARPS, (long long)tiles, q, q, (long long)et, (long long)et, (long long)e, q);
	}
	if (np > MAX_OPERANDS)
		BUG("kernel %d: %d operands", grp->id, np);
	Buf products = {0};
	for (int q = 0; q < at.nprod; q++)
		buf_printf(&products, "%sO%d = %s%s C%d", q ? ", " : "", q, at.reads_y[q] ? "Y" : "X",
		           grp->ins[at.prod[q]]->attr[0].i ? "^T" : "", q);
	Buf b = {0};
	buf_printf(&b,
	           "/* R = A B^T (%lld x %lld, inner %lld) -> %s -> %s:\n"
	           " * a block of %d warps per batch element, the rows in strips of 16%s */\n",
	           (long long)at.m, (long long)at.n, (long long)at.d, attn_ops(g, grp, at.mm + 1, at.last + 1), products.p,
	           ATTN_WARPS,
	           ymade ? arena_printf(g->a, ";\n * Y recomputed: the softmax of Ay By^T (inner %lld), never in memory",
	                                (long long)at.yd)
	                 : "");
	buf_printf(&b,
	           "MAEC_KERNEL @NAME@(i64 B, RtPtrs p, int site)\n{\n\t(void)B;\n\t(void)site;\n"
	           "\tconst i64 M = %lld, N = %lld, D = %lld, n = N;\n\tenum { NP = %lld }; /* N rounded up to 16 */\n"
	           "\t__shared__ __align__(32) float strip[16 * NP];\n%s"
	           "\t__shared__ __align__(32) float stages[%d][256];\n"
	           "\tconst int warp = threadIdx.x / MAEC_WARP, lane = threadIdx.x %% MAEC_WARP, prec = maec_precision;\n"
	           "\tfloat *stage = stages[warp];\n"
	           "\tconst i64 be = blockIdx.x;\n%s",
	           (long long)at.m, (long long)at.n, (long long)at.d, (long long)np16,
	           ys ? "\t__shared__ __align__(32) float ystrip[16 * NP]; /* the strip's rows of Y */\n" : "", ATTN_WARPS,
	           head.p);
	buf_printf(&b,
	           "\tfor (i64 r0 = 0; r0 < M; r0 += 16) {\n"
	           "\t\t/* R = A B^T: the strip's 16 rows, a warp per 16 keys */\n"
	           "\t\tfor (int t = warp; t < NP / 16; t += %d) {\n"
	           "\t\t\tmaec_acc c;\n\t\t\tmw::fill_fragment(c, 0.0f);\n"
	           "\t\t\tfor (int k0 = 0; k0 < D; k0 += 8) {\n"
	           "\t\t\t\tmaec_a_row a;\n\t\t\t\tmaec_b_col b;\n"
	           "\t\t\t\tmaec_tile_load<true, 16, 8>(a, A, A_rs, A_cs, r0, k0, M, D, stage);\n"
	           "\t\t\t\tmaec_tile_load<false, 8, 16>(b, Bm, Bm_cs, Bm_rs, k0, t * 16, D, N, stage);\n"
	           "\t\t\t\tmaec_tile_mma(c, a, b, prec);\n\t\t\t}\n"
	           "\t\t\tmw::store_matrix_sync(strip + t * 16, c, NP, mw::mem_row_major);\n\t\t}\n"
	           "\t\t__syncthreads();\n",
	           ATTN_WARPS);
	if (ymade) /* Y's rows recomputed: Ay By^T on the tensor cores into ystrip, as R below */
		buf_printf(&b,
		           "\t\t/* Ay By^T: the strip's 16 rows of Y's product, a warp per 16 keys */\n"
		           "\t\tfor (int t = warp; t < NP / 16; t += %d) {\n"
		           "\t\t\tmaec_acc c;\n\t\t\tmw::fill_fragment(c, 0.0f);\n"
		           "\t\t\tfor (int k0 = 0; k0 < %lld; k0 += 8) {\n"
		           "\t\t\t\tmaec_a_row a;\n\t\t\t\tmaec_b_col b;\n"
		           "\t\t\t\tmaec_tile_load<true, 16, 8>(a, Ay, Ay_rs, Ay_cs, r0, k0, M, %lld, stage);\n"
		           "\t\t\t\tmaec_tile_load<false, 8, 16>(b, By, By_cs, By_rs, k0, t * 16, %lld, N, stage);\n"
		           "\t\t\t\tmaec_tile_mma(c, a, b, prec);\n\t\t\t}\n"
		           "\t\t\tmw::store_matrix_sync(ystrip + t * 16, c, NP, mw::mem_row_major);\n\t\t}\n"
		           "\t\t__syncthreads();\n",
		           ATTN_WARPS, (long long)at.yd, (long long)at.yd, (long long)at.yd);
	buf_printf(&b,
	           "\t\t/* each row: %s, a warp per row; X back into the strip, zeros past the rows */\n"
	           "\t\tfor (int rr = warp; rr < 16; rr += %d) {\n"
	           "\t\t\tconst i64 row = r0 + rr;\n\t\t\tfloat *xr = strip + rr * NP;\n"
	           "\t\t\tif (row < M) {\n%s",
	           attn_ops(g, grp, at.mm + 1, at.last + 1), ATTN_WARPS, ybody.p ? ybody.p : "");
	/* the prologue, in place: R's value is its bf16 rounding when the product is bf16 */
	const bool r16 = mm->type.dt == DT_BF16;
	if (pro.p || r16)
		buf_printf(&b,
		           "\t\t\t\tfor (i64 k = lane; k < N; k += MAEC_WARP) {\n\t\t\t\t\tfloat t = %s;\n%s\t\t\t\t\txr[k] = t;\n"
		           "\t\t\t\t}\n\t\t\t\t__syncwarp();\n",
		           r16 ? "maec_round_bf16(xr[k])" : "xr[k]", pro.p ? pro.p : "");
	/* the row's statistics: row_code's text, two tabs deeper */
	for (const char *q = stats; *q; q++)
		buf_printf(&b, "%s%c", q == stats || q[-1] == '\n' ? "\t\t" : "", *q);
	/* the products Y^T C read Y's bf16 rounding: once the row op is done with Y's row */
	const char *yround = at.yround >= 0 ? "\t\t\t\t__syncwarp();\n\t\t\t\tfor (i64 k = lane; k < N; k += MAEC_WARP)\n"
	                                      "\t\t\t\t\tystrip[rr * NP + k] = maec_round_bf16(ystrip[rr * NP + k]);\n"
	                                    : "";
	buf_printf(&b,
	           "\t\t\t\t__syncwarp();\n"
	           "\t\t\t\tfor (i64 k = lane; k < N; k += MAEC_WARP) {\n%s\t\t\t\t\tfloat t = %s;\n%s\t\t\t\t\txr[k] = t;\n\t\t\t\t}\n%s"
	           "\t\t\t\tfor (i64 k = N + lane; k < NP; k += MAEC_WARP)\n\t\t\t\t\txr[k] = %s0.0f;\n"
	           "\t\t\t} else {\n"
	           "\t\t\t\tfor (i64 k = lane; k < NP; k += MAEC_WARP)\n\t\t\t\t\txr[k] = %s0.0f;\n\t\t\t}\n\t\t}\n"
	           "\t\t__syncthreads();\n%s\t\t__syncthreads();\n\t}\n%s}\n",
	           ys && !ymade ? arena_printf(g->a, "\t\t\t\t\tystrip[rr * NP + k] = %s;\n", y) : "", value,
	           epi.p ? epi.p : "", yround, ys ? "ystrip[rr * NP + k] = " : "", ys ? "ystrip[rr * NP + k] = " : "", prods.p,
	           fin.p ? fin.p : "");
	if (!ks_->tiles) {
		buf_puts(&ks_->src, attention_tiles);
		ks_->tiles = true;
	}
	int ki = kernel(g, r, r->op == OP_softmax ? "attention" : "attention_grad", b.p);
	buf_free(&b);
	buf_free(&products);
	buf_free(&ybody);
	buf_free(&head);
	buf_free(&pro);
	buf_free(&epi);
	buf_free(&prods);
	buf_free(&fin);
	/* host side */
	Type lead = *rt;
	lead.rank -= 2;
	buf_printf(g->out, "\t/* kernel %d (attention): %s; %s */\n", grp->id, cgen_ops_list(g, grp, 0, grp->nins),
	           c_comment(g, cgen_where(g, grp->root->loc)));
	for (int i = 0; i < grp->nins; i++)
		if (!sched_is_free(grp->ins[i]))
			cgen_comment(g, grp->ins[i], "");
	CostRec *cr = cost_new(g, COST_attention, NULL, numel_at(g, &lead) * ATTN_WARPS * 32);
	for (int i = 0; i < grp->nins; i++) {
		const Ins *x = grp->ins[i];
		if (sched_is_free(x))
			continue;
		if (x->op == OP_matmul) {
			cost_label(cr, x);
			cost_mm_flops(cr, x);
			cost_read(cr, x->args[1]);
			if (x == mm || sched_member(grp, sched_src(x->args[0])) < 0)
				cost_read(cr, x->args[0]);
		} else {
			cost_op(cr, x);
			for (int k = 0; k < x->nargs; k++)
				if (sched_member(grp, sched_src(x->args[k])) < 0)
					cost_read(cr, x->args[k]);
		}
		if (s->need[x->id])
			cost_write(cr, x);
		if (s->store_as[x->id])
			cost_write(cr, s->store_as[x->id]);
	}
	const char *root_where = arena_printf(g->a, "attention %s:%d:%d (kernel %d: %s)", r->loc.file ? r->loc.file : "?",
	                                      r->loc.line, r->loc.col, grp->id, cgen_ops_list(g, grp, 0, grp->nins));
	buf_printf(&ks_->sites, "\t%s,\n", c_str(g, root_where));
	cost_site(&ks_->site_costs, cr, ks_->device);
	ks_->rec = NULL;
	buf_printf(g->out, "\t{\n\t\tconst RtPtrs p_ = {{");
	for (int q = 0; q < np; q++)
		buf_printf(g->out, "%s(void *)(%s)", q ? ", " : "", ptr[q]);
	buf_printf(g->out, "}};\n\t\tTRY(rt_gpu_launch_blocks(st, K_%s, %s, B, &p_, %d));\n\t}\n", ks_->names[ki],
	           numel(g, &lead), ks_->nsites++);
}

/* A product added into its gradient slot (cuBLAS with beta = 1). */
static void emit_accum(CGen *g, const SchedCall *c)
{
	const FuseGroup *grp = c->g;
	const Ins *mm = grp->ins[0], *st = grp->ins[2], *x = mm->args[0], *y = mm->args[1];
	declare(g, x);
	declare(g, y);
	buf_printf(g->out, "\t/* kernel %d (matmul): %s, accumulated into the slot */\n", grp->id, cgen_ops_list(g, grp, 0, 3));
	cgen_comment(g, mm, "");
	buf_puts(g->out, "\t{\n");
	dims_local(g, "da", &x->type);
	dims_local(g, "db", &y->type);
	CostRec *r = cost_new(g, COST_gemm, mm, 0);
	cost_gemm(r, mm);
	cost_bytes(r, st, numel_at(g, &mm->type) * 4, false); /* beta = 1 reads the slot */
	buf_printf(g->out, "\t\tTRY(rt_gpu_matmul(st, %s, %s, %s, %s, %d, da, %d, db, %lld, %lld, %d, 1, %d));\n\t}\n",
	           state_slab(g, st, st->attr[1].s), v(g, x), v(g, y), gemm_types(mm, x), x->type.rank, y->type.rank, (long long)mm->attr[0].i,
	           (long long)mm->attr[1].i, mm->op == OP_matmul_reduce, site(g, mm));
}

/* A value's pointer, declared before its first use: a slot of a parameter, a view of the
 * value a reshape reads, a place in the io slab (what the host writes) or in the
 * activations (where the schedule's memory plan puts it). */
static void declare(CGen *g, const Ins *x)
{
	KernelSet *k = ks(g);
	if (k->declared[x->id])
		return;
	k->declared[x->id] = true;
	const char *ty = host_type(x);
	switch (x->op) {
	case OP_param:
	case OP_state:
		buf_printf(g->out, "\tfloat *%s = %s;\n", v(g, x), state_slab(g, x, x->op == OP_param ? "param" : x->attr[1].s));
		return;
	case OP_reshape:
		declare(g, x->args[0]);
		buf_printf(g->out, "\t%s *%s = %s; /* reshape of %%%d: a view */\n", ty, v(g, x), v(g, x->args[0]),
		           x->args[0]->id);
		return;
	case OP_slice: {
		if (!k->sched->view[x->id])
			break;
		bool tb;
		int64_t at = sched_view_offset(x, &tb);
		declare(g, x->args[0]);
		cgen_comment(g, x, "  (a view)");
		buf_printf(g->out, "\t%s *%s = %s + %lld%s; /* a slice of %%%d: a view */\n", ty, v(g, x), v(g, x->args[0]),
		           (long long)at, tb ? " * B" : "", x->args[0]->id);
		return;
	}
	default: break;
	}
	int64_t off = k->io_off[x->id];
	const char *slab = off >= 0 ? "io" : "act";
	if (off < 0)
		off = g->plan->offset[x->id];
	if (off < 0) {
		cgen_fail(g, x, "the CUDA target has no buffer for %%%d (%s)", x->id, op_info(x->op)->name);
		return;
	}
	buf_printf(g->out, "\t%s *%s = (%s *)(%s + %lld);\n", ty, v(g, x), ty, slab, (long long)off);
}

/* ---------- functions ---------- */

/* Host work before the launches: the arguments, the permutations (drawn by the host's
 * Philox, as on the CPU) and the host scalars, copied to their places. */
static void emit_inputs(CGen *g, const Func *f, FuncKind kind)
{
	int narg = 0;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		const char *at = arena_printf(g->a, "rt_gpu_io(st) + %lld", (long long)ks(g)->io_off[ins->id]);
		if (ins->op == OP_arg) {
			if (kind == FUNC_UPDATE || narg > 1) {
				cgen_fail(g, ins, "the CUDA target passes a step at most two arguments: the images and the labels");
				continue;
			}
			bool label = narg++ == 1;
			if (label != (ins->type.dt == DT_I32))
				cgen_fail(g, ins, "the CUDA target expects f32 images and then i32 labels");
			cost_host_copy(ks(g)->log, f, ins, ks(g)->batch, -1);
			buf_printf(g->out, "\tTRY(rt_gpu_to_device(st, %s, %s, 4 * (size_t)(%s), %d));\n", at,
			           label ? "labels" : "images", numel(g, &ins->type), site(g, ins));
		} else if (ins->op == OP_randperm) {
			if (ins->attr[1].i != ins->type.rank - 1) {
				cgen_fail(g, ins, "the CUDA target draws permutations along the last axis only");
				continue;
			}
			cost_host_copy(ks(g)->log, f, ins, ks(g)->batch, 12);
			buf_printf(g->out,
			           "\t{ /* the permutation's key words: drawn on the device (randperm) */\n"
			           "\t\tconst uint32_t w_[3] = {(uint32_t)st->seed, (uint32_t)(st->seed >> 32), st->rng_step};\n"
			           "\t\tTRY(rt_gpu_to_device(st, %s + %lld, w_, sizeof w_, %d));\n\t}\n",
			           at, (long long)(2 * ((type_numel(&ins->type, ks(g)->batch) * 4 + 255) / 256 * 256)), site(g, ins));
		} else if (ins->op == OP_scalar) {
			const char *s = ins->attr[0].s;
			if (host_scalar_index(s) < 0)
				cgen_fail(g, ins, "the CUDA target has no host scalar '%s'", s);
			cost_host_copy(ks(g)->log, f, ins, ks(g)->batch, -1);
			buf_printf(g->out, "\t{\n\t\tconst float s_ = st->s.%s;\n\t\tTRY(rt_gpu_to_device(st, %s, &s_, 4, %d));\n\t}\n",
			           s, at, site(g, ins));
		}
	}
	if (kind == FUNC_STEP && narg < 2)
		buf_puts(g->out, "\t(void)labels;\n");
	if (kind == FUNC_MODEL && narg != 1)
		cgen_fail(g, NULL, "the CUDA target runs models of one argument (the images); @%s takes %d", f->name, narg);
	if (kind != FUNC_UPDATE && narg < 1)
		buf_puts(g->out, "\t(void)images;\n");
}

/* NAME_run(st, B): the device work, which rt_gpu_run may capture as a graph; then the
 * function of the kind's signature (runtime/train/trainer.h) around it. */
static void emit_func_cuda(CGen *g, const Func *f, FuncKind kind, int64_t batch)
{
	KernelSet *k = ks(g);
	g->f = f;
	cgen_name_values(g, f);
	const Schedule *sc = lower_func(g->a, f, &lower_cuda, batch, 4, g->naive_memory, g->d);
	if (!sc) {
		g->failed = true;
		return;
	}
	g->plan = sc->plan;
	k->sched = sc;
	cgen_plan_fits(g, f, batch);
	k->batch = batch;
	if (g->plan->size > k->act_bytes)
		k->act_bytes = g->plan->size;
	/* the host-written values' places in the io slab, 256-byte aligned */
	int max_id = 0;
	for (int i = 0; i < f->body.n; i++)
		max_id = f->body.p[i]->id > max_id ? f->body.p[i]->id : max_id;
	k->io_off = arena_alloc(g->a, sizeof *k->io_off * (size_t)(max_id + 1));
	int64_t io = 0;
	for (int i = 0; i <= max_id; i++)
		k->io_off[i] = -1;
	for (int i = 0; i < f->body.n; i++) {
		const Ins *ins = f->body.p[i];
		if (ins->op != OP_arg && ins->op != OP_randperm && ins->op != OP_scalar)
			continue;
		k->io_off[ins->id] = io;
		io += (type_numel(&ins->type, batch) * 4 + 255) / 256 * 256;
		if (ins->op == OP_randperm) /* the keys, then the seed and step words (randperm) */
			io += (type_numel(&ins->type, batch) * 4 + 255) / 256 * 256 + 256;
	}
	if (io > k->io_bytes)
		k->io_bytes = io;
	const char *name = kind == FUNC_MODEL ? arena_printf(g->a, "model_%s", c_name(g, f->name)) : c_name(g, f->name);
	buf_printf(g->out, "\n/* @%s", c_comment(g, f->name));
	if (f->loc.file)
		buf_printf(g->out, ", from %s:%d", c_comment(g, f->loc.file), f->loc.line);
	buf_printf(g->out, "; activations %lld bytes at batch %lld. */\nstatic int %s_run(RtState *st, int64_t B)\n{\n"
	                   "\tchar *act = rt_gpu_act(st), *io = rt_gpu_io(st);\n"
	                   "\tfloat *P = rt_gpu_slab(st, 0), *G = rt_gpu_slab(st, 1), *M = rt_gpu_slab(st, 2), "
	                   "*V = rt_gpu_slab(st, 3);\n\t(void)act;\n\t(void)io;\n\t(void)P;\n\t(void)G;\n\t(void)M;\n\t(void)V;\n",
	           (long long)g->plan->size, (long long)batch, name);
	k->declared = arena_alloc(g->a, sizeof *k->declared * (size_t)(max_id + 1));
	memset(k->declared, 0, sizeof *k->declared * (size_t)(max_id + 1));
	for (int c = 0; c < sc->calls.n; c++) {
		const SchedCall *call = &sc->calls.p[c];
		switch (call->kind) {
		case SCHED_RUNTIME: {
			const Ins **mem; /* the instruction, or a reduction and the cast it widens through */
			int nm = sched_members(call, &mem);
			for (int i = 0; i < nm; i++)
				for (int j = 0; j < mem[i]->nargs; j++)
					if (sc->call_of[sched_src(mem[i]->args[j])->id] != c)
						declare(g, mem[i]->args[j]);
			if (memplan_needs_buffer(call->ins))
				declare(g, call->ins);
			emit_ins(g, call->ins);
			break;
		}
		case SCHED_LOOP: emit_loop(g, sc, call, &call->g->space); break;
		case SCHED_MULTI:
			if (emit_multi(g, sc, call))
				break;
			for (int p = call->lo; p < call->hi; p++) { /* part by part */
				const SchedCall part = {.kind = SCHED_LOOP, .g = call->g, .lo = call->g->part[p], .hi = call->g->part[p + 1]};
				emit_loop(g, sc, &part, &call->g->part_space[p]);
			}
			break;
		case SCHED_ACCUM: emit_accum(g, call); break;
		case SCHED_ROW: emit_row(g, sc, call); break;
		case SCHED_ATTN: emit_attention(g, sc, call); break;
		}
	}
	buf_puts(g->out, "\treturn 0;\n}\n\n");
	if (kind == FUNC_STEP)
		buf_printf(g->out, "static int %s(RtState *st, int64_t B, const rt_real *images, const int32_t *labels, "
		                   "rt_real *results)\n{\n",
		           name);
	else if (kind == FUNC_MODEL)
		buf_printf(g->out, "static int %s(RtState *st, int64_t B, const rt_real *images, rt_real *const *outs)\n"
		                   "{\n",
		           name);
	else
		buf_printf(g->out, "static int %s(RtState *st)\n{\n\tconst int64_t B = 1;\n", name);
	buf_puts(g->out, "\tchar *act = rt_gpu_act(st);\n\t(void)act;\n");
	emit_inputs(g, f, kind);
	buf_printf(g->out, "\tTRY(rt_gpu_run(st, %d, B, %s_run));\n\tTRY(rt_gpu_finish(st));\n", k->ngraphs++, name);
	for (int i = 0; i < f->rets.n; i++) {
		const Ins *r = f->rets.p[i];
		const char *what = f->ret_names.p[i] ? c_comment(g, f->ret_names.p[i]) : "";
		const char *dst = kind == FUNC_MODEL ? arena_printf(g->a, "outs[%d]", i) : arena_printf(g->a, "results + %d", i);
		if (r->type.dt != DT_F32) {
			cgen_fail(g, r, "the CUDA target returns f32 results only ('%s')", what);
			continue;
		}
		buf_printf(g->out, "\tTRY(rt_gpu_to_host(st, %s, act + %lld, 4 * (size_t)(%s), -1)); /* %s */\n", dst,
		           (long long)g->plan->offset[sched_src(r)->id], kind == FUNC_MODEL ? numel(g, &r->type) : "1", what);
	}
	if (kind == FUNC_STEP && f->rets.n == 0)
		buf_puts(g->out, "\t(void)results;\n");
	buf_puts(g->out, "\treturn 0;\n}\n");
	g->f = NULL;
	g->names = NULL;
}

bool codegen_cuda(Buf *out, const Module *m, const char *source, bool naive_memory, int device, CostLog *log, Arena *a,
                  Diag *d)
{
	KernelSet k = {.log = log ? log : cost_log_new(a), .device = device};
	CGen g = {.out = out, .m = m, .a = a, .d = d, .float_bytes = 4, .naive_memory = naive_memory, .target = "CUDA",
	          .slab = {"P", "G", "M", "V"}, .emit_func = emit_func_cuda, .target_state = &k};
	buf_printf(out,
	           "/* Generated by maec %s from %s. Do not edit: change the model and run maec again.\n"
	           " *\n"
	           " * The CUDA trainer: host code that launches the kernels of `kernels_source` (at the end),\n"
	           " * compiled at start through NVRTC, and cuBLAS matrix products (runtime/gpu/gpu.h).\n"
	           " * Build: nvcc -O2 -I<maec>/runtime this.cu -L<maec build>/runtime -lmaec_trainer_cuda\n"
	           " *        -lcublas -lnvrtc -lz -lm (maec FILE.dsl -o NAME --target=cuda does this).\n"
	           " * Run: NAME RECIPE --data DIR; NAME --help.\n"
	           " */\n"
	           "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n#include \"gpu/gpu.h\"\n\n"
	           "/* A failing runtime call has printed what and where: pass its status up. */\n"
	           "#define TRY(call)              \\\n"
	           "\tdo {                       \\\n"
	           "\t\tint rc_ = (call);    \\\n"
	           "\t\tif (rc_)             \\\n"
	           "\t\t\treturn rc_;      \\\n"
	           "\t} while (0)\n\n"
	           "/* The kernels, by index (kernel_names below). */\nenum {\n#include \"@KERNEL_ENUM@\"\n};\n",
	           MAEC_VERSION, c_comment(&g, source));
	size_t enum_at = out->n;
	cgen_tables(&g, source, "&rt_gpu_device");
	/* The kernel enum goes where the placeholder include is; the source, names and sites
	 * at the end. */
	Buf en = {0};
	for (int i = 0; i < k.n; i++)
		buf_printf(&en, "\tK_%s,\n", k.names[i]);
	Buf rest = {0};
	buf_puts(&rest, "\n/* Every kernel, compiled at start by NVRTC for the device (runtime/gpu/gpu_cuda.c). */\n"
	                "static const char kernels_source[] =\n");
	Buf prelude = {0};
	buf_printf(&prelude, "%s%s%s", cuda_prelude, m->precision == PRECISION_BF16 ? cuda_prelude_bf16 : "",
	           k.src.p ? k.src.p : "");
	/* as C++ raw string literals of whole lines, a few KB each, so that the kernels read as
	 * they are; escaped, a literal a line, if the text holds the literals' end */
	const char *s = prelude.p;
	bool raw = strstr(s, ")maec\"") == NULL;
	while (*s) {
		const char *e = s;
		do {
			const char *nl = strchr(e, '\n');
			e = nl ? nl + 1 : e + strlen(e);
		} while (raw && *e && e - s < 4096);
		size_t len = (size_t)(e - s);
		char *chunk = arena_alloc(a, len + 1);
		memcpy(chunk, s, len);
		chunk[len] = 0;
		if (raw)
			buf_printf(&rest, "R\"maec(%s)maec\"\n", chunk);
		else
			buf_printf(&rest, "\t%s\n", c_str(&g, chunk));
		s = e;
	}
	buf_puts(&rest, "\t;\n\nstatic const char *const kernel_names[] = {\n");
	for (int i = 0; i < k.n; i++)
		buf_printf(&rest, "\t\"%s\",\n", k.names[i]);
	if (k.n == 0)
		buf_puts(&rest, "\tNULL,\n");
	buf_printf(&rest, "};\n\n/* Each launch's op and DSL line, for messages. */\nstatic const char *const sites[] = {\n%s%s};\n",
	           k.sites.p ? k.sites.p : "", k.nsites ? "" : "\tNULL,\n");
	buf_printf(&rest,
	           "\n/* Each site's estimate (codegen/cost.c, on the device maec was given): the batch it was\n"
	           " * planned for, DRAM bytes, FLOPs, and microseconds in fp32, tf32 and bf16; zeros for\n"
	           " * host work. MAEC_PROFILE prints them beside the measured times. */\n"
	           "static const RtGpuSiteCost site_costs[] = {\n%s%s};\n",
	           k.site_costs.p ? k.site_costs.p : "", k.nsites ? "" : "\t{0, 0, 0, {0, 0, 0}},\n");
	buf_printf(&rest,
	           "\nconst RtGpuProgram rt_gpu_program = {\n\tkernels_source, kernel_names, %d, sites, %d, %lld, %lld, %lld, %d,\n"
	           "\tsite_costs,\n};\n",
	           k.n, k.nsites, (long long)k.act_bytes, (long long)k.io_bytes, (long long)k.scratch_bytes, k.ngraphs);
	/* splice: the enum at the placeholder */
	const char *ph = "#include \"@KERNEL_ENUM@\"\n";
	char *at = strstr(out->p, ph);
	CHECK(at && (size_t)(at - out->p) < enum_at);
	Buf whole = {0};
	buf_printf(&whole, "%.*s%s%s%s", (int)(at - out->p), out->p, en.p ? en.p : "\tK__NONE,\n", at + strlen(ph),
	           rest.p);
	buf_free(out);
	*out = whole;
	buf_free(&en);
	buf_free(&rest);
	buf_free(&prelude);
	buf_free(&k.src);
	buf_free(&k.sites);
	buf_free(&k.site_costs);
	if (!log)
		cost_log_free(k.log);
	return !g.failed;
}
