/* folder.c: image folders, listed as torchvision's ImageFolder lists them and read through
 * image.c's decoders and transforms on a pool of threads (maec_rt.h, "folder.c").
 *
 * Opening lists the split, then reads every file's header on the pool, so that a bad file
 * stops the run before it starts (or, with skip_bad, is left out and counted). Reading
 * decodes each image again from its file (or takes it from the cache), transforms it with
 * the draws of its place in the read, and writes image k of the read only: any number of
 * threads gives the same bytes. A file found bad only then (truncated data) is reported
 * for the lowest k that has one, or with skip_bad replaced by the next good file. The cache
 * decodes every image at open, after its header's checks, but keeps such a file in its
 * place too: the images, their order and what stands in for a bad one are the same with
 * and without it.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/dataset.h"
#include "maec_rt.h"

typedef struct Cached {
	uint8_t *px; /* HWC; NULL: bad, and err says why */
	int w, h;
	char *err;
} Cached;

typedef struct RtFolder {
	char *root;
	char **classes;
	int nclasses;
	char **paths;
	int32_t *labels;
	int64_t n;
	RtFolderOptions o;
	RtPool *pool;
	Cached *cache;         /* n, with o.cache */
	atomic_bool *bad;      /* n: found bad when decoded (skip_bad), each counted once */
	atomic_llong skipped;
	pthread_mutex_t mu;    /* first_bad */
	char *first_bad;
} RtFolder;


/* ---------- listing ---------- */

typedef struct Strs {
	char **p;
	int64_t n, cap;
} Strs;

static bool strs_push(Strs *s, char *x)
{
	if (!x)
		return false;
	if (s->n == s->cap) {
		int64_t cap = s->cap ? 2 * s->cap : 16;
		char **p = realloc(s->p, sizeof(char *) * (size_t)cap);
		if (!p) {
			free(x);
			return false;
		}
		s->p = p;
		s->cap = cap;
	}
	s->p[s->n++] = x;
	return true;
}

static void strs_free(Strs *s)
{
	for (int64_t i = 0; i < s->n; i++)
		free(s->p[i]);
	free(s->p);
	*s = (Strs){0};
}

/* Python's sorted() on str: code points, which strcmp on UTF-8 bytes orders alike. */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted by name, bytewise (Python's sorted on str); an empty list is left alone (qsort's
 * pointer must not be NULL). */
static void sort_strs(Strs *s)
{
	if (s->n > 0)
		qsort(s->p, (size_t)s->n, sizeof *s->p, by_name);
}

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode); /* follows links, as os.scandir's is_dir */
}

/* torchvision's IMG_EXTENSIONS: the files listed, so that the images and their order are
 * ImageFolder's; of them only JPEG and PNG decode, and the messages say so. */
#define IMAGE_EXTENSIONS(X) X(".jpg") X(".jpeg") X(".png") X(".ppm") X(".bmp") X(".pgm") X(".tif") X(".tiff") X(".webp")
#define EXTENSION_ITEM(e) e,
#define EXTENSION_TEXT(e) " " e
#define LISTED "files named" IMAGE_EXTENSIONS(EXTENSION_TEXT) " (any case, as torchvision's ImageFolder lists)"

/* A name with one of IMAGE_EXTENSIONS, any case. */
static bool has_image_extension(const char *name)
{
	static const char *const ext[] = {IMAGE_EXTENSIONS(EXTENSION_ITEM)};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t k = strlen(ext[i]);
		if (n >= k && strcasecmp(name + n - k, ext[i]) == 0)
			return true;
	}
	return false;
}

/* The entries of dir: its subfolders into dirs and its other entries into files (either
 * may be NULL), as full paths. NULL or a message. */
static char *list_dir(const char *dir, Strs *dirs, Strs *files)
{
	DIR *d = opendir(dir);
	if (!d)
		return rt_format("%s: cannot open the folder: %s", dir, strerror(errno));
	struct dirent *e;
	char *msg = NULL;
	while (!msg && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = rt_format("%s/%s", dir, e->d_name);
		if (!path) {
			msg = rt_format("%s: out of memory", dir);
			break;
		}
		Strs *to = is_dir(path) ? dirs : files;
		if (!to)
			free(path);
		else if (!strs_push(to, path))
			msg = rt_format("%s: out of memory", dir);
	}
	closedir(d);
	return msg;
}

/* Every folder under dir (dir too), links followed; depth guards against a link to a
 * folder above. */
