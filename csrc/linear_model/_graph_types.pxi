# Fused types of the graph, tree, quadratic and proximal Newton kernels (and the harmonic
# system built for them): values in float32 or float64, CSR indices as SciPy makes them,
# int32 or int64.

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long
