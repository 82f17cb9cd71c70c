/* recon.c: reconstruction pictures from a masked autoencoder's forward (trainer.h).
 *
 * Pixels go back to bytes by undoing the recipe's normalisation, x * std + mean per
 * channel (the data sets': 0.5 and 0.5, the reference's (x + 1) / 2; an image folder's:
 * its recipe's mean and std), rounded and clamped to 0..255.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer.h"

static int find_output(const RtModelDesc *m, const char *name)
{
	for (int i = 0; i < m->nouts; i++)
		if (m->out_names[i] && strcmp(m->out_names[i], name) == 0)
			return i;
	return -1;
}

int rt_recon_find(const RtModelDesc *m, const RtRecipeDesc *r, RtRecon *rc, char **err)
{
	*err = NULL;
	const int64_t *image = r->image;
	*rc = (RtRecon){.model = m, .pred = find_output(m, "pred"), .mask = find_output(m, "mask"),
	                .image = {image[0], image[1], image[2]}};
	for (int c = 0; c < 3; c++) { /* an image folder's recipe says; the data sets' are 0.5, 0.5 */
		bool own = r->images.std[0] > 0;
		rc->mean[c] = own ? r->images.mean[c] : 0.5;
		rc->std[c] = own ? r->images.std[c] : 0.5;
	}
	if (rc->pred < 0 || rc->mask < 0) {
		*err = rt_format("model %s's forward returns no outputs named pred and mask: it makes no reconstructions",
		                 m->name);
		return -1;
	}
	int64_t C = image[0], H = image[1], W = image[2], pixels = C * H * W;
	int64_t np = m->out_numel[rc->pred], nm = m->out_numel[rc->mask];
	if (np == pixels && nm == pixels)
		return 0;
	/* patches: mask [L], pred [L, p*p*C] with L = (H / p) * (W / p) */
	for (int64_t p = 1; nm > 0 && p <= H && p <= W; p++)
		if (H % p == 0 && W % p == 0 && (H / p) * (W / p) == nm && np == nm * p * p * C) {
			rc->patch = p;
			return 0;
		}
	*err = rt_format("model %s: pred has %lld values and mask %lld per image; a reconstruction of %lldx%lldx%lld "
	                 "images needs images of that shape, or [L, p*p*C] patches and [L]",
	                 m->name, (long long)np, (long long)nm, (long long)C, (long long)H, (long long)W);
	return -1;
}

static uint8_t to_byte(const RtRecon *rc, int64_t c, real x)
{
	double v = round(((double)x * rc->std[c] + rc->mean[c]) * 255);
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Output k of image b at channel c, row y, column x, in either layout. */
static real at(const RtRecon *rc, const real *out, int64_t numel, int64_t b, int64_t c, int64_t y, int64_t x,
               bool is_mask)
{
	int64_t C = rc->image[0], H = rc->image[1], W = rc->image[2];
	if (!rc->patch)
		return out[b * numel + (c * H + y) * W + x];
	int64_t p = rc->patch, l = (y / p) * (W / p) + x / p;
	if (is_mask)
		return out[b * numel + l];
	return out[b * numel + l * p * p * C + ((y % p) * p + x % p) * C + c];
}

uint8_t *rt_recon_picture(const RtRecon *rc, RtState *st, const real *images, int64_t n, int *width, int *height,
                          char **err)
{
	*err = NULL;
	const RtModelDesc *m = rc->model;
	int64_t C = rc->image[0], H = rc->image[1], W = rc->image[2], image = C * H * W;
	int64_t np = m->out_numel[rc->pred], nm = m->out_numel[rc->mask];
	real **outs = calloc((size_t)m->nouts, sizeof *outs);
	real **part = calloc((size_t)m->nouts, sizeof *part);
	bool ok = outs && part;
	for (int i = 0; i < m->nouts && ok; i++)
		ok = (outs[i] = malloc(sizeof(real) * (size_t)(m->out_numel[i] * n))) != NULL;
	int64_t cols = n < 2 ? n : 2, rows = (n + 1) / 2;
	*width = (int)(cols * 3 * W);
	*height = (int)(rows * H);
	uint8_t *px = ok ? calloc((size_t)(*width * *height * C), 1) : NULL;
	if (!px) {
		*err = rt_format("out of memory drawing a reconstruction");
		goto done;
	}
	uint32_t keep_step = st->rng_step;
	real keep_batch = st->s.batch;
	st->rng_step = RT_RECON_RNG_STEP;
	int failed = 0;
	for (int64_t b0 = 0; b0 < n && !failed; b0 += m->max_batch) {
		int64_t b = n - b0 < m->max_batch ? n - b0 : m->max_batch;
		for (int i = 0; i < m->nouts; i++)
			part[i] = outs[i] + b0 * m->out_numel[i];
		st->s.batch = (real)b;
		failed = m->forward(st, b, images + b0 * image, part);
	}
	st->rng_step = keep_step;
	st->s.batch = keep_batch;
	if (failed) {
		*err = rt_format("model %s's forward failed", m->name);
		free(px);
		px = NULL;
		goto done;
	}
	for (int64_t b = 0; b < n; b++) {
		int64_t x0 = (b % 2) * 3 * W, y0 = (b / 2) * H;
		for (int64_t c = 0; c < C; c++)
			for (int64_t y = 0; y < H; y++)
				for (int64_t x = 0; x < W; x++) {
					real orig = images[b * image + (c * H + y) * W + x];
					real mask = at(rc, outs[rc->mask], nm, b, c, y, x, true);
					real pred = at(rc, outs[rc->pred], np, b, c, y, x, false);
					real shown[3] = {orig * (1 - mask), pred * mask + orig * (1 - mask), orig};
					for (int k = 0; k < 3; k++)
						px[((y0 + y) * *width + x0 + k * W + x) * C + c] = to_byte(rc, c, shown[k]);
				}
	}
done:
	for (int i = 0; outs && i < m->nouts; i++)
		free(outs[i]);
	free(outs);
	free(part);
	return px;
}
