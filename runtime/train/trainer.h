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

#include <stdbool.h>
#include <stdint.h>

#include "train/comm.h"
#include "kernels/cpu.h"
#include "maec_rt.h"
#include "train/profile.h"

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

/* The host scalars the IR reads with `scalar` (scalars.def). */
typedef struct RtScalars {
#define RT_SCALAR(name, what) real name;
#include "train/scalars.def"
#undef RT_SCALAR
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
	RtProfile *prof;   /* --profile: kernel times (profile.h); NULL: not timed */
	/* Data parallelism (docs/distributed.md). */
	RtComm *comm;      /* the run's ranks (comm.h); NULL outside rt_main's training */
	/* The state-slab elements [shard_lo, shard_hi) this rank's update changes: a shard with
	 * --zero 1, else all; the C target's update skips the rest. */
	int64_t shard_lo, shard_hi;
	/* The C target's step calls it (when set) after the last kernel that adds into a
	 * parameter's gradient: grad[off, off + n) is final for this micro-batch. */
	void (*grad_ready)(RtState *st, int64_t off, int64_t n);
	void *dp;          /* the driver's data-parallel state (trainer.c) */
};

typedef enum RtSchedule {
#define RT_SCHEDULE(id, name, what) RT_##id,
#include "train/schedules.def"
#undef RT_SCHEDULE
} RtSchedule;

/* image_folder's settings (ir/recipe.def); zeros for the other data sets. */
typedef struct RtImageSpec {
	const char *folder;     /* image_folder("DIR"); NULL: the trainer's --data */
	double mean[3], std[3]; /* Normalize's, per channel */
	int random_crop;        /* augment: random_resized_crop(scale, ratio); else resize + center crop */
	double scale[2], ratio[2];
	int64_t resize;         /* augment's resize before its center crop */
	double flip;            /* augment's horizontal_flip probability; 0: none */
	int64_t val_resize;     /* validation's Resize before the center crop */
} RtImageSpec;

typedef struct RtRecipeDesc {
	const char *name;
	int model;           /* index in RtProgram.models */
	int data;            /* RT_DATA_* (datasets.def) */
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
	RtImageSpec images;  /* data = image_folder */
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
	/* Data parallelism over st->comm's ranks (docs/distributed.md), on device slabs: the
	 * real device through NCCL, the emulation through the same calls emulated over MPI.
	 * dp_open (after open, when the run has MPI ranks) makes the device's communicator;
	 * dp_allreduce sums slab `which` (0 params, 1 grad, 2 m, 3 v), elements [off, off + n),
	 * over the ranks in place, and returns when the sum is on the device. */
	int (*dp_open)(RtState *st);
	int (*dp_allreduce)(RtState *st, int which, int64_t off, int64_t n);
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
	bool bf16;              /* compiled with maec --precision=bf16: activations stored in bf16 */
	const char *recompute;  /* maec --recompute: none, cheap or auto (docs/recompute.md) */
};

/* runlog.c: the run directory and what the run writes there and shows while it runs
 * (metrics.csv, TensorBoard events, loss.svg, images/, progress); trainer.c drives it.
 * rt_run_dir: --out DIR (refused when it exists, unless overwrite), else
 * runs/RECIPE-YYYYmmdd-HHMMSS; when resuming, DIR as it is. */
typedef struct RtRunLog RtRunLog;

typedef struct RtRunLogOptions {
	bool resumed;      /* append to metrics.csv and draw its earlier rows */
	bool quiet;        /* no step reports */
	int progress_mode; /* RT_PROGRESS_* */
	int64_t log_every; /* steps between printed lines when not on a terminal */
} RtRunLogOptions;

char *rt_run_dir(const char *out, const char *recipe, bool resume, bool overwrite, char **err);
RtRunLog *rt_runlog_open(const char *dir, const RtRecipeDesc *r, const RtRunLogOptions *o, char **err);
RtProgress *rt_runlog_progress(RtRunLog *l);
void rt_runlog_step(RtRunLog *l, const RtProgressStep *s);
/* An epoch's training means and, if any, validation results (the recipe's results, in order). */
void rt_runlog_epoch(RtRunLog *l, int64_t epoch, int64_t step, const double *train, const double *val);
/* images/NAME and a TensorBoard image `tag` at tb_step; a failure is reported once and the
 * run goes on. */
int rt_runlog_picture(RtRunLog *l, const char *name, const char *tag, int64_t tb_step, const uint8_t *px, int w,
                      int h, int c);
int rt_runlog_close(RtRunLog *l);

/* recon.c: reconstruction pictures, in the reference's layout: for each image [masked
 * input (removed pixels grey) | reconstruction with the visible pixels pasted back |
 * original], two images to a row. The model's forward must return outputs named pred
 * and mask (1 where removed), either as images [C, H, W] each (models/mae.dsl), or as
 * patches [L, p*p*C] in (row, column, channel) order and [L] (models/mae-official.dsl).
 * The masking draws at rng step RT_RECON_RNG_STEP of the state's seed, so every picture of
 * a run masks alike; the state's counters are restored. */
#define RT_RECON_RNG_STEP 0xffffffffu

typedef struct RtRecon {
	const RtModelDesc *model;
	int pred, mask;   /* output indices */
	int64_t image[3]; /* channels, height, width */
	int64_t patch;    /* 0: image layout; else the patch side of the patch layout */
	double mean[3], std[3]; /* the recipe's normalisation: (x / 255 - mean) / std */
} RtRecon;

/* The reconstruction of recipe r's images by its model m (r's model, or one that takes the
 * same images), or -1 with *err. */
int rt_recon_find(const RtModelDesc *m, const RtRecipeDesc *r, RtRecon *rc, char **err);
/* n images [n, C, H, W] normalised as the recipe's data are (rc->mean, rc->std); returns the
 * picture's 8-bit pixels (C channels) and its size, or NULL with *err. */
uint8_t *rt_recon_picture(const RtRecon *rc, RtState *st, const real *images, int64_t n, int *width, int *height,
                          char **err);

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
