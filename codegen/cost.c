/* cost.c: what the CUDA target's work costs on a device, estimated (never measured here).
 *
 * Requires: records made by codegen/cuda.c while it emits each function, one per kernel
 * launch, cuBLAS product (its GEMM plan, runtime/gpu/gpu_plan.c's rt_gemm_plan, as the trainer
 * runs it), device copy and piece of host work, in emission order; the device table and
 * efficiencies of codegen/cost.def.
 * Guarantees: each record's DRAM bytes (each operand once per kernel, by its dtype), FLOPs
 * on tensor cores (products in tf32 or bf16) and on CUDA cores (the op table's flops rule,
 * ir/ops.def, at the function's batch), its roofline time max(bytes / bandwidth, FLOPs /
 * peak) and its estimate: the same with the kind's efficiencies, plus a fixed cost per
 * launch. The report (maec --target=cuda --report=cost) is the schedule the trainer runs,
 * because it is made of what cuda.c emitted; the generated trainer carries each site's
 * estimate so that MAEC_PROFILE=1 prints it beside the measured time.
 * Host work (the input copies, the scalars and the permutations' key words) is on the step's
 * critical path: the host does it before each function's graph launch, with the device
 * idle. The masking permutations are drawn on the device (two kernels, cuda.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cgen.h"
#include "gpu/gpu.h"

/* gpu_plan.c, linked here for rt_gemm_plan, names sites of the trainer's program in its
 * messages; the compiler runs no program: an empty one. */
const RtGpuProgram rt_gpu_program = {"", NULL, 0, NULL, 0, 0, 0, 0, 0, NULL};

typedef struct Device {
	const char *id, *name;
	double hbm_gbs, tflops[3]; /* by CostPrecision: fp32 (CUDA cores), tf32, bf16 */
} Device;

static const Device devices[] = {
#define DEVICE(id, name, hbm, bf16, tf32, fp32) {#id, name, hbm, {fp32, tf32, bf16}},
#define KIND(...)
#define PARAM(...)
#include "cost.def"
};
enum { NDEVICES = sizeof devices / sizeof *devices };

typedef struct KindInfo {
	const char *name;
	double bw_eff, flop_eff;
} KindInfo;

static const KindInfo kinds[] = {
#define DEVICE(...)
#define KIND(id, name, bw, flop) {name, bw, flop},
#define PARAM(...)
#include "cost.def"
};

enum {
#define DEVICE(...)
#define KIND(...)
#define PARAM(id, value) P_##id,
#include "cost.def"
	NPARAMS
};
static const double params[NPARAMS] = {
#define DEVICE(...)
#define KIND(...)
#define PARAM(id, value) value,
#include "cost.def"
};

/* An operand counted once: its key (the value, or a state slot) and bytes. */
typedef struct Operand {
	const void *key;
	int64_t bytes;
	bool write;
} Operand;

struct CostRec {
	CostKind kind;
	int host;          /* 0 device work; HOST_COPY */
	const Func *f;
	int64_t batch, threads;
	Buf what;          /* the ops, "add gelu" */
	Buf lines;         /* "models/mae.dsl:23,25" */
	const char *file;
	int last_line;
	Operand *ops;
	int nops, cap;
	int64_t read, written;
	double mm_flops, cc_flops; /* products' FLOPs; the other ops' */
	int launches;
	int row;           /* its number in the report's table of its function */
};

enum { HOST_COPY = 1 };

struct CostLog {
	Arena *a;
	CostRec **rec;
	int n, cap;
};

CostLog *cost_log_new(Arena *a)
{
	CostLog *log = arena_alloc(a, sizeof *log);
	*log = (CostLog){.a = a};
	return log;
}

int cost_device(const char *name)
{
	for (int i = 0; i < NDEVICES; i++)
		if (strcmp(devices[i].id, name) == 0)
			return i;
	return -1;
}

static CostRec *add(CostLog *log, const Func *f, const Ins *ins, int64_t batch)
{
	if (log->n == log->cap) {
		log->cap = log->cap ? 2 * log->cap : 256;
		log->rec = arena_grow(log->a, log->rec, sizeof *log->rec * (size_t)log->n, sizeof *log->rec * (size_t)log->cap);
	}
	CostRec *r = arena_alloc(log->a, sizeof *r);
	*r = (CostRec){.f = f, .batch = batch};
	log->rec[log->n++] = r;
	if (ins)
		cost_op(r, ins);
	return r;
}

