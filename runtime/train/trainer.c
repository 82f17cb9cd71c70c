/* trainer.c: the training driver every generated trainer runs (rt_main).
 *
 * It parses the command line, allocates the slabs, initialises the parameters, feeds
 * micro-batches of real data to the recipe's step function, applies the schedule and
 * the optimizer update, and writes step dumps for parity checks against PyTorch
 * (tools/reference/README.md describes the dump).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "train/dp.h"
#include "train/guard.h"
#include "train/trainer.h"

enum { RT_STREAM_DATA = RT_STREAM_OPS - 1 }; /* the epoch shuffle */

typedef struct Options {
	const RtRecipeDesc *recipe;
	bool eval_only; /* the `eval` command */
	const char *data, *dump, *dump_steps, *out, *from, *resume;
	int64_t steps, epochs, batch, micro_batch, seed, threads, warmup, log_every, limit;
	int64_t zero; /* --zero 1: ZeRO-1, the optimizer's state and update sharded over the ranks */
	int ranks_here; /* the ranks on this machine (they share its memory) */
	bool profile; /* --profile */
	double lr;
	RtPrecision precision;
	double checkpoint_every; /* seconds between checkpoints within an epoch; 0: at epoch ends only */
	bool detect_anomaly;
	bool quiet, overwrite; /* no step reports; --out may name a directory that exists */
	int64_t vis_every;     /* a reconstruction picture every N steps too; 0: each epoch only */
	bool skip_bad, cache_images; /* image folders: --skip-bad-images, --cache-images */
	int64_t loader_threads;      /* image folders: --loader-threads (0: a quarter of the cores) */
	int argc;              /* the command line, for the run directory */
	char **argv;
} Options;

/* The training commands' options, one row each: the flag, its value's name, how the value is
 * read, the field of Options it sets, the range of a number, and the help text (--help prints
 * this table). Checks that need the program or several options are in check_options. */
typedef enum { OPT_FLAG, OPT_STR, OPT_INT, OPT_REAL, OPT_MINUTES, OPT_PRECISION } OptKind;

typedef struct OptDesc {
	const char *flag, *arg;
	OptKind kind;
	size_t field;   /* offsetof(Options, ...) */
	int64_t lo, hi; /* OPT_INT: [lo, hi]; OPT_REAL, OPT_MINUTES: (lo, hi] */
	const char *help;
} OptDesc;

#define FIELD(f) offsetof(Options, f)
static const OptDesc options[] = {
	{"--data", "DIR", OPT_STR, FIELD(data), 0, 0,
	 "the data set's directory (CIFAR-10 binary version, Fashion-MNIST IDX, or an\n"
	 "image folder DIR/CLASS/IMAGE.jpg|png; default: the recipe's image_folder(\"DIR\"))"},
	{"--epochs", "N", OPT_INT, FIELD(epochs), 1, 1000000, "epochs to run (default: the recipe's)"},
	{"--steps", "N", OPT_INT, FIELD(steps), 1, INT32_MAX, "stop after N optimizer steps (default: no limit)"},
	{"--batch", "N", OPT_INT, FIELD(batch), 1, 1 << 24, "images per optimizer step (default and maximum: the recipe's)"},
	{"--micro-batch", "N", OPT_INT, FIELD(micro_batch), 1, 1 << 24,
	 "images per forward/backward (default and maximum: the recipe's)"},
	{"--lr", "X", OPT_REAL, FIELD(lr), 0, 10, "the peak learning rate (default: the recipe's)"},
	{"--warmup", "N", OPT_INT, FIELD(warmup), 0, 1000000, "epochs of warm-up (default: the recipe's)"},
	{"--seed", "N", OPT_INT, FIELD(seed), 0, INT64_MAX,
	 "seed of initialisation, masking and shuffling (default: the recipe's)"},
	{"--threads", "N", OPT_INT, FIELD(threads), 1, 4096, "OpenMP threads (default: all cores)"},
	{"--precision", "P", OPT_PRECISION, FIELD(precision), 0, 0,
	 "the policy it was compiled with (maec --precision): bf16, or for f32\n"
	 "storage fp32 or tf32 products (tf32 on a GPU only, its default there)"},
	{"--from", "CKPT", OPT_STR, FIELD(from), 0, 0,
	 "start from a checkpoint's parameters (a pretraining one for fine-tuning)"},
	{"--out", "DIR", OPT_STR, FIELD(out), 0, 0,
	 "the run directory (default: runs/RECIPE-YYYYmmdd-HHMMSS); one that\nexists is refused unless --overwrite"},
	{"--overwrite", NULL, OPT_FLAG, FIELD(overwrite), 0, 0,
	 "let --out name a directory that exists, replacing its files"},
	{"--resume", "DIR", OPT_STR, FIELD(resume), 0, 0,
	 "continue the run whose checkpoint DIR holds, exactly where it stopped"},
	{"--checkpoint-every", "MIN", OPT_MINUTES, FIELD(checkpoint_every), 0, 10080,
	 "also write the checkpoint every MIN minutes (a decimal), not only\nat the end of each epoch"},
	{"--detect-anomaly", NULL, OPT_FLAG, FIELD(detect_anomaly), 0, 0,
	 "check every kernel's output for NaN and infinity; stop at the first\n"
	 "that holds one, naming its op and DSL line (the C target; slow)"},
	{"--log-every", "N", OPT_INT, FIELD(log_every), 1, INT32_MAX,
	 "print every Nth optimizer step when not on a terminal (default: 1)"},
	{"--quiet", NULL, OPT_FLAG, FIELD(quiet), 0, 0, "no progress bar or step lines; epoch summaries only"},
	{"--vis-every", "N", OPT_INT, FIELD(vis_every), 1, INT32_MAX,
	 "a reconstruction picture every N steps too (default: each epoch only)"},
	{"--limit", "N", OPT_INT, FIELD(limit), 1, INT32_MAX, "train on the first N images of the training split only"},
	{"--dump-step", "FILE", OPT_STR, FIELD(dump), 0, 0,
	 "write the first step's inputs, gradients and parameters (safetensors)"},
	{"--dump-steps", "FILE", OPT_STR, FIELD(dump_steps), 0, 0,
	 "write every step's inputs and loss, and the parameters before the first"},
	{"--profile", NULL, OPT_FLAG, FIELD(profile), 0, 0,
	 "time every kernel; print the time per step by kind, DSL line and call site\n"
	 "(the first step, warm-up, is not counted when there are more)"},
	{"--skip-bad-images", NULL, OPT_FLAG, FIELD(skip_bad), 0, 0,
	 "image folders: leave out and count unreadable, truncated or non-image files\n"
	 "and empty class folders, instead of stopping at the first"},
	{"--loader-threads", "N", OPT_INT, FIELD(loader_threads), 1, 256,
	 "image folders: threads decoding the next micro-batches (default: a quarter\nof the cores, at least 1)"},
	{"--cache-images", NULL, OPT_FLAG, FIELD(cache_images), 0, 0,
	 "image folders: decode every image once, at the start, and keep it in memory"},
	{"--zero", "N", OPT_INT, FIELD(zero), 0, 1,
	 "under mpirun: 1 shards AdamW's update and state over the ranks (ZeRO-1),\n"
	 "0 (default) updates everything on every rank (docs/distributed.md)"},
};
#undef FIELD

static void usage(const RtProgram *p, FILE *f)
{
	fprintf(f, "usage: trainer RECIPE --data DIR [options]      train\n"
	           "       trainer eval RECIPE --data DIR --from CKPT  evaluate a checkpoint\n"
	           "       trainer reconstruct --from CKPT (--image PNG | --index N [--count K] --data DIR)\n"
	           "                 [--out PNG] [--seed N] [--mask-ratio R]   reconstruction picture\n"
	           "       trainer gradcheck RECIPE [--batch N] [--samples N] [--seed N]\n"
	           "%s\nrecipes of %s:\n",
	        p->device ? "       trainer kernels [--arch N]... [-v]         compile the kernels (no GPU needed)\n" : "",
	        p->source);
	for (int i = 0; i < p->nrecipes; i++)
		fprintf(f, "  %-12s model %s, batch %lld (micro-batches of %lld), %lld epochs\n", p->recipes[i].name,
		        p->models[p->recipes[i].model].name, (long long)p->recipes[i].batch,
		        (long long)p->recipes[i].micro_batch, (long long)p->recipes[i].epochs);
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
		const OptDesc *d = &options[i];
		char *name = rt_format("%s%s%s", d->flag, d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(f, "  %-18s  ", name);
		for (const char *s = d->help; *s; s++)
			fputs(*s == '\n' ? "\n                      " : (char[2]){*s, 0}, f);
		fputc('\n', f);
		free(name);
	}
}

static int bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "trainer: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 2;
}

static int parse_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "trainer: %s needs an integer from %lld to %lld, got '%s'\n", flag, (long long)lo,
		        (long long)hi, s);
		return 2;
	}
	*out = v;
	return 0;
}

/* A number in (lo, hi]; what names the unit in the message ("a number", "minutes"). */
static int parse_real(const char *flag, const char *s, int64_t lo, int64_t hi, const char *what, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > (double)lo) || !(v <= (double)hi)) {
		fprintf(stderr, "trainer: %s needs %s in (%lld, %lld], got '%s'\n", flag, what, (long long)lo, (long long)hi, s);
		return 2;
	}
	*out = v;
	return 0;
}

/* Sets the field of one option from its value v (NULL for a flag). */
static int parse_option(const OptDesc *d, const char *v, Options *o)
{
	void *field = (char *)o + d->field;
	switch (d->kind) {
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_STR:
		*(const char **)field = v;
		return 0;
	case OPT_INT:
		return parse_int(d->flag, v, d->lo, d->hi, field);
	case OPT_REAL:
		return parse_real(d->flag, v, d->lo, d->hi, "a number", field);
	case OPT_MINUTES: {
		int rc = parse_real(d->flag, v, d->lo, d->hi, "minutes", field);
		*(double *)field *= 60; /* kept in seconds */
		return rc;
	}
	case OPT_PRECISION:
		if (strcmp(v, "fp32") && strcmp(v, "tf32") && strcmp(v, "bf16"))
			return bad("--precision needs fp32, tf32 or bf16, got '%s'%s", v, "");
		*(RtPrecision *)field = v[0] == 'f' ? RT_FP32 : v[0] == 't' ? RT_TF32 : RT_BF16;
		return 0;
	}
	return 2;
}

/* Options this trainer cannot honour. */
static int check_program(const RtProgram *p, const Options *o)
{
	if (o->detect_anomaly && p->device)
		return bad("--detect-anomaly checks the C target's kernels; this trainer runs them on a GPU%s%s", "", "");
	if (o->zero && p->device)
		return bad("--zero 1 shards the update of the C target's trainer; this one runs on a GPU, where "
		           "the ranks update alike (give --zero 0)%s%s", "", "");
	const char *precision = o->precision == RT_BF16 ? "bf16" : o->precision == RT_TF32 ? "tf32" : "fp32";
	if (p->bf16 != (o->precision == RT_BF16))
		return bad("--precision %s: this trainer was compiled with maec --precision=%s; compile it again "
		           "to change the policy", precision, p->bf16 ? "bf16" : "fp32 (or tf32)");
	if (!p->device && o->precision == RT_TF32)
		return bad("--precision %s needs a GPU: the C trainer's products are fp32 (maec --target=cuda)%s",
		           precision, "");
	return 0;
}

/* Options that do not go together, and a run directory that would be overwritten. */
static int check_run(const Options *o)
{
	if (o->warmup > o->epochs)
		return bad("--warmup is longer than the run (%s epochs)%s", "--epochs", "");
	if (!o->data)
		return bad("recipe '%s' reads %s: give its directory with --data DIR", o->recipe->name,
		           rt_data_info[o->recipe->data].name);
	if (o->eval_only && !o->from)
		return bad("eval needs a checkpoint: --from CKPT%s%s", "", "");
	if (o->resume && o->from)
		return bad("--resume continues a run; --from starts one: give one of them%s%s", "", "");
	struct stat sb;
	if (o->out && !o->eval_only && !o->overwrite && (!o->resume || strcmp(o->out, o->resume) != 0) &&
	    stat(o->out, &sb) == 0) {
		fprintf(stderr, "trainer: '%s' exists: it may hold a run. Give another --out, --resume %s to continue it, "
		                "or --overwrite to replace its files\n", o->out, o->out);
		return 2;
	}
	return 0;
}

/* The batch and micro-batch against what the recipe was compiled for and the ranks; fills in
 * the micro-batch when it was not given. */
static int check_batches(const RtRecipeDesc *r, Options *o, int ranks)
{
	if (o->batch > r->batch) {
		fprintf(stderr, "trainer: batch %lld is larger than %lld, the most recipe '%s' was compiled for\n",
		        (long long)o->batch, (long long)r->batch, r->name);
		return 2;
	}
	if (o->batch % ranks) {
		fprintf(stderr, "trainer: batch %lld cannot be shared by %d ranks: give a batch that is a multiple of %d\n",
		        (long long)o->batch, ranks, ranks);
		return 2;
	}
	if (o->micro_batch < 0) /* with ranks, at least one micro-batch each */
		o->micro_batch = o->batch / ranks < r->micro_batch ? o->batch / ranks : r->micro_batch;
	if (o->micro_batch > r->micro_batch) {
		fprintf(stderr, "trainer: micro-batch %lld is larger than %lld, the most this trainer was compiled for\n",
		        (long long)o->micro_batch, (long long)r->micro_batch);
		return 2;
	}
	if (o->batch % o->micro_batch) {
		fprintf(stderr, "trainer: batch %lld is not a multiple of the micro-batch %lld\n", (long long)o->batch,
		        (long long)o->micro_batch);
		return 2;
	}
	if (o->batch / o->micro_batch % ranks) {
		fprintf(stderr, "trainer: batch %lld in micro-batches of %lld is %lld micro-batches a step, which %d ranks "
		        "cannot share evenly: give a --micro-batch that makes it a multiple of %d\n", (long long)o->batch,
		        (long long)o->micro_batch, (long long)(o->batch / o->micro_batch), ranks, ranks);
		return 2;
	}
	return 0;
}

