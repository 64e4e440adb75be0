"""Multi-colour SOR in array code: the path for CuPy, torch, array_api_strict and other namespaces.

Rows are permuted so that each colour is a contiguous block; one sweep updates the blocks in
turn. With ``r = b - A x_k`` computed at the start of a sweep and ``d`` the changes made so
far, block ``c`` needs ``r_c - A_c d``, so a sweep costs two matrix products and never writes to
``A``. Works on dense arrays of any namespace and on ``cupyx.scipy.sparse`` matrices.
"""

import math

__all__ = ["multicolor_loop"]


def multicolor_loop(xp, A, blocks, diag, b, x, omega, symmetric, tol_abs, maxiter):
    """Run multi-colour SOR on the permuted system; return ``(x, n_iter, residuals)``.

    Parameters
    ----------
    xp : namespace
        Namespace of the vectors.
    A : matrix
        The permuted matrix (dense array or device sparse matrix) supporting ``A @ v``.
    blocks : list of (int, int, matrix)
        ``(lo, hi, A[lo:hi, :])`` for each colour.
    diag, b, x : arrays
        Permuted diagonal, right-hand side and initial guess.
    omega : float
    symmetric : bool
        Colours forward then backward in each sweep.
    tol_abs : float
        Stop when ``||b - A x_k|| <= tol_abs``.
    maxiter : int

    Returns
    -------
    x : array
    n_iter : int
    residuals : list of float
        ``||b - A x_k||`` for ``k = 0 .. n_iter``.
    """
    order = list(blocks) + (list(reversed(blocks)) if symmetric else [])
    residuals = []
    for k in range(maxiter + 1):
        r = b - A @ x
        rnorm = float(xp.linalg.vector_norm(r))
        residuals.append(rnorm)
        if rnorm <= tol_abs or k == maxiter or not math.isfinite(rnorm):
            return x, k, residuals
        d = xp.zeros_like(x)
        for lo, hi, rows in order:
            s = r[lo:hi] - rows @ d
            d[lo:hi] = d[lo:hi] + omega * s / diag[lo:hi]
        x = x + d
    return x, maxiter, residuals
