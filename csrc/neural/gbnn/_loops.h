/* Elementwise loops of the GBNN stage fit (L-BFGS vectors, hidden units, back-propagation),
   compiled once per x86-64 vector width like the exponential of ../_vector_math.h: the
   extension is built for the baseline CPU, where Cython's own loops run two doubles at a
   time. Each entry is one independent expression, so every width gives the same bits. */

#include "../_vector_math.h"

/* y = y + a x */
NUMSOLVE_CLONES
static void numsolve_axpy(Py_ssize_t n, double a, const double* x, double* y) {
    for (Py_ssize_t i = 0; i < n; i++)
        y[i] = y[i] + a * x[i];
}

/* out = x + a y */
NUMSOLVE_CLONES
static void numsolve_waxpy(Py_ssize_t n, const double* x, double a, const double* y,
                           double* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = x[i] + a * y[i];
}

/* x = a x */
NUMSOLVE_CLONES
static void numsolve_scale(Py_ssize_t n, double a, double* x) {
    for (Py_ssize_t i = 0; i < n; i++)
        x[i] = x[i] * a;
}

/* out = x - y */
NUMSOLVE_CLONES
static void numsolve_subtract(Py_ssize_t n, const double* x, const double* y, double* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = x[i] - y[i];
}

/* logistic units from E = exp(-z) held in H: H = 1 / (1 + E), D = H - H^2 */
NUMSOLVE_CLONES
static void numsolve_logistic_from_exp(Py_ssize_t n, double* H, double* D) {
    for (Py_ssize_t i = 0; i < n; i++) {
        double s = 1.0 / (1.0 + H[i]);
        H[i] = s;
        D[i] = s - s * s;
    }
}

/* out = z + c, z in float32 or float64 */
NUMSOLVE_CLONES
static void numsolve_add_f32(Py_ssize_t n, const float* z, double c, double* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = z[i] + c;
}

NUMSOLVE_CLONES
static void numsolve_add_f64(Py_ssize_t n, const double* z, double c, double* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = z[i] + c;
}

/* back-propagated residuals of one unit for one output: g = (v e) d, e the residuals */
NUMSOLVE_CLONES
static void numsolve_backprop1(Py_ssize_t n, double v, const double* e, const double* d,
                               double* g) {
    for (Py_ssize_t i = 0; i < n; i++)
        g[i] = (v * e[i]) * d[i];
}

/* Sums in interleaved lanes: entries of full blocks of 32 go to four vectors of eight lanes
   (entry i to vector (i mod 32) / 8, lane i mod 8), the rest to the first vector in blocks
   of eight and then one by one; the vectors are added lane by lane and the eight lanes in a
   fixed tree (written out, so that it stays in registers). Each lane is one chain of additions
   in index order, so every vector width gives the same bits, and four chains are in flight
   instead of one. */
#define NUMSOLVE_LANES 8

static inline __attribute__((always_inline)) double numsolve_lanes_total(
        const double* a, const double* b, const double* c, const double* d) {
    double lane[NUMSOLVE_LANES];
    for (int l = 0; l < NUMSOLVE_LANES; l++)
        lane[l] = (a[l] + c[l]) + (b[l] + d[l]);
    return ((lane[0] + lane[4]) + (lane[2] + lane[6]))
           + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

/* sum_i x[i] y[i] */
NUMSOLVE_CLONES
static double numsolve_dot(Py_ssize_t n, const double* x, const double* y) {
    double a[NUMSOLVE_LANES] = {0.0}, b[NUMSOLVE_LANES] = {0.0};
    double c[NUMSOLVE_LANES] = {0.0}, d[NUMSOLVE_LANES] = {0.0};
    Py_ssize_t i = 0;
    for (; i + 4 * NUMSOLVE_LANES <= n; i += 4 * NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++) {
            a[l] += x[i + l] * y[i + l];
            b[l] += x[i + NUMSOLVE_LANES + l] * y[i + NUMSOLVE_LANES + l];
            c[l] += x[i + 2 * NUMSOLVE_LANES + l] * y[i + 2 * NUMSOLVE_LANES + l];
            d[l] += x[i + 3 * NUMSOLVE_LANES + l] * y[i + 3 * NUMSOLVE_LANES + l];
        }
    for (; i + NUMSOLVE_LANES <= n; i += NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++)
            a[l] += x[i + l] * y[i + l];
    for (int l = 0; i + l < n; l++)
        a[l] += x[i + l] * y[i + l];
    return numsolve_lanes_total(a, b, c, d);
}

/* sum_i x[i] */
NUMSOLVE_CLONES
static double numsolve_sum(Py_ssize_t n, const double* x) {
    double a[NUMSOLVE_LANES] = {0.0}, b[NUMSOLVE_LANES] = {0.0};
    double c[NUMSOLVE_LANES] = {0.0}, d[NUMSOLVE_LANES] = {0.0};
    Py_ssize_t i = 0;
    for (; i + 4 * NUMSOLVE_LANES <= n; i += 4 * NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++) {
            a[l] += x[i + l];
            b[l] += x[i + NUMSOLVE_LANES + l];
            c[l] += x[i + 2 * NUMSOLVE_LANES + l];
            d[l] += x[i + 3 * NUMSOLVE_LANES + l];
        }
    for (; i + NUMSOLVE_LANES <= n; i += NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++)
            a[l] += x[i + l];
    for (int l = 0; i + l < n; l++)
        a[l] += x[i + l];
    return numsolve_lanes_total(a, b, c, d);
}

/* out = x, rounded to float32 or copied */
NUMSOLVE_CLONES
static void numsolve_round_f32(Py_ssize_t n, const double* x, float* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}
