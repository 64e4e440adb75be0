# Activation codes shared by the GBNN and Sven kernels; the values are those of
# ``numsolve.neural._activations.ACTIVATION_CODES`` (one table for both methods).

cdef enum Activation:
    LOGISTIC = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3
    GELU = 4
