// CGzip: gzip compression for `ember pprof` (profile.pb.gz) and `ember export --format firefox`. zlib's
// deflateInit2 is a macro, which Swift cannot call, so the whole compression is one C function here.
#ifndef CGZIP_H
#define CGZIP_H

#include <stddef.h>

/// Compresses `length` bytes into a malloc'd gzip stream in *out (the caller frees it); returns its size, or 0 on
/// failure.
size_t ember_gzip(const void *input, size_t length, int level, unsigned char **out);

#endif
