/* test_runtime: the runtime library (runtime/maec_rt.h).
 *
 * Usage: test_runtime [--cifar DIR] [--python PATH] [--srcdir DIR]
 *   --cifar DIR    the CIFAR-10 binary files; the real-data checks are skipped, with a note,
 *                  when DIR does not hold them (default ../shared/data/cifar10)
 *   --python PATH  the interpreter that runs read_safetensors.py on a file we wrote, as an
 *                  independent reader (default /usr/bin/python3; skipped when missing)
 *   --srcdir DIR   where read_safetensors.py is (default: the folder of this file)
 * Scratch files go to a fresh folder under $TMPDIR (or /tmp), removed at the end.
 * Prints "N passed, M failed" and exits nonzero when anything failed.
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
#include <sys/wait.h>
#include <unistd.h>

#include "maec_rt.h"

#include "../check.h"


typedef struct Tests {
	Tally tally;
	const char *tmp;    /* scratch folder */
	const char *cifar;  /* real data */
	const char *python;
	const char *srcdir;
} Tests;


static void skip(const char *what, const char *why)
{
	printf("test_runtime: skipped %s: %s\n", what, why);
}

/* A path in the scratch folder; the caller frees it. */
static char *tmp_path(Tests *t, const char *name)
{
	char *p = rt_format("%s/%s", t->tmp, name);
	RT_CHECK(p);
	return p;
}

static bool write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

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


/* ---- philox.c ---- */

