/* The 2-D heat equation: the plain C reference for workshop.kernels.heat.
 *
 * Usage: heat SIZE STEPS ALPHA
 * Reads SIZE * SIZE float64 temperatures (row by row, native byte order) from standard input,
 * runs STEPS explicit steps of the 5-point stencil with fixed boundaries, and writes the final
 * grid the same way to standard output. The expression is the same, operation for operation,
 * as the NumPy, Numba and Cython versions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

static void step(const double *u, double *new, int64_t n, double alpha) {
    for (int64_t i = 1; i < n - 1; i++) {
        const double *up = u + (i - 1) * n, *mid = u + i * n, *down = u + (i + 1) * n;
        double *out = new + i * n;
        for (int64_t j = 1; j < n - 1; j++) {
            double c = mid[j];
            out[j] = c + alpha * (up[j] + down[j] + mid[j - 1] + mid[j + 1] - 4.0 * c);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SIZE STEPS ALPHA\n", argv[0]);
        return 2;
    }
    int64_t n = strtoll(argv[1], NULL, 10), steps = strtoll(argv[2], NULL, 10);
    double alpha = strtod(argv[3], NULL);
    if (n < 3 || steps < 0) {
        fprintf(stderr, "SIZE must be >= 3 and STEPS >= 0\n");
        return 2;
    }
#ifdef _WIN32
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    size_t count = (size_t)(n * n);
    double *u = malloc(count * sizeof(double)), *new = malloc(count * sizeof(double));
    if (u == NULL || new == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (fread(u, sizeof(double), count, stdin) != count) {
        fprintf(stderr, "expected %zu float64 values on standard input\n", count);
        return 2;
    }
    memcpy(new, u, count * sizeof(double));
    for (int64_t t = 0; t < steps; t++) {
        step(u, new, n, alpha);
        double *swap = u;
        u = new;
        new = swap;
    }
    if (fwrite(u, sizeof(double), count, stdout) != count) {
        fprintf(stderr, "short write\n");
        return 1;
    }
    free(u);
    free(new);
    return 0;
}
