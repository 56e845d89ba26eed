/* Used by the wall-clock tests: two threads whose time on and off the CPU is known. The main thread sleeps 10 ms
 * at a time in doze() (40 times) with 2 ms of work in between; a thread named `worker` works 6 ms and sleeps 4 ms
 * in rest() (40 times). Each thread writes its tid and its lifetime in ns (from its start to its end, on its own
 * clock) to OUT. Usage: wallclock OUT. Build: gcc -O2 -g -fno-omit-frame-pointer -pthread -o wallclock wallclock.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static FILE *out;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) static void work(long ms) {
    long long end = now_ns() + ms * 1000000LL;
    volatile unsigned long x = 0;
    while (now_ns() < end) x++;
}

__attribute__((noinline)) static void sleep_ms(long ms) {
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void doze(void) { sleep_ms(10); }
__attribute__((noinline)) void rest(void) { sleep_ms(4); }

static void report(long long start) {
    long long lifetime = now_ns() - start;
    pthread_mutex_lock(&lock);
    fprintf(out, "%d %lld\n", gettid(), lifetime);
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
    long long start = now_ns();
    (void)arg;
    for (int i = 0; i < 40; i++) {
        work(6);
        rest();
    }
    report(start);
    return NULL;
}

int main(int argc, char **argv) {
    long long start = now_ns();
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT\n", argv[0]);
        return 2;
    }
    out = fopen(argv[1], "w");
    if (!out) return 2;
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_setname_np(thread, "worker");
    for (int i = 0; i < 40; i++) {
        doze();
        work(2);
    }
    pthread_join(thread, NULL);
    report(start);
    fclose(out);
    return 0;
}
