"""GBNN against scikit-learn's MLP (adam, lbfgs) and HistGradientBoosting.

Cases: breast_cancer, digits, wine (accuracy) and diabetes (test RMSE), one 70/30 split
(seed 0), features standardised on the training part. The reference ``gbnn`` package 0.0.2 is
not run: its classifiers fail on scikit-learn >= 1.6 (spec, section 4, finding 1).
"""

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from _harness import Case, Contender
from numsolve.neural import GBNNClassifier, GBNNRegressor


def _setup(loader):
    def setup():
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
        scaler = StandardScaler().fit(Xtr)
        return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte
    return setup


def _run(make, regression, pruned=False):
    def run(problem):
        Xtr, Xte, ytr, yte = problem
        model = make().fit(Xtr, ytr)
        figures = {}
        if regression:
            figures["rmse"] = float(np.sqrt(np.mean((model.predict(Xte) - yte) ** 2)))
        else:
            figures["accuracy"] = float(np.mean(model.predict(Xte) == yte))
        if pruned:
            half = model.n_stages_ // 2
            pred = model.predict(Xte, n_stages=half)
            key = "rmse_half_stages" if regression else "accuracy_half_stages"
            figures[key] = float(np.sqrt(np.mean((pred - yte) ** 2)) if regression
                                 else np.mean(pred == yte))
        return figures
    return run


def cases(quick):
    T = 30 if quick else 100
    out = []
    for name, loader, regression in (("breast_cancer", load_breast_cancer, False),
                                     ("digits", load_digits, False),
                                     ("wine", load_wine, False),
                                     ("diabetes", load_diabetes, True)):
        gbnn = GBNNRegressor if regression else GBNNClassifier
        mlp = MLPRegressor if regression else MLPClassifier
        hgb = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        out.append(Case(
            name=f"{name}, 70/30 split",
            description=(f"GBNN T={T}, J=2, learning_rate 0.1, logistic, 200 L-BFGS iterations "
                         f"per stage; MLP {2 * T} logistic/relu units (sklearn defaults, "
                         "max_iter 500); HGB defaults; seed 0"),
            setup=_setup(loader),
            contenders=[
                Contender("numsolve GBNN", _run(lambda gbnn=gbnn: gbnn(n_stages=T, random_state=0),
                                                regression, pruned=True)),
                Contender("sklearn MLP adam", _run(lambda mlp=mlp: mlp(
                    hidden_layer_sizes=(2 * T,), max_iter=500, random_state=0), regression)),
                Contender("sklearn MLP lbfgs", _run(lambda mlp=mlp: mlp(
                    hidden_layer_sizes=(2 * T,), solver="lbfgs", max_iter=500,
                    random_state=0), regression)),
                Contender("sklearn HGB", _run(lambda hgb=hgb: hgb(random_state=0), regression)),
            ],
            repeats=1 if quick else 2,
        ))
    return out
