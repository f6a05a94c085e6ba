/* A medium C program for the label-normalisation tests (Tests/PolybinTests/Delta): calls,
 * tail calls, switch tables, function pointers in data (R_*_RELATIVE in a PIE), strings,
 * floating point and vector loops that change shape with -march. Its output is a checksum. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef double (*op_fn)(double, double);
static double op_add(double a, double b) { return a + b; }
static double op_sub(double a, double b) { return a - b; }
static double op_mul(double a, double b) { return a * b; }
static double op_div(double a, double b) { return b != 0 ? a / b : 0; }
static double op_hyp(double a, double b) { return sqrt(a * a + b * b); }
static const op_fn ops[] = {op_add, op_sub, op_mul, op_div, op_hyp};
static const char *const names[] = {"add", "sub", "mul", "div", "hyp"};

struct node { struct node *next; int key; char name[12]; };
static struct node *table[64];
static unsigned long counter;

__attribute__((noinline)) static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

__attribute__((noinline)) static void insert(int key, const char *name)
{
    struct node *n = calloc(1, sizeof *n);
    n->key = key;
    snprintf(n->name, sizeof n->name, "%s%d", name, key);
    unsigned slot = hash(n->name) & 63;
    n->next = table[slot];
    table[slot] = n;
    counter++;
}

__attribute__((noinline)) static int classify(int c)
{
    switch (c % 11) {
    case 0: return c * 3;
    case 1: return c + 17;
    case 2: return c ^ 0x55;
    case 3: return c / 7;
    case 4: return -c;
    case 5: return c << 2;
    case 6: return c % 13;
    case 7: return c * c;
    case 8: return c - 99;
    case 9: return c | 0x100;
    default: return 0;
    }
}

__attribute__((noinline)) static void saxpy(float *y, const float *x, float a, int n)
{
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

__attribute__((noinline)) static long sum_bits(const unsigned *v, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++) s += __builtin_popcount(v[i]) + (v[i] >> (i & 7)) + (v[i] << (i & 3));
    return s;
}

__attribute__((noinline)) static double fold(const double *v, int n, int which)
{
    double acc = v[0];
    for (int i = 1; i < n; i++) acc = ops[which % 5](acc, v[i]);
    return acc;
}

static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    unsigned *bits = malloc(n * sizeof *bits);
    double *d = malloc(n * sizeof *d);
    int *keys = malloc(n * sizeof *keys);
    for (int i = 0; i < n; i++) {
        x[i] = (float)i * 0.5f;
        y[i] = (float)(n - i);
        bits[i] = (unsigned)i * 2654435761u;
        d[i] = 1.0 + i % 17;
        keys[i] = classify(i * 7919);
        insert(i, names[i % 5]);
    }
    saxpy(y, x, 1.5f, n);
    qsort(keys, n, sizeof *keys, compare);
    double total = 0;
    for (int w = 0; w < 5; w++) total += fold(d, n, w);
    unsigned long chain = 0;
    for (int i = 0; i < 64; i++)
        for (struct node *p = table[i]; p; p = p->next) chain += hash(p->name) % 97 + strlen(p->name);
    printf("%s %.3f %ld %d %lu %lu %.1f\n", names[n % 5], total, sum_bits(bits, n), keys[n / 2], chain, counter, y[n - 1]);
    return 0;
}
