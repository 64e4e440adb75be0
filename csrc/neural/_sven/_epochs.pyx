# cython: language_level=3
"""Sven epochs for dense networks on NumPy arrays, every step of an epoch in one nogil call.

Each step is what the generic path (``sven`` with ``network_gram``) computes: forward pass,
per-sample backward pass, the Gram matrix ``J J'`` by the per-example trick in float64, its
eigendecomposition (LAPACK ``dsyevd``), the truncated minimum-norm weights ``w``, the step
``J' w`` from the stored per-layer inputs and cotangents, and the safeguard's halving of the
step on the batch cost. With batches of a few dozen rows and networks of a few hundred
parameters a step costs microseconds, so the epoch runs without returning to Python.

The parameters are one flat vector holding, layer after layer, the weights ``W_l``
(row-major, ``n_{l-1} x n_l``) and the bias ``b_l``; network values are kept in the dtype of
the parameters, the Gram matrix and the step in float64. Shapes are checked by the Python
caller (:mod:`numsolve.neural._sven._epochs`) before a kernel is entered.
"""

import numpy as np

from libc.math cimport isfinite, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
include "../../_blas.pxi"

include "../_activations.pxi"

cdef extern from "../_vector_math.h":
    void numsolve_exp_neg(const double* z, double* out, Py_ssize_t size) noexcept nogil
    void numsolve_tanh(const double* z, double* out, double* slope,
                       Py_ssize_t size) noexcept nogil

ctypedef fused floating:
    float
    double

cdef double _EPS64 = 2.220446049250313e-16
cdef double _GELU_C = sqrt(2.0 / 3.141592653589793)
cdef int MAX_HALVINGS = 20  # the value of numsolve.neural._sven._solver.MAX_HALVINGS


cdef struct Network:
    # a dense network: layer sizes (n_layers + 1 of them), the largest, the activation
    const long long* sizes
    int n_layers
    int width
    int code


cdef struct StepRule:
    # settings of one Sven step
    int microbatch_size
    int k
    double rtol
    double learning_rate
    bint safeguard


cdef struct Batch:
    # per-batch work arrays (batch x width per layer, in the dtype of the parameters)
    void* inputs
    void* slopes
    void* grads
    void* out
    void* cotangent
    void* r
    double* pre     # one layer's pre-activations, then activations (batch x width, float64)
    double* slope   # their slopes
    double* work    # GELU's tanh argument, then the tanh's slope


cdef int _batch_alloc(Batch* b, Network* net, int batch, size_t itemsize) noexcept nogil:
    cdef size_t layer_size = net.n_layers * batch * net.width * itemsize
    cdef size_t out_size = batch * net.sizes[net.n_layers] * itemsize
    b.inputs = malloc(layer_size)
    b.slopes = malloc(layer_size)
    b.grads = malloc(layer_size)
    b.out = malloc(out_size)
    b.cotangent = malloc(out_size)
    b.r = malloc(batch * itemsize)
    b.pre = <double*>malloc(batch * net.width * sizeof(double))
    b.slope = <double*>malloc(batch * net.width * sizeof(double))
    b.work = <double*>malloc(batch * net.width * sizeof(double))
    if (b.inputs == NULL or b.slopes == NULL or b.grads == NULL or b.out == NULL
            or b.cotangent == NULL or b.r == NULL or b.pre == NULL or b.slope == NULL
            or b.work == NULL):
        return 0
    cdef size_t q
    for q in range(layer_size):  # zeroed: unused slots take part in no sum but stay finite
        (<char*>b.inputs)[q] = 0
        (<char*>b.slopes)[q] = 0
        (<char*>b.grads)[q] = 0
    return 1


cdef void _batch_free(Batch* b) noexcept nogil:
    free(b.inputs); free(b.slopes); free(b.grads); free(b.out); free(b.cotangent); free(b.r)
    free(b.pre); free(b.slope); free(b.work)


