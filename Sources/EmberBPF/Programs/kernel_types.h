/* The few kernel types the scheduler program (runqueue.bpf.c) reads, declared with only the fields it uses. preserve_access_index
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

#endif