/* Returns 0 to go on, -1 after --help, or an exit status. */
static int parse_args(const RtProgram *p, int argc, char **argv, Options *o, int ranks)
{
	*o = (Options){0};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(p, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : -1;
	}
	int first = strcmp(argv[1], "eval") == 0 ? 2 : 1;
	const RtRecipeDesc *r = NULL;
	for (int i = 0; i < p->nrecipes && first < argc; i++)
		if (strcmp(p->recipes[i].name, argv[first]) == 0)
			r = &p->recipes[i];
	if (!r)
		return bad("unknown recipe '%s' (see --help)%s", first < argc ? argv[first] : "", "");
	*o = (Options){.recipe = r, .eval_only = first == 2, .steps = -1, .epochs = r->epochs, .batch = r->batch,
	               .micro_batch = -1, .seed = r->seed, .lr = r->lr, .warmup = r->warmup, .log_every = 1,
	               .precision = p->bf16 ? RT_BF16 : p->device ? RT_TF32 : RT_FP32, .argc = argc, .argv = argv};
	for (int i = first + 1; i < argc; i++) {
		const OptDesc *d = NULL;
		for (size_t k = 0; k < sizeof options / sizeof *options; k++)
			if (strcmp(argv[i], options[k].flag) == 0)
				d = &options[k];
		if (!d)
			return bad("unknown option '%s' (see --help)%s", argv[i], "");
		if (d->kind != OPT_FLAG && i + 1 >= argc)
			return bad("option '%s' needs a value%s", argv[i], "");
		int rc = parse_option(d, d->kind == OPT_FLAG ? NULL : argv[++i], o);
		if (rc)
			return rc;
	}
	if (!o->data)
		o->data = r->images.folder; /* image_folder("DIR") */
	int rc = check_program(p, o);
	if (!rc)
		rc = check_batches(r, o, ranks);
	if (!rc)
		rc = check_run(o);
	if (!rc && o->resume && !o->out)
		o->out = o->resume;
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A file can be written at path: its directory exists and is writable. */
static int check_writable(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? rt_format("%.*s", (int)(slash - path), path) : rt_format(".");
	int ok = dir && (slash == path || access(*dir ? dir : "/", W_OK) == 0);
	if (!ok)
		fprintf(stderr, "trainer: cannot write '%s': %s\n", path, strerror(errno));
	free(dir);
	return ok ? 0 : 1;
}

/* The learning-rate multiplier at epoch e. The reference's (warmup_cosine) changes once
 * per epoch (e whole, 0-based): min((e + 1) / warmup, (cos(pi e / total) + 1) / 2). The
 * official MAE's (warmup_cosine_iter) changes every step (e fractional): linear warm-up
 * from 0, then a half cosine over the rest. */
static double schedule(const RtRecipeDesc *r, int64_t warmup, int64_t epochs, double e)
{
	const double pi = 3.14159265358979323846;
	if (r->schedule == RT_CONSTANT)
		return 1;
	if (r->schedule == RT_WARMUP_COSINE_ITER) {
		if (e < (double)warmup)
			return e / (double)warmup;
		return 0.5 * (1 + cos(pi * (e - (double)warmup) / (double)(epochs - warmup > 0 ? epochs - warmup : 1)));
	}
	double warm = (e + 1) / ((double)warmup + 1e-8);
	double cosine = 0.5 * (cos(pi * e / (double)epochs) + 1);
	return warm < cosine ? warm : cosine;
}

static void *alloc_or_die(size_t n, const char *what)
{
	void *p = calloc(n ? n : 1, 1);
	if (!p) {
		fprintf(stderr, "trainer: out of memory allocating %zu bytes for %s\n", n, what);
		exit(1);
	}
	return p;
}

/* A device's slabs to the host, before the driver reads the host's (no-op on the CPU). */
static int pull(const RtProgram *p, RtState *st)
{
	return p->device ? p->device->pull(st) : 0;
}

static void init_params(const RtProgram *p, real *slab, uint64_t seed)
{
	for (int i = 0; i < p->nparams; i++) {
		const RtParamDesc *d = &p->params[i];
		float *tmp = alloc_or_die(sizeof(float) * (size_t)d->numel, d->name);
		rt_init_param(tmp, d->numel, d->init, d->init_args, d->shape, d->rank, seed, (uint32_t)i);
		for (int64_t k = 0; k < d->numel; k++)
			slab[d->offset + k] = (real)tmp[k];
		free(tmp);
	}
}

static float *to_float(const real *x, int64_t n)
{
	float *f = alloc_or_die(sizeof(float) * (size_t)n, "a dump");
	for (int64_t i = 0; i < n; i++)
		f[i] = (float)x[i];
	return f;
}

static bool trains(const RtRecipeDesc *r, int param)
{
	for (int i = 0; i < r->ntrained; i++)
		if (r->trained[i] == param)
			return true;
	return false;
}

/* A dump being assembled: the tensors of 8-byte types are written first so that every
 * tensor stays aligned; the memory of each is owned here until the file is written. */
typedef struct Entry {
	char *name;
	RtDType dtype;
	int rank;
	int64_t shape[RT_MAX_RANK];
	void *data;
	size_t nbytes;
} Entry;

typedef struct Dump {
	Entry *e;
	int n, cap;
} Dump;

static void dump_take(Dump *d, char *name, RtDType dtype, const int64_t *shape, int rank, void *data, size_t nbytes)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		d->e = realloc(d->e, sizeof *d->e * (size_t)d->cap);
		if (!d->e) {
			fprintf(stderr, "trainer: out of memory\n");
			exit(1);
		}
	}
	Entry *e = &d->e[d->n++];
	*e = (Entry){.name = name, .dtype = dtype, .rank = rank, .data = data, .nbytes = nbytes};
	if (rank)
		memcpy(e->shape, shape, sizeof(int64_t) * (size_t)rank);
}

static void dump_real(Dump *d, char *name, const real *x, const int64_t *shape, int rank)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= shape[i];
	dump_take(d, name, RT_F32, shape, rank, to_float(x, n), sizeof(float) * (size_t)n);
}

/* One step's inputs under the names NAME + suffix: its images, labels, masking
 * permutations ([T, batch], as the reference's forward_indexes) and loss. */
static void dump_step(Dump *d, const RtRecipeDesc *r, const RtState *st, const char *suffix, const real *images,
                      const int32_t *labels, int64_t batch, int64_t mb, uint32_t first_rng_step, double loss)
{
	if (r->perm_len > 0) {
		int64_t T = r->perm_len;
		int32_t *perm = alloc_or_die(sizeof(int32_t) * (size_t)(T * mb), "a dump");
		int64_t *fwd = alloc_or_die(sizeof(int64_t) * (size_t)(T * batch), "a dump");
		for (int64_t m = 0; m < batch / mb; m++) {
			rt_randperm(perm, mb, T, st->seed, RT_STREAM_OPS, first_rng_step + (uint32_t)m);
			for (int64_t b = 0; b < mb; b++)
				for (int64_t t = 0; t < T; t++)
					fwd[t * batch + m * mb + b] = perm[b * T + t];
		}
		free(perm);
		dump_take(d, rt_format("forward_indexes%s", suffix), RT_I64, (const int64_t[]){T, batch}, 2, fwd,
		          sizeof(int64_t) * (size_t)(T * batch));
	}
	int64_t ishape[4] = {batch, r->image[0], r->image[1], r->image[2]};
	dump_real(d, rt_format("input%s", suffix), images, ishape, 4);
	if (r->nargs >= 2) {
		int32_t *l = alloc_or_die(sizeof(int32_t) * (size_t)batch, "a dump");
		memcpy(l, labels, sizeof(int32_t) * (size_t)batch);
		dump_take(d, rt_format("labels%s", suffix), RT_I32, &batch, 1, l, sizeof(int32_t) * (size_t)batch);
	}
	float *lf = alloc_or_die(sizeof(float), "a dump");
	*lf = (float)loss;
	dump_take(d, rt_format("loss%s", suffix), RT_F32, NULL, 0, lf, sizeof(float));
}

/* Every state_dict entry of the recipe's model, from a slab laid out as the parameters
 * (params) or as the state (grads: trained parameters only). */
static void dump_params(Dump *d, const RtProgram *p, const RtRecipeDesc *r, const char *prefix, const real *slab,
                        bool state_layout)
{
	const RtModelDesc *model = &p->models[r->model];
	for (int i = 0; i < model->nparams; i++) {
		const RtParamDesc *pd = &p->params[model->params[i].param];
		if (state_layout && !trains(r, model->params[i].param))
			continue;
		dump_real(d, rt_format("%s%s", prefix, model->params[i].name), slab + (state_layout ? pd->state_offset : pd->offset),
		          pd->shape, pd->rank);
	}
}

/* The model's outputs on the step's images (e.g. a classifier's logits), with the
 * parameters before the update; models that draw random numbers are left out. */
static int dump_outputs(Dump *d, const RtModelDesc *model, RtState *st, const real *images, int64_t batch,
                        int64_t image)
{
	if (model->random || model->nouts == 0)
		return 0;
	real **outs = alloc_or_die(sizeof *outs * (size_t)model->nouts, "a dump");
	for (int i = 0; i < model->nouts; i++)
		outs[i] = alloc_or_die(sizeof(real) * (size_t)(model->out_numel[i] * batch), "a dump");
	int rc = 0;
	for (int64_t b0 = 0; b0 < batch && !rc; b0 += model->max_batch) {
		int64_t b = batch - b0 < model->max_batch ? batch - b0 : model->max_batch;
		real **part = alloc_or_die(sizeof *part * (size_t)model->nouts, "a dump");
		for (int i = 0; i < model->nouts; i++)
			part[i] = outs[i] + b0 * model->out_numel[i];
		st->s.batch = (real)b;
		rc = model->forward(st, b, images + b0 * image, part);
		free(part);
	}
	for (int i = 0; i < model->nouts && !rc; i++) {
		int64_t shape[2] = {batch, model->out_numel[i]};
		dump_real(d, rt_format("%s", model->out_names[i] ? model->out_names[i] : "output"), outs[i], shape, 2);
	}
	for (int i = 0; i < model->nouts; i++)
		free(outs[i]);
	free(outs);
	return rc;
}

static void meta_num(RtSafetensors *st, const char *key, double v)
{
	char *s = rt_format("%.17g", v);
	rt_st_meta(st, key, s);
	free(s);
}

/* Writes the dump with the run's settings as metadata (tools/reference/README.md). */
/* The program's identity, for every file a trainer writes. */
static void meta_program(RtSafetensors *st, const RtProgram *p, const RtRecipeDesc *r)
{
	rt_st_meta(st, "recipe", r->name);
	rt_st_meta(st, "train", r->train);
	rt_st_meta(st, "source", p->source);
	rt_st_meta(st, "maec_version", p->maec_version);
	for (int i = 0; i < p->nconsts; i++) { /* a constant named like a setting (eps) must not replace it */
		const char *name = p->consts[i].name;
		char *key = rt_st_meta_get(st, name) ? rt_format("const.%s", name) : rt_format("%s", name);
		meta_num(st, key, p->consts[i].value);
		free(key);
	}
}

/* The dump's tensors, 8-byte types first, in a file object that metadata is added to. */
static RtSafetensors *dump_open(const Dump *d)
{
	RtSafetensors *st = rt_st_create();
	if (!st) {
		fprintf(stderr, "trainer: out of memory\n");
		exit(1);
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < d->n; i++)
			if ((rt_dtype_size(d->e[i].dtype) == 8) == (pass == 0))
				rt_st_add(st, d->e[i].name, d->e[i].dtype, d->e[i].shape, d->e[i].rank, d->e[i].data, d->e[i].nbytes);
	return st;
}

/* Writes the file (atomically: a temporary file renamed over path) and frees both; a NULL
 * path only frees them. */
static int dump_close(RtSafetensors *st, Dump *d, const char *path, bool quiet)
{
	char *err = NULL;
	int rc = path ? rt_st_write(st, path, &err) : 0;
	if (rc)
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory writing a file");
	else if (!quiet)
		printf("wrote %s\n", path);
	free(err);
	rt_st_free(st);
	for (int i = 0; i < d->n; i++) {
		free(d->e[i].name);
		free(d->e[i].data);
	}
	free(d->e);
	*d = (Dump){0};
	return rc ? 1 : 0;
}

/* A step dump, with the run's settings as metadata (tools/reference/README.md). */
static int dump_write(Dump *d, const RtProgram *p, const RtRecipeDesc *r, int64_t batch, int64_t mb, const char *lr,
                      int64_t steps, const char *path)
{
	RtSafetensors *st = dump_open(d);
	rt_st_meta(st, "lr", lr);
	char *betas = rt_format("%.17g,%.17g", r->beta1, r->beta2);
	rt_st_meta(st, "betas", betas);
	free(betas);
	meta_num(st, "eps", r->eps);
	meta_num(st, "weight_decay", r->weight_decay);
	meta_num(st, "micro_batches", (double)(batch / mb));
	meta_num(st, "steps", (double)steps);
	meta_program(st, p, r);
	return dump_close(st, d, path, false);
}

/* ---------- evaluation ---------- */

typedef struct Eval {
	double loss, batch_mean_acc, acc; /* acc: weighted by samples */
	int64_t n;
	bool has_acc;
} Eval;

/* The recipe's loss and metrics over a whole split, in micro-batches. The reference
 * reports the mean of the per-batch accuracies; the exact one is beside it. With ranks,
 * batch k runs on rank k % ranks and the batches' results are summed over the ranks (each
 * rank adds zeros for the others' batches), then every rank adds them up in the order of
 * one process: the same numbers to the last bit. */
