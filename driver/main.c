/* main.c: the maec command line. compile() below is the whole compiler, stage by stage. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codegen.h"
#include "frontend.h"
#include "passes.h"

/* The passes, in the order they run. */
static const Pass passes[] = {
	{"autodiff", pass_autodiff, "adds @R.grad: each recipe's loss and its parameter gradients"},
	{"optim", pass_optim, "@R.grad -> @R.step (gradient accumulation) and @R.update (AdamW)"},
	{"dce", pass_dce, "removes instructions whose results are never used"},
	{"remat", pass_remat, "--recompute: forward values the backward recomputes instead of keeping"},
	{"fuse", pass_fuse, "groups each function into kernels (kernel=N): loops, epilogues, attention, multi-tensor"},
	{"precision", pass_precision, "--precision=bf16: activations stored in bf16, casts in the kernels that write and read them"},
};
enum { NPASSES = sizeof passes / sizeof *passes };

typedef struct Options {
	const char *input;
	bool stats, dump_ir, verify_only;
	const char *dump_after; /* a pass name, "elaborate", or "all" */
	const char *dump_dir;
	const char *dot;
	const char *output; /* -o: NAME.c writes C; NAME builds the trainer too */
	Define *defines;    /* -D NAME=VALUE */
	int ndefines;
	bool verbose;
	bool use_double; /* --real=double */
	const char *target; /* --target: "c" (default), "cuda", "cuda-emu" */
	bool report_memory; /* --report=memory */
	bool report_fusion; /* --report=fusion */
	bool report_cost;   /* --report=cost: the CUDA target's cost model */
	int device;         /* --device: codegen/cost.def's index (h200 default) */
	int precision;      /* --precision (CostPrecision): bf16 is also the storage policy of passes/precision.c */
	bool no_fuse;       /* -fno-fuse: every instruction its own kernel */
	bool no_memplan;    /* -fno-memplan: every value its own buffer */
	RematPolicy recompute; /* --recompute (passes/remat.c) */
	double budget;      /* --memory-budget, bytes of each recipe step's activations; 0: none */
	bool quiet;         /* no dumps, no fusion report: a compilation of the --recompute=auto search */
} Options;

typedef struct Timing {
	const char *phase;
	double ms;
} Timing;

typedef struct Compilation {
	Options opt;
	Remat remat;  /* the remat pass's policy and choices (its limits in the caller's memory) */
	Arena *arena;
	Diag diag;
	Module *module;
	Timing times[2 * NPASSES + 8];
	VEC(struct Scheduled { const Func *f; int64_t batch; Schedule *s; }) scheds; /* made by the lower stage */
	int ntimes;
	int ndumps;
} Compilation;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void timed(Compilation *c, const char *phase, double start)
{
	CHECK(c->ntimes < (int)(sizeof c->times / sizeof *c->times));
	c->times[c->ntimes++] = (Timing){phase, now_ms() - start};
}

static bool write_text(const char *path, const char *text, size_t n)
{
	if (strcmp(path, "-") == 0)
		return fwrite(text, 1, n, stdout) == n;
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "maec: cannot write '%s': %s\n", path, strerror(errno));
		return false;
	}
	bool ok = fwrite(text, 1, n, f) == n;
	ok &= fclose(f) == 0;
	if (!ok)
		fprintf(stderr, "maec: error writing '%s'\n", path);
	return ok;
}

/* The dump hook, called after the front end and after every pass. */
static bool dump(Compilation *c, const char *stage)
{
	const char *want = c->opt.dump_after;
	bool to_stdout = want && !c->opt.quiet && (strcmp(want, "all") == 0 || strcmp(want, stage) == 0);
	bool to_dir = c->opt.dump_dir != NULL && !c->opt.quiet;
	if (!to_stdout && !to_dir)
		return true;
	Buf b = {0};
	module_print(&b, c->module);
	bool ok = true;
	if (to_stdout) {
		printf("# after %s\n", stage);
		fwrite(b.p, 1, b.n, stdout);
	}
	if (to_dir) {
		char *path = arena_printf(c->arena, "%s/%02d-%s.ir", c->opt.dump_dir, c->ndumps, stage);
		ok = write_text(path, b.p, b.n);
	}
	c->ndumps++;
	buf_free(&b);
	return ok;
}

