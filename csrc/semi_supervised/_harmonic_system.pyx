# cython: language_level=3
"""The harmonic system ``Q = (D - W)[U, U]``, ``c = W[U, L] Y_L`` in one pass over ``W``.

Output arrays are allocated and ``q_indptr`` filled by the Python caller
(:mod:`numsolve.semi_supervised._harmonic`), which checks every shape first.
"""

include "../linear_model/_graph_types.pxi"

ctypedef fused out_index_t:
    int
    long long


def fill_system(const index_t[::1] indptr, const index_t[::1] indices,
                const floating[::1] data, const long long[::1] slot,
                const floating[:, ::1] values, const long long[::1] q_indptr,
                out_index_t[::1] q_indices, floating[::1] q_data, floating[:, ::1] c):
    """Fill the CSR arrays of ``Q`` (sorted columns, diagonal included) and add into ``c``.

    ``slot[i]`` is the row of node ``i`` in ``Q`` when unlabelled, ``-(row in Y_L) - 1`` when
    labelled.
    """
    cdef Py_ssize_t n = slot.shape[0]
    cdef Py_ssize_t k = values.shape[1]
    cdef long long i, row, q, j, col, fill, diagonal_at, t
    cdef double degree
    cdef floating w
    with nogil:
        for i in range(n):
            row = slot[i]
            if row < 0:
                continue
            fill = q_indptr[row]
            degree = 0.0
            diagonal_at = -1
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                if j == i:
                    continue
                w = data[q]
                degree += w
                col = slot[j]
                if col < 0:
                    for t in range(k):
                        c[row, t] += w * values[-col - 1, t]
                    continue
                if diagonal_at < 0 and col > row:
                    diagonal_at = fill
                    fill += 1
                q_indices[fill] = <out_index_t> col
                q_data[fill] = -w
                fill += 1
            if diagonal_at < 0:
                diagonal_at = fill
            q_indices[diagonal_at] = <out_index_t> row
            q_data[diagonal_at] = <floating> degree
