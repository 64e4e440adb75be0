"""How many OpenMP threads a kernel call gets: one for small work, the pool otherwise.

A parallel region costs a fork and a barrier; on small problems that overhead exceeds the work,
and on a machine shared with other busy processes each barrier waits for a descheduled thread.
Work below :data:`SERIAL_WORK` (observed entries times rank) therefore runs on one thread. The
kernels share rows among threads without changing the result, so the choice affects time only.
"""

from ._entries import max_threads

__all__ = ["SERIAL_WORK", "kernel_threads"]

SERIAL_WORK = 1_000_000
"""Observed entries times rank below which a kernel runs on a single thread."""


def kernel_threads(work):
    """Threads for a kernel call on ``work`` (observed entries times rank).

    Examples
    --------
    >>> from numsolve.completion._threads import kernel_threads
    >>> kernel_threads(10)
    1
    """
    return 1 if work < SERIAL_WORK else max_threads()
