# cython: language_level=3
"""The random draws of the GBNN stages from a ``RandomState``'s own bit generator.

Per stage, ``rng.permutation(n_samples)`` (whose first ``n_sub`` entries are the stage's row
subsample) and ``rng.random_sample(size)`` (its initial parameters), made with the very
algorithms of NumPy's legacy ``RandomState`` (a Fisher-Yates shuffle of ``arange`` drawing
each index by masked rejection, and 53-bit doubles from two 32-bit words), whose streams
NumPy keeps fixed across releases: the same numbers as the Python calls, without a call per
stage.
"""

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport uint64_t
from numpy.random cimport bitgen_t

import numpy as np


cdef inline uint64_t _interval(bitgen_t* bitgen, uint64_t top) noexcept nogil:
    """A uniform integer in ``[0, top]`` (``top < 2**32``): the low bits of 32-bit words
    under the smallest mask covering ``top``, redrawn while above it."""
    cdef uint64_t mask = top, value
    if top == 0:
        return 0
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    value = bitgen.next_uint32(bitgen.state) & mask
    while value > top:
        value = bitgen.next_uint32(bitgen.state) & mask
    return value


def draw_stage_streams(rng, Py_ssize_t n_samples, long long[:, ::1] rows,
                       double[:, ::1] uniform):
    """Stage after stage, ``rows[t] = rng.permutation(n_samples)[:rows.shape[1]]`` (no
    permutation drawn when ``n_samples`` is 0), then ``uniform[t] =
    rng.random_sample(uniform.shape[1])``; ``rng`` a ``RandomState``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._draws import draw_stage_streams
    >>> rows, uniform = np.empty((2, 3), dtype=np.int64), np.empty((2, 4))
    >>> draw_stage_streams(np.random.RandomState(0), 5, rows, uniform)
    >>> rng = np.random.RandomState(0)
    >>> bool((rows[0] == rng.permutation(5)[:3]).all()
    ...      and (uniform[0] == rng.random_sample(4)).all())
    True
    """
    generator = rng._bit_generator
    cdef bitgen_t* bitgen = <bitgen_t*>PyCapsule_GetPointer(generator.capsule, "BitGenerator")
    cdef Py_ssize_t t, i, j, n_sub = rows.shape[1], size = uniform.shape[1]
    cdef long long swap
    if n_samples >= 2**32 or n_sub > n_samples > 0:
        raise ValueError(f"need {n_sub} <= n_samples < 2**32, got n_samples={n_samples}")
    cdef long long[::1] order = np.empty(n_samples, dtype=np.int64)
    with generator.lock, nogil:
        for t in range(uniform.shape[0]):
            for i in range(n_samples):
                order[i] = i
            for i in range(n_samples - 1, 0, -1):
                j = <Py_ssize_t>_interval(bitgen, i)
                swap = order[i]
                order[i] = order[j]
                order[j] = swap
            if n_samples > 0:
                for i in range(n_sub):
                    rows[t, i] = order[i]
            for i in range(size):
                uniform[t, i] = bitgen.next_double(bitgen.state)
