/* png.c: PNG files through libpng's simplified API (png_image), which handles every PNG
 * colour type and bit depth on reading and writes 8-bit grey or RGB. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maec_rt.h"

static png_uint_32 format_of(int channels)
{
	return channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
}

int rt_png_encode(const uint8_t *pixels, int width, int height, int channels, void **png, size_t *n, char **err)
{
	*png = NULL;
	*n = 0;
	if ((channels != 1 && channels != 3) || width <= 0 || height <= 0) {
		*err = rt_format("PNG: cannot encode %dx%d pixels of %d channels", width, height, channels);
		return -1;
	}
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	im.width = (png_uint_32)width;
	im.height = (png_uint_32)height;
	im.format = format_of(channels);
	png_alloc_size_t size = 0;
	/* The first call measures, the second writes. */
	if (!png_image_write_to_memory(&im, NULL, &size, 0, pixels, 0, NULL) || !(*png = malloc(size)) ||
	    !png_image_write_to_memory(&im, *png, &size, 0, pixels, 0, NULL)) {
		*err = rt_format("PNG: cannot encode %dx%d pixels: %s", width, height,
		                 im.warning_or_error ? im.message : "out of memory");
		png_image_free(&im);
		free(*png);
		*png = NULL;
		return -1;
	}
	*n = size;
	return 0;
}

int rt_file_write(const char *path, const void *data, size_t n, char **err)
{
	*err = NULL;
	char *tmp = rt_format("%s.tmp.%ld", path, (long)getpid());
	FILE *f = tmp ? fopen(tmp, "wb") : NULL;
	int rc = 0;
	if (!f) {
		*err = rt_format("%s: cannot write: %s", tmp ? tmp : path, tmp ? strerror(errno) : "out of memory");
		rc = -1;
	} else {
		bool ok = fwrite(data, 1, n, f) == n;
		ok = (fclose(f) == 0) && ok;
		if (!ok || rename(tmp, path) != 0) {
			*err = rt_format("%s: cannot write: %s", path, strerror(errno));
			unlink(tmp);
			rc = -1;
		}
	}
	free(tmp);
	return rc;
}

int rt_png_write(const char *path, const uint8_t *pixels, int width, int height, int channels, char **err)
{
	void *png;
	size_t n;
	*err = NULL;
	if (rt_png_encode(pixels, width, height, channels, &png, &n, err))
		return -1;
	int rc = rt_file_write(path, png, n, err);
	free(png);
	return rc;
}

uint8_t *rt_png_read(const char *path, int channels, int *width, int *height, char **err)
{
	*err = NULL;
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&im, path)) {
		*err = rt_format("%s: cannot read as PNG: %s", path, im.message);
		return NULL;
	}
	im.format = format_of(channels);
	size_t size = PNG_IMAGE_SIZE(im);
	uint8_t *px = malloc(size ? size : 1);
	if (!px || !png_image_finish_read(&im, NULL, px, 0, NULL)) {
		*err = rt_format("%s: cannot read as PNG: %s", path, px ? im.message : "out of memory");
		png_image_free(&im);
		free(px);
		return NULL;
	}
	*width = (int)im.width;
	*height = (int)im.height;
	return px;
}