static bool verify(Compilation *c, const char *after)
{
	double t = now_ms();
	bool ok = module_verify(c->module, &c->diag);
	timed(c, "verify", t);
	if (!ok)
		fprintf(stderr, "maec: the IR is invalid after %s\n", after);
	return ok;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* IR text may carry kernel=N (the fuse pass's groups): they must describe kernels. */
static bool verify_kernels(Compilation *c)
{
	Arena *scratch = arena_new();
	bool ok = true;
	for (int i = 0; i < c->module->funcs.n; i++) {
		const Func *f = c->module->funcs.p[i];
		bool any = false;
		for (int k = 0; k < f->body.n && !any; k++)
			any = f->body.p[k]->kernel != 0;
		if (any && !fuse_plan(scratch, f, &c->diag))
			ok = false;
	}
	arena_free(scratch);
	return ok;
}

/* The target's schedule of f (passes/lower.c) at `batch`, as its code generator makes it. */
static Schedule *schedule(Compilation *c, const Func *f, int64_t batch)
{
	for (int i = 0; i < c->scheds.n; i++) /* the lower stage's, for the reports after it */
		if (c->scheds.p[i].f == f && c->scheds.p[i].batch == batch)
			return c->scheds.p[i].s;
	bool cuda = strncmp(c->opt.target, "cuda", 4) == 0;
	Schedule *s = lower_func(c->arena, f, cuda ? &lower_cuda : &lower_c, batch, c->opt.use_double ? 8 : 4,
	                         c->opt.no_memplan, &c->diag);
	if (s)
		vec_push(c->arena, c->scheds, ((struct Scheduled){f, batch, s}));
	return s;
}

/* The lowering stage: each recipe's step and update as the chosen target runs them, at the
 * recipe's micro-batch (the update at 1); --dump-after=lower prints them. */
static bool lower(Compilation *c)
{
	const char *want = c->opt.dump_after;
	bool print = want && !c->opt.quiet && (strcmp(want, "all") == 0 || strcmp(want, "lower") == 0);
	const Module *m = c->module;
	bool ok = true;
	for (int i = 0; i < m->recipes.n && ok; i++) {
		const Recipe *r = m->recipes.p[i];
		const RSetting *mb = recipe_setting(r, RK_micro_batch);
		for (int k = 0; k < 2 && ok; k++) {
			const Func *f = module_find_func(m, arena_printf(c->arena, "%s.%s", r->name, k ? "update" : "step"));
			if (!f || !mb || mb->val.kind != RV_INT)
				continue;
			Schedule *s = schedule(c, f, k ? 1 : mb->val.i);
			ok = s != NULL;
			if (s && print) {
				Buf b = {0};
				if (i == 0 && k == 0)
					buf_puts(&b, "# after lower\n");
				lower_print(&b, s, strncmp(c->opt.target, "cuda", 4) == 0 ? "CUDA" : "C");
				fwrite(b.p, 1, b.n, stdout);
				buf_free(&b);
			}
		}
	}
	return ok;
}

/* Source text -> verified IR -> passes. Returns false if anything was reported. */
static bool compile(Compilation *c)
{
	double t = now_ms();
	char *text;
	size_t len;
	const char *why;
	if (!read_file(c->opt.input, &text, &len, &why)) {
		fprintf(stderr, "maec: cannot read '%s': %s\n", c->opt.input, why);
		return false;
	}
	char *copy = arena_strndup(c->arena, text, len);
	free(text);
	SrcFile *src = diag_add_file(&c->diag, c->opt.input, copy, len);
	timed(c, "read", t);

	if (has_suffix(c->opt.input, ".ir")) {
		t = now_ms();
		c->module = module_read(c->arena, &c->diag, src);
		timed(c, "read-ir", t);
	} else {
		t = now_ms();
		Ast *ast = parse_source(c->arena, &c->diag, src);
		timed(c, "parse", t);
		if (!ast)
			return false;
		t = now_ms();
		c->module = elaborate_with(c->arena, &c->diag, src, ast, c->opt.defines, c->opt.ndefines);
		timed(c, "elaborate", t);
	}
	if (!c->module || !verify(c, "the front end") || !dump(c, "elaborate"))
		return false;
	c->module->precision = c->opt.precision == COST_BF16 ? PRECISION_BF16 : PRECISION_FP32;
	c->remat.policy = c->opt.recompute;
	c->module->remat = &c->remat;
	if (has_suffix(c->opt.input, ".ir") && !verify_kernels(c))
		return false;
	PassCtx ctx = {.d = &c->diag, .no_fuse = c->opt.no_fuse,
	               .fusion_report = c->opt.report_fusion && !c->opt.quiet ? stdout : NULL};
	for (int i = 0; i < NPASSES; i++) {
		t = now_ms();
		bool ok = passes[i].run(c->module, &ctx);
		timed(c, passes[i].name, t);
		if (!ok || !verify(c, passes[i].name) || !dump(c, passes[i].name))
			return false;
	}
	t = now_ms();
	bool ok = lower(c);
	timed(c, "lower", t);
	return ok;
}

/* The planned activation bytes of recipe i's step at its micro-batch as c compiled it;
 * -1 for a recipe without one. */
static int64_t step_plan(Compilation *c, int i, const RSetting **mb_out)
{
	const Recipe *r = c->module->recipes.p[i];
	const RSetting *mb = recipe_setting(r, RK_micro_batch);
	const Func *f = module_find_func(c->module, arena_printf(c->arena, "%s.step", r->name));
	if (mb_out)
		*mb_out = mb;
	if (!f || !mb || mb->val.kind != RV_INT)
		return -1;
	Schedule *s = schedule(c, f, mb->val.i);
	return s ? s->plan->size : -1;
}

/* One compilation of the --recompute=auto search, quiet, in its own arena, with c's
 * options and recomputation limits: each recipe step's plan and remat's candidates. */
typedef struct Attempt {
	int n;            /* recipes */
	int64_t *plan;    /* by recipe: planned bytes, -1: no step */
	int *candidates;  /* by recipe: its step's, in remat's order */
	const char **step; /* by recipe: "R.step", in the caller's arena */
} Attempt;

static bool attempt(Compilation *c, RematPolicy policy, Attempt *out)
{
	Compilation t = {.opt = c->opt};
	t.opt.quiet = true;
	t.opt.recompute = policy;
	t.remat.limits = c->remat.limits;
	t.arena = arena_new();
	diag_init(&t.diag, t.arena, stderr);
	bool ok = compile(&t);
	if (ok && !out->plan) {
		out->n = t.module->recipes.n;
		out->plan = arena_alloc(c->arena, sizeof *out->plan * (size_t)(out->n + 1));
		out->candidates = arena_alloc(c->arena, sizeof *out->candidates * (size_t)(out->n + 1));
		out->step = arena_alloc(c->arena, sizeof *out->step * (size_t)(out->n + 1));
		for (int i = 0; i < out->n; i++)
			out->step[i] = arena_printf(c->arena, "%s.step", t.module->recipes.p[i]->name);
	}
	for (int i = 0; ok && i < out->n; i++) {
		out->plan[i] = step_plan(&t, i, NULL);
		for (int k = 0; k < t.remat.counts.n; k++)
			if (strcmp(t.remat.counts.p[k].func, out->step[i]) == 0)
				out->candidates[i] = t.remat.counts.p[k].candidates;
	}
	arena_free(t.arena);
	return ok;
}

static void set_limit(Compilation *c, const char *func, int count)
{
	for (int i = 0; i < c->remat.limits.n; i++)
		if (strcmp(c->remat.limits.p[i].func, func) == 0) {
			c->remat.limits.p[i].count = count;
			return;
		}
	vec_push(c->arena, c->remat.limits, ((struct RematLimit){func, count}));
}

/* --recompute=auto: for each recipe step, the fewest of remat's candidates (in its order,
 * cheapest first) whose plan fits --memory-budget. More candidates only save more, so a
 * bisection per step, all steps in each compilation (each a fraction of a second). */
static bool choose_recompute(Compilation *c)
{
	if (c->opt.recompute != REMAT_AUTO)
		return true;
	Attempt a = {0};
	if (!attempt(c, REMAT_AUTO, &a)) /* every candidate: the smallest plan reachable */
		return false;
	int *lo = arena_alloc(c->arena, sizeof *lo * (size_t)(a.n + 1)); /* the most known not to fit */
	int *hi = arena_alloc(c->arena, sizeof *hi * (size_t)(a.n + 1)); /* the fewest known to fit */
	bool ok = true;
	for (int i = 0; i < a.n; i++) {
		lo[i] = -1;
		hi[i] = a.candidates[i];
		if (a.plan[i] > c->opt.budget) {
			fprintf(stderr,
			        "maec: %s: --memory-budget=%g GiB cannot be met: the smallest plan --recompute=auto reaches for "
			        "@%s at its micro-batch is %.1f MiB (all %d candidates recomputed); lower the recipe's micro_batch "
			        "or raise the budget\n",
			        c->opt.input, c->opt.budget / 1073741824.0, a.step[i], a.plan[i] / 1048576.0, a.candidates[i]);
			ok = false;
		}
	}
	if (!ok)
		return false;
	int *k = arena_alloc(c->arena, sizeof *k * (size_t)(a.n + 1));
	for (;;) {
		bool more = false;
		for (int i = 0; i < a.n; i++) {
			k[i] = hi[i] - lo[i] > 1 ? lo[i] + (hi[i] - lo[i]) / 2 : hi[i];
			more |= k[i] != hi[i];
			set_limit(c, a.step[i], k[i]);
		}
		if (!more)
			return true;
		if (!attempt(c, REMAT_AUTO, &a))
			return false;
		for (int i = 0; i < a.n; i++)
			if (k[i] != hi[i]) {
				if (a.plan[i] <= c->opt.budget)
					hi[i] = k[i];
				else
					lo[i] = k[i];
			}
	}
}

/* --memory-budget: every recipe step's plan within it (auto chose so). */
static bool check_budget(Compilation *c)
{
	if (c->opt.budget <= 0)
		return true;
	bool ok = true;
	for (int i = 0; i < c->module->recipes.n; i++) {
		const RSetting *mb;
		int64_t plan = step_plan(c, i, &mb);
		if (plan > c->opt.budget) {
			diag_error(&c->diag, mb->loc,
			           "@%s.step at micro-batch %lld plans %.1f MiB of activations, over --memory-budget=%g GiB: "
			           "--recompute=auto recomputes what it takes to fit",
			           c->module->recipes.p[i]->name, (long long)mb->val.i, plan / 1048576.0,
			           c->opt.budget / 1073741824.0);
			ok = false;
		}
	}
	return ok;
}

static bool print_stats(Compilation *c)
{
	double stats_ms = 0, t0 = now_ms();
	const Module *m = c->module;
	CostLog *log = NULL; /* the CUDA target's launches, from its code generator */
	if (strncmp(c->opt.target, "cuda", 4) == 0) {
		log = cost_log_new(c->arena);
		Buf b = {0};
		bool ok = codegen_cuda(&b, m, c->opt.input, c->opt.no_memplan, c->opt.device, log, c->arena, &c->diag);
		buf_free(&b);
		if (!ok) {
			cost_log_free(log);
			return false;
		}
	}
	stats_ms += now_ms() - t0;
	for (int i = 0; i < m->funcs.n; i++) {
		const Func *f = m->funcs.p[i];
		if (!func_is_model(f))
			continue;
		printf("model %s: %lld parameters\n", f->name, (long long)func_param_count(f));
		/* Parameters by top-level member, in state_dict order. */
		const char *group = NULL;
		size_t glen = 0;
		int64_t count = 0;
		for (int k = 0; k <= f->body.n; k++) {
			const Ins *ins = k < f->body.n ? f->body.p[k] : NULL;
			if (ins && ins->op != OP_param)
				continue;
			const char *name = ins ? ins->attr[1].s : NULL;
			const char *dot = name ? strchr(name, '.') : NULL;
			size_t len = name ? (dot ? (size_t)(dot - name) : strlen(name)) : 0;
			if (group && (!name || len != glen || strncmp(name, group, len) != 0)) {
				printf("  %-16.*s %lld\n", (int)glen, group, (long long)count);
				group = NULL;
			}
			if (!name)
				break;
			if (!group) {
				group = name;
				glen = len;
				count = 0;
			}
			count += type_numel(&ins->type, 1);
		}
		double mm = func_flops(f, true), all = func_flops(f, false);
		printf("  forward          %.3f GFLOP/image in matrix products, %.3f GFLOP/image in other ops\n", mm / 1e9,
		       (all - mm) / 1e9);
	}
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *r = m->recipes.p[i];
		const RSetting *model = recipe_setting(r, RK_model), *batch = recipe_setting(r, RK_batch),
		               *micro = recipe_setting(r, RK_micro_batch), *epochs = recipe_setting(r, RK_epochs);
		if (model && batch && micro && epochs)
			printf("recipe %s: model %s, batch %lld in micro-batches of %lld, %lld epochs\n", r->name, model->val.s,
			       (long long)batch->val.i, (long long)micro->val.i, (long long)epochs->val.i);
		const Func *step = module_find_func(m, arena_printf(c->arena, "%s.step", r->name));
		const Func *update = module_find_func(m, arena_printf(c->arena, "%s.update", r->name));
		if (!step || !update || !micro || micro->val.kind != RV_INT)
			continue;
		/* kernels per training step: one micro-batch's step and the update */
		double t = now_ms();
		FusePlan *ps = fuse_plan(c->arena, step, &c->diag), *pu = fuse_plan(c->arena, update, &c->diag);
		Schedule *ss = schedule(c, step, micro->val.i);
		if (!ps || !pu || !ss) {
			if (log)
				cost_log_free(log);
			return false;
		}
		const MemPlan *mp = ss->plan;
		printf("  step (forward, backward, accumulation) %.3f GFLOP/image, %.3f of them in matrix products\n",
		       func_flops(step, false) / 1e9, func_flops(step, true) / 1e9);
		printf("  kernels per training step %d (unfused %d): step %d, update %d\n", ps->kernels + pu->kernels,
		       ps->unfused + pu->unfused, ps->kernels, pu->kernels);
		printf("  activations at micro-batch %lld: planned %.1f MiB, lower bound %.1f MiB, efficiency %.3f "
		       "(naive %.1f MiB)\n",
		       (long long)micro->val.i, mp->size / 1048576.0, mp->lower_bound / 1048576.0,
		       mp->size ? (double)mp->lower_bound / (double)mp->size : 1.0, mp->naive / 1048576.0);
		if (log) {
			CostCounts cs, cu;
			cost_counts(log, step, &cs);
			cost_counts(log, update, &cu);
			int ops = cs.kernels + cs.gemms + cs.copies + cu.kernels + cu.gemms + cu.copies;
			printf("  on the CUDA target at micro-batch %lld: %d device operations (step %d kernels, %d GEMMs, %d "
			       "copies; update %d kernels, %d GEMMs, %d copies), %.1f GB of DRAM traffic estimated; host work "
			       "before the launches: %d copies to the device\n",
			       (long long)micro->val.i, ops, cs.kernels, cs.gemms, cs.copies, cu.kernels, cu.gemms, cu.copies,
			       (double)(cs.bytes + cu.bytes) / 1e9, cs.host + cu.host);
		}
		stats_ms += now_ms() - t;
	}
	if (log)
		cost_log_free(log);
	double total = 0, front = -1;
	printf("compile time:");
	for (int i = 0; i < c->ntimes; i++) {
		printf("%s %s %.2f ms", i ? "," : "", c->times[i].phase, c->times[i].ms);
		total += c->times[i].ms;
		if (front < 0 && strcmp(c->times[i].phase, "verify") == 0)
			front = total; /* the first verify ends the front end */
	}
	printf(", plans for --stats %.2f ms\nfront end to verified IR %.2f ms; total %.2f ms\n", stats_ms, front,
	       total + stats_ms);
	return true;
}

/* -o: the trainer's source (NAME.c, NAME.cu), and the executable when the name has
 * neither suffix. */
static bool write_trainer(Compilation *c)
{
	const char *out = c->opt.output, *target = c->opt.target;
	bool cuda = strncmp(target, "cuda", 4) == 0;
	bool build = !has_suffix(out, ".c") && !has_suffix(out, ".cu");
	const char *file = build ? arena_printf(c->arena, "%s.%s", out, cuda ? "cu" : "c") : out;
	Buf b = {0};
	bool ok = cuda ? codegen_cuda(&b, c->module, c->opt.input, c->opt.no_memplan, c->opt.device, NULL, c->arena, &c->diag)
	               : codegen_c(&b, c->module, c->opt.input, c->opt.use_double, c->opt.no_memplan, c->arena,
	                         &c->diag);
	if (ok)
		ok = write_text(file, b.p, b.n);
	buf_free(&b);
	if (ok && build)
		ok = cuda ? build_cuda_trainer(file, out, c->opt.verbose, strcmp(target, "cuda-emu") == 0)
		          : build_c_trainer(file, out, c->opt.verbose, c->opt.use_double);
	return ok;
}

/* --report=cost: every kernel the CUDA target launches for each recipe's step and update,
 * estimated on --device (codegen/cost.c). */
static bool report_cost(Compilation *c)
{
	CostLog *log = cost_log_new(c->arena);
	Buf b = {0};
	bool ok = codegen_cuda(&b, c->module, c->opt.input, c->opt.no_memplan, c->opt.device, log, c->arena, &c->diag);
	buf_free(&b);
	if (ok)
		ok = cost_report(stdout, log, c->module, c->opt.device, (CostPrecision)c->opt.precision);
	cost_log_free(log);
	return ok;
}

static int cmp_bytes_desc(const void *a, const void *b)
{
	const Ins *x = *(const Ins *const *)a, *y = *(const Ins *const *)b;
	int64_t bx = type_numel(&x->type, 1) * (int64_t)dtype_size(x->type.dt);
	int64_t by = type_numel(&y->type, 1) * (int64_t)dtype_size(y->type.dt);
	return bx < by ? 1 : bx > by ? -1 : x->id - y->id;
}

/* --report=memory's part for --recompute: each value f's backward recomputes, the bytes no
 * longer kept and the FLOPs its clone repeats, at `batch`. */
static void report_remat(Compilation *c, const Func *f, int64_t batch, int float_bytes, int64_t without)
{
	const Remat *rm = &c->remat;
	const RematCount *n = NULL;
	for (int i = 0; i < rm->counts.n; i++)
		if (strcmp(rm->counts.p[i].func, f->name) == 0)
			n = &rm->counts.p[i];
	if (rm->policy == REMAT_NONE || !n)
		return;
	/* the bytes at the storage dtype: under bf16 storage an activation is kept as its bf16 cast */
	int fb = c->module->precision == PRECISION_BF16 ? 2 : float_bytes;
	int64_t bytes = 0;
	double flops = 0;
	for (int i = 0; i < rm->chosen.n; i++)
		if (rm->chosen.p[i].f == f) {
			bytes += memplan_bytes(rm->chosen.p[i].value, batch, fb);
			flops += rm->chosen.p[i].flops * (double)batch;
		}
	double step = func_flops(f, false) * (double)batch - flops; /* without the clones */
	printf("  recomputed in the backward (--recompute=%s): %d of %d candidates (%d cheap), %.1f MiB no longer kept, "
	       "%.3f GFLOP more (%.2f%% over the step's %.1f); planned without recomputation %.1f MiB\n",
	       remat_policy_name(rm->policy), n->taken, n->candidates, n->cheap, bytes / 1048576.0, flops / 1e9,
	       step > 0 ? 100.0 * flops / step : 0.0, step / 1e9, without / 1048576.0);
	for (int i = 0; i < rm->chosen.n; i++) {
		const RematValue *v = &rm->chosen.p[i];
		if (v->f != f)
			continue;
		Buf t = {0};
		type_print(&t, &v->value->type);
		printf("  %10.1f MiB %9.3f GFLOP  %%%d = %s %s  %s:%d%s\n", memplan_bytes(v->value, batch, fb) / 1048576.0,
		       v->flops * (double)batch / 1e9, v->value->id, op_info(v->value->op)->name, t.p,
		       v->value->loc.file ? v->value->loc.file : "-", v->value->loc.line, v->cheap ? "" : "  (costly)");
		buf_free(&t);
	}
}

/* --report=memory: the activation plan of each recipe's step at its micro-batch, as the
 * chosen target runs it (its schedule, passes/lower.c). */
static bool report_memory(Compilation *c)
{
	const Module *m = c->module;
	int errors = c->diag.errors;
	Attempt none = {0}; /* the plans without recomputation, for the comparison */
	if (c->opt.recompute != REMAT_NONE && !attempt(c, REMAT_NONE, &none))
		return false;
	for (int i = 0; i < m->recipes.n; i++) {
		const Recipe *r = m->recipes.p[i];
		const RSetting *mb = recipe_setting(r, RK_micro_batch);
		const Func *f = module_find_func(m, arena_printf(c->arena, "%s.step", r->name));
		if (!f)
			f = module_find_func(m, arena_printf(c->arena, "%s.loss", r->name));
		if (!f || !mb || mb->val.kind != RV_INT)
			continue;
		int64_t batch = mb->val.i;
		Schedule *s = schedule(c, f, batch);
		if (!s)
			return false;
		MemPlan *p = s->plan;
		if (p->too_big) {
			diag_error(&c->diag, (Loc){0}, "@%s: the activations at batch %lld need more than " MEMPLAN_MAX_TEXT
			           ", more than any machine holds: lower the recipe's batch or micro_batch",
			           f->name, (long long)batch);
			continue;
		}
		printf("@%s at batch %lld: lower bound %.1f MiB, planned %.1f MiB (efficiency %.3f), naive %.1f MiB "
		       "(planned/naive %.3f)\n",
		       f->name, (long long)batch, p->lower_bound / 1048576.0, p->size / 1048576.0,
		       p->size ? (double)p->lower_bound / (double)p->size : 1.0, p->naive / 1048576.0,
		       p->naive ? (double)p->size / (double)p->naive : 0.0);
		int64_t every = 0; /* every IR value its own buffer, reshapes too: no fusion, no views */
		for (int k = 0; k < f->body.n; k++)
			if (memplan_needs_buffer(f->body.p[k]))
				every += memplan_bytes(f->body.p[k], batch, 4);
		printf("  every IR value its own buffer (no fusion, no views): %.1f MiB (planned/that %.3f)\n",
		       every / 1048576.0, every ? (double)p->size / (double)every : 0.0);
		if (!c->opt.no_memplan)
			printf("  offsets in schedule order %.1f MiB, largest first %.1f MiB: kept %s; %d values in place of an "
			       "input\n",
			       p->size_in_order / 1048576.0, p->size_by_size / 1048576.0, p->ordering, p->inplace);
		qsort(p->peak, (size_t)p->npeak, sizeof *p->peak, cmp_bytes_desc);
		int64_t by_dt[DT__N] = {0};
		for (int k = 0; k < p->npeak; k++)
			by_dt[p->peak[k]->type.dt] += memplan_bytes(p->peak[k], batch, c->opt.use_double ? 8 : 4);
		printf("  live at the peak:");
		for (int d = 0; d < DT__N; d++)
			if (by_dt[d])
				printf(" %.1f MiB %s", by_dt[d] / 1048576.0, dtype_name((DType)d));
		printf("\n  largest live at the peak:\n");
		int fb = c->opt.use_double ? 8 : 4;
		for (int k = 0; k < p->npeak && k < 10; k++) {
			const Ins *x = p->peak[k];
			Buf t = {0};
			type_print(&t, &x->type);
			printf("  %10.1f MiB  %%%d = %s %s  %s:%d\n",
			       memplan_bytes(x, batch, c->opt.use_double ? 8 : 4) / 1048576.0, x->id, op_info(x->op)->name, t.p,
			       x->loc.file ? x->loc.file : "-", x->loc.line);
			buf_free(&t);
		}
		report_remat(c, f, batch, fb, i < none.n ? none.plan[i] : -1);
	}
	return c->diag.errors == errors;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: maec FILE.dsl [options]\n"
	        "       maec FILE.ir [options]\n"
	        "\n"
	        "Compiles a model description (or IR text) to verified IR and runs the passes.\n"
	        "\n"
	        "options:\n"
	        "  --stats              parameter counts, forward GFLOP/image and compile time per phase\n"
	        "  --report=memory      each recipe step's activation plan: lower bound, planned, naive, peak\n"
	        "  --report=fusion      each function's kernels (kind, ops, DSL lines) and the pairs left apart\n"
	        "  --report=cost        with --target=cuda: each kernel of each recipe's step and update, its bytes,\n"
	        "                       FLOPs, roofline and estimated time on --device, the step's totals and host work\n"
	        "  --device=D           the device of the cost model: h200 (default) or h100 (codegen/cost.def)\n"
	        "  --precision=P        bf16 (default for cuda: activations stored in bf16, bf16 products; the\n"
	        "                       precision pass), fp32 (default for c) or tf32 (f32 storage, TF32 products)\n"
	        "  --recompute=R        none (default): the backward reads the forward's values; cheap: it recomputes\n"
	        "                       GELU's output, layernorm's outputs, the attention probabilities and other\n"
	        "                       elementwise chains instead of keeping them; auto: the fewest recomputations,\n"
	        "                       cheapest first, that fit --memory-budget (passes/remat.c)\n"
	        "  --memory-budget=GIB  the most activation memory each recipe step may plan at its micro-batch\n"
	        "  -fno-fuse            no fusion: every instruction its own kernel\n"
	        "  -fno-memplan         no memory planning: every value its own buffer\n"
	        "  --dump-ir            print the final IR (docs/ir.md)\n"
	        "  --dump-after=STAGE   print the IR after STAGE: elaborate, a pass, or all; lower: each recipe's\n"
	        "                       step and update as the target runs them (calls, values written, offsets)\n"
	        "  --dump-dir=DIR       write the IR after every stage to DIR/NN-STAGE.ir\n"
	        "  --dot=FILE           write the final IR as a Graphviz graph (- for stdout)\n"
	        "  --verify             only check the input; print nothing on success\n"
	        "  -o NAME.c            write the C trainer (OpenMP + CBLAS) of the recipes\n"
	        "  -o NAME.cu           write the CUDA trainer (NVRTC kernels, cuBLAS, CUDA graphs)\n"
	        "  -o NAME              write NAME.c (or NAME.cu) and build the trainer NAME\n"
	        "  --target=T           c (default: cc, OpenMP, OpenBLAS), cuda (nvcc; runs on an NVIDIA GPU) or\n"
	        "                       cuda-emu (the CUDA trainer built with c++, its kernels run on the host:\n"
	        "                       for tests without a GPU)\n"
	        "  --real=float|double  the C trainer's floating-point type (double: for gradient checks)\n"
	        "  -v                   show the compiler's command line\n"
	        "  -D NAME=VALUE        replace the file's top-level constant NAME (an int or a number)\n"
	        "  --help               this text\n"
	        "  --version            maec's version\n"
	        "\n"
	        "passes:\n");
	for (int i = 0; i < NPASSES; i++)
		fprintf(f, "  %-20s %s\n", passes[i].name, passes[i].what);
	fprintf(f, "\nexit status: 0 success, 1 errors in the input, 2 bad command line\n");
}

