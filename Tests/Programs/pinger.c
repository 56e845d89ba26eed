/* Used by the latency tests for off-CPU stacks with their wakers: the main thread blocks reading a pipe in
 * wait_for_ping(); a thread named "waker" wakes it COUNT times (default 100) from ping(), which writes one byte
 * every 2 ms. Build: gcc -O2 -g -pthread -o pinger pinger.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static long count = 100;

__attribute__((noinline)) void ping(void) {
    char c = 'p';
    if (write(fds[1], &c, 1) != 1) abort();
    __asm__ volatile("" ::: "memory");
}

static void *waker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "waker");
    struct timespec two_ms = { 0, 2000000L };
    for (long i = 0; i < count; i++) {
        nanosleep(&two_ms, NULL);
        ping();
    }
    return NULL;
}

__attribute__((noinline)) void wait_for_ping(void) {
    char c;
    if (read(fds[0], &c, 1) != 1) abort();
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
    if (argc > 1) count = atol(argv[1]);
    if (pipe(fds) != 0) return 2;
    pthread_t thread;
    if (pthread_create(&thread, NULL, waker, NULL) != 0) return 2;
    for (long i = 0; i < count; i++) wait_for_ping();
    pthread_join(thread, NULL);
    return 0;
}
