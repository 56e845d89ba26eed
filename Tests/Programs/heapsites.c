/* Used by the heap profiling tests: three allocation sites of known size. keep_4k keeps 40 MiB in 4 KiB blocks,
 * churn_1k allocates and frees 100 MiB in 1 KiB blocks, keep_64k keeps 10 MiB in 64 KiB blocks; the kept blocks are
 * never freed (leaks at exit). Interleaved in rounds so that each site sees every stretch of the sampler.
 * Usage: heapsites [BEFORE_MS [AFTER_MS [ROUNDS]]]: sleeps that long before allocating (for a tracer to attach
 * with -p) and before exiting (default 0); ROUNDS (1 to 160, default 160) scales every site down by 160/ROUNDS. Build: gcc -O1 -g -fno-omit-frame-pointer -fno-builtin. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 160

/* volatile: the compiler may not drop an allocation that is stored and never read. */
static void *volatile kept[10240 + 160];
static int nkept;

__attribute__((noinline)) void keep_4k(void) {
    for (int i = 0; i < 10240 / ROUNDS; i++) {
        char *p = malloc(4096);
        p[0] = 1;
        kept[nkept++] = p;
    }
}

__attribute__((noinline)) void churn_1k(void) {
    for (int i = 0; i < 102400 / ROUNDS; i++) {
        char *volatile p = malloc(1024);
        p[0] = 1;
        free(p);
    }
}

__attribute__((noinline)) void keep_64k(void) {
    char *p = malloc(65536);
    memset(p, 1, 64);
    kept[nkept++] = p;
}

static void pause_ms(long ms) {
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    pause_ms(argc > 1 ? atol(argv[1]) : 0);
    int rounds = argc > 3 ? atoi(argv[3]) : ROUNDS;
    if (rounds < 1 || rounds > ROUNDS) rounds = ROUNDS;
    for (int round = 0; round < rounds; round++) {
        keep_4k();
        churn_1k();
        keep_64k();
    }
    pause_ms(argc > 2 ? atol(argv[2]) : 0);
    return 0;
}
