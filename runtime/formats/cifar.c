/* cifar.c: the CIFAR-10 binary version, loaded whole into memory (150 MB for the training
 * set, kept as bytes; batches are converted to float on the way out).
 *
 * Every file must be exactly 10000 records of 3073 bytes: a download cut short at a record
 * boundary would otherwise pass unnoticed. Every label must be 0..9.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/dataset.h"
#include "maec_rt.h"

#define CIFAR_PIXELS 3072                  /* 3 planes of 32 x 32 */
#define CIFAR_RECORD (1 + CIFAR_PIXELS)    /* label byte, then the pixels */
#define CIFAR_PER_FILE 10000
#define CIFAR_FILE_BYTES ((int64_t)CIFAR_PER_FILE * CIFAR_RECORD)
#define CIFAR_CLASSES 10

static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin"};
static const char *const test_files[] = {"test_batch.bin"};

/* The message for a file (or bytes) of size bytes that should hold records records. */
static char *size_message(const char *path, int64_t size, int64_t records)
{
	int64_t want = records * CIFAR_RECORD;
	return rt_format("%s: expected %jd bytes (%jd records of %d), found %jd: %s; " RT_CIFAR_DATA_HINT, path,
	                 (intmax_t)want, (intmax_t)records, CIFAR_RECORD, (intmax_t)size,
	                 size < want ? "the file is truncated" : "the file is too long");
}

/* Checks the size and the labels of one file's bytes (records records) and copies them
 * into images first.. of d; NULL or a message naming path. */
