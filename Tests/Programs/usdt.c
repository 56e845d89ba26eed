/* Used by the USDT tests: one USDT probe, ember:tick, with a semaphore, written by hand in the layout of
 * systemtap's <sys/sdt.h> (which the tests must not depend on). Usage: usdt N [PAUSE_MS]. Sleeps PAUSE_MS
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

/* The semaphore: the kernel (uprobe ref_ctr_offset) or a tracer increments it while the probe is in use. */
__attribute__((section(".probes"), used)) volatile unsigned short ember_tick_semaphore;

#define EMBER_TICK_ENABLED() __builtin_expect(ember_tick_semaphore != 0, 0)

/* The note descriptor: pc, base, semaphore (8 bytes each), then provider, name and arguments (each NUL
 * terminated). The numeric local labels let gcc duplicate the asm (unrolling, etc.) safely; each copy gets
 * its own note. .stapsdt.base is a comdat group so that only one 1-byte _.stapsdt.base exists per link. */
#define EMBER_TICK(a, b)                                                                                      \
    __asm__ __volatile__("990: nop\n"                                                                         \
                         ".pushsection .note.stapsdt,\"?\",\"note\"\n"                                        \
                         ".balign 4\n"                                                                        \
                         ".4byte 992f-991f, 994f-993f, 3\n"                                                   \
                         "991: .asciz \"stapsdt\"\n"                                                          \
                         "992: .balign 4\n"                                                                   \
                         "993: .8byte 990b\n"                                                                 \
                         ".8byte _.stapsdt.base\n"                                                            \
                         ".8byte ember_tick_semaphore\n"                                                      \
                         ".asciz \"ember\"\n"                                                                 \
                         ".asciz \"tick\"\n"                                                                  \
                         ".asciz \"-4@%0 8@%1\"\n"                                                            \
                         "994: .balign 4\n"                                                                   \
                         ".popsection\n"                                                                      \
                         ".ifndef _.stapsdt.base\n"                                                           \
                         ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"              \
                         ".weak _.stapsdt.base\n"                                                             \
                         ".hidden _.stapsdt.base\n"                                                           \
                         "_.stapsdt.base: .space 1\n"                                                         \
                         ".size _.stapsdt.base, 1\n"                                                          \
                         ".popsection\n"                                                                      \
                         ".endif\n"                                                                           \
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
