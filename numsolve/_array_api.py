"""Array namespace and device dispatch.

Every solver decides here, and only here, which implementation serves an input:

* ``"compiled"``: NumPy arrays and SciPy sparse matrices go to the compiled (Cython) kernels;
* ``"cupy"``: CuPy arrays go to the CuPy implementation and stay on their GPU;
* ``"generic"``: any other Array API namespace (torch, array_api_strict, ...) goes to the
  namespace-generic implementation, which keeps arrays in their namespace and on their device.

CuPy is never imported here unless the caller already imported it (the checks of
``array_api_compat`` look at ``sys.modules``), so ``import numsolve`` works without it.
An input that no path supports raises :class:`TypeError` instead of being copied to the host.
"""

from functools import cache
from numbers import Number

import array_api_compat
import numpy as np
import scipy.sparse as sp
from sklearn import get_config

__all__ = [
    "array_namespace",
    "backend_of",
    "check_same_namespace",
    "device_of",
    "dispatch_enabled",
    "estimator_namespace",
    "from_numpy",
    "is_cupy",
    "is_dask_collection",
    "is_numpy",
    "is_torch",
    "to_numpy",
]


def is_numpy(xp):
    """Return True when ``xp`` is NumPy or its array-api-compat wrapper."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp):
    """Return True when ``xp`` is CuPy or its array-api-compat wrapper."""
    return array_api_compat.is_cupy_namespace(xp)


def is_torch(xp):
    """Return True when ``xp`` is torch or its array-api-compat wrapper."""
    return array_api_compat.is_torch_namespace(xp)


def is_dask_collection(obj):
    """True for a dask DataFrame or dask Array (dask itself is not imported)."""
    module = type(obj).__module__
    return module == "dask" or module.startswith(("dask.", "dask_expr"))


def _is_host_array_like(obj):
    """Objects that NumPy converts without leaving the host (lists, pandas, ...)."""
    if isinstance(obj, (list, tuple, Number, np.generic)):
        return True
    return hasattr(obj, "__array__") and not array_api_compat.is_array_api_obj(obj)


@cache
def _numpy_namespace():
    """array-api-compat's NumPy namespace, looked up once (each lookup builds an array and
    inspects it: about 1.5 us, twice or more per fit)."""
    return array_api_compat.array_namespace(np.empty(0))


def array_namespace(*arrays):
    """Return the array-api-compat namespace shared by ``arrays``.

    ``None`` entries are ignored. SciPy sparse matrices, Python sequences and other
    NumPy-convertible objects count as NumPy. Mixing namespaces (say NumPy and torch) or
    passing an object that is not an array raises :class:`TypeError`.

    Parameters
    ----------
    *arrays : array-like, sparse matrix or None
        The inputs of one call.

    Returns
    -------
    xp : module
        The array-api-compat namespace.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve._array_api import array_namespace, is_numpy
    >>> is_numpy(array_namespace(np.ones(3), None))
    True
    """
    namespaces = []
    for index, obj in enumerate(arrays):
        if obj is None:
            continue
        if sp.issparse(obj) or isinstance(obj, np.ndarray) or _is_host_array_like(obj):
            namespaces.append(_numpy_namespace())
        elif array_api_compat.is_array_api_obj(obj):
            namespaces.append(array_api_compat.array_namespace(obj))
        else:
            raise TypeError(
                f"argument {index} has type {type(obj).__module__}.{type(obj).__qualname__}, "
                "which is not an array: numsolve accepts NumPy arrays, SciPy sparse "
                "matrices, CuPy arrays and other Array API arrays (torch, array_api_strict)"
            )
    if not namespaces:
        return _numpy_namespace()
    first = namespaces[0]
    for other in namespaces[1:]:
        if other is not first:
            raise TypeError(
                f"inputs mix array namespaces {first.__name__} and {other.__name__}; "
                "convert them to one library first"
            )
    return first


def device_of(*arrays):
    """Return the device shared by the array inputs (``"cpu"`` for host inputs).

    Raises :class:`ValueError` when the inputs sit on different devices.
    """
    devices = []
    for obj in arrays:
        if obj is None or sp.issparse(obj) or not array_api_compat.is_array_api_obj(obj):
            continue
        devices.append(array_api_compat.device(obj))
    if not devices:
        return "cpu"
    for other in devices[1:]:
        if other != devices[0]:
            raise ValueError(
                f"inputs are on different devices ({devices[0]!r} and {other!r}); "
                "move them to one device first"
            )
    return devices[0]


def backend_of(xp):
    """Return which implementation serves namespace ``xp``.

    Returns
    -------
    {"compiled", "cupy", "generic"}
        ``"compiled"`` for NumPy (and SciPy sparse), ``"cupy"`` for CuPy, ``"generic"`` for
        every other Array API namespace.
    """
    if is_numpy(xp):
        return "compiled"
    if is_cupy(xp):
        return "cupy"
    return "generic"


def require_backend(xp, supported, solver):
    """Raise :class:`TypeError` unless ``solver`` has an implementation for ``xp``.

    Parameters
    ----------
    xp : module
        The input namespace.
    supported : collection of str
        The backends (see :func:`backend_of`) that ``solver`` implements.
    solver : str
        Its name, for the message.

    Returns
    -------
    backend : str
    """
    backend = backend_of(xp)
    if backend == "cupy" and "cupy" not in supported and "generic" in supported:
        backend = "generic"
    if backend not in supported:
        raise TypeError(
            f"{solver} has no implementation for {xp.__name__} arrays; supported: "
            + ", ".join(sorted(supported))
            + ". Convert the input explicitly (numsolve never copies to the host silently)."
        )
    return backend


def dispatch_enabled():
    """Whether scikit-learn's ``array_api_dispatch`` option is on.

    numsolve's estimators follow it: with dispatch off they convert inputs to NumPy as
    scikit-learn does; with it on they keep non-NumPy inputs in their namespace.
    """
    return bool(get_config().get("array_api_dispatch", False))


def estimator_namespace(*arrays):
    """Namespace an estimator should compute in, honouring scikit-learn's dispatch setting."""
    if not dispatch_enabled():
        return _numpy_namespace()
    return array_namespace(*arrays)


