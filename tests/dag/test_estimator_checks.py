import pickle

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.dag import TopoDAG, is_dag, simulate_dag, simulate_linear_sem, simulate_parameter


@parametrize_with_checks([TopoDAG(random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_estimator_fit_and_pickle():
    B = simulate_dag(8, 12, "ER", random_state=3)
    X = simulate_linear_sem(simulate_parameter(B, random_state=3), 1000, random_state=3)
    est = TopoDAG(loss="l2", init="random", n_restarts=1, random_state=0).fit(X)
    assert is_dag(est.adjacency_)
    assert np.all((np.abs(est.weights_) >= 0.3) | (est.adjacency_ == 0))  # edges pass the threshold
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.adjacency_, est.adjacency_)
    assert est.history_["score"][-1] == est.score_
