/* test_idx: the Fashion-MNIST loader (runtime/formats/idx.c) and the dataset functions it shares
 * with CIFAR-10's.
 *
 * Usage: test_idx [--fashion DIR]
 *   --fashion DIR  the Fashion-MNIST IDX files (gzipped or not); the real-data checks are
 *                  skipped, with a note, when DIR does not hold them (default
 *                  /usr/share/datasets/fashion-mnist, where Debian's dataset-fashion-mnist
 *                  puts them)
 * The synthetic checks write small IDX files, plain and gzipped, to a fresh folder under
 * $TMPDIR (or /tmp), removed at the end: the good path to the exact pixel, and every error
 * the loader reports, by its message. Prints "N passed, M failed" and exits nonzero when
 * anything failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "maec_rt.h"

#include "../check.h"

#define SIDE 28
#define PIX (SIDE * SIDE)
#define N 5 /* images in the synthetic files */
#define HINT "apt-get install dataset-fashion-mnist"
#define URL "https://github.com/zalandoresearch/fashion-mnist"

typedef struct Tests {
	Tally tally;
	const char *tmp;     /* scratch folder */
	const char *fashion; /* real data */
	int dirs;            /* scratch folders made so far, for fresh names */
} Tests;



static void remove_tree(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				char *sub = rt_format("%s/%s", path, e->d_name);
				RT_CHECK(sub);
				remove_tree(sub);
				free(sub);
			}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* A fresh empty folder in the scratch folder; the caller frees its name. */
static char *fresh_dir(Tests *t)
{
	char *p = rt_format("%s/d%d", t->tmp, t->dirs++);
	RT_CHECK(p && mkdir(p, 0777) == 0);
	return p;
}

static char *join(const char *dir, const char *name)
{
	char *p = rt_format("%s/%s", dir, name);
	RT_CHECK(p);
	return p;
}

/* The synthetic data: image i, pixel j is pixel(i, j); labels[i] = label(i). Every byte
 * value occurs, 0 and 255 included. */
static uint8_t pixel(int64_t i, int64_t j)
{
	return (uint8_t)(i * 37 + j * 11 + (j / SIDE) * 3);
}

static const uint8_t labels5[N] = {9, 0, 3, 7, 1};

/* The bytes of an IDX file: magic, dims, then n data bytes. *size gets the total. */
static uint8_t *idx_bytes(uint32_t magic, const uint32_t *dims, int rank, const uint8_t *data, size_t n, size_t *size)
{
	*size = 4 + 4 * (size_t)rank + n;
	uint8_t *b = malloc(*size), *p = b;
	RT_CHECK(b);
	for (int k = -1; k < rank; k++) {
		uint32_t v = k < 0 ? magic : dims[k];
		*p++ = (uint8_t)(v >> 24);
		*p++ = (uint8_t)(v >> 16);
		*p++ = (uint8_t)(v >> 8);
		*p++ = (uint8_t)v;
	}
	if (n)
		memcpy(p, data, n);
	return b;
}

/* Writes bytes to dir/name, plain or (gz) through zlib's gzip writer. */
static void write_file(const char *dir, const char *name, const uint8_t *b, size_t n, bool gz)
{
	char *path = join(dir, name);
	if (gz) {
		gzFile f = gzopen(path, "wb");
		RT_CHECK(f && (n == 0 || gzwrite(f, b, (unsigned)n) == (int)n) && gzclose(f) == Z_OK);
	} else {
		FILE *f = fopen(path, "wb");
		RT_CHECK(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
	}
	free(path);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *n)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "rb");
	RT_CHECK(f && fseek(f, 0, SEEK_END) == 0);
	long size = ftell(f);
	RT_CHECK(size >= 0 && fseek(f, 0, SEEK_SET) == 0);
	uint8_t *b = malloc((size_t)size + 1);
	RT_CHECK(b && fread(b, 1, (size_t)size, f) == (size_t)size && fclose(f) == 0);
	free(path);
	*n = (size_t)size;
	return b;
}

/* What a synthetic images file holds: a header that says `count` images of h x w, then
 * `data` bytes (the synthetic pixels, in order). */
typedef struct ImagesSpec {
	uint32_t magic, count, h, w;
	size_t data;
} ImagesSpec;

