# The BLAS routines of the completion kernels, as function pointers taken from SciPy's
# ``scipy.linalg.cython_blas`` when the module loads: the pointers ``cimport
# scipy.linalg.cython_blas`` would give, without needing SciPy's declaration files at build
# time (SciPy is a run-time dependency, not a build requirement).

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

ctypedef void (*dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*,
                         int*, double*, double*, int*) noexcept nogil
ctypedef void (*dgemv_t)(char*, int*, int*, double*, double*, int*, double*, int*, double*,
                         double*, int*) noexcept nogil


cdef void* _blas_routine(str name) except NULL:
    from scipy.linalg import cython_blas
    capsule = cython_blas.__pyx_capi__[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef dgemm_t dgemm = <dgemm_t>_blas_routine("dgemm")
cdef dgemv_t dgemv = <dgemv_t>_blas_routine("dgemv")
