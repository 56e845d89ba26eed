/* libember-heap.so: sampled heap allocations for `ember record --heap`, loaded with LD_PRELOAD.
 *
 * It interposes the C allocator's entry points and passes each call on to the next definition (glibc's, or
 * jemalloc's if that comes later in the search order), found with dlsym(RTLD_NEXT). While nobody listens, each call
 * costs one predictable branch on a USDT semaphore and a jump through a pointer to the allocator underneath (no
 * frame, no stack traffic: the entry points tail-call it). When Ember attaches, the
 * kernel raises the two semaphores (a uprobe's ref_ctr_offset) and the shim samples by bytes, as tcmalloc does: a
 * Poisson process with a mean of EMBER_HEAP_RATE bytes (default 512 KiB) between samples, so an allocation of s bytes
 * is sampled with probability 1 - exp(-s/rate) and weighs s / (1 - exp(-s/rate)) bytes, an unbiased estimate.
 *
 * Probes (in the layout of systemtap's <sys/sdt.h>, from ember_sdt.h, so the build needs no systemtap headers):
 *   ember:alloc(ptr, size, weight)   a sampled allocation; ptr 0 when the table of live samples was full, so its
 *                                    free cannot be told and it counts only towards the bytes allocated
 *   ember:free(ptr)                  the free (or realloc) of a sampled allocation
 * Live sampled pointers are kept in a fixed table (65,536 entries, lock-free) behind a counting filter (16 KiB, one
 * byte a bucket, small enough to stay in the L1 cache: at 1 MiB every free missed it, and attached the shim cost a
 * C malloc/free loop 55%) that lets the free of an unsampled pointer return after one load.
 *
 * Built with frame pointers, which `record --heap -g` walks from each probe (`make shim`):
 *   cc -O2 -fno-omit-frame-pointer -fPIC -shared -fvisibility=hidden -o libember-heap.so ember_heap.c -lm */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember_sdt.h"

#define EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The semaphores: non-zero while a tracer has the probe enabled. */
__attribute__((section(".probes"), used)) volatile unsigned short ember_alloc_semaphore;
__attribute__((section(".probes"), used)) volatile unsigned short ember_free_semaphore;

#define PROBE_ALLOC(p, size, weight)                                                                           \
    __asm__ __volatile__(EMBER_SDT_NOTE("ember_alloc_semaphore", "ember", "alloc", "8@%0 8@%1 8@%2")                        \
                         :                                                                                     \
                         : "r"((uint64_t)(uintptr_t)(p)), "r"((uint64_t)(size)), "r"((uint64_t)(weight)))
#define PROBE_FREE(p)                                                                                          \
    __asm__ __volatile__(EMBER_SDT_NOTE("ember_free_semaphore", "ember", "free", "8@%0") : : "r"((uint64_t)(uintptr_t)(p)))

/* The allocator underneath: each pointer starts at a first_* function that finds it with dlsym. */
static void *first_malloc(size_t);
static void first_free(void *);
static void *first_calloc(size_t, size_t);
static void *first_realloc(void *, size_t);
static int first_posix_memalign(void **, size_t, size_t);
static void *first_aligned_alloc(size_t, size_t);
static void *first_memalign(size_t, size_t);
static void *first_valloc(size_t);
static void *first_pvalloc(size_t);
static void *(*next_malloc)(size_t) = first_malloc;
static void (*next_free)(void *) = first_free;
static void *(*next_calloc)(size_t, size_t) = first_calloc;
static void *(*next_realloc)(void *, size_t) = first_realloc;
static int (*next_posix_memalign)(void **, size_t, size_t) = first_posix_memalign;
static void *(*next_aligned_alloc)(size_t, size_t) = first_aligned_alloc;
static void *(*next_memalign)(size_t, size_t) = first_memalign;
static void *(*next_valloc)(size_t) = first_valloc;
static void *(*next_pvalloc)(size_t) = first_pvalloc;

/* dlsym may allocate (its error buffer) before the allocator underneath is known: those few allocations come from
 * a static arena, never freed. Each has its size in the 16 bytes before it, for realloc. */
static _Alignas(16) unsigned char bootstrap[64 * 1024];
static _Atomic size_t bootstrap_used;
static int resolving;

static inline int from_bootstrap(const void *p) { return (uintptr_t)p - (uintptr_t)bootstrap < sizeof bootstrap; }