cdef void _activate(double* z, double* slope, double* work, Py_ssize_t size,
                    int code) noexcept nogil:
    """Activations of the pre-activations ``z`` (in place) and their slopes, entry by entry
    the formulas of ``numsolve.neural._activations`` (GELU: its tanh approximation); tanh and
    the exponential by the vectorised kernels of ``_vector_math.h`` (a libm call per entry
    took a third of an epoch)."""
    cdef Py_ssize_t i
    cdef double x, t
    if code == TANH:
        numsolve_tanh(z, z, slope, size)
    elif code == GELU:
        for i in range(size):
            x = z[i]
            slope[i] = _GELU_C * (x + 0.044715 * x * x * x)
        numsolve_tanh(slope, slope, work, size)  # work: 1 - t^2, the expression used below
        for i in range(size):
            x = z[i]
            t = slope[i]
            slope[i] = (0.5 * (1.0 + t)
                        + 0.5 * x * work[i] * _GELU_C * (1.0 + 0.134145 * x * x))
            z[i] = 0.5 * x * (1.0 + t)
    elif code == LOGISTIC:
        numsolve_exp_neg(z, z, size)
        for i in range(size):
            t = 1.0 / (1.0 + z[i])
            z[i] = t
            slope[i] = t * (1.0 - t)
    elif code == RELU:
        for i in range(size):
            slope[i] = 1.0 if z[i] > 0.0 else 0.0
            z[i] = z[i] if z[i] > 0.0 else 0.0
    else:
        for i in range(size):
            slope[i] = 1.0


cdef void _forward(const floating* theta, const floating* X, const long long* rows, int n_rows,
                   Network* net, int batch, floating* inputs, floating* slopes, floating* out,
                   bint with_slopes, floating* z, Batch* b) noexcept nogil:
    """Every layer's inputs, the output and (``with_slopes``) the activations' slopes; a
    layer's activations are computed together in ``b.pre``, ``b.slope`` (float64)."""
    cdef Py_ssize_t layer, i, j, o, offset = 0, bias
    cdef int n_in, n_out, width = net.width, n0 = net.sizes[0]
    cdef Py_ssize_t stride = batch * width
    cdef floating a
    for i in range(n_rows):
        for j in range(n0):
            inputs[i * width + j] = X[rows[i] * n0 + j]
    for layer in range(net.n_layers):
        n_in = net.sizes[layer]
        n_out = net.sizes[layer + 1]
        bias = offset + n_in * n_out
        for i in range(n_rows):
            for o in range(n_out):
                z[o] = theta[bias + o]
            for j in range(n_in):
                a = inputs[layer * stride + i * width + j]
                for o in range(n_out):
                    z[o] += a * theta[offset + j * n_out + o]
            for o in range(n_out):
                if layer == net.n_layers - 1:
                    out[i * n_out + o] = z[o]
                else:
                    b.pre[i * n_out + o] = <double>z[o]
        offset = bias + n_out
        if layer == net.n_layers - 1:
            break
        _activate(b.pre, b.slope, b.work, n_rows * n_out, net.code)  # the whole layer at once
        for i in range(n_rows):
            for o in range(n_out):
                inputs[(layer + 1) * stride + i * width + o] = <floating>b.pre[i * n_out + o]
                if with_slopes:
                    slopes[layer * stride + i * width + o] = <floating>b.slope[i * n_out + o]


cdef double _residual_rows(const floating* out, const floating* Y, const floating* scale,
                           const long long* rows, int n_rows, int n_out, floating* r,
                           floating* cotangent) noexcept nogil:
    """Rows ``f(x) - y`` (one output) or ``||f(x) - y||`` and the output cotangent, both
    times the row's ``scale`` (square roots of the sample weights; NULL: unweighted);
    returns the cost ``sum r_i^2 / 2``."""
    cdef Py_ssize_t i, o
    cdef double cost = 0.0, norm, safe
    cdef floating diff
    for i in range(n_rows):
        if n_out == 1:
            r[i] = out[i] - Y[rows[i]]
            cotangent[i] = 1.0
        else:
            norm = 0.0
            for o in range(n_out):
                diff = out[i * n_out + o] - Y[rows[i] * n_out + o]
                cotangent[i * n_out + o] = diff
                norm += diff * diff
            norm = sqrt(norm)
            r[i] = <floating>norm
            safe = norm if norm > 0 else 1.0
            for o in range(n_out):
                cotangent[i * n_out + o] = <floating>(cotangent[i * n_out + o] / safe)
        if scale != NULL:
            r[i] = r[i] * scale[rows[i]]
            for o in range(n_out):
                cotangent[i * n_out + o] = cotangent[i * n_out + o] * scale[rows[i]]
        cost += r[i] * r[i]
    return 0.5 * cost


