// libunwind's remote interface over a perf sample, as an independent check of Ember's own CFI unwinder: the same
// accessors perf's unwind-libunwind-local.c gives it (registers from REGS_USER, memory from STACK_USER, unwind
// tables from each binary's .eh_frame_hdr), with the binaries read through Ember's callbacks.
#include "CUnwind.h"

#include <libunwind.h>
#include <string.h>

extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                               unw_proc_info_t *pi, int need_unwind_info, void *arg);

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need_unwind_info, void *arg) {
    ember_unwind_sample *sample = arg;
    ember_unwind_table table;
    if (sample->find_table(sample->context, ip, &table) != 0) return -UNW_ENOINFO;
    unw_dyn_info_t info;
    memset(&info, 0, sizeof info);
    info.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    info.start_ip = table.start;
    info.end_ip = table.end;
    info.u.rti.segbase = table.header;
    info.u.rti.table_data = table.table;
    // Entries are two 32-bit words; the length is counted in unw_word_t.
    info.u.rti.table_len = table.entries * 8 / sizeof(unw_word_t);
    return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &info, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg) {}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg) { return -UNW_ENOINFO; }

/// Memory outside the stack copy and the binaries reads as 0, as perf's accessor answers: the walk then ends at a
/// return address of 0, which the caller reports as a stop.
static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write, void *arg) {
    ember_unwind_sample *sample = arg;
    if (write) return -UNW_EREADONLYREG;
    if (addr >= sample->stack_base && addr - sample->stack_base <= sample->stack_size
        && sample->stack_size - (addr - sample->stack_base) >= sizeof(unw_word_t)) {
        memcpy(valp, sample->stack + (addr - sample->stack_base), sizeof(unw_word_t));
        return 0;
    }
    uint64_t value = 0;
    if (sample->read_memory(sample->context, addr, &value) != 0) sample->missed = 1;
    *valp = value;
    return 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t regnum, unw_word_t *valp, int write, void *arg) {
    ember_unwind_sample *sample = arg;
    // libunwind's x86-64 register numbers are the DWARF ones.
    if (write || regnum < 0 || regnum > 16) return -UNW_EBADREG;
    if (!(sample->valid & (1u << regnum))) return -UNW_EBADREG;
    *valp = sample->registers[regnum];
    return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t regnum, unw_fpreg_t *val, int write, void *arg) {
    return -UNW_EINVAL;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg) { return -UNW_EINVAL; }

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *bufp, size_t buf_len, unw_word_t *offp,
                         void *arg) {
    return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
    .find_proc_info = find_proc_info,
    .put_unwind_info = put_unwind_info,
    .get_dyn_info_list_addr = get_dyn_info_list_addr,
    .access_mem = access_mem,
    .access_reg = access_reg,
    .access_fpreg = access_fpreg,
    .resume = resume,
    .get_proc_name = get_proc_name,
};

void *ember_unwind_create(void) {
    unw_addr_space_t space = unw_create_addr_space(&accessors, 0);
    if (space) unw_set_caching_policy(space, UNW_CACHE_GLOBAL);
    return space;
}

void ember_unwind_destroy(void *space) { unw_destroy_addr_space(space); }

int ember_unwind_stack(void *space, ember_unwind_sample *sample, uint64_t *frames, uint8_t *signal_frames, int max,
                       int *complete) {
    unw_cursor_t cursor;
    *complete = 0;
    if (max <= 0 || unw_init_remote(&cursor, space, sample) != 0) return 0;
    int count = 0;
    for (;;) {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0) break;
        if (ip == 0 && count > 0) break;  // a return address read from outside the stack copy
        frames[count] = ip;
        signal_frames[count] = unw_is_signal_frame(&cursor) > 0;
        if (++count == max) break;
        sample->missed = 0;
        int step = unw_step(&cursor);
        if (step == 0) {
            *complete = !sample->missed;
            break;
        }
        if (step < 0) break;
    }
    return count;
}
