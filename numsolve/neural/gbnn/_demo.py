"""GBNN demo rows: scikit-learn's built-in data sets."""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ._estimators import GBNNClassifier, GBNNRegressor

__all__ = ["demo"]


def demo():
    """Fit GBNN on diabetes and breast_cancer; return one row per fit.

    Returns
    -------
    list of dict
        Keys ``solver``, ``problem``, ``quality`` and ``seconds``.
    """
    rows = []
    for loader, estimator, name in ((load_diabetes, GBNNRegressor, "diabetes"),
                                    (load_breast_cancer, GBNNClassifier, "breast_cancer")):
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
        scaler = StandardScaler().fit(Xtr)
        start = time.perf_counter()
        model = estimator(n_estimators=50, random_state=0).fit(scaler.transform(Xtr), ytr)
        seconds = time.perf_counter() - start
        pred = model.predict(scaler.transform(Xte))
        if estimator is GBNNRegressor:
            quality = f"test RMSE {np.sqrt(np.mean((pred - yte) ** 2)):.1f}"
        else:
            quality = f"test accuracy {np.mean(pred == yte):.3f}"
        rows.append({"solver": f"{estimator.__name__} (T=50, J={model.units_per_stage})",
                     "problem": f"{name}, 70/30 split", "quality": quality,
                     "seconds": seconds})
    return rows
