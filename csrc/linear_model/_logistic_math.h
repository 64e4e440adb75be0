/* Per-sample passes of the binary logistic loss, vectorised: its value, raw gradient,
   second-order model and conjugate (the duality gap's dual objective).

   Each pass needs one exponential and one or two logarithms per sample; the library's
   scalar log1p and log made two thirds of a pass on tall data (20000 samples: about 30 ns
   a sample for the model, the same for the conjugate). Here the exponential is the neural
   kernels' vectorised exp(-x) (inlined block by block) and the logarithms are the series of
   atanh: log(x) = 2 atanh((x - 1) / (x + 1)), after reducing x to [sqrt(1/2), sqrt(2)]
   (general log: |s| <= 0.172, 11 terms) or, for log1p(e) with e in [0, 1], directly with
   s = e / (2 + e) (|s| <= 1/3, 17 terms); both truncate below 2e-18 relative, so the
   results stay within a few ulp of the library's. Samples go in blocks of NUMSOLVE_BLOCK,
   each step over a whole block (see _vector_math.h), and the sums run in NS_LOGISTIC_LANES
   partial sums whatever the vector width and nothing is contracted into FMA
   (fp-contract=off), so every copy of a function gives the same bits.
   Labels are -1 or +1.

   Every helper is always_inline: the AVX-512 copy of a function that called an outlined
   helper returned without vzeroupper, and the library's SSE exponential that runs next (the
   engine's raw gradient) then took 4.5 ms instead of 0.15 ms on 20000 samples. */

#ifndef NUMSOLVE_LOGISTIC_MATH_H
#define NUMSOLVE_LOGISTIC_MATH_H

#include <float.h>
#include "../neural/_vector_math.h"

#define NS_LOGISTIC_LANES 8

/* 1/33, 1/31, ..., 1/3, 1: Horner's coefficients of atanh(s)/s in s^2, highest first */
static const double ns_atanh_series[17] = {
    1.0 / 33.0, 1.0 / 31.0, 1.0 / 29.0, 1.0 / 27.0, 1.0 / 25.0, 1.0 / 23.0, 1.0 / 21.0,
    1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0,
    1.0 / 5.0, 1.0 / 3.0, 1.0};

/* out = 2 atanh(s) over a block, from the series' last `terms` coefficients */
static inline __attribute__((always_inline)) void ns_atanh2_block(
        const double* s, double* out, Py_ssize_t m, int terms) {
    double s2[NUMSOLVE_BLOCK];
    for (Py_ssize_t i = 0; i < m; i++) {
        s2[i] = s[i] * s[i];
        out[i] = ns_atanh_series[17 - terms];
    }
    for (int c = 18 - terms; c < 17; c++) {
        const double coef = ns_atanh_series[c];
        for (Py_ssize_t i = 0; i < m; i++)
            out[i] = out[i] * s2[i] + coef;
    }
    for (Py_ssize_t i = 0; i < m; i++)
        out[i] *= 2.0 * s[i];
}

/* out = log1p(e) for e in [0, 1] */
static inline __attribute__((always_inline)) void ns_log1p_unit_block(
        const double* e, double* out, Py_ssize_t m) {
    double s[NUMSOLVE_BLOCK];
    for (Py_ssize_t i = 0; i < m; i++)
        s[i] = e[i] / (2.0 + e[i]);
    ns_atanh2_block(s, out, m, 17);
}

/* out = log(x) for x in [DBL_MIN, 1] (smaller x are read as DBL_MIN): x = 2^k u with u in
   [sqrt(1/2), sqrt(2)), k read from the exponent bits as a double (no integer conversion,
   which does not vectorise below AVX-512) */
