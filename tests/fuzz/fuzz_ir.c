/* fuzz_ir.c: libFuzzer harness for the IR reader (tests/fuzz/README.md).
 *
 * The input is an IR text file. It goes through module_read and, when that succeeds,
 * module_verify, and, when that succeeds, each function's kernel=N groups through
 * fuse_plan (which may refuse them, with a message, but must not crash). Errors in the input are fine (their messages go to /dev/null); what
 * must hold for every input:
 *   - no crash, leak, hang or sanitizer report in the reader or the verifier;
 *   - a module that reads prints as text that reads back without an error and prints
 *     identically (read.c's contract; fuzz_round_trip), and when the module verifies,
 *     so does the copy. The first print normalises (spacing, attribute order,
 *     numbers); from then on the text is a fixed point.
 * The bytes are handed over as they are, without a copy or a terminating NUL, so that
 * AddressSanitizer sees any read past the end of the file.
 */
#include "fuzz.h"
#include "passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arena *a = arena_new();
	Diag d;
	diag_init(&d, a, fuzz_sink());
	Module *m = module_read(a, &d, diag_add_file(&d, "fuzz.ir", (const char *)data, size));
	if (m) {
		bool ok = module_verify(m, &d);
		fuzz_round_trip(m, "from a module that reads", ok);
		for (int i = 0; ok && i < m->funcs.n; i++)
			fuse_plan(a, m->funcs.p[i], &d);
	}
	arena_free(a);
	return 0;
}
