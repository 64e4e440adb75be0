/* Vectorisable exp(-z) and tanh for the neural kernels (GBNN's boosting loop, Sven's epochs).

   One build for every x86-64 CPU, the loops vectorised for the widest one at hand: GCC
   compiles a copy per target and picks one when the module loads. The arithmetic is the same
   in each copy (no contraction into FMA: the neural modules are built with
   -ffp-contract=off), so every copy gives the same bits.

   Both functions reduce x = k ln(2) + r, |r| <= ln(2)/2, and evaluate a degree-12 Taylor
   polynomial in r (truncation error below 2e-16 relative). floor and the conversion of k to
   an integer are done with the 1.5 * 2^52 and 2^52 shifters, which vectorise where the
   library's floor and the integer conversion do not. Without no-trapping-math GCC keeps the
   selects as branches (a select would evaluate an operand that might raise a floating-point
   flag) and vectorises only with AVX-512's masks: the AVX2 and SSE2 copies ran scalar, twice
   as slow on CPUs without AVX-512. The option changes no value (no contraction, no
   reassociation). A module that includes this header may use either function (unused).

   Entries go in blocks of NUMSOLVE_BLOCK, each step of the polynomial over a whole block
   before the next: one entry's thirteen steps depend on each other, so a loop over single
   entries waited on their latency (exp: 2.6 ns an entry, three times NumPy's); a block keeps
   eight vectors in flight. Each entry sees the same operations in the same order as in an
   entry-by-entry loop. */

#ifndef NUMSOLVE_VECTOR_MATH_H
#define NUMSOLVE_VECTOR_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NUMSOLVE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NUMSOLVE_CLONES
#endif

#define NUMSOLVE_BLOCK 64

/* 1/12!, 1/11!, ..., 1/2, 1: Horner's coefficients of the Taylor polynomial, highest first */
static const double numsolve_taylor[12] = {
    1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
    1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0,
    0.5, 1.0};

/* x (clipped to +-700) = k ln(2) + r with k = floor(x / ln(2) + 1/2) */
static inline __attribute__((always_inline)) void numsolve_reduce(double x, double* k,
                                                                  double* r) {
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 0.6931471803691238;  /* k * ln2_hi exact for |k| < 2**20 */
    const double ln2_lo = 1.9082149292705877e-10;
    const double round_shift = 6755399441055744.0;  /* 1.5 * 2^52 */
    x = x < -700.0 ? -700.0 : x;
    x = x > 700.0 ? 700.0 : x;
    double t = x * log2e + 0.5;
    double nearest = (t + round_shift) - round_shift;
    *k = nearest > t ? nearest - 1.0 : nearest;  /* floor(t), |t| < 2^51 */
    *r = (x - *k * ln2_hi) - *k * ln2_lo;
}

/* 2^k for an integral k in [-1022, 1023], assembled from its exponent bits */
static inline __attribute__((always_inline)) double numsolve_pow2(double k) {
    const double bits_shift = 4503599627371519.0;  /* 2^52 + 1023 */
    double biased = k + bits_shift;  /* low mantissa bits: k + 1023 */
    uint64_t bits;
    memcpy(&bits, &biased, sizeof bits);
    bits <<= 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* p = 1 + r/2 + ... + r^11/12! (so that r p is expm1(r) to degree 12) over a block */
static inline __attribute__((always_inline)) void numsolve_taylor_block(
        const double* r, double* p, Py_ssize_t m) {
    for (Py_ssize_t i = 0; i < m; i++)
        p[i] = numsolve_taylor[0];
    for (int c = 1; c < 12; c++) {
        const double coef = numsolve_taylor[c];
        for (Py_ssize_t i = 0; i < m; i++)
            p[i] = p[i] * r[i] + coef;
    }
}

static inline __attribute__((always_inline)) void numsolve_exp_neg_block(
        const double* z, double* out, Py_ssize_t m) {
    double r[NUMSOLVE_BLOCK], k[NUMSOLVE_BLOCK], p[NUMSOLVE_BLOCK];
    for (Py_ssize_t i = 0; i < m; i++)
        numsolve_reduce(-z[i], &k[i], &r[i]);
    numsolve_taylor_block(r, p, m);
    for (Py_ssize_t i = 0; i < m; i++)
        out[i] = (p[i] * r[i] + 1.0) * numsolve_pow2(k[i]);
}

/* tanh(z) = -expm1(-2|z|) / (2 + expm1(-2|z|)) with the sign of z, where
   expm1(y) = 2^k (r p(r)) + (2^k - 1) has no cancellation near 0 (k = 0 there); within
   8 ulp of the correctly rounded value. slope = 1 - tanh(z)^2. out may be z. */
static inline __attribute__((always_inline)) void numsolve_tanh_block(
        const double* z, double* out, double* slope, Py_ssize_t m) {
    double r[NUMSOLVE_BLOCK], k[NUMSOLVE_BLOCK], p[NUMSOLVE_BLOCK];
    for (Py_ssize_t i = 0; i < m; i++)
        numsolve_reduce(-2.0 * fabs(z[i]), &k[i], &r[i]);
    numsolve_taylor_block(r, p, m);
    for (Py_ssize_t i = 0; i < m; i++) {
        double scale = numsolve_pow2(k[i]);
        double e = scale * (r[i] * p[i]) + (scale - 1.0);
        double value = copysign((0.0 - e) / (2.0 + e), z[i]);
        out[i] = value;
        slope[i] = 1.0 - value * value;
    }
}

/* out = exp(-z), relative error ~1e-16, arguments clipped to +-700 */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math"), unused))
static void numsolve_exp_neg(const double* z, double* out, Py_ssize_t size) {
    Py_ssize_t start = 0;
    for (; start + NUMSOLVE_BLOCK <= size; start += NUMSOLVE_BLOCK)
        numsolve_exp_neg_block(z + start, out + start, NUMSOLVE_BLOCK);
    if (start < size)
        numsolve_exp_neg_block(z + start, out + start, size - start);
}

/* out = tanh(z) and slope = 1 - out^2 (out may be z) */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math"), unused))
static void numsolve_tanh(const double* z, double* out, double* slope, Py_ssize_t size) {
    Py_ssize_t start = 0;
    for (; start + NUMSOLVE_BLOCK <= size; start += NUMSOLVE_BLOCK)
        numsolve_tanh_block(z + start, out + start, slope + start, NUMSOLVE_BLOCK);
    if (start < size)
        numsolve_tanh_block(z + start, out + start, slope + start, size - start);
}

#endif
