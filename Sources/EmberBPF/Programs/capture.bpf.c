// SPDX-License-Identifier: GPL-2.0
/* What a sample cannot carry, taken with it (`ember record --call-graph dwarf`): attached to the sampling events, it
 * runs on each sample just before the kernel copies the user stack into it, while the thread is stopped, and writes
 * to a ring buffer, with the user IP and SP the sample will carry:
 * - the thread's stack beyond that copy (from EMBER_TAIL_OVERLAP bytes below its end up to the end of the stack's
 *   mapping, at most EMBER_TAIL_MAX), when the stack goes on past it;
 * - Swift async context chains: from r14 (where an async funclet has its context) and from the [fp - 8] slot of the
 *   first frame records (where a framed funclet keeps it), each context's {Parent, ResumeParent} followed until a
 *   Parent of 0 (a task's root: the chain is kept), or a fault, a misaligned or repeated context, or
 *   EMBER_CHAIN_STEPS (dropped). The reader keeps only chains whose every ResumeParent is a resume funclet or a
 *   task-completion function.
 * It always returns 1: the sample is kept. */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "capture.h"

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} records SEC(".maps");

/* Per CPU, the record being filled (too large for the BPF stack). Sized to the machine's CPUs before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ember_capture_record);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ember_capture_config);
} config SEC(".maps");

struct stack_mapping {
    __u64 start;
    __u64 end;
};

/* Per thread, its stack's mapping {start, end}, looked up once (bpf_find_vma walks the mm's tree under its lock)
 * and again only when the stack pointer is outside it (a thread id reused for another stack). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct stack_mapping);
} stacks SEC(".maps");

/* Records the ring buffer had no room for. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} dropped SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

#define PAGE 4096

struct walk {
    __u64 ctx;
    __u32 at;
    __u32 n;
    __u32 cpu;
    /* The chain reached a context whose Parent is 0: a task's root. */
    __u32 rooted;
};

/* bpf_find_vma's callback: the mapping that holds the stack pointer. */
static long mapping_of(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
    struct stack_mapping *m = data;
    m->start = BPF_CORE_READ(vma, vm_start);
    m->end = BPF_CORE_READ(vma, vm_end);
    return 0;
}

/* One step of a chain, as a bpf_loop callback (so that the verifier checks it once, not per step): context
 * w->ctx's {Parent, ResumeParent} into the record at w->at; 1 ends the walk. */
static long step(__u32 index, void *data)
{
    struct walk *w = data;
    __u64 node[2];
    __u64 ctx = w->ctx;
    if (ctx == 0 || (ctx & 15) != 0 || ctx >= (1ULL << 47))
        return 1;
    if (bpf_probe_read_user(node, sizeof(node), (void *)ctx))
        return 1;
    if (node[1] == 0 || node[0] == ctx || (node[0] & 15) != 0)
        return 1;
    struct ember_capture_record *rec = bpf_map_lookup_elem(&scratch, &w->cpu);
    __u32 at = w->at;
    if (!rec || at > EMBER_CHAIN_WORDS - 2)
        return 1;
    rec->data[at] = ctx;
    rec->data[at + 1] = node[1];
    w->at = at + 2;
    w->n++;
    w->ctx = node[0];
    if (node[0] == 0) {
        w->rooted = 1;
        return 1;
    }
    return 0;
}

/* Follows the chain from context `ctx` into rec->chains at `at` (its count first); the index after it. */
static __always_inline __u32 follow(struct ember_capture_record *rec, __u32 cpu, __u32 at, __u64 ctx)
{
    if (at >= EMBER_CHAIN_WORDS - 2)
        return at;
    struct walk w = { .ctx = ctx, .at = at + 1, .n = 0, .cpu = cpu, .rooted = 0 };
    bpf_loop(EMBER_CHAIN_STEPS, step, &w, 0);
    /* Only a chain that reaches a task's root, through at least one awaiting caller: anything else is a register
     * or slot that held no context (or a task's outermost function, which the stack shows itself). */
    if (!w.rooted || w.n < 2 || w.at > EMBER_CHAIN_WORDS)
        return at;
    rec->data[at] = w.n;
    return w.at;
}

