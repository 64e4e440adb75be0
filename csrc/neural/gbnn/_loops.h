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

/* back-propagated residuals of one unit for one output: g = (g + u - v r) d */
NUMSOLVE_CLONES
static void numsolve_backprop1(Py_ssize_t n, double u, double v, const double* r,
                               const double* d, double* g) {
    for (Py_ssize_t i = 0; i < n; i++)
        g[i] = (g[i] + u - v * r[i]) * d[i];
}

/* out = x, rounded to float32 or copied */
NUMSOLVE_CLONES
static void numsolve_round_f32(Py_ssize_t n, const double* x, float* out) {
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}
