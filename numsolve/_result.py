"""The result object every numsolve solver function returns, and its history recorder."""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["HistoryRecorder", "SolveResult"]


@dataclass(repr=False)
class SolveResult(Mapping):
    """Outcome of a numsolve solver function.

    In the spirit of :class:`scipy.optimize.OptimizeResult`: the common fields below, plus
    solver-specific figures in ``extras`` that read as attributes (``result.gap``). Like
    OptimizeResult it is also a read-only mapping: ``result["x"]``, ``result["gap"]``,
    ``result.keys()`` (the common fields, then the extras).

    Parameters
    ----------
    x : array
        The solution (coefficients, solution vector, factors, ...), in the caller's array
        namespace and on the caller's device.
    n_iter : int
        Iterations (epochs, sweeps, rounds) performed.
    converged : bool
        Whether the stopping criterion was met within the iteration budget.
    message : str
        Why the solver stopped, in words.
    history : dict of str to ndarray
        Per-iteration figures, one array per key, all of the same length: ``"iteration"``,
        ``"elapsed"`` (seconds since the start) and solver figures such as ``"objective"``,
        ``"residual"`` or ``"gap"``.
    extras : dict
        Solver-specific outputs (duality gap, chosen omega, fitted factors, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve import SolveResult
    >>> res = SolveResult(x=np.zeros(2), n_iter=3, converged=True, message="tolerance met",
    ...                   history={"residual": np.array([1.0, 0.1, 0.01])}, extras={"gap": 0.0})
    >>> res.gap, res["n_iter"]
    (0.0, 3)
    >>> list(res.keys())
    ['x', 'n_iter', 'converged', 'message', 'history', 'gap']
    """

    x: object
    n_iter: int
    converged: bool
    message: str
    history: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    def __getattr__(self, name):
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.extras))

    def __getitem__(self, key):
        if key in _KEYS:
            return getattr(self, key)
        if key in self.extras:
            return self.extras[key]
        raise KeyError(key)

    def __iter__(self):
        yield from _KEYS
        yield from (key for key in self.extras if key not in _KEYS)

    def __len__(self):
        return len(_KEYS) + sum(key not in _KEYS for key in self.extras)

    def __repr__(self):
        lines = [
            f"  converged: {self.converged}",
            f"    message: {self.message}",
            f"     n_iter: {self.n_iter}",
            f"          x: {_describe(self.x)}",
        ]
        for key, value in self.extras.items():
            lines.append(f"{key:>11}: {_describe(value)}")
        if self.history:
            keys = ", ".join(self.history)
            length = len(next(iter(self.history.values())))
            lines.append(f"    history: {length} records of {keys}")
        return "SolveResult(\n" + "\n".join(lines) + "\n)"


# The mapping is flat, as OptimizeResult is: the common fields, then the extras by name.
_KEYS = tuple(f.name for f in fields(SolveResult) if f.name != "extras")


def _describe(value):
    """Short text for a field: small values in full, arrays by shape and dtype."""
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "size", 0) > 6:
        return f"array of shape {tuple(shape)}, dtype {value.dtype}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


class HistoryRecorder:
    """Collect per-iteration figures with elapsed wall-clock seconds.

    Parameters
    ----------
    every : int, default=1
        Keep one record every ``every`` calls (the final call is always kept by
        :meth:`record` with ``force=True``).

    Examples
    --------
    >>> from numsolve._result import HistoryRecorder
    >>> rec = HistoryRecorder()
    >>> rec.record(0, residual=1.0)
    >>> rec.record(1, residual=0.5)
    >>> rec.as_dict()["residual"]
    array([1. , 0.5])
    """

    def __init__(self, every=1):
        self.every = max(int(every), 1)
        self._start = time.perf_counter()
        self._records = {"iteration": [], "elapsed": []}
        self._calls = 0

    def record(self, iteration, force=False, **figures):
        """Append one record; figures missing from earlier records are padded with NaN."""
        self._calls += 1
        if not force and (self._calls - 1) % self.every:
            return
        length = len(self._records["iteration"])
        self._records["iteration"].append(int(iteration))
        self._records["elapsed"].append(time.perf_counter() - self._start)
        for key, value in figures.items():
            column = self._records.setdefault(key, [np.nan] * length)
            column.append(float(value))
        for key, column in self._records.items():
            if len(column) == length:
                column.append(np.nan)

    @property
    def elapsed(self):
        """Seconds since the recorder was created."""
        return time.perf_counter() - self._start

    def as_dict(self):
        """The records as a dict of NumPy arrays."""
        return {key: np.asarray(column, dtype=float) for key, column in self._records.items()}
