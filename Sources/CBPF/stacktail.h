/* Stack tails taken at sample time: what Sources/EmberBPF/Programs/stacktail.bpf.c writes to its ring buffer and
 * EmberRecord's StackTailReader reads. Both sides include this header, so the layouts cannot drift. */
#ifndef EMBER_STACKTAIL_H
#define EMBER_STACKTAIL_H

#include <linux/types.h>

/* The most a tail holds: with --call-graph dwarf's 8 KB copy, 64 KB of stack in all. */
#define EMBER_TAIL_MAX (56 * 1024)
/* How far below the end of the sample's copy a tail starts, so that the reader can check the two agree. */
#define EMBER_TAIL_OVERLAP 512

/* Set before the program runs: the user-stack copy of the samples it rides on (sample_stack_user). */
struct ember_tail_config {
    __u64 copy_bytes;
};

/* One record of the ring buffer: the thread, its user IP and SP as the sample has them (to find the sample), and
 * `size` bytes of its stack from `address`, then the bytes. */
struct ember_tail_header {
    __u32 tid;
    __u32 size;
    __u64 ip;
    __u64 sp;
    __u64 address;
};

struct ember_tail_record {
    struct ember_tail_header header;
    __u8 bytes[EMBER_TAIL_MAX];
};

#endif
