/* fuzz_safetensors: libFuzzer harness for the safetensors reader (runtime/formats/safetensors.c).
 *
 * Every input must give either a tensor set whose views lie inside the input, or a
 * message; never a crash, a leak or a silent failure. Built with -DMAEC_FUZZ=ON (clang) by
 * tests/fuzz/CMakeLists.txt; seeds in tests/fuzz/corpus/safetensors (tests/fuzz/README.md):
 *   fuzz_safetensors -dict=tests/fuzz/safetensors.dict -max_len=8192 CORPUS_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maec_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	RtSafetensors *st = rt_st_parse(data, size, "fuzz", &err);
	if (!st && !err)
		abort(); /* failed without saying why (and the input is far too small to exhaust memory) */
	if (st) {
		/* Touch every byte of every view and every string, so ASan checks the bounds. */
		unsigned sum = 0;
		for (int i = 0; i < rt_st_count(st); i++) {
			const RtTensor *t = rt_st_tensor(st, i);
			sum += (unsigned)strlen(t->name);
			for (int d = 0; d < t->rank; d++)
				sum += (unsigned)t->shape[d];
			for (size_t k = 0; k < t->nbytes; k++)
				sum += ((const unsigned char *)t->data)[k];
			if (rt_st_get(st, t->name) == NULL)
				abort();
		}
		for (int i = 0; i < rt_st_meta_count(st); i++)
			sum += (unsigned)strlen(rt_st_meta_key(st, i)) + (unsigned)strlen(rt_st_meta_value(st, i));
		if (sum == 0xdeadbeef)
			puts("");
	}
	rt_st_free(st);
	free(err);
	return 0;
}
