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

#include "dataset.h"
#include "maec_rt.h"

#define CIFAR_PIXELS 3072                  /* 3 planes of 32 x 32 */
#define CIFAR_RECORD (1 + CIFAR_PIXELS)    /* label byte, then the pixels */
#define CIFAR_PER_FILE 10000
#define CIFAR_FILE_BYTES ((int64_t)CIFAR_PER_FILE * CIFAR_RECORD)
#define CIFAR_CLASSES 10

static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin"};
static const char *const test_files[] = {"test_batch.bin"};

/* Reads one file of CIFAR_PER_FILE records into images first.. of d; NULL or a message. */
static char *read_batch_file(RtDataset *d, const char *path, int64_t first, uint8_t *buf)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return rt_format("%s: cannot open: %s; the CIFAR-10 binary version is needed: " RT_CIFAR_DATA_HINT
		                 " (the folder holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin, "
		                 "cifar-10-batches-bin in the archive)",
		                 path, strerror(errno));
	char *msg = NULL;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		msg = rt_format("%s: cannot stat: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		msg = rt_format("%s: not a regular file", path);
		goto done;
	}
	if ((int64_t)sb.st_size != CIFAR_FILE_BYTES) {
		msg = rt_format("%s: expected %jd bytes (%d records of %d), found %jd: %s; " RT_CIFAR_DATA_HINT, path,
		                (intmax_t)CIFAR_FILE_BYTES, CIFAR_PER_FILE, CIFAR_RECORD, (intmax_t)sb.st_size,
		                sb.st_size < CIFAR_FILE_BYTES ? "the file is truncated" : "the file is too long");
		goto done;
	}
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
	for (int r = 0; r < CIFAR_PER_FILE; r++) {
		const uint8_t *rec = buf + (size_t)r * CIFAR_RECORD;
		if (rec[0] >= CIFAR_CLASSES) {
			msg = rt_format("%s: record %d (byte %zu) has label %u; CIFAR-10 labels are 0..9 (is this "
			                "CIFAR-100, or another file?)",
			                path, r, (size_t)r * CIFAR_RECORD, rec[0]);
			goto done;
		}
		d->labels[first + r] = rec[0];
		memcpy(d->pixels + (size_t)(first + r) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
	}
done:
	close(fd);
	return msg;
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
	RtDataset *d = calloc(1, sizeof *d);
	uint8_t *buf = malloc((size_t)CIFAR_FILE_BYTES);
	if (d) {
		d->n = (int64_t)nfiles * CIFAR_PER_FILE;
		d->channels = 3;
		d->height = d->width = 32;
		d->classes = CIFAR_CLASSES;
		d->pixels = malloc((size_t)d->n * CIFAR_PIXELS);
		d->labels = malloc((size_t)d->n);
	}
	if (!d || !buf || !d->pixels || !d->labels) {
		*err = rt_format("CIFAR-10: out of memory loading %s", dir);
		goto fail;
	}
	for (int f = 0; f < nfiles; f++) {
		char *path = rt_format("%s%s%s", dir, sep, files[f]);
		*err = path ? read_batch_file(d, path, (int64_t)f * CIFAR_PER_FILE, buf)
		            : rt_format("CIFAR-10: out of memory");
		free(path);
		if (*err)
			goto fail;
	}
	free(buf);
	return d;
fail:
	free(buf);
	rt_dataset_free(d);
	return NULL;
}

/* The functions on a dataset serve every loader's (dataset.h): CIFAR-10's and idx.c's. */

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
	return d->labels[i];
}

/* In float, as ToTensor (u8 / 255) then Normalize(0.5, 0.5) ((x - 0.5) / 0.5), so the
 * values are the same bits as torchvision's. */
void rt_dataset_batch(const RtDataset *d, const int64_t *indices, int64_t b, float *images, int32_t *labels)
{
	int64_t pixels = rt_dataset_image_bytes(d);
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

void rt_dataset_free(RtDataset *d)
{
	if (!d)
		return;
	free(d->pixels);
	free(d->labels);
	free(d);
}
