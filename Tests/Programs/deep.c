// Burns the CPU in spin() under DEPTH recursive calls of recurse() (default 200, each frame over 80 bytes, so
// about 20 KB of stack: more than --call-graph dwarf's 8 KB copy) for SECONDS seconds (default 2); with a third
// argument `syscalls`, spin() also calls getppid(2) every 100,000 turns.
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static int syscalls;

__attribute__((noinline)) void spin(void) {
    for (unsigned long i = 0; i < 2000000; i++) {
        sink += i;
        if (syscalls && i % 100000 == 0) sink += (unsigned long)getppid();
    }
}

__attribute__((noinline)) int recurse(int n) {
    char pad[64];
    pad[n % 64] = (char)n;
    if (n == 0) {
        spin();
        return pad[0];
    }
    int r = recurse(n - 1);
    return r + pad[n % 64];
}

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 200;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    syscalls = argc > 3 && strcmp(argv[3], "syscalls") == 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        sink += recurse(depth);
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
    return 0;
}
