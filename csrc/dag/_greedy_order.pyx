# cython: language_level=3
"""The greedy order of the equal-variance least-squares score (a start for the l2 swap search)."""

import numpy as np


def least_variance_order(G):
    """The order that puts next, each time, the variable of least residual variance given the
    ones already placed: symmetric elimination of the Gram matrix ``G`` pivoting on the
    smallest remaining diagonal entry, ``O(d^3 / 3)``; ties go to the lower index.

    Each step adds the least it can to the least-squares score of the order (the sum of the
    residual variances), and for a linear SEM with equal noise variances a source of what is
    left always has the least (population) residual variance: the order is then a topological
    order of the true graph (Chen, Drton and Wang, Biometrika 2019).
    """
    S = np.array(G, dtype=np.float64, order="C")
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"G must be a square matrix, got shape {S.shape}")
    cdef Py_ssize_t d = S.shape[0], k, i, j, pick
    order = np.arange(d, dtype=np.int64)
    cdef double[:, ::1] cur = S
    cdef long long[::1] out = order
    cdef double piv, f, best, t
    cdef long long label
    with nogil:
        for k in range(d):
            pick = k
            for i in range(k + 1, d):
                if cur[i, i] < cur[pick, pick] or (cur[i, i] == cur[pick, pick] and out[i] < out[pick]):
                    pick = i
            # bring the pick to position k (rows and columns), the rest keeps its block
            if pick != k:
                label = out[k]
                out[k] = out[pick]
                out[pick] = label
                for j in range(d):
                    t = cur[k, j]
                    cur[k, j] = cur[pick, j]
                    cur[pick, j] = t
                for i in range(d):
                    t = cur[i, k]
                    cur[i, k] = cur[i, pick]
                    cur[i, pick] = t
            piv = cur[k, k]
            if piv <= 0.0:
                # determined by the placed ones: nothing of it left to take out of the others
                continue
            for i in range(k + 1, d):
                f = cur[i, k] / piv
                for j in range(k + 1, d):
                    cur[i, j] -= f * cur[k, j]
    return order
