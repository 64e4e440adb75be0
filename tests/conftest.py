"""Shared test conventions: the ``gpu`` marker, array namespaces."""

import os

# scikit-learn's array_api_dispatch needs SciPy's Array API mode, set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402  (after SCIPY_ARRAY_API is set)
import pytest  # noqa: E402


def _cuda_available():
    try:
        import cupy
    except Exception:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a test skipped for a missing package fails: no claim may go unchecked there.

    The test extra installs every package a test imports (peers, torch on CPU); only the
    ``gpu`` tests may skip. CI services set the ``CI`` variable, as ``.ci/run``'s runner does.
    """
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CI") and isinstance(report.longrepr, tuple)):
        return
    reason = report.longrepr[2]
    if "could not import" in reason:
        report.outcome = "failed"
        report.longrepr = (f"{reason}: in CI the test extra must install it "
                           "(pyproject.toml, [project.optional-dependencies] test)")


def _namespace_params():
    """(name, device) pairs for the Array API namespaces installed here."""
    params = [pytest.param(("array_api_strict", None), id="array_api_strict")]
    params.append(pytest.param(("array_api_strict", "device1"), id="array_api_strict-device1"))
    params.append(pytest.param(("torch", "cpu"), id="torch-cpu"))
    params.append(pytest.param(("cupy", None), id="cupy", marks=pytest.mark.gpu))
    return params


@pytest.fixture(params=_namespace_params())
def xp_device(request):
    """An ``(xp, device)`` pair for a non-NumPy Array API namespace; skips when missing.

    ``xp`` is the array-api-compat wrapped namespace, ``device`` the device to create
    arrays on (array_api_strict's fake second device included).
    """
    name, device_name = request.param
    module = pytest.importorskip(name)
    import array_api_compat

    xp = array_api_compat.array_namespace(module.asarray([1.0]))
    if name == "array_api_strict":
        device = module.Device(device_name) if device_name else module.Device("CPU_DEVICE")
    elif name == "torch":
        device = module.device(device_name)
    else:
        device = None
    return xp, device


@pytest.fixture
def rng():
    """A seeded NumPy generator."""
    return np.random.default_rng(0)