CostRec *cost_begin(CostLog *log, CostKind kind, const Func *f, const Ins *ins, int64_t batch, int64_t threads)
{
	CostRec *r = add(log, f, ins, batch);
	r->kind = kind;
	r->threads = threads;
	r->launches = 1;
	return r;
}

static bool batched(const Type *t)
{
	for (int i = 0; i < t->rank; i++)
		if (t->dim[i] == DIM_B)
			return true;
	return false;
}

void cost_label(CostRec *r, const Ins *ins)
{
	buf_printf(&r->what, "%s%s", r->what.n ? " " : "", op_info(ins->op)->name);
	if (ins->loc.file && ins->loc.line != r->last_line) {
		if (r->file && strcmp(r->file, ins->loc.file) == 0)
			buf_printf(&r->lines, ",%d", ins->loc.line); /* the file is named */
		else
			buf_printf(&r->lines, "%s%s:%d", r->lines.n ? " " : "", ins->loc.file, ins->loc.line);
		r->file = ins->loc.file;
		r->last_line = ins->loc.line;
	}
}

void cost_op(CostRec *r, const Ins *ins)
{
	const OpInfo *oi = op_info(ins->op);
	cost_label(r, ins);
	if (oi->kind == KIND_MATMUL)
		return; /* cost_gemm counts products from their plan */
	/* the op table's count is per image: times the batch when the work is batched */
	bool b = batched(&ins->type);
	for (int a = 0; a < ins->nargs && !b; a++)
		b = batched(&ins->args[a]->type);
	r->cc_flops += oi->flops(ins) * (double)(b ? r->batch : 1);
}

void cost_bytes(CostRec *r, const void *key, int64_t bytes, bool write)
{
	for (int i = 0; i < r->nops; i++)
		if (r->ops[i].key == key && r->ops[i].write == write)
			return;
	if (r->nops == r->cap) {
		int cap = r->cap ? 2 * r->cap : 8;
		Operand *ops = malloc(sizeof *ops * (size_t)cap);
		CHECK(ops);
		if (r->nops)
			memcpy(ops, r->ops, sizeof *ops * (size_t)r->nops);
		free(r->ops);
		r->ops = ops;
		r->cap = cap;
	}
	r->ops[r->nops++] = (Operand){key, bytes, write};
	*(write ? &r->written : &r->read) += bytes;
}

static int64_t value_bytes(const CostRec *r, const Ins *x)
{
	return type_numel(&x->type, r->batch) * (int64_t)dtype_size(x->type.dt);
}

void cost_read(CostRec *r, const Ins *x)
{
	cost_bytes(r, x, value_bytes(r, x), false);
}

void cost_write(CostRec *r, const Ins *x)
{
	cost_bytes(r, x, value_bytes(r, x), true);
}

void cost_gemm(CostRec *r, const Ins *ins)
{
	const Ins *x = ins->args[0], *y = ins->args[1];
	int64_t da[IR_MAX_RANK], db[IR_MAX_RANK];
	for (int i = 0; i < x->type.rank; i++)
		da[i] = x->type.dim[i] == DIM_B ? r->batch : x->type.dim[i];
	for (int i = 0; i < y->type.rank; i++)
		db[i] = y->type.dim[i] == DIM_B ? r->batch : y->type.dim[i];
	int ta = (int)ins->attr[0].i, tb = (int)ins->attr[1].i, reduce = ins->op == OP_matmul_reduce;
	int n = rt_gemm_plan(NULL, 0, x->type.rank, da, y->type.rank, db, ta, tb, reduce);
	CHECK(n >= 0);
	RtGemm *plan = malloc(sizeof *plan * (size_t)(n ? n : 1));
	CHECK(plan);
	rt_gemm_plan(plan, n, x->type.rank, da, y->type.rank, db, ta, tb, reduce);
	r->launches = 0;
	for (int i = 0; i < n; i++) {
		r->mm_flops += 2.0 * (double)plan[i].m * (double)plan[i].n * (double)plan[i].k * (double)plan[i].count;
		r->launches++; /* a cuBLAS GEMM, or the memset of an empty product */
	}
	r->kind = n == 1 && plan[0].count == 1 ? COST_gemm : COST_gemm_batch;
	free(plan);
	cost_write(r, ins);
	cost_read(r, x);
	cost_read(r, y);
}

