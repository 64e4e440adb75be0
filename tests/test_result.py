"""SolveResult, history recording and convergence plots."""

import numpy as np
import pytest

from numsolve import SolveResult
from numsolve._result import HistoryRecorder


def test_extras_read_as_attributes_and_repr_is_readable():
    res = SolveResult(x=np.zeros(100), n_iter=7, converged=False, message="max_iter reached",
                      history={"residual": np.ones(7)}, extras={"gap": 1e-3})
    assert res.gap == 1e-3
    assert "gap" in dir(res)
    text = repr(res)
    assert "converged: False" in text and "max_iter reached" in text
    assert "array of shape (100,)" in text and "7 records of residual" in text
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        res.missing


def test_result_pickles():
    import pickle

    res = SolveResult(np.arange(3.0), 1, True, "ok", extras={"omega": 1.5})
    again = pickle.loads(pickle.dumps(res))
    assert again.omega == 1.5 and again.converged


def test_history_recorder_aligns_columns_and_thins():
    rec = HistoryRecorder()
    rec.record(0, objective=3.0)
    rec.record(1, objective=2.0, gap=0.5)
    rec.record(2, gap=0.1)
    hist = rec.as_dict()
    np.testing.assert_array_equal(hist["iteration"], [0, 1, 2])
    np.testing.assert_array_equal(hist["objective"], [3.0, 2.0, np.nan])
    np.testing.assert_array_equal(hist["gap"], [np.nan, 0.5, 0.1])
    assert np.all(np.diff(hist["elapsed"]) >= 0)
    thin = HistoryRecorder(every=10)
    for i in range(25):
        thin.record(i, residual=1.0 / (i + 1), force=(i == 24))
    np.testing.assert_array_equal(thin.as_dict()["iteration"], [0, 10, 20, 24])


def test_plot_convergence_draws_each_history():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from numsolve.plotting import plot_convergence

    a = SolveResult(None, 3, True, "ok", history={"iteration": np.arange(3.0),
                                                 "residual": np.array([1, 0.1, 0.01])})
    b = SolveResult(None, 2, True, "ok", history={"iteration": np.arange(2.0),
                                                 "residual": np.array([1, 0.5])})
    ax = plot_convergence({"fast": a, "slow": b})
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1, 0.1, 0.01])
    with pytest.raises(ValueError, match="no 'gap'"):
        plot_convergence([a], y="gap")
    with pytest.raises(ValueError, match="x must be"):
        plot_convergence(a, x="time")
    with pytest.raises(ValueError, match="no history"):
        plot_convergence(SolveResult(None, 0, True, "ok"))


def test_result_is_a_read_only_mapping_like_optimize_result():
    from scipy.optimize import OptimizeResult

    res = SolveResult(x=np.arange(2.0), n_iter=4, converged=False, message="budget",
                      history={"gap": np.ones(4)}, extras={"gap": 0.5, "omega": 1.2})
    assert res["x"] is res.x and res["n_iter"] == 4 and res["gap"] == 0.5
    assert list(res) == ["x", "n_iter", "converged", "message", "history", "gap", "omega"]
    assert len(res) == 7 and "omega" in res and "extras" not in res
    assert dict(res.items())["message"] == "budget" and res.get("absent") is None
    with pytest.raises(KeyError):
        res["absent"]
    scipy_style = OptimizeResult(res)  # builds from the mapping, as from a dict
    assert scipy_style.omega == 1.2 and scipy_style.converged is False
