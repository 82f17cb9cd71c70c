/* test_folder.c: the image-folder loader's pieces as commands, for tests/folder/folder.py,
 * which compares what they print and write against torchvision and PIL:
 *   list DIR SPLIT [skip] [cache]      classes, then "LABEL PATH" per image; with skip, bad
 *                                      files left out, then "skipped N: FIRST MESSAGE"; with
 *                                      cache, the images decoded at open
 *   decode FILE CH OUT                 the decoded pixels (HWC bytes); prints "W H"
 *   crop FILE CH X Y W H OW OH OUT     the crop resized to OW x OH (PIL bicubic)
 *   center FILE CH RESIZE W H OUT      Resize(RESIZE) then CenterCrop((H, W))
 *   read DIR SPLIT CH H W random|center RESIZE FLIP SEED STEP THREADS OUT
 *                                      every image of the split through rt_dataset_read, as
 *                                      float [C, H, W]; prints "LABEL X Y W H FLIP" per image
 *                                      (the random crop's box, -1s for the centre crop);
 *                                      then skip, cache, or both, as for list
 * Each exits 1 with the loader's message on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maec_rt.h"

static int die(char *err)
{
	fprintf(stderr, "test_folder: %s\n", err ? err : "out of memory");
	free(err);
	return 1;
}

static uint8_t *decode_file(const char *path, int ch, int *w, int *h, char **err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = rt_format("%s: cannot open", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
	fclose(f);
	uint8_t *px = rt_image_decode(b, got, path, ch, w, h, err);
	free(b);
	return px;
}

/* Whether the flag is among the arguments from argv[from]. */
static bool flag(int argc, char **argv, int from, const char *name)
{
	for (int k = from; k < argc; k++)
		if (strcmp(argv[k], name) == 0)
			return true;
	return false;
}

static int put(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(data, 1, n, f) == n;
	if (f)
		fclose(f);
	return ok ? 0 : die(rt_format("%s: cannot write", path));
}

int main(int argc, char **argv)
{
	char *err = NULL;
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "list") == 0 && argc >= 4 && argc <= 6) {
		RtFolderOptions o = {.channels = 3, .height = 8, .width = 8, .resize = 8, .threads = 2,
		                     .mean = {0, 0, 0}, .std = {1, 1, 1}, .skip_bad = flag(argc, argv, 4, "skip"),
		                     .cache = flag(argc, argv, 4, "cache")};
		RtDataset *d = rt_folder_open(argv[2], atoi(argv[3]), &o, &err);
		if (!d)
			return die(err);
		printf("classes");
		for (int c = 0; c < rt_dataset_classes(d); c++)
			printf(" %s", strrchr(rt_folder_class(d, c), '/') + 1);
		printf("\n");
		for (int64_t i = 0; i < rt_dataset_size(d); i++)
			printf("%d %s\n", rt_dataset_label(d, i), rt_folder_path(d, i));
		const char *first;
		int64_t skipped = rt_folder_skipped(d, &first);
		if (o.skip_bad)
			printf("skipped %lld: %s\n", (long long)skipped, first ? first : "-");
		rt_dataset_free(d);
		return 0;
	}
	if (strcmp(cmd, "decode") == 0 && argc == 5) {
		int w, h, ch = atoi(argv[3]);
		uint8_t *px = decode_file(argv[2], ch, &w, &h, &err);
		if (!px)
			return die(err);
		printf("%d %d\n", w, h);
		int rc = put(argv[4], px, (size_t)w * (size_t)h * (size_t)ch);
		free(px);
		return rc;
	}
	if ((strcmp(cmd, "crop") == 0 && argc == 11) || (strcmp(cmd, "center") == 0 && argc == 8)) {
		int w, h, ch = atoi(argv[3]);
		uint8_t *px = decode_file(argv[2], ch, &w, &h, &err);
		if (!px)
			return die(err);
		int crop[4] = {0, 0, w, h}, win[4], ow, oh;
		if (cmd[0] == 'c' && cmd[1] == 'r') {
			for (int k = 0; k < 4; k++)
				crop[k] = atoi(argv[4 + k]);
			ow = atoi(argv[8]);
			oh = atoi(argv[9]);
			win[0] = win[1] = 0;
			win[2] = ow;
			win[3] = oh;
		} else {
			if (rt_resize_shorter(w, h, atoi(argv[4]), &ow, &oh)) {
				free(px);
				return die(rt_format("%s: resized, its longer side would pass 2^31 pixels", argv[2]));
			}
			win[2] = atoi(argv[5]);
			win[3] = atoi(argv[6]);
			rt_center_crop(ow, oh, win[2], win[3], &win[0], &win[1]);
		}
		size_t n = (size_t)win[2] * (size_t)win[3] * (size_t)ch;
		uint8_t *out = malloc(n);
		if (!out || rt_image_resize(px, w, ch, crop, ow, oh, win, out)) {
			free(px);
			free(out);
			return die(NULL);
		}
		int rc = put(argv[argc - 1], out, n);
		free(px);
		free(out);
		return rc;
	}
	if (strcmp(cmd, "read") == 0 && argc >= 14 && argc <= 16) {
		RtFolderOptions o = {.channels = atoi(argv[4]), .height = atoi(argv[5]), .width = atoi(argv[6]),
		                     .random_crop = strcmp(argv[7], "random") == 0, .scale = {0.2, 1.0},
		                     .ratio = {3.0 / 4, 4.0 / 3}, .resize = atoi(argv[8]), .flip = atof(argv[9]),
		                     .threads = atoi(argv[12]), .skip_bad = flag(argc, argv, 14, "skip"),
		                     .cache = flag(argc, argv, 14, "cache")};
		for (int c = 0; c < 3; c++) {
			o.mean[c] = 0.485f + 0.01f * (float)c;
			o.std[c] = 0.229f + 0.01f * (float)c;
		}
		RtDataset *d = rt_folder_open(argv[2], atoi(argv[3]), &o, &err);
		if (!d)
			return die(err);
		int64_t n = rt_dataset_size(d), image = (int64_t)o.channels * o.height * o.width;
		RtDraw draw = {.seed = strtoull(argv[10], NULL, 10), .step = (uint32_t)atoi(argv[11]), .first = 0};
		int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
		float *x = malloc(sizeof(float) * (size_t)(n * image));
		int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
		for (int64_t i = 0; i < n; i++)
			idx[i] = i;
		int rc = rt_dataset_read(d, idx, n, &draw, x, labels, &err) ? die(err) : 0;
		for (int64_t i = 0; i < n && !rc; i++) {
			int box[4] = {-1, -1, -1, -1}, w, h;
			if (o.random_crop) {
				uint8_t *px = decode_file(rt_folder_path(d, i), o.channels, &w, &h, &err);
				if (!px) {
					rc = die(err);
					break;
				}
				free(px);
				rt_random_resized_crop(w, h, o.scale, o.ratio, draw.seed, draw.step, (uint64_t)i, box);
			}
			bool flip = o.flip > 0 && rt_random_flip(o.flip, draw.seed, draw.step, (uint64_t)i);
			printf("%d %d %d %d %d %d\n", labels[i], box[0], box[1], box[2], box[3], flip);
		}
		if (!rc)
			rc = put(argv[13], x, sizeof(float) * (size_t)(n * image));
		free(idx);
		free(x);
		free(labels);
		rt_dataset_free(d);
		return rc;
	}
	fprintf(stderr, "usage: test_folder list|decode|crop|center|read ... (see test_folder.c)\n");
	return 2;
}