static int evaluate(const RtRecipeDesc *r, RtState *st, const RtDataset *d, int64_t mb, Eval *ev)
{
	int64_t n = rt_dataset_size(d), shape[3];
	rt_dataset_shape(d, shape);
	int64_t image = shape[0] * shape[1] * shape[2], batches = (n + mb - 1) / mb;
	int rank = st->comm ? rt_comm_rank(st->comm) : 0, ranks = st->comm ? rt_comm_size(st->comm) : 1;
	double *per = alloc_or_die(sizeof(double) * (size_t)(2 * batches), "the evaluation");
	float *f = alloc_or_die(sizeof(float) * (size_t)(image * mb), "the evaluation");
	real *x = alloc_or_die(sizeof(real) * (size_t)(image * mb), "the evaluation");
	int32_t *labels = alloc_or_die(sizeof(int32_t) * (size_t)mb, "the evaluation");
	int64_t *idx = alloc_or_die(sizeof(int64_t) * (size_t)mb, "the evaluation");
	real *res = alloc_or_die(sizeof(real) * (size_t)(r->nresults + 1), "the evaluation");
	*ev = (Eval){.has_acc = r->nresults > 1};
	int rc = 0;
	for (int64_t j = rank; j < batches && !rc; j += ranks) {
		int64_t start = j * mb, b = n - start < mb ? n - start : mb;
		for (int64_t k = 0; k < b; k++)
			idx[k] = start + k;
		char *err = NULL;
		if (rt_dataset_read(d, idx, b, NULL, f, labels, &err)) {
			fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
			free(err);
			rc = 1;
			break;
		}
		for (int64_t k = 0; k < image * b; k++)
			x[k] = (real)f[k];
		st->s.batch = (real)b;
		rc = r->eval(st, b, x, labels, res);
		per[2 * j] = (double)res[0];
		per[2 * j + 1] = ev->has_acc ? (double)res[1] : 0;
	}
	if (!rc && ranks > 1)
		rc = rt_comm_allreduce(st->comm, per, 2 * batches, RT_COMM_F64);
	for (int64_t j = 0; j < batches; j++) {
		int64_t b = n - j * mb < mb ? n - j * mb : mb;
		ev->loss += per[2 * j];
		if (ev->has_acc) {
			ev->batch_mean_acc += per[2 * j + 1];
			ev->acc += per[2 * j + 1] * (double)b;
		}
	}
	free(per);
	ev->n = n;
	ev->loss /= (double)batches;
	ev->batch_mean_acc /= (double)batches;
	ev->acc /= (double)n;
	free(f);
	free(x);
	free(labels);
	free(idx);
	free(res);
	return rc;
}

/* ---------- checkpoints ---------- */

/* Where a run stands: what a checkpoint records beside the tensors so that --resume
 * continues exactly, the epoch's partial means included. */
typedef struct Counters {
	int64_t epoch, opt_step, micro_count, rng_step, batch, mb;
	int64_t epoch_batches; /* micro-batches of the epoch so far, and the sums of their results */
	double *epoch_sums;
	double *step_sums;     /* the means so far of a step under way (its first micro-batches) */
	int nsums;
	double best_acc;       /* the best validation accuracy so far; -1: none */
} Counters;

static void counters_at(Counters *c, int64_t epoch, int64_t opt_step, int64_t micro_count, int64_t epoch_batches,
                        double best_acc)
{
	c->epoch = epoch;
	c->opt_step = opt_step;
	c->micro_count = micro_count;
	c->epoch_batches = epoch_batches;
	c->best_acc = best_acc;
}

/* The model's state_dict, loadable by the PyTorch reference with load_state_dict; the
 * optimizer's state and the counters that resume a run go beside it.
 *
 * The two files must be of the same step for a resume, and a kill may come at any moment:
 * each file is written whole and renamed into place (rt_st_write), both carry the
 * micro-batch count as their stamp, and the optimizer's file is written first under a
 * second name (RECIPE.optim.next.safetensors), then the model's, then the first renamed
 * over RECIPE.optim.safetensors. Whenever the trainer dies, the model's file matches one of
 * the two optimizer files (pick_optim chooses it). */
static int save_checkpoint(const RtProgram *p, const RtRecipeDesc *r, RtState *st, const char *dir,
                           const Counters *c, const Eval *ev)
{
	/* every rank: the sharded state gathered, and the gradients of a step under way (an epoch
	 * that ended inside it) summed; then rank 0 writes */
	if (pull(p, st) || rt_dp_gather_state(st->dp))
		return 1;
	bool owned = false;
	real *grad = c->micro_count % (c->batch / c->mb) ? rt_dp_partial_grads(st->dp, &owned) : st->grad;
	if (!grad)
		return 1;
	if (rt_comm_rank(st->comm) != 0) {
		if (owned)
			free(grad);
		return 0;
	}
	Dump d = {0};
	dump_params(&d, p, r, "", st->params, false);
	RtSafetensors *f = dump_open(&d);
	meta_program(f, p, r);
	meta_num(f, "epoch", (double)c->epoch);
	meta_num(f, "micro_batches_done", (double)c->micro_count);
	if (ev && ev->has_acc)
		meta_num(f, "val_acc", ev->acc);
	RtSafetensors *model_file = f;
	Dump model_dump = d;
	d = (Dump){0};
	dump_params(&d, p, r, "exp_avg.", st->m, true);
	dump_params(&d, p, r, "exp_avg_sq.", st->v, true);
	dump_params(&d, p, r, "grad_accumulated.", grad, true);
	f = dump_open(&d);
	meta_program(f, p, r);
	meta_num(f, "epoch", (double)c->epoch);
	meta_num(f, "adam_step", (double)c->opt_step);
	meta_num(f, "micro_batches_done", (double)c->micro_count);
	meta_num(f, "rng_step", (double)st->rng_step);
	meta_num(f, "seed", (double)st->seed);
	meta_num(f, "batch", (double)c->batch);
	meta_num(f, "micro_batch", (double)c->mb);
	meta_num(f, "epoch_micro_batches", (double)c->epoch_batches);
	meta_num(f, "best_val_acc", c->best_acc);
	for (int i = 0; i < c->nsums; i++) {
		char *key = rt_format("epoch_sum.%d", i), *step = rt_format("step_sum.%d", i);
		meta_num(f, key, c->epoch_sums[i]);
		meta_num(f, step, c->step_sums ? c->step_sums[i] : 0);
		free(key);
		free(step);
	}
	char *next = rt_format("%s/%s.optim.next.safetensors", dir, r->name);
	char *optim = rt_format("%s/%s.optim.safetensors", dir, r->name);
	char *path = rt_format("%s/%s.safetensors", dir, r->name);
	int rc = dump_close(f, &d, next, true);
	if (!rc)
		rc = dump_close(model_file, &model_dump, path, true);
	else
		dump_close(model_file, &model_dump, NULL, true); /* frees it */
	if (!rc && rename(next, optim) != 0) {
		fprintf(stderr, "trainer: cannot rename '%s' to '%s': %s\n", next, optim, strerror(errno));
		rc = 1;
	}
	free(next);
	free(optim);
	free(path);
	if (owned)
		free(grad);
	return rc;
}

static const char *dims_str(const int64_t *shape, int rank)
{
	static char buf[200]; /* messages only; a shape prints in well under 200 bytes */
	int n = snprintf(buf, sizeof buf, "[");
	for (int i = 0; i < rank && n < (int)sizeof buf - 24; i++)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%lld", i ? "," : "", (long long)shape[i]);
	snprintf(buf + n, sizeof buf - (size_t)n, "]");
	return buf;
}

/* The checkpoint's tensor for parameter `param`: under its name in the recipe's model,
 * or under the name another model of the program gives it (a pretraining checkpoint's
 * encoder.* for the classifier that shares those parameters). */
static const RtTensor *find_tensor(const RtProgram *p, const RtSafetensors *ck, int param, const char *name)
{
	const RtTensor *t = rt_st_get(ck, name);
	for (int m = 0; m < p->nmodels && !t; m++)
		for (int i = 0; i < p->models[m].nparams && !t; i++)
			if (p->models[m].params[i].param == param)
				t = rt_st_get(ck, p->models[m].params[i].name);
	return t;
}

/* Loads every parameter of the recipe's model the checkpoint holds, checking names,
 * shapes and dtypes; the others keep their initial values, and the run says which. */
static int load_checkpoint(const RtProgram *p, const RtRecipeDesc *r, RtState *st, const char *path, bool strict)
{
	char *err = NULL;
	RtSafetensors *ck = rt_st_read(path, &err);
	if (!ck) {
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
		free(err);
		return 1;
	}
	const RtModelDesc *model = &p->models[r->model];
	int loaded = 0, missing = 0, rc = 0;
	for (int i = 0; i < model->nparams && !rc; i++) {
		const RtParamDesc *pd = &p->params[model->params[i].param];
		const RtTensor *t = find_tensor(p, ck, model->params[i].param, model->params[i].name);
		if (!t && strict) {
			fprintf(stderr, "trainer: %s has no %s: it is not a checkpoint of this run's model\n", path,
			        model->params[i].name);
			rc = 1;
			break;
		}
		if (!t) {
			if (missing++ < 8)
				printf("%s: no %s in the checkpoint: it keeps its initial value\n", path, model->params[i].name);
			continue;
		}
		bool same = t->rank == pd->rank && t->dtype == RT_F32;
		for (int k = 0; k < pd->rank && same; k++)
			same = t->shape[k] == pd->shape[k];
		if (!same) {
			fprintf(stderr, "trainer: %s: %s is %s %s", path, t->name, rt_dtype_name(t->dtype), dims_str(t->shape, t->rank));
			fprintf(stderr, " but %s needs F32 %s\n", model->params[i].name, dims_str(pd->shape, pd->rank));
			rc = 1;
			break;
		}
		for (int64_t k = 0; k < pd->numel; k++) {
			float x;
			memcpy(&x, (const char *)t->data + 4 * k, 4);
			st->params[pd->offset + k] = (real)x;
		}
		loaded++;
	}
	if (!rc && loaded == 0) {
		fprintf(stderr, "trainer: %s holds none of the parameters of model %s\n", path, model->name);
		rc = 1;
	}
	if (!rc)
		printf("loaded %d of %d parameters of %s from %s\n", loaded, model->nparams, model->name, path);
	rt_st_free(ck);
	return rc;
}

static bool meta_double(const RtSafetensors *f, const char *key, double *v)
{
	const char *s = rt_st_meta_get(f, key);
	char *end;
	if (!s)
		return false;
	*v = strtod(s, &end);
	return end != s && !*end;
}

static bool meta_int(const RtSafetensors *f, const char *key, int64_t *v)
{
	const char *s = rt_st_meta_get(f, key);
	char *end;
	if (!s)
		return false;
	double d = strtod(s, &end);
	if (end == s || *end || d != (double)(int64_t)d)
		return false;
	*v = (int64_t)d;
	return true;
}


/* The optimizer's state and the counters of a run, for --resume: the run must be the
 * same (seed, batch and micro-batch) for the continuation to be exact. */
static int load_optim(const RtProgram *p, const RtRecipeDesc *r, RtState *st, const char *path, const Options *o,
                      Counters *res)
{
	char *err = NULL;
	RtSafetensors *f = rt_st_read(path, &err);
	int rc = 0;
	if (!f) {
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
		free(err);
		return 1;
	}
	int64_t seed, batch, mb;
	if (!meta_int(f, "adam_step", &res->opt_step) || !meta_int(f, "micro_batches_done", &res->micro_count) ||
	    !meta_int(f, "rng_step", &res->rng_step) || !meta_int(f, "seed", &seed) || !meta_int(f, "batch", &batch) ||
	    !meta_int(f, "micro_batch", &mb) || !meta_int(f, "epoch_micro_batches", &res->epoch_batches) ||
	    !meta_double(f, "best_val_acc", &res->best_acc)) {
		fprintf(stderr, "trainer: %s: the counters of the run are missing from its metadata\n", path);
		rc = 1;
	} else if (seed != o->seed || batch != o->batch || mb != o->micro_batch) {
		fprintf(stderr, "trainer: %s was a run with seed %lld, batch %lld, micro-batch %lld; this one has %lld, %lld, %lld\n",
		        path, (long long)seed, (long long)batch, (long long)mb, (long long)o->seed, (long long)o->batch,
		        (long long)o->micro_batch);
		rc = 1;
	}
	for (int i = 0; i < res->nsums && !rc; i++) {
		char *key = rt_format("epoch_sum.%d", i), *step = rt_format("step_sum.%d", i);
		if (!meta_double(f, key, &res->epoch_sums[i])) {
			fprintf(stderr, "trainer: %s: %s is missing from its metadata\n", path, key);
			rc = 1;
		}
		if (!meta_double(f, step, &res->step_sums[i])) /* a checkpoint of an older trainer */
			res->step_sums[i] = 0;
		free(key);
		free(step);
	}
	static const char *const slots[] = {"exp_avg.", "exp_avg_sq.", "grad_accumulated."};
	real *slabs[] = {st->m, st->v, st->grad};
	const RtModelDesc *model = &p->models[r->model];
	for (int k = 0; k < 3 && !rc; k++)
		for (int i = 0; i < model->nparams && !rc; i++) {
			const RtParamDesc *pd = &p->params[model->params[i].param];
			if (!trains(r, model->params[i].param))
				continue;
			char *name = rt_format("%s%s", slots[k], model->params[i].name);
			const RtTensor *t = rt_st_get(f, name);
			if (!t || t->dtype != RT_F32 || t->numel != pd->numel) {
				fprintf(stderr, "trainer: %s: %s is %s\n", path, name, t ? "not F32 of the parameter's shape" : "missing");
				rc = 1;
			} else {
				for (int64_t e = 0; e < pd->numel; e++) {
					float x;
					memcpy(&x, (const char *)t->data + 4 * e, 4);
					slabs[k][pd->state_offset + e] = (real)x;
				}
			}
			free(name);
		}
	rt_st_free(f);
	return rc;
}

/* The micro-batch count a checkpoint file was written at (its stamp), or -1 if it has
 * none (a file of an older trainer) or cannot be read. */
static int64_t file_stamp(const char *path)
{
	char *err = NULL;
	RtSafetensors *f = rt_st_read(path, &err);
	int64_t stamp;
	if (!f || !meta_int(f, "micro_batches_done", &stamp))
		stamp = -1;
	rt_st_free(f);
	free(err);
	return stamp;
}

/* The optimizer file of dir that belongs with its model file (save_checkpoint): the
 * usual one, or the one written next if the trainer died before renaming it into place.
 * Returns it malloc'd, or NULL after a message. */