static bool valid_stage(const char *s)
{
	if (strcmp(s, "all") == 0 || strcmp(s, "elaborate") == 0 || strcmp(s, "lower") == 0)
		return true;
	for (int i = 0; i < NPASSES; i++)
		if (strcmp(passes[i].name, s) == 0)
			return true;
	return false;
}

/* -D NAME=VALUE: an integer or a number. */
static int parse_define(const char *s, Define *d)
{
	const char *eq = strchr(s, '=');
	size_t n = eq ? (size_t)(eq - s) : 0;
	bool name_ok = n > 0 && n < 256 && !(s[0] >= '0' && s[0] <= '9');
	for (size_t i = 0; i < n; i++)
		name_ok &= s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		           (s[i] >= '0' && s[i] <= '9');
	if (!name_ok || !eq[1]) {
		fprintf(stderr, "maec: -D needs NAME=VALUE with a number as the value, got '%s'\n", s);
		return 2;
	}
	static char names[64][256]; /* the command line's own storage: at most 64 -D */
	static int nnames;
	if (nnames == 64) {
		fprintf(stderr, "maec: at most 64 -D options\n");
		return 2;
	}
	memcpy(names[nnames], s, n);
	names[nnames][n] = 0;
	d->name = names[nnames++];
	char *end;
	errno = 0;
	long long i = strtoll(eq + 1, &end, 10);
	if (!*end && !errno) {
		*d = (Define){d->name, false, i, 0};
		return 0;
	}
	double f = strtod(eq + 1, &end);
	if (*end || !isfinite(f)) {
		fprintf(stderr, "maec: -D %s: '%s' is not a number\n", d->name, eq + 1);
		return 2;
	}
	*d = (Define){d->name, true, 0, f};
	return 0;
}

