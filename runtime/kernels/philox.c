/* philox.c: Philox4x32-10 and the distributions every random consumer builds on.
 *
 * The scheme that maps (seed, stream, step, index) to a counter and key is documented in
 * maec_rt.h; a GPU backend implements the same few lines, so both draw the same numbers.
 */
#include <float.h>
#include <math.h>

#include "maec_rt.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static const double PI = 3.14159265358979323846;

/* Ten rounds; each does two 32x32 -> 64-bit multiplies, mixes the high halves with the
 * other two words and the key, and moves the key along a Weyl sequence. */
void rt_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];
	for (int round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

void rt_philox_draw(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, uint32_t out[4])
{
	const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, step};
	const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
	rt_philox(ctr, key, out);
}

float rt_u01(uint32_t x)
{
	return (float)(x >> 8) * 0x1p-24f;
}

double rt_u01_double(uint32_t hi, uint32_t lo)
{
	uint64_t bits = ((uint64_t)hi << 32 | lo) >> 11;
	return (double)bits * 0x1p-53;
}

/* Box-Muller: 1 - u1 is in (0, 1], so the logarithm is finite. Uses the cosine branch only:
 * one normal per element keeps the element -> counter mapping trivial. */
double rt_normal(const uint32_t x[4])
{
	double u1 = rt_u01_double(x[0], x[1]);
	double u2 = rt_u01_double(x[2], x[3]);
	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * PI * u2);
}

/* Through erfc, so that Phi(x) keeps its relative precision for large negative x. */
double rt_normal_cdf(double x)
{
	return 0.5 * erfc(-x / sqrt(2.0));
}

/* C has no erfinv. For p <= 1/2: Abramowitz & Stegun 26.2.23 (absolute error < 4.5e-4) as the
 * start, then Halley steps on Phi(x) - p, which converge cubically to full double precision.
 * p > 1/2 by symmetry (1 - p is exact there). */
double rt_normal_quantile(double p)
{
	if (!(p >= 0.0 && p <= 1.0))
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	if (p > 0.5)
		return -rt_normal_quantile(1.0 - p);
	double t = sqrt(-2.0 * log(p));
	double x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) /
	                     (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
	for (int i = 0; i < 4; i++) {
		double pdf = exp(-0.5 * x * x) / sqrt(2.0 * PI);
		if (pdf < DBL_MIN) /* beyond about -37.5: the start is as good as it gets */
			break;
		double u = (rt_normal_cdf(x) - p) / pdf;
		double dx = u / (1.0 + 0.5 * x * u);
		x -= dx;
		if (fabs(dx) <= 1e-17 * fabs(x))
			break;
	}
	return x;
}
