/* The multinomial loss in the block coordinate epoch, vectorised.

   Row i of the raw gradient is a_i (softmax(Z_i) - e_{y_i}), Z C-ordered (n, K), y_i the
   class index. The epoch keeps the exponentials E_ic = exp(Z_ic - r_i) (r_i the row's
   maximum when the epoch starts) and their row sums S_i instead of the gradient: a feature
   whose block moves by delta multiplies E's column c by exp(x_i delta_c) only for the classes
   that moved, and the next feature's gradient, sum_i x_i a_i E_ic / S_i minus the weights of
   its samples of class c, is one pass over E. Recomputing every row's softmax after each move
   (K library exponentials a sample) was nine tenths of an epoch on digits (1797 samples, 10
   classes, about 3 of a block's 10 coefficients nonzero under L1: 8 ms an epoch); one pass
   of vectorised exponentials over all n K entries after each move took 5 ms (loaded).
   Within an epoch Z moves little, so E stays far from overflow; the next epoch starts from
   Z again. Exponentials are the neural kernels' vectorised exp(-x) (_vector_math.h), its
   blocks inlined (an outlined clone returned without vzeroupper, see _logistic_math.h);
   nothing is contracted into FMA (fp-contract=off), so every copy gives the same bits. */

#ifndef NUMSOLVE_SOFTMAX_MATH_H
#define NUMSOLVE_SOFTMAX_MATH_H

#include "../neural/_vector_math.h"

/* S_i = sum_c E_ic */
static inline __attribute__((always_inline)) double ns_row_sum(const double* e, Py_ssize_t K) {
    double total = 0.0;
    for (Py_ssize_t c = 0; c < K; c++)
        total += e[c];
    return total;
}

/* E_ic = exp(Z_ic - max_c Z_ic) and S_i = R_i = sum_c E_ic over the n rows */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static void ns_softmax_start(const double* Z, double* E, double* S, double* R, Py_ssize_t n,
                             Py_ssize_t K) {
    for (Py_ssize_t i = 0; i < n; i++) {
        const double* z = Z + i * K;
        double top = z[0];
        for (Py_ssize_t c = 1; c < K; c++)
            top = z[c] > top ? z[c] : top;
        for (Py_ssize_t c = 0; c < K; c++)
            E[i * K + c] = top - z[c];
    }
    for (Py_ssize_t start = 0; start < n * K; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = n * K - start < NUMSOLVE_BLOCK ? n * K - start : NUMSOLVE_BLOCK;
        numsolve_exp_neg_block(E + start, E + start, m);
    }
    for (Py_ssize_t i = 0; i < n; i++)
        S[i] = R[i] = ns_row_sum(E + i * K, K);
}

/* The rows of entries start..start+m-1 of a column: rows[k], or k for a dense column
   (rows NULL) */
static inline __attribute__((always_inline)) void ns_block_rows(
        const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t m, Py_ssize_t* out) {
    for (Py_ssize_t k = 0; k < m; k++)
        out[k] = rows == NULL ? start + k : rows[start + k];
}

/* grad_c = sum_i x_i a_i E_ic / S_i - sum_{i: y_i = c} a_i x_i, the gradient of the loss
   in the block of the feature whose column holds the values x (count entries, in the rows
   `rows`, NULL for every row in order), and curv_c = sum_i a_i x_i^2 p_ic (1 - p_ic)
   (p_ic = E_ic / S_i), the diagonal of the block's Hessian */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static void ns_softmax_block_gradient(const double* x, const Py_ssize_t* rows,
                                      Py_ssize_t count, const double* E, const double* S,
                                      const double* y, const double* a, Py_ssize_t K,
                                      double* grad, double* curv) {
    double v[NUMSOLVE_BLOCK], u[NUMSOLVE_BLOCK], inv[NUMSOLVE_BLOCK];
    Py_ssize_t row[NUMSOLVE_BLOCK];
    for (Py_ssize_t c = 0; c < K; c++)
        grad[c] = curv[c] = 0.0;
    for (Py_ssize_t start = 0; start < count; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = count - start < NUMSOLVE_BLOCK ? count - start : NUMSOLVE_BLOCK;
        ns_block_rows(rows, start, m, row);
        for (Py_ssize_t k = 0; k < m; k++) {
            v[k] = a[row[k]] * x[start + k];
            grad[(Py_ssize_t)y[row[k]]] -= v[k];
            inv[k] = 1.0 / S[row[k]];
            u[k] = v[k] * x[start + k];
            v[k] *= inv[k];
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            const double* e = E + row[k] * K;
            for (Py_ssize_t c = 0; c < K; c++) {
                const double p = e[c] * inv[k];
                grad[c] += v[k] * e[c];
                curv[c] += u[k] * (p - p * p);
            }
        }
    }
}

/* sum_i a_i (log(S_i / S0_i) - (Z_iy - Z0_iy)), y = y_i: the loss's change from (Z0, S0)
   to (Z, S), both sums taken against the same row shifts */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static double ns_softmax_loss_change(const double* S0, const double* S, const double* Z0,
                                     const double* Z, const double* y, const double* a,
                                     Py_ssize_t n, Py_ssize_t K) {
    double total = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const Py_ssize_t at = i * K + (Py_ssize_t)y[i];
        total += a[i] * (log(S[i] / S0[i]) - (Z[at] - Z0[at]));
    }
    return total;
}

/* The block of the column (values x in the rows `rows`, as above) moved by delta (K
   entries, zero for the classes left in place): Z_ic += x_i delta_c, E_ic *= exp(x_i
   delta_c) and S_i follows by the entries' changes. A sum that fell below half the last
   exact one (R_i) is summed again: the changes' round-off is relative to the larger sum,
   and cancellation would otherwise grow it */
NUMSOLVE_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"), unused))
static void ns_softmax_move(const double* x, const Py_ssize_t* rows, Py_ssize_t count,
                            const double* delta, Py_ssize_t K, double* Z, double* E,
                            double* S, double* R) {
    double t[NUMSOLVE_BLOCK], e[NUMSOLVE_BLOCK];
    Py_ssize_t row[NUMSOLVE_BLOCK];
    for (Py_ssize_t start = 0; start < count; start += NUMSOLVE_BLOCK) {
        Py_ssize_t m = count - start < NUMSOLVE_BLOCK ? count - start : NUMSOLVE_BLOCK;
        ns_block_rows(rows, start, m, row);
        for (Py_ssize_t c = 0; c < K; c++) {
            const double d = delta[c];
            if (d == 0.0)
                continue;
            for (Py_ssize_t k = 0; k < m; k++)
                t[k] = -(x[start + k] * d);
            numsolve_exp_neg_block(t, e, m);
            for (Py_ssize_t k = 0; k < m; k++) {
                const Py_ssize_t at = row[k] * K + c;
                const double before = E[at], after = before * e[k];
                E[at] = after;
                S[row[k]] += after - before;
                Z[at] -= t[k];
            }
        }
        for (Py_ssize_t k = 0; k < m; k++)
            if (S[row[k]] < 0.5 * R[row[k]])
                S[row[k]] = R[row[k]] = ns_row_sum(E + row[k] * K, K);
    }
}

#endif