SEC("perf_event")
int capture(void *ctx)
{
    __u32 zero = 0, cpu = bpf_get_smp_processor_id();
    struct ember_capture_config *cfg = bpf_map_lookup_elem(&config, &zero);
    struct ember_capture_record *rec = bpf_map_lookup_elem(&scratch, &cpu);
    if (!cfg || !rec)
        return 1;
    /* The user registers, as the sample's REGS_USER has them: saved at the entry to the kernel (from user mode, the
     * interrupt's own). A kernel thread has none worth reading; its reads fail below. */
    struct task_struct *task = bpf_get_current_task_btf();
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
    __u64 sp = BPF_CORE_READ(regs, sp);
    if (sp == 0)
        return 1;

    __u32 words = 0;
    if (cfg->async_chains) {
        __u64 last = 0, fp = BPF_CORE_READ(regs, bp);
        __u64 candidate = BPF_CORE_READ(regs, r14);
        for (int c = 0; c < EMBER_CHAIN_CANDIDATES; c++) {
            if (c > 0) {
                /* Frame record c - 1: its [fp - 8], then on to the record it links to. */
                if (fp == 0 || (fp & 7) != 0 || bpf_probe_read_user(&candidate, 8, (void *)(fp - 8)))
                    break;
                if (bpf_probe_read_user(&fp, 8, (void *)fp))
                    fp = 0;
            }
            /* The first chain that reaches a task's root is the one: the others would be its own tail. */
            if (candidate != last) {
                __u32 before = words;
                words = follow(rec, cpu, words, candidate);
                if (words != before)
                    break;
            }
            last = candidate;
        }
    }
    if (words > EMBER_CHAIN_WORDS)
        return 1;

    /* The tail, when the stack's mapping goes on past the copy: up to its end, a page at a time. */
    __u32 n = 0;
    __u64 start = sp + cfg->copy_bytes - EMBER_TAIL_OVERLAP, end = 0;
    if (cfg->copy_bytes > EMBER_TAIL_OVERLAP) {
        __u32 tid = (__u32)bpf_get_current_pid_tgid();
        struct stack_mapping *known = bpf_map_lookup_elem(&stacks, &tid);
        if (known && known->start <= sp && sp < known->end) {
            end = known->end;
        } else {
            struct stack_mapping found = {};
            if (bpf_find_vma(task, sp, mapping_of, &found, 0) == 0) {
                end = found.end;
                bpf_map_update_elem(&stacks, &tid, &found, BPF_ANY);
            }
        }
    }
    if (end > sp + cfg->copy_bytes) {
        __u8 *bytes = (__u8 *)&rec->data[words];
        __u64 want = end - start;
        if (want > EMBER_TAIL_MAX)
            want = EMBER_TAIL_MAX;
        for (int i = 0; i <= EMBER_TAIL_MAX / PAGE; i++) {
            /* To the next page boundary first, whole pages after. */
            __u32 piece = PAGE - ((start + n) & (PAGE - 1));
            if (n >= want || n > EMBER_TAIL_MAX - PAGE)
                break;
            if (piece > want - n)
                piece = want - n;
            if (piece == 0 || piece > PAGE || bpf_probe_read_user(bytes + n, piece, (void *)(start + n)))
                break;
            n += piece;
        }
    }
    if (n == 0 && words == 0)
        return 1;
    rec->header.tid = (__u32)bpf_get_current_pid_tgid();
    rec->header.tail_size = n;
    rec->header.ip = BPF_CORE_READ(regs, ip);
    rec->header.sp = sp;
    rec->header.address = start;
    rec->header.chain_words = words;
    if (n > EMBER_TAIL_MAX)
        return 1;
    __u64 size = sizeof(rec->header) + words * 8 + n;
    if (bpf_ringbuf_output(&records, rec, size, 0)) {
        __u64 *lost = bpf_map_lookup_elem(&dropped, &zero);
        if (lost)
            __sync_fetch_and_add(lost, 1);
    }
    return 1;
}