static void test_philox(Tests *t)
{
	/* Random123 kat_vectors, philox4x32 with 10 rounds. */
	static const struct {
		uint32_t ctr[4], key[2], out[4];
	} kat[] = {
		{{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
		 {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
		 {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	};
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		uint32_t out[4];
		rt_philox(kat[i].ctr, kat[i].key, out);
		EXPECT(t, memcmp(out, kat[i].out, sizeof out) == 0, "philox KAT %zu: got %08x %08x %08x %08x", i, out[0],
		       out[1], out[2], out[3]);
	}

	/* The documented counter and key layout. */
	uint64_t seed = 0x0123456789abcdefull, index = 0xfedcba9876543210ull;
	uint32_t a[4], b[4];
	rt_philox_draw(seed, 7, 11, index, a);
	const uint32_t ctr[4] = {0x76543210u, 0xfedcba98u, 7, 11}, key[2] = {0x89abcdefu, 0x01234567u};
	rt_philox(ctr, key, b);
	EXPECT(t, memcmp(a, b, sizeof a) == 0, "rt_philox_draw does not follow the documented scheme");

	EXPECT(t, rt_u01(0) == 0.0f && rt_u01(0xffu) == 0.0f, "rt_u01 uses only the high 24 bits");
	EXPECT(t, rt_u01(0xffffffffu) == 1.0f - 0x1p-24f, "rt_u01(max) = %.9g", rt_u01(0xffffffffu));
	EXPECT(t, rt_u01(0x80000000u) == 0.5f, "rt_u01(2^31) = %.9g", rt_u01(0x80000000u));
	EXPECT(t, rt_u01_double(0xffffffffu, 0xffffffffu) == 1.0 - 0x1p-53, "rt_u01_double(max) < 1");
	EXPECT(t, rt_u01_double(0, 0x7ffu) == 0.0 && rt_u01_double(0, 0x800u) == 0x1p-53, "rt_u01_double's 53 bits");

	/* Normals: moments of 10^6 draws, and no non-finite value even at u1 = 0 or max. */
	const int n = 1000000;
	double s1 = 0, s2 = 0, s4 = 0;
	for (int i = 0; i < n; i++) {
		uint32_t x[4];
		rt_philox_draw(1, 0, 0, (uint64_t)i, x);
		double z = rt_normal(x);
		s1 += z;
		s2 += z * z;
		s4 += z * z * z * z;
	}
	double mean = s1 / n, var = s2 / n - mean * mean, kurt = s4 / n / (var * var);
	EXPECT(t, fabs(mean) < 5 / sqrt(n), "normal mean %g", mean);
	EXPECT(t, fabs(sqrt(var) - 1) < 5 / sqrt(n), "normal std %g", sqrt(var));
	EXPECT(t, fabs(kurt - 3) < 0.05, "normal kurtosis %g", kurt);
	const uint32_t lo[4] = {0, 0, 0, 0}, hi[4] = {~0u, ~0u, ~0u, ~0u};
	EXPECT(t, isfinite(rt_normal(lo)) && isfinite(rt_normal(hi)), "rt_normal at the ends of its range");

	/* Quantiles: against known values (Python's statistics.NormalDist.inv_cdf), and
	 * Phi(Phi^-1(p)) = p from 1e-300 to 1 - 1e-16. Phi's condition number is about 1 + x^2
	 * (x^2 = 1370 at p = 1e-300): rounding x alone moves Phi(x) by that many ulps, so the
	 * error is counted in units of (1 + x^2) ulps. */
	static const double known[][2] = {{0.975, 1.9599639845400536}, {1e-10, -6.361340902404056},
	                                  {0.3, -0.5244005127080407}, {1e-300, -37.0470962993612}};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		double q = rt_normal_quantile(known[i][0]);
		EXPECT(t, fabs(q - known[i][1]) <= 1e-14 * fabs(known[i][1]), "quantile(%g) = %.17g, expected %.17g",
		       known[i][0], q, known[i][1]);
	}
	EXPECT(t, fabs(rt_normal_quantile(0.5)) < 1e-16 && rt_normal_quantile(0) == -INFINITY &&
	              rt_normal_quantile(1) == INFINITY && isnan(rt_normal_quantile(1.5)) &&
	              isnan(rt_normal_quantile(NAN)),
	       "quantile at 0, 1/2, 1 and outside");
	double worst = 0, worst_p = 0;
	for (double p = 1e-300; p < 0.5; p *= 1.37) {
		double x = rt_normal_quantile(p);
		double err = fabs(rt_normal_cdf(x) - p) / p / ((1 + x * x) * 0x1p-52);
		/* The upper half, mirrored: u = 1 - p rounds, but its tail 1 - u is exact. */
		double u = 1 - p, tail = 1 - u, y = rt_normal_quantile(u);
		if (tail > 0)
			err = fmax(err, fabs(rt_normal_cdf(-y) - tail) / tail / ((1 + y * y) * 0x1p-52));
		if (err > worst)
			worst = err, worst_p = p;
	}
	EXPECT(t, worst < 4, "quantile round trip: error %.2f (1 + x^2) ulps at p = %g", worst, worst_p);
	printf("test_runtime: normal quantile round trip: worst error %.2f (1 + x^2) ulps at p = %g\n", worst, worst_p);
}

/* ---- init.c ---- */

typedef struct Moments {
	double mean, std, min, max;
} Moments;

static Moments moments(const float *p, int64_t n)
{
	Moments m = {0, 0, INFINITY, -INFINITY};
	double s = 0, ss = 0;
	for (int64_t i = 0; i < n; i++) {
		s += p[i];
		m.min = fmin(m.min, p[i]);
		m.max = fmax(m.max, p[i]);
	}
	m.mean = s / (double)n;
	for (int64_t i = 0; i < n; i++)
		ss += (p[i] - m.mean) * (p[i] - m.mean);
	m.std = sqrt(ss / (double)n);
	return m;
}

/* Sample moments of n draws within 5 standard errors of (mean, std): for the mean,
 * std / sqrt(n); for the std, at most std * sqrt((kurtosis - 1) / 4n) <= std / sqrt(n) for
 * the light-tailed distributions here, so 5 std / sqrt(n) covers it. */
static void expect_moments(Tests *t, int line, const char *what, Moments m, int64_t n, double mean, double std)
{
	double se = std / sqrt((double)n);
	expect(t, fabs(m.mean - mean) < 5 * se, line, "%s: mean %.6g, expected %.6g (standard error %.3g)", what,
	       m.mean, mean, se);
	expect(t, fabs(m.std - std) < 5 * se, line, "%s: std %.6g, expected %.6g", what, m.std, std);
}

static const double PI = 3.14159265358979323846;

/* Mean and std of N(0, std^2) truncated to [a, b]. */
static void trunc_moments(double std, double a, double b, double *mean, double *sd)
{
	double al = a / std, be = b / std;
	double z = al > 0 ? rt_normal_cdf(-al) - rt_normal_cdf(-be) : rt_normal_cdf(be) - rt_normal_cdf(al);
	double pa = exp(-al * al / 2) / sqrt(2 * PI), pb = exp(-be * be / 2) / sqrt(2 * PI);
	double m = (pa - pb) / z;
	*mean = std * m;
	*sd = std * sqrt(1 + (al * pa - be * pb) / z - m * m);
}

static void test_init_stats(Tests *t)
{
	const int64_t n = 1000000;
	float *p = malloc(sizeof *p * (size_t)n);
	RT_CHECK(p);
	const uint64_t seed = 1234;
	Moments m;

	rt_init_param(p, n, RT_INIT_ZEROS, NULL, NULL, 0, seed, 0);
	m = moments(p, n);
	EXPECT(t, m.min == 0 && m.max == 0, "zeros");
	rt_init_param(p, n, RT_INIT_ONES, NULL, NULL, 0, seed, 0);
	m = moments(p, n);
	EXPECT(t, m.min == 1 && m.max == 1, "ones");

	rt_init_param(p, n, RT_INIT_NORMAL, (double[4]){0.02}, NULL, 0, seed, 1);
	expect_moments(t, __LINE__, "normal(0.02)", moments(p, n), n, 0, 0.02);

	/* trunc_normal: MAE's (0.02, -2, 2) is N(0, 0.02^2) in effect; then a two-sided cut, an
	 * interval above the mean (the mirrored path) and one ten deviations out. */
	static const double cases[][3] = {{0.02, -2, 2}, {1, -0.5, 1.5}, {2, 1, 3}, {1, 10, 11}, {0.5, -1.5, -1}};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		double std = cases[c][0], lo = cases[c][1], hi = cases[c][2], mean, sd;
		rt_init_param(p, n, RT_INIT_TRUNC_NORMAL, (double[4]){std, lo, hi}, NULL, 0, seed, 2);
		trunc_moments(std, lo, hi, &mean, &sd);
		char *what = rt_format("trunc_normal(%g, %g, %g)", std, lo, hi);
		RT_CHECK(what);
		m = moments(p, n);
		expect_moments(t, __LINE__, what, m, n, mean, sd);
		EXPECT(t, m.min >= (float)lo && m.max <= (float)hi, "%s: range [%.9g, %.9g]", what, m.min, m.max);
		free(what);
	}

	rt_init_param(p, n, RT_INIT_UNIFORM, (double[4]){-3, 5}, NULL, 0, seed, 3);
	m = moments(p, n);
	expect_moments(t, __LINE__, "uniform(-3, 5)", m, n, 1, 8 / sqrt(12));
	EXPECT(t, m.min >= -3 && m.min < -3 + 1e-4 && m.max <= 5 && m.max > 5 - 1e-4, "uniform(-3, 5): range [%g, %g]",
	       m.min, m.max);

	/* The patch embedding's fan-in of 12, and a Linear's of 192. */
	static const double fans[] = {12, 192};
	for (size_t c = 0; c < 2; c++) {
		double b = 1 / sqrt(fans[c]);
		rt_init_param(p, n, RT_INIT_FAN_IN_UNIFORM, (double[4]){fans[c]}, NULL, 0, seed, 4);
		m = moments(p, n);
		expect_moments(t, __LINE__, "fan_in_uniform", m, n, 0, b / sqrt(3));
		EXPECT(t, m.min >= -(float)b && m.max <= (float)b && m.max > b * 0.9999 && m.min < -b * 0.9999,
		       "fan_in_uniform(%g): range [%.9g, %.9g], bound %.9g", fans[c], m.min, m.max, b);
	}

	double a = sqrt(6.0 / (192 + 768));
	rt_init_param(p, n, RT_INIT_XAVIER_UNIFORM, (double[4]){192, 768}, NULL, 0, seed, 5);
	m = moments(p, n);
	expect_moments(t, __LINE__, "xavier_uniform(192, 768)", m, n, 0, a / sqrt(3));
	EXPECT(t, m.min >= -(float)a && m.max <= (float)a && m.max > a * 0.9999, "xavier range [%g, %g], a = %g", m.min,
	       m.max, a);
	free(p);
}

static void test_init_determinism(Tests *t)
{
	enum { N = 4096 };
	float *a = malloc(sizeof(float) * 4 * N);
	RT_CHECK(a);
	float *b = a + N, *c = a + 2 * N, *d = a + 3 * N;
	static const int kinds[] = {RT_INIT_NORMAL, RT_INIT_TRUNC_NORMAL, RT_INIT_UNIFORM, RT_INIT_FAN_IN_UNIFORM,
	                            RT_INIT_XAVIER_UNIFORM};
	const double args[4] = {0.5, -1, 1};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		const double *arg = kinds[k] == RT_INIT_UNIFORM ? (const double[4]){-1, 1} :
		                    kinds[k] >= RT_INIT_FAN_IN_UNIFORM ? (const double[4]){64, 64} : args;
		rt_init_param(a, N, kinds[k], arg, NULL, 0, 42, 3);
		rt_init_param(b, N, kinds[k], arg, NULL, 0, 42, 3);
		rt_init_param(c, N, kinds[k], arg, NULL, 0, 42, 4);
		rt_init_param(d, N, kinds[k], arg, NULL, 0, 43, 3);
		int same_c = 0, same_d = 0;
		for (int i = 0; i < N; i++) {
			same_c += a[i] == c[i];
			same_d += a[i] == d[i];
		}
		EXPECT(t, memcmp(a, b, sizeof(float) * N) == 0, "init kind %d: same seed, different bytes", kinds[k]);
		EXPECT(t, same_c < 4, "init kind %d: param_index 3 and 4 share %d of %d values", kinds[k], same_c, N);
		EXPECT(t, same_d < 4, "init kind %d: seeds 42 and 43 share %d of %d values", kinds[k], same_d, N);
		/* Element i depends on i alone: a prefix of the tensor draws the same values. */
		rt_init_param(b, 100, kinds[k], arg, NULL, 0, 42, 3);
		EXPECT(t, memcmp(a, b, sizeof(float) * 100) == 0, "init kind %d: values depend on n", kinds[k]);
	}
	free(a);
}

