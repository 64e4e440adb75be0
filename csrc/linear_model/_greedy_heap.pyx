# cython: language_level=3
"""Greedy single-coordinate descent for least squares with an indexed max-heap of scores.

The problem is ``min_w (1/2) w'Hw - c'w + l1 ||w||_1 + (l2/2) ||w||^2`` (``+`` the indicator
of ``w >= 0``), i.e. weighted least squares seen through its Gram matrix ``H = X'AX``.
The kernels keep the smooth gradient ``h = (H + l2 I) w - c`` and one score per coordinate;
after an exact coordinate update of ``w_i`` by ``delta``, ``h`` changes by
``delta (H + l2 I)[:, i]``, so only the coordinates ``j`` with a nonzero Gram entry in column
``i`` get a new score. The scores live in an indexed max-heap (``heap``: coordinate ids in
heap order; ``pos``: where each id sits; ``key``: its score), so the next coordinate is read
at the root and each changed score costs ``O(log p)`` instead of a full scan.

Scores (the block engine's, coordinate by coordinate, ``L_j = H_jj + l2``):

* ``gs``: ``s_j^2``, with ``s`` the minimum-norm subgradient (``h`` when the penalty is
  smooth);
* ``gsl``: ``s_j^2 / L_j``;
* ``gs-q``: the decrease promised by the proximal coordinate step,
  ``-(h_j d + L_j d^2 / 2 + l1 (|w_j + d| - |w_j|))``.

Ties go to the smallest coordinate index, in the heap and in the full scan alike. ``heap`` and
``pos`` are int64, the CSC Gram matrix has int32 indices; the caller checks shapes.
"""

from libc.math cimport fabs

include "_cd_prox.pxi"


cdef enum GreedyRule:
    GS = 0
    GSL = 1
    GS_Q = 2

GREEDY_RULE_CODES = {"gs": GS, "gsl": GSL, "gs-q": GS_Q}


cdef inline bint _better(const double* key, long long i, long long j) noexcept nogil:
    """True when coordinate ``i`` ranks above ``j`` (larger key, then smaller index)."""
    return key[i] > key[j] or (key[i] == key[j] and i < j)


cdef void _sift_up(long long* heap, long long* pos, const double* key,
                   Py_ssize_t slot) noexcept nogil:
    cdef long long item = heap[slot], other
    cdef Py_ssize_t parent
    while slot > 0:
        parent = (slot - 1) // 2
        other = heap[parent]
        if not _better(key, item, other):
            break
        heap[slot] = other
        pos[other] = slot
        slot = parent
    heap[slot] = item
    pos[item] = slot


cdef void _sift_down(long long* heap, long long* pos, const double* key, Py_ssize_t size,
                     Py_ssize_t slot) noexcept nogil:
    cdef long long item = heap[slot], other
    cdef Py_ssize_t child
    while True:
        child = 2 * slot + 1
        if child >= size:
            break
        if child + 1 < size and _better(key, heap[child + 1], heap[child]):
            child += 1
        other = heap[child]
        if not _better(key, other, item):
            break
        heap[slot] = other
        pos[other] = slot
        slot = child
    heap[slot] = item
    pos[item] = slot


