/* fuzz_common.c: the diagnostics sink and the properties both harnesses check.
 *
 * A property that fails aborts, after saying on stderr which property and showing the
 * IR text involved, so that libFuzzer keeps the input as a crash artifact. Input
 * errors are not failures: they are reported into fuzz_sink() and the run goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* The fuzzer feeds mostly broken text; printing every message would be most of the
 * run time, and the messages themselves are checked by tests/diag. Opened once: libFuzzer
 * runs every input in one process, and this is a harness's only global state. */
FILE *fuzz_sink(void)
{
	static FILE *sink;
	if (!sink && !(sink = fopen("/dev/null", "w"))) {
		perror("fuzz: /dev/null");
		abort();
	}
	return sink;
}

void fuzz_fail(const char *what, const char *text, size_t len)
{
	fflush(stdout);
	fprintf(stderr, "fuzz: %s\n", what);
	if (text) {
		fputs("---- IR text ----\n", stderr);
		fwrite(text, 1, len, stderr);
		fputs("---- end ----\n", stderr);
	}
	abort();
}

/* Runs the verifier again with its messages on stderr, then fails. */
void fuzz_fail_verify(const Module *m, const char *what)
{
	Arena *a = arena_new();
	Diag d;
	diag_init(&d, a, stderr);
	module_verify(m, &d);
	Buf b = {0};
	module_print(&b, m);
	fuzz_fail(what, b.p, b.n);
}

/* The text form round-trips: m prints as text that reads back without an error and
 * prints the same text again (docs/ir.md: the printer writes exactly what the reader
 * accepts). When m verified, the copy must verify too. */
void fuzz_round_trip(const Module *m, const char *stage, bool verified)
{
	Buf first = {0}, second = {0};
	module_print(&first, m);
	Arena *a = arena_new();
	Diag d;
	diag_init(&d, a, fuzz_sink());
	Module *copy = module_read(a, &d, diag_add_file(&d, "round-trip.ir", first.p, first.n));
	if (!copy || d.errors) {
		diag_init(&d, a, stderr); /* once more, where the messages show */
		module_read(a, &d, diag_add_file(&d, "round-trip.ir", first.p, first.n));
		fuzz_fail(arena_printf(a, "the IR printed %s does not read back", stage), first.p, first.n);
	}
	if (verified && !module_verify(copy, &d))
		fuzz_fail_verify(copy, arena_printf(a, "the IR printed %s reads back but fails the verifier", stage));
	module_print(&second, copy);
	if (first.n != second.n || memcmp(first.p, second.p, first.n) != 0) {
		fputs("---- printed again ----\n", stderr);
		fwrite(second.p, 1, second.n, stderr);
		fuzz_fail(arena_printf(a, "the IR printed %s prints differently once read back", stage), first.p, first.n);
	}
	buf_free(&first);
	buf_free(&second);
	arena_free(a);
}
