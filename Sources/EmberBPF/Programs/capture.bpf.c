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
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "capture.h"

/* The kernel types it reads, declared whole rather than relocated against the running kernel's BTF (CO-RE), so that
 * loading it needs no vmlinux BTF (libbpf's reading of it cost ~20 ms at each recording's start): x86-64's saved
 * registers in the kernel's order (an ABI: ptrace's user_regs_struct has the same), and the start and end that
 * begin every vm_area_struct. */
struct task_struct;

struct pt_regs {
    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct vm_area_struct {
    unsigned long vm_start;
    unsigned long vm_end;
};

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

/* Per process, its samples and those with a chain. Following frame records costs most of the program's time (a
 * user read per record), and code that is not Swift async has nothing there: a process with no chain in its first
 * EMBER_FRAMES_TRIAL samples has its frame records tried on one sample in EMBER_FRAMES_RETRY only (until one has a
 * chain), r14 on every sample. */
struct process_chains {
    __u64 samples;
    __u64 chains;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct process_chains);
} processes SEC(".maps");

enum { EMBER_FRAMES_TRIAL = 256, EMBER_FRAMES_RETRY = 64 };

/* Records the ring buffer had no room for. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} dropped SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

#define PAGE 4096

/* bpf_find_vma's callback: the mapping that holds the stack pointer. */
static long mapping_of(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
    struct stack_mapping *m = data;
    m->start = vma->vm_start;
    m->end = vma->vm_end;
    return 0;
}

/* Whether `ctx` may be an async context: 16-byte aligned and a user address, so that a register or slot that holds
 * a small integer or a flag starts no walk. (Nearness to the stack says nothing: a thread's malloc arena, where
 * its tasks' contexts are, can be mapped right above its stack.) */
static __always_inline int plausible(__u64 ctx)
{
    return ctx != 0 && (ctx & 15) == 0 && ctx < (1ULL << 47);
}

/* The search for a chain, one bpf_loop step at a time (so that the verifier checks one step, not every path through
 * nested loops): either the next candidate (r14, then the [fp - 8] slot of each frame record) or one context of
 * the chain being followed, whose count goes to rec->data[0] and its {context, ResumeParent} pairs after it. The
 * state is kept per CPU in a map, not on the stack: the verifier would follow each value it takes on the stack
 * as a state of its own (79,000 instructions verified, 77 ms at each recording's start, with the loops unrolled; 1,250 now). */
struct walk {
    __u64 r14;
    __u64 fp;
    __u64 last;
    __u64 ctx;
    __u32 candidates;
    __u32 tried;
    __u32 following;
    __u32 n;
    /* Words of the chain kept: a chain that reached a task's root (a Parent of 0) through at least one awaiting
     * caller, the first found (later candidates would be its own tail). */
    __u32 words;
    __u32 pad;
};

/* Per CPU (sized before loading), the walk of the sample being taken. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct walk);
} walks SEC(".maps");

static long chain_step(__u32 index, void *data)
{
    __u32 *cpu = data;
    struct walk *w = bpf_map_lookup_elem(&walks, cpu);
    if (!w)
        return 1;
    if (!w->following) {
        if (w->tried >= w->candidates)
            return 1;
        __u64 candidate = w->r14;
        if (w->tried > 0) {
            /* Frame record tried - 1: its [fp - 8], and the record it links to at [fp], in one read. */
            __u64 slot[2];
            if (w->fp == 0 || (w->fp & 7) != 0 || bpf_probe_read_user(slot, sizeof(slot), (void *)(w->fp - 8)))
                return 1;
            candidate = slot[0];
            w->fp = slot[1];
        }
        w->tried++;
        if (candidate != w->last && plausible(candidate)) {
            w->ctx = candidate;
            w->following = 1;
            w->n = 0;
        }
        w->last = candidate;
        return 0;
    }
    /* One context: its {Parent, ResumeParent}; a fault, a misaligned or repeated context, or no room ends the
     * chain (and the next candidate is tried). */
    __u64 node[2];
    __u64 ctx = w->ctx;
    __u32 at = 1 + 2 * w->n;
    struct ember_capture_record *rec = bpf_map_lookup_elem(&scratch, cpu);
    if (!rec || at > EMBER_CHAIN_WORDS - 2 || !plausible(ctx) || bpf_probe_read_user(node, sizeof(node), (void *)ctx) ||
        node[1] == 0 || node[0] == ctx || (node[0] & 15) != 0) {
        w->following = 0;
        return 0;
    }
    rec->data[at] = ctx;
    rec->data[at + 1] = node[1];
    w->n++;
    w->ctx = node[0];
    if (node[0] != 0)
        return 0;
    w->following = 0;
    if (w->n < 2)
        return 0;
    rec->data[0] = w->n;
    w->words = 1 + 2 * w->n;
    return 1;
}