def check_same_namespace(X, estimator, attribute, method):
    """Raise :class:`ValueError` when ``X`` is not in the namespace/device of a fitted attribute.

    Estimators call this first thing in ``predict``/``transform`` when scikit-learn's
    ``array_api_dispatch`` is on, so that an input from another library is refused rather than
    silently mixed with fitted arrays.

    Parameters
    ----------
    X : array-like or sparse matrix
        The input of the method.
    estimator : object
        The fitted estimator.
    attribute : str
        A fitted array attribute (``"coef_"``, ``"components_"``); for a list of arrays
        (``"coefs_"``) its first array is compared.
    method : str
        The calling method's name, for the message.
    """
    if not dispatch_enabled():
        return
    fitted = getattr(estimator, attribute)
    if isinstance(fitted, (list, tuple)):
        fitted = fitted[0]
    fitted_xp, input_xp = array_namespace(fitted), array_namespace(X)
    fitted_device, input_device = device_of(fitted), device_of(X)
    if fitted_xp is input_xp and fitted_device == input_device:
        return
    raise ValueError(
        f"{type(estimator).__name__}.{method}() must use the same namespace and device as "
        f"fit: fitted with {fitted_xp.__name__} on {fitted_device!r}, got "
        f"{input_xp.__name__} on {input_device!r}"
    )


def to_numpy(array):
    """Explicit copy of ``array`` to a NumPy array on the host (tests, plotting, reports)."""
    if array is None or isinstance(array, np.ndarray) or sp.issparse(array):
        return array
    if array_api_compat.is_cupy_array(array):
        return array.get()
    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    if array_api_compat.is_array_api_obj(array):
        xp = array_api_compat.array_namespace(array)
        host = xp.asarray(array, device=_host_device(xp, array))
        return np.asarray(host)
    return np.asarray(array)


def follow(array, xp, device):
    """``array`` (a target, sample weights) in namespace ``xp`` on ``device``, copied if needed.

    scikit-learn's rule for mixed inputs: everything follows ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve._array_api import follow
    >>> follow([1.0, 2.0], np, "cpu")
    array([1., 2.])
    """
    if (array_api_compat.is_array_api_obj(array) and array_namespace(array) is xp
            and device_of(array) == device):
        return array
    return from_numpy(to_numpy(array), xp, device)


def _host_device(xp, array):
    """The CPU device of namespace ``xp`` (array_api_strict has several fake devices)."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        return info().default_device()
    return array_api_compat.device(array)


def from_numpy(array, xp, device=None):
    """Move a NumPy array into namespace ``xp`` on ``device`` (no-op for NumPy)."""
    if is_numpy(xp):
        return array
    if device is None:
        return xp.asarray(array)
    return xp.asarray(array, device=device)
