/* trainer.c: the training driver every generated trainer runs (rt_main).
 *
 * It parses the command line, allocates the slabs, initialises the parameters, feeds
 * micro-batches of real data to the recipe's step function, applies the schedule and
 * the optimizer update, and writes step dumps for parity checks against PyTorch
 * (tools/reference/README.md describes the dump).
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "trainer.h"

enum { RT_STREAM_DATA = RT_STREAM_OPS - 1 }; /* the epoch shuffle */

typedef struct Options {
	const RtRecipeDesc *recipe;
	const char *data, *dump;
	int64_t steps, batch, micro_batch, seed, threads;
	double lr;
} Options;

static void usage(const RtProgram *p, FILE *f)
{
	fprintf(f, "usage: %s RECIPE [options]\n\nrecipes of %s:\n", "trainer", p->source);
	for (int i = 0; i < p->nrecipes; i++)
		fprintf(f, "  %-12s model %s, batch %lld (micro-batches of %lld), %lld epochs\n", p->recipes[i].name,
		        p->models[p->recipes[i].model].name, (long long)p->recipes[i].batch,
		        (long long)p->recipes[i].micro_batch, (long long)p->recipes[i].epochs);
	fprintf(f, "\noptions:\n"
	           "  --data DIR          the data set's directory (CIFAR-10 binary version)\n"
	           "  --steps N           optimizer steps to run (default: 1)\n"
	           "  --batch N           images per optimizer step (default: the recipe's)\n"
	           "  --micro-batch N     images per forward/backward (default: the recipe's, at most that)\n"
	           "  --lr X              the peak learning rate (default: the recipe's)\n"
	           "  --seed N            seed of initialisation, masking and shuffling (default: the recipe's)\n"
	           "  --threads N         OpenMP threads (default: all cores)\n"
	           "  --dump-step FILE    write the first step's inputs, gradients and parameters (safetensors)\n");
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

static int parse_args(const RtProgram *p, int argc, char **argv, Options *o)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(p, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : -1;
	}
	for (int i = 0; i < p->nrecipes; i++)
		if (strcmp(p->recipes[i].name, argv[1]) == 0)
			o->recipe = &p->recipes[i];
	if (!o->recipe)
		return bad("unknown recipe '%s' (see --help)%s", argv[1], "");
	const RtRecipeDesc *r = o->recipe;
	*o = (Options){.recipe = r, .steps = 1, .batch = r->batch, .micro_batch = -1, .seed = r->seed, .lr = r->lr};
	for (int i = 2; i < argc; i++) {
		const char *f = argv[i];
		if (i + 1 >= argc)
			return bad("option '%s' needs a value%s", f, "");
		const char *v = argv[++i];
		int rc = 0;
		if (strcmp(f, "--data") == 0)
			o->data = v;
		else if (strcmp(f, "--dump-step") == 0)
			o->dump = v;
		else if (strcmp(f, "--steps") == 0)
			rc = parse_int(f, v, 1, INT32_MAX, &o->steps);
		else if (strcmp(f, "--batch") == 0)
			rc = parse_int(f, v, 1, 1 << 24, &o->batch);
		else if (strcmp(f, "--micro-batch") == 0)
			rc = parse_int(f, v, 1, 1 << 24, &o->micro_batch);
		else if (strcmp(f, "--seed") == 0)
			rc = parse_int(f, v, 0, INT64_MAX, &o->seed);
		else if (strcmp(f, "--threads") == 0)
			rc = parse_int(f, v, 1, 4096, &o->threads);
		else if (strcmp(f, "--lr") == 0) {
			char *end;
			o->lr = strtod(v, &end);
			if (end == v || *end || !(o->lr > 0) || !(o->lr <= 10))
				return bad("--lr needs a number in (0, 10], got '%s'%s", v, "");
		} else
			return bad("unknown option '%s' (see --help)%s", f, "");
		if (rc)
			return rc;
	}
	if (o->micro_batch < 0)
		o->micro_batch = o->batch < r->micro_batch ? o->batch : r->micro_batch;
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
	if (!o->data)
		return bad("recipe '%s' reads %s: give its directory with --data DIR", r->name, r->data);
	return 0;
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

/* The reference's learning-rate multiplier for epoch e (0-based). */
static double schedule(const RtRecipeDesc *r, double e)
{
	if (r->schedule == RT_CONSTANT)
		return 1;
	double warm = (e + 1) / ((double)r->warmup + 1e-8);
	const double pi = 3.14159265358979323846;
	double cosine = 0.5 * (cos(pi * e / (double)r->epochs) + 1);
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

/* Float copies made for a dump, freed once it is written. */
typedef struct Keep {
	void **p;
	int n, cap;
} Keep;

static void *keep(Keep *k, void *p)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->p = realloc(k->p, sizeof *k->p * (size_t)k->cap);
		if (!k->p) {
			fprintf(stderr, "trainer: out of memory\n");
			exit(1);
		}
	}
	return k->p[k->n++] = p;
}

