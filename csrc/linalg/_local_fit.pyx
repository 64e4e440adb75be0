# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Local linear fit at one point from its nearest stored readings, for the context model.

The default omega learner predicts each system's Young omega from the readings of the
systems with the nearest contexts; this runs once per system, so it is one compiled call
(distances, the ``k`` nearest kept by insertion, the normal equations of a linear fit
centred at the point, their solution by LAPACK) instead of a dozen NumPy calls.
"""

include "../_blas.pxi"


def local_linear_intercept(const double[:, ::1] points, const double[::1] values,
                           Py_ssize_t kept, const double[::1] here, const double[::1] span,
                           Py_ssize_t k, double ridge, double[::1] nearest_values,
                           Py_ssize_t[::1] nearest, double[::1] work):
    """Intercept of the linear fit of ``values`` on the scaled offsets ``(points - here) /
    span`` over the ``k`` rows of ``points[:kept]`` nearest to ``here`` (all of them where
    ``kept <= k``), with ``ridge * count`` added to the slope part of the normal equations.

    ``nearest`` (length ``k``) and ``nearest_values`` receive the rows used and their values
    (the first ``count`` entries); ``work`` holds at least ``(d + 1) * (d + 3) + k`` doubles.
    Returns ``(intercept, count)``. Rows at equal distance are taken in storage order.
    """
    cdef Py_ssize_t d = points.shape[1], m = d + 1
    cdef Py_ssize_t i, j, a, c, row, count = 0
    cdef double dist, diff
    cdef double* gram = &work[0]
    cdef double* rhs = &work[m * m]
    cdef double* distances = &work[m * m + m]
    cdef double* basis = &work[m * m + m + k]
    with nogil:
        for i in range(kept):
            dist = 0.0
            for j in range(d):
                diff = (points[i, j] - here[j]) / span[j]
                dist += diff * diff
            if count == k and dist >= distances[count - 1]:
                continue
            c = count if count < k else k - 1
            while c > 0 and distances[c - 1] > dist:
                distances[c] = distances[c - 1]
                nearest[c] = nearest[c - 1]
                c -= 1
            distances[c] = dist
            nearest[c] = i
            if count < k:
                count += 1
        for a in range(m * m + m):
            work[a] = 0.0
        for c in range(count):
            row = nearest[c]
            nearest_values[c] = values[row]
            basis[0] = 1.0
            for j in range(d):
                basis[j + 1] = (points[row, j] - here[j]) / span[j]
            for a in range(m):
                rhs[a] += basis[a] * values[row]
                for j in range(m):
                    gram[a * m + j] += basis[a] * basis[j]
        for a in range(1, m):
            gram[a * m + a] += ridge * count
        solve_symmetric_system(<int>m, gram, rhs)
    return rhs[0], count
