"""Progress reporting shared by the solvers: a tqdm bar at ``verbose > 0``, silent otherwise."""

__all__ = ["progress"]


class _SilentBar:
    """Stand-in for a disabled bar: building a disabled tqdm costs ~60 us, paid on every fit."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def progress(total, verbose=0, desc=None, unit="it"):
    """Return a progress bar for a loop of at most ``total`` steps.

    Parameters
    ----------
    total : int or None
        Iteration budget (the bar may close early when the solver converges).
    verbose : int, default=0
        0 is silent; any positive value shows a bar on standard error.
    desc : str, optional
        Label shown before the bar (the solver's name).
    unit : str, default="it"
        What one step is ("epoch", "sweep", "round", ...).

    Returns
    -------
    tqdm.tqdm or silent stand-in
        Use ``bar.update(1)`` and ``bar.set_postfix(...)`` in the loop and close it (or use it
        as a context manager). When silent an object with the same methods that does nothing.

    Examples
    --------
    >>> from numsolve._progress import progress
    >>> with progress(3, verbose=0, desc="demo") as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    """
    if not verbose or verbose <= 0:
        return _SilentBar()
    # Imported here: tqdm.auto pulls in asyncio (~0.1 s), which a silent fit never needs.
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        leave=True,
        mininterval=0.2,
        dynamic_ncols=True,
    )
