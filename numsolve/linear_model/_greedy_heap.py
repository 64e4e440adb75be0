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

* ``gs`` (rule 0): ``s_j^2``, with ``s`` the minimum-norm subgradient (``h`` when the penalty
  is smooth);
* ``gsl`` (rule 1): ``s_j^2 / L_j``;
* ``gs-q`` (rule 2): the decrease promised by the proximal coordinate step,
  ``-(h_j d + L_j d^2 / 2 + l1 (|w_j + d| - |w_j|))``.

Ties go to the smallest coordinate index, in the heap and in the full scan alike.
"""

from numba import njit

from ._numba import _prox

__all__ = ["GREEDY_RULE_CODES", "build_heap", "greedy_heap_updates", "heap_update_key",
           "heap_valid"]

GREEDY_RULE_CODES = {"gs": 0, "gsl": 1, "gs-q": 2}


@njit(cache=True, nogil=True, inline="always")
def _better(key, i, j):
    """True when coordinate ``i`` ranks above ``j`` (larger key, then smaller index)."""
    return key[i] > key[j] or (key[i] == key[j] and i < j)


@njit(cache=True, nogil=True)
def _sift_up(heap, pos, key, slot):
    item = heap[slot]
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


@njit(cache=True, nogil=True)
def _sift_down(heap, pos, key, slot):
    size = heap.shape[0]
    item = heap[slot]
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


@njit(cache=True, nogil=True)
def build_heap(heap, pos, key):
    """Arrange ``heap`` (length p) as a max-heap of ``0..p-1`` by ``key``; fill ``pos``."""
    size = heap.shape[0]
    for j in range(size):
        heap[j] = j
        pos[j] = j
    for slot in range(size // 2 - 1, -1, -1):
        _sift_down(heap, pos, key, slot)


@njit(cache=True, nogil=True)
def heap_update_key(heap, pos, key, j, value):
    """Set ``key[j] = value`` and restore the heap order around ``j``."""
    key[j] = value
    slot = pos[j]
    if slot > 0 and _better(key, j, heap[(slot - 1) // 2]):
        _sift_up(heap, pos, key, slot)
    else:
        _sift_down(heap, pos, key, slot)


@njit(cache=True, nogil=True)
def heap_valid(heap, pos, key):
    """True when ``heap``/``pos`` are inverse permutations and every parent ranks above its
    children."""
    size = heap.shape[0]
    for slot in range(size):
        if pos[heap[slot]] != slot:
            return False
        if slot > 0 and _better(key, heap[slot], heap[(slot - 1) // 2]):
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _score(rule, h, w, L, l1, positive):
    """Score of one coordinate with smooth gradient ``h``, value ``w``, constant ``L``."""
    if rule == 2:
        d = _prox(w - h / L, 1.0 / L, l1, 0.0, positive) - w
        return -(h * d + 0.5 * L * d * d + l1 * (abs(w + d) - abs(w)))
    s = h
    if l1 > 0.0 or positive:
        if w > 0.0:
            s = h + l1
        elif w < 0.0:
            s = h - l1
        elif positive:
            s = min(h + l1, 0.0)
        elif h > l1:
            s = h - l1
        elif h < -l1:
            s = h + l1
        else:
            s = 0.0
    if rule == 1:
        return s * s / L
    return s * s


@njit(cache=True, nogil=True)
def greedy_heap_updates(rule, indptr, indices, data, lips, w, h, l1, positive, n_updates,
                        use_heap, heap, pos, key, trace):
    """Run up to ``n_updates`` greedy exact coordinate updates in place.

    Parameters
    ----------
    rule : int
        0 ``gs``, 1 ``gsl``, 2 ``gs-q``.
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
    trace : int array
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
    p = w.shape[0]
    for j in range(p):
        key[j] = _score(rule, h[j], w[j], lips[j], l1, positive)
    if use_heap:
        build_heap(heap, pos, key)
    record = trace.shape[0] == n_updates
    key_updates = 0
    for t in range(n_updates):
        if use_heap:
            i = heap[0]
        else:
            i = 0
            for j in range(1, p):
                if key[j] > key[i]:
                    i = j
        if not key[i] > 0.0:
            return t, True, key_updates
        L = lips[i]
        step = 1.0 / L
        new = _prox(w[i] - step * h[i], step, l1, 0.0, positive)
        delta = new - w[i]
        if delta == 0.0:
            return t, True, key_updates
        if record:
            trace[t] = i
        w[i] = new
        touched_self = False
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            h[j] += delta * data[k]
            touched_self = touched_self or j == i
            value = _score(rule, h[j], w[j], lips[j], l1, positive)
            if use_heap:
                heap_update_key(heap, pos, key, j, value)
            else:
                key[j] = value
            key_updates += 1
        if not touched_self:  # empty Gram column: only w_i's own score changed
            value = _score(rule, h[i], w[i], lips[i], l1, positive)
            if use_heap:
                heap_update_key(heap, pos, key, i, value)
            else:
                key[i] = value
            key_updates += 1
    return n_updates, False, key_updates
