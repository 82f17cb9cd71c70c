/* image.c: JPEG and PNG decoding, and the transforms of torchvision on PIL images that
 * image folders use (maec_rt.h, "image.c").
 *
 * Decoding is libjpeg-turbo's and libpng's, as PIL's is, so the pixels are PIL's: JPEG with
 * libjpeg's defaults (islow DCT, fancy upsampling), PNG as below. libjpeg's warnings are
 * ignored, as PIL ignores them (extraneous bytes before a marker, an unknown JFIF revision),
 * except a premature end of the file, which libjpeg would paper over with grey and PIL
 * refuses. An image of more than 2^28 pixels is refused from its header, before any
 * memory is taken for it.
 *
 * Resampling is PIL's Image.resize with BICUBIC (a = -0.5) step for step: per output
 * pixel, a filter whose support widens by the downscale factor (antialiasing), weights
 * normalised then rounded to 22-bit fixed point, a horizontal pass rounded to bytes, then a
 * vertical one. So the results are PIL's to the byte, which is within the 1/255 that
 * matching torchvision needs. torchvision crops before it resizes (resized_crop), so the
 * filter sees only the crop's pixels: the box here is a crop, not PIL's resize box.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "maec_rt.h"

enum { MAX_PIXELS = 1 << 28 };

/* An image of w x h pixels is too big: true, with *err naming `what`. */
static bool too_many(const char *what, uint32_t w, uint32_t h, char **err)
{
	if ((uint64_t)w * h <= MAX_PIXELS)
		return false;
	*err = rt_format("%s: %ux%u pixels; the most an image may have is 2^28", what, w, h);
	return true;
}

/* ---------- JPEG ---------- */

typedef struct JpegErr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	bool truncated; /* libjpeg met the end of the data: its message is in msg */
} JpegErr;

static void jpeg_fail(j_common_ptr c)
{
	JpegErr *e = (JpegErr *)c->err;
	c->err->format_message(c, e->msg);
	longjmp(e->jump, 1);
}

static void jpeg_note(j_common_ptr c, int level)
{
	JpegErr *e = (JpegErr *)c->err;
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF && !e->truncated) {
		c->err->format_message(c, e->msg);
		e->truncated = true;
	}
}

static int jpeg_channels(J_COLOR_SPACE cs, int components)
{
	return cs == JCS_GRAYSCALE ? 1 : cs == JCS_YCbCr || cs == JCS_RGB ? 3 : components;
}

