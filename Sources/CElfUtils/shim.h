// elfutils' libelf and libdw, for symbol tables, build-ids, inlined frames and source lines.
#include <gelf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
