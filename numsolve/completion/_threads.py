"""How many Numba threads a kernel call gets: one for small work, the pool otherwise.

A parallel region costs a fork and a barrier; on small problems that overhead exceeds the work,
and on a machine shared with other busy processes each barrier waits for a descheduled thread.
Work below :data:`SERIAL_WORK` (observed entries times rank) therefore runs on one thread.
"""

from contextlib import contextmanager

import numba

__all__ = ["SERIAL_WORK", "kernel_threads"]

SERIAL_WORK = 1_000_000
"""Observed entries times rank below which a kernel runs on a single thread."""


@contextmanager
def kernel_threads(work):
    """Run the enclosed kernel calls on one thread when ``work`` is below :data:`SERIAL_WORK`.

    Examples
    --------
    >>> import numba
    >>> from numsolve.completion._threads import kernel_threads
    >>> with kernel_threads(10):
    ...     numba.get_num_threads()
    1
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(1 if work < SERIAL_WORK else previous)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
