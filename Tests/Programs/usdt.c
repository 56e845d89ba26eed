/* Used by the USDT tests: one USDT probe, ember:tick, with a semaphore, in the layout of systemtap's <sys/sdt.h>
 * (which the tests must not depend on) through the heap shim's ember_sdt.h. Usage: usdt N [PAUSE_MS]. Sleeps PAUSE_MS
 * (default 300) so a tracer can attach with -p, then for i in 0..<N: if the semaphore is non-zero (a tracer
 * is attached), counts the iteration as traced and fires ember:tick with (int i, long 3*i); sleeps 1 ms
 * every 100 iterations. Prints "calls N" and "semaphore-seen K" (K = traced iterations) and exits 0.
 * The probe site is a nop; the .note.stapsdt note (name "stapsdt", type 3) holds its pc, the address of
 * _.stapsdt.base, the address of ember_tick_semaphore (in .probes), "ember", "tick" and the argument
 * string, e.g. "-4@%eax 8@%rdx". A tracer finds the semaphore's file offset for a uprobe's ref_ctr_offset
 * through the PT_LOAD segment containing it.
 * Build: gcc -O2 -g -o usdt usdt.c */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../Sources/ember-heap/ember_sdt.h"

/* The semaphore: the kernel (uprobe ref_ctr_offset) or a tracer increments it while the probe is in use. */
__attribute__((section(".probes"), used)) volatile unsigned short ember_tick_semaphore;

#define EMBER_TICK_ENABLED() __builtin_expect(ember_tick_semaphore != 0, 0)

#define EMBER_TICK(a, b)                                                                                      \
    __asm__ __volatile__(EMBER_SDT_NOTE("ember_tick_semaphore", "ember", "tick", "-4@%0 8@%1")                  \
                         :                                                                                    \
                         : "r"((int)(a)), "r"((long)(b)))

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    long pause_ms = argc > 2 ? atol(argv[2]) : 300;
    if (pause_ms > 0) {
        struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    long traced = 0;
    for (long i = 0; i < n; i++) {
        if (EMBER_TICK_ENABLED()) {
            traced++;
            EMBER_TICK(i, 3 * i);
        }
        if ((i + 1) % 100 == 0) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    printf("calls %ld\nsemaphore-seen %ld\n", n, traced);
    return 0;
}