static char *pick_optim(const RtRecipeDesc *r, const char *dir)
{
	char *model = rt_format("%s/%s.safetensors", dir, r->name);
	char *optim = rt_format("%s/%s.optim.safetensors", dir, r->name);
	char *next = rt_format("%s/%s.optim.next.safetensors", dir, r->name);
	int64_t want = file_stamp(model), have = want < 0 ? -1 : file_stamp(optim);
	char *pick = optim;
	if (want >= 0 && have != want) {
		if (access(next, R_OK) == 0 && file_stamp(next) == want) {
			pick = next;
			printf("resume: %s is of micro-batch %lld, %s of %lld: the run stopped while writing its "
			       "checkpoint; using %s\n",
			       model, (long long)want, optim, (long long)have, next);
		} else {
			fprintf(stderr, "trainer: %s is of micro-batch %lld but %s of %lld, and no %s matches it: "
			        "the checkpoint files do not belong together\n",
			        model, (long long)want, optim, (long long)have, next);
			pick = NULL;
		}
	}
	free(model);
	if (pick != optim)
		free(optim);
	if (pick != next)
		free(next);
	return pick;
}

/* A split of the recipe's data; an image folder's with the recipe's transforms: the
 * training augmentation when augment, else validation's resize and centre crop. */
static RtDataset *open_split(const RtRecipeDesc *r, const Options *o, const char *dir, int split, bool augment,
                             char **err)
{
	*err = NULL;
	if (rt_data_info[r->data].load)
		return rt_data_info[r->data].load(dir, split, err);
	const RtImageSpec *im = &r->images;
	int threads = (int)o->loader_threads;
#ifdef _OPENMP
	if (!threads)
		threads = omp_get_num_procs() / 4;
#endif
	RtFolderOptions fo = {.channels = (int)r->image[0], .height = (int)r->image[1], .width = (int)r->image[2],
	                      .random_crop = augment && im->random_crop, .scale = {im->scale[0], im->scale[1]},
	                      .ratio = {im->ratio[0], im->ratio[1]}, .resize = (int)(augment ? im->resize : im->val_resize),
	                      .flip = augment ? im->flip : 0, .skip_bad = o->skip_bad, .cache = o->cache_images,
	                      .threads = threads > 1 ? threads : 1};
	for (int c = 0; c < 3; c++) {
		fo.mean[c] = (float)im->mean[c];
		fo.std[c] = (float)im->std[c];
	}
	return rt_folder_open(dir, split, &fo, err);
}

/* Bad images an image folder skipped (--skip-bad-images) since *reported, said once. */
static void report_skipped(const RtDataset *d, RtProgress *pr, int64_t *reported)
{
	const char *first;
	int64_t n = rt_folder_skipped(d, &first);
	if (n <= *reported)
		return;
	if (pr)
		rt_progress_line(pr, "trainer: skipped %lld bad image%s in %s (--skip-bad-images); the first: %s", (long long)n,
		                 n == 1 ? "" : "s", rt_folder_root(d), first ? first : "?");
	else
		fprintf(stderr, "trainer: skipped %lld bad image%s in %s (--skip-bad-images); the first: %s\n", (long long)n,
		        n == 1 ? "" : "s", rt_folder_root(d), first ? first : "?");
	*reported = n;
}

static RtDataset *load_split(const RtRecipeDesc *r, const Options *o, const char *dir, int split, bool augment)
{
	char *err = NULL;
	RtDataset *d = open_split(r, o, dir, split, augment, &err);
	if (!d) {
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
		free(err);
	}
	return d;
}

/* gradcheck RECIPE: every trained parameter's gradient from the step function against
 * central finite differences of its loss, on random images (uniform in [-1, 1]) and
 * labels, with the masking permutation held fixed. Meant for a trainer built with
 * MAEC_REAL=double; prints the worst error per parameter and fails beyond
 * |fd - g| <= atol + rtol * |g|. */
static int gradcheck(const RtProgram *p, int argc, char **argv)
{
	const RtRecipeDesc *r = NULL;
	int64_t batch = 2, samples = 6, seed = 1;
	double h = 1e-6, atol = 1e-6, rtol = 1e-4;
	for (int i = 0; i < p->nrecipes && argc > 2; i++)
		if (strcmp(p->recipes[i].name, argv[2]) == 0)
			r = &p->recipes[i];
	if (!r)
		return bad("gradcheck needs a recipe of this trainer, got '%s'%s", argc > 2 ? argv[2] : "", "");
	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return bad("option '%s' needs a value%s", argv[i], "");
		int rc = strcmp(argv[i], "--batch") == 0     ? parse_int(argv[i], argv[i + 1], 1, r->micro_batch, &batch)
		         : strcmp(argv[i], "--samples") == 0 ? parse_int(argv[i], argv[i + 1], 1, 1 << 20, &samples)
		         : strcmp(argv[i], "--seed") == 0    ? parse_int(argv[i], argv[i + 1], 0, INT64_MAX, &seed)
		                                             : bad("unknown option '%s'%s", argv[i], "");
		if (rc)
			return rc;
	}
	if (p->device)
		return bad("gradcheck runs on the C target built in double (maec -o NAME --real=double)%s%s", "", "");
	if (sizeof(real) != sizeof(double))
		printf("gradcheck: note: this trainer computes in %zu-byte floats; build it with MAEC_REAL=double\n",
		       sizeof(real));
	RtState st = {.seed = (uint64_t)seed, .shard_hi = p->state_numel};
	st.params = alloc_or_die(sizeof(real) * (size_t)p->params_numel, "the parameters");
	st.grad = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "the gradients");
	st.m = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's first moments");
	st.v = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's second moments");
	st.act = alloc_or_die((size_t)r->act_bytes, "the activations");
	init_params(p, st.params, st.seed);
	int64_t image = r->image[0] * r->image[1] * r->image[2];
	real *images = alloc_or_die(sizeof(real) * (size_t)(image * batch), "the images");
	int32_t *labels = alloc_or_die(sizeof(int32_t) * (size_t)batch, "the labels");
	for (int64_t k = 0; k < image * batch; k++) {
		uint32_t x[4];
		rt_philox_draw(st.seed, RT_STREAM_DATA, 1, (uint64_t)k, x);
		images[k] = (real)(2 * rt_u01_double(x[0], x[1]) - 1);
	}
	for (int64_t k = 0; k < batch; k++) {
		uint32_t x[4];
		rt_philox_draw(st.seed, RT_STREAM_DATA, 2, (uint64_t)k, x);
		labels[k] = (int32_t)(x[0] % 10);
	}
	real *results = alloc_or_die(sizeof(real) * (size_t)(r->nresults + 1), "the results");
	st.s.batch = (real)batch;
	if (r->step(&st, batch, images, labels, results))
		return 1;
	real *grads = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "the gradients");
	memcpy(grads, st.grad, sizeof(real) * (size_t)p->state_numel);
	printf("gradcheck %s: loss %.9g at batch %lld; h %g, tolerance %g + %g*|g|\n", r->name, (double)results[0],
	       (long long)batch, h, atol, rtol);
	int failures = 0;
	for (int t = 0; t < r->ntrained; t++) {
		const RtParamDesc *d = &p->params[r->trained[t]];
		double worst = 0, worst_excess = -1;
		int64_t n = d->numel < samples ? d->numel : samples;
		for (int64_t s = 0; s < n; s++) {
			int64_t k = n == d->numel ? s : s * (d->numel - 1) / (n - 1 > 0 ? n - 1 : 1);
			real *w = st.params + d->offset + k, keep0 = *w;
			double loss[2];
			for (int side = 0; side < 2; side++) {
				*w = (real)((double)keep0 + (side ? -h : h));
				if (r->step(&st, batch, images, labels, results))
					return 1;
				loss[side] = (double)results[0];
			}
			*w = keep0;
			double fd = (loss[0] - loss[1]) / (2 * h), g = (double)grads[d->state_offset + k];
			double err = fabs(fd - g), excess = err - (atol + rtol * fabs(g));
			if (err > worst)
				worst = err;
			if (excess > worst_excess)
				worst_excess = excess;
			if (excess > 0 && failures++ < 20)
				printf("  MISMATCH %s[%lld]: finite difference %.10g, gradient %.10g\n", d->name, (long long)k, fd, g);
		}
		printf("  %-48s %6lld checked  max |fd - g| %.3e  %s\n", d->name, (long long)n, worst,
		       worst_excess > 0 ? "FAIL" : "ok");
	}
	printf("gradcheck %s: %s\n", r->name, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

/* The data loader: a thread reads the next micro-batch (file bytes to normalised real
 * images) while the step runs. Two buffers: the thread fills one while the step reads
 * the other. What it reads depends only on the epoch's shuffle, so runs stay exact. */
typedef struct Loader {
	const RtDataset *d;
	const int32_t *order;
	int64_t start, b, image, mb;
	RtDraw draw;         /* an image folder's random transforms: the epoch's, by place in its order */
	char *err;           /* after loader_join: why the micro-batch could not be read, or NULL */
	int fill;            /* the buffer the thread fills */
	real *images[2];
	int32_t *labels[2];
	float *raw[2];
	int64_t *idx[2];
	real *ready;         /* after loader_join: the micro-batch read */
	int32_t *ready_labels;
	pthread_t thread;
	bool running;
} Loader;

static void *loader_run(void *arg)
{
	Loader *l = arg;
	int k = l->fill;
	for (int64_t i = 0; i < l->b; i++)
		l->idx[k][i] = l->order[l->start + i];
	if (rt_dataset_read(l->d, l->idx[k], l->b, &l->draw, l->raw[k], l->labels[k], &l->err) && !l->err)
		l->err = rt_format("out of memory reading images");
	for (int64_t i = 0; i < l->image * l->b; i++)
		l->images[k][i] = (real)l->raw[k][i];
	return NULL;
}

static void loader_join(Loader *l)
{
	if (!l->running)
		return;
	pthread_join(l->thread, NULL);
	l->running = false;
	l->ready = l->images[l->fill];
	l->ready_labels = l->labels[l->fill];
}

/* The micro-batch at `start` of the epoch's order; its images draw their transforms as the
 * images at start.. of the epoch (draw.step is the epoch): the same on every rank, and
 * again when a run resumes. */
static void loader_start(Loader *l, const RtDataset *d, const int32_t *order, int64_t start, int64_t b, int64_t image,
                         uint64_t seed, int64_t epoch)
{
	loader_join(l);
	free(l->err);
	*l = (Loader){.d = d, .order = order, .start = start, .b = b, .image = image, .mb = l->mb, .fill = !l->fill,
	              .draw = {.seed = seed, .step = (uint32_t)epoch, .first = (uint64_t)start},
	              .images = {l->images[0], l->images[1]}, .labels = {l->labels[0], l->labels[1]},
	              .raw = {l->raw[0], l->raw[1]}, .idx = {l->idx[0], l->idx[1]}, .ready = l->ready,
	              .ready_labels = l->ready_labels};
	if (pthread_create(&l->thread, NULL, loader_run, l) != 0) {
		loader_run(l); /* no thread to be had: read it now */
		l->ready = l->images[l->fill];
		l->ready_labels = l->labels[l->fill];
		return;
	}
	l->running = true;
}

/* ---------- the run directory's own files ---------- */

/* FNV-1a, 64 bits, over the compiled program: every parameter (name, shape, initialiser,
 * frozen), every constant and every recipe's settings. Two trainers with the same hash
 * train the same model the same way; printed as the run's "model hash". */
typedef struct Hash {
	uint64_t h;
} Hash;

static void hash_bytes(Hash *h, const void *data, size_t n)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < n; i++)
		h->h = (h->h ^ b[i]) * 0x100000001b3ull;
}

