/* Mandelbrot escape-time counts: the plain C reference for workshop.kernels.mandelbrot.
 *
 * Usage: mandelbrot X_MIN X_MAX Y_MIN Y_MAX SIZE MAX_ITER
 * Writes SIZE * SIZE int32 counts (row by row, native byte order) to standard output.
 * The loop is the same, operation for operation, as the Numba and Cython versions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

static inline int32_t escape(double c_re, double c_im, int32_t max_iter) {
    double z_re = 0.0, z_im = 0.0;
    int32_t n = 0;
    while (n < max_iter) {
        double re2 = z_re * z_re;
        double im2 = z_im * z_im;
        if (re2 + im2 > 4.0) {
            break;
        }
        z_im = 2.0 * z_re * z_im + c_im;
        z_re = re2 - im2 + c_re;
        n += 1;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s X_MIN X_MAX Y_MIN Y_MAX SIZE MAX_ITER\n", argv[0]);
        return 2;
    }
    double x_min = strtod(argv[1], NULL), x_max = strtod(argv[2], NULL);
    double y_min = strtod(argv[3], NULL), y_max = strtod(argv[4], NULL);
    int64_t size = strtoll(argv[5], NULL, 10);
    int32_t max_iter = (int32_t)strtol(argv[6], NULL, 10);
    if (size < 1) {
        fprintf(stderr, "SIZE must be >= 1\n");
        return 2;
    }
    int32_t *image = malloc((size_t)(size * size) * sizeof(int32_t));
    if (image == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double dx = (x_max - x_min) / (double)size;
    double dy = (y_max - y_min) / (double)size;
    for (int64_t i = 0; i < size; i++) {
        double c_im = y_min + (double)i * dy;
        for (int64_t j = 0; j < size; j++) {
            image[i * size + j] = escape(x_min + (double)j * dx, c_im, max_iter);
        }
    }
#ifdef _WIN32
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    size_t count = (size_t)(size * size);
    if (fwrite(image, sizeof(int32_t), count, stdout) != count) {
        fprintf(stderr, "short write\n");
        return 1;
    }
    free(image);
    return 0;
}
