/* build.c: turns a generated C trainer into an executable, running the C compiler
 * directly (no shell: paths are passed as they are).
 *
 * A generated C trainer is compiled twice, at once: its fused kernels (the part under
 * MAEC_KERNELS) at -O3 for this machine, and the rest (straight-line calls of kernels,
 * which optimising would only slow down to build) at -O0; then linked with the runtime's
 * kernels, optimised, from the trainer library built with maec (runtime/CMakeLists.txt),
 * or, without it (maec moved away from its build tree), compiled along at -O3.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"

#ifndef MAEC_RUNTIME_DIR
#define MAEC_RUNTIME_DIR "runtime"
#endif
#ifndef MAEC_TRAINER_LIB_DIR
#define MAEC_TRAINER_LIB_DIR "runtime"
#endif
#ifndef MAEC_BLAS_DIR
#define MAEC_BLAS_DIR ""
#endif

static const char *const runtime_sources[] = {
	"kernels/cpu.c", "kernels/philox.c", "kernels/init.c", "kernels/randperm.c",
	"formats/safetensors.c", "formats/cifar.c", "formats/idx.c", "formats/tboard.c", "formats/png.c",
	"train/trainer.c", "train/comm.c", "train/dp.c", "train/profile.c", "train/guard.c", "train/runlog.c",
	"train/progress.c", "train/plot.c", "train/recon.c", "formats/folder.c", "formats/image.c", "formats/pool.c",
	"util.c"};
enum { NSRC = sizeof runtime_sources / sizeof *runtime_sources };

static pid_t spawn(const char *const *argv, bool verbose)
{
	if (verbose) {
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fputc('\n', stderr);
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maec: cannot start the C compiler: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "maec: cannot run the C compiler '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static bool finished(pid_t pid)
{
	int status;
	if (pid < 0)
		return false;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool run(const char *const *argv, bool verbose)
{
	return finished(spawn(argv, verbose));
}

/* A path as an operand of the compiler: one that starts with '-' would read as an option. */
static const char *operand(Arena *a, const char *path)
{
	return path[0] == '-' ? arena_printf(a, "./%s", path) : path;
}

/* nvcc, or the host C++ compiler for the emulation, on the generated .cu file, linked
 * with the trainer library of CUDA trainers (runtime/CMakeLists.txt). */
bool build_cuda_trainer(const char *cu_file, const char *exe, bool verbose, bool emulate)
{
	const char *rt = MAEC_RUNTIME_DIR;
	const char *cxx = emulate ? getenv("CXX") : getenv("NVCC");
	if (!cxx || !*cxx)
		cxx = emulate ? "c++" : access("/usr/local/cuda/bin/nvcc", X_OK) == 0 ? "/usr/local/cuda/bin/nvcc" : "nvcc";
	Arena *a = arena_new();
	char *lib = arena_printf(a, "%s/libmaec_trainer_%s.a", MAEC_TRAINER_LIB_DIR, emulate ? "cudaemu" : "cuda");
	if (access(lib, R_OK) != 0) {
		fprintf(stderr, "maec: the trainer library '%s' is missing: build maec with the CUDA toolkit present\n", lib);
		arena_free(a);
		return false;
	}
	const char *argv[32];
	int n = 0;
	argv[n++] = cxx;
	argv[n++] = "-std=c++17";
	argv[n++] = "-O1";
	argv[n++] = arena_printf(a, "-I%s", rt);
	if (emulate) { /* a .cu file is C++ here */
		argv[n++] = "-x";
		argv[n++] = "c++";
	}
	argv[n++] = operand(a, cu_file);
	if (emulate) {
		argv[n++] = "-x";
		argv[n++] = "none";
	}
	argv[n++] = lib;
	if (emulate) {
		if (*MAEC_BLAS_DIR) {
			argv[n++] = arena_printf(a, "-L%s", MAEC_BLAS_DIR);
			argv[n++] = arena_printf(a, "-Wl,-rpath,%s", MAEC_BLAS_DIR);
		}
		argv[n++] = "-lopenblas";
		argv[n++] = "-ldl";
	} else {
		argv[n++] = "-lcublas";
		argv[n++] = "-lnvrtc";
		argv[n++] = "-ldl"; /* comm.c loads MPI when mpirun starts the trainer */
	}
	/* libpng (the pictures, image folders) and libjpeg (image folders) linked in: a GPU machine
	 * may have the CUDA toolkit and neither */
	argv[n++] = "-l:libpng16.a";
	argv[n++] = "-l:libjpeg.a";
	argv[n++] = "-lz";
	argv[n++] = "-lm";
	argv[n++] = "-lpthread";
	argv[n++] = "-o";
	argv[n++] = operand(a, exe);
	argv[n] = NULL;
	bool ok = run(argv, verbose);
	if (!ok)
		fprintf(stderr, "maec: '%s' failed building '%s' from '%s'\n", cxx, exe, cu_file);
	arena_free(a);
	return ok;
}

