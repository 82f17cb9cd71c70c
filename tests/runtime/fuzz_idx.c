/* fuzz_idx: libFuzzer harness for the IDX reader of Fashion-MNIST (runtime/formats/idx.c).
 *
 * The input holds the two files of a split: a flags byte, the length of the images file
 * (two bytes, little-endian, cut to what is left), the images file, then the labels file.
 * They are written into a scratch folder (under $TMPDIR, /tmp by default, removed at
 * exit) and loaded with rt_fashion_mnist_load. Flags: bit 0 gzips the images file and
 * bit 1 the labels file as they are written (gzip streams that end well, so the data
 * behind them is reached), bit 2 names the gzipped files NAME.gz rather than NAME (the
 * reader takes both), bit 3 picks the training split's names rather than the test
 * split's. A gzip stream that is broken comes from the input itself: the seeds hold
 * gzipped files written as they are.
 *
 * Every input must give either a dataset or a message; never a crash, a leak or a silent
 * failure. A dataset must hold what the files say: as many images as the headers (which
 * must agree), labels 0..9, and, where the files were written as plain bytes, exactly
 * their labels and pixels.
 *   fuzz_idx -max_len=16384 CORPUS_DIR      (tests/fuzz/README.md)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "maec_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[2][2] = {{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
                                        {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}};
static char scratch[4096];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_idx: %s\n", what);
	abort();
}

static void path_of(char *out, size_t cap, int split, int which, bool gz)
{
	snprintf(out, cap, "%s/%s%s", scratch, names[split][which], gz ? ".gz" : "");
}

static void remove_scratch(void)
{
	char path[4200];
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++)
			for (int gz = 0; gz < 2; gz++) {
				path_of(path, sizeof path, s, w, gz);
				unlink(path);
			}
	rmdir(scratch);
}

static void make_scratch(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof scratch, "%s/maec-fuzz-idx.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		fail("cannot make a scratch folder");
	atexit(remove_scratch);
}

static void write_file(const char *path, const uint8_t *bytes, size_t n, bool gzip)
{
	if (gzip) {
		gzFile g = gzopen(path, "wb");
		if (!g || (n > 0 && gzwrite(g, bytes, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
			fail("cannot write a gzipped scratch file");
		return;
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
		fail("cannot write a scratch file");
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	if (!scratch[0])
		make_scratch();
	remove_scratch(); /* the files of the last input */
	if (mkdir(scratch, 0700) != 0)
		fail("cannot remake the scratch folder");
	unsigned flags = data[0];
	size_t n_images = (size_t)data[1] | (size_t)data[2] << 8;
	if (n_images > size - 3)
		n_images = size - 3;
	const uint8_t *images = data + 3, *labels = images + n_images;
	size_t n_labels = size - 3 - n_images;
	int split = flags >> 3 & 1;
	char path[4200];
	path_of(path, sizeof path, split, 0, (flags & 1) && (flags & 4));
	write_file(path, images, n_images, flags & 1);
	path_of(path, sizeof path, split, 1, (flags & 2) && (flags & 4));
	write_file(path, labels, n_labels, flags & 2);

	char *err = NULL;
	RtDataset *d = rt_fashion_mnist_load(scratch, split == 0 ? 1 : 0, &err);
	if (!d && !err)
		fail("the loader failed without a message");
	if (d) {
		int64_t n = rt_dataset_size(d), shape[3];
		rt_dataset_shape(d, shape);
		if (n < 1 || shape[0] != 1 || shape[1] != 28 || shape[2] != 28 || rt_dataset_classes(d) != 10)
			fail("a dataset of the wrong shape");
		for (int64_t i = 0; i < n; i++)
			if (rt_dataset_label(d, i) < 0 || rt_dataset_label(d, i) > 9)
				fail("a label outside 0..9");
		/* The input's bytes are what the reader saw unless a file was written as it is and
		 * starts as a gzip stream (which zlib inflates). */
		bool plain_images = (flags & 1) || n_images < 2 || !(images[0] == 0x1f && images[1] == 0x8b);
		bool plain_labels = (flags & 2) || n_labels < 2 || !(labels[0] == 0x1f && labels[1] == 0x8b);
		if (plain_images && plain_labels) { /* check them all */
			if (n_images != 16 + (size_t)n * 784 || n_labels != 8 + (size_t)n || be32(images + 4) != n ||
			    be32(labels + 4) != n)
				fail("a dataset whose size is not the files'");
			float image[784];
			for (int64_t i = 0; i < n; i++) {
				int32_t label;
				rt_dataset_batch(d, &i, 1, image, &label);
				if (label != labels[8 + i])
					fail("a label that is not the file's");
				for (int j = 0; j < 784; j++)
					if (image[j] != ((float)images[16 + i * 784 + j] / 255.0f - 0.5f) / 0.5f)
						fail("a pixel that is not the file's");
			}
		}
		rt_dataset_free(d);
	}
	free(err);
	return 0;
}
