/* Code for the instruction decoder's tests (Tests/PolybinKitTests/Delta): loops the vectoriser
 * turns into SSE, AVX2 or AVX-512 by -march, bit tricks that become BMI/LZCNT/POPCNT,
 * RIP-relative loads and stores with immediates, switch tables, x87 long double and calls
 * through pointers, so one small program exercises legacy, VEX and EVEX encodings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float fa[4096], fb[4096], fc[4096];
double da[2048], db[2048];
int32_t ia[4096], ib[4096];
int8_t ba[8192];
uint16_t counter16;
uint8_t flag8;
int64_t big64;
long double ld = 1.5L;
static int (*volatile op)(int, int);

__attribute__((noinline)) void saxpy(float k) { for (int i = 0; i < 4096; i++) fa[i] = k * fb[i] + fc[i]; }
__attribute__((noinline)) double dot(void) { double s = 0; for (int i = 0; i < 2048; i++) s += da[i] * db[i]; return s; }
__attribute__((noinline)) void iadd(int k) { for (int i = 0; i < 4096; i++) ia[i] = (ib[i] << (k & 7)) + (ia[i] >> 3) - k; }
__attribute__((noinline)) int bytesum(void) { int s = 0; for (int i = 0; i < 8192; i++) s += ba[i] > 3 ? ba[i] : -ba[i]; return s; }
__attribute__((noinline)) int imax(void) { int m = ia[0]; for (int i = 1; i < 4096; i++) m = ia[i] > m ? ia[i] : m; return m; }
__attribute__((noinline)) void fclamp(void) { for (int i = 0; i < 4096; i++) fa[i] = fa[i] < 0.f ? 0.f : fa[i] > 1.f ? 1.f : fa[i]; }
__attribute__((noinline)) void convert(void) { for (int i = 0; i < 2048; i++) da[i] = (double)ia[i] + (double)fb[i]; }
__attribute__((noinline)) unsigned bits(uint64_t x, unsigned s)
{
    return (unsigned)(__builtin_clzll(x | 1) + __builtin_ctzll(x | 2) + __builtin_popcountll(x) + (x << (s & 63)) + (x >> (s & 31)) +
                      ((x >> 3) & ((1ull << (s & 31)) - 1)) + __builtin_bswap32((uint32_t)x));
}
__attribute__((noinline)) int globals(int v)
{
    counter16 += 0x1234;
    flag8 |= 0x80;
    big64 = 0x123456789abcdefLL;
    if (counter16 == 0x4321 || flag8 == 7) big64 += v;
    return (int)(big64 >> 7) + ((ia[v & 4095] * 1000003) ^ 0x5a5a5a5a);
}
__attribute__((noinline)) const char *name(int k)
{
    switch (k) {
    case 0: return "zero"; case 1: return "one"; case 2: return "two"; case 3: return "three";
    case 4: return "four"; case 5: return "five"; case 6: return "six"; case 7: return "seven";
    default: return "many";
    }
}
__attribute__((noinline)) long double x87(long double x) { return x * ld + 3.25L; }
static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
__attribute__((noinline)) void fill(char *dst, size_t n) { memset(dst, flag8, n); }

int main(int argc, char **argv)
{
    op = argc > 5 ? mul : add;
    for (int i = 0; i < 4096; i++) { fb[i] = (float)i; fc[i] = 1.f; ia[i] = i * 7; ib[i] = i; ba[i] = (int8_t)i; }
    saxpy(2.f); iadd(argc); fclamp(); convert();
    char buf[64];
    fill(buf, sizeof buf);
    printf("%g %d %d %u %d %s %Lg %d %d\n", dot(), bytesum(), imax(), bits((uint64_t)argc << 40, (unsigned)argc),
           globals(argc), name(argc), x87((long double)argc), op(argc, 3), buf[argc] + (argv[0] != NULL));
    return 0;
}
