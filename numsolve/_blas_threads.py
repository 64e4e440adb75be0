"""BLAS threads for products too small to share: one thread below a work bound.

On a small machine a threaded BLAS call waits for every thread it wakes; when another
process holds a core that wait is a scheduler time slice, and the waiting threads spin on
CPU time meanwhile. A product of a million multiply-adds takes about 0.1 ms on one thread,
less than one such wait: the solvers run their small problems under a one-thread limit
(threadpoolctl's, which the caller's own limit outlasts) and leave larger ones to the
caller's threads. Measured on 2 cores shared with other work (CPU time, default threads
against one): a (10, 1797) @ (1797, 64) product 0.58 / 0.14 ms (median of 15); a
(10, 20000) @ (20000, 500) one 96 / 17 ms, so at this load no size paid, and the bounds
are set where an idle machine's threads could not gain much either.

One controller serves every package (the linear-model solvers, the Newton finish, the
nearest-neighbour search, GBNN's stage fits): building one scans the loaded libraries.
"""

import contextlib

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads_for", "one_blas_thread"]

_CONTROLLER = ThreadpoolController()  # built once: building one scans the loaded libraries
# Below this many multiply-adds no BLAS call threads (OpenBLAS runs a matrix-vector product
# of fewer than 2304 x 4 entries, and every smaller product, on one thread), so setting a
# limit, 15 us on entry and exit, would only cost: Lasso() on diabetes 168 -> 144 us
_NEVER_THREADED = 9216


def blas_threads_for(work, bound):
    """The BLAS thread limit for a solve whose products cost ``work`` multiply-adds each:
    one thread when ``work <= bound``, the caller's threads (no limit) otherwise or where
    the products are too small for BLAS to thread at all.

    Parameters
    ----------
    work : int
        Multiply-adds of the solve's typical product by ``X``.
    bound : int
        The largest ``work`` run on one thread.

    Returns
    -------
    context manager
    """
    if _NEVER_THREADED <= work <= bound:
        return one_blas_thread()
    return contextlib.nullcontext()


def one_blas_thread():
    """A one-thread BLAS limit, for loops of one-vector products (a threaded dot of two
    columns waits on its threads at every call)."""
    return _CONTROLLER.limit(limits=1, user_api="blas")
