"""Planted low-rank completion problems for tests, demos and benchmarks."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._validation import check_random_state

__all__ = ["CompletionProblem", "make_low_rank", "split_entries", "split_observed"]


@dataclass(repr=False)
class CompletionProblem:
    """A planted problem: factors of the true matrix, observed and held-out entries.

    Attributes
    ----------
    U, V : ndarray of shape (m, rank) and (n, rank)
        Planted factors; the true matrix is ``U @ V.T``.
    observed : scipy.sparse.csr_matrix of shape (m, n)
        Training entries (noisy when ``noise > 0``).
    heldout : scipy.sparse.csr_matrix of shape (m, n)
        Held-out entries, disjoint from ``observed``, with the same noise (may be empty).
    noise : float
        Standard deviation of the additive Gaussian noise.
    """

    U: np.ndarray
    V: np.ndarray
    observed: sp.csr_matrix
    heldout: sp.csr_matrix
    noise: float

    @property
    def matrix(self):
        """The true matrix ``U @ V.T`` as a dense array (small problems only)."""
        return self.U @ self.V.T

    def observed_dense(self):
        """The training entries as a dense array with NaN for missing entries."""
        dense = np.full(self.observed.shape, np.nan, dtype=self.observed.dtype)
        coo = self.observed.tocoo()
        dense[coo.row, coo.col] = coo.data
        return dense

    def __repr__(self):
        m, n = self.observed.shape
        return (f"CompletionProblem({m} x {n}, rank {self.U.shape[1]}, "
                f"{self.observed.nnz} observed, {self.heldout.nnz} held out, noise {self.noise})")


def make_low_rank(m, n, rank, *, density=0.1, sampling="uniform", exponent=1.0, noise=0.0,
                  test_fraction=0.0, dtype=np.float64, random_state=None):
    """Generate a planted rank-``rank`` matrix and a sample of its entries.

    The factors have i.i.d. Gaussian entries (incoherent with high probability), scaled so that
    the entries of ``U V^T`` have unit variance. About ``density * m * n`` distinct entries are
    sampled without ever forming the ``m x n`` matrix; a fraction ``test_fraction`` of them is
    held out.

    Parameters
    ----------
    m, n, rank : int
        Shape and planted rank.
    density : float, default=0.1
        Fraction of entries sampled (training plus held out).
    sampling : {"uniform", "power_law"}, default="uniform"
        ``"power_law"`` samples entry ``(i, j)`` with probability proportional to
        ``a_i b_j`` where the row and column popularities follow Zipf laws
        ``a_i ~ rank_i^-exponent`` in a random order: the long-tailed pattern of ratings.
    exponent : float, default=1.0
        Zipf exponent of ``"power_law"`` sampling.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the sampled entries.
    test_fraction : float, default=0.0
        Fraction of the sampled entries put in ``heldout``.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
    random_state : int, RandomState instance or None

    Returns
    -------
    CompletionProblem

    Examples
    --------
    >>> from numsolve.completion import make_low_rank
    >>> problem = make_low_rank(100, 80, 3, density=0.2, test_fraction=0.1, random_state=0)
    >>> problem.observed.shape, problem.observed.nnz + problem.heldout.nnz
    ((100, 80), 1600)
    """
    rng = check_random_state(random_state)
    if sampling not in ("uniform", "power_law"):
        raise ValueError(f"sampling must be 'uniform' or 'power_law', got {sampling!r}")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    U = rng.standard_normal((m, rank))
    V = rng.standard_normal((n, rank)) / np.sqrt(rank)
    rows, cols = _sample_entries(m, n, density, sampling, exponent, rng)
    values = np.einsum("ij,ij->i", U[rows], V[cols])
    if noise > 0.0:
        values = values + noise * rng.standard_normal(values.shape[0])
    test = rng.random_sample(values.shape[0]) < test_fraction

    def matrix(keep):
        out = sp.csr_matrix((values[keep].astype(dtype), (rows[keep], cols[keep])), shape=(m, n))
        out.sort_indices()
        return out

    return CompletionProblem(U=U.astype(dtype), V=V.astype(dtype), observed=matrix(~test),
                             heldout=matrix(test), noise=float(noise))


def _sample_entries(m, n, density, sampling, exponent, rng):
    target = int(round(density * m * n))
    if density > 0.3:
        flat = rng.choice(m * n, size=target, replace=False)
        return flat // n, flat % n
    if sampling == "uniform":
        row_p, col_p = None, None
    else:
        row_p = _zipf_weights(m, exponent, rng)
        col_p = _zipf_weights(n, exponent, rng)
    found = np.empty(0, dtype=np.int64)
    while found.shape[0] < target:
        draw = int(1.2 * (target - found.shape[0])) + 16
        r = rng.choice(m, size=draw, p=row_p)
        c = rng.choice(n, size=draw, p=col_p)
        candidates = np.concatenate([found, r.astype(np.int64) * n + c])
        _, first = np.unique(candidates, return_index=True)
        found = candidates[np.sort(first)]
    flat = found[:target]
    return flat // n, flat % n


def _zipf_weights(size, exponent, rng):
    weights = np.arange(1, size + 1, dtype=np.float64) ** -exponent
    weights = weights[rng.permutation(size)]
    return weights / weights.sum()


def split_entries(X, test_size=0.2, random_state=None):
    """Split the stored entries of sparse ``X`` at random into training and test matrices.

    Parameters
    ----------
    X : sparse matrix of shape (m, n)
    test_size : float, default=0.2
        Fraction of entries in the test matrix.
    random_state : int, RandomState instance or None

    Returns
    -------
    train, test : scipy.sparse.csr_matrix
        Same shape as ``X``, disjoint entries whose union is ``X``'s entries.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.completion import split_entries
    >>> train, test = split_entries(sp.random(50, 40, density=0.5, random_state=0),
    ...                             random_state=0)
    >>> train.nnz + test.nnz
    1000
    """
    rng = check_random_state(random_state)
    coo = sp.coo_matrix(X)
    return split_observed(coo, rng.random_sample(coo.nnz) < test_size)


def split_observed(X, held):
    """Split sparse ``X`` into ``(kept, held_out)`` CSR matrices of its shape by the boolean
    mask ``held`` over its stored entries (in COO order)."""
    coo = sp.coo_matrix(X)
    kept, held_out = (sp.csr_matrix((coo.data[pick], (coo.row[pick], coo.col[pick])),
                                    shape=X.shape, dtype=X.dtype) for pick in (~held, held))
    return kept, held_out
