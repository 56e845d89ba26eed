/* Run-queue delay aggregated in the kernel: what Sources/EmberBPF/Programs/runqueue.bpf.c writes and
 * EmberLatency's InKernelRunQueue reads. Both sides include this header, so the layouts cannot drift. */
#ifndef EMBER_RUNQUEUE_H
#define EMBER_RUNQUEUE_H

#include <linux/types.h>

/* Delays below 64 ns count exactly; above, each power of two splits into 32 slots (within 1/32 of the value). */
#define EMBER_RQ_EXACT 64
#define EMBER_RQ_SUBSLOTS 32
#define EMBER_RQ_SUBSLOT_BITS 5

/* Per thread: its process and name (the latest seen) and the exact count, total and longest delay. */
struct ember_rq_thread {
    __u32 tgid;
    char comm[16];
    __u32 pad;
    __u64 count;
    __u64 total_ns;
    __u64 max_ns;
};

/* A histogram cell: a thread's count of delays in one slot. */
struct ember_rq_slot {
    __u32 tid;
    __u32 slot;
};

/* When a thread became runnable (0: it is not waiting), and its process (to count its unfinished wait at the end). */
struct ember_rq_start {
    __u64 ns;
    __u32 tgid;
    __u32 pad;
};

/* Indices of the `dropped` array: what did not fit in a full map, counted, never silent. */
enum ember_rq_drop {
    EMBER_RQ_DROP_START = 0,
    EMBER_RQ_DROP_THREAD = 1,
    EMBER_RQ_DROP_SLOT = 2,
    EMBER_RQ_DROP_KINDS = 3,
};

#endif
