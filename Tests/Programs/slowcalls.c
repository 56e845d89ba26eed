/* handle_request(i) is called N times (argument, default 12): it burns 5 ms, except every 4th call, which calls
 * stall() for 60 ms, for the flight recorder's latency trigger (a snapshot per call slower than 50 ms). */
#include <stdlib.h>

#include "burn.h"

__attribute__((noinline)) long stall(void) { return burn(0.060); }
__attribute__((noinline)) long work(void) { return burn(0.005); }

__attribute__((noinline)) long handle_request(int i) { return i % 4 == 3 ? stall() : work(); }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 12;
    volatile long sink = 0;
    for (int i = 0; i < n; i++) sink += handle_request(i);
    return 0;
}
