"""Log-det path weights of an order's fit, kept up to date across a swap of two positions.

For the coefficients ``B`` of an order (strictly upper triangular in the order's positions)
the path weights are ``P = (I - B o B)^{-1}``: ``P[i, j]`` sums, over the directed paths from
position ``i`` to ``j``, the products of their squared coefficients; its entries above the
diagonal are the log-det acyclicity gradient (with respect to ``W o W``) of the edges that
would point back along them.
"""

import numpy as np
from scipy.linalg.lapack import dtrtri


def order_paths(B):
    """``(I - B o B)^{-1}`` of strictly upper triangular coefficients ``B``: one unit-triangular
    inverse, which LAPACK computes from the column-major view of the transposed square (lower
    triangle, strict part only) without a copy."""
    paths_t, _ = dtrtri(-(B * B).T, lower=1, unitdiag=1, overwrite_c=1)
    # LAPACK leaves the implicit unit diagonal as it found it (zero)
    np.fill_diagonal(paths_t, 1.0)
    return paths_t.T


def swap_paths(P, old, new, a, b):
    """Update ``P`` (of :func:`order_paths`) in place after positions ``a < b`` swapped.

    ``old`` and ``new`` are the squared coefficients of the window's regressions before and
    after the swap (``B[:b + 1, a:b + 1] ** 2``, in the order's coordinates before and after).
    Only the window's columns of ``I - B o B`` change once the two positions trade places,
    so the block-triangular inverse keeps its prefix and suffix blocks; the window's block is
    inverted afresh (``m x m``, ``m = b - a + 1``) and the blocks it links are corrected from
    the old window: ``O(m (a^2 + a (d - b) + m d))`` instead of ``O(d^3)``.
    """
    w = slice(a, b + 1)
    m = b - a + 1
    # the order with the two positions exchanged: the inverse of the permuted matrix
    P[[a, b]] = P[[b, a]]
    P[:, [a, b]] = P[:, [b, a]]
    perm = np.arange(m)
    perm[[0, -1]] = perm[[-1, 0]]
    old = old[:, perm]
    old[[a, b]] = old[[b, a]]
    # its window block, whose inverse is the permuted P's window block
    window_old = np.eye(m) - old[w]
    window_new, info = dtrtri(np.eye(m) - new[w], lower=0, unitdiag=1)
    if info:
        raise np.linalg.LinAlgError(f"dtrtri failed with info={info}")
    # the prefix's paths into the window, through its old and its new coefficients
    into_old = P[:a, w] @ window_old
    into_new = P[:a, :a] @ new[:a]
    out_old = P[w, b + 1:].copy()
    out_new = window_new @ (window_old @ out_old)
    # both corrections in one product: one pass over the prefix-to-suffix block
    P[:a, b + 1:] += np.hstack([into_new, -into_old]) @ np.vstack([out_new, out_old])
    P[:a, w] = into_new @ window_new
    P[w, w] = window_new
    P[w, b + 1:] = out_new
