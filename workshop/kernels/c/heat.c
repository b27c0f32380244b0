/* The 2-D heat equation: the plain C reference for workshop.kernels.heat.
 *
 * A shared library, called in-process through ctypes: the grids are the caller's NumPy arrays,
 * so nothing is copied on the way in or out (a program would pipe 2 x 8 N^2 bytes per call,
 * which for a memory-bound kernel costs as much as several steps).
 *
 * heat_run(u, scratch, n, steps, alpha): STEPS explicit steps of the 5-point stencil with fixed
 * boundaries on the N x N grid U (row by row); SCRATCH must start as a copy of U. Returns 0 when
 * the final grid is in U, 1 when it is in SCRATCH. The expression is the same, operation for
 * operation, as the NumPy, Numba and Cython versions.
 */
#include <stdint.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT
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

EXPORT int64_t heat_run(double *u, double *scratch, int64_t n, int64_t steps, double alpha) {
    double *a = u, *b = scratch;
    for (int64_t t = 0; t < steps; t++) {
        step(a, b, n, alpha);
        double *swap = a;
        a = b;
        b = swap;
    }
    return a == u ? 0 : 1;
}
