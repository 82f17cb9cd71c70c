/* sgemm.c: this machine's single-precision GEMM rate through the BLAS the trainers link,
 * for bench/cpu.sh: GFLOP/s (2 M N K / seconds, best of 5) of row-major C = A B^T at the
 * shapes given as M,N,K arguments, with the BLAS's threads (OMP_NUM_THREADS).
 * usage: sgemm M,N,K [M,N,K ...] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sgemm M,N,K [M,N,K ...]\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int m, n, k;
		if (sscanf(argv[i], "%d,%d,%d", &m, &n, &k) != 3 || m < 1 || n < 1 || k < 1) {
			fprintf(stderr, "sgemm: '%s' is not M,N,K\n", argv[i]);
			return 2;
		}
		float *a = malloc(sizeof(float) * (size_t)m * (size_t)k), *b = malloc(sizeof(float) * (size_t)k * (size_t)n),
		      *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
		if (!a || !b || !c) {
			fprintf(stderr, "sgemm: out of memory\n");
			return 1;
		}
		for (size_t j = 0; j < (size_t)m * (size_t)k; j++)
			a[j] = (float)(j % 7) * 1e-3f;
		for (size_t j = 0; j < (size_t)k * (size_t)n; j++)
			b[j] = (float)(j % 5) * 1e-3f;
		double best = 1e30;
		for (int rep = 0; rep < 6; rep++) { /* the first warms up */
			double t = now();
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
			t = now() - t;
			if (rep && t < best)
				best = t;
		}
		printf("sgemm %d,%d,%d %.1f GFLOP/s\n", m, n, k, 2.0 * m * n * k / best / 1e9);
		free(a);
		free(b);
		free(c);
	}
	return 0;
}