static void *bootstrap_alloc(size_t size, size_t alignment) {
    if (alignment < 16) alignment = 16;
    size_t used = atomic_load(&bootstrap_used), start;
    do {
        start = (used + 16 + alignment - 1) & ~(alignment - 1);
        if (size > sizeof bootstrap || start + size > sizeof bootstrap) return NULL;
    } while (!atomic_compare_exchange_weak(&bootstrap_used, &used, start + size));
    memcpy(bootstrap + start - sizeof(size_t), &size, sizeof size);
    return memset(bootstrap + start, 0, size);
}

static size_t bootstrap_size(const void *p) {
    size_t size;
    memcpy(&size, (const unsigned char *)p - sizeof size, sizeof size);
    return size;
}

static uint64_t rate = 512 * 1024;

/* Sets each pointer that dlsym finds (one it does not find keeps failing: first_* below). */
static void resolve(void) {
    if (resolving) return;
    resolving = 1;
    void *p;
#define FIND(name) if ((p = dlsym(RTLD_NEXT, #name))) next_##name = p
    FIND(malloc);
    FIND(free);
    FIND(calloc);
    FIND(realloc);
    FIND(posix_memalign);
    FIND(aligned_alloc);
    FIND(memalign);
    FIND(valloc);
    FIND(pvalloc);
#undef FIND
    const char *text = getenv("EMBER_HEAP_RATE");
    if (text) {
        char *end;
        unsigned long long value = strtoull(text, &end, 10);
        if (end != text && *end == 0 && value > 0) rate = value;
    }
    resolving = 0;
}

static void reseed_after_fork(void);

__attribute__((constructor)) static void ember_heap_init(void) {
    resolve();
    /* A child would otherwise draw the same intervals as its parent and sample the same allocations. */
    pthread_atfork(NULL, NULL, reseed_after_fork);
}

/* The first call of each entry point (or one made by dlsym while resolving): from the arena until resolved. */
static void *first_malloc(size_t size) {
    resolve();
    return next_malloc != first_malloc ? next_malloc(size) : bootstrap_alloc(size, 16);
}
static void first_free(void *p) {
    resolve();
    if (next_free != first_free) next_free(p);
}
static void *first_calloc(size_t n, size_t size) {
    resolve();
    size_t total;
    if (next_calloc != first_calloc) return next_calloc(n, size);
    return __builtin_mul_overflow(n, size, &total) ? NULL : bootstrap_alloc(total, 16);
}
static void *first_realloc(void *old, size_t size) {
    resolve();
    return next_realloc != first_realloc ? next_realloc(old, size) : NULL;
}
static int first_posix_memalign(void **out, size_t alignment, size_t size) {
    resolve();
    if (next_posix_memalign != first_posix_memalign) return next_posix_memalign(out, alignment, size);
    return (*out = bootstrap_alloc(size, alignment)) ? 0 : ENOMEM;
}
static void *first_aligned_alloc(size_t alignment, size_t size) {
    resolve();
    return next_aligned_alloc != first_aligned_alloc ? next_aligned_alloc(alignment, size) : bootstrap_alloc(size, alignment);
}
static void *first_memalign(size_t alignment, size_t size) {
    resolve();
    return next_memalign != first_memalign ? next_memalign(alignment, size) : bootstrap_alloc(size, alignment);
}
static void *first_valloc(size_t size) {
    resolve();
    return next_valloc != first_valloc ? next_valloc(size) : bootstrap_alloc(size, 4096);
}
static void *first_pvalloc(size_t size) {
    resolve();
    return next_pvalloc != first_pvalloc ? next_pvalloc(size) : bootstrap_alloc(size, 4096);
}

/* ---- Sampling: each thread counts down the bytes to its next sample. ---- */

static __thread __attribute__((tls_model("initial-exec"))) struct {
    int64_t bytes_left;
    uint64_t random;
    int started;
} thread_state;

static void reseed_after_fork(void) { thread_state.started = 0; }

