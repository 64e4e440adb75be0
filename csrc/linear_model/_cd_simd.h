/* Dot product and axpy of contiguous columns in LANES independent float64 partial sums,
   compiled for several x86-64 levels and picked when the module loads (GCC function
   multi-versioning), so a wheel built for the baseline still uses AVX2 or AVX-512 where the
   CPU has them. The lanes are explicit, so the vector width changes no summation order;
   elsewhere the plain versions are compiled. */
#ifndef NUMSOLVE_CD_SIMD_H
#define NUMSOLVE_CD_SIMD_H

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NS_CLONES
#endif

#define NS_LANES 8

#define NS_DOT(NAME, TYPE)                                                   \
    static NS_CLONES double NAME(const TYPE *x, const double *r, ptrdiff_t n) \
    {                                                                        \
        double acc[NS_LANES] = {0.0};                                        \
        double total = 0.0;                                                  \
        ptrdiff_t i = 0, lane, m = n - n % NS_LANES;                         \
        for (; i < m; i += NS_LANES)                                         \
            for (lane = 0; lane < NS_LANES; lane++)                          \
                acc[lane] += (double)x[i + lane] * r[i + lane];              \
        for (; i < n; i++)                                                   \
            acc[0] += (double)x[i] * r[i];                                   \
        for (lane = 0; lane < NS_LANES; lane++)                              \
            total += acc[lane];                                              \
        return total;                                                        \
    }

#define NS_AXPY(NAME, TYPE)                                                   \
    static NS_CLONES void NAME(const TYPE *x, double alpha, double *z, ptrdiff_t n) \
    {                                                                         \
        ptrdiff_t i;                                                          \
        for (i = 0; i < n; i++)                                               \
            z[i] += (double)x[i] * alpha;                                     \
    }

/* z += alpha x and r += a * (alpha x): a least-squares coordinate step moving the
   predictor and the weighted residual together */
#define NS_STEP(NAME, TYPE)                                                   \
    static NS_CLONES void NAME(const TYPE *x, double alpha, const double *a, double *z, \
                               double *r, ptrdiff_t n)                        \
    {                                                                         \
        ptrdiff_t i;                                                          \
        double step;                                                          \
        for (i = 0; i < n; i++) {                                             \
            step = (double)x[i] * alpha;                                      \
            z[i] += step;                                                     \
            r[i] += a[i] * step;                                              \
        }                                                                     \
    }

NS_DOT(ns_dot_f64, double)
NS_DOT(ns_dot_f32, float)
NS_AXPY(ns_axpy_f64, double)
NS_AXPY(ns_axpy_f32, float)
NS_STEP(ns_step_f64, double)
NS_STEP(ns_step_f32, float)

#endif
