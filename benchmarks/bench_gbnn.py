"""GBNN against scikit-learn's MLP (adam, lbfgs), HistGradientBoosting and the reference ``gbnn``.

Cases: breast_cancer, digits, wine (test accuracy), diabetes (test RMSE, unscaled target) and
Friedman #1 (n=1000, noise 0.5, test RMSE). Every contender fits the same 5 splits (70/30,
seeds 0-4, stratified for classification) as ``Pipeline(StandardScaler(), model)``; the
figures are means over the splits and the time is the total of the 5 fits. Every fit runs
with one BLAS/OpenMP thread (the benchmark machine has 2 shared cores).

* numsolve GBNN: defaults (T=100 stages of J=4 logistic units, learning_rate 0.4, subsample
  0.5, alpha 5, 25 compiled L-BFGS iterations per stage by variable projection: over the
  hidden layer, the output layer solved exactly at each evaluation; they reach the stage
  objective of 50 plain L-BFGS iterations). ``*_half_stages`` is the figure of the same fitted
  models pruned to their first T/2 stages.
* reference ``gbnn`` 0.0.2 (GAA-UAM, PyPI ``GBNN``): the same T, J, learning rate, subsample
  and activation, 50 L-BFGS iterations per stage; its base networks are scikit-learn
  ``MLPRegressor`` fits (L-BFGS, alpha 1e-4). Its classifier declares ``GNEGNEClassifier(GNEGNE,
  ClassifierMixin)``, so on scikit-learn >= 1.6 ``is_classifier`` is False and ``fit``
  crashes; the contender is a subclass whose ``__sklearn_tags__`` declares a classifier,
  nothing else changes (the regressor subclass only tells Pipeline when it is fitted). The
  reference costs seconds per fit, so it runs in separate timing cases on split 0 only.
* scikit-learn MLP: one hidden layer of T*J = 400 units, max_iter 500, other defaults.
* scikit-learn HistGradientBoosting: defaults.
"""

import warnings

import numpy as np
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits, load_wine,
                              make_friedman1)
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import ClassifierTags
from threadpoolctl import threadpool_limits

from _harness import Case, Contender
from numsolve.neural import GBNNClassifier, GBNNRegressor

T, J, LEARNING_RATE, SUBSAMPLE, MAX_ITER = 100, 4, 0.4, 0.5, 50  # MAX_ITER: the reference


def _friedman(return_X_y=True):
    return make_friedman1(1000, noise=0.5, random_state=0)


def _setup(loader, regression, seeds):
    def setup():
        X, y = loader(return_X_y=True)
        return [train_test_split(X, y, test_size=0.3, random_state=seed,
                                 stratify=None if regression else y) for seed in seeds]
    return setup


def _score(pred, y, regression):
    return float(np.sqrt(np.mean((pred - y) ** 2)) if regression else np.mean(pred == y))


def _run(make, regression, pruned=False):
    key = "rmse" if regression else "accuracy"

    def run(splits):
        scores, halves = [], []
        for seed, (Xtr, Xte, ytr, yte) in enumerate(splits):
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = make_pipeline(StandardScaler(), make(seed)).fit(Xtr, ytr)
            scores.append(_score(model.predict(Xte), yte, regression))
            if pruned:
                scaler, gbnn = model[0], model[-1]
                pred = gbnn.predict(scaler.transform(Xte), n_estimators=gbnn.n_estimators_ // 2)
                halves.append(_score(pred, yte, regression))
        figures = {key: float(np.mean(scores)), f"{key}_worst_split":
                   float(np.max(scores) if regression else np.min(scores))}
        if pruned:
            figures[f"{key}_half_stages"] = float(np.mean(halves))
        return figures
    return run


def _reference(regression):
    from gbnn import GNEGNEClassifier, GNEGNERegressor

    class ReferenceClassifier(GNEGNEClassifier):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            return tags

    class ReferenceRegressor(GNEGNERegressor):
        def __sklearn_is_fitted__(self):  # it sets no attribute ending in "_"
            return hasattr(self, "models")

    base = ReferenceRegressor if regression else ReferenceClassifier

    def make(seed):
        return base(total_nn=T * J, num_nn_step=J, eta=LEARNING_RATE, subsample=SUBSAMPLE,
                    max_iter=MAX_ITER, activation="logistic", random_state=seed)
    return make


def _contenders(regression, reference):
    gbnn = GBNNRegressor if regression else GBNNClassifier
    mlp = MLPRegressor if regression else MLPClassifier
    hgb = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    ours = Contender("numsolve GBNN", _run(lambda s: gbnn(random_state=s), regression,
                                           pruned=True))
    if reference:
        return [ours, Contender("reference gbnn 0.0.2", _run(_reference(regression), regression),
                                requires="gbnn")]
    return [
        ours,
        Contender("sklearn MLP adam", _run(lambda s: mlp(
            hidden_layer_sizes=(T * J,), max_iter=500, random_state=s), regression)),
        Contender("sklearn MLP lbfgs", _run(lambda s: mlp(
            hidden_layer_sizes=(T * J,), solver="lbfgs", max_iter=500, random_state=s),
            regression)),
        Contender("sklearn HGB", _run(lambda s: hgb(random_state=s), regression)),
    ]


def cases(quick):
    seeds = (0,) if quick else tuple(range(5))
    datasets = (("breast_cancer", load_breast_cancer, False), ("digits", load_digits, False),
                ("wine", load_wine, False), ("diabetes", load_diabetes, True),
                ("friedman1 n=1000", _friedman, True))
    if quick:
        datasets = datasets[:1] + datasets[3:4]
    setting = (f"GBNN and reference T={T}, J={J}, learning rate {LEARNING_RATE}, subsample "
               f"{SUBSAMPLE}; per stage 25 variable-projection L-BFGS iterations (GBNN), "
               f"{MAX_ITER} L-BFGS iterations (reference)")
    out = [Case(
        name=f"{name}, {len(seeds)} splits 70/30",
        description=(f"StandardScaler + model on each split (seeds {list(seeds)}); {setting}; "
                     f"MLP {T * J} units, max_iter 500; HGB defaults. Time: all splits' fits."),
        setup=_setup(loader, regression, seeds),
        contenders=_contenders(regression, reference=False),
        repeats=1,
    ) for name, loader, regression in datasets]
    if not quick:
        out += [Case(
            name=f"{name}, split 0, against the reference package",
            description=f"StandardScaler + model on split 0; {setting}. Time: one fit.",
            setup=_setup(loader, regression, (0,)),
            contenders=_contenders(regression, reference=True),
            repeats=1,
        ) for name, loader, regression in datasets[:2] + datasets[3:4]]
    return out
