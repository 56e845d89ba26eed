/* Used by the latency tests: THREADS threads spin for MS milliseconds of CPU time each (more threads than cores,
 * so they wait on the run queue), and each writes "TID RUN_DELAY_NS" to OUT as it ends, RUN_DELAY_NS being the
 * kernel's own total of its run-queue wait (/proc/self/task/TID/schedstat, second field).
 * Usage: hogs THREADS MS OUT. Build: gcc -O2 -pthread -o hogs hogs.c */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long spin_ms;
static FILE *out;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *hog(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    while (cpu_seconds() * 1000 < spin_ms) x++;
    long tid = syscall(SYS_gettid);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", tid);
    unsigned long long run = 0, delay = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &run, &delay) != 2) delay = 0;
        fclose(f);
    }
    pthread_mutex_lock(&lock);
    fprintf(out, "%ld %llu\n", tid, delay);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s THREADS MS OUT\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    spin_ms = atol(argv[2]);
    out = fopen(argv[3], "w");
    if (!out || n < 1 || n > 64) return 2;
    pthread_t threads[64];
    for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, hog, NULL);
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    fclose(out);
    return 0;
}