static char *walk(const char *dir, int depth, Strs *out)
{
	if (depth > 64)
		return rt_format("%s: folders nest more than 64 deep (a link to a folder above it?)", dir);
	char *self = rt_format("%s", dir);
	if (!strs_push(out, self))
		return rt_format("%s: out of memory", dir);
	Strs sub = {0};
	char *msg = list_dir(dir, &sub, NULL);
	for (int64_t i = 0; !msg && i < sub.n; i++)
		msg = walk(sub.p[i], depth + 1, out);
	strs_free(&sub);
	return msg;
}

/* The images of one class folder in torchvision's order: sorted(os.walk(dir)), then each
 * folder's files by name. */
static char *list_class(const char *dir, Strs *paths)
{
	Strs dirs = {0};
	char *msg = walk(dir, 0, &dirs);
	if (!msg)
		sort_strs(&dirs);
	for (int64_t i = 0; !msg && i < dirs.n; i++) {
		Strs files = {0};
		msg = list_dir(dirs.p[i], NULL, &files);
		if (!msg)
			sort_strs(&files);
		for (int64_t k = 0; !msg && k < files.n; k++) {
			const char *slash = strrchr(files.p[k], '/');
			if (!has_image_extension(slash ? slash + 1 : files.p[k]))
				continue;
			if (!strs_push(paths, files.p[k]))
				msg = rt_format("%s: out of memory", dir);
			files.p[k] = NULL;
		}
		strs_free(&files);
	}
	strs_free(&dirs);
	return msg;
}

/* What a file that is not a regular one is. */
static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m) ? "a named pipe" : S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISSOCK(m) ? "a socket" : "a special file";
}

/* A regular file's bytes (up to max of them; 0: all). NULL with *err naming it. A named
 * pipe is opened without blocking (O_NONBLOCK does nothing to a regular file's reads) and
 * refused, as is a device: neither is an image. */
static uint8_t *read_file(const char *path, size_t max, size_t *n, char **err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		*err = rt_format("%s: cannot open: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		*err = rt_format("%s: %s, not a regular file", path, file_kind(sb.st_mode));
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		*err = rt_format("%s: cannot open: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		size_t want = max && max - len < cap - len ? max - len : cap - len;
		size_t got = fread(b + len, 1, want, f);
		len += got;
		if (got < want || (max && len >= max))
			break;
		uint8_t *more = len == cap ? realloc(b, cap *= 2) : b;
		if (!more)
			free(b);
		b = more;
	}
	bool failed = ferror(f);
	fclose(f);
	if (!b || failed) {
		*err = b ? rt_format("%s: cannot read: %s", path, strerror(errno)) : rt_format("%s: out of memory", path);
		free(b);
		return NULL;
	}
	*n = len;
	return b;
}

/* ---------- opening ---------- */

enum { PROBE_BYTES = 1 << 20 }; /* most images' headers are in their first MiB */

typedef struct Probe {
	RtFolder *f;
	char **msg; /* n: why file i is bad, or NULL */
} Probe;

/* The centre crop's resize of a w x h image, or a message naming the file when its longer
 * side would pass 2^31 pixels. */
static char *resize_shorter(const RtFolder *f, int64_t i, int w, int h, int *ow, int *oh)
{
	if (rt_resize_shorter(w, h, f->o.resize, ow, oh) == 0)
		return NULL;
	return rt_format("%s: %dx%d pixels: resized to %d on its shorter side, the longer would pass 2^31 pixels",
	                 f->paths[i], w, h, f->o.resize);
}

/* File i's header (its first MiB, or all of it when the header lies further: a JPEG file's
 * metadata may). With the cache, then the image, decoded after its size passed the header's
 * checks; an image bad only past its header keeps its place, as it does without the cache,
 * and is found bad when read. */
static void probe_one(void *arg, int64_t i)
{
	Probe *pr = arg;
	RtFolder *f = pr->f;
	const char *path = f->paths[i];
	size_t n, max = f->o.cache ? 0 : PROBE_BYTES;
	char *err = NULL;
	int w, h;
	uint8_t *b = read_file(path, max, &n, &err);
	if (b && rt_image_probe(b, n, path, f->o.channels, &w, &h, &err) && max && n == max) {
		free(err);
		free(b);
		err = NULL;
		b = read_file(path, 0, &n, &err);
		if (b)
			rt_image_probe(b, n, path, f->o.channels, &w, &h, &err);
	}
	int ow, oh;
	if (b && !err && !f->o.random_crop)
		err = resize_shorter(f, i, w, h, &ow, &oh);
	if (b && !err && f->o.cache) {
		char *bad = NULL;
		uint8_t *px = rt_image_decode(b, n, path, f->o.channels, &w, &h, &bad);
		f->cache[i] = (Cached){px, w, h, px || bad ? bad : rt_format("%s: out of memory", path)};
	}
	free(b);
	pr->msg[i] = err;
}

/* The split's folder (see maec_rt.h), malloc'd; NULL with *err. */
static char *split_dir(const char *dir, int split, char **err)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	char *root = rt_format("%.*s", (int)len, dir), *train = rt_format("%s/train", root ? root : ""),
	     *val = rt_format("%s/val", root ? root : ""), *out = NULL;
	if (!root || !train || !val)
		*err = rt_format("%s: out of memory", dir);
	else if (!is_dir(root))
		*err = rt_format("%s: not a folder (an image folder holds CLASS/IMAGE files, as torchvision's ImageFolder "
		                 "reads)", root);
	else if (!is_dir(train) || !is_dir(val)) /* one alone is a class */
		out = root, root = NULL;
	else if (split)
		out = val, val = NULL;
	else
		out = train, train = NULL;
	free(root);
	free(train);
	free(val);
	return out;
}

