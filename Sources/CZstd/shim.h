// libzstd, for the PERF_RECORD_COMPRESSED records of `perf record -z`.
#include <zstd.h>
