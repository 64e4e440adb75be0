"""Namespace and device dispatch: NumPy, SciPy sparse, array_api_strict (two devices), torch."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve._array_api import (
    array_namespace,
    backend_of,
    device_of,
    estimator_namespace,
    follow,
    from_numpy,
    is_cupy,
    is_numpy,
    is_torch,
    require_backend,
    to_numpy,
)


def test_numpy_and_sparse_go_to_compiled_kernels():
    for obj in (np.ones(3), sp.csr_matrix(np.eye(3)), sp.csc_array(np.eye(2)), [1.0, 2.0]):
        xp = array_namespace(obj)
        assert is_numpy(xp)
        assert backend_of(xp) == "compiled"
    assert device_of(np.ones(2), sp.eye(2)) == "cpu"


def test_none_is_ignored_and_default_is_numpy():
    assert is_numpy(array_namespace(None, np.ones(2), None))
    assert is_numpy(array_namespace())


@pytest.mark.parametrize("bad", ["text", object(), {"a": 1}])
def test_non_arrays_raise_type_error(bad):
    with pytest.raises(TypeError, match="not an array"):
        array_namespace(bad)


def test_generic_namespace_keeps_arrays_on_their_device(xp_device):
    xp, device = xp_device
    x = xp.asarray([1.0, 2.0, 3.0], device=device)
    found = array_namespace(x, None)
    assert not is_numpy(found) and not is_cupy(found)
    assert backend_of(found) in ("generic", "cupy")
    assert device_of(x) == device
    back = from_numpy(np.arange(3.0), found, device_of(x))
    assert device_of(back) == device
    np.testing.assert_array_equal(to_numpy(back), np.arange(3.0))
    np.testing.assert_array_equal(to_numpy(x), [1.0, 2.0, 3.0])


def test_mixing_namespaces_is_a_type_error(xp_device):
    xp, device = xp_device
    with pytest.raises(TypeError, match="mix array namespaces"):
        array_namespace(np.ones(2), xp.asarray([1.0], device=device))


def test_mixing_devices_is_a_value_error():
    strict = pytest.importorskip("array_api_strict")
    a = strict.asarray([1.0], device=strict.Device("CPU_DEVICE"))
    b = strict.asarray([1.0], device=strict.Device("device1"))
    with pytest.raises(ValueError, match="different devices"):
        device_of(a, b)


def test_follow_moves_a_target_to_the_namespace_and_device_of_x():
    strict = pytest.importorskip("array_api_strict")
    cpu, other = strict.Device("CPU_DEVICE"), strict.Device("device1")
    y = strict.asarray([1.0, 2.0], device=other)
    moved = follow(y, array_namespace(y), cpu)
    assert device_of(moved) == cpu
    np.testing.assert_array_equal(to_numpy(moved), [1.0, 2.0])
    assert follow(moved, array_namespace(moved), cpu) is moved  # already there: no copy
    host = follow(y, np, "cpu")
    assert isinstance(host, np.ndarray) and host.tolist() == [1.0, 2.0]


def test_require_backend_names_the_solver_and_refuses_host_copies():
    strict = pytest.importorskip("array_api_strict")
    xp = array_namespace(strict.asarray([1.0]))
    with pytest.raises(TypeError, match="mysolver has no implementation.*array_api_strict"):
        require_backend(xp, {"compiled"}, "mysolver")
    assert require_backend(xp, {"compiled", "generic"}, "mysolver") == "generic"
    assert require_backend(array_namespace(np.ones(1)), {"compiled"}, "s") == "compiled"


def test_estimators_follow_sklearn_array_api_dispatch():
    strict = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    x = strict.asarray([1.0, 2.0])
    assert is_numpy(estimator_namespace(x))
    with config_context(array_api_dispatch=True):
        assert not is_numpy(estimator_namespace(x))


def test_torch_cpu_tensors_are_recognised():
    torch = pytest.importorskip("torch")
    xp = array_namespace(torch.ones(3, dtype=torch.float64))
    assert is_torch(xp) and backend_of(xp) == "generic"


def test_import_does_not_pull_in_cupy_or_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys, numsolve, numsolve._array_api, numsolve._validation; "
            "print('cupy' in sys.modules, 'torch' in sys.modules)")
    # Started outside the repository root, whose unbuilt source tree would be imported.
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_check_same_namespace_refuses_other_libraries_under_dispatch():
    strict = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    from numsolve._array_api import check_same_namespace

    class Fitted:
        coef_ = strict.asarray([1.0, 2.0], device=strict.Device("device1"))

    with config_context(array_api_dispatch=True):
        check_same_namespace(strict.asarray([1.0], device=strict.Device("device1")),
                             Fitted(), "coef_", "predict")
        with pytest.raises(ValueError, match=r"Fitted.predict\(\) must use the same namespace"):
            check_same_namespace(np.ones(2), Fitted(), "coef_", "predict")
        with pytest.raises(ValueError, match="same namespace and device"):
            check_same_namespace(strict.asarray([1.0]), Fitted(), "coef_", "predict")
    check_same_namespace(np.ones(2), Fitted(), "coef_", "predict")  # dispatch off: no check
