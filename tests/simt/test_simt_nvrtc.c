/* test_simt_nvrtc.c: kernels.cu, the emulator test's kernels, through NVRTC for each
 * architecture named: it must compile with an empty log (no warnings).
 *
 * usage: test_simt_nvrtc KERNELS.cu CUDA-INCLUDE-DIR ARCH...   (ARCH: 80, 90)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvrtc.h>

#include "source.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: test_simt_nvrtc KERNELS.cu CUDA-INCLUDE-DIR ARCH...\n");
		return 2;
	}
	static char src[1 << 16];
	if (!read_source("test_simt_nvrtc", argv[1], src, sizeof src))
		return 2;
	int passed = 0, failed = 0;
	for (int i = 3; i < argc; i++) {
		char arch[64], inc[4096];
		snprintf(arch, sizeof arch, "--gpu-architecture=sm_%s", argv[i]);
		snprintf(inc, sizeof inc, "--include-path=%s", argv[2]);
		const char *opts[] = {arch, inc, "--std=c++17", "-default-device"};
		nvrtcProgram prog;
		size_t log_n = 0;
		nvrtcResult rc = nvrtcCreateProgram(&prog, src, argv[1], 0, NULL, NULL);
		if (rc == NVRTC_SUCCESS)
			rc = nvrtcCompileProgram(prog, 4, opts);
		nvrtcGetProgramLogSize(prog, &log_n);
		char *log = malloc(log_n + 1);
		if (log) {
			log[0] = 0;
			nvrtcGetProgramLog(prog, log);
		}
		int ok = rc == NVRTC_SUCCESS && log && strlen(log) == 0;
		printf("%s sm_%s: %s%s\n", ok ? "ok  " : "FAIL", argv[i], nvrtcGetErrorString(rc), log && *log ? ", log:" : "");
		if (log && *log)
			printf("%s\n", log);
		free(log);
		nvrtcDestroyProgram(&prog);
		ok ? passed++ : failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
