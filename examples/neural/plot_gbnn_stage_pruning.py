"""
GBNN: pruning stages at predict time
====================================

A gradient-boosted neural network (GBNN) is a sum of small networks, each fitted to the
residual of the ones before it, so the sum of its first stages is itself a model: its
``predict(X, n_estimators=k)`` uses the first ``k`` stages only, without refitting. The curve
of test accuracy against the stages kept shows how many are worth their cost at predict
time, here on scikit-learn's digits (10 classes) and on the 10-feature problem of Hastie et
al. (a spherical boundary in ten dimensions).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, make_hastie_10_2
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numsolve.neural import GBNNClassifier

datasets = {"digits": load_digits(return_X_y=True),
            "Hastie 10-2": make_hastie_10_2(2000, random_state=0)}

# %%
# One pipeline per data set (standardise, then 100 stages of 4 units); accuracy of the first
# ``k`` stages on the held-out 30 %.
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for name, (X, y) in datasets.items():
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    model = make_pipeline(StandardScaler(), GBNNClassifier(random_state=0)).fit(X_train, y_train)
    scaler, gbnn = model
    Z_test = scaler.transform(X_test)
    kept = np.arange(1, gbnn.n_estimators_ + 1)
    accuracy = np.array([np.mean(gbnn.predict(Z_test, n_estimators=k) == y_test)
                         for k in kept])
    enough = kept[np.argmax(accuracy >= accuracy[-1] - 0.01)]
    print(f"{name}: {accuracy[0]:.3f} with 1 stage, {accuracy[-1]:.3f} with all "
          f"{kept[-1]}; first within 1 point of that at {enough} stages")
    line, = ax.plot(kept, accuracy, label=name)
    ax.axvline(enough, color=line.get_color(), ls=":")
ax.set_xscale("log")
ax.set_xlabel("stages kept at predict time")
ax.set_ylabel("test accuracy")
ax.set_title("GBNNClassifier, 100 stages of 4 units (dotted: within 1 point of all)")
ax.legend()
fig.tight_layout()
plt.show()