static void test_sincos(Tests *t)
{
	/* Width 8 (two frequencies per half: 1 and 1/100), grid 2 x 3, one cls row: 7 rows.
	 * Row 1 + h*3 + w = [sin w, sin(w/100), cos w, cos(w/100), sin h, sin(h/100), cos h,
	 * cos(h/100)]: the first half encodes w (pos_embed.py's emb_h, from grid[0]). */
	float p[7 * 8];
	int64_t shape[] = {1, 7, 8};
	rt_init_param(p, 56, RT_INIT_SINCOS2D, (double[4]){2, 3, 1}, shape, 3, 99, 0);
	const double s1 = 0.8414709848078965, s01 = 0.009999833334166664, c1 = 0.5403023058681398,
	             c01 = 0.9999500004166653, s2 = 0.9092974268256817, s02 = 0.01999866669333308,
	             c2 = -0.4161468365471424, c02 = 0.9998000066665778;
	const double expect_rows[7][8] = {
		{0, 0, 0, 0, 0, 0, 0, 0},           /* cls */
		{0, 0, 1, 1, 0, 0, 1, 1},           /* h 0, w 0 */
		{s1, s01, c1, c01, 0, 0, 1, 1},     /* h 0, w 1 */
		{s2, s02, c2, c02, 0, 0, 1, 1},     /* h 0, w 2 */
		{0, 0, 1, 1, s1, s01, c1, c01},     /* h 1, w 0 */
		{s1, s01, c1, c01, s1, s01, c1, c01},
		{s2, s02, c2, c02, s1, s01, c1, c01}, /* h 1, w 2 */
	};
	int bad = 0;
	for (int i = 0; i < 56; i++)
		if (p[i] != (float)expect_rows[i / 8][i % 8] && bad++ < 5)
			EXPECT(t, false, "sincos2d(2, 3, 1) [%d][%d] = %.9g, expected %.9g", i / 8, i % 8, p[i],
			       (float)expect_rows[i / 8][i % 8]);
	EXPECT(t, bad == 0, "sincos2d small case: %d wrong values", bad);

	/* Rank 2 and no cls rows: the table depends on the shape only through rows and width. */
	float q[6 * 8];
	rt_init_param(q, 48, RT_INIT_SINCOS2D, (double[4]){2, 3, 0}, (int64_t[]){6, 8}, 2, 0, 0);
	EXPECT(t, memcmp(q, p + 8, sizeof q) == 0, "sincos2d without cls rows");
}

/* ---- randperm.c ---- */

