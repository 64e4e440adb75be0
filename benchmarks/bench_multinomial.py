"""numsolve's L1 multinomial logistic regression on tall data against scikit-learn's saga.

skglm and celer have no L1 multinomial estimator (skglm's logistic estimators are binary), so
saga is the one peer. Problems follow the paper's dataset C recipe
(:func:`numsolve.linear_model._datasets.make_paper_dataset`) at tall shapes, no intercept,
float64. numsolve is asked for the duality gap ``1e-8 x P(0)`` of :mod:`bench_bcd`; saga runs
at ``tol=1e-4`` (about scikit-learn's default) and at ``tol=1e-8`` with ``max_iter=300``;
every reported gap is computed by the same function
(``numsolve.linear_model._objective.optimality``). Run with
``python benchmarks/run.py multinomial`` (``--case`` filters by name).
"""

import warnings

from _harness import Case, Contender
from bench_bcd import _logistic_quality, _ns_logistic, _paper

# (n, p, classes, sparse)
_SHAPES = [(20_000, 100, 5, False), (20_000, 1000, 5, True)]
_QUICK = [(2000, 20, 3, False)]
_DIVISORS = (10, 100)


def _saga(tol, max_iter):
    def run(problem):
        from sklearn.linear_model import LogisticRegression

        n = problem["X"].shape[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(l1_ratio=1.0, C=1 / (n * problem["alpha"]),
                                       solver="saga", fit_intercept=False, tol=tol,
                                       max_iter=max_iter).fit(problem["X"], problem["y"])
        # saga's symmetric parametrisation of the K classes: the same objective
        return {**_logistic_quality(problem, model.coef_.T), "iterations": int(model.n_iter_[0])}
    return run


def cases(quick=False):
    """Tall L1 multinomial problems at alpha_max/10 and alpha_max/100."""
    out = []
    for n, p, k, sparse in _QUICK if quick else _SHAPES:
        kind = "sparse" if sparse else "dense"
        for divisor in _DIVISORS:
            out.append(Case(
                f"l1_multinomial_{kind}_{n}x{p}x{k}_amax/{divisor}",
                f"paper dataset C recipe ({n} x {p}, {k} classes, {kind}, random_state=0), "
                f"alpha = alpha_max/{divisor}, no intercept; numsolve at gap 1e-8 x P(0), "
                "saga at tol 1e-4 and 1e-8 (max_iter 300); gaps computed identically",
                _paper("C", n, p, divisor, sparse=sparse, n_classes=k),
                [Contender("numsolve bcd (auto)", _ns_logistic),
                 Contender("sklearn saga tol=1e-4", _saga(1e-4, 100)),
                 Contender("sklearn saga tol=1e-8", _saga(1e-8, 300))],
                repeats=1))
    return out