/* The tail, a piece at a time: to the next page boundary first, whole pages after. */
struct tail {
    __u64 start;
    __u32 want;
    __u32 n;
    __u32 words;
    __u32 cpu;
};

static long tail_piece(__u32 index, void *data)
{
    struct tail *t = data;
    __u32 n = t->n, words = t->words;
    struct ember_capture_record *rec = bpf_map_lookup_elem(&scratch, &t->cpu);
    __u32 piece = PAGE - ((t->start + n) & (PAGE - 1));
    if (!rec || n >= t->want || n > EMBER_TAIL_MAX - PAGE || words > EMBER_CHAIN_WORDS)
        return 1;
    if (piece > t->want - n)
        piece = t->want - n;
    if (piece == 0 || piece > PAGE || bpf_probe_read_user((__u8 *)&rec->data[words] + n, piece, (void *)(t->start + n)))
        return 1;
    t->n = n + piece;
    return 0;
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
    __u64 sp = regs->sp;
    if (sp == 0)
        return 1;

    __u32 words = 0;
    if (cfg->async_chains) {
        __u32 pid = bpf_get_current_pid_tgid() >> 32;
        struct process_chains *seen = bpf_map_lookup_elem(&processes, &pid);
        if (!seen) {
            struct process_chains none = {};
            bpf_map_update_elem(&processes, &pid, &none, BPF_NOEXIST);
            seen = bpf_map_lookup_elem(&processes, &pid);
        }
        int candidates = EMBER_CHAIN_CANDIDATES;
        if (seen) {
            if (seen->chains == 0 && seen->samples >= EMBER_FRAMES_TRIAL && seen->samples % EMBER_FRAMES_RETRY != 0)
                candidates = 1;
            seen->samples++;
        }
        struct walk *w = bpf_map_lookup_elem(&walks, &cpu);
        if (!w)
            return 1;
        *w = (struct walk){ .r14 = regs->r14, .fp = regs->bp, .candidates = candidates };
        /* Per candidate: the step that picks it, its contexts, and the step that finds it ends without a root. */
        bpf_loop(EMBER_CHAIN_CANDIDATES * (EMBER_CHAIN_STEPS + 2), chain_step, &cpu, 0);
        words = w->words;
        if (words > 0 && seen)
            seen->chains++;
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
        struct tail t = { .start = start, .want = end - start > EMBER_TAIL_MAX ? EMBER_TAIL_MAX : end - start, .words = words, .cpu = cpu };
        bpf_loop(EMBER_TAIL_MAX / PAGE + 1, tail_piece, &t, 0);
        n = t.n;
    }
    if (n == 0 && words == 0)
        return 1;
    rec->header.tid = (__u32)bpf_get_current_pid_tgid();
    rec->header.tail_size = n;
    rec->header.ip = regs->ip;
    rec->header.sp = sp;
    rec->header.address = start;
    rec->header.chain_words = words;
    if (n > EMBER_TAIL_MAX)
        return 1;
    __u64 size = sizeof(rec->header) + words * 8 + n;
    /* No wake-up: the recorder takes the records in at its drains, never waiting on the ring. */
    if (bpf_ringbuf_output(&records, rec, size, BPF_RB_NO_WAKEUP)) {
        __u64 *lost = bpf_map_lookup_elem(&dropped, &zero);
        if (lost)
            __sync_fetch_and_add(lost, 1);
    }
    return 1;
}