bool build_c_trainer(const char *c_file, const char *exe, bool verbose, bool use_double)
{
	const char *rt = getenv("MAEC_RUNTIME");
	if (!rt || !*rt)
		rt = MAEC_RUNTIME_DIR;
	const char *cc = getenv("CC");
	if (!cc || !*cc)
		cc = "cc";
	const char *real = use_double ? "double" : "float";
	Arena *a = arena_new();
	char *lib = arena_printf(a, "%s/libmaec_trainer_%s.a", MAEC_TRAINER_LIB_DIR, real);
	char *kernels = arena_printf(a, "%s.kernels.o", exe), *main_o = arena_printf(a, "%s.main.o", exe);
	bool have_lib = access(lib, R_OK) == 0 && !getenv("MAEC_RUNTIME");
	/* The fused kernels, optimised, while the rest compiles. */
	const char *kargv[] = {cc, "-std=c11", "-fopenmp", "-D_POSIX_C_SOURCE=200809L",
	                       arena_printf(a, "-DMAEC_REAL=%s", real), arena_printf(a, "-I%s", rt), "-O3", "-march=native",
	                       "-DMAEC_KERNELS", "-c", operand(a, c_file), "-o", operand(a, kernels), NULL};
	pid_t kpid = spawn(kargv, verbose);
	const char *argv[NSRC + 24];
	int n = 0;
	argv[n++] = cc;
	argv[n++] = "-std=c11";
	argv[n++] = "-fopenmp";
	argv[n++] = "-D_POSIX_C_SOURCE=200809L";
	argv[n++] = arena_printf(a, "-DMAEC_REAL=%s", real);
	argv[n++] = arena_printf(a, "-I%s", rt);
	argv[n++] = "-O0";
	argv[n++] = "-c";
	argv[n++] = operand(a, c_file);
	argv[n++] = "-o";
	argv[n++] = operand(a, main_o);
	argv[n] = NULL;
	bool ok = run(argv, verbose);
	ok &= finished(kpid);
	if (ok) {
		n = 0;
		argv[n++] = cc;
		argv[n++] = "-fopenmp";
		argv[n++] = operand(a, main_o);
		argv[n++] = operand(a, kernels);
		if (have_lib) {
			argv[n++] = lib;
		} else {
			argv[n++] = "-std=c11";
			argv[n++] = "-D_POSIX_C_SOURCE=200809L";
			argv[n++] = arena_printf(a, "-DMAEC_REAL=%s", real);
			argv[n++] = arena_printf(a, "-I%s", rt);
			argv[n++] = "-O3";
			argv[n++] = "-march=native";
			for (int i = 0; i < NSRC; i++)
				argv[n++] = arena_printf(a, "%s/%s", rt, runtime_sources[i]);
		}
		if (*MAEC_BLAS_DIR) { /* OpenBLAS's OpenMP build, found when maec was built */
			argv[n++] = arena_printf(a, "-L%s", MAEC_BLAS_DIR);
			argv[n++] = arena_printf(a, "-Wl,-rpath,%s", MAEC_BLAS_DIR);
		}
		argv[n++] = "-lopenblas";
		argv[n++] = "-lpng";
		argv[n++] = "-ljpeg";
		argv[n++] = "-lz";
		argv[n++] = "-lpthread";
		argv[n++] = "-lm";
		argv[n++] = "-ldl"; /* comm.c loads MPI when mpirun starts the trainer */
		argv[n++] = "-o";
		argv[n++] = operand(a, exe);
		argv[n] = NULL;
		ok = run(argv, verbose);
	}
	remove(main_o);
	remove(kernels);
	if (!ok)
		fprintf(stderr, "maec: the C compiler failed building '%s' from '%s'\n", exe, c_file);
	arena_free(a);
	return ok;
}