/* --name=value or --name value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == 0 && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int parse_args(int argc, char **argv, Options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("maec %s\n", MAEC_VERSION);
			exit(0);
		} else if (strcmp(a, "--report=memory") == 0) {
			o->report_memory = true;
		} else if (strcmp(a, "--report=fusion") == 0) {
			o->report_fusion = true;
		} else if (strcmp(a, "--report=cost") == 0) {
			o->report_cost = true;
		} else if ((v = opt_value(argc, argv, &i, "--device"))) {
			if ((o->device = cost_device(v)) < 0) {
				fprintf(stderr, "maec: unknown device '%s': h200 or h100\n", v);
				return 2;
			}
		} else if ((v = opt_value(argc, argv, &i, "--precision"))) {
			if (strcmp(v, "fp32") && strcmp(v, "tf32") && strcmp(v, "bf16")) {
				fprintf(stderr, "maec: unknown precision '%s': fp32, tf32 or bf16\n", v);
				return 2;
			}
			o->precision = strcmp(v, "fp32") == 0 ? COST_FP32 : strcmp(v, "tf32") == 0 ? COST_TF32 : COST_BF16;
		} else if ((v = opt_value(argc, argv, &i, "--recompute"))) {
			if (strcmp(v, "none") && strcmp(v, "cheap") && strcmp(v, "auto")) {
				fprintf(stderr, "maec: unknown recomputation policy '%s': none, cheap or auto\n", v);
				return 2;
			}
			o->recompute = strcmp(v, "cheap") == 0 ? REMAT_CHEAP : strcmp(v, "auto") == 0 ? REMAT_AUTO : REMAT_NONE;
		} else if ((v = opt_value(argc, argv, &i, "--memory-budget"))) {
			char *end;
			errno = 0;
			double gib = strtod(v, &end);
			if (end == v || *end || errno || !(gib > 0) || gib > 1048576) {
				fprintf(stderr, "maec: --memory-budget=%s: a size in GiB, more than 0 and at most 1048576\n", v);
				return 2;
			}
			o->budget = gib * 1073741824.0;
		} else if (strcmp(a, "-fno-fuse") == 0) {
			o->no_fuse = true;
		} else if (strcmp(a, "-fno-memplan") == 0) {
			o->no_memplan = true;
		} else if (strcmp(a, "--stats") == 0) {
			o->stats = true;
		} else if (strcmp(a, "--dump-ir") == 0) {
			o->dump_ir = true;
		} else if (strcmp(a, "--verify") == 0) {
			o->verify_only = true;
		} else if (strncmp(a, "-D", 2) == 0) {
			const char *d = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : "";
			if (parse_define(d, &o->defines[o->ndefines]))
				return 2;
			o->ndefines++;
		} else if (strcmp(a, "--real=double") == 0 || strcmp(a, "--real=float") == 0) {
			o->use_double = strcmp(a, "--real=double") == 0;
		} else if (strcmp(a, "-v") == 0) {
			o->verbose = true;
		} else if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "maec: -o needs a file name\n");
				return 2;
			}
			o->output = argv[++i];
			if (has_suffix(o->output, ".ir")) {
				fprintf(stderr, "maec: -o %s: the outputs are a trainer's source (NAME.c, NAME.cu) or the trainer "
				                "(NAME); for IR use --dump-ir\n",
				        o->output);
				return 2;
			}
		} else if ((v = opt_value(argc, argv, &i, "--target"))) {
			if (strcmp(v, "c") && strcmp(v, "cuda") && strcmp(v, "cuda-emu")) {
				fprintf(stderr, "maec: unknown target '%s': c, cuda or cuda-emu\n", v);
				return 2;
			}
			o->target = v;
		} else if ((v = opt_value(argc, argv, &i, "--dump-after"))) {
			if (!valid_stage(v)) {
				fprintf(stderr, "maec: unknown stage '%s' for --dump-after (see --help)\n", v);
				return 2;
			}
			o->dump_after = v;
		} else if ((v = opt_value(argc, argv, &i, "--dump-dir"))) {
			o->dump_dir = v;
		} else if ((v = opt_value(argc, argv, &i, "--dot"))) {
			o->dot = v;
		} else if (a[0] == '-' && a[1] != 0) {
			fprintf(stderr, "maec: unknown option '%s' (see --help)\n", a);
			return 2;
		} else if (o->input) {
			fprintf(stderr, "maec: one input file at a time ('%s' and '%s')\n", o->input, a);
			return 2;
		} else {
			o->input = a;
		}
	}
	if (!o->input) {
		usage(stderr);
		return 2;
	}
	/* the target: --target, else what -o's suffix says */
	if (!o->target)
		o->target = o->output && has_suffix(o->output, ".cu") ? "cuda" : "c";
	bool cuda = strncmp(o->target, "cuda", 4) == 0;
	if (o->precision < 0) /* the default policy: bf16 storage on the GPU, f32 on the CPU */
		o->precision = cuda ? COST_BF16 : COST_FP32;
	if (o->output && (cuda ? has_suffix(o->output, ".c") : has_suffix(o->output, ".cu"))) {
		fprintf(stderr, "maec: -o %s does not name a %s trainer (NAME%s or NAME)\n", o->output, cuda ? "CUDA" : "C",
		        cuda ? ".cu" : ".c");
		return 2;
	}
	if (o->report_cost && !cuda) {
		fprintf(stderr, "maec: --report=cost estimates the CUDA target: add --target=cuda\n");
		return 2;
	}
	if (o->recompute == REMAT_AUTO && !(o->budget > 0)) {
		fprintf(stderr, "maec: --recompute=auto chooses what to recompute to fit --memory-budget=GIB: give the budget\n");
		return 2;
	}
	if (o->precision == COST_BF16 && o->use_double) {
		fprintf(stderr, "maec: --precision=bf16 stores activations in bf16 and computes in float: not with --real=double\n");
		return 2;
	}
	if (cuda && o->use_double) {
		fprintf(stderr, "maec: --real=double is for the C target; the CUDA target computes in float (--precision)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	Compilation c = {0};
	Define defines[64];
	c.opt.defines = defines;
	c.opt.device = cost_device("h200");
	c.opt.precision = -1; /* the target's default (parse_args) */
	int rc = parse_args(argc, argv, &c.opt);
	if (rc)
		return rc;
	if (c.opt.dump_dir && mkdir(c.opt.dump_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "maec: cannot create '%s': %s\n", c.opt.dump_dir, strerror(errno));
		return 1;
	}
	c.arena = arena_new();
	diag_init(&c.diag, c.arena, stderr);
	bool ok = choose_recompute(&c) && compile(&c) && check_budget(&c);
	if (ok && c.opt.dump_ir) {
		Buf b = {0};
		module_print(&b, c.module);
		fwrite(b.p, 1, b.n, stdout);
		buf_free(&b);
	}
	if (ok && c.opt.dot) {
		Buf b = {0};
		module_dot(&b, c.module);
		ok = write_text(c.opt.dot, b.p, b.n);
		buf_free(&b);
	}
	if (ok && c.opt.output)
		ok = write_trainer(&c);
	if (ok && c.opt.stats)
		ok = print_stats(&c);
	if (ok && c.opt.report_memory)
		ok = report_memory(&c);
	if (ok && c.opt.report_cost)
		ok = report_cost(&c);
	if (c.diag.errors)
		fprintf(stderr, "%d error%s\n", c.diag.errors, c.diag.errors == 1 ? "" : "s");
	arena_free(c.arena);
	return ok ? 0 : 1;
}
