/* idx.c: Fashion-MNIST from its IDX files, plain or gzipped, loaded whole into memory
 * (47 MB for the training set, kept as bytes in an RtDataset as cifar.c's).
 *
 * Every file goes through zlib's gzread, which reads a plain file as it is and inflates a
 * gzipped one, so NAME and NAME.gz take the same path. The headers of both files of a split
 * are read and checked before any data: a wrong file or a count mismatch is reported at
 * once. Nothing is trusted that the header says until the data is there: the buffers grow
 * with what is actually read, so a header that claims four billion images costs no more
 * memory than the file holds. The data must end where the header says (a file cut short
 * or with bytes left over is an error), and every label must be 0..9.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/dataset.h"
#include "maec_rt.h"

#define IDX_IMAGES_MAGIC 0x00000803u /* unsigned bytes, 3 dimensions */
#define IDX_LABELS_MAGIC 0x00000801u /* unsigned bytes, 1 dimension */
#define FASHION_SIDE 28
#define FASHION_CLASSES 10
#define READ_CHUNK (1u << 24)     /* bytes per gzread: well under its INT_MAX limit */
#define FIRST_CAPACITY (1u << 26) /* the most allocated before the data is seen */

static const char *const train_files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
static const char *const test_files[] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* One open IDX file. path is the name actually opened (NAME or NAME.gz). */
typedef struct IdxFile {
	char *path;
	gzFile gz;
} IdxFile;

static void idx_close(IdxFile *f)
{
	if (f->gz)
		gzclose(f->gz);
	free(f->path);
	f->path = NULL;
	f->gz = NULL;
}

/* The helpers below return 0, or -1 with a message in *msg (NULL: out of memory). */