static RtDataset *fail(RtDataset *d, char **err, char *msg)
{
	*err = msg;
	rt_dataset_free(d);
	return NULL;
}

/* The class folders of f->root, sorted, and their images in ImageFolder's order: paths,
 * with the first image of class c at first[c] (first[nclasses] = paths->n), and how many
 * class folders are empty. A message, or NULL. */
static char *list_folder(RtFolder *f, Strs *classes, Strs *paths, int64_t **first_out, int64_t *empty)
{
	const RtFolderOptions *o = &f->o;
	char *msg = list_dir(f->root, classes, NULL);
	if (!msg)
		sort_strs(classes);
	if (!msg && classes->n == 0)
		msg = rt_format("%s: no class folders: an image folder holds one folder per class, %s/CLASS/IMAGE.jpg (or "
		                ".png), as torchvision's ImageFolder reads",
		                f->root, f->root);
	int64_t *first = msg ? NULL : malloc(sizeof(int64_t) * (size_t)(classes->n + 1));
	if (!msg && !first)
		msg = rt_format("%s: out of memory", f->root);
	*empty = 0;
	for (int64_t c = 0; !msg && c < classes->n; c++) {
		first[c] = paths->n;
		msg = list_class(classes->p[c], paths);
		if (!msg && paths->n == first[c] && !o->skip_bad)
			msg = rt_format("%s: an empty class folder: no " LISTED " in it or its subfolders (give "
			                "--skip-bad-images to keep the class without images)",
			                classes->p[c]);
		if (!msg && paths->n == first[c] && (*empty)++ == 0)
			f->first_bad = rt_format("%s: an empty class folder", classes->p[c]);
	}
	if (!msg && paths->n == 0)
		msg = rt_format("%s: no images in its %lld class folder%s: no " LISTED "; of those, JPEG and PNG "
		                "files decode", f->root, (long long)classes->n, classes->n == 1 ? "" : "s");
	if (!msg && classes->n > INT32_MAX)
		msg = rt_format("%s: %lld classes", f->root, (long long)classes->n);
	if (msg) {
		free(first);
		strs_free(classes);
		strs_free(paths);
		return msg;
	}
	first[classes->n] = paths->n;
	*first_out = first;
	return NULL;
}

/* Keeps the images whose probe found nothing wrong (why[i] NULL), in order; counts the
 * others in f->skipped. Without --skip-bad-images, the first bad one's message. */
static char *keep_good(RtFolder *f, char **why)
{
	char *msg = NULL;
	int64_t kept = 0;
	for (int64_t i = 0; i < f->n; i++) {
		if (!why[i]) {
			f->paths[kept] = f->paths[i];
			f->labels[kept] = f->labels[i];
			if (f->cache)
				f->cache[kept] = f->cache[i];
			kept++;
			continue;
		}
		if (!f->o.skip_bad && !msg) {
			msg = why[i];
			why[i] = NULL;
		}
		if (f->o.skip_bad && !f->first_bad) {
			f->first_bad = why[i];
			why[i] = NULL;
		}
		free(why[i]);
		free(f->paths[i]);
		f->paths[i] = NULL;
		if (f->cache) {
			free(f->cache[i].px);
			free(f->cache[i].err);
		}
		f->skipped++;
	}
	f->n = kept;
	return msg;
}

