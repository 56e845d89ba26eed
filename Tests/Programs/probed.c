/* Used by the uprobe/uretprobe tests: a known, exactly countable stream of calls to one function.
 * Usage: probed N [PAUSE_MS]. Sleeps PAUSE_MS (default 300) so a tracer can attach with -p, then calls
 * probed_add(i, 2*i) exactly N times for i in 0..<N. Call i returns 3*i + 1000, so uretprobe tests see
 * return values 1000, 1003, ..., 3*(N-1) + 1000. Prints the sum of the results and exits 0.
 * Build: gcc -O2 -g -fno-omit-frame-pointer -o probed probed.c */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* noipa: gcc may neither inline, clone, constant-propagate into nor reason about the body, so every
 * iteration is a real call to the probed_add symbol. */
__attribute__((noinline, noipa, used)) long probed_add(long a, long b) { return a + b + 1000; }

static volatile long sink;

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    long pause_ms = argc > 2 ? atol(argv[2]) : 300;
    if (pause_ms > 0) {
        struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    long sum = 0;
    for (long i = 0; i < n; i++) {
        long r = probed_add(i, 2 * i);
        sink = r;
        sum += r;
    }
    printf("%ld\n", sum);
    return 0;
}
