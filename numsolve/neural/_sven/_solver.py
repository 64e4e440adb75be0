"""``sven``: Singular Value Descent for problems whose loss is a sum of squared residual rows."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..._array_api import array_namespace, device_of, from_numpy, is_numpy, require_backend
from ..._progress import progress
from ..._result import HistoryRecorder, SolveResult
from ..._validation import check_random_state, check_xp_array
from ._pinv import gram_weights, svd_step

__all__ = ["descend", "sven"]

_METHODS = ("gram", "svd", "randomized")
MAX_HALVINGS = 20


def sven(residuals, x0, *, jac=None, gram=None, method="gram", k=None, rtol=1e-3,
         learning_rate=1.0, batch_size=None, microbatch_size=1, max_iter=100, tol=1e-10,
         safeguard=True, callback=None, random_state=None, verbose=0):
    """Minimise ``½ Σ r_i(x)²`` by Sven steps ``x ← x - η J⁺_k r`` on (mini-batches of) rows.

    Each step solves the linearised system ``J d = r`` of the current batch of residual rows
    in the minimum-norm sense, with the truncated pseudo-inverse ``J⁺_k`` that keeps the
    ``min(k, kmax)`` largest singular values (``kmax`` counts those above ``rtol`` times the
    largest). With ``k`` at least the rank and full column rank this is the Gauss-Newton step;
    over-parametrised (more parameters than rows) it is the minimum-norm natural-gradient step
    of Bright-Thonney, Harvey, Lukas and Thaler (2026). By default the step is computed in
    sample space from the Gram matrix ``J Jᵀ`` (float64) and its eigendecomposition, never
    from an SVD of ``J``.

    Parameters
    ----------
    residuals : callable
        ``residuals(x)`` returns the residual rows, shape ``(m,)``. With ``batch_size`` set it
        is called as ``residuals(x, rows)`` with ``rows`` an integer index array (in ``x0``'s
        namespace) or ``slice(None)`` (every row) and returns those rows only.
    x0 : array of shape (p,)
        Starting point (NumPy, CuPy, torch or any Array API array); not modified.
    jac : callable, optional
        ``jac(x)`` (or ``jac(x, rows)``) returns the Jacobian of the rows, shape ``(m, p)``.
    gram : callable, optional
        ``gram(x)`` (or ``gram(x, rows)``) returns ``(r, G, rmatvec)``: the rows, their Gram
        matrix ``J Jᵀ`` and a function ``w -> Jᵀ w``; lets a model (a network) supply the Gram
        matrix without forming ``J``. Exactly one of ``jac`` and ``gram`` is required.
    method : {"gram", "svd", "randomized"}, default="gram"
        How the step is computed from ``jac``: eigendecomposition of the smaller Gram matrix
        (``J Jᵀ`` when the batch has at most as many rows as parameters, ``Jᵀ J``
        otherwise; float64), full thin SVD of ``J``, or randomized SVD of rank ``k``
        (NumPy). ``gram`` supports only "gram".
    k : int, optional
        Rank cap of the pseudo-inverse (``None``: only ``rtol`` truncates).
    rtol : float, default=1e-3
        Relative singular-value cut.
    learning_rate : float, default=1.0
        Step fraction ``η`` (1 is the full Gauss-Newton step).
    batch_size : int, optional
        Rows per step, drawn without replacement each epoch; ``None`` uses all rows.
    microbatch_size : int, default=1
        Merge consecutive rows of a batch into groups of this many, each group one row
        ``||r_g||`` (the batch cost is unchanged): the pseudo-inverse then has
        ``ceil(batch / microbatch_size)`` rows, which bounds the eigenproblem's size and
        the step's rank.
    max_iter : int, default=100
        Epochs (full passes over the rows).
    tol : float or None, default=1e-10
        Converged when the cost ``½||r||²`` falls by less than ``tol`` times itself over an
        epoch, or below ``eps²`` times its initial value (residuals at working precision).
        ``None`` runs ``max_iter`` epochs as a fixed budget (as network training usually
        does): only vanishing residuals end it sooner, and running out of epochs is the
        requested stop, not a failure, so it raises no ConvergenceWarning.
    safeguard : bool, default=True
        Halve a step (up to 20 times) while it increases the batch cost; a step that cannot
        be made to decrease it is skipped.
    callback : callable, optional
        ``callback(x, epoch, cost)`` after every epoch; returning True stops the solver.
    random_state : int, RandomState or None
        Seeds the batch order and the randomized SVD.
    verbose : int, default=0
        A progress bar over epochs when positive.

    Returns
    -------
    SolveResult
        ``x`` (caller's namespace and device), ``n_iter`` (epochs), ``converged``,
        ``message``, ``history`` (``cost``, ``rank``, ``step_norm`` per epoch) and extras
        ``cost``, ``fun`` (the final residual rows) and ``n_steps``.

    Examples
    --------
    Fit ``y = a exp(b t)`` by least squares:

    >>> import numpy as np
    >>> from numsolve.neural import sven
    >>> t = np.linspace(0, 1, 20)
    >>> y = 2.0 * np.exp(-1.5 * t)
    >>> res = sven(lambda x: x[0] * np.exp(x[1] * t) - y, np.array([1.0, 0.0]),
    ...            jac=lambda x: np.stack([np.exp(x[1] * t), x[0] * t * np.exp(x[1] * t)], 1),
    ...            rtol=1e-12)
    >>> np.round(res.x, 6), res.converged
    (array([ 2. , -1.5]), True)
    """
    if (isinstance(microbatch_size, bool) or not isinstance(microbatch_size, (int, np.integer))
            or microbatch_size < 1):
        raise ValueError(f"microbatch_size must be a positive integer, got {microbatch_size!r}")
    x0, xp, n_rows, rng, k = _validate(residuals, x0, jac, gram, method, k, rtol,
                                       learning_rate, batch_size, max_iter, tol, callback,
                                       random_state)
    if is_numpy(xp):
        xp = np  # NumPy 2 speaks the Array API itself, without the wrapper's per-call cost
    device = device_of(x0)
    batched = batch_size is not None

    def all_rows(x):
        return residuals(x, slice(None)) if batched else residuals(x)

    def run_epoch(x):
        order = rng.permutation(n_rows) if batched else None
        step_sq, rank, n_batches = 0.0, 0, 0
        for start in range(0, n_rows if batched else 1, batch_size or 1):
            rows = from_numpy(order[start:start + batch_size], xp, device) if batched else None
            args = (x, rows) if batched else (x,)
            x, step, rank = _step(residuals, jac, gram, method, k, rtol, learning_rate,
                                  safeguard, microbatch_size, rng, xp, args)
            step_sq += step
            n_batches += 1
        return x, step_sq, rank, n_batches

    return descend(x0, all_rows, run_epoch, max_iter=max_iter, tol=tol, callback=callback,
                   verbose=verbose, xp=xp)


def descend(x0, all_rows, run_epoch, *, max_iter, tol, callback=None, verbose=0, xp=np):
    """The epoch loop of :func:`sven`: history, stopping rules, callback and the result.

    Parameters
    ----------
    x0 : array of shape (p,)
        Validated starting point; copied, never modified.
    all_rows : callable
        ``all_rows(x)`` returns every residual row, shape ``(m,)``.
    run_epoch : callable
        ``run_epoch(x)`` takes the Sven steps of one epoch and returns ``(x, step_sq, rank,
        n_steps)``: the new point (it may update ``x`` in place), the summed squared step
        norms, the rank of the last step and the number of steps.
    max_iter, tol, callback, verbose
        As in :func:`sven` (``tol=None``: a fixed budget of ``max_iter`` epochs).
    xp : namespace, default=numpy

    Returns
    -------
    SolveResult
        As :func:`sven`'s.
    """
    x = xp.asarray(x0, copy=True)
    rows = all_rows(x)
    if getattr(rows, "ndim", None) != 1:
        raise ValueError("residuals must return a 1-D array of rows, got shape "
                         f"{getattr(rows, 'shape', None)}")
    cost = _cost(rows, xp)
    if not np.isfinite(cost):
        raise ValueError("residuals(x0) contains NaN or infinity")
    recorder = HistoryRecorder()
    recorder.record(0, cost=cost, rank=np.nan, step_norm=np.nan)
    floor = float(xp.finfo(x.dtype).eps) ** 2 * cost
    converged, message = cost == 0.0, "the cost is zero"
    epoch = n_steps = 0
    with progress(max_iter, verbose, desc="sven", unit="epoch") as bar:
        while not converged and epoch < max_iter:
            epoch += 1
            x, step_sq, rank, n_batches = run_epoch(x)
            n_steps += n_batches
            previous = cost
            rows = all_rows(x)  # at the returned x: its residuals, no second pass at the end
            cost = _cost(rows, xp)
            recorder.record(epoch, cost=cost, rank=rank, step_norm=np.sqrt(step_sq))
            bar.update(1)
            bar.set_postfix(cost=f"{cost:.3e}")
            if not np.isfinite(cost):
                message = "the cost became infinite or NaN"
                break
            if cost <= floor:
                converged = True
                message = "the residuals vanished (to working precision)"
            elif tol is not None and abs(previous - cost) <= tol * max(cost, previous):
                converged = True
                message = "the cost stopped decreasing (relative change below tol)"
            elif callback is not None and callback(x, epoch, cost):
                message = "stopped by the callback"
                break
        else:
            if not converged:
                message = (f"max_iter={max_iter} epochs reached" if tol is not None
                           else f"the budget of max_iter={max_iter} epochs was run (tol=None)")
    if not converged and tol is not None and message != "stopped by the callback":
        warnings.warn(f"sven did not converge: {message}", ConvergenceWarning, stacklevel=3)
    return SolveResult(x=x, n_iter=epoch, converged=converged, message=message,
                       history=recorder.as_dict(),
                       extras={"cost": cost, "fun": rows, "n_steps": n_steps})


def _validate(residuals, x0, jac, gram, method, k, rtol, learning_rate, batch_size,
              max_iter, tol, callback, random_state):
    if not callable(residuals):
        raise TypeError(f"residuals must be callable, got {type(residuals).__name__}")
    if (jac is None) == (gram is None):
        raise ValueError("pass exactly one of jac and gram")
    for name, value in (("jac", jac), ("gram", gram), ("callback", callback)):
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if gram is not None and method != "gram":
        raise ValueError(f"method={method!r} needs jac; gram supplies only J Jᵀ")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer or None, got {k!r}")
        k = int(k)
    if method == "randomized" and k is None:
        raise ValueError("method='randomized' needs the rank k")
    _positive_number(rtol, "rtol", allow_zero=True, upper=1.0)
    _positive_number(learning_rate, "learning_rate")
    if tol is not None:
        _positive_number(tol, "tol", allow_zero=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if batch_size is not None and (isinstance(batch_size, bool)
                                   or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    xp = array_namespace(x0)
    require_backend(xp, ("compiled", "cupy", "generic"), "sven")
    if is_numpy(xp):
        x0 = np.asarray(x0)
    x0 = check_xp_array(x0, xp, "x0", ndim=1)
    if method == "randomized" and not is_numpy(xp):
        raise TypeError("method='randomized' is NumPy only; use method='gram' for "
                        f"{xp.__name__} arrays")
    n_rows = None
    if batch_size is not None:
        n_rows = int(residuals(x0, slice(None)).shape[0])
    return x0, xp, n_rows, check_random_state(random_state), k


def _positive_number(value, name, allow_zero=False, upper=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero) or (
            upper is not None and value > upper):
        bounds = "[0, " if allow_zero else "(0, "
        bounds += f"{upper}]" if upper is not None else "inf)"
        raise ValueError(f"{name} must lie in {bounds}, got {value!r}")


def _cost(r, xp):
    return 0.5 * float(xp.sum(r * r))


def _microbatch(r, size, xp):
    """Rows ``R_g = ||r_g||`` of consecutive groups of ``size`` rows, and the ``(M, B)`` map C.

    ``R_g² = Σ_{i∈g} r_i²`` keeps the batch cost, and the Jacobian of the grouped rows is
    ``C J`` with ``C[g, i] = r_i / R_g`` for ``i`` in group ``g``.
    """
    n = r.shape[0]
    n_groups = -(-n // size)
    group = from_numpy(np.arange(n) // size, xp, device_of(r))
    ids = from_numpy(np.arange(n_groups), xp, device_of(r))
    member = xp.astype(ids[:, None] == group[None, :], r.dtype)
    grouped = xp.sqrt(xp.matmul(member, r * r))
    safe = xp.where(grouped > 0, grouped, xp.ones_like(grouped))
    return grouped, member * (r / xp.take(safe, group))[None, :]


def _step(residuals, jac, gram, method, k, rtol, learning_rate, safeguard, microbatch_size,
          rng, xp, args):
    """One Sven step on a batch; returns the new x, the squared step norm and the rank."""
    x = args[0]
    if gram is not None:
        r, G, rmatvec = gram(*args)
        rows = r
        if microbatch_size > 1:
            rows, C = _microbatch(r, microbatch_size, xp)
            C64 = xp.astype(C, G.dtype)
            G = xp.matmul(xp.matmul(C64, G), xp.permute_dims(C64, (1, 0)))
            full_rmatvec = rmatvec

            def rmatvec(w):
                return full_rmatvec(xp.matmul(xp.permute_dims(C, (1, 0)), w))

        w, rank = gram_weights(G, rows, k, rtol, xp)
        direction = rmatvec(w)
    else:
        r = rows = residuals(*args)
        J = jac(*args)
        if microbatch_size > 1:
            rows, C = _microbatch(r, microbatch_size, xp)
            J = xp.matmul(xp.astype(C, J.dtype), J)
        if method == "gram":
            wide = xp.astype(J, xp.float64) if J.dtype == xp.float32 and is_numpy(xp) else J
            wide_t = xp.permute_dims(wide, (1, 0))
            if J.shape[0] <= J.shape[1]:  # sample space: d = Jᵀ (J Jᵀ)⁺_k r
                w, rank = gram_weights(xp.matmul(wide, wide_t), rows, k, rtol, xp)
                direction = xp.matmul(xp.permute_dims(J, (1, 0)), w)
            else:  # parameter space: d = (Jᵀ J)⁺_k Jᵀ r, the smaller Gram matrix
                direction, rank = gram_weights(xp.matmul(wide_t, wide),
                                               xp.matmul(wide_t, xp.astype(rows, wide.dtype)),
                                               k, rtol, xp)
        else:
            direction, rank = svd_step(J, rows, k, rtol, method=method, random_state=rng,
                                       xp=xp)
    direction = xp.astype(direction, x.dtype, copy=False)
    eta = learning_rate
    if not safeguard:
        step = eta * direction
        return x - step, float(xp.sum(step * step)), rank
    before = _cost(r, xp)
    for _ in range(MAX_HALVINGS):
        candidate = x - eta * direction
        after = _cost(residuals(candidate, *args[1:]), xp)
        if after <= before:
            step = eta * direction
            return candidate, float(xp.sum(step * step)), rank
        eta *= 0.5
    return x, 0.0, rank