RtDataset *rt_folder_open(const char *dir, int split, const RtFolderOptions *o, char **err)
{
	*err = NULL;
	RT_CHECK(split == 0 || split == 1);
	RT_CHECK(o->channels == 1 || o->channels == 3);
	RtDataset *d = calloc(1, sizeof *d);
	RtFolder *f = d ? calloc(1, sizeof *f) : NULL;
	if (!f) {
		free(d);
		*err = rt_format("%s: out of memory", dir);
		return NULL;
	}
	d->folder = f;
	f->o = *o;
	pthread_mutex_init(&f->mu, NULL);
	if (!(f->root = split_dir(dir, split, err)))
		return fail(d, err, *err);
	Strs classes = {0}, paths = {0};
	int64_t *first = NULL, empty = 0;
	char *msg = list_folder(f, &classes, &paths, &first, &empty);
	if (msg)
		return fail(d, err, msg);
	f->nclasses = (int)classes.n;
	f->classes = classes.p;
	f->paths = paths.p;
	f->n = paths.n;
	f->labels = malloc(sizeof(int32_t) * (size_t)f->n);
	f->bad = calloc((size_t)f->n, sizeof *f->bad);
	f->cache = o->cache ? calloc((size_t)f->n, sizeof *f->cache) : NULL;
	f->pool = rt_pool_new(o->threads > 0 ? o->threads : 1);
	char **why = calloc((size_t)f->n, sizeof(char *));
	if (!f->labels || !f->bad || (o->cache && !f->cache) || !f->pool || !why) {
		free(first);
		free(why);
		return fail(d, err, rt_format("%s: out of memory", f->root));
	}
	for (int32_t c = 0; c < f->nclasses; c++)
		for (int64_t i = first[c]; i < first[c + 1]; i++)
			f->labels[i] = c;
	free(first);
	/* every header (every image, with the cache), on the pool; the first bad file in order */
	Probe pr = {f, why};
	rt_pool_for(f->pool, f->n, probe_one, &pr);
	msg = keep_good(f, why);
	free(why);
	f->skipped += empty;
	if (msg) {
		char *more = rt_format("%s (give --skip-bad-images to leave such files out)", msg);
		free(msg);
		return fail(d, err, more);
	}
	if (f->n == 0)
		return fail(d, err, rt_format("%s: no good images: all %lld were bad", f->root, (long long)f->skipped));
	d->n = f->n;
	d->channels = o->channels;
	d->height = o->height;
	d->width = o->width;
	d->classes = f->nclasses;
	return d;
}

/* ---------- reading ---------- */

typedef struct Read {
	RtFolder *f;
	const int64_t *indices;
	const RtDraw *draw;
	float *images;
	int32_t *labels;
	char **msg; /* per image of the read */
} Read;

/* Image i's pixels: the cache's (*owned false) or its file's decoded. NULL with *err. */
static uint8_t *pixels(RtFolder *f, int64_t i, int *w, int *h, bool *owned, char **err)
{
	*owned = !f->cache;
	if (f->cache) {
		*w = f->cache[i].w;
		*h = f->cache[i].h;
		if (!f->cache[i].px)
			*err = rt_format("%s", f->cache[i].err);
		return f->cache[i].px;
	}
	size_t n;
	uint8_t *b = read_file(f->paths[i], 0, &n, err);
	uint8_t *px = b ? rt_image_decode(b, n, f->paths[i], f->o.channels, w, h, err) : NULL;
	free(b);
	return px;
}

/* skip_bad: file i is bad; counted the first time. */
static void note_bad(RtFolder *f, int64_t i, char *err)
{
	if (!atomic_exchange(&f->bad[i], true)) {
		atomic_fetch_add(&f->skipped, 1);
		pthread_mutex_lock(&f->mu);
		if (!f->first_bad) {
			f->first_bad = err;
			err = NULL;
		}
		pthread_mutex_unlock(&f->mu);
	}
	free(err);
}

/* Image k of the read (file i), transformed (maec_rt.h), normalised, [C, H, W]. NULL, or
 * a message naming the file. */
