/* init.c: parameter initialisation (maec_rt.h lists the kinds and the random scheme).
 *
 * Each random kind is a function of one uniform or normal number per element, drawn from
 * rt_philox_draw(seed, param_index, 0, i), so the values do not depend on the order of the
 * loop and a GPU backend can produce the same ones.
 */
#include <math.h>
#include <string.h>

#include "maec_rt.h"

static void init_fill(float *p, int64_t n, float v)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = v;
}

static double draw_u01(uint64_t seed, uint32_t stream, int64_t i)
{
	uint32_t x[4];
	rt_philox_draw(seed, stream, 0, (uint64_t)i, x);
	return rt_u01_double(x[0], x[1]);
}

static void init_normal(float *p, int64_t n, double std, uint64_t seed, uint32_t stream)
{
	RT_CHECK(std > 0);
	for (int64_t i = 0; i < n; i++) {
		uint32_t x[4];
		rt_philox_draw(seed, stream, 0, (uint64_t)i, x);
		p[i] = (float)(std * rt_normal(x));
	}
}

/* nn.init.trunc_normal_(std=std, a=lo, b=hi): u ~ U(Phi(lo/std), Phi(hi/std)), then
 * x = std * Phi^-1(u), clamped to [lo, hi]. PyTorch does this in float; we do it in double.
 * An interval above the mean is drawn as its mirror image below and negated, because Phi
 * is accurate in the lower tail only: trunc_normal(1, 10, 11) still gives values in range
 * with the right distribution, where 1 - Phi(10) would round to 0. */
static void init_trunc_normal(float *p, int64_t n, double std, double lo, double hi, uint64_t seed,
                              uint32_t stream)
{
	RT_CHECK(std > 0 && lo < hi);
	double sign = 1.0;
	if (lo > 0) {
		double t = lo;
		lo = -hi;
		hi = -t;
		sign = -1.0;
	}
	double cdf_lo = rt_normal_cdf(lo / std), cdf_hi = rt_normal_cdf(hi / std);
	for (int64_t i = 0; i < n; i++) {
		double u = cdf_lo + (cdf_hi - cdf_lo) * draw_u01(seed, stream, i);
		double x = std * rt_normal_quantile(u);
		x = x < lo ? lo : x > hi ? hi : x;
		p[i] = (float)(sign * x);
	}
}

/* U(lo, hi) from a 53-bit uniform, rounded to float: values lie in [lo, hi]. */
static void init_uniform(float *p, int64_t n, double lo, double hi, uint64_t seed, uint32_t stream)
{
	RT_CHECK(lo < hi);
	for (int64_t i = 0; i < n; i++)
		p[i] = (float)(lo + (hi - lo) * draw_u01(seed, stream, i));
}

/* One 1-D table row: out[k] = sin(pos * om_k), out[q + k] = cos(pos * om_k), k < q, with
 * om_k = 1 / 10000^(k / q), computed as get_1d_sincos_pos_embed_from_grid does in float64. */
static void sincos_1d(float *out, double pos, int64_t q)
{
	for (int64_t k = 0; k < q; k++) {
		double omega = 1.0 / pow(10000.0, (double)k / (double)q);
		out[k] = (float)sin(pos * omega);
		out[q + k] = (float)cos(pos * omega);
	}
}

/* facebookresearch/mae util/pos_embed.py get_2d_sincos_pos_embed, for a grid_h x grid_w grid
 * (the original takes square grids): grid = meshgrid(grid_w, grid_h), so grid[0] is the w
 * coordinate, and emb = concat(e(grid[0]), e(grid[1])): the first half of each row encodes
 * w, the second half h. cls_rows zero rows come first. */
static void init_sincos2d(float *p, int64_t n, const double args[4], const int64_t *shape, int rank)
{
	double gh_arg = args[0], gw_arg = args[1], cls_arg = args[2];
	RT_CHECK(gh_arg >= 1 && gw_arg >= 1 && cls_arg >= 0 && gh_arg <= INT32_MAX && gw_arg <= INT32_MAX &&
	         cls_arg <= INT32_MAX);
	int64_t grid_h = (int64_t)gh_arg, grid_w = (int64_t)gw_arg, cls_rows = (int64_t)cls_arg;
	RT_CHECK(grid_h == gh_arg && grid_w == gw_arg && cls_rows == cls_arg);
	RT_CHECK(shape && rank >= 2);
	int64_t width = shape[rank - 1];
	RT_CHECK(width > 0 && width % 4 == 0 && n % width == 0);
	RT_CHECK(n / width == grid_h * grid_w + cls_rows);
	int64_t q = width / 4;
	memset(p, 0, sizeof *p * (size_t)(cls_rows * width));
	for (int64_t h = 0; h < grid_h; h++)
		for (int64_t w = 0; w < grid_w; w++) {
			float *row = p + (cls_rows + h * grid_w + w) * width;
			sincos_1d(row, (double)w, q);
			sincos_1d(row + 2 * q, (double)h, q);
		}
}

void rt_init_param(float *p, int64_t n, int kind, const double args[4], const int64_t *shape, int rank,
                   uint64_t seed, uint32_t param_index)
{
	RT_CHECK(n >= 0 && (p || n == 0));
	if (shape) {
		int64_t numel = 1;
		for (int i = 0; i < rank; i++)
			numel *= shape[i];
		RT_CHECK(numel == n);
	}
	switch (kind) {
	case RT_INIT_ZEROS:
		init_fill(p, n, 0.0f);
		break;
	case RT_INIT_ONES:
		init_fill(p, n, 1.0f);
		break;
	case RT_INIT_NORMAL:
		init_normal(p, n, args[0], seed, param_index);
		break;
	case RT_INIT_TRUNC_NORMAL:
		init_trunc_normal(p, n, args[0], args[1], args[2], seed, param_index);
		break;
	case RT_INIT_UNIFORM:
		init_uniform(p, n, args[0], args[1], seed, param_index);
		break;
	case RT_INIT_FAN_IN_UNIFORM:
		RT_CHECK(args[0] >= 1);
		init_uniform(p, n, -1.0 / sqrt(args[0]), 1.0 / sqrt(args[0]), seed, param_index);
		break;
	case RT_INIT_XAVIER_UNIFORM: {
		RT_CHECK(args[0] >= 1 && args[1] >= 1);
		double a = sqrt(6.0 / (args[0] + args[1]));
		init_uniform(p, n, -a, a, seed, param_index);
		break;
	}
	case RT_INIT_SINCOS2D:
		init_sincos2d(p, n, args, shape, rank);
		break;
	default:
		rt_bug(__FILE__, __LINE__, "unknown init kind %d", kind);
	}
}