static uint8_t *jpeg_decode(const uint8_t *bytes, size_t n, const char *what, int channels, bool header_only,
                            int *width, int *height, char **err)
{
	struct jpeg_decompress_struct cinfo;
	JpegErr je = {0};
	uint8_t *volatile px = NULL;
	cinfo.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = jpeg_fail;
	je.mgr.emit_message = jpeg_note;
	if (setjmp(je.jump)) {
		*err = rt_format("%s: not a readable JPEG file: %s", what, je.msg);
		jpeg_destroy_decompress(&cinfo);
		free(px);
		return NULL;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
	jpeg_read_header(&cinfo, TRUE);
	int have = jpeg_channels(cinfo.jpeg_color_space, cinfo.num_components);
	if (have != channels) {
		*err = rt_format("%s: a JPEG image of %d channel%s; the recipe takes %d (%s)", what, have, have == 1 ? "" : "s",
		                 channels, channels == 1 ? "grey" : "RGB");
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	if (too_many(what, cinfo.image_width, cinfo.image_height, err)) {
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	*width = (int)cinfo.image_width;
	*height = (int)cinfo.image_height;
	if (header_only) {
		jpeg_destroy_decompress(&cinfo);
		return (uint8_t *)bytes; /* any non-NULL: the header is good */
	}
	cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	size_t row = (size_t)cinfo.output_width * (size_t)channels;
	px = malloc(row * cinfo.output_height);
	if (!px) {
		*err = rt_format("%s: out of memory decoding %ux%u pixels", what, cinfo.output_width, cinfo.output_height);
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW r = px + row * cinfo.output_scanline;
		jpeg_read_scanlines(&cinfo, &r, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	if (je.truncated) {
		*err = rt_format("%s: a truncated JPEG file: %s", what, je.msg);
		free(px);
		return NULL;
	}
	return px;
}

/* ---------- PNG ---------- */

/* libpng's low-level API, so that the pixels are PIL's (its simplified API would convert
 * 16-bit samples as linear light and apply gAMA, sRGB and iCCP gamma; PIL does neither):
 * no gamma handling, 16-bit colour cut to its high byte (PIL's RGB;16B), 16-bit grey
 * clipped to 255 (PIL's mode I converted to L), 1, 2 and 4-bit grey scaled to 8 bits,
 * palettes looked up, and a tRNS chunk ignored, as PIL's convert to RGB or L ignores it. */
typedef struct PngSrc {
	const uint8_t *p;
	size_t n, at;
	char *msg; /* libpng's error, malloc'd */
} PngSrc;

static void png_fail(png_structp png, png_const_charp msg)
{
	PngSrc *s = png_get_error_ptr(png);
	free(s->msg);
	s->msg = rt_format("%s", msg);
	png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_take(png_structp png, png_bytep out, size_t k)
{
	PngSrc *s = png_get_io_ptr(png);
	if (k > s->n - s->at)
		png_error(png, "the file ends early");
	memcpy(out, s->p + s->at, k);
	s->at += k;
}

static uint8_t *png_decode(const uint8_t *bytes, size_t n, const char *what, int channels, bool header_only,
                           int *width, int *height, char **err)
{
	PngSrc src = {bytes, n, 0, NULL};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *volatile px = NULL;
	png_bytep *volatile rows = NULL;
	volatile bool header = false;
	if (!info) {
		png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
		*err = rt_format("%s: out of memory reading a PNG file", what);
		return NULL;
	}
	if (setjmp(png_jmpbuf(png))) {
		*err = rt_format("%s: %s PNG file: %s", what, header ? "a corrupt or truncated" : "not a readable",
		                 src.msg ? src.msg : "out of memory");
		png_destroy_read_struct(&png, &info, NULL);
		free(src.msg);
		free(rows);
		free(px);
		return NULL;
	}
	png_set_read_fn(png, &src, png_take);
	png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX); /* too_many is the limit */
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, (png_const_bytep) "tRNS", 1);
	png_read_info(png, info);
	header = true;
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
	int have = type == PNG_COLOR_TYPE_GRAY ? 1 : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : type == PNG_COLOR_TYPE_RGBA ? 4 : 3;
	if (have != channels) {
		*err = rt_format("%s: a PNG image of %d channel%s (%s%s); the recipe takes %d (%s)", what, have,
		                 have == 1 ? "" : "s", type & PNG_COLOR_MASK_COLOR ? "colour" : "grey",
		                 type & PNG_COLOR_MASK_ALPHA ? " and alpha" : "", channels, channels == 1 ? "grey" : "RGB");
		png_destroy_read_struct(&png, &info, NULL);
		return NULL;
	}
	if (too_many(what, w, h, err)) {
		png_destroy_read_struct(&png, &info, NULL);
		return NULL;
	}
	*width = (int)w;
	*height = (int)h;
	if (header_only) {
		png_destroy_read_struct(&png, &info, NULL);
		return (uint8_t *)bytes;
	}
	bool grey16 = type == PNG_COLOR_TYPE_GRAY && depth == 16;
	if (depth == 16 && !grey16)
		png_set_strip_16(png);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	size_t row = png_get_rowbytes(png, info);
	RT_CHECK(png_get_channels(png, info) == channels && row == (size_t)w * (size_t)channels * (grey16 ? 2 : 1));
	px = malloc(row * h);
	rows = malloc(sizeof(png_bytep) * h);
	if (!px || !rows)
		png_error(png, "out of memory");
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = px + row * y;
	png_read_image(png, rows);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	uint8_t *out = px;
	if (grey16) { /* big-endian samples, clipped in place */
		for (size_t i = 0; i < (size_t)w * h; i++) {
			unsigned v = (unsigned)out[2 * i] << 8 | out[2 * i + 1];
			out[i] = (uint8_t)(v > 255 ? 255 : v);
		}
		uint8_t *less = realloc(out, (size_t)w * h);
		out = less ? less : out;
	}
	return out;
}

static uint8_t *decode(const void *data, size_t n, const char *what, int channels, bool header_only, int *width,
                       int *height, char **err)
{
	const uint8_t *b = data;
	*err = NULL;
	if (n == 0) {
		*err = rt_format("%s: an empty file, not an image", what);
		return NULL;
	}
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return jpeg_decode(b, n, what, channels, header_only, width, height, err);
	if (n >= 8 && png_sig_cmp(b, 0, 8) == 0)
		return png_decode(b, n, what, channels, header_only, width, height, err);
	*err = rt_format("%s: not a JPEG or PNG file (it starts with bytes %02x %02x %02x %02x); image folders decode "
	                 "JPEG and PNG images only",
	                 what, b[0], n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
	return NULL;
}

uint8_t *rt_image_decode(const void *data, size_t n, const char *what, int channels, int *width, int *height,
                         char **err)
{
	return decode(data, n, what, channels, false, width, height, err);
}

int rt_image_probe(const void *data, size_t n, const char *what, int channels, int *width, int *height, char **err)
{
	return decode(data, n, what, channels, true, width, height, err) ? 0 : -1;
}

/* ---------- PIL's bicubic resampling ---------- */

enum { PRECISION_BITS = 32 - 8 - 2 }; /* PIL's fixed point for 8-bit images */

static double bicubic(double x)
{
	const double a = -0.5;
	x = fabs(x);
	if (x < 1)
		return ((a + 2) * x - (a + 3)) * x * x + 1;
	if (x < 2)
		return (((x - 5) * x + 8) * x - 4) * a;
	return 0;
}

/* PIL's precompute_coeffs and normalize_coeffs_8bpc for in_size input pixels onto out_size,
 * for the `count` outputs from `first` only (a crop's window of a long resize: an image of
 * extreme aspect can be resized to millions of pixels a row, of which the window takes a
 * few): bounds[2 j] is output first + j's first input pixel and bounds[2 j + 1] their count;
 * kk holds ksize fixed-point weights per output. Returns ksize, 0 when out of memory. */
static int coeffs(int in_size, int out_size, int first, int count, int **bounds, int32_t **kk)
{
	double scale = (double)in_size / out_size, filterscale = scale < 1 ? 1 : scale;
	double support = 2.0 * filterscale, ss = 1 / filterscale;
	int ksize = (int)ceil(support) * 2 + 1;
	double *k = malloc(sizeof(double) * (size_t)ksize);
	*bounds = malloc(sizeof(int) * 2 * (size_t)count);
	*kk = malloc(sizeof(int32_t) * (size_t)count * (size_t)ksize);
	if (!k || !*bounds || !*kk) {
		free(k);
		free(*bounds);
		free(*kk);
		return 0;
	}
	for (int j = 0; j < count; j++) {
		double center = (first + j + 0.5) * scale, ww = 0;
		int xmin = (int)(center - support + 0.5), xmax;
		if (xmin < 0)
			xmin = 0;
		xmax = (int)(center + support + 0.5);
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		for (int x = 0; x < xmax; x++) {
			k[x] = bicubic((x + xmin - center + 0.5) * ss);
			ww += k[x];
		}
		for (int x = 0; x < ksize; x++) {
			double w = x < xmax ? (ww != 0 ? k[x] / ww : k[x]) : 0;
			(*kk)[(size_t)j * (size_t)ksize + (size_t)x] =
			        (int32_t)(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
		}
		(*bounds)[2 * j] = xmin;
		(*bounds)[2 * j + 1] = xmax;
	}
	free(k);
	return ksize;
}

static uint8_t clip8(int32_t v)
{
	v >>= PRECISION_BITS;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int rt_image_resize(const uint8_t *src, int width, int channels, const int crop[4], int out_w, int out_h,
                    const int window[4], uint8_t *dst)
{
	int x0 = crop[0], y0 = crop[1], cw = crop[2], ch = crop[3];
	int wx = window[0], wy = window[1], ww = window[2], wh = window[3], c = channels;
	int *bx = NULL, *by = NULL;
	int32_t *kx = NULL, *ky = NULL;
	int ksx = coeffs(cw, out_w, wx, ww, &bx, &kx), ksy = ksx ? coeffs(ch, out_h, wy, wh, &by, &ky) : 0;
	/* the rows of the crop the window's output rows read */
	int r0 = ksy ? by[0] : 0, r1 = ksy ? by[2 * (wh - 1)] + by[2 * (wh - 1) + 1] : 0;
	uint8_t *tmp = ksy ? malloc((size_t)(r1 - r0) * (size_t)ww * (size_t)c) : NULL;
	if (!tmp) {
		free(bx);
		free(by);
		free(kx);
		free(ky);
		return -1;
	}
	for (int y = r0; y < r1; y++) { /* horizontal: crop rows r0..r1 to the window's columns */
		const uint8_t *row = src + ((size_t)(y0 + y) * (size_t)width + (size_t)x0) * (size_t)c;
		uint8_t *out = tmp + (size_t)(y - r0) * (size_t)ww * (size_t)c;
		for (int o = 0; o < ww; o++) {
			int xmin = bx[2 * o], xn = bx[2 * o + 1];
			const int32_t *k = kx + (size_t)o * (size_t)ksx;
			for (int ci = 0; ci < c; ci++) {
				int32_t ss = 1 << (PRECISION_BITS - 1);
				for (int x = 0; x < xn; x++)
					ss += row[(xmin + x) * c + ci] * k[x];
				out[o * c + ci] = clip8(ss);
			}
		}
	}
	for (int o = 0; o < wh; o++) { /* vertical */
		int ymin = by[2 * o] - r0, yn = by[2 * o + 1];
		const int32_t *k = ky + (size_t)o * (size_t)ksy;
		uint8_t *out = dst + (size_t)o * (size_t)ww * (size_t)c;
		for (int i = 0; i < ww * c; i++) {
			int32_t ss = 1 << (PRECISION_BITS - 1);
			for (int y = 0; y < yn; y++)
				ss += tmp[(size_t)(ymin + y) * (size_t)ww * (size_t)c + (size_t)i] * k[y];
			out[i] = clip8(ss);
		}
	}
	free(tmp);
	free(bx);
	free(by);
	free(kx);
	free(ky);
	return 0;
}

/* ---------- torchvision's crop boxes ---------- */

/* Python's round(): half to even, which rint does in the default rounding mode. */
static int pyround(double x)
{
	return (int)rint(x);
}

void rt_random_resized_crop(int width, int height, const double scale[2], const double ratio[2], uint64_t seed,
                            uint32_t step, uint64_t index, int box[4])
{
	double area = (double)width * height, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
	for (int t = 0; t < 10; t++) {
		uint32_t x[4];
		rt_philox_draw(seed, RT_STREAM_AUGMENT, step, index * RT_AUGMENT_DRAWS + (uint64_t)t, x);
		double target = area * (scale[0] + (scale[1] - scale[0]) * rt_u01_double(x[0], 0));
		double aspect = exp(lr0 + (lr1 - lr0) * rt_u01_double(x[1], 0));
		int w = pyround(sqrt(target * aspect)), h = pyround(sqrt(target / aspect));
		if (w > 0 && w <= width && h > 0 && h <= height) {
			box[1] = (int)((uint64_t)x[2] * (uint64_t)(height - h + 1) >> 32);
			box[0] = (int)((uint64_t)x[3] * (uint64_t)(width - w + 1) >> 32);
			box[2] = w;
			box[3] = h;
			return;
		}
	}
	/* torchvision's fallback: the centre, clamped to the ratio range */
	double in_ratio = (double)width / height, rmin = fmin(ratio[0], ratio[1]), rmax = fmax(ratio[0], ratio[1]);
	int w = width, h = height;
	if (in_ratio < rmin)
		h = pyround(w / rmin);
	else if (in_ratio > rmax)
		w = pyround(h * rmax);
	box[0] = (width - w) / 2;
	box[1] = (height - h) / 2;
	box[2] = w;
	box[3] = h;
}

bool rt_random_flip(double p, uint64_t seed, uint32_t step, uint64_t index)
{
	uint32_t x[4];
	rt_philox_draw(seed, RT_STREAM_AUGMENT, step, index * RT_AUGMENT_DRAWS + 10, x);
	return rt_u01_double(x[0], x[1]) < p;
}

int rt_resize_shorter(int width, int height, int size, int *out_w, int *out_h)
{
	bool wide = width > height;
	int s = wide ? height : width, l = wide ? width : height;
	double nl = floor((double)size * l / s); /* int(size * long / short), in double as Python */
	if (nl > INT_MAX)
		return -1;
	*out_w = wide ? (int)nl : size;
	*out_h = wide ? size : (int)nl;
	return 0;
}

void rt_center_crop(int width, int height, int crop_w, int crop_h, int *x, int *y)
{
	*x = pyround((width - crop_w) / 2.0);
	*y = pyround((height - crop_h) / 2.0);
}
