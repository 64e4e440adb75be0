"""Multi-colour orderings for parallel SOR: rows of one colour share no matrix entry.

Colours are independent sets built one at a time (Luby-style rounds of local maxima of a fixed
hash priority), in array code, so the compiled path (SciPy CSR) and the array-namespace path
(dense arrays on any device) produce the same colouring and hence the same iterates.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["color_rows", "color_rows_dense", "colour_blocks"]

_MODULUS = 2147483647
_MULTIPLIER = 48271


def _priorities(xp, n, device=None):
    index = xp.arange(n, dtype=xp.int64, device=device)
    return (index * _MULTIPLIER + 11) % _MODULUS


def _independent_sets(xp, neighbour_max, neighbour_any, n, device=None):
    """Colour vector from the two neighbourhood reductions (shared by sparse and dense)."""
    priority = _priorities(xp, n, device)
    colour = xp.full(n, -1, dtype=xp.int64, device=device)
    current = 0
    while bool(xp.any(colour < 0)):
        picked = xp.zeros(n, dtype=xp.bool, device=device)
        candidate = colour < 0
        while bool(xp.any(candidate)):
            masked = xp.where(candidate, priority, xp.full_like(priority, -1))
            local_max = candidate & (priority > neighbour_max(masked))
            picked = picked | local_max
            candidate = candidate & ~local_max & ~neighbour_any(picked)
        colour = xp.where(picked, xp.full_like(colour, current), colour)
        current += 1
    return colour


def color_rows(A):
    """Colour the rows of a SciPy sparse square matrix (pattern of ``A + A.T``, no diagonal).

    Parameters
    ----------
    A : sparse matrix of shape (n, n)

    Returns
    -------
    colour : ndarray of int64, shape (n,)
        Colour of each row, 0, 1, ...; rows of one colour are never neighbours.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linalg._coloring import color_rows
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(5, 5))
    >>> c = color_rows(A)
    >>> bool(all(c[i] != c[i + 1] for i in range(4)))
    True
    """
    pattern = sp.csr_matrix(abs(sp.csr_matrix(A)))
    pattern = pattern + pattern.T
    pattern = sp.csr_matrix(sp.tril(pattern, -1) + sp.triu(pattern, 1))
    pattern.eliminate_zeros()
    n = pattern.shape[0]
    rows = np.repeat(np.arange(n), np.diff(pattern.indptr))
    cols = pattern.indices

    def neighbour_max(values):
        out = np.full(n, -1, dtype=np.int64)
        np.maximum.at(out, rows, values[cols])
        return out

    def neighbour_any(flags):
        out = np.zeros(n, dtype=bool)
        out[rows[flags[cols]]] = True
        return out

    return _independent_sets(np, neighbour_max, neighbour_any, n)


def color_rows_dense(xp, A):
    """:func:`color_rows` for a dense matrix in namespace ``xp``, computed on its device."""
    from array_api_compat import device as device_of

    n = A.shape[0]
    device = device_of(A)
    eye = xp.eye(n, dtype=xp.bool, device=device)
    adjacent = ((A != 0) | (A.T != 0)) & ~eye

    def neighbour_max(values):
        spread = xp.where(adjacent, values[None, :], xp.full_like(values, -1)[None, :])
        return xp.max(spread, axis=1)

    def neighbour_any(flags):
        return xp.any(adjacent & flags[None, :], axis=1)

    return _independent_sets(xp, neighbour_max, neighbour_any, n, device)


def colour_blocks(colour):
    """Permutation grouping rows by colour (NumPy) and the block boundaries.

    Returns
    -------
    order : ndarray of int64
        Rows sorted by colour (stable).
    bounds : ndarray of int64, shape (n_colours + 1,)
        ``order[bounds[c]:bounds[c + 1]]`` are the rows of colour ``c``.
    """
    colour = np.asarray(colour)
    order = np.argsort(colour, kind="stable")
    bounds = np.searchsorted(colour[order], np.arange(colour.max() + 2))
    return order, bounds
