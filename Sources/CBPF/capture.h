/* What Sources/EmberBPF/Programs/capture.bpf.c takes with each sample and writes to its ring buffer, and
 * EmberRecord's SampleTimeCapture reads: the stack beyond the sample's copy, and Swift async context chains. Both
 * sides include this header, so the layouts cannot drift. */
#ifndef EMBER_CAPTURE_H
#define EMBER_CAPTURE_H

#include <linux/types.h>

/* Constants as enumerators, which Swift imports (it does not import macros with expressions).
 * EMBER_TAIL_MAX: the most a tail holds: with --call-graph dwarf's 8 KB copy, 64 KB of stack in all.
 * EMBER_TAIL_OVERLAP: how far below the end of the sample's copy a tail starts, so that the reader can check the two
 * agree. Async context chains: from at most EMBER_CHAIN_CANDIDATES candidates (r14, then [fp - 8] of the first 8 frame
 * records), each followed for at most EMBER_CHAIN_STEPS contexts; the first that reaches a task's root is kept, in at
 * most EMBER_CHAIN_WORDS words. */
enum {
    EMBER_TAIL_MAX = 56 * 1024,
    EMBER_TAIL_OVERLAP = 512,
    EMBER_CHAIN_CANDIDATES = 9,
    EMBER_CHAIN_STEPS = 64,
    EMBER_CHAIN_WORDS = 1 + 2 * EMBER_CHAIN_STEPS,
};

/* Set before the program runs: the user-stack copy of the samples it rides on (sample_stack_user; 0: no tails),
 * and whether to follow async context chains. */
struct ember_capture_config {
    __u64 copy_bytes;
    __u64 async_chains;
};

/* One record of the ring buffer: the thread, its user IP and SP as the sample has them (to find the sample),
 * `chain_words` words of a chain (or none), then `tail_size` bytes of its stack from `address` (up to the end of the stack's
 * mapping). The chains: per candidate, its number of contexts n, then n pairs {context address, its ResumeParent};
 * each context's Parent is the next one. */
struct ember_capture_header {
    __u32 tid;
    __u32 tail_size;
    __u64 ip;
    __u64 sp;
    __u64 address;
    __u32 chain_words;
    __u32 pad;
};

struct ember_capture_record {
    struct ember_capture_header header;
    /* The chains' words, then the tail's bytes right after the last word used. */
    __u64 data[EMBER_CHAIN_WORDS + EMBER_TAIL_MAX / 8];
};

#endif
