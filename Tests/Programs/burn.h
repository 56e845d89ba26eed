/* burn(seconds): keeps the CPU busy for that long, for the programs whose phases are timed. */
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) static long burn(double seconds) {
    volatile long s = 0;
    double end = now() + seconds;
    while (now() < end)
        for (long i = 0; i < 2000; i++) s += i * i % 7;
    return s;
}
