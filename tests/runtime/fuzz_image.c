/* fuzz_image: libFuzzer harness for the image decoders and transforms of image folders
 * (runtime/formats/image.c).
 *
 * The input is a flags byte, then a file's bytes (JPEG or PNG, or anything). Flags: bit 0
 * asks for grey (1 channel) rather than RGB; bits 4-7 pick the output size of a resize
 * (1 + (flags >> 4) pixels a side, onto which the whole image is resized) and bits 1-3 the
 * crop of a random_resized_crop drawn with that value as its index.
 *
 * Every input must give pixels or a message, never a crash, a leak or a silent failure;
 * rt_image_probe must agree with rt_image_decode on whether the file is good (the probe
 * sees the header only, so a file bad past its header may pass the probe and fail the
 * decode, never the other way) and on its size. Images over 2^22 pixels are probed only: a
 * header may declare up to 2^28, whose decoding takes seconds and gigabytes of the
 * sanitizers' memory without exercising anything the smaller ones do not.
 *   fuzz_image -max_len=16384 CORPUS_DIR      (tests/fuzz/README.md)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "maec_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_image: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int flags = data[0], channels = flags & 1 ? 1 : 3;
	data++;
	size--;
	int pw = 0, ph = 0, w = 0, h = 0;
	char *perr = NULL, *err = NULL;
	int probed = rt_image_probe(data, size, "input", channels, &pw, &ph, &perr);
	if (probed != 0 && (!perr || !*perr))
		fail("the probe refused a file without a message");
	if (probed == 0 && (pw < 1 || ph < 1 || (int64_t)pw * ph > (1 << 28)))
		fail("the probe passed a size outside 1..2^28 pixels");
	free(perr);
	if (probed == 0 && (int64_t)pw * ph > (1 << 22))
		return 0;
	uint8_t *px = rt_image_decode(data, size, "input", channels, &w, &h, &err);
	if (!px) {
		if (!err || !*err)
			fail("the decoder refused a file without a message");
		free(err);
		return 0;
	}
	if (probed != 0)
		fail("the decoder read a file the probe refused");
	if (w != pw || h != ph)
		fail("the decoder and the probe disagree on the size");
	/* the transforms on what was decoded: a random crop resized, and a centre window */
	int out = 1 + (flags >> 4), box[4];
	const double scale[2] = {0.2, 1.0}, ratio[2] = {3.0 / 4, 4.0 / 3};
	rt_random_resized_crop(w, h, scale, ratio, 42, 0, (uint64_t)(flags >> 1 & 7), box);
	if (box[0] < 0 || box[1] < 0 || box[2] < 1 || box[3] < 1 || box[0] + box[2] > w || box[1] + box[3] > h)
		fail("random_resized_crop drew a box outside the image");
	uint8_t *dst = malloc((size_t)out * (size_t)out * (size_t)channels);
	if (!dst)
		fail("out of memory");
	const int whole[4] = {0, 0, out, out};
	if (rt_image_resize(px, w, channels, box, out, out, whole, dst) != 0)
		fail("resize of a small crop ran out of memory");
	int rw, rh, cx, cy;
	if (rt_resize_shorter(w, h, out, &rw, &rh) == 0) {
		rt_center_crop(rw, rh, out, out, &cx, &cy);
		const int full[4] = {0, 0, w, h}, window[4] = {cx, cy, out, out};
		if (rw >= out && rh >= out && (int64_t)rw * rh <= (1 << 24) &&
		    rt_image_resize(px, w, channels, full, rw, rh, window, dst) != 0)
			fail("resize of a centre window ran out of memory");
	}
	free(dst);
	free(px);
	return 0;
}
