/* Built with -O2 -fomit-frame-pointer -g by UnwindTests: a known six-level call chain, main -> level1 -> ... ->
 * level6, where level6 burns the CPU. Without frame pointers, only DWARF unwinding recovers the chain. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long level6(long n) {
    volatile long s = 0;
    for (long i = 0; i < n; i++) s += i * i % 7;
    return s;
}
__attribute__((noinline)) long level5(long n) { return level6(n) + 5; }
__attribute__((noinline)) long level4(long n) { return level5(n) * 3 + 4; }
__attribute__((noinline)) long level3(long n) { return level4(n) - 3; }
__attribute__((noinline)) long level2(long n) { return level3(n) ^ 2; }
__attribute__((noinline)) long level1(long n) { return level2(n) + 1; }

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 40;
    long total = 0;
    for (long r = 0; r < rounds; r++) total += level1(2000000);
    printf("%ld\n", total);
    return 0;
}
