// ember_disassemble: Capstone's x86-64 decoder, its functions looked up in libcapstone on first use.
#include "CDisasm.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
    cs_err (*open)(cs_arch, cs_mode, csh *);
    cs_err (*option)(csh, cs_opt_type, size_t);
    cs_insn *(*malloc)(csh);
    bool (*disasm_iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
    bool (*insn_group)(csh, const cs_insn *, unsigned int);
    void (*free)(cs_insn *, size_t);
    cs_err (*close)(csh *);
    const char *(*strerror)(cs_err);
} capstone;
static char open_error[256];
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void open_capstone(void) {
    // The runtime library's name (Debian's libcapstone4), then the development link.
    // Only the major version the shim was built against: cs_detail's layout changes between them.
    char name[32];
    snprintf(name, sizeof(name), "libcapstone.so.%d", CS_API_MAJOR);
    void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(open_error, sizeof(open_error), "Capstone, the disassembler, could not be opened (%s); install libcapstone%d",
                 dlerror(), CS_API_MAJOR);
        return;
    }
#define FIND(field, name)                                                                                              \
    if (!(*(void **)&capstone.field = dlsym(library, name))) {                                                         \
        snprintf(open_error, sizeof(open_error), "libcapstone has no %s; install libcapstone4", name);                \
        return;                                                                                                        \
    }
    FIND(open, "cs_open")
    FIND(option, "cs_option")
    FIND(malloc, "cs_malloc")
    FIND(disasm_iter, "cs_disasm_iter")
    FIND(insn_group, "cs_insn_group")
    FIND(free, "cs_free")
    FIND(close, "cs_close")
    FIND(strerror, "cs_strerror")
#undef FIND
    open_error[0] = 0;
}

static void fail(char *error, size_t error_size, const char *what, cs_err err) {
    snprintf(error, error_size, "%s: %s", what, capstone.strerror(err));
}

long ember_disassemble(const uint8_t *code, size_t size, uint64_t address, int intel, struct ember_insn *out,
                       size_t capacity, char *error, size_t error_size) {
    pthread_once(&opened, open_capstone);
    if (open_error[0]) {
        snprintf(error, error_size, "%s", open_error);
        return -1;
    }
    csh handle;
    cs_err err = capstone.open(CS_ARCH_X86, CS_MODE_64, &handle);
    if (err != CS_ERR_OK) {
        fail(error, error_size, "Capstone could not start", err);
        return -1;
    }
    if ((err = capstone.option(handle, CS_OPT_SYNTAX, intel ? CS_OPT_SYNTAX_INTEL : CS_OPT_SYNTAX_ATT)) != CS_ERR_OK ||
        (err = capstone.option(handle, CS_OPT_DETAIL, CS_OPT_ON)) != CS_ERR_OK) {
        fail(error, error_size, "Capstone refused its options", err);
        capstone.close(&handle);
        return -1;
    }
    cs_insn *insn = capstone.malloc(handle);
    size_t count = 0;
    while (size > 0 && count < capacity) {
        struct ember_insn *o = &out[count++];
        memset(o, 0, sizeof(*o));
        o->address = address;
        if (!capstone.disasm_iter(handle, &code, &size, &address, insn)) {
            // Not an instruction (data in the text, or padding): one byte, as objdump shows it.
            o->size = 1;
            snprintf(o->mnemonic, sizeof(o->mnemonic), "(bad)");
            code++, size--, address++;
            continue;
        }
        o->size = insn->size;
        snprintf(o->mnemonic, sizeof(o->mnemonic), "%s", insn->mnemonic);
        snprintf(o->operands, sizeof(o->operands), "%s", insn->op_str);
        if (capstone.insn_group(handle, insn, CS_GRP_CALL)) o->kind = EMBER_INSN_CALL;
        else if (capstone.insn_group(handle, insn, CS_GRP_JUMP)) o->kind = EMBER_INSN_JUMP;
        else if (capstone.insn_group(handle, insn, CS_GRP_RET)) o->kind = EMBER_INSN_RETURN;
        const cs_x86 *x86 = &insn->detail->x86;
        // A direct jump's or call's target (`ret $8`'s immediate is no address).
        if ((o->kind == EMBER_INSN_JUMP || o->kind == EMBER_INSN_CALL) && x86->op_count == 1 && x86->operands[0].type == X86_OP_IMM)
            o->target = (uint64_t)x86->operands[0].imm;
    }
    capstone.free(insn, 1);
    capstone.close(&handle);
    return (long)count;
}
