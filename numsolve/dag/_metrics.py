"""Graph checks and structure-recovery metrics (the NOTEARS ``count_accuracy`` figures)."""

import numpy as np

__all__ = ["is_dag", "count_accuracy"]


def is_dag(W):
    """Whether the support of ``W`` has no directed cycle.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import is_dag
    >>> is_dag(np.array([[0, 1], [1, 0]]))
    False
    """
    A = np.asarray(W) != 0
    indeg = A.sum(axis=0)
    stack = list(np.flatnonzero(indeg == 0))
    seen = 0
    while stack:
        v = stack.pop()
        seen += 1
        for c in np.flatnonzero(A[v]):
            indeg[c] -= 1
            if indeg[c] == 0:
                stack.append(c)
    return seen == A.shape[0]


def count_accuracy(B_true, B_est):
    """FDR, TPR, FPR, SHD and number of predicted edges of ``B_est`` against ``B_true``.

    SHD counts extra, missing and reversed edges, a reversed edge once.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import count_accuracy
    >>> B = np.array([[0, 1], [0, 0]])
    >>> count_accuracy(B, B.T)["shd"]
    1
    """
    T = np.asarray(B_true) != 0
    E = np.asarray(B_est) != 0
    if T.shape != E.shape or T.ndim != 2 or T.shape[0] != T.shape[1]:
        raise ValueError("B_true and B_est must be square matrices of the same shape")
    d = T.shape[0]
    pred = int(E.sum())
    true_pos = int((E & T).sum())
    reversed_ = int((E & T.T & ~T).sum())
    false_pos = pred - true_pos - reversed_
    cond = int(T.sum())
    neg = d * (d - 1) // 2 - cond
    und_T = T | T.T
    extra = int(np.triu((E | E.T) & ~und_T).sum())
    missing = int(np.triu(und_T & ~(E | E.T)).sum())
    return {
        "fdr": (reversed_ + false_pos) / max(pred, 1),
        "tpr": true_pos / max(cond, 1),
        "fpr": (reversed_ + false_pos) / max(neg, 1),
        "shd": extra + missing + reversed_,
        "nnz": pred,
    }