static void hash_str(Hash *h, const char *s)
{
	hash_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t program_hash(const RtProgram *p)
{
	Hash h = {0xcbf29ce484222325ull};
	for (int i = 0; i < p->nparams; i++) {
		const RtParamDesc *d = &p->params[i];
		hash_str(&h, d->name);
		hash_bytes(&h, d->shape, sizeof(int64_t) * (size_t)d->rank);
		hash_bytes(&h, &d->init, sizeof d->init);
		hash_bytes(&h, d->init_args, sizeof d->init_args);
		hash_bytes(&h, &d->frozen, sizeof d->frozen);
	}
	for (int i = 0; i < p->nconsts; i++) {
		hash_str(&h, p->consts[i].name);
		hash_bytes(&h, &p->consts[i].value, sizeof(double));
	}
	for (int i = 0; i < p->nrecipes; i++) {
		const RtRecipeDesc *r = &p->recipes[i];
		hash_str(&h, r->name);
		hash_str(&h, rt_data_info[r->data].name);
		hash_str(&h, r->train);
		double settings[] = {r->lr, r->beta1, r->beta2, r->eps, r->weight_decay, (double)r->schedule,
		                     (double)r->warmup, (double)r->epochs, (double)r->batch, (double)r->micro_batch,
		                     (double)r->seed};
		hash_bytes(&h, settings, sizeof settings);
		const RtImageSpec *im = &r->images; /* image_folder's; its folder is data, as --data is */
		double images[] = {im->mean[0], im->mean[1], im->mean[2], im->std[0], im->std[1], im->std[2],
		                   (double)im->random_crop, im->scale[0], im->scale[1], im->ratio[0], im->ratio[1],
		                   (double)im->resize, im->flip, (double)im->val_resize};
		hash_bytes(&h, images, sizeof images);
	}
	return h.h;
}

/* s as a JSON string. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/* s quoted for a POSIX shell where it needs it. */
static void shell_word(FILE *f, const char *s)
{
	bool plain = *s != 0;
	for (const char *c = s; *c && plain; c++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *c) != NULL;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (const char *c = s; *c; c++)
		*c == '\'' ? fputs("'\\''", f) : fputc(*c, f);
	fputc('\'', f);
}

/* DIR/command.txt (the command line as typed, from the directory it ran in) and
 * DIR/config.json (every setting as resolved, the program's identity). Written new for
 * each start of the run: a resumed run's are command-N.txt and config-N.json. */
static int write_run_files(const RtProgram *p, const Options *o, const char *dir)
{
	const RtRecipeDesc *r = o->recipe;
	char *cmd = NULL, *cfg = NULL;
	struct stat sb;
	for (int k = 1; k < 1000000; k++) {
		free(cmd);
		free(cfg);
		cmd = k == 1 ? rt_format("%s/command.txt", dir) : rt_format("%s/command-%d.txt", dir, k);
		cfg = k == 1 ? rt_format("%s/config.json", dir) : rt_format("%s/config-%d.json", dir, k);
		if (!cmd || !cfg || (o->overwrite && !o->resume) || (stat(cmd, &sb) != 0 && stat(cfg, &sb) != 0))
			break;
	}
	FILE *f = cmd ? fopen(cmd, "w") : NULL;
	if (!f) {
		fprintf(stderr, "trainer: cannot write '%s': %s\n", cmd ? cmd : dir, strerror(errno));
		free(cmd);
		free(cfg);
		return 1;
	}
	char *cwd = getcwd(NULL, 0);
	fprintf(f, "cd ");
	shell_word(f, cwd ? cwd : ".");
	fprintf(f, " &&\n");
	free(cwd);
	for (int i = 0; i < o->argc; i++) {
		fputs(i ? " " : "", f);
		shell_word(f, o->argv[i]);
	}
	fputc('\n', f);
	bool ok = fclose(f) == 0;
	f = ok && cfg ? fopen(cfg, "w") : NULL;
	if (!f) {
		fprintf(stderr, "trainer: cannot write '%s': %s\n", ok && cfg ? cfg : cmd, strerror(errno));
		free(cmd);
		free(cfg);
		return 1;
	}
	static const char *const schedules[] = {
#define RT_SCHEDULE(id, name, what) #name,
#include "train/schedules.def"
#undef RT_SCHEDULE
	};
	fprintf(f, "{\n  \"maec_version\": ");
	json_str(f, p->maec_version);
	fprintf(f, ",\n  \"model_hash\": \"%016llx\",\n  \"source\": ", (unsigned long long)program_hash(p));
	json_str(f, p->source);
	fprintf(f, ",\n  \"recipe\": ");
	json_str(f, r->name);
	fprintf(f, ",\n  \"model\": ");
	json_str(f, p->models[r->model].name);
	fprintf(f, ",\n  \"data\": ");
	json_str(f, rt_data_info[r->data].name);
	fprintf(f, ",\n  \"data_dir\": ");
	json_str(f, o->data);
	fprintf(f, ",\n  \"from\": ");
	o->from ? json_str(f, o->from) : (void)fputs("null", f);
	fprintf(f, ",\n  \"resume\": ");
	o->resume ? json_str(f, o->resume) : (void)fputs("null", f);
	fprintf(f, ",\n  \"epochs\": %lld,\n  \"steps\": %lld,\n  \"batch\": %lld,\n  \"micro_batch\": %lld,\n"
	           "  \"lr\": %.17g,\n  \"warmup\": %lld,\n  \"schedule\": \"%s\",\n  \"betas\": [%.17g, %.17g],\n"
	           "  \"eps\": %.17g,\n  \"weight_decay\": %.17g,\n  \"seed\": %lld,\n  \"threads\": %lld,\n"
	           "  \"limit\": %lld,\n  \"log_every\": %lld,\n  \"vis_every\": %lld,\n  \"train\": ",
	        (long long)o->epochs, (long long)o->steps, (long long)o->batch, (long long)o->micro_batch, o->lr,
	        (long long)o->warmup, schedules[r->schedule], r->beta1, r->beta2, r->eps, r->weight_decay,
	        (long long)o->seed, (long long)o->threads, (long long)o->limit, (long long)o->log_every,
	        (long long)o->vis_every);
	json_str(f, r->train);
	static const char *const precisions[] = {"fp32", "tf32", "bf16"};
	fprintf(f, ",\n  \"precision\": \"%s\",\n  \"recompute\": ", precisions[o->precision]);
	json_str(f, p->recompute ? p->recompute : "none");
	fprintf(f, ",\n  \"constants\": {");
	for (int i = 0; i < p->nconsts; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		json_str(f, p->consts[i].name);
		fprintf(f, ": %.17g", p->consts[i].value);
	}
	fprintf(f, "\n  }\n}\n");
	ok = fclose(f) == 0;
	if (!ok)
		fprintf(stderr, "trainer: cannot write '%s': %s\n", cfg, strerror(errno));
	free(cmd);
	free(cfg);
	return ok ? 0 : 1;
}

/* The epoch's line: training means, then the validation (exact accuracy, and the mean of
 * per-batch accuracies the reference reports). */
static void epoch_report(RtProgress *pr, const RtRecipeDesc *r, int64_t epoch, bool complete, const double *means,
                         const Eval *ev)
{
	char line[1024];
	int k = snprintf(line, sizeof line, "epoch %lld %s:", (long long)epoch, complete ? "done" : "stopped by --steps");
	for (int i = 0; i < r->nresults && k < (int)sizeof line; i++)
		k += snprintf(line + k, sizeof line - (size_t)k, "  train %s %.6f",
		              r->result_names[i] ? r->result_names[i] : "result", means[i]);
	if (ev && k < (int)sizeof line)
		k += snprintf(line + k, sizeof line - (size_t)k, "  val loss %.6f", ev->loss);
	if (ev && ev->has_acc && k < (int)sizeof line)
		snprintf(line + k, sizeof line - (size_t)k, "  val acc %.4f (mean of batches %.4f)", ev->acc,
		         ev->batch_mean_acc);
	rt_progress_end_bar(pr);
	rt_progress_line(pr, "%s", line);
}

/* ---------- Ctrl-C ---------- */

/* Set by SIGINT; the loop finishes its optimizer step, writes the checkpoint and exits
 * 130. A signal handler can only reach a global; this is the driver's one. A second
 * Ctrl-C kills the process as usual (SA_RESETHAND). */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_interrupts(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	/* SIGUSR1 the same: mpirun forwards it to every rank (a Ctrl-C to mpirun ends the ranks
	 * at once), and batch schedulers send it before a job's time runs out */
	sigaction(SIGUSR1, &sa, NULL);
}

/* ---------- reconstruction pictures during training ---------- */

enum { PICTURE_IMAGES = 16 }; /* the reference's: the first 16 test images */

typedef struct Pictures {
	RtRecon rc;
	real *images;
	int64_t n; /* 0: no pictures (a model that does not reconstruct, or no test split) */
} Pictures;

/* The first PICTURE_IMAGES images of the test split, as validation reads them: from val
 * when the run has opened that split, else opened here (without --cache-images: eight
 * images are read, not the split). */
static void pictures_open(Pictures *pics, const RtRecipeDesc *r, const Options *o, const RtModelDesc *model,
                          const RtDataset *val, RtProgress *pr)
{
	char *err = NULL;
	*pics = (Pictures){0};
	if (rt_recon_find(model, r, &pics->rc, &err)) {
		free(err); /* a classifier: no pictures, nothing to say */
		return;
	}
	Options uncached = *o;
	uncached.cache_images = false;
	RtDataset *opened = val ? NULL : open_split(r, &uncached, o->data, 1, false, &err);
	const RtDataset *test = val ? val : opened;
	if (!test) {
		rt_progress_line(pr, "trainer: warning: no reconstruction pictures: %s", err ? err : "out of memory");
		free(err);
		return;
	}
	int64_t n = rt_dataset_size(test) < PICTURE_IMAGES ? rt_dataset_size(test) : PICTURE_IMAGES;
	int64_t image = r->image[0] * r->image[1] * r->image[2], idx[PICTURE_IMAGES];
	float *f = alloc_or_die(sizeof(float) * (size_t)(image * n), "the pictures");
	pics->images = alloc_or_die(sizeof(real) * (size_t)(image * n), "the pictures");
	for (int64_t k = 0; k < n; k++)
		idx[k] = k;
	if (rt_dataset_read(test, idx, n, NULL, f, NULL, &err)) {
		rt_progress_line(pr, "trainer: warning: no reconstruction pictures: %s", err ? err : "out of memory");
		free(err);
		n = 0;
	}
	for (int64_t k = 0; k < image * n; k++)
		pics->images[k] = (real)f[k];
	pics->n = n;
	free(f);
	rt_dataset_free(opened);
}

/* images/NAME and a TensorBoard image `tag` at tb_step; a failure is reported and the run
 * goes on. */
static void picture(Pictures *pics, RtState *st, RtRunLog *log, const char *name, const char *tag, int64_t tb_step)
{
	if (!pics->n)
		return;
	int w, h;
	char *err = NULL;
	uint8_t *px = rt_recon_picture(&pics->rc, st, pics->images, pics->n, &w, &h, &err);
	if (!px) {
		rt_progress_line(rt_runlog_progress(log), "trainer: warning: %s", err ? err : "out of memory");
		free(err);
		return;
	}
	rt_runlog_picture(log, name, tag, tb_step, px, w, h, (int)pics->rc.image[0]);
	free(px);
}

static void pictures_close(Pictures *pics)
{
	free(pics->images);
}

/* ---------- reconstruct ---------- */

/* reconstruct: a checkpoint's reconstructions of a PNG file or of test images, in the
 * training pictures' layout. The mask ratio is compiled into the model (the number of
 * patches kept is a static shape): --mask-ratio is checked against the constant
 * mask_ratio, and another ratio needs a trainer compiled with -Dmask_ratio=R. */
typedef struct ReconArgs {
	const char *from, *png, *data, *out;
	int64_t index, count, seed;
	double ratio;
	bool overwrite;
} ReconArgs;

static int reconstruct_args(int argc, char **argv, ReconArgs *o)
{
	*o = (ReconArgs){.out = "reconstruction.png", .index = -1, .count = 1, .seed = -1, .ratio = -1};
	for (int i = 2; i < argc; i++) {
		const char *f = argv[i];
		if (strcmp(f, "--overwrite") == 0) {
			o->overwrite = true;
			continue;
		}
		if (i + 1 >= argc)
			return bad("option '%s' needs a value%s", f, "");
		const char *v = argv[++i];
		int rc = 0;
		if (strcmp(f, "--from") == 0)
			o->from = v;
		else if (strcmp(f, "--image") == 0)
			o->png = v;
		else if (strcmp(f, "--data") == 0)
			o->data = v;
		else if (strcmp(f, "--out") == 0)
			o->out = v;
		else if (strcmp(f, "--index") == 0)
			rc = parse_int(f, v, 0, INT32_MAX, &o->index);
		else if (strcmp(f, "--count") == 0)
			rc = parse_int(f, v, 1, PICTURE_IMAGES, &o->count);
		else if (strcmp(f, "--seed") == 0)
			rc = parse_int(f, v, 0, INT64_MAX, &o->seed);
		else if (strcmp(f, "--mask-ratio") == 0) {
			char *end;
			o->ratio = strtod(v, &end);
			if (end == v || *end || !(o->ratio > 0 && o->ratio < 1))
				return bad("--mask-ratio needs a number in (0, 1), got '%s'%s", v, "");
		} else
			return bad("unknown option '%s' for reconstruct (see --help)%s", f, "");
		if (rc)
			return rc;
	}
	if (!o->from)
		return bad("reconstruct needs a checkpoint: --from CKPT%s%s", "", "");
	if (!o->png == (o->index < 0))
		return bad("reconstruct needs one of --image FILE.png and --index N%s%s", "", "");
	return 0;
}

/* The model: the first that reconstructs, with the images of a recipe that trains it, and
 * compiled for the mask ratio asked for. */
static int reconstruct_model(const RtProgram *p, double ratio, const RtRecipeDesc **recipe, RtRecon *rec)
{
	const RtRecipeDesc *r = NULL;
	char *err = NULL;
	for (int i = 0; i < p->nrecipes && !r; i++) {
		if (rt_recon_find(&p->models[p->recipes[i].model], &p->recipes[i], rec, &err) == 0)
			r = &p->recipes[i];
		free(err);
		err = NULL;
	}
	if (!r)
		return bad("no model of %s returns pred and mask from its forward: nothing to reconstruct with%s", p->source, "");
	for (int i = 0; i < p->nconsts && ratio >= 0; i++)
		if (strcmp(p->consts[i].name, "mask_ratio") == 0 && fabs(p->consts[i].value - ratio) > 1e-12) {
			fprintf(stderr,
			        "trainer: --mask-ratio %g: this trainer was compiled with mask_ratio = %g (%s); the ratio fixes the "
			        "number of patches kept, a static shape: compile one for %g with maec %s -Dmask_ratio=%g -o NAME\n",
			        ratio, p->consts[i].value, p->source, ratio, p->source, ratio);
			return 2;
		}
	*recipe = r;
	return 0;
}

/* The images to reconstruct, normalised as the data sets are: the PNG file (count becomes 1)
 * or count test images from index. NULL after a message. */
static real *reconstruct_images(const RtRecipeDesc *r, const RtRecon *rec, ReconArgs *o)
{
	int64_t C = r->image[0], H = r->image[1], W = r->image[2], image = C * H * W;
	real *images = alloc_or_die(sizeof(real) * (size_t)(image * o->count), "the images");
	if (o->png) {
		int w, h;
		char *err = NULL;
		uint8_t *px = rt_png_read(o->png, (int)C, &w, &h, &err);
		if (!px || w != W || h != H) {
			if (px)
				fprintf(stderr, "trainer: %s is %dx%d pixels; model %s takes %lldx%lld (resize it first)\n", o->png,
				        w, h, rec->model->name, (long long)W, (long long)H);
			else
				fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
			free(err);
			free(px);
			free(images);
			return NULL;
		}
		for (int64_t c = 0; c < C; c++) /* interleaved bytes to planes, normalised as the data sets */
			for (int64_t k = 0; k < H * W; k++)
				images[c * H * W + k] = (real)(((double)px[k * C + c] / 255 - rec->mean[c]) / rec->std[c]);
		free(px);
		o->count = 1;
		return images;
	}
	Options lo = {.loader_threads = 1};
	RtDataset *test = load_split(r, &lo, o->data, 1, false);
	if (test && o->index + o->count > rt_dataset_size(test))
		fprintf(stderr, "trainer: --index %lld --count %lld: the test split of %s has %lld images\n",
		        (long long)o->index, (long long)o->count, o->data, (long long)rt_dataset_size(test));
	if (!test || o->index + o->count > rt_dataset_size(test)) {
		rt_dataset_free(test);
		free(images);
		return NULL;
	}
	int64_t idx[PICTURE_IMAGES];
	float *f = alloc_or_die(sizeof(float) * (size_t)(image * o->count), "the images");
	for (int64_t k = 0; k < o->count; k++)
		idx[k] = o->index + k;
	char *err = NULL;
	int rc = rt_dataset_read(test, idx, o->count, NULL, f, NULL, &err);
	if (rc)
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
	for (int64_t k = 0; k < image * o->count && !rc; k++)
		images[k] = (real)f[k];
	free(err);
	free(f);
	rt_dataset_free(test);
	if (rc) {
		free(images);
		return NULL;
	}
	return images;
}

static int reconstruct(const RtProgram *p, int argc, char **argv)
{
	ReconArgs o;
	const RtRecipeDesc *r;
	RtRecon rec;
	int rc = reconstruct_args(argc, argv, &o);
	if (!rc)
		rc = reconstruct_model(p, o.ratio, &r, &rec);
	if (rc)
		return rc;
	if (o.index >= 0 && !o.data && !(o.data = r->images.folder))
		return bad("--index N picks a test image: give the data set's directory with --data DIR%s%s", "", "");
	struct stat sb;
	if (!o.overwrite && stat(o.out, &sb) == 0)
		return bad("'%s' exists: give another --out, or --overwrite%s", o.out, "");
	if (check_writable(o.out))
		return 1;
	real *images = reconstruct_images(r, &rec, &o);
	if (!images)
		return 1;
	RtState st = {.seed = (uint64_t)(o.seed >= 0 ? o.seed : r->seed), .shard_hi = p->state_numel};
	st.params = alloc_or_die(sizeof(real) * (size_t)p->params_numel, "the parameters");
	st.grad = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "the gradients");
	st.m = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's first moments");
	st.v = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's second moments");
	if (!p->device)
		st.act = alloc_or_die((size_t)rec.model->act_bytes, "the activations");
	init_params(p, st.params, st.seed);
	if (load_checkpoint(p, r, &st, o.from, true))
		return 1;
	if (p->device && (p->device->open(&st, p) || p->device->push(&st)))
		return 1;
	int w, h;
	char *err = NULL;
	uint8_t *px = rt_recon_picture(&rec, &st, images, o.count, &w, &h, &err);
	rc = px ? rt_png_write(o.out, px, w, h, (int)r->image[0], &err) : -1;
	if (rc)
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
	else
		printf("wrote %s: [masked input | reconstruction | original] for %lld image%s, mask seed %llu\n", o.out,
		       (long long)o.count, o.count > 1 ? "s" : "", (unsigned long long)st.seed);
	free(err);
	free(px);
	free(images);
	if (p->device)
		p->device->close(&st);
	return rc ? 1 : 0;
}

