/* source.h: what both emulator tests do first: read kernels.cu. */
#ifndef MAEC_TEST_SIMT_SOURCE_H
#define MAEC_TEST_SIMT_SOURCE_H

#include <stdio.h>

/* The whole file as a string in buf[n], or NULL after saying why (prog first). */
static inline const char *read_source(const char *prog, const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "rb");
	size_t len = f ? fread(buf, 1, n - 1, f) : 0;
	if (f)
		fclose(f);
	if (len == 0 || len == n - 1) {
		fprintf(stderr, "%s: cannot read '%s' (or it is empty, or %zu bytes or more)\n", prog, path, n - 1);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

#endif
