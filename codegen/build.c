/* build.c: turns a generated C trainer into an executable, running the C compiler
 * directly (no shell: paths are passed as they are). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"

#ifndef MAEC_RUNTIME_DIR
#define MAEC_RUNTIME_DIR "runtime"
#endif

/* The runtime sources compiled into every C trainer. */
static const char *const runtime_sources[] = {"cpu.c", "trainer.c", "philox.c", "init.c", "randperm.c",
                                              "safetensors.c", "cifar.c", "util.c"};

bool build_c_trainer(const char *c_file, const char *exe, bool verbose, bool use_double)
{
	const char *rt = getenv("MAEC_RUNTIME");
	if (!rt || !*rt)
		rt = MAEC_RUNTIME_DIR;
	const char *cc = getenv("CC");
	if (!cc || !*cc)
		cc = "cc";
	enum { NSRC = sizeof runtime_sources / sizeof *runtime_sources };
	Arena *a = arena_new();
	const char *argv[NSRC + 24];
	int n = 0;
	argv[n++] = cc;
	argv[n++] = "-std=c11";
	argv[n++] = "-O3";
	argv[n++] = "-march=native";
	argv[n++] = "-fopenmp";
	argv[n++] = "-D_POSIX_C_SOURCE=200809L";
	if (use_double)
		argv[n++] = "-DMAEC_REAL=double";
	argv[n++] = "-w"; /* the trainer's own warnings are the generator's tests' business */
	argv[n++] = arena_printf(a, "-I%s", rt);
	argv[n++] = c_file;
	for (int i = 0; i < NSRC; i++)
		argv[n++] = arena_printf(a, "%s/%s", rt, runtime_sources[i]);
	argv[n++] = "-lopenblas";
	argv[n++] = "-lm";
	argv[n++] = "-o";
	argv[n++] = exe;
	argv[n] = NULL;
	if (verbose) {
		for (int i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fputc('\n', stderr);
	}
	bool ok = false;
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maec: cannot start the C compiler: %s\n", strerror(errno));
	} else if (pid == 0) {
		execvp(cc, (char *const *)argv);
		fprintf(stderr, "maec: cannot run the C compiler '%s': %s\n", cc, strerror(errno));
		_exit(127);
	} else {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!ok)
			fprintf(stderr, "maec: the C compiler failed building '%s' from '%s'\n", exe, c_file);
	}
	arena_free(a);
	return ok;
}
