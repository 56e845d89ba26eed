// Built with g++ -O2 -g by SymbolTests: C++ names that must come out demangled.
#include <cstdio>
#include <vector>
namespace shapes {
struct Widget {
    std::vector<long> values;
    __attribute__((noinline)) long spin(int rounds) {
        long s = 0;
        for (int r = 0; r < rounds; r++) for (long v : values) s += v * v % 13;
        return s;
    }
};
}
int main() {
    shapes::Widget w;
    for (long i = 0; i < 4096; i++) w.values.push_back(i);
    long t = 0;
    for (int i = 0; i < 200000; i++) t += w.spin(1 + i % 3);
    std::printf("%ld\n", t);
}
