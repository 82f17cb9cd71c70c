/* fuzz_dsl.c: libFuzzer harness for the front end (tests/fuzz/README.md).
 *
 * The input is a DSL file. It goes through the driver's stages: parse_source,
 * elaborate, module_verify, then each pass (autodiff, optim, dce, fuse, and precision
 * with the bf16 policy) and module_verify; after fuse and after precision, every
 * function's kernel=N groups read back as a plan.
 * Errors in the input are fine
 * (their messages go to /dev/null); what must hold for every input:
 *   - no crash, leak, hang or sanitizer report anywhere in the front end;
 *   - a module the elaborator returns passes the verifier, and still does after each pass;
 *   - that module prints as IR text that reads back without an error and prints
 *     identically (fuzz_round_trip). Once is enough: dce only removes instructions,
 *     and printing mae.dsl's IR and reading it back is most of the time of a run.
 * The bytes are handed over as they are, without a copy or a terminating NUL, so that
 * AddressSanitizer sees any read past the end of the file.
 */
#include "frontend.h"
#include "fuzz.h"
#include "passes.h"

static void plans_read_back(const Module *m, Arena *a, Diag *d, const char *why)
{
	for (int i = 0; i < m->funcs.n; i++)
		if (!fuse_plan(a, m->funcs.p[i], d))
			fuzz_fail_verify(m, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arena *a = arena_new();
	Diag d;
	diag_init(&d, a, fuzz_sink());
	const SrcFile *src = diag_add_file(&d, "fuzz.dsl", (const char *)data, size);
	Ast *ast = parse_source(a, &d, src);
	Module *m = ast ? elaborate(a, &d, src, ast) : NULL;
	if (m) {
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the elaborator's IR fails the verifier");
		fuzz_round_trip(m, "after elaboration", true);
		PassCtx ctx = {.d = &d};
		pass_autodiff(m, &ctx);
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the IR fails the verifier after autodiff");
		pass_optim(m, &ctx);
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the IR fails the verifier after optim");
		pass_dce(m, &ctx);
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the IR fails the verifier after dce");
		pass_fuse(m, &ctx);
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the IR fails the verifier after fuse");
		plans_read_back(m, a, &d, "the fuse pass's kernels do not read back as a plan");
		m->precision = PRECISION_BF16;
		pass_precision(m, &ctx);
		if (!module_verify(m, &d))
			fuzz_fail_verify(m, "the IR fails the verifier after precision (bf16)");
		plans_read_back(m, a, &d, "the kernels do not read back as a plan after precision (bf16)");
	}
	arena_free(a);
	return 0;
}
