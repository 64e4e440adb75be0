# The BLAS and LAPACK routines the compiled kernels call, as function pointers taken from
# SciPy's ``scipy.linalg.cython_blas`` / ``cython_lapack`` when a module loads: the pointers
# ``cimport scipy.linalg.cython_blas`` would give, without needing SciPy's declaration files
# at build time (SciPy is a run-time dependency, not a build requirement). One file for every
# area, included as ``include "<relative path>/_blas.pxi"``.

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.stdlib cimport free as _free, malloc as _malloc

ctypedef void (*dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*,
                         int*, double*, double*, int*) noexcept nogil
ctypedef void (*sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*, float*,
                         int*, float*, float*, int*) noexcept nogil
ctypedef void (*dgemv_t)(char*, int*, int*, double*, double*, int*, double*, int*, double*,
                         double*, int*) noexcept nogil
ctypedef void (*sgemv_t)(char*, int*, int*, float*, float*, int*, float*, int*, float*,
                         float*, int*) noexcept nogil
ctypedef double (*ddot_t)(int*, double*, int*, double*, int*) noexcept nogil
ctypedef float (*sdot_t)(int*, float*, int*, float*, int*) noexcept nogil
ctypedef void (*dsyrk_t)(char*, char*, int*, int*, double*, double*, int*, double*, double*,
                         int*) noexcept nogil
ctypedef void (*dsyevd_t)(char*, char*, int*, double*, int*, double*, double*, int*, int*,
                          int*, int*) noexcept nogil
ctypedef void (*dgesv_t)(int*, int*, double*, int*, int*, double*, int*, int*) noexcept nogil


cdef void* _routine(module, str name) except NULL:
    capsule = module.__pyx_capi__[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


from scipy.linalg import cython_blas as _cython_blas, cython_lapack as _cython_lapack

cdef dgemm_t dgemm = <dgemm_t>_routine(_cython_blas, "dgemm")
cdef sgemm_t sgemm = <sgemm_t>_routine(_cython_blas, "sgemm")
cdef dgemv_t dgemv = <dgemv_t>_routine(_cython_blas, "dgemv")
cdef sgemv_t sgemv = <sgemv_t>_routine(_cython_blas, "sgemv")
cdef ddot_t ddot = <ddot_t>_routine(_cython_blas, "ddot")
cdef sdot_t sdot = <sdot_t>_routine(_cython_blas, "sdot")
cdef dsyrk_t dsyrk = <dsyrk_t>_routine(_cython_blas, "dsyrk")
cdef dsyevd_t dsyevd = <dsyevd_t>_routine(_cython_lapack, "dsyevd")
cdef dgesv_t dgesv = <dgesv_t>_routine(_cython_lapack, "dgesv")


cdef inline bint solve_symmetric_system(int n, double* A, double* b) noexcept nogil:
    """Overwrite ``b`` with the solution of the symmetric ``n x n`` system ``A x = b``
    (``A`` row-major, overwritten by its factors) by LAPACK's LU with partial pivoting, which
    also takes indefinite or semi-definite ``A``; False when a pivot is exactly zero."""
    cdef int one = 1, info = 0
    cdef int* pivots = <int*>_malloc(n * sizeof(int))
    if pivots == NULL:
        return False
    # symmetric, so the row-major array is also the column-major one LAPACK reads
    dgesv(&n, &one, A, &n, pivots, b, &n, &info)
    _free(pivots)
    return info == 0
