/* check.h: the tally every C test program keeps. expect() records one check and, when it
 * fails, prints the test file and line with the message; tally_report() prints the closing
 * "N passed, M failed" line that ctest's log and CI read. */
#ifndef MAEC_TESTS_CHECK_H
#define MAEC_TESTS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct Tally {
	int passed, failed;
} Tally;

__attribute__((format(printf, 5, 6))) static inline bool tally_check(Tally *t, bool ok, const char *file, int line,
                                                                        const char *fmt, ...)
{
	if (ok) {
		t->passed++;
		return true;
	}
	t->failed++;
	const char *base = strrchr(file, '/');
	fprintf(stderr, "%s:%d: FAIL: ", base ? base + 1 : file, line);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* Expects a failure (failed) whose message err contains every one of the NULL-terminated
 * substrings that follow. */
static inline void tally_error(Tally *t, const char *file, int line, const char *what, bool failed, const char *err,
                               ...)
{
	bool ok = failed && err;
	va_list ap;
	va_start(ap, err);
	const char *missing = NULL;
	for (const char *s; ok && (s = va_arg(ap, const char *));)
		if (!strstr(err, s)) {
			missing = s;
			ok = false;
		}
	va_end(ap);
	tally_check(t, ok, file, line, "%s: %s%s%s%s", what, !failed ? "did not fail" : !err ? "no message" : "message: ",
	            failed && err ? err : "", missing ? "\n    lacks: " : "", missing ? missing : "");
}

/* Exit status: 0 when nothing failed. */
static inline int tally_report(const Tally *t)
{
	printf("%d passed, %d failed\n", t->passed, t->failed);
	return t->failed != 0;
}

/* t: a pointer to a struct with a Tally named tally. */
#define expect(t, ok, line, ...) tally_check(&(t)->tally, (ok), __FILE__, (line), __VA_ARGS__)
#define EXPECT(t, ok, ...) tally_check(&(t)->tally, (ok), __FILE__, __LINE__, __VA_ARGS__)
#define expect_error(t, line, ...) tally_error(&(t)->tally, __FILE__, (line), __VA_ARGS__)

#endif