static void write_images(const char *dir, const char *name, ImagesSpec s, bool gz)
{
	uint8_t *px = malloc(s.data + 1);
	RT_CHECK(px);
	for (size_t j = 0; j < s.data; j++)
		px[j] = pixel((int64_t)(j / PIX), (int64_t)(j % PIX));
	uint32_t dims[3] = {s.count, s.h, s.w};
	size_t size;
	uint8_t *b = idx_bytes(s.magic, dims, 3, px, s.data, &size);
	write_file(dir, name, b, size, gz);
	free(b);
	free(px);
}

static void write_labels(const char *dir, const char *name, uint32_t magic, uint32_t count, const uint8_t *lab,
                         size_t n, bool gz)
{
	size_t size;
	uint8_t *b = idx_bytes(magic, &count, 1, lab, n, &size);
	write_file(dir, name, b, size, gz);
	free(b);
}

static const ImagesSpec good_images = {0x803, N, SIDE, SIDE, (size_t)N * PIX};

/* A folder holding a good test split (t10k), each file plain or gzipped. */
static char *good_split(Tests *t, bool gz_images, bool gz_labels)
{
	char *dir = fresh_dir(t);
	write_images(dir, gz_images ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte", good_images, gz_images);
	write_labels(dir, gz_labels ? "t10k-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte", 0x801, N, labels5, N,
	             gz_labels);
	return dir;
}

/* ---- the good path ---- */

static void check_good(Tests *t, int line, const char *what, const char *dir, int split)
{
	char *err = NULL;
	RtDataset *d = rt_fashion_mnist_load(dir, split, &err);
	if (!expect(t, d != NULL && err == NULL, line, "%s: %s", what, err ? err : "no dataset, no message")) {
		free(err);
		return;
	}
	int64_t shape[3];
	rt_dataset_shape(d, shape);
	expect(t, rt_dataset_size(d) == N && rt_dataset_classes(d) == 10 && shape[0] == 1 && shape[1] == SIDE &&
	              shape[2] == SIDE,
	       line, "%s: size %lld, classes %d, shape %lld %lld %lld", what, (long long)rt_dataset_size(d),
	       rt_dataset_classes(d), (long long)shape[0], (long long)shape[1], (long long)shape[2]);
	int bad_labels = 0;
	for (int i = 0; i < N; i++)
		bad_labels += rt_dataset_label(d, i) != labels5[i];
	expect(t, bad_labels == 0, line, "%s: %d wrong labels", what, bad_labels);

	/* A batch in another order, with a repeat: every pixel exactly as torchvision makes it. */
	const int64_t idx[4] = {4, 0, 2, 4};
	float *img = malloc(sizeof(float) * 4 * PIX);
	int32_t lab[4];
	RT_CHECK(img);
	rt_dataset_batch(d, idx, 4, img, lab);
	int bad = 0;
	for (int k = 0; k < 4; k++)
		for (int j = 0; j < PIX; j++)
			bad += img[k * PIX + j] != ((float)pixel(idx[k], j) / 255.0f - 0.5f) / 0.5f;
	expect(t, bad == 0 && lab[0] == 1 && lab[1] == 9 && lab[2] == 3 && lab[3] == 1, line,
	       "%s: batch: %d wrong pixels, labels %d %d %d %d", what, bad, lab[0], lab[1], lab[2], lab[3]);
	/* The ends of the range are exact: 0 -> -1, 255 -> 1. */
	int lo = -1, hi = -1;
	for (int j = 0; j < PIX && (lo < 0 || hi < 0); j++) {
		if (pixel(0, j) == 0 && lo < 0)
			lo = j;
		if (pixel(0, j) == 255 && hi < 0)
			hi = j;
	}
	RT_CHECK(lo >= 0 && hi >= 0);
	int64_t first = 0;
	rt_dataset_batch(d, &first, 1, img, NULL);
	expect(t, img[lo] == -1.0f && img[hi] == 1.0f, line, "%s: normalisation ends: %.9g %.9g", what, img[lo], img[hi]);
	free(img);
	rt_dataset_free(d);
}

static void test_good(Tests *t)
{
	char *dir = good_split(t, false, false);
	check_good(t, __LINE__, "plain files", dir, 1);
	free(dir);

	dir = good_split(t, true, true);
	check_good(t, __LINE__, "gzipped files", dir, 1);
	free(dir);

	dir = good_split(t, true, false);
	check_good(t, __LINE__, "gzipped images, plain labels", dir, 1);
	free(dir);

	/* The training split reads the train-* names; a trailing slash on the folder is fine. */
	dir = fresh_dir(t);
	write_images(dir, "train-images-idx3-ubyte.gz", good_images, true);
	write_labels(dir, "train-labels-idx1-ubyte", 0x801, N, labels5, N, false);
	char *slash = rt_format("%s/", dir);
	RT_CHECK(slash);
	check_good(t, __LINE__, "training split", slash, 0);
	free(slash);
	free(dir);

	/* NAME is read when both NAME and NAME.gz are there. */
	dir = good_split(t, false, false);
	static const uint8_t junk[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff};
	write_file(dir, "t10k-images-idx3-ubyte.gz", junk, sizeof junk, false);
	check_good(t, __LINE__, "NAME before NAME.gz", dir, 1);
	free(dir);
}

/* ---- errors ---- */

/* Loads the test split of dir, expecting a failure whose message holds the substrings. */
#define EXPECT_LOAD_ERROR(t, what, dir, ...)                                                     \
	do {                                                                                       \
		char *err_ = NULL;                                                                     \
		RtDataset *d_ = rt_fashion_mnist_load((dir), 1, &err_);                                \
		expect_error((t), __LINE__, (what), d_ == NULL, err_, __VA_ARGS__, (const char *)NULL); \
		rt_dataset_free(d_);                                                                   \
		free(err_);                                                                            \
	} while (0)

static void test_missing(Tests *t)
{
	char *dir = fresh_dir(t);
	char *images = join(dir, "t10k-images-idx3-ubyte"), *labels = join(dir, "t10k-labels-idx1-ubyte");
	EXPECT_LOAD_ERROR(t, "no files", dir, images,
	                  ": cannot open: No such file or directory (nor t10k-images-idx3-ubyte.gz)", HINT, URL,
	                  "/usr/share/datasets/fashion-mnist");

	write_images(dir, "t10k-images-idx3-ubyte", good_images, false);
	EXPECT_LOAD_ERROR(t, "no labels", dir, labels, "cannot open: No such file or directory (nor ", HINT);

	/* A folder where a file should be. */
	RT_CHECK(mkdir(labels, 0777) == 0);
	EXPECT_LOAD_ERROR(t, "a folder", dir, labels, ": not a regular file");
	free(images);
	free(labels);
	free(dir);

	char *err = NULL;
	RtDataset *d = rt_fashion_mnist_load("/nonexistent", 2, &err);
	expect_error(t, __LINE__, "bad split", d == NULL, err, "Fashion-MNIST: unknown split 2", (const char *)NULL);
	free(err);
}

static void test_headers(Tests *t)
{
	char *dir = good_split(t, false, false);
	char *images = join(dir, "t10k-images-idx3-ubyte"), *labels = join(dir, "t10k-labels-idx1-ubyte");

	/* The images and labels files swapped. */
	write_labels(dir, "t10k-images-idx3-ubyte", 0x801, N, labels5, N, false);
	EXPECT_LOAD_ERROR(t, "labels as images", dir, images,
	                  ": expected magic 0x00000803 (IDX images: unsigned bytes, 3 dimensions), found 0x00000801 "
	                  "(a file of labels: are the names swapped?)",
	                  HINT);
	ImagesSpec s = good_images;
	s.magic = 0x12345678;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	EXPECT_LOAD_ERROR(t, "not IDX", dir, "expected magic 0x00000803", "found 0x12345678 (not an IDX file");
	write_images(dir, "t10k-images-idx3-ubyte", good_images, false);
	write_images(dir, "t10k-labels-idx1-ubyte", good_images, false);
	EXPECT_LOAD_ERROR(t, "images as labels", dir, labels,
	                  ": expected magic 0x00000801 (IDX labels: unsigned bytes, 1 dimension), found 0x00000803 "
	                  "(a file of images: are the names swapped?)");
	write_labels(dir, "t10k-labels-idx1-ubyte", 0x801, N, labels5, N, false);

	/* MNIST-like files of another size: CIFAR-sized images. */
	s = good_images;
	s.h = s.w = 32;
	s.data = (size_t)N * 32 * 32;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	EXPECT_LOAD_ERROR(t, "32x32", dir, images, ": expected 28x28 images, found 32x32", HINT);
	s = good_images;
	s.w = 27;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	EXPECT_LOAD_ERROR(t, "28x27", dir, "expected 28x28 images, found 28x27");

	/* Headers cut short, plain and gzipped. */
	size_t size;
	uint32_t dims[3] = {N, SIDE, SIDE};
	uint8_t *h = idx_bytes(0x803, dims, 3, NULL, 0, &size);
	write_file(dir, "t10k-images-idx3-ubyte", h, 10, false);
	EXPECT_LOAD_ERROR(t, "short header", dir, images,
	                  ": expected an IDX header of 16 bytes, found 10: the file is truncated", HINT);
	write_file(dir, "t10k-images-idx3-ubyte", h, 0, false);
	EXPECT_LOAD_ERROR(t, "empty file", dir, "expected an IDX header of 16 bytes, found 0: the file is truncated");
	RT_CHECK(unlink(images) == 0);
	write_file(dir, "t10k-images-idx3-ubyte.gz", h, 2, true);
	EXPECT_LOAD_ERROR(t, "2 bytes gzipped", dir,
	                  "t10k-images-idx3-ubyte.gz: expected an IDX header of 16 bytes, found 2: the file is truncated");
	write_file(dir, "t10k-images-idx3-ubyte.gz", h, 6, true);
	EXPECT_LOAD_ERROR(t, "6 bytes gzipped", dir,
	                  "t10k-images-idx3-ubyte.gz: expected an IDX header of 16 bytes, found 6");
	free(h);
	write_images(dir, "t10k-images-idx3-ubyte.gz", good_images, true);
	write_file(dir, "t10k-labels-idx1-ubyte", (const uint8_t *)"\0\0\x08", 3, false);
	EXPECT_LOAD_ERROR(t, "short labels header", dir, labels,
	                  ": expected an IDX header of 8 bytes, found 3: the file is truncated");

	/* Empty sets. */
	s = good_images;
	s.count = 0;
	s.data = 0;
	write_images(dir, "t10k-images-idx3-ubyte.gz", s, true);
	write_labels(dir, "t10k-labels-idx1-ubyte", 0x801, 0, NULL, 0, false);
	EXPECT_LOAD_ERROR(t, "no images", dir, "t10k-images-idx3-ubyte.gz: the header says 0 images");
	free(images);
	free(labels);
	free(dir);
}

static void test_data(Tests *t)
{
	char *dir = good_split(t, false, false);
	char *images = join(dir, "t10k-images-idx3-ubyte"), *labels = join(dir, "t10k-labels-idx1-ubyte");

	/* Counts that differ. */
	write_labels(dir, "t10k-labels-idx1-ubyte", 0x801, N - 1, labels5, N - 1, false);
	EXPECT_LOAD_ERROR(t, "counts differ", dir, images, " holds 5 images but ", labels,
	                  " holds 4 labels: the files do not belong together", HINT);
	write_labels(dir, "t10k-labels-idx1-ubyte", 0x801, N, labels5, N, false);

	/* Data cut short or too long, plain and gzipped. */
	ImagesSpec s = good_images;
	s.data = (size_t)N * PIX - PIX / 2;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	EXPECT_LOAD_ERROR(t, "truncated images", dir, images,
	                  ": expected 3920 bytes of images, found 3528: the file is truncated", HINT);
	s.data = (size_t)N * PIX + 1;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	EXPECT_LOAD_ERROR(t, "images too long", dir, images,
	                  ": expected 3920 bytes of images, found more: the file is too long");
	write_images(dir, "t10k-images-idx3-ubyte", good_images, false);
	write_labels(dir, "t10k-labels-idx1-ubyte", 0x801, N, labels5, N - 2, false);
	EXPECT_LOAD_ERROR(t, "truncated labels", dir, labels, ": expected 5 bytes of labels, found 3");
	RT_CHECK(unlink(labels) == 0);
	write_labels(dir, "t10k-labels-idx1-ubyte.gz", 0x801, N, labels5, N - 2, true);
	EXPECT_LOAD_ERROR(t, "truncated gzipped labels", dir,
	                  "t10k-labels-idx1-ubyte.gz: expected 5 bytes of labels, found 3: the file is truncated");

	/* A header that claims four billion images costs only what the file holds (under
	 * ASan, a 3 TB allocation would abort). */
	s = good_images;
	s.count = 0xffffffffu;
	write_images(dir, "t10k-images-idx3-ubyte", s, false);
	write_labels(dir, "t10k-labels-idx1-ubyte.gz", 0x801, 0xffffffffu, labels5, N, true);
	EXPECT_LOAD_ERROR(t, "huge count", dir, images,
	                  ": expected 3367254359280 bytes of images, found 3920: the file is truncated");

	/* Labels out of range, by index. */
	write_images(dir, "t10k-images-idx3-ubyte", good_images, false);
	uint8_t bad[N];
	memcpy(bad, labels5, N);
	bad[3] = 10;
	write_labels(dir, "t10k-labels-idx1-ubyte.gz", 0x801, N, bad, N, true);
	EXPECT_LOAD_ERROR(t, "label 10", dir, "t10k-labels-idx1-ubyte.gz: label 3 (byte 11) is 10",
	                  "Fashion-MNIST labels are 0..9", HINT);
	bad[3] = 3;
	bad[4] = 255;
	write_labels(dir, "t10k-labels-idx1-ubyte.gz", 0x801, N, bad, N, true);
	EXPECT_LOAD_ERROR(t, "label 255", dir, "label 4 (byte 12) is 255");
	free(images);
	free(labels);
	free(dir);
}

static void test_gzip(Tests *t)
{
	char *dir = good_split(t, true, false);
	const char *name = "t10k-images-idx3-ubyte.gz";
	size_t n;
	uint8_t *gz = read_file(dir, name, &n);
	RT_CHECK(n > 40);
	uint8_t *copy = malloc(n);
	RT_CHECK(copy);

	/* The CRC of the data (the trailer's first 4 bytes) wrong. */
	memcpy(copy, gz, n);
	copy[n - 8] ^= 0x01;
	write_file(dir, name, copy, n, false);
	EXPECT_LOAD_ERROR(t, "gzip CRC", dir, name, ": corrupt gzip stream: incorrect data check", HINT);

	/* A bad block type in the deflate stream (the first block header follows the 10-byte
	 * gzip header: bits 1-2 are the type, 3 is reserved). */
	memcpy(copy, gz, n);
	copy[10] |= 0x06;
	write_file(dir, name, copy, n, false);
	EXPECT_LOAD_ERROR(t, "gzip block type", dir, name, ": corrupt gzip stream: invalid block type", HINT);

	/* Not deflate at all after a gzip magic. */
	memcpy(copy, gz, n);
	copy[2] = 7;
	write_file(dir, name, copy, n, false);
	EXPECT_LOAD_ERROR(t, "gzip method", dir, name, ": corrupt gzip stream: unknown compression method");

	/* Cut in the middle of the stream, and in the trailer: the data may all be there, but
	 * the file is not whole. */
	write_file(dir, name, gz, n / 2, false);
	EXPECT_LOAD_ERROR(t, "gzip cut", dir, name,
	                  ": corrupt gzip stream: unexpected end of file (the file is truncated)", HINT);
	write_file(dir, name, gz, n - 3, false);
	EXPECT_LOAD_ERROR(t, "gzip trailer cut", dir, name, ": corrupt gzip stream: unexpected end of file");

	/* Every cut and every flipped byte: a dataset, or NULL with a message, never both and
	 * never a crash (under ASan, no bad read either). A flip in the gzip header's time, flags
	 * or OS byte may well load. */
	int broken = 0, loaded = 0;
	for (size_t len = 0; len < n; len++) {
		write_file(dir, name, gz, len, false);
		char *err = NULL;
		RtDataset *d = rt_fashion_mnist_load(dir, 1, &err);
		broken += d != NULL || err == NULL;
		rt_dataset_free(d);
		free(err);
	}
	EXPECT(t, broken == 0, "every cut of %zu bytes: %d loaded or had no message", n, broken);
	broken = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, gz, n);
		copy[i] ^= 0xa5;
		write_file(dir, name, copy, n, false);
		char *err = NULL;
		RtDataset *d = rt_fashion_mnist_load(dir, 1, &err);
		broken += (d == NULL) == (err == NULL) || (d && rt_dataset_size(d) != N);
		loaded += d != NULL;
		rt_dataset_free(d);
		free(err);
	}
	EXPECT(t, broken == 0 && loaded < 8, "every flipped byte of %zu: %d broken results, %d loaded", n, broken,
	       loaded);
	free(copy);
	free(gz);
	free(dir);
}

