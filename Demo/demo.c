/*
 * demo.c - Ember's demo workload, a CPU-bound program with a known profile.
 *
 * Used by `make profile`, the end-to-end tests and the benchmarks as a target
 * whose flame graph is predictable. Build it with frame pointers:
 *
 *     gcc -O2 -g -fno-omit-frame-pointer -o demo Demo/demo.c
 *
 * Usage: demo [SECONDS]   (default 2.0, fractional allowed)
 *
 * It runs rounds until SECONDS of its own CPU time have passed. Each round
 * gives every hot path a fixed CPU-time budget, measured on the thread CPU
 * clock, so the shares hold however the machine is loaded:
 *
 *     main;run_round;spin_primes    40%  own code, trial division (leaf)
 *     main;run_round;hash_strings   20%  own code, FNV-1a over a buffer (leaf)
 *     main;run_round;fill_buffers   20%  libc memset/memcpy on 256 KiB buffers
 *                                        (samples land in libc, e.g.
 *                                        __memset_avx2_unaligned_erms)
 *     main;run_round;sort_numbers   20%  libc qsort with own comparator
 *                                        compare_ints
 *
 * A round is 10 ms of CPU time (4 + 2 + 2 + 2 ms). The clock (a syscall) is
 * read only every ~50-70 us of work (1000 candidates, 64 KiB hashed, 16
 * memset+memcpy pairs, one 1024-int qsort), so reading it costs under 1%.
 * At exit it prints one checksum line to stdout so nothing is optimised away,
 * and exits with status 0.
 *
 * What frame-pointer call graphs (perf record -g) really show, glibc 2.36:
 *   - memset/memcpy are frameless leaves, so their caller is skipped:
 *     main;run_round;__memset_avx512_unaligned_erms (no fill_buffers frame;
 *     the avx2/avx512/evex variant depends on the CPU).
 *   - glibc's qsort (msort_with_tmp) uses rbp as a plain register, so those
 *     stacks are cut short: bare "msort_with_tmp.part.0" and "compare_ints",
 *     plus a little bare __memmove_* (msort's copy-back). sort_numbers itself
 *     keeps only its own ~0.3% (filling the array).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUFFER_BYTES (256 * 1024)
#define SORT_COUNT 1024
#define ROUND_UNIT_NS 2000000LL /* 2 ms: the budget of a 20% phase */

static unsigned char source_buffer[BUFFER_BYTES];
static unsigned char target_buffer[BUFFER_BYTES];
static unsigned char hash_buffer[4096];
static int sort_array[SORT_COUNT];

static int64_t cpu_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* 40%: trial division over an ever-growing range of candidates. */
__attribute__((noinline)) uint64_t spin_primes(int64_t budget_ns) {
    static uint32_t candidate = 3;
    uint64_t found = 0;
    int64_t deadline = cpu_now_ns() + budget_ns;
    do {
        for (int i = 0; i < 1000; i++) {
            uint32_t n = candidate;
            candidate += 2;
            if (candidate > 200000) candidate = 3;
            int prime = 1;
            for (uint32_t d = 3; d * d <= n; d += 2) {
                if (n % d == 0) { prime = 0; break; }
            }
            found += prime ? n : 0;
        }
    } while (cpu_now_ns() < deadline);
    return found;
}

/* 20%: FNV-1a over a 4 KiB buffer. */
__attribute__((noinline)) uint64_t hash_strings(int64_t budget_ns) {
    uint64_t h = 1469598103934665603ULL;
    int64_t deadline = cpu_now_ns() + budget_ns;
    do {
        for (int i = 0; i < 16; i++) { /* 16 x 4096 byte steps per clock check */
            for (size_t j = 0; j < sizeof hash_buffer; j++) {
                h ^= hash_buffer[j];
                h *= 1099511628211ULL;
            }
            hash_buffer[(h >> 7) % sizeof hash_buffer] ^= (unsigned char)h;
        }
    } while (cpu_now_ns() < deadline);
    return h;
}

/* 20%: libc memset + memcpy on 256 KiB buffers. */
__attribute__((noinline)) uint64_t fill_buffers(int64_t budget_ns) {
    uint64_t sum = 0;
    unsigned value = 0;
    int64_t deadline = cpu_now_ns() + budget_ns;
    do {
        for (int i = 0; i < 16; i++) { /* ~4 us per pair; check the clock every 16 */
            memset(source_buffer, (int)(value++ & 0xff), sizeof source_buffer);
            memcpy(target_buffer, source_buffer, sizeof target_buffer);
            sum += target_buffer[(value * 4099u) % sizeof target_buffer];
            __asm__ volatile("" ::: "memory");
        }
    } while (cpu_now_ns() < deadline);
    return sum;
}

__attribute__((noinline)) int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* 20%: libc qsort of 1024 pseudo-random ints with compare_ints. */
__attribute__((noinline)) uint64_t sort_numbers(int64_t budget_ns) {
    static uint32_t seed = 12345;
    uint64_t sum = 0;
    int64_t deadline = cpu_now_ns() + budget_ns;
    do {
        for (int i = 0; i < SORT_COUNT; i++) {
            seed = seed * 1664525u + 1013904223u;
            sort_array[i] = (int)(seed >> 8);
        }
        qsort(sort_array, SORT_COUNT, sizeof sort_array[0], compare_ints);
        sum += (uint64_t)sort_array[SORT_COUNT / 2];
    } while (cpu_now_ns() < deadline);
    return sum;
}

__attribute__((noinline)) uint64_t run_round(void) {
    uint64_t sum = 0;
    sum += spin_primes(2 * ROUND_UNIT_NS);
    sum += hash_strings(ROUND_UNIT_NS);
    sum += fill_buffers(ROUND_UNIT_NS);
    sum += sort_numbers(ROUND_UNIT_NS);
    return sum;
}

int main(int argc, char **argv) {
    double seconds = 2.0;
    if (argc > 1) {
        char *end = NULL;
        seconds = strtod(argv[1], &end);
        if (end == argv[1] || *end != '\0' || !(seconds >= 0.0)) {
            fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof hash_buffer; i++) hash_buffer[i] = (unsigned char)(i * 31 + 7);

    int64_t start = cpu_now_ns();
    int64_t limit = (int64_t)(seconds * 1e9);
    uint64_t checksum = 0;
    long rounds = 0;
    do {
        checksum += run_round();
        rounds++;
    } while (cpu_now_ns() - start < limit);
    printf("demo: %ld rounds, checksum %llu\n", rounds, (unsigned long long)checksum);
    return 0;
}
