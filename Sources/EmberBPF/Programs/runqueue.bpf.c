// SPDX-License-Identifier: GPL-2.0
/* Run-queue delay per thread, aggregated in the kernel (`ember latency --sched`): from the moment a thread becomes
 * runnable (a wakeup, or a switch that leaves it runnable: preempted) until it is switched in. The same rules as
 * EmberLatency's reading of sched_switch/sched_wakeup events, so that both paths measure the same waits, but
 * nothing reaches user space until the end: per thread the exact count, total and maximum, and a histogram. */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "runqueue.h"

/* The processes followed (their tgids; their children join at fork). Key 0 present: every task. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, __u8);
} targets SEC(".maps");

/* Threads runnable now, and since when. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32768);
    __type(key, __u32);
    __type(value, struct ember_rq_start);
} started SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32768);
    __type(key, __u32);
    __type(value, struct ember_rq_thread);
} threads SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 131072);
    __type(key, struct ember_rq_slot);
    __type(value, __u64);
} slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, EMBER_RQ_DROP_KINDS);
    __type(key, __u32);
    __type(value, __u64);
} dropped SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

static __always_inline void drop(__u32 kind)
{
    __u64 *n = bpf_map_lookup_elem(&dropped, &kind);
    if (n)
        __sync_fetch_and_add(n, 1);
}

static __always_inline bool followed(__u32 tgid)
{
    __u32 every = 0;
    return bpf_map_lookup_elem(&targets, &every) || bpf_map_lookup_elem(&targets, &tgid);
}

/* floor(log2(v)) for v > 0, without a loop (BPF has no count-leading-zeros instruction). */
static __always_inline __u32 log2_u64(__u64 v)
{
    __u32 r = 0, shift;
    shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
    shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
    shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
    shift = (v > 0xF) << 2; v >>= shift; r |= shift;
    shift = (v > 0x3) << 1; v >>= shift; r |= shift;
    return r | (__u32)(v >> 1);
}

static __always_inline __u32 slot_of(__u64 ns)
{
    if (ns < EMBER_RQ_EXACT)
        return ns;
    __u32 e = log2_u64(ns);
    __u32 sub = (ns >> (e - EMBER_RQ_SUBSLOT_BITS)) & (EMBER_RQ_SUBSLOTS - 1);
    return EMBER_RQ_EXACT + (e - 6) * EMBER_RQ_SUBSLOTS + sub;
}

/* `p` became runnable: a wakeup keeps an earlier start (a preempted thread woken again has waited since its
 * preemption); a switch-out (`fresh`) starts anew. A thread's entry in `started` stays from its first wait until it
 * exits (`ns` 0 while it is not waiting), so that the steady state is lookups and plain stores, not the locked
 * inserts and deletes of a hash map: this runs on every switch of the machine. */
static __always_inline void runnable(struct task_struct *p, bool fresh)
{
    __u32 tid = p->pid;
    if (tid == 0)
        return;
    struct ember_rq_start *entry = bpf_map_lookup_elem(&started, &tid);
    __u64 now = bpf_ktime_get_ns();
    if (entry) {
        if (fresh || entry->ns == 0)
            entry->ns = now;
        return;
    }
    __u32 tgid = p->tgid;
    if (!followed(tgid))
        return;
    struct ember_rq_start start = { .ns = now, .tgid = tgid };
    if (bpf_map_update_elem(&started, &tid, &start, BPF_NOEXIST) && !bpf_map_lookup_elem(&started, &tid))
        drop(EMBER_RQ_DROP_START);
}

static __always_inline void account(struct task_struct *t, __u32 tid, __u64 delta)
{
    struct ember_rq_thread *row = bpf_map_lookup_elem(&threads, &tid);
    if (!row) {
        /* The name now; an exec renames it (sched_process_exec). */
        struct ember_rq_thread first = { .tgid = t->tgid };
        bpf_probe_read_kernel_str(first.comm, sizeof(first.comm), t->comm);
        bpf_map_update_elem(&threads, &tid, &first, BPF_NOEXIST);
        row = bpf_map_lookup_elem(&threads, &tid);
        if (!row) {
            drop(EMBER_RQ_DROP_THREAD);
            return;
        }
    }
    /* A thread is switched in on one CPU at a time: its row has one writer. */
    row->count += 1;
    row->total_ns += delta;
    if (delta > row->max_ns)
        row->max_ns = delta;
    struct ember_rq_slot key = { .tid = tid, .slot = slot_of(delta) };
    __u64 *n = bpf_map_lookup_elem(&slots, &key);
    if (n) {
        *n += 1;
    } else {
        __u64 one = 1;
        if (bpf_map_update_elem(&slots, &key, &one, BPF_NOEXIST))
            drop(EMBER_RQ_DROP_SLOT);
    }
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
    runnable(p, false);
    return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
    runnable(p, false);
    return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
    if (preempt || prev_state == 0) {
        runnable(prev, true);
    } else {
        /* Blocked: a wakeup that reached it while it ran is no longer a wait. */
        __u32 prev_tid = prev->pid;
        struct ember_rq_start *entry = bpf_map_lookup_elem(&started, &prev_tid);
        if (entry)
            entry->ns = 0;
    }
    __u32 tid = next->pid;
    struct ember_rq_start *entry = bpf_map_lookup_elem(&started, &tid);
    if (!entry || entry->ns == 0)
        return 0;
    __u64 delta = bpf_ktime_get_ns() - entry->ns;
    entry->ns = 0;
    account(next, tid, delta);
    return 0;
}

/* A thread that execs takes the program's name. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p)
{
    __u32 tid = p->pid;
    struct ember_rq_thread *row = bpf_map_lookup_elem(&threads, &tid);
    if (row)
        bpf_probe_read_kernel_str(row->comm, sizeof(row->comm), p->comm);
    return 0;
}

/* A thread that exits gives its entry back. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
    __u32 tid = p->pid;
    bpf_map_delete_elem(&started, &tid);
    return 0;
}

/* A followed process's children are followed from their fork. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 parent_tgid = parent->tgid, child_tgid = child->tgid;
    if (parent_tgid == child_tgid)
        return 0;
    __u32 every = 0;
    if (!bpf_map_lookup_elem(&targets, &every) && bpf_map_lookup_elem(&targets, &parent_tgid)) {
        __u8 yes = 1;
        bpf_map_update_elem(&targets, &child_tgid, &yes, BPF_NOEXIST);
    }
    return 0;
}
