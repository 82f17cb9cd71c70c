/* cache.c: the kernel cache of gpu.h (compiled kernels on disk, keyed by a hash of what
 * made them), shared by the CUDA device (gpu_cuda.c) and the emulator (simt.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu.h"

uint64_t rt_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int make_dirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		int rc = mkdir(path, 0777);
		*s = '/';
		if (rc && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0777) && errno != EEXIST ? -1 : 0;
}

char *rt_cache_dir(void)
{
	const char *env = getenv("MAEC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *dir = env && *env ? rt_format("%s", env)
	            : xdg && *xdg ? rt_format("%s/maec", xdg)
	            : home && *home ? rt_format("%s/.cache/maec", home)
	                            : NULL;
	if (dir && make_dirs(dir)) {
		fprintf(stderr, "trainer: note: cannot create the kernel cache '%s' (%s): kernels are compiled every start\n",
		        dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

void *rt_cache_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *p = NULL;
	size_t len = 0;
	if (fseek(f, 0, SEEK_END) == 0) {
		long end = ftell(f);
		if (end > 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)end)) &&
		    fread(p, 1, (size_t)end, f) == (size_t)end)
			len = (size_t)end;
	}
	fclose(f);
	if (!len) {
		free(p);
		return NULL;
	}
	*n = len;
	return p;
}

int rt_cache_write(const char *path, const void *p, size_t n)
{
	char *tmp = rt_format("%s.%ld.tmp", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;
	ok = f && fclose(f) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		remove(tmp);
	free(tmp);
	return ok ? 0 : -1;
}