static inline __attribute__((always_inline)) void ns_log_block(
        const double* x, double* out, Py_ssize_t m) {
    const double exponent_shift = 4503599627371519.0;  /* 2^52 + 1023 */
    const double ln2_hi = 0.6931471803691238, ln2_lo = 1.9082149292705877e-10;
    double k[NUMSOLVE_BLOCK], s[NUMSOLVE_BLOCK];
    for (Py_ssize_t i = 0; i < m; i++) {
        double v = x[i] < DBL_MIN ? DBL_MIN : x[i];
        uint64_t bits, biased;
        memcpy(&bits, &v, sizeof bits);
        biased = (bits >> 52) | 0x4330000000000000ULL;  /* 2^52 + biased exponent */
        double kk;
        memcpy(&kk, &biased, sizeof kk);
        kk -= exponent_shift;
        bits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;
        double u;
        memcpy(&u, &bits, sizeof u);
        double high = u > 1.4142135623730951;
        u = high ? 0.5 * u : u;
        k[i] = kk + high;
        s[i] = (u - 1.0) / (u + 1.0);
    }
    ns_atanh2_block(s, out, m, 11);
    for (Py_ssize_t i = 0; i < m; i++)
        out[i] = k[i] * ln2_hi + (out[i] + k[i] * ln2_lo);
}

/* exp(-|t|) below NS_NEGLIGIBLE read as zero: times a sample weight it would be subnormal,
   and subnormal arithmetic costs a hundred cycles an operation (samples classified by a
   margin over 660 made a model pass four times slower); the terms dropped are below 1e-290 */
#define NS_NEGLIGIBLE 1e-290

static inline __attribute__((always_inline)) void ns_flush_tiny(double* e, Py_ssize_t m) {
    for (Py_ssize_t i = 0; i < m; i++)
        e[i] = e[i] < NS_NEGLIGIBLE ? 0.0 : e[i];
}

/* e = exp(-|v|) over a block (flushed, see NS_NEGLIGIBLE); magnitude = |v| */
static inline __attribute__((always_inline)) void ns_exp_neg_abs(
        const double* v, double* magnitude, double* e, Py_ssize_t m) {
    for (Py_ssize_t i = 0; i < m; i++)
        magnitude[i] = fabs(v[i]);
    numsolve_exp_neg_block(magnitude, e, m);
    ns_flush_tiny(e, m);
}

static inline __attribute__((always_inline)) void ns_add_lanes(
        const double* v, Py_ssize_t m, double* lanes) {
    Py_ssize_t i = 0;
    for (; i + NS_LOGISTIC_LANES <= m; i += NS_LOGISTIC_LANES)
        for (int lane = 0; lane < NS_LOGISTIC_LANES; lane++)
            lanes[lane] += v[i + lane];
    for (; i < m; i++)
        lanes[0] += v[i];
}

static inline __attribute__((always_inline)) double ns_lanes_total(const double* lanes) {
    double total = 0.0;
    for (int lane = 0; lane < NS_LOGISTIC_LANES; lane++)
        total += lanes[lane];
    return total;
}

/* The loss's second-order model at the predictor z: raw gradient g, curvature h (raised to
   min_curvature * a), working response target = z - g / h; returns the loss
   sum_i a_i log(1 + exp(-y_i z_i)). */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static double ns_logistic_model(const double* z, const double* y, const double* a,
                                double min_curvature, double* h, double* g, double* target,
                                Py_ssize_t n) {
    double lanes[NS_LOGISTIC_LANES] = {0.0};
    double t[NUMSOLVE_BLOCK], e[NUMSOLVE_BLOCK], soft[NUMSOLVE_BLOCK];
    for (Py_ssize_t start = 0; start < n; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = n - start < NUMSOLVE_BLOCK ? n - start : NUMSOLVE_BLOCK;
        const double *zb = z + start, *yb = y + start, *ab = a + start;
        ns_exp_neg_abs(zb, t, e, m);
        ns_log1p_unit_block(e, soft, m);
        for (Py_ssize_t i = 0; i < m; i++) {
            double margin = yb[i] * zb[i];
            double inverse = 1.0 / (1.0 + e[i]);
            double curvature = e[i] * inverse * inverse;
            curvature = ab[i] * (curvature < min_curvature ? min_curvature : curvature);
            /* the sigmoid of -margin: e / (1 + e) for a non-negative margin, 1 / (1 + e) else */
            double gradient = -ab[i] * yb[i] * (margin >= 0.0 ? e[i] : 1.0) * inverse;
            h[start + i] = curvature;
            g[start + i] = gradient;
            target[start + i] = zb[i] - gradient / curvature;
            soft[i] = ab[i] * (soft[i] + (margin < 0.0 ? -margin : 0.0));
        }
        ns_add_lanes(soft, m, lanes);
    }
    return ns_lanes_total(lanes);
}

