// hotline.c: hot_function() spends nearly all its time on the line marked HOT (a chain of divisions);
// mixed() spends its time in mix(), always inlined into it, on the line marked INLINE.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) static unsigned long cold_setup(unsigned long n) { return n * 7 + 3; }

__attribute__((noinline)) unsigned long hot_function(unsigned long n) {
    unsigned long acc = cold_setup(n);
    for (unsigned long i = 1; i < n; i++) {
        acc = acc / (i | 1) + acc % (i | 3) + (acc << 3) / (i | 5); // HOT
    }
    return acc;
}

static inline __attribute__((always_inline)) unsigned long mix(unsigned long x, unsigned long d) {
    return x / d + x % (d + 2); // INLINE
}

__attribute__((noinline)) unsigned long mixed(unsigned long n) {
    unsigned long acc = n;
    for (unsigned long i = 1; i < n; i++) acc = mix(acc + i, i | 1);
    return acc;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1;
    unsigned long sink = 0;
    double start = now();
    while (now() - start < seconds) sink += hot_function(200000) + (argc > 2 ? mixed(100000) : 0);
    printf("%lu\n", sink & 1);
    return 0;
}
