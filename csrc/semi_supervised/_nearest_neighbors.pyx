# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Exact Euclidean k nearest neighbours of dense float64 points among themselves.

Both searches fill, per point, a bounded max-heap (largest value at position 0) of squared
distances and point indices, with scikit-learn's rule: a value not below the heap's largest
is refused, so among equal distances the first offered stays; they write each point's
neighbours in increasing order (a CSR row).

* :func:`brute_neighbors` computes the squared distances as scikit-learn's brute search does
  (row norms by ``ddot``, ``-2 X_a X_b'`` by ``dgemm`` on 256 x 256 chunks, summed as
  ``(norm_a + middle) + norm_b``, clipped at zero) and offers them in increasing column
  order: the same heaps, ties included, as its one-thread (parallel on X) search.
* :func:`tree_neighbors` searches a kd-tree (median splits on the widest coordinate,
  bounding boxes), nearest child first, pruning boxes not closer than the heap's largest.
  Its order of offers is not scikit-learn's, so it keeps one candidate more than asked and
  counts the points whose last two candidates tie (where scikit-learn's choice is unknown).

The caller (:mod:`numsolve.semi_supervised._nearest`) checks shapes (at least one point and
one feature) and allocates the output.
"""

from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

import numpy as np

include "../_blas.pxi"

# rows and columns of scikit-learn's distance chunks (its default pairwise_dist_chunk_size)
cdef Py_ssize_t CHUNK = 256


cdef inline void heap_offer(double* values, Py_ssize_t* indices, Py_ssize_t size,
                            double value, Py_ssize_t index) noexcept nogil:
    """Offer ``(value, index)`` to a max-heap of ``size`` entries that stays full."""
    cdef Py_ssize_t at = 0, left, child
    if value >= values[0]:
        return
    while True:
        left = 2 * at + 1
        if left >= size:
            break
        # the larger child, the left one on equal values
        child = left if left + 1 >= size or values[left] >= values[left + 1] else left + 1
        if value >= values[child]:
            break
        values[at] = values[child]
        indices[at] = indices[child]
        at = child
    values[at] = value
    indices[at] = index


cdef inline void _ascending(const Py_ssize_t* indices, Py_ssize_t k,
                            Py_ssize_t* out) noexcept nogil:
    """``out`` = the ``k`` ``indices`` in increasing order (insertion sort: k is small)."""
    cdef Py_ssize_t i, j, index
    for i in range(k):
        index = indices[i]
        j = i
        while j > 0 and out[j - 1] > index:
            out[j] = out[j - 1]
            j -= 1
        out[j] = index


def brute_neighbors(const double[:, ::1] X, Py_ssize_t[:, ::1] neighbors):
    """Write each point's ``k`` nearest points (itself included; ``neighbors`` of shape
    (n, k), k <= n), indices ascending, found by scikit-learn's brute-force computation.

    Each pair of chunks is multiplied once, for both of its blocks of rows (``X_a X_b'`` is
    the transpose of ``X_b X_a'``, bit for bit: every entry is the same dot product), and a
    row still gets its columns in increasing order: those of earlier chunks while its
    transpose is visited, then its own and the later ones.
    """
    cdef Py_ssize_t n = X.shape[0], k = neighbors.shape[1]
    cdef int d = <int>X.shape[1]
    cdef Py_ssize_t a, b, a0, b0, i, j, chunks = (n + CHUNK - 1) // CHUNK
    cdef int rows, columns, one = 1
    cdef double minus_two = -2.0, zero = 0.0, value, middle_ij
    cdef double* middle
    norms_array = np.empty(n)
    cdef double[::1] norms = norms_array
    values_array = np.empty((n, k))
    indices_array = np.empty((n, k), dtype=np.intp)
    cdef double[:, ::1] values = values_array
    cdef Py_ssize_t[:, ::1] indices = indices_array
    middle = <double*>malloc(CHUNK * CHUNK * sizeof(double))
    if middle == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            norms[i] = ddot(&d, <double*>&X[i, 0], &one, <double*>&X[i, 0], &one)
            for j in range(k):
                values[i, j] = INFINITY
                indices[i, j] = -1
        for a in range(chunks):
            a0 = a * CHUNK
            rows = <int>min(CHUNK, n - a0)
            for b in range(a, chunks):
                b0 = b * CHUNK
                columns = <int>min(CHUNK, n - b0)
                # middle (rows x columns, row-major) = -2 X[a0:] X[b0:]', the BLAS call
                # scikit-learn makes for it (column-major: its transpose)
                dgemm(b"t", b"n", &columns, &rows, &d, &minus_two, <double*>&X[b0, 0], &d,
                      <double*>&X[a0, 0], &d, &zero, middle, &columns)
                for i in range(rows):
                    for j in range(columns):
                        middle_ij = middle[i * columns + j]
                        # summed in scikit-learn's order: the row's norm first
                        value = norms[a0 + i] + middle_ij
                        value = value + norms[b0 + j]
                        heap_offer(&values[a0 + i, 0], &indices[a0 + i, 0], k,
                                   value if value > 0.0 else 0.0, b0 + j)
                        if b0 != a0:
                            value = norms[b0 + j] + middle_ij
                            value = value + norms[a0 + i]
                            heap_offer(&values[b0 + j, 0], &indices[b0 + j, 0], k,
                                       value if value > 0.0 else 0.0, a0 + i)
        for i in range(n):
            _ascending(&indices[i, 0], k, &neighbors[i, 0])
    free(middle)


cdef void _select(Py_ssize_t* order, const double* points, Py_ssize_t d, Py_ssize_t axis,
                  Py_ssize_t low, Py_ssize_t high, Py_ssize_t target) noexcept nogil:
    """Permute ``order[low:high]`` so that ``order[target]`` is the point of rank
    ``target - low`` along ``axis``, none after it smaller, none before it larger."""
    cdef Py_ssize_t i, j, swap
    cdef double pivot, a, b, c
    while high - low > 1:
        a = points[order[low] * d + axis]
        b = points[order[(low + high) // 2] * d + axis]
        c = points[order[high - 1] * d + axis]
        pivot = max(min(a, b), min(max(a, b), c))
        i = low
        j = high - 1
        while i <= j:
            while points[order[i] * d + axis] < pivot:
                i += 1
            while points[order[j] * d + axis] > pivot:
                j -= 1
            if i <= j:
                swap = order[i]
                order[i] = order[j]
                order[j] = swap
                i += 1
                j -= 1
        if target <= j:
            high = j + 1
        elif target >= i:
            low = i
        else:
            return


cdef inline double _box_distance(const double* lower, const double* upper,
                                 const double* point, Py_ssize_t d) noexcept nogil:
    """Squared distance from ``point`` to the box ``[lower, upper]``."""
    cdef double total = 0.0, gap
    cdef Py_ssize_t j
    for j in range(d):
        gap = lower[j] - point[j]
        if gap < 0.0:
            gap = point[j] - upper[j]
            if gap < 0.0:
                gap = 0.0
        total += gap * gap
    return total


def tree_neighbors(const double[:, ::1] X, Py_ssize_t leaf_size,
                   Py_ssize_t[:, ::1] neighbors):
    """Write each point's ``k`` nearest points (itself included; ``neighbors`` of shape
    (n, k), k < n), indices ascending, searched on a kd-tree with leaves of at most
    ``leaf_size`` points (at least 1). Returns the number of points whose k-th and
    (k+1)-th nearest distances tie: their rows hold one of the tied choices."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = neighbors.shape[1], m = k + 1
    cdef Py_ssize_t levels = 1, n_nodes, first_leaf, node, start, end, mid, axis, j, t, p
    cdef Py_ssize_t top, left, nearer, farther, ties = 0
    cdef double spread, widest, low, high, value, gap, near_gap, far_gap, runner_up
    cdef const double* point
    cdef const double* candidate
    # the heap of one point's m nearest: one candidate more than needed, to see a tie
    heap_values_array = np.empty(m)
    heap_indices_array = np.empty(m, dtype=np.intp)
    cdef double[::1] heap_values = heap_values_array
    cdef Py_ssize_t[::1] heap_indices = heap_indices_array
    # leaves of at most leaf_size points: 2^(levels - 1) of them
    while (<Py_ssize_t>1 << (levels - 1)) * leaf_size < n:
        levels += 1
    n_nodes = (<Py_ssize_t>1 << levels) - 1
    first_leaf = n_nodes // 2
    order_array = np.arange(n, dtype=np.intp)
    lower_array = np.empty((n_nodes, d))
    upper_array = np.empty((n_nodes, d))
    sorted_array = np.empty((n, d))
    stack_nodes_array = np.empty(2 * levels + 2, dtype=np.intp)
    stack_gaps_array = np.empty(2 * levels + 2)
    cdef Py_ssize_t[::1] order = order_array
    cdef double[:, ::1] lower = lower_array
    cdef double[:, ::1] upper = upper_array
    cdef double[:, ::1] points = sorted_array
    cdef Py_ssize_t[::1] stack_nodes = stack_nodes_array
    cdef double[::1] stack_gaps = stack_gaps_array
    # node i holds order[begin(i):end(i)], its children 2i + 1 and 2i + 2 the two halves;
    # begin and end follow from the root's [0, n) by halving, kept in a table
    node_begin_array = np.empty(n_nodes, dtype=np.intp)
    node_end_array = np.empty(n_nodes, dtype=np.intp)
    cdef Py_ssize_t[::1] begin = node_begin_array
    cdef Py_ssize_t[::1] finish = node_end_array
    with nogil:
        begin[0] = 0
        finish[0] = n
        for node in range(n_nodes):
            start = begin[node]
            end = finish[node]
            if node < first_leaf:
                mid = start + (end - start) // 2
                begin[2 * node + 1] = start
                finish[2 * node + 1] = mid
                begin[2 * node + 2] = mid
                finish[2 * node + 2] = end
                axis = 0
                widest = -1.0
                for j in range(d):
                    low = INFINITY
                    high = -INFINITY
                    for p in range(start, end):
                        value = X[order[p], j]
                        if value < low:
                            low = value
                        if value > high:
                            high = value
                    spread = high - low
                    if spread > widest:
                        widest = spread
                        axis = j
                _select(&order[0], &X[0, 0], d, axis, start, end, mid)
        # points in tree order (each leaf contiguous) and the leaves' boxes, then the boxes
        # of the inner nodes from their children's
        for p in range(n):
            for j in range(d):
                points[p, j] = X[order[p], j]
        for node in range(n_nodes - 1, -1, -1):
            for j in range(d):
                if node >= first_leaf:
                    low = INFINITY
                    high = -INFINITY
                    for p in range(begin[node], finish[node]):
                        if points[p, j] < low:
                            low = points[p, j]
                        if points[p, j] > high:
                            high = points[p, j]
                    lower[node, j] = low
                    upper[node, j] = high
                else:
                    lower[node, j] = min(lower[2 * node + 1, j], lower[2 * node + 2, j])
                    upper[node, j] = max(upper[2 * node + 1, j], upper[2 * node + 2, j])
        for t in range(n):
            point = &points[t, 0]
            for j in range(m):
                heap_values[j] = INFINITY
                heap_indices[j] = -1
            stack_nodes[0] = 0
            stack_gaps[0] = 0.0
            top = 1
            while top > 0:
                top -= 1
                node = stack_nodes[top]
                if stack_gaps[top] >= heap_values[0]:
                    continue
                if node >= first_leaf:
                    for p in range(begin[node], finish[node]):
                        candidate = &points[p, 0]
                        value = 0.0
                        for j in range(d):
                            gap = candidate[j] - point[j]
                            value += gap * gap
                        heap_offer(&heap_values[0], &heap_indices[0], m, value, order[p])
                    continue
                left = 2 * node + 1
                near_gap = _box_distance(&lower[left, 0], &upper[left, 0], point, d)
                far_gap = _box_distance(&lower[left + 1, 0], &upper[left + 1, 0], point, d)
                nearer, farther = left, left + 1
                if far_gap < near_gap:
                    nearer, farther = left + 1, left
                    near_gap, far_gap = far_gap, near_gap
                # the nearer child on top: searched first
                if far_gap < heap_values[0]:
                    stack_nodes[top] = farther
                    stack_gaps[top] = far_gap
                    top += 1
                if near_gap < heap_values[0]:
                    stack_nodes[top] = nearer
                    stack_gaps[top] = near_gap
                    top += 1
            # the heap's largest (position 0) is the extra candidate, the larger of its
            # children the k-th nearest
            runner_up = heap_values[1]
            if m > 2 and heap_values[2] > runner_up:
                runner_up = heap_values[2]
            if runner_up == heap_values[0]:
                ties += 1
            _ascending(&heap_indices[1], k, &neighbors[order[t], 0])
    return ties
