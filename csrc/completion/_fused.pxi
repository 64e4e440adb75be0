# The element and index types every completion kernel is compiled for: factors and data in
# float32 or float64, CSR/COO indices in int32 or int64.

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long
