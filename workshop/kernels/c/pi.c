/* Monte Carlo estimate of pi: the plain C reference for workshop.kernels.pi.
 *
 * Usage: pi N SEED  -> prints the number of the N points that fall inside the unit circle.
 * The random numbers come from splitmix64 used as a counter-based generator: draw k is
 * mix(seed + k * GAMMA), exactly as in the Python, NumPy, Numba and Cython versions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define GAMMA 0x9E3779B97F4A7C15ULL
#define MIX1 0xBF58476D1CE4E5B9ULL
#define MIX2 0x94D049BB133111EBULL

static inline double uniform(uint64_t seed, uint64_t k) {
    uint64_t z = seed + k * GAMMA;
    z = (z ^ (z >> 30)) * MIX1;
    z = (z ^ (z >> 27)) * MIX2;
    z = z ^ (z >> 31);
    return (double)(z >> 11) * (1.0 / 9007199254740992.0); /* 53 random bits in [0, 1) */
}

static int64_t hits(uint64_t seed, int64_t start, int64_t stop) {
    int64_t count = 0;
    for (int64_t i = start; i < stop; i++) {
        double x = uniform(seed, (uint64_t)(2 * i + 1));
        double y = uniform(seed, (uint64_t)(2 * i + 2));
        if (x * x + y * y < 1.0) {
            count += 1;
        }
    }
    return count;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s N SEED\n", argv[0]);
        return 2;
    }
    int64_t n = strtoll(argv[1], NULL, 10);
    uint64_t seed = strtoull(argv[2], NULL, 10);
    printf("%lld\n", (long long)hits(seed, 0, n));
    return 0;
}
