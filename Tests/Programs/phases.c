/* Two known phases: phase_a() burns the CPU for A seconds, then phase_b() for B seconds (arguments, decimals
 * allowed), for the flight recorder's snapshots: one taken during B, once A is older than the rings' history,
 * holds B's samples and not A's. */
#include <stdlib.h>

#include "burn.h"

__attribute__((noinline)) long phase_a(double seconds) { return burn(seconds) + 1; }
__attribute__((noinline)) long phase_b(double seconds) { return burn(seconds) + 2; }

int main(int argc, char **argv) {
    double a = argc > 1 ? atof(argv[1]) : 1, b = argc > 2 ? atof(argv[2]) : 1;
    volatile long sink = phase_a(a) + phase_b(b);
    (void)sink;
    return 0;
}