static bool is_permutation(const int32_t *row, int64_t n, char *seen)
{
	memset(seen, 0, (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		if (row[i] < 0 || row[i] >= n || seen[row[i]])
			return false;
		seen[row[i]] = 1;
	}
	return true;
}

static void test_randperm(Tests *t)
{
	/* MAE's shape: 512 images of 256 patches. */
	const int64_t batch = 512, n = 256;
	int32_t *a = malloc(sizeof *a * (size_t)(batch * n) * 2);
	char *seen = malloc((size_t)n);
	RT_CHECK(a && seen);
	int32_t *b = a + batch * n;
	rt_randperm(a, batch, n, 7, RT_STREAM_OPS, 5);
	int perms = 0, equal_rows = 0;
	for (int64_t r = 0; r < batch; r++) {
		perms += is_permutation(a + r * n, n, seen);
		if (r)
			equal_rows += memcmp(a + r * n, a + (r - 1) * n, sizeof *a * (size_t)n) == 0;
	}
	EXPECT(t, perms == batch, "randperm: %d of %d rows are permutations", perms, (int)batch);
	EXPECT(t, equal_rows == 0, "randperm: %d rows equal their predecessor", equal_rows);
	rt_randperm(b, batch, n, 7, RT_STREAM_OPS, 5);
	EXPECT(t, memcmp(a, b, sizeof *a * (size_t)(batch * n)) == 0, "randperm: same arguments, different output");
	rt_randperm(b, batch, n, 7, RT_STREAM_OPS, 6);
	EXPECT(t, memcmp(a, b, sizeof *a * (size_t)n) != 0, "randperm: step 5 and 6 give the same first row");
	rt_randperm(b, batch, n, 7, RT_STREAM_OPS + 1, 5);
	EXPECT(t, memcmp(a, b, sizeof *a * (size_t)n) != 0, "randperm: streams give the same first row");
	rt_randperm(b, 3, n, 7, RT_STREAM_OPS, 5);
	EXPECT(t, memcmp(a, b, sizeof *a * (size_t)(3 * n)) == 0, "randperm: a row depends on the batch size");
	free(a);
	free(seen);

	/* Uniformity: where element 0 lands in 16000 rows of 16 (chi-square, 15 degrees of
	 * freedom: 60 is far beyond the 1e-6 tail, about 52). */
	enum { ROWS = 16000, W = 16 };
	int32_t *u = malloc(sizeof *u * ROWS * W);
	RT_CHECK(u);
	rt_randperm(u, ROWS, W, 11, RT_STREAM_OPS + 2, 0);
	int count[W] = {0};
	for (int r = 0; r < ROWS; r++)
		for (int i = 0; i < W; i++)
			count[i] += u[r * W + i] == 0;
	double chi2 = 0, e = (double)ROWS / W;
	for (int i = 0; i < W; i++)
		chi2 += (count[i] - e) * (count[i] - e) / e;
	EXPECT(t, chi2 < 60, "randperm: position of element 0 is not uniform (chi-square %.1f)", chi2);
	free(u);

	/* The order is exactly (key, i): a long row has ties among its 32-bit keys (about
	 * n^2 / 2^33 = 4.7 expected for n = 200000), which must come in increasing i. */
	const int64_t big = 200000;
	int32_t *row = malloc(sizeof *row * (size_t)big);
	char *seen2 = malloc((size_t)big);
	RT_CHECK(row && seen2);
	rt_randperm(row, 1, big, 3, RT_STREAM_OPS + 3, 1);
	EXPECT(t, is_permutation(row, big, seen2), "randperm: the long row is not a permutation");
	int64_t out_of_order = 0, ties = 0;
	uint32_t prev = 0;
	for (int64_t k = 0; k < big; k++) {
		uint32_t x[4];
		rt_philox_draw(3, RT_STREAM_OPS + 3, 1, (uint64_t)row[k], x);
		if (k && (x[0] < prev || (x[0] == prev && row[k] < row[k - 1])))
			out_of_order++;
		ties += k && x[0] == prev;
		prev = x[0];
	}
	EXPECT(t, out_of_order == 0, "randperm: %lld elements out of (key, index) order", (long long)out_of_order);
	EXPECT(t, ties > 0, "randperm: no key ties in the long row, so tie-breaking went untested");
	free(row);
	free(seen2);

	int32_t one = -1;
	rt_randperm(&one, 1, 1, 0, 0, 0);
	rt_randperm(NULL, 0, 5, 0, 0, 0);
	rt_randperm(NULL, 5, 0, 0, 0, 0);
	EXPECT(t, one == 0, "randperm of one element");
}

/* ---- safetensors.c ---- */

/* Writes the file read_safetensors.py knows; the data arrays must outlive the write. */
typedef struct Sample {
	float pos_embed[257 * 192], pos_rect[17 * 16], a[6], scalar, weird;
	double b[4];
	int64_t d[2];
	int32_t c[3];
	uint8_t e[5];
} Sample;

static const char *const weird_name = "we\"ird\\ name\n \xc3\xa9";
static const char *const note = "tab\there \"q\" \xc3\xa9 \x01 \xf0\x9f\x98\x80";

static RtSafetensors *sample_set(Sample *s)
{
	rt_init_param(s->pos_embed, 257 * 192, RT_INIT_SINCOS2D, (double[4]){16, 16, 1}, (int64_t[]){1, 257, 192}, 3,
	              0, 0);
	rt_init_param(s->pos_rect, 17 * 16, RT_INIT_SINCOS2D, (double[4]){3, 5, 2}, (int64_t[]){17, 16}, 2, 0, 0);
	for (int i = 0; i < 6; i++)
		s->a[i] = (float)(i * 0.5 - 1.25);
	for (int i = 0; i < 4; i++)
		s->b[i] = 1.0 / (i + 1);
	s->c[0] = -1, s->c[1] = 0, s->c[2] = 2147483647;
	s->d[0] = -9007199254740993ll, s->d[1] = (int64_t)1 << 62;
	static const uint8_t e[5] = {0, 1, 127, 128, 255};
	memcpy(s->e, e, 5);
	s->scalar = 3.5f;
	s->weird = 1.0f;

	RtSafetensors *st = rt_st_create();
	RT_CHECK(st);
	rt_st_meta(st, "format", "pt");
	rt_st_meta(st, "note", "replaced below");
	rt_st_add(st, "pos_embed", RT_F32, (int64_t[]){1, 257, 192}, 3, s->pos_embed, sizeof s->pos_embed);
	rt_st_add(st, "b.f64", RT_F64, (int64_t[]){4}, 1, s->b, sizeof s->b);
	rt_st_add(st, "d.i64", RT_I64, (int64_t[]){2}, 1, s->d, sizeof s->d);
	rt_st_add(st, "a.f32", RT_F32, (int64_t[]){2, 3}, 2, s->a, sizeof s->a);
	rt_st_add(st, "c.i32", RT_I32, (int64_t[]){3}, 1, s->c, sizeof s->c);
	rt_st_add(st, "pos_rect", RT_F32, (int64_t[]){17, 16}, 2, s->pos_rect, sizeof s->pos_rect);
	rt_st_add(st, "scalar", RT_F32, NULL, 0, &s->scalar, 4);
	rt_st_add(st, "empty", RT_F32, (int64_t[]){0, 4}, 2, NULL, 0);
	rt_st_add(st, "e.u8", RT_U8, (int64_t[]){5}, 1, s->e, 5);
	rt_st_add(st, weird_name, RT_F32, (int64_t[]){1}, 1, &s->weird, 4);
	rt_st_meta(st, "note", note);
	return st;
}

static bool tmp_leftovers(Tests *t)
{
	DIR *d = opendir(t->tmp);
	struct dirent *e;
	bool found = false;
	while (d && (e = readdir(d)))
		found |= strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return found;
}

static void test_st_round_trip(Tests *t)
{
	Sample *s = calloc(1, sizeof *s);
	RT_CHECK(s);
	RtSafetensors *st = sample_set(s);
	char *path = tmp_path(t, "round.safetensors"), *err = NULL;
	EXPECT(t, rt_st_write(st, path, &err) == 0, "write: %s", err ? err : "?");
	free(err);
	EXPECT(t, !tmp_leftovers(t), "write left a temporary file");

	RtSafetensors *in = rt_st_read(path, &err);
	if (!EXPECT(t, in != NULL, "read back: %s", err ? err : "out of memory")) {
		free(err);
		goto done;
	}
	EXPECT(t, rt_st_count(in) == rt_st_count(st) && rt_st_count(in) == 10, "read back %d tensors", rt_st_count(in));
	for (int i = 0; i < rt_st_count(in) && i < rt_st_count(st); i++) {
		const RtTensor *x = rt_st_tensor(st, i), *y = rt_st_tensor(in, i);
		bool same = strcmp(x->name, y->name) == 0 && x->dtype == y->dtype && x->rank == y->rank &&
		            x->numel == y->numel && x->nbytes == y->nbytes &&
		            (x->rank == 0 || memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->rank) == 0) &&
		            (x->nbytes == 0 || memcmp(x->data, y->data, x->nbytes) == 0);
		EXPECT(t, same, "tensor %d ('%s') differs after the round trip", i, x->name);
	}
	const RtTensor *w = rt_st_get(in, weird_name);
	EXPECT(t, w && w->numel == 1 && rt_st_get(in, "nope") == NULL, "rt_st_get");
	EXPECT(t, rt_st_meta_count(in) == 2 && strcmp(rt_st_meta_key(in, 0), "format") == 0 &&
	              strcmp(rt_st_meta_value(in, 1), note) == 0 && strcmp(rt_st_meta_get(in, "note"), note) == 0 &&
	              rt_st_meta_get(in, "x") == NULL,
	       "metadata after the round trip");

	/* The layout: header length a multiple of 8, JSON first, metadata first in it. */
	FILE *f = fopen(path, "rb");
	unsigned char head[24] = {0};
	size_t got = f ? fread(head, 1, sizeof head, f) : 0;
	if (f)
		fclose(f);
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | head[i];
	EXPECT(t, got == sizeof head && hlen % 8 == 0 && memcmp(head + 8, "{\"__metadata__\":", 16) == 0,
	       "file layout: header length %llu, starts %.16s", (unsigned long long)hlen, (const char *)head + 8);

	/* Writing over an existing file replaces it whole. */
	RtSafetensors *small = rt_st_create();
	rt_st_add(small, "x", RT_U8, (int64_t[]){1}, 1, "z", 1);
	EXPECT(t, rt_st_write(small, path, &err) == 0, "overwrite: %s", err ? err : "?");
	free(err);
	rt_st_free(in);
	in = rt_st_read(path, &err);
	EXPECT(t, in && rt_st_count(in) == 1 && rt_st_meta_count(in) == 0 && *(const char *)rt_st_tensor(in, 0)->data == 'z',
	       "overwritten file: %s", err ? err : "wrong contents");
	free(err);
	rt_st_free(small);
done:
	rt_st_free(in);
	rt_st_free(st);
	free(path);
	free(s);
}

