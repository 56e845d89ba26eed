// SPDX-License-Identifier: GPL-2.0
/* Stack tails at sample time (`ember record --call-graph dwarf`): attached to the sampling events, it runs on each
 * sample just before the kernel copies the user stack into it, and reads the thread's stack beyond that copy
 * (from EMBER_TAIL_OVERLAP bytes below its end, page by page until a page cannot be read or EMBER_TAIL_MAX) into a
 * ring buffer, with the user IP and SP the sample will carry. It always returns 1: the sample is kept. */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "stacktail.h"

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} tails SEC(".maps");

/* Per CPU, the record being filled (too large for the BPF stack). Sized to the machine's CPUs before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ember_tail_record);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ember_tail_config);
} config SEC(".maps");

/* Records the ring buffer had no room for. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} dropped SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

#define PAGE 4096

SEC("perf_event")
int capture(void *ctx)
{
    __u32 zero = 0, cpu = bpf_get_smp_processor_id();
    struct ember_tail_config *cfg = bpf_map_lookup_elem(&config, &zero);
    struct ember_tail_record *rec = bpf_map_lookup_elem(&scratch, &cpu);
    if (!cfg || !rec || cfg->copy_bytes <= EMBER_TAIL_OVERLAP)
        return 1;
    /* The user registers, as the sample's REGS_USER has them: saved at the entry to the kernel (from user mode, the
     * interrupt's own). A kernel thread has none worth reading; its read fails below. */
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    __u64 sp = BPF_CORE_READ(regs, sp);
    __u64 start = sp + cfg->copy_bytes - EMBER_TAIL_OVERLAP;
    if (sp == 0)
        return 1;
    /* Page by page, so that the read ends at the stack mapping's end with what came before it. */
    __u32 n = PAGE - (start & (PAGE - 1));
    if (bpf_probe_read_user(rec->bytes, n, (void *)start))
        return 1;
    for (int i = 0; i < EMBER_TAIL_MAX / PAGE; i++) {
        if (n > EMBER_TAIL_MAX - PAGE)
            break;
        if (bpf_probe_read_user(rec->bytes + n, PAGE, (void *)(start + n)))
            break;
        n += PAGE;
    }
    rec->header.tid = (__u32)bpf_get_current_pid_tgid();
    rec->header.size = n;
    rec->header.ip = BPF_CORE_READ(regs, ip);
    rec->header.sp = sp;
    rec->header.address = start;
    if (n > EMBER_TAIL_MAX)
        return 1;
    if (bpf_ringbuf_output(&tails, rec, sizeof(rec->header) + n, 0)) {
        __u64 *lost = bpf_map_lookup_elem(&dropped, &zero);
        if (lost)
            __sync_fetch_and_add(lost, 1);
    }
    return 1;
}
