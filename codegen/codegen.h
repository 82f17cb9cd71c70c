/* codegen.h: the targets. Each writes a program from a module after the passes. */
#ifndef MAEC_CODEGEN_H
#define MAEC_CODEGEN_H

#include "ir.h"
#include "passes.h"

/* c.c: the C trainer (OpenMP + CBLAS), linked with runtime/, computing in float or (for
 * gradient checks) double. Reports through d and returns false if the module uses what
 * the target cannot emit. */
bool codegen_c(Buf *out, const Module *m, const char *source, bool use_double, bool naive_memory, Arena *a,
               Diag *d);

/* cost.c: the CUDA target's cost model (cost.def: the devices and efficiencies). A log
 * holds what codegen_cuda emitted; cost_report prints, for each recipe's step and update,
 * every kernel's bytes, FLOPs, roofline and estimated time, the totals, the costliest
 * kernels and the host work on the step's critical path (the copies before its launch). */
typedef struct CostLog CostLog;
typedef enum CostPrecision { COST_FP32, COST_TF32, COST_BF16 } CostPrecision; /* RtPrecision's order */
CostLog *cost_log_new(Arena *a);
void cost_log_free(CostLog *log);
int cost_device(const char *name); /* its index in cost.def ("h200", "h100"), or -1 */
bool cost_report(FILE *out, const CostLog *log, const Module *m, int device, CostPrecision p);
/* What the CUDA target runs for f: kernel launches, cuBLAS GEMMs, device copies, copies
 * from the host, and the DRAM bytes the device moves. */
typedef struct CostCounts {
	int kernels, gemms, copies, host;
	int64_t bytes;
} CostCounts;
void cost_counts(const CostLog *log, const Func *f, CostCounts *c);

/* cuda.c: the CUDA trainer (C++ host code for nvcc, its kernels compiled at start by
 * NVRTC, cuBLAS), linked with runtime/ (gpu.h); float only. Each function runs its
 * schedule (passes/lower.c: the fuse pass's kernels, lower_cuda's abilities) call by call;
 * naive_memory: every value its own buffer (-fno-memplan). Every launch, product, copy and piece
 * of host work is recorded in `log` (NULL: a log of its own), and the trainer's site table
 * carries each one's estimate on `device` (cost_device) for MAEC_PROFILE. */
bool codegen_cuda(Buf *out, const Module *m, const char *source, bool naive_memory, int device, CostLog *log, Arena *a,
                  Diag *d);

/* build.c: compiles a generated C trainer with the system C compiler and the runtime's
 * sources into the executable `exe`, its tensors in float or (use_double, for gradient
 * checks) double. Returns false (after printing why) on failure. */
bool build_c_trainer(const char *c_file, const char *exe, bool verbose, bool use_double);
/* Builds a generated CUDA trainer with nvcc ($NVCC), or for the host emulation
 * (runtime/gpu/gpu_emu.c) with the host C++ compiler ($CXX). */
bool build_cuda_trainer(const char *cu_file, const char *exe, bool verbose, bool emulate);

#endif