static void add_real(RtSafetensors *st, Keep *k, const char *name, const real *x, const int64_t *shape, int rank)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= shape[i];
	char *nm = keep(k, rt_format("%s", name));
	rt_st_add(st, nm, RT_F32, shape, rank, keep(k, to_float(x, n)), sizeof(float) * (size_t)n);
}

static void meta_num(RtSafetensors *st, const char *key, double v)
{
	char *s = rt_format("%.17g", v);
	rt_st_meta(st, key, s);
	free(s);
}

/* The first step, for parity checks (tools/reference/README.md): its images, labels and
 * masking permutation, the parameters before and after, the accumulated gradients. */
static bool trains(const RtRecipeDesc *r, int param)
{
	for (int i = 0; i < r->ntrained; i++)
		if (r->trained[i] == param)
			return true;
	return false;
}

static int write_step_dump(const RtProgram *p, const RtRecipeDesc *r, const RtState *st, const real *before,
                           const real *grads, const real *images, const int32_t *labels, int64_t batch, int64_t mb,
                           uint32_t first_rng_step, double loss, double lr, const char *path)
{
	RtSafetensors *d = rt_st_create();
	Keep k = {0};
	if (!d) {
		fprintf(stderr, "trainer: out of memory\n");
		return 1;
	}
	if (r->perm_len > 0) { /* 8-byte tensors first, to keep every tensor aligned */
		int64_t T = r->perm_len;
		int32_t *perm = keep(&k, alloc_or_die(sizeof(int32_t) * (size_t)(T * mb), "a dump"));
		int64_t *fwd = keep(&k, alloc_or_die(sizeof(int64_t) * (size_t)(T * batch), "a dump"));
		for (int64_t m = 0; m < batch / mb; m++) {
			rt_randperm(perm, mb, T, st->seed, RT_STREAM_OPS, first_rng_step + (uint32_t)m);
			for (int64_t b = 0; b < mb; b++)
				for (int64_t t = 0; t < T; t++)
					fwd[t * batch + m * mb + b] = perm[b * T + t];
		}
		rt_st_add(d, "forward_indexes", RT_I64, (const int64_t[]){T, batch}, 2, fwd, sizeof(int64_t) * (size_t)(T * batch));
	}
	int64_t ishape[4] = {batch, r->image[0], r->image[1], r->image[2]};
	add_real(d, &k, "input", images, ishape, 4);
	if (r->nargs >= 2)
		rt_st_add(d, "labels", RT_I32, &batch, 1, labels, sizeof(int32_t) * (size_t)batch);
	float *lossf = keep(&k, alloc_or_die(sizeof(float), "a dump"));
	*lossf = (float)loss;
	rt_st_add(d, "loss", RT_F32, NULL, 0, lossf, sizeof(float));
	const RtModelDesc *model = &p->models[r->model];
	for (int i = 0; i < model->nparams; i++) {
		const RtParamDesc *pd = &p->params[model->params[i].param];
		const char *name = model->params[i].name;
		char *key = keep(&k, rt_format("param.%s", name));
		add_real(d, &k, key, before + pd->offset, pd->shape, pd->rank);
		key = keep(&k, rt_format("param_after.%s", name));
		add_real(d, &k, key, st->params + pd->offset, pd->shape, pd->rank);
		if (trains(r, model->params[i].param)) {
			key = keep(&k, rt_format("grad.%s", name));
			add_real(d, &k, key, grads + pd->state_offset, pd->shape, pd->rank);
		}
	}
	meta_num(d, "lr", lr);
	char *betas = rt_format("%.17g,%.17g", r->beta1, r->beta2);
	rt_st_meta(d, "betas", betas);
	free(betas);
	meta_num(d, "eps", r->eps);
	meta_num(d, "weight_decay", r->weight_decay);
	meta_num(d, "micro_batches", (double)(batch / mb));
	rt_st_meta(d, "recipe", r->name);
	rt_st_meta(d, "train", r->train);
	rt_st_meta(d, "source", p->source);
	for (int i = 0; i < p->nconsts; i++)
		meta_num(d, p->consts[i].name, p->consts[i].value);
	char *err = NULL;
	int rc = rt_st_write(d, path, &err);
	if (rc)
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory writing the dump");
	else
		printf("wrote %s\n", path);
	free(err);
	rt_st_free(d);
	for (int i = 0; i < k.n; i++)
		free(k.p[i]);
	free(k.p);
	return rc ? 1 : 0;
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
	if (sizeof(real) != sizeof(double))
		printf("gradcheck: note: this trainer computes in %zu-byte floats; build it with MAEC_REAL=double\n",
		       sizeof(real));
	RtState st = {.seed = (uint64_t)seed};
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

int rt_main(const RtProgram *p, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "gradcheck") == 0)
		return gradcheck(p, argc, argv);
	Options o;
	int rc = parse_args(p, argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	const RtRecipeDesc *r = o.recipe;
	if (o.dump && check_writable(o.dump))
		return 1;
#ifdef _OPENMP
	if (o.threads)
		omp_set_num_threads((int)o.threads);
#endif
	if (strcmp(r->data, "cifar10") != 0) {
		fprintf(stderr, "trainer: recipe '%s' reads %s, which this trainer cannot load yet\n", r->name, r->data);
		return 1;
	}
	char *err = NULL;
	RtDataset *data = rt_cifar10_load(o.data, r->train_split, &err);
	if (!data) {
		fprintf(stderr, "trainer: %s\n", err ? err : "out of memory");
		free(err);
		return 1;
	}
	int64_t n = rt_dataset_size(data), shape[3];
	rt_dataset_shape(data, shape);
	int64_t image = shape[0] * shape[1] * shape[2];

	RtState st = {.seed = (uint64_t)o.seed};
	st.params = alloc_or_die(sizeof(real) * (size_t)p->params_numel, "the parameters");
	st.grad = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "the gradients");
	st.m = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's first moments");
	st.v = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "AdamW's second moments");
	st.act = alloc_or_die((size_t)r->act_bytes, "the activations");
	init_params(p, st.params, st.seed);

	int64_t mb = o.micro_batch, nmicro = o.batch / mb;
	real *images = alloc_or_die(sizeof(real) * (size_t)(image * o.batch), "a batch");
	float *fimages = alloc_or_die(sizeof(float) * (size_t)(image * o.batch), "a batch");
	int32_t *labels = alloc_or_die(sizeof(int32_t) * (size_t)o.batch, "a batch");
	int32_t *order = alloc_or_die(sizeof(int32_t) * (size_t)n, "the shuffle");
	int64_t *idx = alloc_or_die(sizeof(int64_t) * (size_t)o.batch, "a batch");
	real *results = alloc_or_die(sizeof(real) * (size_t)(r->nresults ? r->nresults : 1), "the results");
	double *sums = alloc_or_die(sizeof(double) * (size_t)(r->nresults ? r->nresults : 1), "the results");
	int64_t epoch = -1, pos = n;
	for (int64_t step = 0; step < o.steps; step++) {
		/* The step's images: the next of the epoch's shuffle; the last batch may be short. */
		for (int64_t k = 0; k < o.batch; k++) {
			if (pos == n) {
				epoch++;
				rt_randperm(order, 1, n, st.seed, RT_STREAM_DATA, (uint32_t)epoch);
				pos = 0;
			}
			idx[k] = order[pos++];
		}
		rt_dataset_batch(data, idx, o.batch, fimages, labels);
		for (int64_t k = 0; k < image * o.batch; k++)
			images[k] = (real)fimages[k];
		uint32_t first_rng_step = st.rng_step;
		memset(sums, 0, sizeof(double) * (size_t)r->nresults);
		for (int64_t m = 0; m < nmicro; m++) {
			st.s.batch = (real)mb;
			if (r->step(&st, mb, images + m * mb * image, labels + m * mb, results))
				return 1;
			for (int i = 0; i < r->nresults; i++)
				sums[i] += (double)results[i] / (double)nmicro;
			st.rng_step++;
		}
		/* AdamW's step-dependent scalars, in double as PyTorch computes them. */
		double t = (double)step + 1;
		double lr = o.lr * schedule(r, (double)epoch);
		st.s.lr = (real)lr;
		st.s.adamw_decay = (real)(1 - lr * r->weight_decay);
		st.s.adam_neg_step_size = (real)(-lr / (1 - pow(r->beta1, t)));
		st.s.adam_bc2_sqrt = (real)sqrt(1 - pow(r->beta2, t));
		bool dump = o.dump && step == 0;
		real *before = NULL, *grads = NULL;
		if (dump) { /* update() changes the parameters and zeroes the gradients */
			before = alloc_or_die(sizeof(real) * (size_t)p->params_numel, "a dump");
			grads = alloc_or_die(sizeof(real) * (size_t)p->state_numel, "a dump");
			memcpy(before, st.params, sizeof(real) * (size_t)p->params_numel);
			memcpy(grads, st.grad, sizeof(real) * (size_t)p->state_numel);
		}
		if (r->update(&st))
			return 1;
		printf("step %lld/%lld", (long long)step + 1, (long long)o.steps);
		for (int i = 0; i < r->nresults; i++)
			printf("  %s %.6f", r->result_names[i] ? r->result_names[i] : "result", sums[i]);
		printf("  lr %.3e\n", lr);
		fflush(stdout);
		if (dump) {
			rc = write_step_dump(p, r, &st, before, grads, images, labels, o.batch, mb, first_rng_step, sums[0], lr,
			                     o.dump);
			free(before);
			free(grads);
			if (rc)
				return 1;
		}
	}
	rt_dataset_free(data);
	return 0;
}
