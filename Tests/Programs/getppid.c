/* Used by the kprobe tests in the guest: getppid(2) exactly N times, through syscall(2) so that libc's caching
 * cannot skip one. Usage: getppid N. Build: gcc -O2 -static -o getppid getppid.c */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