/* Runs read_safetensors.py on a file written by rt_st_write. */
static void test_st_python(Tests *t)
{
	if (access(t->python, X_OK) != 0) {
		skip("the Python cross-check of safetensors", "no python3 at --python (default /usr/bin/python3)");
		return;
	}
	Sample *s = calloc(1, sizeof *s);
	RT_CHECK(s);
	RtSafetensors *st = sample_set(s);
	char *path = tmp_path(t, "python.safetensors"), *err = NULL;
	char *script = rt_format("%s/read_safetensors.py", t->srcdir);
	RT_CHECK(script);
	EXPECT(t, rt_st_write(st, path, &err) == 0, "write: %s", err ? err : "?");
	free(err);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl(t->python, t->python, script, path, (char *)NULL);
		_exit(127);
	}
	int status = -1;
	if (pid > 0)
		waitpid(pid, &status, 0);
	EXPECT(t, pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "%s %s %s: exit status %d (127: could not run)", t->python, script, path,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	rt_st_free(st);
	free(path);
	free(script);
	free(s);
}

static void test_st_write_errors(Tests *t)
{
	char *err = NULL, *path = tmp_path(t, "never.safetensors");
	float x[6] = {0};

	RtSafetensors *st = rt_st_create();
	rt_st_add(st, "w", RT_F32, (int64_t[]){2, 3}, 2, x, 20);
	rt_st_add(st, "v", RT_F32, (int64_t[]){1}, 1, x, 4); /* ignored after the first error */
	int rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "wrong byte count", rc != 0, err, path, "tensor 'w': shape [2, 3] of F32 needs 24 bytes, but 20 were given", NULL);
	EXPECT(t, access(path, F_OK) != 0 && !tmp_leftovers(t), "a failed write left a file");
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_add(st, "w", RT_F32, (int64_t[]){1}, 1, x, 4);
	rt_st_add(st, "w", RT_F32, (int64_t[]){1}, 1, x, 4);
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "duplicate name", rc != 0, err, "two tensors are named 'w'", NULL);
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_add(st, "w", (RtDType)9, (int64_t[]){1}, 1, x, 4);
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "bad dtype", rc != 0, err, "tensor 'w': unknown dtype 9", NULL);
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_add(st, "__metadata__", RT_F32, (int64_t[]){1}, 1, x, 4);
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "reserved name", rc != 0, err, "__metadata__ is reserved", NULL);
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_add(st, "bad\xff", RT_F32, (int64_t[]){1}, 1, x, 4);
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "invalid UTF-8 name", rc != 0, err, "is not valid UTF-8", NULL);
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_add(st, "neg", RT_F32, (int64_t[]){-2}, 1, x, 4);
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "negative dimension", rc != 0, err, "tensor 'neg': shape [-2] has a negative dimension", NULL);
	free(err);
	rt_st_free(st);

	st = rt_st_create();
	rt_st_meta(st, "k", "\xc0\x80");
	rc = rt_st_write(st, path, &err);
	expect_error(t, __LINE__, "invalid UTF-8 metadata", rc != 0, err, "metadata 'k'", "UTF-8", NULL);
	free(err);
	rt_st_free(st);

	rc = rt_st_write(NULL, path, &err);
	expect_error(t, __LINE__, "NULL set (rt_st_create out of memory)", rc != 0, err, "out of memory", NULL);
	free(err);

	char *nodir = tmp_path(t, "no/such/dir/x.safetensors");
	st = rt_st_create();
	rc = rt_st_write(st, nodir, &err);
	expect_error(t, __LINE__, "missing folder", rc != 0, err, nodir, "cannot create", "No such file or directory", NULL);
	free(err);
	rt_st_free(st);
	free(nodir);
	free(path);
}