static char *transform(const RtFolder *f, int64_t i, const uint8_t *px, int w, int h, const RtDraw *draw, int64_t k,
                       float *out)
{
	const RtFolderOptions *o = &f->o;
	int H = o->height, W = o->width, C = o->channels, ow = W, oh = H;
	int crop[4] = {0, 0, w, h}, win[4] = {0, 0, W, H};
	if (o->random_crop) {
		RT_CHECK(draw);
		rt_random_resized_crop(w, h, o->scale, o->ratio, draw->seed, draw->step, draw->first + (uint64_t)k, crop);
	} else {
		char *msg = resize_shorter(f, i, w, h, &ow, &oh);
		if (msg)
			return msg;
		RT_CHECK(ow >= W && oh >= H);
		rt_center_crop(ow, oh, W, H, &win[0], &win[1]);
	}
	uint8_t *buf = malloc((size_t)H * (size_t)W * (size_t)C);
	if (!buf || rt_image_resize(px, w, C, crop, ow, oh, win, buf)) {
		free(buf);
		return rt_format("%s: out of memory transforming %dx%d pixels", f->paths[i], w, h);
	}
	bool flip = false;
	if (o->flip > 0) {
		RT_CHECK(draw);
		flip = rt_random_flip(o->flip, draw->seed, draw->step, draw->first + (uint64_t)k);
	}
	/* ToTensor then Normalize, in float as torchvision */
	for (int c = 0; c < C; c++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				float v = (float)buf[((size_t)y * (size_t)W + (size_t)(flip ? W - 1 - x : x)) * (size_t)C + (size_t)c];
				out[((size_t)c * (size_t)H + (size_t)y) * (size_t)W + (size_t)x] = (v / 255.0f - o->mean[c]) / o->std[c];
			}
	free(buf);
	return NULL;
}

static void read_one(void *arg, int64_t k)
{
	Read *r = arg;
	RtFolder *f = r->f;
	int64_t i = r->indices[k], image = (int64_t)f->o.channels * f->o.height * f->o.width;
	float *out = r->images + k * image;
	uint8_t *px = NULL;
	int w = 0, h = 0;
	bool owned = false;
	for (int64_t tries = 0; tries < f->n && !px; tries++) {
		char *err = NULL;
		if (!atomic_load(&f->bad[i]))
			px = pixels(f, i, &w, &h, &owned, &err);
		if (px)
			break;
		if (!f->o.skip_bad) {
			r->msg[k] = err ? err : rt_format("%s: out of memory", f->paths[i]);
			memset(out, 0, sizeof(float) * (size_t)image);
			return;
		}
		note_bad(f, i, err);
		i = (i + 1) % f->n; /* the next good image stands in */
	}
	if (!px)
		r->msg[k] = rt_format("%s: no good image is left: all %lld were bad", f->root, (long long)f->n);
	else
		r->msg[k] = transform(f, i, px, w, h, r->draw, k, out);
	if (r->labels)
		r->labels[k] = f->labels[i];
	if (owned)
		free(px);
}

int rt_folder_read(const RtDataset *d, const int64_t *indices, int64_t b, const RtDraw *draw, float *images,
                   int32_t *labels, char **err)
{
	RtFolder *f = d->folder;
	*err = NULL;
	for (int64_t k = 0; k < b; k++)
		RT_CHECK(indices[k] >= 0 && indices[k] < f->n);
	char **msg = calloc((size_t)(b > 0 ? b : 1), sizeof(char *));
	if (!msg) {
		*err = rt_format("%s: out of memory reading %lld images", f->root, (long long)b);
		return -1;
	}
	Read r = {f, indices, draw, images, labels, msg};
	rt_pool_for(f->pool, b, read_one, &r);
	for (int64_t k = 0; k < b; k++) { /* the first in the read's order, whatever the threads */
		if (msg[k] && !*err)
			*err = msg[k];
		else
			free(msg[k]);
	}
	free(msg);
	return *err ? -1 : 0;
}

int32_t rt_folder_label(const RtDataset *d, int64_t i)
{
	return d->folder->labels[i];
}

const char *rt_folder_root(const RtDataset *d)
{
	RT_CHECK(d->folder);
	return d->folder->root;
}

const char *rt_folder_class(const RtDataset *d, int c)
{
	RT_CHECK(d->folder && c >= 0 && c < d->folder->nclasses);
	return d->folder->classes[c];
}

const char *rt_folder_path(const RtDataset *d, int64_t i)
{
	RT_CHECK(d->folder && i >= 0 && i < d->folder->n);
	return d->folder->paths[i];
}

int64_t rt_folder_skipped(const RtDataset *d, const char **first)
{
	RtFolder *f = d->folder;
	if (!f) {
		*first = NULL;
		return 0;
	}
	pthread_mutex_lock(&f->mu);
	*first = f->first_bad;
	pthread_mutex_unlock(&f->mu);
	return atomic_load(&f->skipped);
}

void rt_folder_free(RtFolder *f)
{
	if (!f)
		return;
	rt_pool_free(f->pool);
	for (int c = 0; c < f->nclasses; c++)
		free(f->classes[c]);
	free(f->classes);
	for (int64_t i = 0; i < f->n; i++) {
		free(f->paths[i]);
		if (f->cache) {
			free(f->cache[i].px);
			free(f->cache[i].err);
		}
	}
	free(f->paths);
	free(f->labels);
	free(f->cache);
	free(f->bad);
	free(f->root);
	free(f->first_bad);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