void cost_mm_flops(CostRec *r, const Ins *ins)
{
	const Type *a = &ins->args[0]->type;
	int64_t k = ins->attr[0].i ? a->dim[a->rank - 2] : a->dim[a->rank - 1];
	r->mm_flops += 2.0 * (double)type_numel(&ins->type, r->batch) * (double)k;
}

void cost_host_copy(CostLog *log, const Func *f, const Ins *ins, int64_t batch, int64_t bytes)
{
	CostRec *r = add(log, f, ins, batch);
	r->host = HOST_COPY;
	if (bytes < 0)
		cost_write(r, ins);
	else
		cost_bytes(r, ins, bytes, true);
}

/* ---------- estimates ---------- */

static double flops_tc(const CostRec *r, CostPrecision p)
{
	return p == COST_FP32 ? 0 : r->mm_flops;
}

static double flops_cc(const CostRec *r, CostPrecision p)
{
	return r->cc_flops + (p == COST_FP32 ? r->mm_flops : 0);
}

static double roofline_us(const CostRec *r, const Device *d, CostPrecision p)
{
	double t = (double)(r->read + r->written) / (d->hbm_gbs * 1e3);
	double tc = flops_tc(r, p) / (d->tflops[p] * 1e6), cc = flops_cc(r, p) / (d->tflops[COST_FP32] * 1e6);
	return t > tc ? (t > cc ? t : cc) : (tc > cc ? tc : cc);
}

static double estimate_us(const CostRec *r, const Device *d, CostPrecision p)
{
	const KindInfo *k = &kinds[r->kind];
	double occupancy = r->kind == COST_gemm || r->kind == COST_gemm_batch || r->kind == COST_copy
	                       ? 1.0
	                       : (double)r->threads / params[P_SAT_THREADS];
	if (occupancy > 1)
		occupancy = 1;
	if (occupancy <= 0)
		occupancy = 1.0 / params[P_SAT_THREADS];
	double t = (double)(r->read + r->written) / (d->hbm_gbs * 1e3 * k->bw_eff * occupancy);
	double tc = flops_tc(r, p) / (d->tflops[p] * 1e6 * k->flop_eff);
	double cc = flops_cc(r, p) / (d->tflops[COST_FP32] * 1e6 * k->flop_eff * occupancy);
	double m = t > tc ? (t > cc ? t : cc) : (tc > cc ? tc : cc);
	return m + params[P_LAUNCH_US] * r->launches;
}

/* Host work: a copy's fixed cost and rate. */
static double host_copy_us(const CostRec *r)
{
	return params[P_HOST_COPY_US] + (double)r->written / (params[P_PCIE_GBS] * 1e3);
}

void cost_site(Buf *b, const CostRec *r, int device)
{
	if (!r || r->host) {
		buf_puts(b, "\t{0, 0, 0, {0, 0, 0}},\n");
		return;
	}
	const Device *d = &devices[device];
	buf_printf(b, "\t{%lld, %.0f, %.0f, {%.2f, %.2f, %.2f}},\n", (long long)r->batch, (double)(r->read + r->written),
	           r->mm_flops + r->cc_flops, estimate_us(r, d, COST_FP32), estimate_us(r, d, COST_TF32),
	           estimate_us(r, d, COST_BF16));
}

/* ---------- the report ---------- */

void cost_counts(const CostLog *log, const Func *f, CostCounts *c)
{
	*c = (CostCounts){0};
	for (int i = 0; i < log->n; i++) {
		const CostRec *r = log->rec[i];
		if (r->f != f)
			continue;
		if (r->host)
			c->host++;
		else if (r->kind == COST_gemm || r->kind == COST_gemm_batch)
			c->gemms += r->launches;
		else if (r->kind == COST_copy)
			c->copies++;
		else
			c->kernels += r->launches;
		if (!r->host)
			c->bytes += r->read + r->written;
	}
}