/* Training as the reference does it: each epoch a fresh shuffle, micro-batches in order
 * (the last one may be short), an optimizer step after every batch/micro-batch of them
 * with the counter running across epochs, the learning rate from the schedule; after each
 * epoch the mean training loss, the evaluation and a checkpoint. */
/* The host memory the run will allocate, against what the machine has: a plan larger
 * than the machine is refused here with the numbers, rather than killed by the kernel's
 * out-of-memory killer once the pages are touched (calloc only reserves them). */
static int check_memory(const RtProgram *p, const RtRecipeDesc *r, const Options *o, int64_t image)
{
	const RtModelDesc *model = &p->models[r->model];
	double slabs = (double)sizeof(real) * ((double)p->params_numel + 3.0 * (double)p->state_numel);
	/* the slab is planned for the recipe's micro-batch and calloc only reserves it: a smaller
	 * micro-batch touches that share of each buffer */
	double act = p->device ? 0 : (double)(r->act_bytes > model->act_bytes ? r->act_bytes : model->act_bytes) *
	                                 (double)o->micro_batch / (double)r->micro_batch;
	double batches = (double)image * (double)(o->batch + 2 * o->micro_batch) * (double)(sizeof(real) + sizeof(float));
	double need = slabs + act + batches;
	int64_t have = rt_host_memory() / (o->ranks_here > 0 ? o->ranks_here : 1); /* ranks on this machine share it */
	if (have > 0 && need > (double)have) {
		fprintf(stderr, "trainer: recipe '%s' needs %.1f GiB of memory (parameters and optimizer state %.1f GiB, "
		        "activations %.1f GiB at micro-batch %lld, batches %.1f GiB), more than this machine's %.1f GiB%s: "
		        "lower the recipe's micro_batch (the activation plan is made for it), or have the backward recompute "
		        "activations (maec --recompute=auto --memory-budget=GIB), and run maec again\n",
		        r->name, need / 1073741824.0, slabs / 1073741824.0, act / 1073741824.0, (long long)o->micro_batch,
		        batches / 1073741824.0, (double)have / 1073741824.0,
		        o->ranks_here > 1 ? " for each of the ranks that run on it" : "");
		return 1;
	}
	return 0;
}

/* ---------- the numerical guard ---------- */

/* What a non-finite loss or gradient norm reports: where the run's files are and the step
 * of the last checkpoint written (-1: none), which the guard leaves as it is. */
typedef struct Guard {
	const char *out, *recipe;
	int64_t checkpoint_step;
	bool quiet; /* a rank other than 0: every rank stops, rank 0 says why */
} Guard;

/* Stops the run: says what went non-finite at which step, where the last good checkpoint
 * is, and writes the dataset indexes of the step's images (idx, n) next to it. */
static int guard_stop(const Guard *g, const char *what, int64_t step, int64_t epoch, const int64_t *idx, int64_t n)
{
	if (g->quiet)
		return 1;
	char *path = rt_format("%s/nonfinite-step-%lld.txt", g->out, (long long)step);
	char *title = rt_format("the images (dataset indexes) of step %lld, epoch %lld, in the order fed: %s",
	                        (long long)step, (long long)epoch, what);
	fprintf(stderr, "trainer: step %lld (epoch %lld): %s; training stops before the update\n", (long long)step,
	        (long long)epoch, what);
	if (g->checkpoint_step >= 0)
		fprintf(stderr, "trainer: the last good checkpoint, of step %lld, is %s/%s.safetensors (kept as it is)\n",
		        (long long)g->checkpoint_step, g->out, g->recipe);
	else
		fprintf(stderr, "trainer: no checkpoint was written before it\n");
	if (path && title && rt_write_indexes(path, title, idx, n) == 0)
		fprintf(stderr, "trainer: the step's %lld images are listed in %s\n", (long long)n, path);
	free(path);
	free(title);
	return 1;
}

/* After each micro-batch: the loss and every metric must be finite. */
static int guard_results(const Guard *g, const RtRecipeDesc *r, const real *results, int64_t step, int64_t epoch,
                         int64_t slot, int64_t nmicro, const int64_t *idx, int64_t n)
{
	for (int i = 0; i < r->nresults; i++)
		if (!isfinite(results[i])) {
			char *what = rt_format("the %s of micro-batch %lld of %lld is %s",
			                       i == 0 ? "loss" : r->result_names[i] ? r->result_names[i] : "result",
			                       (long long)slot + 1, (long long)nmicro, rt_nonfinite_name((double)results[i]));
			int rc = guard_stop(g, what ? what : "a result is not finite", step, epoch, idx, n);
			free(what);
			return rc;
		}
	return 0;
}

/* Before each update: the norm of the accumulated gradients must be finite (host slabs;
 * with --zero 1, each rank holds the sums of its shard). */
static int guard_grad(const Guard *g, const RtProgram *p, const RtState *st, int64_t step, int64_t epoch,
                      const int64_t *idx, int64_t n)
{
	double sumsq;
	if (rt_dp_grad_sumsq(st->dp, &sumsq))
		return 1;
	if (isfinite(sqrt(sumsq)))
		return 0;
	int64_t at = rt_first_nonfinite(st->grad + st->shard_lo, st->shard_hi - st->shard_lo);
	at = at >= 0 ? at + st->shard_lo : at;
	const char *param = "?";
	for (int i = 0; i < p->nparams && at >= 0; i++)
		if (p->params[i].state_offset >= 0 && at >= p->params[i].state_offset &&
		    at < p->params[i].state_offset + p->params[i].numel)
			param = p->params[i].name;
	char *what = at >= 0 ? rt_format("the gradient norm is %s (first in the gradient of %s)",
	                                 rt_nonfinite_name((double)st->grad[at]), param)
	                     : rt_format("the gradient norm is inf (each gradient is finite; their squares overflow)");
	int rc = guard_stop(g, what ? what : "the gradient norm is not finite", step, epoch, idx, n);
	free(what);
	return rc;
}

/* --profile's row for the time a rank waits for the others (the sums of the gradients,
 * the results, the evaluation's batches). */
static const RtProfSite comm_site = {-1, "(ranks)", "communication", "waiting for the other ranks' sums", "runtime/train/dp.c"};

/* The results of one optimizer step's micro-batches, slot by slot, and the decisions every
 * rank must take alike (stop, checkpoint): each rank fills its own slots, the sum over the
 * ranks gives every rank all of them, and each adds them into the step's and the epoch's
 * sums in slot order, as one process does. */
typedef struct StepResults {
	double *v;      /* nmicro * nresults */
	double *sum;    /* the slots being added, then CTL_N control values: what the ranks sum */
	int64_t nmicro, n, flushed; /* slots already added */
	int nres;
} StepResults;

enum { CTL_STOP, CTL_CHECKPOINT, CTL_N };

/* Adds slots [flushed, upto) of the step into sums (the step's means) and epoch (the
 * epoch's sums) after the guard; ctl holds this rank's control values on entry and every
 * rank's sums on return. Nonzero: stop (the guard said why). */
static int flush_results(StepResults *sr, RtComm *comm, int64_t upto, double *ctl, const Guard *g,
                         const RtRecipeDesc *r, double *sums, double *epoch_sums, int64_t step, int64_t epoch,
                         const int64_t *idx, int64_t nidx)
{
	double *v = sr->v + sr->flushed * sr->nres;
	int64_t n = (upto - sr->flushed) * sr->nres;
	if (rt_comm_size(comm) > 1) {
		memcpy(sr->sum, v, sizeof(double) * (size_t)n);
		memcpy(sr->sum + n, ctl, sizeof(double) * CTL_N);
		if (rt_comm_allreduce(comm, sr->sum, n + CTL_N, RT_COMM_F64))
			return 1;
		memcpy(v, sr->sum, sizeof(double) * (size_t)n);
		memcpy(ctl, sr->sum + n, sizeof(double) * CTL_N);
	}
	for (int64_t slot = sr->flushed; slot < upto; slot++) {
		real res[64];
		const double *x = sr->v + slot * sr->nres;
		for (int i = 0; i < sr->nres && i < 64; i++)
			res[i] = (real)x[i];
		if (guard_results(g, r, res, step, epoch, slot, sr->nmicro, idx, nidx))
			return 1;
		for (int i = 0; i < sr->nres; i++) {
			sums[i] += x[i] / (double)sr->nmicro;
			epoch_sums[i] += x[i];
		}
	}
	memset(sr->v + sr->flushed * sr->nres, 0, sizeof(double) * (size_t)n);
	sr->flushed = upto % sr->nmicro;
	return 0;
}

/* Every rank's images and labels of the step, for the dumps (each rank holds its own
 * slots and zeros elsewhere). */
static int share_batch(RtComm *comm, real *images, int32_t *labels, int64_t nimages, int64_t nlabels)
{
	if (rt_comm_size(comm) == 1)
		return 0;
	return rt_comm_allreduce(comm, images, nimages, sizeof(real) == sizeof(double) ? RT_COMM_F64 : RT_COMM_F32) ||
	       rt_comm_allreduce(comm, labels, nlabels, RT_COMM_I32);
}

static int train(const RtProgram *p, Options *op, RtComm *comm);

int rt_main(const RtProgram *p, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "gradcheck") == 0)
		return gradcheck(p, argc, argv);
	if (p->device && argc > 1 && strcmp(argv[1], "kernels") == 0)
		return p->device->kernels(argc, argv);
	if (argc > 1 && strcmp(argv[1], "reconstruct") == 0)
		return reconstruct(p, argc, argv);
	RtComm *comm = rt_comm_open();
	if (!comm)
		return 1;
	Options o;
	int rc = parse_args(p, argc, argv, &o, rt_comm_size(comm));
	if (rc == 0)
		rc = train(p, &o, comm);
	if (rc > 0 && rc != 130 && rt_comm_size(comm) > 1) {
		/* the others would wait for this rank for ever: stop them all */
		fprintf(stderr, "trainer: rank %d of %d failed (exit status %d): stopping every rank\n", rt_comm_rank(comm),
		        rt_comm_size(comm), rc);
		rt_comm_abort(comm, rc);
	}
	rt_comm_close(comm);
	return rc < 0 ? 0 : rc;
}

/* ---------- the run, in phases ---------- */

/* Everything one training run holds, so that each phase is a function of it: open (the
 * device, the data, the slabs, the checkpoint to start from), resume, logs (rank 0's run
 * directory), buffers, then per micro-batch, per optimizer step and per epoch end, and
 * close. */
typedef struct Run {
	const RtProgram *p;
	const RtRecipeDesc *r;
	const RtModelDesc *model;
	Options o;
	RtComm *comm;
	int rank, ranks;
	bool rank0;
	RtState st;
	RtDp *dp;
	RtDataset *data, *val;
	int64_t n, image;        /* training images, and the values of one */
	int64_t mb, nmicro;      /* micro-batch, and micro-batches a step */
	int64_t micro_per_epoch, last_step;
	/* rank 0's outputs */
	RtRunLog *log;
	RtProgress *pr;
	Pictures pics;
	Dump steps_dump;         /* --dump-steps */
	char *lrs;               /* --dump-steps: the learning rates so far */
	/* the step's batch and results */
	real *images, *results;
	int32_t *labels, *order;
	int64_t *step_images;
	double *sums, *means, *val_results;
	const char **names;
	StepResults sr;
	bool share;              /* the dumps need every rank's images */
	/* where the run stands */
	Counters res;            /* as resumed (zeros for a new run) */
	Counters c;              /* for the next checkpoint */
	int64_t opt_step, micro_count, epoch_batches, run_first_step, prof_from;
	int64_t epoch_first, epoch_last; /* the optimizer steps that end in this epoch */
	double best_acc, t0, step_start, run_t0, last_checkpoint;
	uint32_t first_rng_step;
	int64_t skipped[2];      /* bad images of the training and validation folders reported */
	Guard guard;
	bool done, stop;
} Run;

