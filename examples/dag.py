"""Learn a DAG with TOPO, then refine another method's graph (DAGMA when installed)."""

import numpy as np

from numsolve.dag import (TopoDAG, count_accuracy, ls_score, refine, simulate_dag,
                          simulate_linear_sem, simulate_parameter)

B = simulate_dag(30, 60, "ER", random_state=1)
X = simulate_linear_sem(simulate_parameter(B, random_state=1), 1000, random_state=1)

# prune="auto" (the default): each node's parents chosen by BIC among the edges |w| >= 0.3
est = TopoDAG(init="random", n_restarts=2, n_jobs=2, random_state=0).fit(X)
print("TopoDAG:", count_accuracy(B, est.adjacency_), f"score {est.score_:.4f}")

try:
    from dagma.linear import DagmaLinear
except ImportError:
    print("dagma not installed: skipping the post-processing example")
else:
    W = DagmaLinear(loss_type="l2").fit(X.copy(), lambda1=0.02)  # it centres its input in place
    W = np.where(np.abs(W) >= 0.3, W, 0)
    print("DAGMA:  ", count_accuracy(B, W), f"score {ls_score(X, W):.4f}")
    res = refine(W, X, prune="bic")
    print("refined:", count_accuracy(B, res.x), f"score {res.score:.4f} (before pruning)")
