/* Sum of 1/k^2 for k = 1..n, which tends to pi^2/6 (the Basel problem).
 *
 * Usage: inverse_squares N
 * Prints the sum with 17 significant digits, so Python can read back the exact double.
 * The loop runs k upwards in the same order as the Python version, so both give the same bits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s N   (N >= 0 terms)\n", argv[0]);
        return 2;
    }
    char *end;
    errno = 0;
    long long n = strtoll(argv[1], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[1] || n < 0) {
        fprintf(stderr, "%s: N must be a whole number >= 0, got '%s'\n", argv[0], argv[1]);
        return 2;
    }
    double total = 0.0;
    for (long long k = 1; k <= n; k++) {
        double x = (double)k;
        total += 1.0 / (x * x);
    }
    printf("%.17g\n", total);
    return 0;
}