/* Static: an early return (bad data, the numerical guard) leaves the loader's thread
 * running until the process exits, and it must not read a dead stack frame. */
static Loader loader;

/* Threads, the device, the data, the slabs and the parameters (initialised, or --from). */
static int run_open(Run *R)
{
	const RtProgram *p = R->p;
	const RtRecipeDesc *r = R->r;
	Options *o = &R->o;
	if ((o->dump && check_writable(o->dump)) || (o->dump_steps && check_writable(o->dump_steps)))
		return 1;
#ifdef _OPENMP
	if (o->threads)
		omp_set_num_threads((int)o->threads);
	else if (rt_comm_local_size(R->comm) > 1) { /* the machine's cores shared by its ranks */
		int t = omp_get_num_procs() / rt_comm_local_size(R->comm);
		omp_set_num_threads(t > 1 ? t : 1);
	}
#endif
	/* The device first: without one, say so before reading any data. */
	R->st = (RtState){.seed = (uint64_t)o->seed, .precision = o->precision, .shard_hi = p->state_numel,
	                  .comm = R->comm, .detect_anomaly = o->detect_anomaly};
	RtState *st = &R->st;
	if (p->device && (p->device->open(st, p) || (rt_comm_mpi(R->comm) && p->device->dp_open(st))))
		return 1;
	R->data = load_split(r, o, o->data, o->eval_only && r->val_split >= 0 ? r->val_split : r->train_split, !o->eval_only);
	if (!R->data || (!o->eval_only && r->val_split >= 0 && r->eval && !(R->val = load_split(r, o, o->data, r->val_split, false))))
		return 1;
	int64_t shape[3];
	R->n = rt_dataset_size(R->data);
	if (o->limit && o->limit < R->n && !o->eval_only)
		R->n = o->limit;
	rt_dataset_shape(R->data, shape);
	R->image = shape[0] * shape[1] * shape[2];
	if (shape[0] != r->image[0] || shape[1] != r->image[1] || shape[2] != r->image[2]) {
		fprintf(stderr, "trainer: the data's images are %lldx%lldx%lld; recipe '%s' takes %lldx%lldx%lld\n",
		        (long long)shape[0], (long long)shape[1], (long long)shape[2], r->name, (long long)r->image[0],
		        (long long)r->image[1], (long long)r->image[2]);
		return 1;
	}
	o->ranks_here = rt_comm_local_size(R->comm);
	if (check_memory(p, r, o, R->image))
		return 1;
	st->params = alloc_or_die(sizeof(real) * (size_t)p->params_numel, "the parameters");
	st->grad = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "the gradients");
	st->m = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's first moments");
	st->v = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's second moments");
	if (o->profile && !(st->prof = rt_prof_new())) {
		fprintf(stderr, "trainer: out of memory for --profile\n");
		return 1;
	}
	if (!p->device)
		st->act = alloc_or_die((size_t)(r->act_bytes > R->model->act_bytes ? r->act_bytes : R->model->act_bytes),
		                       "the activations");
	init_params(p, st->params, st->seed);
	if (o->from && load_checkpoint(p, r, st, o->from, false))
		return 1;
	if (!(R->dp = rt_dp_open(p, r, st, o->zero != 0)))
		return 1;
	return p->device && p->device->push(st);
}

/* The `eval` command: the loss and metrics of a checkpoint on the split. */
static int run_eval(Run *R)
{
	Eval ev;
	if (evaluate(R->r, &R->st, R->data, R->o.micro_batch, &ev))
		return 1;
	if (R->rank0) {
		printf("eval %s on %lld images: loss %.6f", R->r->name, (long long)ev.n, ev.loss);
		if (ev.has_acc)
			printf("  acc %.4f (mean of batches %.4f)", ev.acc, ev.batch_mean_acc);
		printf("\n");
	}
	rt_dp_close(R->dp);
	return 0;
}

/* --resume: the checkpoint's parameters, optimizer state and counters; metrics.csv and
 * epochs.csv cut back to its step. */
static int run_resume(Run *R)
{
	const RtRecipeDesc *r = R->r;
	Options *o = &R->o;
	R->res = (Counters){.nsums = r->nresults, .best_acc = -1};
	R->res.epoch_sums = alloc_or_die(sizeof(double) * (size_t)(r->nresults ? r->nresults : 1), "the results");
	R->res.step_sums = alloc_or_die(sizeof(double) * (size_t)(r->nresults ? r->nresults : 1), "the results");
	if (!o->resume)
		return 0;
	rt_remove_partial(o->resume, r->name);
	char *ck = rt_format("%s/%s.safetensors", o->resume, r->name), *optim = pick_optim(r, o->resume);
	int rc = !optim || load_checkpoint(R->p, r, &R->st, ck, true) || load_optim(R->p, r, &R->st, optim, o, &R->res);
	free(ck);
	free(optim);
	if (rc)
		return 1;
	R->st.rng_step = (uint32_t)R->res.rng_step;
	if (!R->rank0) /* the checkpoint's sum of a step under way: counted once, on rank 0 */
		memset(R->st.grad, 0, sizeof(real) * (size_t)R->p->state_numel);
	if (R->p->device && R->p->device->push(&R->st))
		return 1;
	for (int k = 0; k < 2 && R->rank0 && strcmp(o->out, o->resume) == 0; k++) { /* rows after the checkpoint go */
		char *csv = rt_format("%s/%s", o->out, k ? "epochs.csv" : "metrics.csv");
		rc = rt_metrics_truncate(csv, R->res.opt_step);
		free(csv);
		if (rc)
			return 1;
	}
	return 0;
}

/* Rank 0's run directory, its logs and pictures. */
static int run_logs(Run *R)
{
	const RtRecipeDesc *r = R->r;
	Options *o = &R->o;
	if (!R->rank0)
		return 0;
	char *err = NULL;
	bool resumed = o->resume && strcmp(o->out, o->resume) == 0;
	char *dir = rt_run_dir(o->out, r->name, resumed, o->overwrite, &err);
	/* under a launcher, stdout is a pseudo-terminal of mpirun's whatever mpirun's own is (a
	 * log file, as often as not): plain lines */
	RtRunLogOptions lo = {.resumed = resumed, .quiet = o->quiet,
	                      .progress_mode = rt_comm_mpi(R->comm) ? RT_PROGRESS_LINES : RT_PROGRESS_AUTO,
	                      .log_every = o->log_every};
	R->log = dir && !write_run_files(R->p, o, dir) ? rt_runlog_open(dir, r, &lo, &err) : NULL;
	if (!R->log) {
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
		return 1;
	}
	o->out = dir;
	R->pr = rt_runlog_progress(R->log);
	rt_progress_line(R->pr, "run directory %s", dir);
	if (R->ranks > 1)
		rt_progress_line(R->pr, "data parallel: %d ranks, %lld micro-batches of %lld a step each%s", R->ranks,
		                 (long long)(o->batch / o->micro_batch / R->ranks), (long long)o->micro_batch,
		                 o->zero ? ", the update sharded (--zero 1)" : "");
	if (!o->from && r->init)
		rt_progress_line(R->pr, "recipe %s starts from %s's checkpoint: none given (--from), so from scratch", r->name,
		                 r->init);
	pictures_open(&R->pics, r, o, R->model, r->val_split == 1 ? R->val : NULL, R->pr);
	report_skipped(R->data, R->pr, &R->skipped[0]);
	if (R->val)
		report_skipped(R->val, R->pr, &R->skipped[1]);
	return 0;
}

/* The loader's and the step's buffers, and where the run starts. */
static int run_buffers(Run *R)
{
	const RtRecipeDesc *r = R->r;
	const Options *o = &R->o;
	int64_t mb = R->mb = o->micro_batch, image = R->image, nres = r->nresults ? r->nresults : 1;
	R->nmicro = o->batch / mb;
	loader = (Loader){.mb = mb};
	for (int k = 0; k < 2; k++) {
		loader.images[k] = alloc_or_die(sizeof(real) * (size_t)(image * mb), "a batch");
		loader.labels[k] = alloc_or_die(sizeof(int32_t) * (size_t)mb, "a batch");
		loader.raw[k] = alloc_or_die(sizeof(float) * (size_t)(image * mb), "a batch");
		loader.idx[k] = alloc_or_die(sizeof(int64_t) * (size_t)mb, "a batch");
	}
	R->images = alloc_or_die(sizeof(real) * (size_t)(image * o->batch), "a batch");
	R->labels = alloc_or_die(sizeof(int32_t) * (size_t)o->batch, "a batch");
	R->order = alloc_or_die(sizeof(int32_t) * (size_t)R->n, "the shuffle");
	R->step_images = alloc_or_die(sizeof(int64_t) * (size_t)o->batch, "the step's image indexes");
	R->results = alloc_or_die(sizeof(real) * (size_t)nres, "the results");
	R->sums = alloc_or_die(sizeof(double) * (size_t)nres, "the results");
	R->means = alloc_or_die(sizeof(double) * (size_t)nres, "the results");
	R->val_results = alloc_or_die(sizeof(double) * (size_t)nres, "the results");
	R->names = alloc_or_die(sizeof(char *) * (size_t)nres, "the results");
	for (int i = 0; i < r->nresults; i++)
		R->names[i] = r->result_names[i] ? r->result_names[i] : "result";
	if (r->nresults > 64) {
		fprintf(stderr, "trainer: recipe '%s' has %d results; the driver reports at most 64\n", r->name, r->nresults);
		return 1;
	}
	R->sr = (StepResults){.nmicro = R->nmicro, .n = R->nmicro * r->nresults, .nres = r->nresults};
	R->sr.v = alloc_or_die(sizeof(double) * (size_t)R->sr.n, "the results");
	R->sr.sum = alloc_or_die(sizeof(double) * (size_t)(R->sr.n + CTL_N), "the results");
	R->lrs = rt_format("%s", "");
	if (o->dump_steps && R->rank0)
		dump_params(&R->steps_dump, R->p, r, "param.", R->st.params, false);
	R->opt_step = R->run_first_step = R->res.opt_step;
	R->micro_count = R->res.micro_count;
	R->micro_per_epoch = (R->n + mb - 1) / mb;
	R->last_step = o->epochs * R->micro_per_epoch / R->nmicro; /* the run's last optimizer step */
	if (o->steps > 0 && o->steps < R->last_step)
		R->last_step = o->steps;
	R->best_acc = R->res.best_acc;
	R->t0 = R->run_t0 = R->last_checkpoint = now_s();
	R->guard = (Guard){.out = o->out, .recipe = r->name, .checkpoint_step = o->resume ? R->res.opt_step : -1,
	                   .quiet = !R->rank0};
	R->done = o->steps > 0 && R->opt_step >= o->steps;
	R->share = (o->dump || o->dump_steps) && R->ranks > 1;
	R->c = (Counters){.batch = o->batch, .mb = mb, .epoch_sums = R->res.epoch_sums, .step_sums = R->sums,
	                  .nsums = r->nresults};
	memcpy(R->sums, R->res.step_sums, sizeof(double) * (size_t)r->nresults); /* a resumed step's first part */
	R->sr.flushed = R->micro_count % R->nmicro; /* a resumed step's first slots are in the epoch's sums */
	/* a step resumed after its first micro-batches (a checkpoint at an epoch's end inside
	 * it): where it started, for the per-step schedule's clock, and its first random step */
	int64_t first = R->micro_count - R->sr.flushed;
	R->step_start = (double)(first / R->micro_per_epoch) + (double)(first % R->micro_per_epoch) / (double)R->micro_per_epoch;
	R->first_rng_step = (uint32_t)(R->res.rng_step - R->sr.flushed);
	return 0;
}

/* The micro-batch at `start` of the epoch's shuffle: every rank walks every micro-batch (the
 * random streams count them all) and computes its own slots'. *step_end: the step is
 * complete and its results are summed (ctl: the ranks' decisions). */
static int run_micro_batch(Run *R, int64_t epoch, int64_t start, bool *step_end, double *ctl)
{
	const RtRecipeDesc *r = R->r;
	RtState *st = &R->st;
	int64_t mb = R->mb, n = R->n, image = R->image, nmicro = R->nmicro;
	int64_t b = n - start < mb ? n - start : mb, slot = R->micro_count % nmicro;
	if (slot == 0) {
		/* where the step starts, in epochs: the official schedule's clock */
		R->step_start = (double)epoch + (double)(start / mb) / (double)R->micro_per_epoch;
		R->first_rng_step = st->rng_step;
		memset(R->sums, 0, sizeof(double) * (size_t)r->nresults);
		if (R->share) {
			memset(R->images, 0, sizeof(real) * (size_t)(image * R->o.batch));
			memset(R->labels, 0, sizeof(int32_t) * (size_t)R->o.batch);
		}
		R->t0 = now_s();
	}
	for (int64_t j = 0; j < b; j++)
		R->step_images[slot * mb + j] = R->order[start + j];
	if (rt_dp_owner(R->dp, slot, nmicro) == R->rank) {
		/* This micro-batch was read in the background while the last one ran (but the first
		 * of an epoch, whose shuffle is new); the rank's next one, in this step or the next
		 * (a rank with one slot a step), is read now. */
		if (!loader.running || loader.start != start || loader.draw.step != (uint32_t)epoch)
			loader_start(&loader, R->data, R->order, start, b, image, st->seed, epoch);
		loader_join(&loader);
		if (loader.err) {
			fprintf(stderr, "trainer: %s\n", loader.err);
			return 1;
		}
		real *x = R->images + slot * mb * image;
		memcpy(x, loader.ready, sizeof(real) * (size_t)(image * b));
		memcpy(R->labels + slot * mb, loader.ready_labels, sizeof(int32_t) * (size_t)b);
		for (int64_t k = 1; k <= nmicro && start + k * mb < n; k++) {
			if (rt_dp_owner(R->dp, (R->micro_count + k) % nmicro, nmicro) != R->rank)
				continue;
			int64_t next = start + k * mb;
			loader_start(&loader, R->data, R->order, next, n - next < mb ? n - next : mb, image, st->seed, epoch);
			break;
		}
		st->s.batch = (real)b;
		/* the rank's last micro-batch of a step every rank completes: its gradients go to the
		 * ranks' sums as the backward finalises them */
		if (R->ranks > 1 && (slot + 1 == nmicro || rt_dp_owner(R->dp, slot + 1, nmicro) != R->rank) &&
		    (R->opt_step + 1) * nmicro <= R->o.epochs * R->micro_per_epoch)
			rt_dp_arm(R->dp);
		if (r->step(st, b, x, R->labels + slot * mb, R->results))
			return 1;
		for (int i = 0; i < r->nresults; i++)
			R->sr.v[slot * r->nresults + i] = (double)R->results[i];
	}
	R->epoch_batches++;
	st->rng_step++;
	*step_end = ++R->micro_count % nmicro == 0;
	/* the results: with one rank after each micro-batch, with ranks at the step's end */
	if (*step_end) {
		ctl[CTL_STOP] = interrupted != 0;
		ctl[CTL_CHECKPOINT] = R->rank0 && R->o.checkpoint_every > 0 && now_s() - R->last_checkpoint >= R->o.checkpoint_every;
	}
	if ((R->ranks == 1 || *step_end) &&
	    flush_results(&R->sr, R->comm, slot + 1, ctl, &R->guard, r, R->sums, R->c.epoch_sums, R->opt_step + 1, epoch,
	                  R->step_images, slot * mb + b))
		return 1;
	return 0;
}

