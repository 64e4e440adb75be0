# Activation codes shared by the GBNN and Sven kernels; the values are those of
# ``numsolve.neural._activations.ACTIVATION_CODES`` (one table for both methods).

from libc.math cimport exp, tanh, sqrt

cdef enum Activation:
    LOGISTIC = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3
    GELU = 4

cdef double _GELU_C = sqrt(2.0 / 3.141592653589793)


cdef inline double activate_scalar(double z, int code, double* slope) noexcept nogil:
    """Activation value at ``z``; its derivative goes to ``slope``."""
    cdef double t, a
    if code == GELU:  # tanh approximation
        t = tanh(_GELU_C * (z + 0.044715 * z * z * z))
        slope[0] = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * z * z)
        return 0.5 * z * (1.0 + t)
    if code == TANH:
        a = tanh(z)
        slope[0] = 1.0 - a * a
        return a
    if code == RELU:
        slope[0] = 1.0 if z > 0 else 0.0
        return z if z > 0.0 else 0.0
    if code == LOGISTIC:
        a = 1.0 / (1.0 + exp(-z))
        slope[0] = a * (1.0 - a)
        return a
    slope[0] = 1.0
    return z
