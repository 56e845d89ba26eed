/* USDT probe sites in the layout of systemtap's <sys/sdt.h>, for the heap shim and the test programs, so that
 * neither needs systemtap's headers.
 *
 * A site is a nop (a uprobe's int3 replaces it) and a .note.stapsdt entry (name "stapsdt", type 3) holding its pc,
 * the address of _.stapsdt.base, the address of its semaphore (a tracer finds the semaphore's file offset, a
 * uprobe's ref_ctr_offset, through the PT_LOAD segment containing it), then the provider, the name and the argument
 * specs ("-4@%0 8@%1": size and signedness @ the operand gcc chose), each NUL terminated. The numeric local labels
 * let the compiler copy the asm (inlining, unrolling) safely: each copy gets a note of its own. .stapsdt.base is
 * a comdat group, so one 1-byte _.stapsdt.base exists per link. Use it inside __asm__ __volatile__ with the
 * arguments as "r" inputs: EMBER_SDT_NOTE("my_semaphore", "provider", "name", "8@%0"). */
#ifndef EMBER_SDT_H
#define EMBER_SDT_H

#define EMBER_SDT_NOTE(semaphore, provider, name, args)                                                        \
    "990: nop\n"                                                                                               \
    ".pushsection .note.stapsdt,\"?\",\"note\"\n"                                                              \
    ".balign 4\n"                                                                                              \
    ".4byte 992f-991f, 994f-993f, 3\n"                                                                         \
    "991: .asciz \"stapsdt\"\n"                                                                                \
    "992: .balign 4\n"                                                                                         \
    "993: .8byte 990b\n"                                                                                       \
    ".8byte _.stapsdt.base\n"                                                                                  \
    ".8byte " semaphore "\n"                                                                                   \
    ".asciz \"" provider "\"\n"                                                                                 \
    ".asciz \"" name "\"\n"                                                                                     \
    ".asciz \"" args "\"\n"                                                                                     \
    "994: .balign 4\n"                                                                                         \
    ".popsection\n"                                                                                            \
    ".ifndef _.stapsdt.base\n"                                                                                 \
    ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"                                    \
    ".weak _.stapsdt.base\n"                                                                                   \
    ".hidden _.stapsdt.base\n"                                                                                 \
    "_.stapsdt.base: .space 1\n"                                                                               \
    ".size _.stapsdt.base, 1\n"                                                                                \
    ".popsection\n"                                                                                            \
    ".endif\n"

#endif
