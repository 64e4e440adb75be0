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

/* Sums in 32 interleaved lanes (entry i of a full block of 32 adds to lane i mod 32, the rest
   to lanes 0, 1, ... in order), the lanes then added in a fixed tree: 32 chains of additions
   in flight instead of one, and every vector width gives the same bits since each lane is one
   chain in index order. */
#define NUMSOLVE_LANES 32

static inline __attribute__((always_inline)) double numsolve_lanes_total(double* lane) {
    for (int width = NUMSOLVE_LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++)
            lane[l] = lane[l] + lane[l + width];
    return lane[0];
}

/* sum_i x[i] y[i] */
NUMSOLVE_CLONES
static double numsolve_dot(Py_ssize_t n, const double* x, const double* y) {
    double lane[NUMSOLVE_LANES] = {0.0};
    Py_ssize_t i = 0;
    for (; i + NUMSOLVE_LANES <= n; i += NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++)
            lane[l] += x[i + l] * y[i + l];
    for (int l = 0; i + l < n; l++)
        lane[l] += x[i + l] * y[i + l];
    return numsolve_lanes_total(lane);
}

/* sum_i x[i] */
NUMSOLVE_CLONES
static double numsolve_sum(Py_ssize_t n, const double* x) {
    double lane[NUMSOLVE_LANES] = {0.0};
    Py_ssize_t i = 0;
    for (; i + NUMSOLVE_LANES <= n; i += NUMSOLVE_LANES)
        for (int l = 0; l < NUMSOLVE_LANES; l++)
            lane[l] += x[i + l];
    for (int l = 0; i + l < n; l++)
        lane[l] += x[i + l];
    return numsolve_lanes_total(lane);
}

/* out = x, rounded to float32 or copied */
NUMSOLVE_CLONES
static void numsolve_round_f32(Py_ssize_t n, const double* x, float* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}