cdef double _batch_cost(const floating* theta, const floating* X, const floating* Y,
                        const floating* scale, const long long* rows, int n_rows, Network* net,
                        int batch, Batch* b, bint with_slopes, floating* z) noexcept nogil:
    """Forward pass and residual rows of ``rows``; returns their cost."""
    _forward(theta, X, rows, n_rows, net, batch, <floating*>b.inputs, <floating*>b.slopes,
             <floating*>b.out, with_slopes, z, b)
    return _residual_rows(<floating*>b.out, Y, scale, rows, n_rows, net.sizes[net.n_layers],
                          <floating*>b.r, <floating*>b.cotangent)


cdef void _backward(const floating* theta, Network* net, int batch, const floating* slopes,
                    floating* grads, int n_rows) noexcept nogil:
    """Cotangents of every layer's pre-activations from the output's (in the last layer)."""
    cdef Py_ssize_t layer, i, j, o, row, stride = batch * net.width
    cdef Py_ssize_t offset = 0
    cdef int n_in, n_out, width = net.width
    cdef double total
    cdef Py_ssize_t* offsets = <Py_ssize_t*>malloc(net.n_layers * sizeof(Py_ssize_t))
    if offsets == NULL:
        return
    for layer in range(net.n_layers):
        offsets[layer] = offset
        offset += (net.sizes[layer] + 1) * net.sizes[layer + 1]
    for layer in range(net.n_layers - 1, 0, -1):
        n_in = net.sizes[layer]
        n_out = net.sizes[layer + 1]
        for i in range(n_rows):
            for j in range(n_in):
                row = offsets[layer] + j * n_out
                total = 0.0
                for o in range(n_out):
                    total += grads[layer * stride + i * width + o] * theta[row + o]
                grads[(layer - 1) * stride + i * width + j] = <floating>(
                    total * slopes[(layer - 1) * stride + i * width + j])
    free(offsets)


cdef inline double _pair(const floating* x, const floating* y, Py_ssize_t size,
                         double start) noexcept nogil:
    """``start + sum_o x[o] y[o]`` in float64, in index order."""
    cdef Py_ssize_t o
    cdef double total = start
    for o in range(size):
        total += <double>x[o] * <double>y[o]
    return total


cdef inline void _pairs4(const floating* x, const floating* y, Py_ssize_t row_stride,
                         Py_ssize_t size, double start, double* totals) noexcept nogil:
    """:func:`_pair` of ``x`` with the four rows ``y``, ``y + row_stride``, ... at once: four
    independent chains of additions in flight instead of one, each in index order."""
    cdef Py_ssize_t o
    cdef double t0 = start, t1 = start, t2 = start, t3 = start, xo
    for o in range(size):
        xo = <double>x[o]
        t0 += xo * <double>y[o]
        t1 += xo * <double>y[row_stride + o]
        t2 += xo * <double>y[2 * row_stride + o]
        t3 += xo * <double>y[3 * row_stride + o]
    totals[0], totals[1], totals[2], totals[3] = t0, t1, t2, t3


cdef void _gram(Network* net, int batch, const floating* inputs, const floating* grads,
                int n_rows, double* G) noexcept nogil:
    """``J J' = sum_l (g_l g_l') o (a_l a_l' + 1)`` in float64 (the per-example trick); the
    entries of a row four at a time (:func:`_pairs4`), each summed as one at a time would."""
    cdef Py_ssize_t layer, i, m, q, stride = batch * net.width
    cdef int n_in, n_out, width = net.width
    cdef double gg[4]
    cdef double aa[4]
    cdef const floating* g_layer
    cdef const floating* a_layer
    for i in range(n_rows * n_rows):
        G[i] = 0.0
    for layer in range(net.n_layers):
        n_in = net.sizes[layer]
        n_out = net.sizes[layer + 1]
        g_layer = grads + layer * stride
        a_layer = inputs + layer * stride
        for i in range(n_rows):
            m = 0
            while m + 4 <= i + 1:
                _pairs4(g_layer + i * width, g_layer + m * width, width, n_out, 0.0, gg)
                _pairs4(a_layer + i * width, a_layer + m * width, width, n_in, 1.0, aa)
                for q in range(4):
                    G[i * n_rows + m + q] += gg[q] * aa[q]
                m += 4
            while m <= i:
                G[i * n_rows + m] += (_pair(g_layer + i * width, g_layer + m * width, n_out, 0.0)
                                      * _pair(a_layer + i * width, a_layer + m * width, n_in,
                                              1.0))
                m += 1
    for i in range(n_rows):
        for m in range(i):
            G[m * n_rows + i] = G[i * n_rows + m]