cdef void _build(long long* heap, long long* pos, const double* key,
                 Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j, slot
    for j in range(size):
        heap[j] = j
        pos[j] = j
    for slot in range(size // 2 - 1, -1, -1):
        _sift_down(heap, pos, key, size, slot)


cdef void _update_key(long long* heap, long long* pos, double* key, Py_ssize_t size,
                      long long j, double value) noexcept nogil:
    cdef Py_ssize_t slot
    key[j] = value
    slot = pos[j]
    if slot > 0 and _better(key, j, heap[(slot - 1) // 2]):
        _sift_up(heap, pos, key, slot)
    else:
        _sift_down(heap, pos, key, size, slot)


def build_heap(long long[::1] heap, long long[::1] pos, const double[::1] key):
    """Arrange ``heap`` (length p) as a max-heap of ``0..p-1`` by ``key``; fill ``pos``."""
    if heap.shape[0] > 0:
        _build(&heap[0], &pos[0], &key[0], heap.shape[0])


def heap_update_key(long long[::1] heap, long long[::1] pos, double[::1] key, long long j,
                    double value):
    """Set ``key[j] = value`` and restore the heap order around ``j``."""
    _update_key(&heap[0], &pos[0], &key[0], heap.shape[0], j, value)


def heap_valid(const long long[::1] heap, const long long[::1] pos, const double[::1] key):
    """True when ``heap``/``pos`` are inverse permutations and every parent ranks above its
    children."""
    cdef Py_ssize_t slot
    for slot in range(heap.shape[0]):
        if pos[heap[slot]] != slot:
            return False
        if slot > 0 and _better(&key[0], heap[slot], heap[(slot - 1) // 2]):
            return False
    return True


cdef inline double _score(int rule, double h, double w, double L, Penalty pen) noexcept nogil:
    """Score of one coordinate with smooth gradient ``h``, value ``w``, constant ``L``."""
    cdef double d, s
    if rule == GS_Q:
        d = prox(w - h / L, 1.0 / L, pen) - w
        return -(h * d + 0.5 * L * d * d + pen.l1 * (fabs(w + d) - fabs(w)))
    s = h
    if pen.l1 > 0.0 or pen.positive:
        if w > 0.0:
            s = h + pen.l1
        elif w < 0.0:
            s = h - pen.l1
        elif pen.positive:
            s = min(h + pen.l1, 0.0)
        elif h > pen.l1:
            s = h - pen.l1
        elif h < -pen.l1:
            s = h + pen.l1
        else:
            s = 0.0
    if rule == GSL:
        return s * s / L
    return s * s


def greedy_heap_updates(int rule, const int[::1] indptr, const int[::1] indices,
                        const double[::1] data, const double[::1] lips, double[::1] w,
                        double[::1] h, double l1, bint positive, Py_ssize_t n_updates,
                        bint use_heap, long long[::1] heap, long long[::1] pos,
                        double[::1] key, long long[::1] trace):
    """Run up to ``n_updates`` greedy exact coordinate updates in place.

    Parameters
    ----------
    rule : int
        A value of :data:`GREEDY_RULE_CODES`.
    indptr, indices, data : arrays
        CSC Gram matrix ``H + l2 I`` (p x p).
    lips : array of shape (p,)
        Coordinate constants ``L_j`` (positive).
    w, h : arrays of shape (p,)
        Coefficients and smooth gradient ``(H + l2 I) w - c``, updated in place.
    l1 : float
    positive : bool
    n_updates : int
    use_heap : bool
        Read the best coordinate at the heap's root; otherwise scan ``key`` (reference
        mode: same keys, same ties, ``O(p)`` per pick).
    heap, pos, key : arrays of shape (p,)
        Rebuilt from ``w`` and ``h`` on entry, left consistent on exit.
    trace : int64 array
        When of length ``n_updates``, receives the chosen coordinates; otherwise unused.

    Returns
    -------
    done : int
        Updates made.
    stalled : bool
        True when the best coordinate could not move (score <= 0 or a zero step): every
        further pick would repeat it.
    key_updates : int
        Scores recomputed after the updates (the work the heap saves is ``p`` minus this
        per update).
    """
    cdef Penalty pen
    pen.l1 = l1
    pen.l2 = 0.0  # the Gram matrix already holds the ridge term
    pen.positive = positive
    cdef Py_ssize_t p = w.shape[0], t, i, j, k
    cdef bint record = trace.shape[0] == n_updates, touched_self, stalled = False
    cdef Py_ssize_t done = n_updates, key_updates = 0
    cdef double L, step, new, delta, value
    if p == 0:
        return 0, True, 0
    with nogil:
        for j in range(p):
            key[j] = _score(rule, h[j], w[j], lips[j], pen)
        if use_heap:
            _build(&heap[0], &pos[0], &key[0], p)
        for t in range(n_updates):
            if use_heap:
                i = heap[0]
            else:
                i = 0
                for j in range(1, p):
                    if key[j] > key[i]:
                        i = j
            if not key[i] > 0.0:
                done, stalled = t, True
                break
            L = lips[i]
            step = 1.0 / L
            new = prox(w[i] - step * h[i], step, pen)
            delta = new - w[i]
            if delta == 0.0:
                done, stalled = t, True
                break
            if record:
                trace[t] = i
            w[i] = new
            touched_self = False
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                h[j] += delta * data[k]
                touched_self = touched_self or j == i
                value = _score(rule, h[j], w[j], lips[j], pen)
                if use_heap:
                    _update_key(&heap[0], &pos[0], &key[0], p, j, value)
                else:
                    key[j] = value
                key_updates += 1
            if not touched_self:  # empty Gram column: only w_i's own score changed
                value = _score(rule, h[i], w[i], lips[i], pen)
                if use_heap:
                    _update_key(&heap[0], &pos[0], &key[0], p, i, value)
                else:
                    key[i] = value
                key_updates += 1
    return done, stalled, key_updates