static uint64_t next_random(void) {
    uint64_t x = thread_state.random;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    thread_state.random = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* An exponential draw with mean `rate`: the bytes until the next sample. */
static int64_t next_interval(void) {
    if (rate <= 1) return 1;
    double u = ((next_random() >> 11) + 1) * (1.0 / 9007199254740993.0); /* (0, 1] */
    double bytes = -log(u) * (double)rate;
    return bytes < 1 ? 1 : bytes > 1e15 ? (int64_t)1e15 : (int64_t)bytes;
}

/* One site per probe, never inlined or cloned: each copy of a site is a note of its own, with its own registers for
 * the arguments, and a tracer that probes them all records one event per copy. */
__attribute__((noipa, optimize("no-omit-frame-pointer"))) static void fire_alloc(uintptr_t p, size_t size, uint64_t weight) {
    PROBE_ALLOC(p, size, weight);
}
__attribute__((noipa, optimize("no-omit-frame-pointer"))) static void fire_free(uintptr_t p) { PROBE_FREE(p); }

/* ---- The table of live sampled pointers. ---- */

#define TABLE_BITS 16
#define PROBE_LIMIT 64
#define FILTER_BITS 14
#define TOMBSTONE ((uintptr_t)1)
static _Atomic uintptr_t table[1 << TABLE_BITS];
static _Atomic unsigned char filter[1 << FILTER_BITS];
/* Entries in the table: while there are any, frees are looked up, attached or not (a block sampled while a tracer
 * listened and freed after it left must still leave the table, or each recording would leave its blocks behind). */
static _Atomic long live_entries;

static inline uint64_t mix(uintptr_t p) { return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ULL; }
static inline size_t table_slot(uintptr_t p) { return mix(p) >> (64 - TABLE_BITS); }
static inline size_t filter_slot(uintptr_t p) { return (mix(p) >> 8) & ((1 << FILTER_BITS) - 1); }

static int remember(uintptr_t p) {
    size_t start = table_slot(p);
    for (size_t i = 0; i < PROBE_LIMIT; i++) {
        _Atomic uintptr_t *slot = &table[(start + i) & ((1 << TABLE_BITS) - 1)];
        uintptr_t seen = atomic_load_explicit(slot, memory_order_relaxed);
        if ((seen == 0 || seen == TOMBSTONE) && atomic_compare_exchange_strong(slot, &seen, p)) {
            _Atomic unsigned char *count = &filter[filter_slot(p)];
            /* A saturated count stays: its bucket is always looked up. */
            unsigned char c = atomic_load_explicit(count, memory_order_relaxed);
            while (c < 255 && !atomic_compare_exchange_weak(count, &c, c + 1)) {}
            atomic_fetch_add_explicit(&live_entries, 1, memory_order_relaxed);
            return 1;
        }
    }
    return 0;
}

/* Before the allocator underneath frees p (another thread may be handed p again as soon as it has). */
__attribute__((always_inline)) static inline void forget(void *pointer) {
    uintptr_t p = (uintptr_t)pointer;
    /* Empty slots hold 0 and dead ones TOMBSTONE: neither is a block (free(NULL) must not match them). */
    if (p <= TOMBSTONE) return;
    _Atomic unsigned char *count = &filter[filter_slot(p)];
    if (atomic_load_explicit(count, memory_order_relaxed) == 0) return;
    size_t start = table_slot(p);
    for (size_t i = 0; i < PROBE_LIMIT; i++) {
        _Atomic uintptr_t *slot = &table[(start + i) & ((1 << TABLE_BITS) - 1)];
        uintptr_t seen = p;
        if (atomic_load_explicit(slot, memory_order_relaxed) == p && atomic_compare_exchange_strong(slot, &seen, TOMBSTONE)) {
            unsigned char c = atomic_load_explicit(count, memory_order_relaxed);
            while (c > 0 && c < 255 && !atomic_compare_exchange_weak(count, &c, c - 1)) {}
            atomic_fetch_sub_explicit(&live_entries, 1, memory_order_relaxed);
            fire_free(p);
            return;
        }
    }
}

/* Counts `size` bytes against the thread's interval; true when they reach its end: the allocation is sampled. */
static inline int crosses(size_t size) {
    int64_t left = thread_state.bytes_left - (int64_t)(size > INT64_MAX ? INT64_MAX : size);
    thread_state.bytes_left = left;
    return left <= 0;
}

/* An allocation that reached its thread's interval (or the thread's first, which draws the first interval and is
 * counted against it): the next interval is drawn, and the allocation fires ember:alloc. */
__attribute__((always_inline)) static inline void sample(void *p, size_t size) {
    if (UNLIKELY(!thread_state.started)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        thread_state.random = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^ (uintptr_t)&thread_state ^ 0x9E3779B97F4A7C15ULL;
        thread_state.started = 1;
        thread_state.bytes_left = next_interval();
        if (!crosses(size)) return;
    }
    thread_state.bytes_left = next_interval();
    /* Both probes on, or a sampled block's free could go unseen (the tracer is between opening the two). */
    if (!p || !ember_free_semaphore) return;
    if (size == 0) return;
    double weight = rate <= 1 ? (double)size : (double)size / -expm1(-(double)size / (double)rate);
    uintptr_t tracked = remember((uintptr_t)p) ? (uintptr_t)p : 0;
    fire_alloc(tracked, size, (uint64_t)(weight + 0.5));
}

/* Each entry point: the branch on the semaphore (attached: the count towards the thread's next sample, and for a
 * free the filter), then a tail call (a jump) to the allocator underneath, or to its sampling twin, which keeps a
 * frame pointer so that a probe's stack reaches the allocator's caller. */
#define SAMPLED __attribute__((noinline, optimize("no-omit-frame-pointer")))
#define ENTRY EXPORT __attribute__((optimize("omit-frame-pointer")))

static inline size_t product(size_t n, size_t size) {
    size_t total;
    return __builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total;
}

SAMPLED static void *sampled_malloc(size_t size) {
    void *p = next_malloc(size);
    sample(p, size);
    return p;
}
ENTRY void *malloc(size_t size) {
    if (UNLIKELY(ember_alloc_semaphore) && UNLIKELY(crosses(size))) return sampled_malloc(size);
    return next_malloc(size);
}

SAMPLED static void sampled_free(void *p) {
    forget(p);
    next_free(p);
}
ENTRY void free(void *p) {
    if (UNLIKELY(from_bootstrap(p))) return;
    if (UNLIKELY(atomic_load_explicit(&live_entries, memory_order_relaxed)) &&
        UNLIKELY(atomic_load_explicit(&filter[filter_slot((uintptr_t)p)], memory_order_relaxed)))
        return sampled_free(p);
    next_free(p);
}

SAMPLED static void *sampled_calloc(size_t n, size_t size) {
    void *p = next_calloc(n, size);
    sample(p, product(n, size));
    return p;
}
ENTRY void *calloc(size_t n, size_t size) {
    if (UNLIKELY(ember_alloc_semaphore) && UNLIKELY(crosses(product(n, size)))) return sampled_calloc(n, size);
    return next_calloc(n, size);
}

SAMPLED static void *sampled_realloc(void *old, size_t size) {
    if (from_bootstrap(old)) {
        void *p = malloc(size);
        if (p) memcpy(p, old, size < bootstrap_size(old) ? size : bootstrap_size(old));
        return p;
    }
    /* A realloc that fails leaves `old` allocated: it is then counted as freed all the same. */
    if (old) forget(old);
    void *p = next_realloc(old, size);
    if (ember_alloc_semaphore && crosses(size)) sample(p, size);
    return p;
}
ENTRY void *realloc(void *old, size_t size) {
    if (UNLIKELY(ember_alloc_semaphore) || UNLIKELY(atomic_load_explicit(&live_entries, memory_order_relaxed)) ||
        UNLIKELY(from_bootstrap(old)))
        return sampled_realloc(old, size);
    return next_realloc(old, size);
}

/* glibc's own reallocarray would bypass the realloc above (it calls its internal one). */
EXPORT void *reallocarray(void *old, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

SAMPLED static int sampled_posix_memalign(void **out, size_t alignment, size_t size) {
    int result = next_posix_memalign(out, alignment, size);
    sample(result == 0 ? *out : NULL, size);
    return result;
}
ENTRY int posix_memalign(void **out, size_t alignment, size_t size) {
    if (UNLIKELY(ember_alloc_semaphore) && UNLIKELY(crosses(size))) return sampled_posix_memalign(out, alignment, size);
    return next_posix_memalign(out, alignment, size);
}

#define ALIGNED_ENTRY(name, params, args, size)                                                                \
    SAMPLED static void *sampled_##name params {                                                               \
        void *p = next_##name args;                                                                            \
        sample(p, size);                                                                                       \
        return p;                                                                                              \
    }                                                                                                          \
    ENTRY void *name params {                                                                                  \
        if (UNLIKELY(ember_alloc_semaphore) && UNLIKELY(crosses(size))) return sampled_##name args;            \
        return next_##name args;                                                                               \
    }
ALIGNED_ENTRY(aligned_alloc, (size_t alignment, size_t size), (alignment, size), size)
ALIGNED_ENTRY(memalign, (size_t alignment, size_t size), (alignment, size), size)
ALIGNED_ENTRY(valloc, (size_t size), (size), size)
ALIGNED_ENTRY(pvalloc, (size_t size), (size), size)
