// elfutils' libelf and libdw, for symbol tables, build-ids and (later) DWARF.
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
