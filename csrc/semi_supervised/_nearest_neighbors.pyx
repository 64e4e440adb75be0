# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Exact Euclidean k nearest neighbours of dense float64 points among themselves, on
``num_threads`` OpenMP threads.

Both searches fill, per point, a bounded max-heap (largest value at position 0) of squared
distances and point indices, with scikit-learn's rule: a value not below the heap's largest
is refused, so among equal distances the first offered stays; they write each point's
neighbours in increasing order (a CSR row). Every point's heap receives the same offers in
the same order whatever the thread count, so the neighbours do not depend on it.

* :func:`brute_neighbors` computes the squared distances as scikit-learn's brute search does
  (row norms by ``ddot``, ``-2 X_a X_b'`` by ``dgemm`` on 256 x 256 chunks, summed as
  ``(norm_a + middle) + norm_b``, clipped at zero) and offers them in increasing column
  order: the same heaps, ties included, as its one-thread (parallel on X) search.
* :func:`tree_neighbors` searches a kd-tree (median splits on the widest coordinate,
  bounding boxes), nearest child first, pruning boxes not closer than the heap's largest.
  Its order of offers is not scikit-learn's, so it keeps one candidate more than asked and
  counts the points whose last two candidates tie (where scikit-learn's choice is unknown).

The caller (:mod:`numsolve.semi_supervised._nearest`) checks shapes (at least one point and
one feature), allocates the output and keeps BLAS on one thread while several search.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

import numpy as np

include "../_blas.pxi"

# rows and columns of scikit-learn's distance chunks (its default pairwise_dist_chunk_size)
cdef Py_ssize_t CHUNK = 256

# points a thread takes at a time in the tree search: a run of neighbouring points (tree
# order) shares the boxes it visits
cdef Py_ssize_t POINTS_PER_GRAB = 64


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


cdef struct Heaps:
    # n rows of k entries, row-major
    double* values
    Py_ssize_t* indices
    Py_ssize_t k


cdef void _offer_chunk_pair(const double* X, Py_ssize_t n, int d, const double* norms,
                            Heaps heaps, Py_ssize_t a, Py_ssize_t b, bint both,
                            double* middle) noexcept nogil:
    """Offer the distances between row chunks ``a`` and ``b`` of the n x d points ``X``
    (row-major) to the rows of chunk ``a``, and to those of ``b`` too if ``both``
    (``middle``: CHUNK x CHUNK scratch)."""
    cdef Py_ssize_t k = heaps.k, i, j, row, column
    cdef Py_ssize_t a0 = a * CHUNK, b0 = b * CHUNK
    cdef int rows = <int>min(CHUNK, n - a0), columns = <int>min(CHUNK, n - b0)
    cdef double minus_two = -2.0, zero = 0.0, value, middle_ij
    # middle (rows x columns, row-major) = -2 X[a0:] X[b0:]', the BLAS call scikit-learn
    # makes for it (column-major: its transpose)
    dgemm(b"t", b"n", &columns, &rows, &d, &minus_two, <double*>X + b0 * d, &d,
          <double*>X + a0 * d, &d, &zero, middle, &columns)
    for i in range(rows):
        row = a0 + i
        for j in range(columns):
            column = b0 + j
            middle_ij = middle[i * columns + j]
            # summed in scikit-learn's order: the row's norm first
            value = norms[row] + middle_ij
            value = value + norms[column]
            heap_offer(&heaps.values[row * k], &heaps.indices[row * k], k,
                       value if value > 0.0 else 0.0, column)
            if both:
                value = norms[column] + middle_ij
                value = value + norms[row]
                heap_offer(&heaps.values[column * k], &heaps.indices[column * k], k,
                           value if value > 0.0 else 0.0, row)


def brute_neighbors(const double[:, ::1] X, Py_ssize_t[:, ::1] neighbors, int num_threads):
    """Write each point's ``k`` nearest points (itself included; ``neighbors`` of shape
    (n, k), k <= n), indices ascending, found by scikit-learn's brute-force computation.

    On one thread each pair of chunks ``a < b`` is multiplied once, for both of its blocks
    of rows (``X_a X_b'`` is the transpose of ``X_b X_a'``, bit for bit: every entry is the
    same dot product), and a row still gets its columns in increasing order: those of
    earlier chunks while its transpose is visited, then its own and the later ones. On
    several, as scikit-learn's parallel-on-X search, each thread takes a chunk of rows at a
    time and offers them every column chunk in order: twice the products but no waiting
    between threads (a schedule of disjoint pairs, for single products, waits at a barrier
    per wave of pairs, and each wait can cost a whole time slice on a busy machine).
    """
    cdef Py_ssize_t n = X.shape[0], k = neighbors.shape[1]
    cdef int d = <int>X.shape[1], one = 1
    cdef Py_ssize_t a, b, i, chunks = (n + CHUNK - 1) // CHUNK
    cdef double* middles
    norms_array = np.empty(n)
    cdef double[::1] norms = norms_array
    values_array = np.full((n, k), np.inf)
    indices_array = np.full((n, k), -1, dtype=np.intp)
    cdef double[:, ::1] values = values_array
    cdef Py_ssize_t[:, ::1] indices = indices_array
    cdef Heaps heaps = Heaps(&values[0, 0], &indices[0, 0], k)
    middles = <double*>malloc(num_threads * CHUNK * CHUNK * sizeof(double))
    if middles == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            norms[i] = ddot(&d, <double*>&X[i, 0], &one, <double*>&X[i, 0], &one)
        if num_threads == 1:
            for a in range(chunks):
                for b in range(a, chunks):
                    _offer_chunk_pair(&X[0, 0], n, d, &norms[0], heaps, a, b, b != a,
                                      middles)
        else:
            for a in prange(chunks, num_threads=num_threads, schedule="dynamic"):
                for b in range(chunks):
                    _offer_chunk_pair(&X[0, 0], n, d, &norms[0], heaps, a, b, False,
                                      middles + threadid() * CHUNK * CHUNK)
        for i in range(n):
            _ascending(&indices[i, 0], k, &neighbors[i, 0])
    free(middles)


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


cdef struct KdTree:
    # node i holds the points points[begin[i]:finish[i]] (row-major, d columns; original
    # indices order[begin[i]:finish[i]]) in the box [lower[i], upper[i]]; its children are
    # 2i + 1 and 2i + 2, the nodes from first_leaf on are leaves
    const double* points
    const Py_ssize_t* order
    const double* lower
    const double* upper
    const Py_ssize_t* begin
    const Py_ssize_t* finish
    Py_ssize_t d
    Py_ssize_t first_leaf


cdef struct Search:
    # one thread's scratch: a heap of m entries and a stack of nodes to visit with the
    # squared distance to their boxes
    double* heap_values
    Py_ssize_t* heap_indices
    Py_ssize_t m
    Py_ssize_t* stack_nodes
    double* stack_gaps


cdef bint _search_point(KdTree tree, Search search, const double* point) noexcept nogil:
    """Fill ``search``'s heap with the ``m`` nearest points to ``point``; True if the
    heap's two largest distances tie."""
    cdef Py_ssize_t d = tree.d, m = search.m, top = 1, node, left, nearer, farther, p, j
    cdef double value, gap, near_gap, far_gap, runner_up
    cdef const double* candidate
    cdef double* values = search.heap_values
    for j in range(m):
        values[j] = INFINITY
        search.heap_indices[j] = -1
    search.stack_nodes[0] = 0
    search.stack_gaps[0] = 0.0
    while top > 0:
        top -= 1
        node = search.stack_nodes[top]
        if search.stack_gaps[top] >= values[0]:
            continue
        if node >= tree.first_leaf:
            for p in range(tree.begin[node], tree.finish[node]):
                candidate = tree.points + p * d
                value = 0.0
                for j in range(d):
                    gap = candidate[j] - point[j]
                    value += gap * gap
                heap_offer(values, search.heap_indices, m, value, tree.order[p])
            continue
        left = 2 * node + 1
        near_gap = _box_distance(tree.lower + left * d, tree.upper + left * d, point, d)
        far_gap = _box_distance(tree.lower + (left + 1) * d, tree.upper + (left + 1) * d,
                                point, d)
        nearer, farther = left, left + 1
        if far_gap < near_gap:
            nearer, farther = left + 1, left
            near_gap, far_gap = far_gap, near_gap
        # the nearer child on top: searched first
        if far_gap < values[0]:
            search.stack_nodes[top] = farther
            search.stack_gaps[top] = far_gap
            top += 1
        if near_gap < values[0]:
            search.stack_nodes[top] = nearer
            search.stack_gaps[top] = near_gap
            top += 1
    # the heap's largest (position 0) is the extra candidate, the larger of its children
    # the k-th nearest
    runner_up = values[1]
    if m > 2 and values[2] > runner_up:
        runner_up = values[2]
    return runner_up == values[0]


def tree_neighbors(const double[:, ::1] X, Py_ssize_t leaf_size,
                   Py_ssize_t[:, ::1] neighbors, int num_threads):
    """Write each point's ``k`` nearest points (itself included; ``neighbors`` of shape
    (n, k), k < n), indices ascending, searched on a kd-tree with leaves of at most
    ``leaf_size`` points (at least 1). Returns the number of points whose k-th and
    (k+1)-th nearest distances tie: their rows hold one of the tied choices."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = neighbors.shape[1], m = k + 1
    cdef Py_ssize_t levels = 1, n_nodes, first_leaf, node, start, end, mid, axis, j, t, p
    cdef Py_ssize_t ties = 0, thread
    cdef double spread, widest, low, high, value
    # leaves of at most leaf_size points: 2^(levels - 1) of them
    while (<Py_ssize_t>1 << (levels - 1)) * leaf_size < n:
        levels += 1
    n_nodes = (<Py_ssize_t>1 << levels) - 1
    first_leaf = n_nodes // 2
    order_array = np.arange(n, dtype=np.intp)
    lower_array = np.empty((n_nodes, d))
    upper_array = np.empty((n_nodes, d))
    sorted_array = np.empty((n, d))
    # per thread: the heap of one point's m nearest (one candidate more than needed, to see
    # a tie) and the stack of the nodes still to visit
    heap_values_array = np.empty((num_threads, m))
    heap_indices_array = np.empty((num_threads, m), dtype=np.intp)
    stack_nodes_array = np.empty((num_threads, 2 * levels + 2), dtype=np.intp)
    stack_gaps_array = np.empty((num_threads, 2 * levels + 2))
    cdef Py_ssize_t[::1] order = order_array
    cdef double[:, ::1] lower = lower_array
    cdef double[:, ::1] upper = upper_array
    cdef double[:, ::1] points = sorted_array
    cdef double[:, ::1] heap_values = heap_values_array
    cdef Py_ssize_t[:, ::1] heap_indices = heap_indices_array
    cdef Py_ssize_t[:, ::1] stack_nodes = stack_nodes_array
    cdef double[:, ::1] stack_gaps = stack_gaps_array
    # node i holds order[begin(i):end(i)], its children 2i + 1 and 2i + 2 the two halves;
    # begin and end follow from the root's [0, n) by halving, kept in a table
    node_begin_array = np.empty(n_nodes, dtype=np.intp)
    node_end_array = np.empty(n_nodes, dtype=np.intp)
    cdef Py_ssize_t[::1] begin = node_begin_array
    cdef Py_ssize_t[::1] finish = node_end_array
    cdef KdTree tree
    cdef Search search
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
        tree = KdTree(&points[0, 0], &order[0], &lower[0, 0], &upper[0, 0], &begin[0],
                      &finish[0], d, first_leaf)
        for t in prange(n, num_threads=num_threads, schedule="dynamic",
                        chunksize=POINTS_PER_GRAB):
            thread = threadid()
            search = Search(&heap_values[thread, 0], &heap_indices[thread, 0], m,
                            &stack_nodes[thread, 0], &stack_gaps[thread, 0])
            if _search_point(tree, search, &points[t, 0]):
                ties += 1
            _ascending(&heap_indices[thread, 1], k, &neighbors[order[t], 0])
    return ties
