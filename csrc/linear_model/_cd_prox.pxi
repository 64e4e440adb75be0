# The proximal step of the penalty family ``l1 |w| + (l2/2) w^2`` (+ the indicator of w >= 0),
# shared by the coordinate-descent and greedy-heap kernels.

cdef struct Penalty:
    double l1
    double l2
    bint positive


cdef inline double prox(double v, double step, Penalty pen) noexcept nogil:
    """``argmin_u (u - v)^2 / (2 step) + g(u)`` for one coordinate."""
    cdef double shrink = step * pen.l1
    cdef double out
    if v > shrink:
        out = v - shrink
    elif v < -shrink and not pen.positive:
        out = v + shrink
    else:
        out = 0.0
    return out / (1.0 + step * pen.l2)
