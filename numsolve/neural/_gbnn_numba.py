"""Numba kernels of the GBNN base learner: activations and hidden layer of a J-unit network.

The parameters of ``activate(X W + c) V + d`` live in one flat vector ``theta`` in the order
``W`` (row-major, n_features x n_units), ``c``, ``V`` (row-major, n_units x n_outputs), ``d``.
Activations are coded as integers (:data:`ACTIVATION_CODES`) so one compiled signature serves
all of them. The matrix products go to BLAS; the logistic and tanh units use a vectorisable
exponential (:func:`exp_neg`), since the scalar ``exp`` dominated the cost of an evaluation.
The stage objective and its gradient are in :mod:`numsolve.neural._gbnn_varpro`.

The GBNN kernels are compiled with ``error_model="numpy"`` (divisions vectorise) and without
``fastmath``: with it, LLVM may fuse or reorder operations differently in a fresh compilation
and in a cached one, and the boosting loop amplifies that round-off, so the same
``random_state`` gave different models from one Numba cache to another.
"""

import numpy as np
from numba import njit

__all__ = ["ACTIVATION_CODES", "exp_neg", "activate_into", "offsets", "hidden_into",
           "work_arrays"]

ACTIVATION_CODES = {"logistic": 0, "tanh": 1, "relu": 2, "identity": 3}

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.9082149292705877e-10


@njit(cache=True, nogil=True, error_model="numpy")
def exp_neg(z, out, bits):
    """``out = exp(-z)`` elementwise (relative error ~1e-16, arguments clipped to +-700).

    Range reduction ``exp(x) = 2^k exp(r)``, ``|r| <= ln(2)/2``, a degree-12 Taylor
    polynomial for ``exp(r)`` and ``2^k`` assembled from its exponent bits in ``bits`` (an
    int64 work array as long as ``z``). Both loops vectorise, unlike calls to ``np.exp``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([-1.0, 0.0, 2.5]); out = np.empty(3)
    >>> exp_neg(z, out, np.empty(3, dtype=np.int64))
    >>> bool(np.allclose(out, np.exp(-z), rtol=1e-15))
    True
    """
    scale = bits.view(np.float64)
    for i in range(z.shape[0]):
        x = min(max(-z[i], -700.0), 700.0)
        k = np.floor(x * _LOG2E + 0.5)
        r = (x - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        out[i] = p * r + 1.0
        bits[i] = (np.int64(k) + 1023) << 52
    for i in range(z.shape[0]):
        out[i] *= scale[i]


@njit(cache=True, nogil=True, error_model="numpy")
def activate_into(Z, code, H, D, bits):
    """Hidden units ``H = activate(Z)`` and derivatives ``D``; ``Z`` is overwritten.

    ``Z``, ``H``, ``D`` are C-contiguous arrays of one shape; ``bits`` an int64 work array of
    ``Z.size`` entries.
    """
    z = Z.ravel()
    h = H.ravel()
    dh = D.ravel()
    if code == 0:
        exp_neg(z, h, bits)
        for i in range(z.shape[0]):  # branch-free loops vectorise
            s = 1.0 / (1.0 + h[i])
            h[i] = s
            dh[i] = s - s * s
    elif code == 1:  # tanh(z) = 2 / (1 + exp(-2 z)) - 1
        z *= 2.0
        exp_neg(z, h, bits)
        for i in range(z.shape[0]):
            s = 2.0 / (1.0 + h[i]) - 1.0
            h[i] = s
            dh[i] = 1.0 - s * s
    elif code == 2:
        for i in range(z.shape[0]):
            h[i] = z[i] if z[i] > 0.0 else 0.0
            dh[i] = 1.0 if z[i] > 0.0 else 0.0
    else:
        h[:] = z
        dh[:] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def offsets(n_features, n_units, n_outputs):
    """Start of ``c``, ``V`` and ``d`` in the flat parameter vector ``theta``."""
    oc = n_features * n_units
    return oc, oc + n_units, oc + n_units + n_units * n_outputs


@njit(cache=True, nogil=True, error_model="numpy")
def work_arrays(X, n_units, n_outputs):
    """Work arrays of :func:`hidden_into` for ``X``.

    Float64 ``Z, H, D`` (rows x units), int64 ``bits`` for :func:`exp_neg`, the weights
    ``W`` (in the dtype of ``X``) and ``V``, and ``Zx`` (``X W`` in the dtype of ``X``).
    """
    n, p = X.shape
    return (np.empty((n, n_units)), np.empty((n, n_units)), np.empty((n, n_units)),
            np.empty(n * n_units, dtype=np.int64), np.empty((p, n_units), X.dtype),
            np.empty((n_units, n_outputs)), np.empty((n, n_units), X.dtype))


@njit(cache=True, nogil=True, error_model="numpy")
def hidden_into(X, theta, n_units, n_outputs, code, work):
    """Hidden units of ``theta`` on ``X`` into the work arrays of :func:`work_arrays`.

    Fills ``H`` and the derivatives ``D`` and copies ``W`` and ``V`` into the work arrays.
    """
    Z, H, D, bits, W, V, Zx = work
    n, p = X.shape
    J = n_units
    oc = p * J
    w = W.ravel()
    for q in range(oc):
        w[q] = theta[q]
    v = V.ravel()
    for q in range(J * n_outputs):
        v[q] = theta[oc + J + q]
    np.dot(X, W, Zx)
    for i in range(n):
        for j in range(J):
            Z[i, j] = Zx[i, j] + theta[oc + j]
    activate_into(Z, code, H, D, bits)