static char *take_records(RtDataset *d, const char *path, int64_t first, const uint8_t *bytes, int64_t size,
                          int64_t records)
{
	if (size != records * CIFAR_RECORD)
		return size_message(path, size, records);
	for (int64_t r = 0; r < records; r++) {
		const uint8_t *rec = bytes + r * CIFAR_RECORD;
		if (rec[0] >= CIFAR_CLASSES)
			return rt_format("%s: record %jd (byte %jd) has label %u; CIFAR-10 labels are 0..9 (is this "
			                 "CIFAR-100, or another file?)",
			                 path, (intmax_t)r, (intmax_t)(r * CIFAR_RECORD), rec[0]);
		d->labels[first + r] = rec[0];
		memcpy(d->pixels + (first + r) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
	}
	return NULL;
}

/* Opens one file of CIFAR_PER_FILE records into *fd after checking that it is a regular
 * file of the right size; NULL or a message (and no file left open). */
static char *open_batch_file(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return rt_format("%s: cannot open: %s; the CIFAR-10 binary version is needed: " RT_CIFAR_DATA_HINT
		                 " (the folder holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin, "
		                 "cifar-10-batches-bin in the archive)",
		                 path, strerror(errno));
	char *msg = NULL;
	struct stat sb;
	if (fstat(*fd, &sb) != 0)
		msg = rt_format("%s: cannot stat: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		msg = rt_format("%s: not a regular file", path);
	else if ((int64_t)sb.st_size != CIFAR_FILE_BYTES)
		msg = size_message(path, (int64_t)sb.st_size, CIFAR_PER_FILE);
	if (msg) {
		close(*fd);
		*fd = -1;
	}
	return msg;
}

/* Reads one file of CIFAR_PER_FILE records into images first.. of d; NULL or a message. */
static char *read_batch_file(RtDataset *d, const char *path, int64_t first, uint8_t *buf)
{
	int fd;
	char *msg = open_batch_file(path, &fd);
	if (msg)
		return msg;
	size_t got = 0;
	while (got < (size_t)CIFAR_FILE_BYTES) {
		ssize_t k = read(fd, buf + got, (size_t)CIFAR_FILE_BYTES - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			msg = k < 0 ? rt_format("%s: cannot read: %s", path, strerror(errno))
			            : rt_format("%s: the file shrank while being read (%zu bytes)", path, got);
			goto done;
		}
		got += (size_t)k;
	}
	msg = take_records(d, path, first, buf, CIFAR_FILE_BYTES, CIFAR_PER_FILE);
done:
	close(fd);
	return msg;
}

/* An empty dataset of n CIFAR-10 images, or NULL when out of memory. */
static RtDataset *cifar_new(int64_t n)
{
	RtDataset *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->n = n;
	d->channels = 3;
	d->height = d->width = 32;
	d->classes = CIFAR_CLASSES;
	d->pixels = malloc(n > 0 ? (size_t)n * CIFAR_PIXELS : 1);
	d->labels = malloc(n > 0 ? (size_t)n : 1);
	if (!d->pixels || !d->labels) {
		rt_dataset_free(d);
		return NULL;
	}
	return d;
}

RtDataset *rt_cifar10_parse(const void *bytes, size_t n, int64_t records, const char *what, char **err)
{
	*err = NULL;
	if (records < 1 || records > CIFAR_PER_FILE) {
		*err = rt_format("%s: %jd records asked; a CIFAR-10 file holds 1 to %d", what, (intmax_t)records,
		                 CIFAR_PER_FILE);
		return NULL;
	}
	RtDataset *d = cifar_new(records);
	if (!d) {
		*err = rt_format("%s: out of memory", what);
		return NULL;
	}
	if ((*err = take_records(d, what, 0, bytes, (int64_t)n, records))) {
		rt_dataset_free(d);
		return NULL;
	}
	return d;
}

RtDataset *rt_cifar10_load(const char *dir, int split, char **err)
{
	*err = NULL;
	if (split != 0 && split != 1) {
		*err = rt_format("CIFAR-10: unknown split %d (0 is the training set, 1 the test set)", split);
		return NULL;
	}
	const char *const *files = split == 0 ? train_files : test_files;
	int nfiles = split == 0 ? 5 : 1;
	size_t len = strlen(dir);
	const char *sep = len && dir[len - 1] == '/' ? "" : "/";
	char *path[5] = {NULL};
	RtDataset *d = NULL;
	uint8_t *buf = NULL;
	/* Every file is there and of the right size before 150 MB are allocated. */
	for (int f = 0; f < nfiles; f++) {
		int fd;
		if (!(path[f] = rt_format("%s%s%s", dir, sep, files[f]))) {
			*err = rt_format("CIFAR-10: out of memory");
			goto fail;
		}
		if ((*err = open_batch_file(path[f], &fd)))
			goto fail;
		close(fd);
	}
	d = cifar_new((int64_t)nfiles * CIFAR_PER_FILE);
	buf = malloc((size_t)CIFAR_FILE_BYTES);
	if (!d || !buf) {
		*err = rt_format("CIFAR-10: out of memory loading %s", dir);
		goto fail;
	}
	for (int f = 0; f < nfiles; f++)
		if ((*err = read_batch_file(d, path[f], (int64_t)f * CIFAR_PER_FILE, buf)))
			goto fail;
	free(buf);
	for (int f = 0; f < nfiles; f++)
		free(path[f]);
	return d;
fail:
	free(buf);
	for (int f = 0; f < nfiles; f++)
		free(path[f]);
	rt_dataset_free(d);
	return NULL;
}

/* The functions on a dataset serve every loader's (dataset.h): CIFAR-10's, idx.c's and folder.c's. */

int64_t rt_dataset_size(const RtDataset *d)
{
	return d->n;
}

void rt_dataset_shape(const RtDataset *d, int64_t shape[3])
{
	shape[0] = d->channels;
	shape[1] = d->height;
	shape[2] = d->width;
}

int rt_dataset_classes(const RtDataset *d)
{
	return d->classes;
}

int32_t rt_dataset_label(const RtDataset *d, int64_t i)
{
	RT_CHECK(i >= 0 && i < d->n);
	return d->folder ? rt_folder_label(d, i) : d->labels[i];
}

/* In float, as ToTensor (u8 / 255) then Normalize(0.5, 0.5) ((x - 0.5) / 0.5), so the
 * values are the same bits as torchvision's. */
void rt_dataset_batch(const RtDataset *d, const int64_t *indices, int64_t b, float *images, int32_t *labels)
{
	int64_t pixels = rt_dataset_image_bytes(d);
	RT_CHECK(!d->folder); /* an image folder's reads can fail: rt_dataset_read */
	for (int64_t k = 0; k < b; k++) {
		int64_t i = indices[k];
		RT_CHECK(i >= 0 && i < d->n);
		const uint8_t *src = d->pixels + i * pixels;
		float *dst = images + k * pixels;
		for (int64_t j = 0; j < pixels; j++)
			dst[j] = ((float)src[j] / 255.0f - 0.5f) / 0.5f;
		if (labels)
			labels[k] = d->labels[i];
	}
}

int rt_dataset_read(const RtDataset *d, const int64_t *indices, int64_t b, const RtDraw *draw, float *images,
                    int32_t *labels, char **err)
{
	*err = NULL;
	if (d->folder)
		return rt_folder_read(d, indices, b, draw, images, labels, err);
	rt_dataset_batch(d, indices, b, images, labels);
	return 0;
}

void rt_dataset_free(RtDataset *d)
{
	if (!d)
		return;
	rt_folder_free(d->folder);
	free(d->pixels);
	free(d->labels);
	free(d);
}

/* Every data set a recipe can read (datasets.def); here, with CIFAR-10's loader. */
const RtDataInfo rt_data_info[RT_DATA__N] = {
#define RT_DATASET(id, name, channels, height, width, loader) [RT_DATA_##id] = {#name, {channels, height, width}, loader},
#include "formats/datasets.def"
#undef RT_DATASET
};
