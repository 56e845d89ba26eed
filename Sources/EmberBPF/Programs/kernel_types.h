/* The few kernel types Ember's BPF programs read, declared with only the fields they use. preserve_access_index
 * makes each field access a CO-RE relocation: libbpf finds the field's offset in the running kernel's BTF
 * (/sys/kernel/btf/vmlinux) at load time, so no vmlinux.h is generated or committed. */
#ifndef EMBER_KERNEL_TYPES_H
#define EMBER_KERNEL_TYPES_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>

struct task_struct {
    int pid;
    int tgid;
    char comm[16];
} __attribute__((preserve_access_index));

/* x86-64's saved registers, as the kernel names them (the uapi header names them rip, rsp...). */
struct pt_regs {
    unsigned long r14;
    unsigned long bp;
    unsigned long ip;
    unsigned long sp;
} __attribute__((preserve_access_index));

struct vm_area_struct {
    unsigned long vm_start;
    unsigned long vm_end;
} __attribute__((preserve_access_index));

#endif