/* ---- the real data ---- */

static bool has_file(const char *dir, const char *name)
{
	char *p = rt_format("%s/%s", dir, name), *q = rt_format("%s/%s.gz", dir, name);
	RT_CHECK(p && q);
	bool yes = access(p, R_OK) == 0 || access(q, R_OK) == 0;
	free(p);
	free(q);
	return yes;
}

static void test_real(Tests *t)
{
	if (!has_file(t->fashion, "t10k-labels-idx1-ubyte")) {
		printf("test_idx: skipped the checks on the real Fashion-MNIST files: %s has no t10k-labels-idx1-ubyte[.gz] "
		       "(apt-get install dataset-fashion-mnist, or pass --fashion DIR)\n",
		       t->fashion);
		return;
	}
	/* The oracle, from an independent reader (Python's gzip module on Debian's files): the
	 * first ten labels and the sum of all pixel bytes of each split. The train mean,
	 * 3431114169 / (60000 * 784 * 255) = 0.28604, is the published 0.2860. */
	static const struct {
		int64_t n;
		int32_t first[10];
		int64_t sum;
	} ref[2] = {
		{60000, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 3431114169},
		{10000, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 573469082},
	};
	for (int split = 0; split < 2; split++) {
		char *err = NULL;
		RtDataset *d = rt_fashion_mnist_load(t->fashion, split, &err);
		if (!EXPECT(t, d != NULL, "Fashion-MNIST split %d: %s", split, err ? err : "?")) {
			free(err);
			continue;
		}
		int64_t n = rt_dataset_size(d), shape[3];
		rt_dataset_shape(d, shape);
		EXPECT(t, n == ref[split].n && shape[0] == 1 && shape[1] == SIDE && shape[2] == SIDE &&
		              rt_dataset_classes(d) == 10,
		       "split %d: %lld images of %lld x %lld x %lld", split, (long long)n, (long long)shape[0],
		       (long long)shape[1], (long long)shape[2]);
		int64_t count[10] = {0};
		for (int64_t i = 0; i < n; i++)
			count[rt_dataset_label(d, i)]++;
		int wrong = 0;
		for (int c = 0; c < 10; c++)
			wrong += count[c] != ref[split].n / 10;
		EXPECT(t, wrong == 0, "split %d: class counts %lld %lld ... (expected %lld each)", split,
		       (long long)count[0], (long long)count[1], (long long)(ref[split].n / 10));
		wrong = 0;
		for (int i = 0; i < 10; i++)
			wrong += rt_dataset_label(d, i) != ref[split].first[i];
		EXPECT(t, wrong == 0, "split %d: %d of the first ten labels wrong", split, wrong);

		enum { CHUNK = 1000 };
		float *img = malloc(sizeof(float) * CHUNK * PIX);
		int64_t *idx = malloc(sizeof *idx * CHUNK);
		RT_CHECK(img && idx);
		int64_t sum = 0, off_grid = 0;
		for (int64_t start = 0; start < n; start += CHUNK) {
			int64_t b = n - start < CHUNK ? n - start : CHUNK;
			for (int64_t k = 0; k < b; k++)
				idx[k] = start + k;
			rt_dataset_batch(d, idx, b, img, NULL);
			for (int64_t j = 0; j < b * PIX; j++) {
				float u = (img[j] + 1.0f) / 2.0f * 255.0f; /* back to the byte */
				long v = lroundf(u);
				off_grid += fabsf(u - (float)v) > 1e-3f;
				sum += v;
			}
		}
		double mean = (double)sum / ((double)n * PIX * 255);
		EXPECT(t, sum == ref[split].sum && off_grid == 0, "split %d: pixel sum %lld (expected %lld), %lld off the grid",
		       split, (long long)sum, (long long)ref[split].sum, (long long)off_grid);
		if (split == 0)
			EXPECT(t, fabs(mean - 0.2860) < 1e-3, "train mean pixel %.5f, published 0.2860", mean);
		free(img);
		free(idx);
		rt_dataset_free(d);
	}
}

int main(int argc, char **argv)
{
	Tests t = {.fashion = RT_FASHION_MNIST_DIR};
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--fashion") == 0)
			t.fashion = argv[++i];
		else {
			fprintf(stderr, "usage: test_idx [--fashion DIR]\n");
			return 2;
		}
	}
	const char *tmpdir = getenv("TMPDIR");
	char *tmp = rt_format("%s/test_idx.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!tmp || !mkdtemp(tmp)) {
		fprintf(stderr, "test_idx: cannot make a scratch folder: %s\n", strerror(errno));
		return 1;
	}
	t.tmp = tmp;

	test_good(&t);
	test_missing(&t);
	test_headers(&t);
	test_data(&t);
	test_gzip(&t);
	test_real(&t);

	remove_tree(tmp);
	free(tmp);
	return tally_report(&t.tally);
}
