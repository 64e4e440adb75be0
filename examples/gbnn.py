"""Gradient-boosted neural networks (GBNN) in two minutes.

1. Fit ``GBNNClassifier`` on breast_cancer in a Pipeline and prune it at predict time: the
   units trained last can be switched off with little loss of accuracy.
2. Fit ``GBNNRegressor`` on diabetes (unscaled target) with early stopping on a validation
   split, and turn it into one scikit-learn ``MLPRegressor`` with the same predictions.
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numsolve.neural import GBNNClassifier, GBNNRegressor

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
start = time.perf_counter()
model = make_pipeline(StandardScaler(), GBNNClassifier(random_state=0)).fit(X_train, y_train)
print(f"breast_cancer: {model[-1].n_estimators_} stages of {model[-1].units_per_stage} units "
      f"fitted in {time.perf_counter() - start:.2f} s")
Z_test = model[0].transform(X_test)
for stages in (100, 50, 25, 10):
    accuracy = np.mean(model[-1].predict(Z_test, n_estimators=stages) == y_test)
    print(f"  first {stages:3d} stages: test accuracy {accuracy:.3f}")

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
model = make_pipeline(StandardScaler(), GBNNRegressor(n_estimators=300, early_stopping=True,
                                                      random_state=0)).fit(X_train, y_train)
gbnn = model[-1]
rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
print(f"diabetes: early stopping kept {gbnn.n_estimators_} of {gbnn.n_iter_} stages, "
      f"test RMSE {rmse:.1f} (target std {y_test.std():.1f})")
mlp = gbnn.to_mlp()
gap = np.max(np.abs(mlp.predict(model[0].transform(X_test)) - model.predict(X_test)))
print(f"  merged MLPRegressor with {mlp.coefs_[0].shape[1]} hidden units, "
      f"largest prediction difference {gap:.1e}")
