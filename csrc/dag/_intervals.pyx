# cython: language_level=3
"""The heaviest set of disjoint position windows (weighted interval scheduling)."""

import numpy as np


def heaviest_disjoint(first, last, gain):
    """Indices of windows ``first[k] .. last[k]`` (inclusive) that overlap nowhere and whose
    ``gain`` sums to the most, ordered by position.

    Dynamic programming over the windows sorted by their last position, ``O(K log K)``; of two
    choices with the same total the one without the later-ending window wins, so the result
    depends only on the windows, not on the order they are given in.
    """
    first = np.asarray(first, dtype=np.intp)
    last = np.asarray(last, dtype=np.intp)
    gain = np.asarray(gain, dtype=np.float64)
    if not first.shape == last.shape == gain.shape or first.ndim != 1:
        raise ValueError("first, last and gain must be 1-d arrays of one length")
    if np.any(first > last):
        raise ValueError("every window needs first <= last")
    by_end = np.lexsort((first, last))
    cdef const Py_ssize_t[::1] lo = np.ascontiguousarray(first[by_end])
    cdef const Py_ssize_t[::1] hi = np.ascontiguousarray(last[by_end])
    cdef const double[::1] w = np.ascontiguousarray(gain[by_end])
    # before[k]: how many windows (by end) finish before window k starts
    cdef const Py_ssize_t[::1] before = np.searchsorted(last[by_end], first[by_end], side="left")
    cdef Py_ssize_t n = lo.shape[0], k
    best = np.zeros(n + 1)
    taken = np.zeros(n, dtype=np.uint8)
    cdef double[::1] best_view = best
    cdef unsigned char[::1] taken_view = taken
    with nogil:
        for k in range(n):
            if w[k] + best_view[before[k]] > best_view[k]:
                best_view[k + 1] = w[k] + best_view[before[k]]
                taken_view[k] = 1
            else:
                best_view[k + 1] = best_view[k]
    chosen = []
    k = n
    while k > 0:
        if taken_view[k - 1]:
            chosen.append(by_end[k - 1])
            k = before[k - 1]
        else:
            k -= 1
    return np.asarray(chosen[::-1], dtype=np.intp)