typedef struct Totals {
	int64_t read, written;
	double tc, cc, roof_us, est_us, host_us;
	int kernels, launches;
} Totals;

static void totals_add(Totals *t, const CostRec *r, const Device *d, CostPrecision p)
{
	t->read += r->read;
	t->written += r->written;
	t->tc += flops_tc(r, p);
	t->cc += flops_cc(r, p);
	t->roof_us += roofline_us(r, d, p);
	t->est_us += estimate_us(r, d, p);
	t->kernels++;
	t->launches += r->launches;
}

static void print_totals(FILE *out, const char *what, const Totals *t)
{
	fprintf(out,
	        "  %s: %d kernels, %d launches; read %lld B, written %lld B; %.0f FLOP on tensor cores, %.0f on CUDA "
	        "cores; roofline %.3f ms, estimate %.3f ms\n",
	        what, t->kernels, t->launches, (long long)t->read, (long long)t->written, t->tc, t->cc, t->roof_us / 1e3,
	        t->est_us / 1e3);
}

static const char *const precision_names[] = {"fp32", "tf32", "bf16"};

/* (estimate, index) pairs: the largest estimate first, then in schedule order */
static int cmp_est_desc(const void *a, const void *b)
{
	const double *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? 1 : -1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* One function's rows and totals; its host work added to host_us. */
static void report_func(FILE *out, const CostLog *log, const Func *f, const Device *d, CostPrecision p,
                        Totals *t, double (*top)[2], int *ntop, const CostRec **toprec)
{
	int64_t batch = 0;
	for (int i = 0; i < log->n; i++)
		if (log->rec[i]->f == f)
			batch = log->rec[i]->batch;
	fprintf(out, "@%s at batch %lld:\n", f->name, (long long)batch);
	fprintf(out, "  %5s %-12s %13s %13s %15s %15s %11s %11s  %s\n", "#", "kind", "read B", "written B", "tensor FLOP",
	        "CUDA-core FLOP", "roofline us", "estimate us", "ops  DSL lines");
	Totals mine = {0};
	int k = 0;
	for (int i = 0; i < log->n; i++) {
		const CostRec *r = log->rec[i];
		if (r->f != f || r->host)
			continue;
		double est = estimate_us(r, d, p);
		fprintf(out, "  %5d %-12s %13lld %13lld %15.0f %15.0f %11.2f %11.2f  %s  %s\n", k, kinds[r->kind].name,
		        (long long)r->read, (long long)r->written, flops_tc(r, p), flops_cc(r, p), roofline_us(r, d, p), est,
		        r->what.p ? r->what.p : "", r->lines.p ? r->lines.p : "-");
		totals_add(&mine, r, d, p);
		log->rec[i]->row = k;
		top[*ntop][0] = est;
		top[*ntop][1] = *ntop;
		toprec[*ntop] = r;
		++*ntop;
		k++;
	}
	print_totals(out, "total", &mine);
	/* the host's work before this function's graph launch */
	mine.host_us = params[P_HOST_SYNC_US];
	for (int i = 0; i < log->n; i++) {
		const CostRec *r = log->rec[i];
		if (r->f != f || !r->host)
			continue;
		double us = host_copy_us(r);
		fprintf(out, "  host: copy of %s to the device, %lld B: %.3f ms estimated (%s)\n", r->what.p,
		        (long long)r->written, us / 1e3, r->lines.p ? r->lines.p : "-");
		mine.host_us += us;
	}
	fprintf(out, "  host work on the critical path (before the graph launch, the graph's launch and the sync after "
	             "it): %.3f ms\n",
	        mine.host_us / 1e3);
	t->read += mine.read;
	t->written += mine.written;
	t->tc += mine.tc;
	t->cc += mine.cc;
	t->roof_us += mine.roof_us;
	t->est_us += mine.est_us;
	t->host_us += mine.host_us;
	t->kernels += mine.kernels;
	t->launches += mine.launches;
}

bool cost_report(FILE *out, const CostLog *log, const Module *m, int device, CostPrecision p)
{
	const Device *d = &devices[device];
	fprintf(out,
	        "cost model of the CUDA target (estimates, not measurements: codegen/cost.def) on the %s: HBM %.0f GB/s; "
	        "peak %.0f TFLOP/s bf16, %.0f tf32, %.0f fp32; products in %s\n",
	        d->name, d->hbm_gbs, d->tflops[COST_BF16], d->tflops[COST_TF32], d->tflops[COST_FP32], precision_names[p]);
	double (*top)[2] = malloc(sizeof *top * (size_t)(log->n ? log->n : 1));
	const CostRec **toprec = malloc(sizeof *toprec * (size_t)(log->n ? log->n : 1));
	CHECK(top && toprec);
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *rc = m->recipes.p[i];
		Arena *a = log->a;
		const Func *step = module_find_func(m, arena_printf(a, "%s.step", rc->name));
		const Func *update = module_find_func(m, arena_printf(a, "%s.update", rc->name));
		const RSetting *micro = recipe_setting(rc, RK_micro_batch), *batch = recipe_setting(rc, RK_batch);
		if (!step || !update || !micro || micro->val.kind != RV_INT)
			continue;
		fprintf(out, "\nrecipe %s at micro-batch %lld\n", rc->name, (long long)micro->val.i);
		Totals st = {0}, up = {0};
		int ntop = 0;
		report_func(out, log, step, d, p, &st, top, &ntop, toprec);
		report_func(out, log, update, d, p, &up, top, &ntop, toprec);
		Totals all = st;
		all.read += up.read;
		all.written += up.written;
		all.tc += up.tc;
		all.cc += up.cc;
		all.roof_us += up.roof_us;
		all.est_us += up.est_us;
		all.host_us += up.host_us;
		all.kernels += up.kernels;
		all.launches += up.launches;
		fprintf(out, "recipe %s: a step at micro-batch %lld (@%s and @%s)\n", rc->name, (long long)micro->val.i,
		        step->name, update->name);
		print_totals(out, "device", &all);
		double ms = (all.est_us + all.host_us) / 1e3, roof = (all.roof_us + all.host_us) / 1e3;
		fprintf(out, "  estimated step %.2f ms = %.2f ms on the device + %.2f ms of host work: %.0f images/s "
		             "(roofline with the same host work %.2f ms, %.0f images/s)\n",
		        ms, all.est_us / 1e3, all.host_us / 1e3, (double)micro->val.i / ms * 1e3, roof,
		        (double)micro->val.i / roof * 1e3);
		if (batch && batch->val.kind == RV_INT && batch->val.i > micro->val.i && micro->val.i > 0) {
			int64_t k = batch->val.i / micro->val.i;
			double whole = k * (st.est_us + st.host_us) + up.est_us + up.host_us;
			fprintf(out, "  at the recipe's batch %lld (%lld micro-batches, one update): %.2f ms, %.0f images/s\n",
			        (long long)batch->val.i, (long long)k, whole / 1e3, (double)batch->val.i / whole * 1e6);
		}
		/* by kind, in cost.def's order */
		fprintf(out, "  by kind (kernels, estimate ms, share):");
		for (int kd = 0; kd < (int)(sizeof kinds / sizeof *kinds); kd++) {
			int nk = 0;
			double us = 0;
			for (int j = 0; j < ntop; j++)
				if ((int)toprec[j]->kind == kd) {
					nk++;
					us += top[j][0];
				}
			if (nk)
				fprintf(out, " %s %d %.3f %.1f%%;", kinds[kd].name, nk, us / 1e3, 100 * us / all.est_us);
		}
		fputc('\n', out);
		qsort(top, (size_t)ntop, sizeof *top, cmp_est_desc);
		fprintf(out, "  the costliest kernels:\n");
		for (int j = 0; j < ntop && j < 10; j++) {
			const CostRec *r = toprec[(int)top[j][1]];
			fprintf(out, "  %9.2f us %5.1f%%  %-12s @%s #%d  %s  %s\n", top[j][0], 100 * top[j][0] / all.est_us,
			        kinds[r->kind].name, r->f->name, r->row, r->what.p ? r->what.p : "", r->lines.p ? r->lines.p : "-");
		}
	}
	free(top);
	free(toprec);
	return true;
}

void cost_log_free(CostLog *log)
{
	for (int i = 0; log && i < log->n; i++) {
		free(log->rec[i]->ops);
		buf_free(&log->rec[i]->what);
		buf_free(&log->rec[i]->lines);
	}
}
