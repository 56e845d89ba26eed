// Why this shim exists: Capstone decodes the instructions `ember annotate` prints, and only that command needs it,
// so the library is opened on first use (dlopen) instead of linked into every command's start-up; the shim also
// hands Swift plain records instead of Capstone's detail structures.
#ifndef EMBER_DISASM_H
#define EMBER_DISASM_H

#include <stddef.h>
#include <stdint.h>

/// What an instruction does to the flow of control.
enum ember_insn_kind { EMBER_INSN_OTHER = 0, EMBER_INSN_JUMP = 1, EMBER_INSN_CALL = 2, EMBER_INSN_RETURN = 3 };

/// One decoded instruction. `target` is the address a direct jump or call goes to, 0 for none; an undecodable byte
/// is one instruction of size 1 with the mnemonic "(bad)".
struct ember_insn {
    uint64_t address;
    uint64_t target;
    uint16_t size;
    uint8_t kind;
    char mnemonic[32];
    char operands[160];
};

/// Decodes x86-64 `code` (loaded at `address`) into at most `capacity` instructions, AT&T syntax or (`intel`) Intel.
/// Returns how many, or -1 with a one-line reason in `error` (Capstone missing or failing).
long ember_disassemble(const uint8_t *code, size_t size, uint64_t address, int intel, struct ember_insn *out,
                       size_t capacity, char *error, size_t error_size);

#endif