cdef int _group(const double* G, const floating* r, int n_rows, int size, double* small,
                double* grouped, double* weight) noexcept nogil:
    """Grouped Gram matrix ``C G C'`` and rows ``R_g = ||r_g||`` of consecutive groups of
    ``size`` rows, and the weights ``c_i`` (``C[g, i] = c_i``); returns the group count."""
    cdef int n_groups = (n_rows + size - 1) // size
    cdef Py_ssize_t i, m, g
    cdef double norm
    for g in range(n_groups):
        grouped[g] = 0.0
    for i in range(n_rows):
        grouped[i // size] += <double>r[i] * <double>r[i]
    for g in range(n_groups):
        grouped[g] = sqrt(grouped[g])
    for i in range(n_rows):
        norm = grouped[i // size]
        weight[i] = r[i] / (norm if norm > 0 else 1.0)
    for i in range(n_groups * n_groups):
        small[i] = 0.0
    for i in range(n_rows):
        for m in range(n_rows):
            small[(i // size) * n_groups + m // size] += weight[i] * G[i * n_rows + m] * weight[m]
    return n_groups


cdef int _weights(const double* G, const double* rows, int m, int k, double rtol,
                  double* w) noexcept nogil:
    """``w = U_k L_k^-1 U_k' rows`` with the truncation rule of ``truncation_rank``; returns
    the rank (-1 when memory ran out, 0 for a Gram matrix that is not finite: no step).

    LAPACK gets the matrix in column-major order and reads its lower triangle, as NumPy's
    ``eigh`` does (a grouped Gram matrix can be asymmetric in its last bit).
    """
    cdef char jobz = c'V', uplo = c'L'
    cdef int info = 0, lwork = -1, liwork = -1, iwork_query = 0, rank = 0, index, i, j
    cdef double work_query = 0.0, top, cut, coefficient
    cdef double* eigenvalues
    cdef double* vectors
    cdef double* work
    cdef int* iwork
    for i in range(m):
        w[i] = 0.0
    for i in range(m * m):
        if not isfinite(G[i]):
            return 0
    eigenvalues = <double*>malloc(m * sizeof(double))
    vectors = <double*>malloc(m * m * sizeof(double))
    if eigenvalues == NULL or vectors == NULL:
        free(eigenvalues); free(vectors)
        return -1
    for i in range(m):
        for j in range(m):
            vectors[j * m + i] = G[i * m + j]
    dsyevd(&jobz, &uplo, &m, vectors, &m, eigenvalues, &work_query, &lwork, &iwork_query,
           &liwork, &info)
    lwork = <int>work_query
    liwork = iwork_query
    work = <double*>malloc(lwork * sizeof(double))
    iwork = <int*>malloc(liwork * sizeof(int))
    if work == NULL or iwork == NULL:
        free(eigenvalues); free(vectors); free(work); free(iwork)
        return -1
    dsyevd(&jobz, &uplo, &m, vectors, &m, eigenvalues, work, &lwork, iwork, &liwork, &info)
    free(work)
    free(iwork)
    top = sqrt(max(eigenvalues[m - 1], 0.0))  # ascending
    if info == 0 and top > 0:
        cut = max(rtol, sqrt(max(m, 1) * _EPS64)) * top
        for index in range(m):
            if sqrt(max(eigenvalues[index], 0.0)) > cut:
                rank += 1
        if k > 0:
            rank = min(rank, k)
        for index in range(m - 1, m - 1 - rank, -1):  # eigenvector: column ``index``
            coefficient = 0.0
            for i in range(m):
                coefficient += vectors[index * m + i] * rows[i]
            coefficient /= eigenvalues[index]
            for i in range(m):
                w[i] += vectors[index * m + i] * coefficient
    free(eigenvalues)
    free(vectors)
    return rank


cdef void _direction(Network* net, int batch, const floating* inputs, const floating* grads,
                     const double* w, int n_rows, double* direction, Py_ssize_t n_params,
                     double* w_row) noexcept nogil:
    """``J' w``: per layer ``a_l' (g_l o w)`` and the column sums of ``g_l o w``; ``w_row``
    holds one row of ``g_l o w`` (``width`` entries)."""
    cdef Py_ssize_t layer, i, o, j, offset = 0, bias, stride = batch * net.width
    cdef int n_in, n_out, width = net.width
    cdef double a
    cdef double* weighted = w_row
    for i in range(n_params):
        direction[i] = 0.0
    for layer in range(net.n_layers):
        n_in = net.sizes[layer]
        n_out = net.sizes[layer + 1]
        bias = offset + n_in * n_out
        for i in range(n_rows):  # each entry sums over the rows in order; inner loops contiguous
            for o in range(n_out):
                weighted[o] = grads[layer * stride + i * width + o] * w[i]
                direction[bias + o] += weighted[o]
            for j in range(n_in):
                a = inputs[layer * stride + i * width + j]
                for o in range(n_out):
                    direction[offset + j * n_out + o] += a * weighted[o]
        offset = bias + n_out


cdef int _epoch(floating* theta, Py_ssize_t n_params, const floating* X, const floating* Y,
                const floating* scale, const long long* order, Py_ssize_t n, Network* net, int batch,
                StepRule* rule, double* step_sq_out) noexcept nogil:
    """Sven steps on the batches of ``order``, updating ``theta`` in place; returns the rank
    of the last step (-1 when memory ran out) and the summed squared step norms."""
    cdef Batch b
    cdef bint ready = _batch_alloc(&b, net, batch, sizeof(floating))
    cdef int n_last = net.sizes[net.n_layers], rank = 0, n_rows, n_groups, attempt
    cdef Py_ssize_t start, i, q, stride = batch * net.width
    cdef double before, after, eta, step_sq = 0.0
    cdef floating* grads = <floating*>b.grads
    cdef floating* cotangent = <floating*>b.cotangent
    cdef floating* r = <floating*>b.r
    cdef floating* z = <floating*>malloc(net.width * sizeof(floating))
    cdef floating* candidate = <floating*>malloc(n_params * sizeof(floating))
    cdef double* G = <double*>malloc(batch * batch * sizeof(double))
    cdef double* small = <double*>malloc(batch * batch * sizeof(double))
    cdef double* grouped = <double*>malloc(batch * sizeof(double))
    cdef double* weight = <double*>malloc(batch * sizeof(double))
    cdef double* w_groups = <double*>malloc(batch * sizeof(double))
    cdef double* w = <double*>malloc(batch * sizeof(double))
    cdef double* rows64 = <double*>malloc(batch * sizeof(double))
    cdef double* direction = <double*>malloc(n_params * sizeof(double))
    cdef double* w_row = <double*>malloc(net.width * sizeof(double))
    if (not ready or z == NULL or candidate == NULL or G == NULL or small == NULL
            or grouped == NULL or weight == NULL or w_groups == NULL or w == NULL
            or rows64 == NULL or direction == NULL or w_row == NULL):
        rank = -1
    else:
        start = 0
        while start < n:
            n_rows = <int>min(<Py_ssize_t>batch, n - start)
            before = _batch_cost(theta, X, Y, scale, order + start, n_rows, net, batch, &b,
                                 True, z)
            for i in range(n_rows):
                for q in range(n_last):
                    grads[(net.n_layers - 1) * stride + i * net.width + q] = (
                        cotangent[i * n_last + q])
            _backward(theta, net, batch, <floating*>b.slopes, grads, n_rows)
            _gram(net, batch, <floating*>b.inputs, grads, n_rows, G)
            if rule.microbatch_size > 1:
                n_groups = _group(G, r, n_rows, rule.microbatch_size, small, grouped, weight)
                rank = _weights(small, grouped, n_groups, rule.k, rule.rtol, w_groups)
                for i in range(n_rows):
                    w[i] = weight[i] * w_groups[i // rule.microbatch_size]
            else:
                for i in range(n_rows):
                    rows64[i] = r[i]
                rank = _weights(G, rows64, n_rows, rule.k, rule.rtol, w)
            if rank < 0:
                break
            _direction(net, batch, <floating*>b.inputs, grads, w, n_rows, direction, n_params,
                       w_row)
            eta = rule.learning_rate
            for attempt in range(MAX_HALVINGS if rule.safeguard else 1):
                for q in range(n_params):
                    candidate[q] = <floating>(theta[q] - eta * direction[q])
                if rule.safeguard:
                    after = _batch_cost(candidate, X, Y, scale, order + start, n_rows, net,
                                        batch, &b, False, z)
                    if not after <= before:
                        eta *= 0.5
                        continue
                memcpy(theta, candidate, n_params * sizeof(floating))
                for q in range(n_params):
                    step_sq += (eta * direction[q]) * (eta * direction[q])
                break
            start += batch
    _batch_free(&b)
    free(z); free(candidate); free(G); free(small); free(grouped); free(weight); free(w_groups)
    free(w); free(rows64); free(direction); free(w_row)
    step_sq_out[0] = step_sq
    return rank


cdef int _all_rows(const floating* theta, const floating* X, const floating* Y,
                   const floating* scale, Py_ssize_t n, Network* net, int chunk,
                   floating* r_all) noexcept nogil:
    """Residual rows of every sample, ``chunk`` samples per forward pass; 0 on no memory."""
    cdef Batch b
    cdef bint ready = _batch_alloc(&b, net, chunk, sizeof(floating))
    cdef floating* z = <floating*>malloc(net.width * sizeof(floating))
    cdef long long* rows = <long long*>malloc(chunk * sizeof(long long))
    cdef Py_ssize_t start, i
    cdef int n_rows
    if ready and z != NULL and rows != NULL:
        start = 0
        while start < n:
            n_rows = <int>min(<Py_ssize_t>chunk, n - start)
            for i in range(n_rows):
                rows[i] = start + i
            _batch_cost(theta, X, Y, scale, rows, n_rows, net, chunk, &b, False, z)
            memcpy(r_all + start, b.r, n_rows * sizeof(floating))
            start += chunk
    _batch_free(&b)
    free(z)
    free(rows)
    return ready and z != NULL and rows != NULL


# ---------------------------------------------------------------------------------------------
# Python entry points (arrays C-contiguous, of one dtype; shapes checked by the caller)


def run_epoch(floating[::1] theta, const floating[:, ::1] X, const floating[:, ::1] Y,
              const long long[::1] order, const long long[::1] sizes, int code, int batch,
              int microbatch_size, int k, double rtol, double learning_rate, bint safeguard,
              const floating[::1] scale=None):
    """Sven steps on the batches of ``order`` (``k = 0``: no rank cap), ``theta`` in place;
    ``scale``: square roots of the sample weights (``None``: unweighted).

    Returns the summed squared step norms and the rank of the last step.
    """
    cdef Network net
    cdef StepRule rule
    cdef Py_ssize_t q
    net.sizes = &sizes[0]
    net.n_layers = sizes.shape[0] - 1
    net.width = max(sizes)
    net.code = code
    rule.microbatch_size, rule.k, rule.rtol = microbatch_size, k, rtol
    rule.learning_rate, rule.safeguard = learning_rate, safeguard
    cdef double step_sq = 0.0
    cdef int rank
    cdef const floating* scale_of = NULL if scale is None else &scale[0]
    with nogil:
        rank = _epoch(&theta[0], theta.shape[0], &X[0, 0], &Y[0, 0], scale_of, &order[0],
                      order.shape[0], &net, batch, &rule, &step_sq)
    if rank < 0:
        raise MemoryError("Sven: out of memory for the epoch's work arrays")
    return step_sq, rank


def all_rows(const floating[::1] theta, const floating[:, ::1] X, const floating[:, ::1] Y,
             const long long[::1] sizes, int code, int chunk, floating[::1] out,
             const floating[::1] scale=None):
    """Residual rows of every sample into ``out``, ``chunk`` samples per forward pass, times
    ``scale`` (square roots of the sample weights; ``None``: unweighted)."""
    cdef Network net
    cdef const floating* scale_of = NULL if scale is None else &scale[0]
    net.sizes = &sizes[0]
    net.n_layers = sizes.shape[0] - 1
    net.width = max(sizes)
    net.code = code
    cdef int ok
    with nogil:
        ok = _all_rows(&theta[0], &X[0, 0], &Y[0, 0], scale_of, X.shape[0], &net, chunk,
                       &out[0])
    if not ok:
        raise MemoryError("Sven: out of memory for the forward pass")


def activate(const double[::1] z, int code):
    """Activations and slopes of the pre-activations ``z`` as the epochs compute them.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._epochs import activate
    >>> values, slopes = activate(np.array([-1.0, 0.0, 2.0]), 1)  # tanh
    >>> bool(np.allclose(values, np.tanh([-1.0, 0.0, 2.0]), rtol=1e-15))
    True
    """
    values = np.array(z, dtype=np.float64)
    slopes = np.empty_like(values)
    work = np.empty_like(values)
    cdef double[::1] v = values, s = slopes, w = work
    if v.shape[0] > 0:
        with nogil:
            _activate(&v[0], &s[0], &w[0], v.shape[0], code)
    return values, slopes
