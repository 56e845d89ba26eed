/* Used by the frame-pointer repair tests: nearly all CPU time is main -> busy_op -> clock_gettime (libc, no frame
 * pointer) -> __vdso_clock_gettime, the shape in which a frame-pointer chain loses busy_op.
 * Usage: busyop SECONDS. Build: gcc -O2 -g -fno-omit-frame-pointer -o busyop busyop.c */
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) long busy_op(int n) {
    struct timespec t;
    long sum = 0;
    for (int i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        sum += t.tv_nsec;
    }
    return sum;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    struct timespec start, now;
    long sum = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        sum += busy_op(20000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    return sum == 42 ? 1 : 0;
}
