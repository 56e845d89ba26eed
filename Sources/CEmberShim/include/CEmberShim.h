// CEmberShim: the few things Swift cannot call directly.
//
// - syscall(2) is variadic and so unavailable in Swift: ember_perf_event_open wraps SYS_perf_event_open.
// - The ring buffer's data_head/data_tail need acquire/release ordering that plain Swift loads and stores do not
//   promise on a shared mapping: ember_load_acquire_u64 / ember_store_release_u64 (tools/include/linux/ring_buffer.h).
// - fork() is unsafe from Swift (the runtime may hold locks in the child), so the stopped-child handshake that
//   `ember record -- CMD` needs lives here: the child waits on a pipe until the parent has opened its events.
// - __cxa_demangle and swift_demangle have no Swift declarations; dladdr needs _GNU_SOURCE.
// - getauxval(AT_SYSINFO_EHDR) locates the vDSO image; it is reached through this header.
// - process_vm_readv needs _GNU_SOURCE: ember_process_vm_readv reads another process's memory.
// - struct epoll_event is packed on x86_64, which Swift does not import: ember_epoll_* pass plain fds.
// This shim can shrink if the Swift standard library gains a syscall wrapper and atomics on foreign memory.
#ifndef CEMBERSHIM_H
#define CEMBERSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/types.h>

/// syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags); returns the fd or -1 with errno set.
int ember_perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);

/// process_vm_readv(pid, local, 1, remote, remote_count, 0): copies another process's memory; the bytes read,
/// ending at the first remote piece that could not be read, or -1 with errno set.
long ember_process_vm_readv(pid_t pid, void *local, size_t local_length, const void *remote, unsigned long remote_count);

/// ioctl with an integer argument (PERF_EVENT_IOC_ENABLE, SET_OUTPUT, ...); returns -1 with errno set on failure.
int ember_ioctl_int(int fd, unsigned long request, unsigned long arg);

/// ioctl with a pointer argument (PERF_EVENT_IOC_ID, SET_FILTER, ...).
int ember_ioctl_ptr(int fd, unsigned long request, void *arg);

static inline uint64_t ember_load_acquire_u64(const volatile uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/// The full barrier before the store pairs with the kernel's (A) in kernel/events/ring_buffer.c: our reads of the
/// records must complete before the kernel may overwrite them.
static inline void ember_store_release_u64(volatile uint64_t *p, uint64_t v) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/// A child forked and held before exec.
typedef struct {
    pid_t pid;
    int go_fd;     // write one byte to let the child exec; close without writing to make it exit 127.
    int error_fd;  // reads EOF when exec succeeded, or the int errno of a failed exec.
} ember_stopped_child;

/// Forks a child that waits for the go byte (with the parent's signals still blocked, so a Ctrl-C during set-up
/// cannot kill it before the parent is ready), then restores the default signal mask and dispositions and
/// execvp()s argv — with `envp` as its environment when not NULL (execvpe), the recorder's otherwise — with its
/// stdout on stderr when `stdout_to_stderr` (the recorder's stdout carries a pipe-mode recording). Returns 0, or -1
/// with errno set when the fork or pipes failed.
int ember_spawn_stopped(char *const argv[], char *const envp[], int stdout_to_stderr, ember_stopped_child *out);

/// The demanglers Ember links anyway, declared here so that Swift calls them with the C calling convention:
/// libstdc++'s C++ ABI demangler (status 0 on success) and the Swift runtime's (flags must be 0; NULL for names
/// that are not Swift). Both return malloc'd strings the caller frees.
char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);
char *swift_demangle(const char *mangled, size_t length, char *buffer, size_t *buffer_size, uint32_t flags);

/// The path of the shared object that defines `swift_demangle` (dladdr needs _GNU_SOURCE, which Swift's Glibc
/// module does not define), or NULL.
const char *ember_swift_runtime_path(void);

/// The column count of the terminal on `fd` (TIOCGWINSZ, a variadic ioctl), or 0 when it is not a terminal.
int ember_terminal_width(int fd);

/// The rows and columns of the terminal on `fd` (TIOCGWINSZ); 0 when it is not a terminal.
int ember_terminal_size(int fd, int *rows, int *columns);

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGWINCH in the calling thread (and the threads it starts later) and returns
/// a non-blocking signalfd for them, for a terminal UI that must restore the terminal whatever ends it; -1 with
/// errno on failure.
int ember_terminal_signalfd(void);

/// epoll_create1(EPOLL_CLOEXEC) and EPOLL_CTL_ADD of `fd` for EPOLLIN; -1 with errno on failure.
int ember_epoll_create(void);
int ember_epoll_add(int epfd, int fd);

/// malloc_trim(0) (malloc.h is not in Swift's Glibc module): hands freed heap memory back to the system.
void ember_malloc_trim(void);

/// Fixes glibc's mmap and trim thresholds at 128 KiB (mallopt). Left alone, glibc raises them after large blocks
/// are freed (up to 32 and 64 MiB), and then keeps that much free memory at the end of each thread's arena for good:
/// malloc_trim shrinks only the main arena's end.
void ember_malloc_fixed_thresholds(void);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) (sys/eventfd.h is not in Swift's Glibc module): how another thread wakes a
/// recorder sleeping in epoll; -1 with errno on failure.
int ember_eventfd(void);

/// EPOLL_CTL_DEL of `fd`.
int ember_epoll_del(int epfd, int fd);

/// epoll_wait, returning the ready fds in `fds` and their EPOLL* bits in `events` (at most `max`, 64);
/// -1 with errno on failure (EINTR included).
int ember_epoll_wait(int epfd, int *fds, uint32_t *events, int max, int timeout_ms);

/// EPOLLHUP, EPOLLERR: the monitored task is gone (per-task events) or the fd is broken.
#define EMBER_EPOLL_HANGUP 0x18

/// signalfd(-1) for SIGINT, SIGTERM, SIGHUP and SIGCHLD (and SIGUSR2 with `snapshots`), non-blocking and
/// close-on-exec; the caller blocks them first.
int ember_signalfd(int snapshots);

/// The next pending signal number on a signalfd, or 0 when none is pending.
int ember_signalfd_next(int fd);

/// libFuzzer's driver, for the fuzz target's own entry point (SwiftPM names an executable's main, so libFuzzer's
/// main cannot be used); only a `-sanitize=fuzzer` build links it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// libFuzzer's own mutation of `data` in place (for a custom mutator that mutates some inputs its own way).
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/// renameat2(from, to, RENAME_NOREPLACE): fails with EEXIST rather than replace `to` (glibc declares renameat2
/// only under _GNU_SOURCE, which Swift's Glibc module does not define).
int ember_rename_noreplace(const char *from, const char *to);

#endif
