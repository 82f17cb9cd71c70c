/* fuzz_cifar: libFuzzer harness for the CIFAR-10 reader (runtime/formats/cifar.c).
 *
 * The first byte of the input picks a record count (1 + byte % 4); the rest is the bytes
 * of one CIFAR-10 file of that many records, checked by rt_cifar10_parse, the loader's
 * checks on bytes in memory. Every input must give either a dataset that holds exactly
 * those records (the labels and pixels of the input, byte for byte), or a message; never
 * a crash, a leak or a silent failure.
 *
 * The same bytes also go through the loader on a file: written as test_batch.bin into a
 * scratch folder (under $TMPDIR, /tmp by default, removed at exit) and loaded with
 * rt_cifar10_load(dir, 1); as the input is far shorter than the 30730000 bytes a file
 * holds, the loader must refuse it with a message naming the file.
 *   fuzz_cifar -max_len=16384 CORPUS_DIR      (tests/fuzz/README.md)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maec_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[4096], file[4200];

static void remove_scratch(void)
{
	unlink(file);
	rmdir(scratch);
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_cifar: %s\n", what);
	abort();
}

static void make_scratch(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof scratch, "%s/maec-fuzz-cifar.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		fail("cannot make a scratch folder");
	snprintf(file, sizeof file, "%s/test_batch.bin", scratch);
	atexit(remove_scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int64_t records = 1 + data[0] % 4;
	const uint8_t *bytes = data + 1;
	size_t n = size - 1;
	char *err = NULL;
	RtDataset *d = rt_cifar10_parse(bytes, n, records, "fuzz.bin", &err);
	if (!d && !err)
		fail("rt_cifar10_parse failed without a message");
	if (d) {
		if (n != (size_t)records * 3073 || rt_dataset_size(d) != records || rt_dataset_classes(d) != 10)
			fail("a dataset from bytes of the wrong size");
		float image[3072];
		for (int64_t r = 0; r < records; r++) {
			const uint8_t *rec = bytes + r * 3073;
			int32_t label;
			rt_dataset_batch(d, &r, 1, image, &label);
			if (label != rec[0] || rt_dataset_label(d, r) != rec[0])
				fail("a label that is not the file's");
			for (int j = 0; j < 3072; j++)
				if (image[j] != ((float)rec[1 + j] / 255.0f - 0.5f) / 0.5f)
					fail("a pixel that is not the file's");
		}
		rt_dataset_free(d);
	}
	free(err);

	if (!scratch[0])
		make_scratch();
	FILE *f = fopen(file, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
		fail("cannot write the scratch file");
	d = rt_cifar10_load(scratch, 1, &err);
	if (d || !err || !strstr(err, "test_batch.bin: expected 30730000 bytes"))
		fail("the loader took a file of the wrong size, or said something else");
	free(err);
	return 0;
}
