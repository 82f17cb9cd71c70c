/* dataset.h: the inside of RtDataset, shared by the loaders (cifar.c, idx.c) and the
 * functions on it (in cifar.c). Not part of maec_rt.h: generated code and the trainer see
 * the struct as opaque.
 *
 * A dataset is held whole in memory as the bytes of the files; rt_dataset_batch converts
 * the images it is asked for to float on the way out. A loader fills every field, and
 * rt_dataset_free frees pixels and labels with free().
 */
#ifndef MAEC_DATASET_H
#define MAEC_DATASET_H

#include <stdint.h>

#include "maec_rt.h"

struct RtDataset {
	int64_t n;                   /* images */
	int channels, height, width; /* of one image */
	int classes;                 /* every label is 0..classes-1 */
	uint8_t *pixels;             /* n images of channels x height x width bytes, each [c][h][w] */
	uint8_t *labels;             /* n */
};

static inline int64_t rt_dataset_image_bytes(const RtDataset *d)
{
	return (int64_t)d->channels * d->height * d->width;
}

#endif
