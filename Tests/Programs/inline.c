/* Built with -O2 -g -no-pie by SymbolTests: leaf and middle are always inlined into outer. */
static inline __attribute__((always_inline)) long leaf(long x) { long s = 0; for (long i = 0; i < x; i++) s += i * i % 7; return s; }
static inline __attribute__((always_inline)) long middle(long x) { return leaf(x) + leaf(x / 2); }
__attribute__((noinline)) long outer(long x) { return middle(x) * 3; }
int main(void) { long t = 0; for (int i = 0; i < 60; i++) t += outer(3000000 + i); return t == 42; }
