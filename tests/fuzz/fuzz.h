/* fuzz.h: what the libFuzzer harnesses share (fuzz_common.c). */
#ifndef MAEC_FUZZ_H
#define MAEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

/* libFuzzer's entry point; each harness defines it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_common.c */
FILE *fuzz_sink(void); /* /dev/null, opened once: the inputs' diagnostics go there */
NORETURN void fuzz_fail(const char *what, const char *text, size_t len);
NORETURN void fuzz_fail_verify(const Module *m, const char *what);
void fuzz_round_trip(const Module *m, const char *stage, bool verified);

#endif
