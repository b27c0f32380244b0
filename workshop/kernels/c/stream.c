/* STREAM-like triad: the memory bandwidth reached on a[i] = b[i] + s * c[i].
 *
 * Usage: stream ELEMENTS REPEATS
 * Prints the best bandwidth over REPEATS runs, in bytes per second, counting 3 * 8 bytes per
 * element as STREAM does (two arrays read, one written), then the number of threads that ran
 * it. ELEMENTS should make the three arrays far larger than the last-level cache. Built with
 * OpenMP, OMP_NUM_THREADS threads share each loop (and each thread first touches the pages it
 * later streams, as in McCalpin's STREAM); built without, one thread runs.
 */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ELEMENTS REPEATS\n", argv[0]);
        return 2;
    }
    int64_t n = strtoll(argv[1], NULL, 10), repeats = strtoll(argv[2], NULL, 10);
    if (n < 1 || repeats < 1) {
        fprintf(stderr, "ELEMENTS and REPEATS must be >= 1\n");
        return 2;
    }
    double *a = malloc((size_t)n * sizeof(double));
    double *b = malloc((size_t)n * sizeof(double));
    double *c = malloc((size_t)n * sizeof(double));
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {  /* touch every page before timing */
        a[i] = 0.0;
        b[i] = 1.0;
        c[i] = 2.0;
    }
    const double s = 3.0;
    double best = 1e300;
    for (int64_t r = 0; r < repeats; r++) {
        double t0 = now();
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            a[i] = b[i] + s * c[i];
        }
        double t = now() - t0;
        if (t < best) {
            best = t;
        }
        b[r % n] = a[(r * 7) % n];  /* keep the loop's result alive */
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("%.6e %d\n", 3.0 * 8.0 * (double)n / best, threads);
    free(a);
    free(b);
    free(c);
    return 0;
}
