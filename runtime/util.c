/* util.c: messages and bugs, shared by the rest of the runtime. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "maec_rt.h"

char *rt_vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *rt_format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = rt_vformat(fmt, ap);
	va_end(ap);
	return s;
}

void rt_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%d: maec runtime bug: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}
