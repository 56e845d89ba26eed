#include "CGzip.h"

#include <stdlib.h>
#include <zlib.h>

size_t ember_gzip(const void *input, size_t length, int level, unsigned char **out) {
    z_stream z = {0};
    // 15 window bits + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    uLong bound = deflateBound(&z, (uLong)length) + 32;
    unsigned char *buffer = malloc(bound);
    if (!buffer) {
        deflateEnd(&z);
        return 0;
    }
    z.next_in = (Bytef *)input;
    z.avail_in = (uInt)length;
    z.next_out = buffer;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t size = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buffer);
        return 0;
    }
    *out = buffer;
    return size;
}
