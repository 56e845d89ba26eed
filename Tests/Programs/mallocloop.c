/* The heap shim's cost benchmark (Benchmarks section 16), in C: N rounds of malloc of 16 to 271 bytes and free of
 * the block allocated 64 rounds before (a ring of live blocks, so that the allocator's fast paths are used as in a
 * program). Prints "ns-per-pair X": the loop's wall time per malloc and free, CLOCK_MONOTONIC around the loop only.
 * Usage: mallocloop N. Build: gcc -O2 -fno-builtin -o mallocloop mallocloop.c */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    static char *volatile ring[64];
    double start = now();
    for (long i = 0; i < n; i++) {
        free(ring[i & 63]);
        char *p = malloc(16 + (size_t)((i * 2654435761u) & 255));
        p[0] = (char)i;
        ring[i & 63] = p;
    }
    double seconds = now() - start;
    for (int i = 0; i < 64; i++) free(ring[i]);
    printf("ns-per-pair %.2f\n", seconds * 1e9 / (double)n);
    return 0;
}
