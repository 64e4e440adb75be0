"""Markov equivalence classes: the CPDAG of a DAG and the structural Hamming distance between them.

A CPDAG keeps the DAG's skeleton; an edge is directed when every DAG of the class orients it
the same way (it is part of a v-structure ``a -> c <- b`` with ``a, b`` non-adjacent, or
Meek's rules force it), undirected otherwise.
"""

import numpy as np

from numsolve._validation import check_matrix, check_square
from numsolve.dag._metrics import is_dag

__all__ = ["dag_to_cpdag", "shd_cpdag"]


def _square_support(B, name):
    B = check_square(check_matrix(np.asarray(B, dtype=float), name), name)
    return B != 0


def _v_structures(A):
    """Directed edges of ``A`` (a DAG's support) that enter a collider with non-adjacent parents."""
    adjacent = A | A.T
    compelled = np.zeros_like(A)
    for c in range(A.shape[0]):
        parents = np.flatnonzero(A[:, c])
        for i, a in enumerate(parents):
            for b in parents[i + 1:]:
                if not adjacent[a, b]:
                    compelled[a, c] = compelled[b, c] = True
    return compelled


def _meek(directed, undirected):
    """Orient undirected edges by Meek's rules 1-3 until none applies (both arrays updated)."""
    adjacent = directed | directed.T | undirected
    changed = True
    while changed:
        changed = False
        for a, b in zip(*np.nonzero(np.triu(undirected))):
            for x, y in ((a, b), (b, a)):
                into_x = np.flatnonzero(directed[:, x])
                # rule 1: z -> x - y with z, y non-adjacent
                rule1 = np.any(~adjacent[into_x, y])
                # rule 2: x -> z -> y
                rule2 = np.any(directed[x] & directed[:, y])
                # rule 3: x - z1 -> y, x - z2 -> y, z1 and z2 non-adjacent
                middle = np.flatnonzero(undirected[x] & directed[:, y])
                rule3 = any(not adjacent[z1, z2] for i, z1 in enumerate(middle) for z2 in middle[i + 1:])
                if rule1 or rule2 or rule3:
                    directed[x, y] = True
                    undirected[x, y] = undirected[y, x] = False
                    changed = True
                    break


def dag_to_cpdag(B):
    """The CPDAG (completed partially directed graph) of the Markov equivalence class of ``B``.

    Parameters
    ----------
    B : array of shape (d, d)
        A DAG, ``B[i, j] != 0`` for the edge ``i -> j``.

    Returns
    -------
    ndarray of shape (d, d), int
        ``1`` at ``[i, j]`` only for a directed edge ``i -> j``; ``1`` at both ``[i, j]`` and
        ``[j, i]`` for an undirected edge (its direction differs between equivalent DAGs).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import dag_to_cpdag
    >>> chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    >>> dag_to_cpdag(chain).tolist()  # a chain's directions cannot be told apart
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    >>> collider = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])
    >>> dag_to_cpdag(collider).tolist()  # a v-structure is directed in every equivalent DAG
    [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    """
    A = _square_support(B, "B")
    np.fill_diagonal(A, False)
    if not is_dag(A):
        raise ValueError("B must be a DAG (its support has a directed cycle)")
    directed = _v_structures(A)
    undirected = (A | A.T) & ~(directed | directed.T)
    _meek(directed, undirected)
    return (directed | undirected).astype(int)


def shd_cpdag(B_true, B_est):
    """Structural Hamming distance between the CPDAGs of two DAGs.

    Each node pair counts once when it is adjacent in one CPDAG only or its marks differ
    (directed one way, the other way, or undirected), as causal-learn's ``SHD`` and cdt's
    ``SHD(double_for_anticausal=False)`` count on CPDAGs. Two Markov equivalent DAGs are at
    distance 0.

    Parameters
    ----------
    B_true, B_est : arrays of shape (d, d)
        DAGs, ``B[i, j] != 0`` for ``i -> j``.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import shd_cpdag
    >>> shd_cpdag(np.array([[0, 1], [0, 0]]), np.array([[0, 0], [1, 0]]))
    0
    """
    P = dag_to_cpdag(B_true).astype(bool)
    Q = dag_to_cpdag(B_est).astype(bool)
    if P.shape != Q.shape:
        raise ValueError(f"B_true and B_est must have the same shape, got {P.shape} and {Q.shape}")
    differs = (P != Q) | (P.T != Q.T)
    return int(np.triu(differs, 1).sum())