/* The step's dumps: --dump-step's inputs, gradients and parameters of the first step (dump
 * `first`, finished after the update), --dump-steps' inputs and loss of every step. */
static int run_dumps(Run *R, double lr, Dump *first)
{
	const RtProgram *p = R->p;
	const RtRecipeDesc *r = R->r;
	const Options *o = &R->o;
	if (o->dump && R->opt_step == 1) { /* update() changes the parameters and zeroes the gradients */
		if (pull(p, &R->st) || rt_dp_gather_grads(R->dp))
			return 1;
		if (R->rank0) {
			dump_step(first, r, &R->st, "", R->images, R->labels, o->batch, R->mb, R->first_rng_step, R->sums[0]);
			dump_params(first, p, r, "param.", R->st.params, false);
			dump_params(first, p, r, "grad.", R->st.grad, true);
			if (dump_outputs(first, R->model, &R->st, R->images, o->batch, R->image))
				return 1;
		}
	}
	if (o->dump_steps && R->rank0) {
		char *suffix = rt_format(".%lld", (long long)R->opt_step - 1);
		dump_step(&R->steps_dump, r, &R->st, suffix, R->images, R->labels, o->batch, R->mb, R->first_rng_step,
		          R->sums[0]);
		free(suffix);
		char *more = rt_format("%s%s%.17g", R->lrs, R->opt_step > 1 ? "," : "", lr);
		free(R->lrs);
		R->lrs = more;
	}
	return 0;
}

/* After the update: the step's line and metrics, --profile's accounting. */
static void run_report_step(Run *R, int64_t epoch, double lr)
{
	RtState *st = &R->st;
	double dt = now_s() - R->t0; /* the step's compute and its data loading */
	if (st->prof) {
		double wait = rt_comm_take_seconds(R->comm);
		if (wait > 0)
			rt_prof_add(st->prof, &comm_site, rt_prof_now() - wait);
	}
	if (st->prof && R->opt_step == R->res.opt_step + 1 && (R->o.steps < 0 || R->o.steps > R->opt_step)) {
		rt_prof_reset(st->prof); /* the first step pays for first touches of memory */
		R->prof_from = R->opt_step;
	}
	double per_step = (now_s() - R->run_t0) / (double)(R->opt_step - R->run_first_step);
	RtProgressStep ps = {.epoch = epoch, .epochs = R->o.epochs, .step = R->opt_step,
	                     .epoch_step = R->opt_step - R->epoch_first, .epoch_steps = R->epoch_last - R->epoch_first,
	                     .nresults = R->r->nresults, .names = R->names, .values = R->sums, .lr = lr, .seconds = dt,
	                     .images_per_s = (double)R->o.batch / dt,
	                     .eta_epoch_s = per_step * (double)(R->epoch_last - R->opt_step),
	                     .eta_run_s = per_step * (double)(R->last_step - R->opt_step)};
	if (R->log)
		rt_runlog_step(R->log, &ps);
}

/* An optimizer step, after its last micro-batch: the gradients summed over the ranks, the
 * schedule, the dumps, the guard, AdamW, the reports, the pictures and the checkpoint that
 * --checkpoint-every asks for (ctl: the ranks' decisions). */
static int run_optimizer_step(Run *R, int64_t epoch, const double *ctl)
{
	const RtProgram *p = R->p;
	const RtRecipeDesc *r = R->r;
	const Options *o = &R->o;
	RtState *st = &R->st;
	if (rt_dp_sum_grads(R->dp) ||
	    (R->share && share_batch(R->comm, R->images, R->labels, R->image * o->batch, o->batch)))
		return 1;
	/* AdamW's step-dependent scalars in double, as PyTorch */
	double t = (double)++R->opt_step;
	double lr = o->lr * schedule(r, o->warmup, o->epochs, r->schedule == RT_WARMUP_COSINE_ITER ? R->step_start : (double)epoch);
	st->s.lr = (real)lr;
	st->s.adamw_decay = (real)(1 - lr * r->weight_decay);
	st->s.adam_neg_step_size = (real)(-lr / (1 - pow(r->beta1, t)));
	st->s.adam_bc2_sqrt = (real)sqrt(1 - pow(r->beta2, t));
	Dump first = {0};
	if (run_dumps(R, lr, &first))
		return 1;
	if (!p->device && guard_grad(&R->guard, p, st, R->opt_step, epoch, R->step_images, o->batch))
		return 1;
	if (r->update(st) || rt_dp_after_update(R->dp))
		return 1;
	run_report_step(R, epoch, lr);
	if (first.n) {
		if (pull(p, st))
			return 1;
		dump_params(&first, p, r, "param_after.", st->params, false);
		char *lr1 = rt_format("%.17g", lr);
		int rc = dump_write(&first, p, r, o->batch, R->mb, lr1, 1, o->dump);
		free(lr1);
		if (rc)
			return 1;
	}
	if (o->vis_every && R->opt_step % o->vis_every == 0 && R->rank0) {
		char *name = rt_format("step-%06lld.png", (long long)R->opt_step);
		picture(&R->pics, st, R->log, name, "mae_image/step", R->opt_step);
		free(name);
	}
	R->done = o->steps > 0 && R->opt_step >= o->steps;
	if (ctl[CTL_CHECKPOINT] > 0 && !R->done) {
		counters_at(&R->c, epoch, R->opt_step, R->micro_count, R->epoch_batches, R->best_acc);
		if (save_checkpoint(p, r, st, o->out, &R->c, NULL))
			return 1;
		if (R->pr)
			rt_progress_line(R->pr, "checkpoint at step %lld (--checkpoint-every)", (long long)R->opt_step);
		R->guard.checkpoint_step = R->opt_step;
		R->last_checkpoint = now_s();
	}
	R->stop = ctl[CTL_STOP] > 0;
	return 0;
}

/* The end of an epoch (complete, or cut by --steps or Ctrl-C): its report, the evaluation,
 * the picture and the checkpoint. */
static int run_epoch_end(Run *R, int64_t epoch, bool complete)
{
	const RtRecipeDesc *r = R->r;
	RtState *st = &R->st;
	/* an epoch that ends inside a step: its slots so far go to this epoch's sums */
	double ctl[CTL_N] = {0};
	int64_t slots = R->micro_count % R->nmicro;
	if (R->ranks > 1 && slots &&
	    flush_results(&R->sr, R->comm, slots, ctl, &R->guard, r, R->sums, R->c.epoch_sums, R->opt_step + 1, epoch,
	                  R->step_images, slots * R->mb))
		return 1;
	counters_at(&R->c, epoch, R->opt_step, R->micro_count, R->epoch_batches, R->best_acc);
	if (R->stop && !complete) /* Ctrl-C: the step is finished; the run's state goes to the checkpoint */
		return save_checkpoint(R->p, r, st, R->o.out, &R->c, NULL);
	/* The epoch's report: the mean of its micro-batch results, then the evaluation (not for
	 * an epoch that --steps cut short). An epoch whose last step Ctrl-C interrupted ends as
	 * any other, and the run stops after it. */
	for (int i = 0; i < r->nresults; i++)
		R->means[i] = R->c.epoch_sums[i] / (double)(R->epoch_batches ? R->epoch_batches : 1);
	Eval ev = {0};
	if (R->val && complete) {
		if (evaluate(r, st, R->val, R->mb, &ev))
			return 1;
		R->val_results[0] = ev.loss;
		if (r->nresults > 1)
			R->val_results[1] = ev.acc;
		for (int i = 2; i < r->nresults; i++)
			R->val_results[i] = NAN; /* evaluate() keeps the loss and accuracy only */
	}
	if (R->pr) {
		epoch_report(R->pr, r, epoch, complete, R->means, R->val && complete ? &ev : NULL);
		report_skipped(R->data, R->pr, &R->skipped[0]);
		if (R->val)
			report_skipped(R->val, R->pr, &R->skipped[1]);
	}
	if (complete && R->rank0) {
		rt_runlog_epoch(R->log, epoch, R->opt_step, R->means, R->val ? R->val_results : NULL);
		char *name = rt_format("epoch-%03lld.png", (long long)epoch);
		picture(&R->pics, st, R->log, name, "mae_image", epoch);
		free(name);
	}
	bool improved = !R->val || !complete || !ev.has_acc || ev.acc > R->best_acc;
	if (ev.has_acc && ev.acc > R->best_acc)
		R->best_acc = ev.acc;
	R->c.best_acc = R->best_acc;
	if (improved) {
		if (save_checkpoint(R->p, r, st, R->o.out, &R->c, R->val && complete ? &ev : NULL))
			return 1;
		R->guard.checkpoint_step = R->opt_step;
		R->last_checkpoint = now_s();
	}
	/* Ctrl-C during the evaluation or the picture, on any rank */
	ctl[CTL_STOP] = interrupted != 0;
	if (R->ranks > 1 && rt_comm_allreduce(R->comm, ctl, CTL_N, RT_COMM_F64))
		return 1;
	R->stop = R->stop || ctl[CTL_STOP] > 0;
	return 0;
}

/* One epoch's micro-batches, from where the run stands. */
static int run_epoch(Run *R, int64_t epoch, bool first)
{
	rt_randperm(R->order, 1, R->n, R->st.seed, RT_STREAM_DATA, (uint32_t)epoch);
	int64_t start = first ? R->micro_count % R->micro_per_epoch * R->mb : 0;
	if (start == 0) { /* a resumed epoch keeps the sums of its first part */
		memset(R->c.epoch_sums, 0, sizeof(double) * (size_t)R->r->nresults);
		R->res.epoch_batches = 0;
	}
	R->epoch_batches = R->res.epoch_batches;
	R->epoch_first = epoch * R->micro_per_epoch / R->nmicro;
	R->epoch_last = (epoch + 1) * R->micro_per_epoch / R->nmicro;
	for (; start < R->n && !R->done && !R->stop; start += R->mb) {
		bool step_end;
		double ctl[CTL_N] = {0};
		if (run_micro_batch(R, epoch, start, &step_end, ctl) || (step_end && run_optimizer_step(R, epoch, ctl)))
			return 1;
	}
	return run_epoch_end(R, epoch, start >= R->n);
}

/* The end of the run: --dump-steps' file, --profile's tables, the logs closed. */
static int run_close(Run *R)
{
	const Options *o = &R->o;
	if (R->stop && R->pr)
		rt_progress_line(R->pr, "interrupted after step %lld: checkpoint in %s; continue with --resume %s",
		                 (long long)R->opt_step, o->out, o->out);
	if (o->dump_steps && R->rank0) {
		if (pull(R->p, &R->st))
			return 1;
		dump_params(&R->steps_dump, R->p, R->r, "param_final.", R->st.params, false);
		if (dump_write(&R->steps_dump, R->p, R->r, o->batch, R->mb, R->lrs, R->opt_step, o->dump_steps))
			return 1;
	}
	if (R->st.prof && R->rank0) {
		rt_prof_print(R->st.prof, stdout, R->opt_step - (R->prof_from ? R->prof_from : R->res.opt_step));
		rt_dp_report(R->dp, stdout);
	}
	rt_prof_free(R->st.prof);
	free(R->lrs);
	if (R->log)
		rt_runlog_close(R->log);
	/* no rank leaves before rank 0 has written: mpirun ends the job when one exits non-zero */
	double all_here = 1;
	if (R->ranks > 1 && rt_comm_allreduce(R->comm, &all_here, 1, RT_COMM_F64))
		return 1;
	pictures_close(&R->pics);
	loader_join(&loader); /* a run stopped by --steps left the next micro-batch being read */
	rt_dp_close(R->dp);
	rt_dataset_free(R->data);
	if (R->val)
		rt_dataset_free(R->val);
	if (R->p->device)
		R->p->device->close(&R->st);
	return R->stop ? 130 : 0;
}

static int train(const RtProgram *p, Options *op, RtComm *comm)
{
	static Run run; /* its buffers outlive an early return, as the loader's thread may */
	Run *R = &run;
	*R = (Run){.p = p, .r = op->recipe, .model = &p->models[op->recipe->model], .o = *op, .comm = comm,
	           .rank = rt_comm_rank(comm), .ranks = rt_comm_size(comm)};
	R->rank0 = R->rank == 0;
	if (run_open(R))
		return 1;
	if (R->o.eval_only)
		return run_eval(R);
	if (run_resume(R) || run_logs(R) || run_buffers(R))
		return 1;
	catch_interrupts();
	int64_t first_epoch = R->micro_count / R->micro_per_epoch;
	for (int64_t epoch = first_epoch; epoch < R->o.epochs && !R->done && !R->stop; epoch++)
		if (run_epoch(R, epoch, epoch == first_epoch))
			return 1;
	return run_close(R);
}