/* Opens dir/name, or dir/name.gz when dir/name does not exist. */
static int idx_open(IdxFile *f, const char *dir, const char *name, char **msg)
{
	size_t len = strlen(dir);
	const char *sep = len && dir[len - 1] == '/' ? "" : "/";
	f->gz = NULL;
	f->path = rt_format("%s%s%s", dir, sep, name);
	if (!f->path)
		return -1;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	bool neither = false;
	if (fd < 0 && errno == ENOENT) {
		char *gz_path = rt_format("%s.gz", f->path);
		if (!gz_path)
			return -1;
		fd = open(gz_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) { /* name.gz is there: report on it from now on */
			free(f->path);
			f->path = gz_path;
		} else {
			free(gz_path);
			neither = true;
		}
	}
	if (neither) {
		*msg = rt_format("%s: cannot open: %s (nor %s.gz); Fashion-MNIST's IDX files are needed: "
		                 RT_FASHION_DATA_HINT,
		                 f->path, strerror(ENOENT), name);
		return -1;
	}
	if (fd < 0) {
		*msg = rt_format("%s: cannot open: %s", f->path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		*msg = rt_format("%s: cannot stat: %s", f->path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		*msg = rt_format("%s: not a regular file", f->path);
	else if ((f->gz = gzdopen(fd, "rb"))) { /* owns fd from here on */
		gzbuffer(f->gz, 1u << 17);
		return 0;
	}
	close(fd);
	return -1;
}

/* zlib's message for the last error, less the "<fd:N>: " it puts before it (gz_error names
 * the file as gzdopen got it). */
static const char *zlib_reason(const char *what)
{
	const char *colon = strncmp(what, "<fd:", 4) == 0 ? strstr(what, ">: ") : NULL;
	return colon ? colon + 3 : what;
}

/* Reads up to n bytes into buf, the count read into *got: short only where the data ends. */
static int idx_read(IdxFile *f, uint8_t *buf, int64_t n, int64_t *got, char **msg)
{
	*got = 0;
	while (*got < n) {
		unsigned want = n - *got < READ_CHUNK ? (unsigned)(n - *got) : READ_CHUNK;
		int k = gzread(f->gz, buf + *got, want);
		if (k > 0)
			*got += k;
		if (k == (int)want)
			continue;
		/* Short: the end of the data, or an error (zlib keeps what it had read before). */
		int code;
		const char *what = zlib_reason(gzerror(f->gz, &code));
		if (code == Z_OK && k >= 0)
			return 0;
		if (code == Z_MEM_ERROR)
			return -1;
		if (code == Z_BUF_ERROR) /* zlib's word for a gzip stream that stops in the middle */
			*msg = rt_format("%s: corrupt gzip stream: %s (the file is truncated); " RT_FASHION_DATA_HINT,
			                 f->path, what);
		else if (code == Z_DATA_ERROR)
			*msg = rt_format("%s: corrupt gzip stream: %s; " RT_FASHION_DATA_HINT, f->path, what);
		else
			*msg = rt_format("%s: cannot read: %s", f->path, what);
		return -1;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads an IDX header of the given magic: the count (the first dimension) into *n; for
 * images the other two dimensions must be FASHION_SIDE. */
static int idx_header(IdxFile *f, uint32_t magic, uint32_t *n, char **msg)
{
	int rank = (int)(magic & 0xff);
	const char *what = rank == 3 ? "images" : "labels";
	uint8_t h[16];
	int64_t size = 4 + 4 * (int64_t)rank, got;
	if (idx_read(f, h, size, &got, msg) != 0)
		return -1;
	if (got >= 4 && be32(h) != magic) {
		uint32_t found = be32(h);
		const char *guess = found == IDX_IMAGES_MAGIC   ? " (a file of images: are the names swapped?)"
		                    : found == IDX_LABELS_MAGIC ? " (a file of labels: are the names swapped?)"
		                                                : " (not an IDX file of unsigned bytes)";
		*msg = rt_format("%s: expected magic 0x%08x (IDX %s: unsigned bytes, %d dimension%s), found 0x%08x%s; "
		                 RT_FASHION_DATA_HINT,
		                 f->path, (unsigned)magic, what, rank, rank == 1 ? "" : "s", (unsigned)found, guess);
		return -1;
	}
	if (got < size) {
		*msg = rt_format("%s: expected an IDX header of %jd bytes, found %jd: the file is truncated; "
		                 RT_FASHION_DATA_HINT,
		                 f->path, (intmax_t)size, (intmax_t)got);
		return -1;
	}
	*n = be32(h + 4);
	if (rank == 3 && (be32(h + 8) != FASHION_SIDE || be32(h + 12) != FASHION_SIDE)) {
		*msg = rt_format("%s: expected %dx%d images, found %ux%u (is this Fashion-MNIST?); " RT_FASHION_DATA_HINT,
		                 f->path, FASHION_SIDE, FASHION_SIDE, (unsigned)be32(h + 8), (unsigned)be32(h + 12));
		return -1;
	}
	if (*n == 0) {
		*msg = rt_format("%s: the header says 0 %s; " RT_FASHION_DATA_HINT, f->path, what);
		return -1;
	}
	return 0;
}

/* Reads the n bytes of data that follow the header into *out (malloc'd), growing the buffer
 * as the data comes, and checks that nothing follows them: reading on to the end also makes
 * zlib check a gzip stream's CRC and length. */
static int idx_data(IdxFile *f, const char *what, int64_t n, uint8_t **out, char **msg)
{
	int64_t cap = n < FIRST_CAPACITY ? n : FIRST_CAPACITY, have = 0;
	uint8_t *buf = malloc((size_t)cap);
	*out = NULL;
	for (;;) {
		int64_t got;
		if (!buf || idx_read(f, buf + have, cap - have, &got, msg) != 0)
			break;
		have += got;
		if (have < cap) {
			*msg = rt_format("%s: expected %jd bytes of %s, found %jd: the file is truncated; " RT_FASHION_DATA_HINT,
			                 f->path, (intmax_t)n, what, (intmax_t)have);
			break;
		}
		if (have == n) {
			uint8_t extra;
			if (idx_read(f, &extra, 1, &got, msg) != 0)
				break;
			if (got == 0) {
				*out = buf;
				return 0;
			}
			*msg = rt_format("%s: expected %jd bytes of %s, found more: the file is too long; " RT_FASHION_DATA_HINT,
			                 f->path, (intmax_t)n, what);
			break;
		}
		cap = n - cap < cap ? n : 2 * cap;
		uint8_t *grown = realloc(buf, (size_t)cap);
		if (!grown)
			free(buf);
		buf = grown;
	}
	free(buf);
	return -1;
}

RtDataset *rt_fashion_mnist_load(const char *dir, int split, char **err)
{
	*err = NULL;
	if (split != 0 && split != 1) {
		*err = rt_format("Fashion-MNIST: unknown split %d (0 is the training set, 1 the test set)", split);
		return NULL;
	}
	const char *const *names = split == 0 ? train_files : test_files;
	IdxFile images = {0}, labels = {0};
	uint32_t n_images = 0, n_labels = 0;
	RtDataset *d = calloc(1, sizeof *d);
	if (!d) {
		*err = rt_format("Fashion-MNIST: out of memory loading %s", dir);
		return NULL;
	}
	if (idx_open(&images, dir, names[0], err) != 0 || idx_header(&images, IDX_IMAGES_MAGIC, &n_images, err) != 0 ||
	    idx_open(&labels, dir, names[1], err) != 0 || idx_header(&labels, IDX_LABELS_MAGIC, &n_labels, err) != 0)
		goto fail;
	if (n_images != n_labels) {
		*err = rt_format("%s holds %u images but %s holds %u labels: the files do not belong together; "
		                 RT_FASHION_DATA_HINT,
		                 images.path, (unsigned)n_images, labels.path, (unsigned)n_labels);
		goto fail;
	}
	d->n = n_images;
	d->channels = 1;
	d->height = d->width = FASHION_SIDE;
	d->classes = FASHION_CLASSES;
	if (idx_data(&images, "images", d->n * rt_dataset_image_bytes(d), &d->pixels, err) != 0 ||
	    idx_data(&labels, "labels", d->n, &d->labels, err) != 0)
		goto fail;
	for (int64_t i = 0; i < d->n; i++)
		if (d->labels[i] >= FASHION_CLASSES) {
			*err = rt_format("%s: label %jd (byte %jd) is %u; Fashion-MNIST labels are 0..9 (is this another "
			                 "IDX file?); " RT_FASHION_DATA_HINT,
			                 labels.path, (intmax_t)i, (intmax_t)(8 + i), (unsigned)d->labels[i]);
			goto fail;
		}
	idx_close(&images);
	idx_close(&labels);
	return d;
fail:
	if (!*err) /* the helpers leave it NULL when out of memory: try to say so */
		*err = rt_format("Fashion-MNIST: out of memory loading %s", dir);
	idx_close(&images);
	idx_close(&labels);
	rt_dataset_free(d);
	return NULL;
}
