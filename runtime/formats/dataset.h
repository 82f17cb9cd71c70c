/* dataset.h: the inside of RtDataset, shared by the loaders (cifar.c, idx.c) and the
 * functions on it (in cifar.c). Not part of maec_rt.h: generated code and the trainer see
 * the struct as opaque.
 *
 * A dataset is held whole in memory as the bytes of the files; rt_dataset_batch converts
 * the images it is asked for to float on the way out. A loader fills every field, and
 * rt_dataset_free frees pixels and labels with free(). An image folder (folder.c) keeps its
 * files instead, and the functions on a dataset hand it to folder.c.
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
	struct RtFolder *folder;     /* an image folder (folder.c), read from its files: no pixels or labels */
};

static inline int64_t rt_dataset_image_bytes(const RtDataset *d)
{
	return (int64_t)d->channels * d->height * d->width;
}

/* folder.c, for the functions on a dataset (cifar.c) */
int32_t rt_folder_label(const RtDataset *d, int64_t i);
int rt_folder_read(const RtDataset *d, const int64_t *indices, int64_t b, const RtDraw *draw, float *images,
                   int32_t *labels, char **err);
void rt_folder_free(struct RtFolder *f);

/* pool.c: threads for the image-folder loader. */
typedef struct RtPool RtPool;
RtPool *rt_pool_new(int threads); /* NULL: out of memory */
int rt_pool_threads(const RtPool *p);
void rt_pool_for(RtPool *p, int64_t n, void (*fn)(void *arg, int64_t i), void *arg);
void rt_pool_free(RtPool *p);

#endif
