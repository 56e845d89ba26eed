/* Built by SymbolTests: runs a hand-written loop from anonymous executable memory and describes it in
 * /tmp/perf-PID.map, as JIT compilers do for perf. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    /* loop: dec rdi; jnz loop; ret */
    static const unsigned char code[] = {0x48, 0xff, 0xcf, 0x75, 0xfb, 0xc3};
    unsigned char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 1;
    memcpy(mem, code, sizeof code);
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    FILE *map = fopen(path, "w");
    if (!map) return 1;
    fprintf(map, "%lx %zx jit_spin_loop\n", (unsigned long)mem, sizeof code);
    fclose(map);
    void (*spin)(long) = (void (*)(long))mem;
    for (int i = 0; i < 400; i++) spin(2000000);
    return 0;
}
