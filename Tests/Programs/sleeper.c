/* Used by the latency tests: sleeps on a fixed schedule through one function, nap(): 200 x 1 ms, 50 x 5 ms and
 * 10 x 20 ms (260 calls, 650 ms asleep), and writes each call's measured duration in ns to OUT, one a line.
 * Usage: sleeper OUT. Build: gcc -O2 -g -o sleeper sleeper.c */
#include <stdio.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void nap(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) return 2;
    const long schedule[][2] = { { 200, 1 }, { 50, 5 }, { 10, 20 } };
    for (int s = 0; s < 3; s++) {
        for (long i = 0; i < schedule[s][0]; i++) {
            long long start = now_ns();
            nap(schedule[s][1]);
            fprintf(out, "%lld\n", now_ns() - start);
        }
    }
    fclose(out);
    return 0;
}
