// elfutils' libelf and libdw, for symbol tables, build-ids and (later) DWARF; and getauxval, which locates the
// vDSO image that libelf reads from memory.
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <sys/auxv.h>
