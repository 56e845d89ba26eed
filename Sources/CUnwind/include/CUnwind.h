#ifndef EMBER_CUNWIND_H
#define EMBER_CUNWIND_H

#include <stddef.h>
#include <stdint.h>

/// The `.eh_frame_hdr` search table of the binary that maps an address, in the sampled process's addresses.
typedef struct {
    uint64_t start, end;     // the binary's executable mapping
    uint64_t header;         // .eh_frame_hdr
    uint64_t table;          // its binary-search table
    uint64_t entries;        // FDEs in the table
} ember_unwind_table;

/// One sample's user registers (DWARF numbers 0...16, a bit per valid one) and stack copy, and how to read the
/// binaries mapped in its process.
typedef struct {
    void *context;
    /// Fills `table` for the binary mapped at `address`; returns 0, or -1 when none has one.
    int (*find_table)(void *context, uint64_t address, ember_unwind_table *table);
    /// Reads the 8 bytes a binary maps at `address`; returns 0, or -1.
    int (*read_memory)(void *context, uint64_t address, uint64_t *value);
    const uint64_t *registers;
    uint32_t valid;
    uint64_t stack_base;
    const uint8_t *stack;
    size_t stack_size;
    /// Set when a read fell outside the stack copy and the binaries (and so read as 0).
    int missed;
} ember_unwind_sample;

/// A libunwind remote address space whose accessors read an `ember_unwind_sample`; caches the unwind info it finds,
/// so use one per process image.
void *ember_unwind_create(void);
void ember_unwind_destroy(void *space);

/// Unwinds the sample: writes at most `max` frame addresses (the IP first, then return addresses, as libunwind
/// reports them) and whether each is a signal frame. Returns the frame count; `*complete` is 1 when the outermost
/// frame said it has no caller, 0 when the walk stopped early (a read outside the stack copy, no unwind info).
int ember_unwind_stack(void *space, ember_unwind_sample *sample, uint64_t *frames, uint8_t *signal_frames, int max,
                       int *complete);

#endif