/* g_i = -a_i y_i / (1 + exp(y_i z_i)), the raw gradient alone (the engine's full gradient) */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static void ns_logistic_gradient(const double* z, const double* y, const double* a, double* g,
                                 Py_ssize_t n) {
    double t[NUMSOLVE_BLOCK], e[NUMSOLVE_BLOCK];
    for (Py_ssize_t start = 0; start < n; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = n - start < NUMSOLVE_BLOCK ? n - start : NUMSOLVE_BLOCK;
        const double *zb = z + start, *yb = y + start, *ab = a + start;
        ns_exp_neg_abs(zb, t, e, m);
        for (Py_ssize_t i = 0; i < m; i++)
            g[start + i] = -ab[i] * yb[i] * (yb[i] * zb[i] >= 0.0 ? e[i] : 1.0) / (1.0 + e[i]);
    }
}

/* sum_i a_i log(1 + exp(-y_i (z_i + step dz_i))) */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static double ns_logistic_loss(const double* z, const double* dz, double step, const double* y,
                               const double* a, Py_ssize_t n) {
    double lanes[NS_LOGISTIC_LANES] = {0.0};
    double t[NUMSOLVE_BLOCK], magnitude[NUMSOLVE_BLOCK], e[NUMSOLVE_BLOCK];
    for (Py_ssize_t start = 0; start < n; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = n - start < NUMSOLVE_BLOCK ? n - start : NUMSOLVE_BLOCK;
        for (Py_ssize_t i = 0; i < m; i++)
            t[i] = -y[start + i] * (z[start + i] + step * dz[start + i]);
        ns_exp_neg_abs(t, magnitude, e, m);
        ns_log1p_unit_block(e, magnitude, m);
        /* log(1 + exp(t)) = max(t, 0) + log1p(exp(-|t|)) */
        for (Py_ssize_t i = 0; i < m; i++)
            magnitude[i] = a[start + i] * ((t[i] > 0.0 ? t[i] : 0.0) + magnitude[i]);
        ns_add_lanes(magnitude, m, lanes);
    }
    return ns_lanes_total(lanes);
}

/* sum_i a_i (s_i log s_i + (1 - s_i) log(1 - s_i)) with s_i = -g_i y_i / a_i clipped to
   [0, 1] (0 log 0 = 0; rows with a_i <= 0 count zero): the conjugate at the raw gradient g */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static double ns_logistic_conjugate(const double* g, const double* y, const double* a,
                                    Py_ssize_t n) {
    double lanes[NS_LOGISTIC_LANES] = {0.0};
    double s[NUMSOLVE_BLOCK], rest[NUMSOLVE_BLOCK];
    double log_s[NUMSOLVE_BLOCK], log_rest[NUMSOLVE_BLOCK];
    for (Py_ssize_t start = 0; start < n; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = n - start < NUMSOLVE_BLOCK ? n - start : NUMSOLVE_BLOCK;
        for (Py_ssize_t i = 0; i < m; i++) {
            double weight = a[start + i];
            double v = weight > 0.0 ? -g[start + i] * y[start + i] / weight : 0.0;
            v = v < 0.0 ? 0.0 : v;
            v = v > 1.0 ? 1.0 : v;
            s[i] = v;
            rest[i] = 1.0 - v;
        }
        ns_log_block(s, log_s, m);
        ns_log_block(rest, log_rest, m);
        for (Py_ssize_t i = 0; i < m; i++) {
            double weight = a[start + i] > 0.0 ? a[start + i] : 0.0;
            /* log(1 - s) = log(rest) + (1 - s - rest) / rest to first order, the rounding
               of rest = 1 - s computed exactly (Sterbenz): log1p's accuracy for small s */
            double corrected = log_rest[i] + ((1.0 - rest[i]) - s[i]) / rest[i];
            corrected = rest[i] > 0.0 ? corrected : 0.0;
            s[i] = weight * (s[i] * log_s[i] + rest[i] * corrected);
        }
        ns_add_lanes(s, m, lanes);
    }
    return ns_lanes_total(lanes);
}

#endif