/* A file: the header length, the header, then ndata zero bytes. */
static unsigned char *make_st(const char *json, size_t ndata, size_t *n)
{
	size_t hlen = strlen(json);
	*n = 8 + hlen + ndata;
	unsigned char *b = calloc(1, *n);
	RT_CHECK(b);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(b + 8, json, hlen);
	return b;
}

#define T1(name) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"

static void test_st_malformed(Tests *t)
{
	static const struct {
		const char *json;
		size_t ndata;
		const char *expect;
	} cases[] = {
		{"hello", 0, "at byte 8: expected '{' (a safetensors header is a JSON object), found 'h'"},
		{"[]", 0, "expected '{'"},
		{"{\"a\":", 0, "at byte 13: expected '{' opening a tensor entry, found the end of the header"},
		{"{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, "tensor 'a': unsupported dtype 'F16'"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
		 "tensor 'a': shape [2] of F32 takes 8 bytes, but data_offsets [0, 4] span 4"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
		 "tensor 'a': data_offsets [0, 8] reach beyond the data section, which has 4 bytes"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
		 "\"data_offsets\":[4,12]}}",
		 12, "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])"},
		{"{" T1("a") "[0,4]}," T1("b") "[8,12]}}", 12, "bytes 4 to 8 of the data section belong to no tensor"},
		{"{" T1("a") "[4,8]}}", 8, "bytes 0 to 4 of the data section belong to no tensor"},
		{"{" T1("a") "[0,4]}}", 8, "the data section has 8 bytes, but the tensors end at byte 4"},
		{"{" T1("a") "[0,4]}," T1("a") "[4,8]}}", 8, "two tensors are named 'a'"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a' has no data_offsets"},
		{"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a' has no dtype"},
		{"{\"a\":{}}", 0, "tensor 'a' has no dtype, shape or data_offsets"},
		{"{" T1("a") "[0,4],\"foo\":1}}", 4, "tensor 'a': unknown field 'foo'"},
		{"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", 4, "tensor 'a': field 'dtype' occurs twice"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "found a negative number"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "found a fraction or an exponent"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e3],\"data_offsets\":[0,8]}}", 8, "found a fraction or an exponent"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zeros"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
		 "integer too large"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4,
		 "tensor 'a': the shape has too many elements"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
		 "tensor 'a': data_offsets has 3 numbers, not 2"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
		 "data_offsets [4, 0] end before they begin"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", 4,
		 "expected ',' or '}' in a tensor entry, found the end of the header"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1 2],\"data_offsets\":[0,4]}}", 4,
		 "expected ',' or ']' in an array of integers, found '2'"},
		{"{" T1("a") "[0,4]} " T1("b") "[4,8]}}", 8, "expected ',' or '}' after a header entry, found '\"'"},
		{"{\"__metadata__\":{\"k\":1}}", 0, "the value of metadata 'k' must be a string"},
		{"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "the metadata key 'k' occurs twice"},
		{"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ occurs twice"},
		{"{\"__metadata__\":[]}", 0, "expected '{' opening __metadata__, found '['"},
		{"{\"\xff\":{}}", 0, "at byte 10: invalid UTF-8 in a string"},
		{"{\"\xed\xa0\x80\":{}}", 0, "invalid UTF-8 in a string"}, /* a surrogate, UTF-8 encoded */
		{"{\"\xc1\xbf\":{}}", 0, "invalid UTF-8 in a string"},     /* overlong */
		{"{\"a\tb\":{}}", 0, "control character 0x09 in a string"},
		{"{\"a\\xb\":{}}", 0, "invalid escape sequence in a string"},
		{"{\"a\\u12\":{}}", 0, "\\u needs four hexadecimal digits"},
		{"{\"\\ud800\":{}}", 0, "unpaired surrogate \\ud800"},
		{"{\"\\udc00x\":{}}", 0, "unpaired surrogate \\udc00"},
		{"{\"a\\u0000\":{}}", 0, "\\u0000 is not allowed"},
		{"{\"abc", 0, "unterminated string"},
		{"{} x", 0, "expected the end of the header (only blanks may follow the JSON object), found 'x'"},
		{"{}\t\x01", 0, "found byte 0x01"},
		{"", 0, "expected '{' (a safetensors header is a JSON object), found the end of the header"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n;
		unsigned char *b = make_st(cases[i].json, cases[i].ndata, &n);
		char *err = NULL;
		/* Each case is a file of its own name, and the message names it. */
		char *what = rt_format("bad%zu.safetensors", i);
		RT_CHECK(what);
		if (i == 3 || i == 4) { /* two go through a real file */
			char *path = tmp_path(t, what);
			RT_CHECK(write_bytes(path, b, n));
			RtSafetensors *st = rt_st_read(path, &err);
			expect_error(t, __LINE__, cases[i].json, st == NULL, err, path, cases[i].expect, NULL);
			rt_st_free(st);
			free(path);
		} else {
			RtSafetensors *st = rt_st_parse(b, n, what, &err);
			expect_error(t, __LINE__, cases[i].json, st == NULL, err, what, cases[i].expect, NULL);
			rt_st_free(st);
		}
		free(err);
		free(what);
		free(b);
	}

	/* Sizes. */
	static const struct {
		unsigned char bytes[12];
		size_t n;
		const char *expect;
	} raw[] = {
		{{0}, 0, "0 bytes is too short for a safetensors file"},
		{{2, 0, 0, 0, 0, 0, 0}, 7, "7 bytes is too short"},
		{{0xe8, 3, 0, 0, 0, 0, 0, 0, '{', '}'}, 10, "the header length in the first 8 bytes is 1000, but only 2 bytes follow"},
		{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'}, 10, "is 18446744073709551615, but only 2"},
	};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
		char *err = NULL;
		RtSafetensors *st = rt_st_parse(raw[i].bytes, raw[i].n, "raw.safetensors", &err);
		expect_error(t, __LINE__, "raw bytes", st == NULL, err, "raw.safetensors: ", raw[i].expect, NULL);
		rt_st_free(st);
		free(err);
	}

	char *err = NULL, *missing = tmp_path(t, "missing.safetensors");
	RtSafetensors *st = rt_st_read(missing, &err);
	expect_error(t, __LINE__, "missing file", st == NULL, err, missing, "cannot open: No such file or directory", NULL);
	free(err);
	free(missing);
	st = rt_st_read(t->tmp, &err);
	expect_error(t, __LINE__, "a folder", st == NULL, err, "not a regular file", NULL);
	free(err);

	/* Valid edge cases: the empty header, blanks, escapes, zero-size tensors anywhere. */
	size_t n;
	unsigned char *b = make_st("{}", 0, &n);
	st = rt_st_parse(b, n, "empty", &err);
	EXPECT(t, st && rt_st_count(st) == 0, "{}: %s", err ? err : "");
	rt_st_free(st);
	free(err);
	free(b);
	b = make_st(" \n{ \"__metadata__\" : { \"\\u00e9\\ud83d\\ude00\\/\" : \"\\\"\\b\\f\\n\\r\\t\" } ,\r\n"
	            "\t\"z\":{\"data_offsets\":[4,4],\"shape\":[0],\"dtype\":\"I64\"}, " T1("a") "[0,4]}}   ",
	            4, &n);
	st = rt_st_parse(b, n, "blanks", &err);
	EXPECT(t, st && rt_st_count(st) == 2 && rt_st_meta_count(st) == 1 &&
	              strcmp(rt_st_meta_key(st, 0), "\xc3\xa9\xf0\x9f\x98\x80/") == 0 &&
	              strcmp(rt_st_meta_value(st, 0), "\"\b\f\n\r\t") == 0 && rt_st_get(st, "z")->numel == 0,
	       "blanks and escapes: %s", err ? err : "wrong contents");
	rt_st_free(st);
	free(err);
	free(b);
}

/* Random damage to a valid file: every outcome must be a clean success or a message (run
 * under ASan and UBSan, this is a small fuzzer). */
static void test_st_mutations(Tests *t)
{
	RtSafetensors *st = rt_st_create();
	float x[4] = {1, 2, 3, 4};
	int32_t y[2] = {5, 6};
	rt_st_meta(st, "epoch", "3");
	rt_st_add(st, "x", RT_F32, (int64_t[]){2, 2}, 2, x, sizeof x);
	rt_st_add(st, "y", RT_I32, (int64_t[]){2}, 1, y, sizeof y);
	char *path = tmp_path(t, "mut.safetensors"), *err = NULL;
	RT_CHECK(rt_st_write(st, path, &err) == 0);
	rt_st_free(st);
	FILE *f = fopen(path, "rb");
	unsigned char good[512];
	size_t n = fread(good, 1, sizeof good, f);
	fclose(f);
	unsigned char buf[512];
	int accepted = 0, rejected = 0, silent = 0;
	for (uint32_t it = 0; it < 20000; it++) {
		uint32_t r[4];
		rt_philox_draw(5, 0, 0, it, r);
		memcpy(buf, good, n);
		size_t len = n;
		switch (r[0] % 4) {
		case 0: buf[r[1] % n] ^= (unsigned char)(1u << (r[2] % 8)); break;
		case 1: buf[r[1] % n] = (unsigned char)r[2]; break;
		case 2: len = r[1] % n; break;
		default: buf[r[1] % n] = "{}[]\":,0 \\-e"[r[2] % 12]; break;
		}
		RtSafetensors *m = rt_st_parse(buf, len, "mutant", &err);
		if (m)
			accepted++;
		else if (err)
			rejected++;
		else
			silent++;
		rt_st_free(m);
		free(err);
	}
	EXPECT(t, silent == 0 && rejected > 10000, "mutations: %d accepted, %d rejected, %d without a message", accepted,
	       rejected, silent);
	free(path);
}

/* ---- cifar.c ---- */

#define REC 3073
#define FILE_BYTES (10000 * REC)

static unsigned char *synthetic_batch(void)
{
	unsigned char *b = malloc(FILE_BYTES);
	RT_CHECK(b);
	for (int r = 0; r < 10000; r++) {
		b[r * REC] = (unsigned char)(r % 10);
		for (int j = 0; j < 3072; j++)
			b[r * REC + 1 + j] = (unsigned char)(r * 7 + j);
	}
	return b;
}

static void test_cifar_synthetic(Tests *t)
{
	char *dir = tmp_path(t, "cifar"), *err = NULL;
	RT_CHECK(mkdir(dir, 0777) == 0);
	char *test_file = rt_format("%s/test_batch.bin", dir), *train1 = rt_format("%s/data_batch_1.bin", dir);
	RT_CHECK(test_file && train1);

	RtDataset *d = rt_cifar10_load(dir, 0, &err);
	expect_error(t, __LINE__, "no files", d == NULL, err, train1, "cannot open: No such file or directory",
	             "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and pass --data DIR",
	             NULL);
	free(err);

	unsigned char *b = synthetic_batch();
	RT_CHECK(write_bytes(test_file, b, 5 * REC));
	d = rt_cifar10_load(dir, 1, &err);
	expect_error(t, __LINE__, "truncated", d == NULL, err, test_file,
	             "expected 30730000 bytes (10000 records of 3073), found 15365: the file is truncated",
	             "cifar-10-binary.tar.gz", NULL);
	free(err);

	RT_CHECK(write_bytes(test_file, b, FILE_BYTES));
	FILE *f = fopen(test_file, "ab");
	RT_CHECK(f && fputc(0, f) == 0 && fclose(f) == 0);
	d = rt_cifar10_load(dir, 1, &err);
	expect_error(t, __LINE__, "too long", d == NULL, err, "found 30730001: the file is too long", NULL);
	free(err);

	b[7 * REC] = 10;
	RT_CHECK(write_bytes(test_file, b, FILE_BYTES));
	d = rt_cifar10_load(dir, 1, &err);
	expect_error(t, __LINE__, "bad label", d == NULL, err, test_file, "record 7 (byte 21511) has label 10", NULL);
	free(err);
	b[7 * REC] = 7;

	RT_CHECK(write_bytes(test_file, b, FILE_BYTES));
	d = rt_cifar10_load(dir, 1, &err);
	if (EXPECT(t, d != NULL, "synthetic test split: %s", err ? err : "?")) {
		int64_t shape[3];
		rt_dataset_shape(d, shape);
		EXPECT(t, rt_dataset_size(d) == 10000 && rt_dataset_classes(d) == 10 && shape[0] == 3 && shape[1] == 32 &&
		              shape[2] == 32 && rt_dataset_label(d, 9999) == 9,
		       "synthetic: size and shape");
		const int64_t idx[3] = {9999, 0, 123};
		float *img = malloc(sizeof(float) * 3 * 3072);
		int32_t lab[3];
		RT_CHECK(img);
		rt_dataset_batch(d, idx, 3, img, lab);
		int bad = 0;
		for (int k = 0; k < 3; k++)
			for (int j = 0; j < 3072; j++) {
				unsigned char v = (unsigned char)(idx[k] * 7 + j);
				bad += img[k * 3072 + j] != ((float)v / 255.0f - 0.5f) / 0.5f;
			}
		EXPECT(t, bad == 0 && lab[0] == 9 && lab[1] == 0 && lab[2] == 3, "synthetic batch: %d wrong pixels", bad);
		/* The ends of the range are exact: 0 -> -1, 255 -> 1 (record 0, pixel 0 is 0). */
		int64_t first = 0;
		rt_dataset_batch(d, &first, 1, img, NULL);
		EXPECT(t, img[0] == -1.0f && img[255] == 1.0f, "normalisation ends: %.9g %.9g", img[0], img[255]);
		free(img);
	}
	rt_dataset_free(d);
	free(err);

	/* The training split names the first missing file. */
	RT_CHECK(link(test_file, train1) == 0);
	d = rt_cifar10_load(dir, 0, &err);
	expect_error(t, __LINE__, "second file missing", d == NULL, err, "data_batch_2.bin: cannot open", NULL);
	free(err);

	d = rt_cifar10_load(dir, 2, &err);
	expect_error(t, __LINE__, "bad split", d == NULL, err, "unknown split 2", NULL);
	free(err);
	free(b);
	free(dir);
	free(test_file);
	free(train1);
}

static void test_cifar_real(Tests *t)
{
	char *probe = rt_format("%s/test_batch.bin", t->cifar);
	RT_CHECK(probe);
	bool present = access(probe, R_OK) == 0;
	free(probe);
	if (!present) {
		char *why = rt_format("%s has no test_batch.bin (pass --cifar DIR)", t->cifar);
		skip("the checks on the real CIFAR-10 files", why ? why : "no data");
		free(why);
		return;
	}
	static const double mean_ref[3] = {0.4913, 0.4821, 0.4465}; /* the data's README, train split */
	for (int split = 0; split < 2; split++) {
		char *err = NULL;
		RtDataset *d = rt_cifar10_load(t->cifar, split, &err);
		if (!EXPECT(t, d != NULL, "CIFAR-10 split %d: %s", split, err ? err : "?")) {
			free(err);
			continue;
		}
		int64_t n = rt_dataset_size(d), expect_n = split ? 10000 : 50000;
		EXPECT(t, n == expect_n, "split %d: %lld images", split, (long long)n);
		int64_t count[10] = {0};
		for (int64_t i = 0; i < n; i++)
			count[rt_dataset_label(d, i)]++;
		int wrong = 0;
		for (int c = 0; c < 10; c++)
			wrong += count[c] != expect_n / 10;
		EXPECT(t, wrong == 0, "split %d: class counts %lld %lld ... (expected %lld each)", split,
		       (long long)count[0], (long long)count[1], (long long)(expect_n / 10));
		if (split == 0) {
			enum { CHUNK = 1000 };
			float *img = malloc(sizeof(float) * CHUNK * 3072);
			int64_t *idx = malloc(sizeof *idx * CHUNK);
			RT_CHECK(img && idx);
			double sum[3] = {0};
			for (int64_t start = 0; start < n; start += CHUNK) {
				for (int k = 0; k < CHUNK; k++)
					idx[k] = start + k;
				rt_dataset_batch(d, idx, CHUNK, img, NULL);
				for (int k = 0; k < CHUNK; k++)
					for (int c = 0; c < 3; c++)
						for (int j = 0; j < 1024; j++)
							sum[c] += (img[k * 3072 + c * 1024 + j] + 1) / 2;
			}
			for (int c = 0; c < 3; c++) {
				double mean = sum[c] / ((double)n * 1024);
				EXPECT(t, fabs(mean - mean_ref[c]) < 1e-3, "train channel %d mean %.5f, README says %.4f", c, mean,
				       mean_ref[c]);
			}
			free(img);
			free(idx);
		}
		rt_dataset_free(d);
	}
}

int main(int argc, char **argv)
{
	Tests t = {.cifar = "../shared/data/cifar10", .python = "/usr/bin/python3"};
	char *srcdir = strdup(__FILE__);
	RT_CHECK(srcdir);
	char *slash = strrchr(srcdir, '/');
	if (slash)
		*slash = '\0';
	t.srcdir = slash ? srcdir : ".";
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--cifar") == 0)
			t.cifar = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--python") == 0)
			t.python = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--srcdir") == 0)
			t.srcdir = argv[++i];
		else {
			fprintf(stderr, "usage: test_runtime [--cifar DIR] [--python PATH] [--srcdir DIR]\n");
			return 2;
		}
	}
	const char *tmpdir = getenv("TMPDIR");
	char *tmp = rt_format("%s/test_runtime.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!tmp || !mkdtemp(tmp)) {
		fprintf(stderr, "test_runtime: cannot make a scratch folder: %s\n", strerror(errno));
		return 1;
	}
	t.tmp = tmp;

	test_philox(&t);
	test_init_stats(&t);
	test_init_determinism(&t);
	test_sincos(&t);
	test_randperm(&t);
	test_st_round_trip(&t);
	test_st_python(&t);
	test_st_write_errors(&t);
	test_st_malformed(&t);
	test_st_mutations(&t);
	test_cifar_synthetic(&t);
	test_cifar_real(&t);

	remove_tree(tmp);
	free(tmp);
	free(srcdir);
	return tally_report(&t.tally);
}
