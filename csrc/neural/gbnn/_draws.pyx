# cython: language_level=3
"""Random draws of the GBNN stages in one call, read from the generator's bit stream.

Per stage, in this order, the draws of ``RandomState.permutation(n_samples)`` (when the stage
takes a subsample) and of ``RandomState.random_sample(n_params)``: the same values, from the
same stream, as those calls made one after another in Python, where a Python loop of two calls
per stage cost more than a stage's compiled fit on small data. The values come from the
generator's ``bitgen_t`` (NumPy's C API for bit generators): its 32-bit words for the
permutation, drawn as ``RandomState.shuffle`` draws them (Fisher-Yates from the last index,
each index by masked rejection), and its doubles for the uniforms.
"""

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc

cdef uint64_t _UINT32_MAX = 4294967295


cdef struct bitgen_t:
    # NumPy's bit generator interface (numpy/random/bitgen.h)
    void* state
    uint64_t (*next_uint64)(void* st) noexcept nogil
    uint32_t (*next_uint32)(void* st) noexcept nogil
    double (*next_double)(void* st) noexcept nogil
    uint64_t (*next_raw)(void* st) noexcept nogil


cdef uint64_t _interval(bitgen_t* bitgen, uint64_t top) noexcept nogil:
    """Uniform integer in ``[0, top]``: draws masked to the bits of ``top`` until one is at
    most ``top`` (32-bit draws while ``top`` fits in 32 bits), as NumPy's legacy shuffle."""
    cdef uint64_t mask = top, value
    if top == 0:
        return 0
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if top <= _UINT32_MAX:
        value = bitgen.next_uint32(bitgen.state) & mask
        while value > top:
            value = bitgen.next_uint32(bitgen.state) & mask
    else:
        value = bitgen.next_uint64(bitgen.state) & mask
        while value > top:
            value = bitgen.next_uint64(bitgen.state) & mask
    return value


cdef void _draw(bitgen_t* bitgen, Py_ssize_t n_samples, bint subsample, long long[:, ::1] rows,
                double[:, ::1] uniform, long long* order) noexcept nogil:
    cdef Py_ssize_t t, i, q, j
    cdef long long swap
    for t in range(rows.shape[0]):
        if subsample:
            for i in range(n_samples):
                order[i] = i
            for i in range(n_samples - 1, 0, -1):
                j = <Py_ssize_t>_interval(bitgen, i)
                swap = order[i]
                order[i] = order[j]
                order[j] = swap
            for i in range(rows.shape[1]):
                rows[t, i] = order[i]
        for q in range(uniform.shape[1]):
            uniform[t, q] = bitgen.next_double(bitgen.state)


def draw_into(rng, Py_ssize_t n_samples, long long[:, ::1] rows, double[:, ::1] uniform):
    """Fill ``rows[t]`` with the first ``rows.shape[1]`` entries of a permutation of
    ``range(n_samples)`` (unless ``rows.shape[1] == n_samples``: no draw, rows left as they
    are) and ``uniform[t]`` with uniforms on [0, 1), stage after stage, from the
    ``numpy.random.RandomState`` ``rng``, which moves on as if the draws had been made by its
    methods.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._draws import draw_into
    >>> rows, uniform = np.empty((2, 3), dtype=np.int64), np.empty((2, 4))
    >>> draw_into(np.random.RandomState(0), 10, rows, uniform)
    >>> rng = np.random.RandomState(0)
    >>> bool(np.array_equal(rows[0], rng.permutation(10)[:3])
    ...      and np.array_equal(uniform[0], rng.random_sample(4)))
    True
    """
    generator = rng._bit_generator
    cdef bitgen_t* bitgen = <bitgen_t*>PyCapsule_GetPointer(generator.capsule, "BitGenerator")
    cdef bint subsample = rows.shape[1] < n_samples
    cdef long long* order = <long long*>malloc(max(n_samples, 1) * sizeof(long long))
    if order == NULL:
        raise MemoryError()
    with generator.lock:
        with nogil:
            _draw(bitgen, n_samples, subsample, rows, uniform, order)
    free(order)
