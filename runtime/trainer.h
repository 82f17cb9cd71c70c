/* trainer.h: what a generated trainer tells the runtime about its program, and the
 * runtime's training driver (trainer.c). The generated file defines one RtProgram and
 * calls rt_main from main().
 *
 * Tensors are MAEC_REAL (float by default; double for gradient checks) and live in slabs:
 * one for the parameters, one each for the gradient accumulators and AdamW's two moments
 * (laid out alike), and one for the activations of the function running.
 */
#ifndef MAEC_TRAINER_H
#define MAEC_TRAINER_H

#include <stdint.h>

#include "cpu.h"
#include "maec_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef rt_real real;
typedef struct RtState RtState;
typedef struct RtProgram RtProgram;

typedef struct RtParamDesc {
	const char *name; /* module-unique: MODEL.state_dict-name of the model that owns it */
	int rank;
	int64_t shape[RT_MAX_RANK];
	int64_t numel;
	int64_t offset;       /* elements, in the parameter slab */
	int64_t state_offset; /* elements, in each state slab; -1: no recipe trains it */
	int init;             /* RT_INIT_* */
	double init_args[4];
	int frozen;
} RtParamDesc;

typedef struct RtName {
	int param; /* index in RtProgram.params */
	const char *name;
} RtName;

typedef struct RtModelDesc {
	const char *name;
	const RtName *params; /* its state_dict, in order */
	int nparams;
	/* Its forward on B images; outs[i] receives result i (out_numel[i] values per image).
	 * Nonzero: bad data (a message was printed). */
	int (*forward)(RtState *st, int64_t B, const rt_real *images, rt_real *const *outs);
	int nouts;
	const char *const *out_names;
	const int64_t *out_numel;
	int random;         /* it draws random numbers (masking), so outputs vary by step */
	int64_t max_batch;  /* the largest B its activation plan holds */
	int64_t act_bytes;
} RtModelDesc;

/* The host scalars the IR reads with `scalar`. */
typedef struct RtScalars {
	real batch;              /* the batch of the call */
	real lr;                 /* after the schedule */
	real adamw_decay;        /* 1 - lr * weight_decay */
	real adam_neg_step_size; /* -lr / (1 - beta1^t) */
	real adam_bc2_sqrt;      /* sqrt(1 - beta2^t) */
} RtScalars;

/* --precision: how a device computes (the C target computes in rt_real throughout). */
typedef enum RtPrecision { RT_FP32, RT_TF32, RT_BF16 } RtPrecision;

struct RtState {
	real *params, *grad, *m, *v;
	char *act;         /* the activation slab (host; NULL when a device runs the program) */
	RtScalars s;
	uint64_t seed;
	uint32_t rng_step; /* the micro-batch counter: each draws fresh random numbers */
	RtPrecision precision;
	void *dev;         /* the device backend's state */
	int detect_anomaly; /* --detect-anomaly: the C target's kernels check their outputs (rt_anomaly) */
};

typedef enum RtSchedule { RT_WARMUP_COSINE, RT_WARMUP_COSINE_ITER, RT_CONSTANT } RtSchedule;

typedef struct RtRecipeDesc {
	const char *name;
	int model;           /* index in RtProgram.models */
	const char *data;    /* "cifar10", "fashion_mnist" */
	int train_split, val_split; /* 0 train, 1 test, -1 none */
	double lr, beta1, beta2, eps, weight_decay;
	RtSchedule schedule;
	int64_t warmup, epochs, batch, micro_batch, seed;
	const char *init;    /* a recipe whose checkpoint it starts from, or NULL */
	const char *train;   /* "all" or comma-separated name prefixes, as the recipe says */
	int nargs;           /* 1: images; 2: images and labels */
	int64_t image[3];    /* one image: channels, height, width */
	int nresults;        /* the loss, then metrics */
	const char *const *result_names;
	int64_t perm_len;    /* length of the permutations its first randperm draws; 0: none */
	const int *trained;  /* the parameters it trains */
	int ntrained;
	/* Forward, backward, and accumulation into the grad slab, for one micro-batch of B
	 * images; results[0..nresults) get the loss and metrics. Nonzero: bad data (a message
	 * was printed). */
	int (*step)(RtState *st, int64_t B, const real *images, const int32_t *labels, real *results);
	int (*update)(RtState *st); /* AdamW from the grad slab, which it zeroes */
	/* The loss and metrics of B images without training (step's signature). */
	int (*eval)(RtState *st, int64_t B, const real *images, const int32_t *labels, real *results);
	int64_t act_bytes;   /* the activation slab its functions need */
} RtRecipeDesc;

typedef struct RtConst {
	const char *name;
	double value;
} RtConst;

/* A device backend (the CUDA target). The program's functions then run on the device,
 * which holds its own copy of the slabs; the host slabs stay the master copy for
 * initialisation, checkpoints and dumps: the driver pushes them after writing them and
 * pulls them before reading them. Each returns nonzero after printing why. */
typedef struct RtDevice {
	const char *name;
	int (*open)(RtState *st, const RtProgram *p);       /* no device: a message, nonzero */
	int (*push)(RtState *st);                            /* host slabs to the device */
	int (*pull)(RtState *st);                            /* device slabs to the host */
	void (*close)(RtState *st);
	/* `trainer kernels [--arch N]... [-v]`: compiles the kernels for the architectures
	 * (no device needed) and reports their resources; the exit status. */
	int (*kernels)(int argc, char **argv);
} RtDevice;

struct RtProgram {
	const char *source;  /* the DSL file */
	const char *maec_version;
	const RtConst *consts;
	int nconsts;
	const RtParamDesc *params;
	int nparams;
	int64_t params_numel, state_numel;
	const RtModelDesc *models;
	int nmodels;
	const RtRecipeDesc *recipes;
	int nrecipes;
	const RtDevice *device; /* NULL: the host runs the functions (the C target) */
};

/* trainer.c */
int rt_main(const RtProgram *prog, int argc, char **argv);

/* guard.c: nonzero after a message naming where (the DSL line) and op if the n values at
 * x hold a NaN or an infinity. Generated C trainers call it after each kernel when
 * st->detect_anomaly is set (--detect-anomaly). */
int rt_anomaly(const real *x, int64_t n, const char *where, const char *op);

#ifdef __cplusplus
}
#endif

#endif
