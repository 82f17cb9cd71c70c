/* tboard.c: TensorBoard event files, written without TensorFlow.
 *
 * Why by hand: no Debian library writes them. The file is TFRecord framing around
 * tensorflow.Event messages (tensorflow/core/util/event.proto, summary.proto); protobuf-c
 * (libprotobuf-c) could encode the messages, but only from those .proto files compiled
 * into the tree, for the four messages and nine fields used here, which this file writes
 * in fewer lines. CRC-32C is not in zlib (its crc32 is the other polynomial), and no
 * Debian C library offers it; it is the bitwise textbook form, checked against the
 * standard check value in tests/runtime/test_tboard.c.
 *
 * The fields written (number, wire type):
 *   Event    wall_time 1 double, step 2 varint, file_version 3 bytes, summary 5 message
 *   Summary  value 1 message
 *   Value    tag 1 bytes, simple_value 2 float, image 4 message
 *   Image    height 1 varint, width 2 varint, colorspace 3 varint, encoded_image_string 4 bytes
 * A TFRecord is u64le length, u32le masked_crc(length bytes), data, u32le masked_crc(data),
 * masked_crc(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 with c = crc32c(x).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maec_rt.h"

struct RtEventWriter {
	FILE *f;
	char *path;
	bool failed;
};

/* ---------- CRC-32C ---------- */

/* Bit by bit: event records are small (a PNG of a few kilobytes at most per epoch), so a
 * table would buy nothing worth its global state. */
uint32_t rt_crc32c(uint32_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1; /* the Castagnoli polynomial, reflected */
	}
	return ~crc;
}

static uint32_t masked_crc(const void *data, size_t n)
{
	uint32_t c = rt_crc32c(0, data, n);
	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---------- protocol buffers: a growing byte buffer and the three wire types used ---------- */

typedef struct Buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
} Buf;

static void put(Buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void put_varint(Buf *b, uint64_t v)
{
	uint8_t tmp[10];
	int k = 0;
	do {
		tmp[k++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(b, tmp, (size_t)k);
}

static void put_key(Buf *b, int field, int wire)
{
	put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void put_le(Buf *b, uint64_t v, int bytes)
{
	uint8_t tmp[8];
	for (int i = 0; i < bytes; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	put(b, tmp, (size_t)bytes);
}

static void put_bytes(Buf *b, int field, const void *data, size_t n)
{
	put_key(b, field, 2);
	put_varint(b, n);
	put(b, data, n);
}

static void put_double(Buf *b, int field, double x)
{
	uint64_t u;
	memcpy(&u, &x, 8);
	put_key(b, field, 1);
	put_le(b, u, 8);
}

static void put_float(Buf *b, int field, float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	put_key(b, field, 5);
	put_le(b, u, 4);
}

static void put_int(Buf *b, int field, int64_t v)
{
	put_key(b, field, 0);
	put_varint(b, (uint64_t)v); /* int64: negative values as ten bytes, as protobuf does */
}

/* ---------- records ---------- */

static int write_record(RtEventWriter *w, const Buf *event, char **err)
{
	*err = NULL;
	if (event->oom) {
		*err = rt_format("%s: out of memory encoding an event", w->path);
		return -1;
	}
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)event->n >> (8 * i));
	uint32_t crcs[2] = {masked_crc(len, 8), masked_crc(event->p, event->n)};
	uint8_t c[2][4];
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 4; i++)
			c[k][i] = (uint8_t)(crcs[k] >> (8 * i));
	bool ok = fwrite(len, 1, 8, w->f) == 8 && fwrite(c[0], 1, 4, w->f) == 4 &&
	          fwrite(event->p, 1, event->n, w->f) == event->n && fwrite(c[1], 1, 4, w->f) == 4 &&
	          fflush(w->f) == 0;
	if (!ok) {
		w->failed = true;
		*err = rt_format("%s: cannot write: %s", w->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* An Event with its time and step, and a Summary of one Value whose tag and content the
 * caller adds to `value`. */
static int write_value(RtEventWriter *w, int64_t step, double wall_time, const Buf *value, char **err)
{
	Buf summary = {0}, event = {0};
	put_bytes(&summary, 1, value->p, value->n);
	summary.oom |= value->oom;
	put_double(&event, 1, wall_time);
	put_int(&event, 2, step);
	put_bytes(&event, 5, summary.p, summary.n);
	event.oom |= summary.oom;
	int rc = write_record(w, &event, err);
	free(summary.p);
	free(event.p);
	return rc;
}

RtEventWriter *rt_tb_open(const char *dir, char **err)
{
	*err = NULL;
	char host[256] = "localhost";
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = 0;
	for (char *c = host; *c; c++) /* a file name: no separators */
		if (*c == '/')
			*c = '_';
	RtEventWriter *w = calloc(1, sizeof *w);
	if (w)
		w->path = rt_format("%s/events.out.tfevents.%010lld.%s.%ld", dir, (long long)time(NULL), host,
		                    (long)getpid());
	if (!w || !w->path) {
		*err = rt_format("out of memory opening an event file in %s", dir);
		free(w);
		return NULL;
	}
	w->f = fopen(w->path, "ab");
	if (!w->f) {
		*err = rt_format("%s: cannot create: %s", w->path, strerror(errno));
		free(w->path);
		free(w);
		return NULL;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	Buf event = {0};
	put_double(&event, 1, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
	static const char version[] = "brain.Event:2";
	put_bytes(&event, 3, version, sizeof version - 1);
	int rc = write_record(w, &event, err);
	free(event.p);
	if (rc) {
		rt_tb_close(w);
		return NULL;
	}
	return w;
}

int rt_tb_scalar(RtEventWriter *w, const char *tag, int64_t step, double wall_time, double value, char **err)
{
	Buf v = {0};
	put_bytes(&v, 1, tag, strlen(tag));
	put_float(&v, 2, (float)value);
	int rc = write_value(w, step, wall_time, &v, err);
	free(v.p);
	return rc;
}

int rt_tb_image(RtEventWriter *w, const char *tag, int64_t step, double wall_time, int height, int width,
                int channels, const void *png, size_t n, char **err)
{
	Buf im = {0}, v = {0};
	put_int(&im, 1, height);
	put_int(&im, 2, width);
	put_int(&im, 3, channels); /* colorspace: 1 grey, 3 RGB */
	put_bytes(&im, 4, png, n);
	put_bytes(&v, 1, tag, strlen(tag));
	put_bytes(&v, 4, im.p, im.n);
	v.oom |= im.oom;
	int rc = write_value(w, step, wall_time, &v, err);
	free(im.p);
	free(v.p);
	return rc;
}

const char *rt_tb_path(const RtEventWriter *w)
{
	return w->path;
}

int rt_tb_close(RtEventWriter *w)
{
	if (!w)
		return 0;
	bool ok = fclose(w->f) == 0 && !w->failed;
	free(w->path);
	free(w);
	return ok ? 0 : -1;
}
