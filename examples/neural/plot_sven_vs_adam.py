"""
Sven against Adam and SGD on a regression network
=================================================

Sven (Singular Value Descent) takes each step from a truncated SVD of the Jacobian of a
mini-batch's residuals, a Gauss-Newton step restricted to the leading ``k`` directions,
where first-order methods follow the gradient alone. Here the same tanh network (three hidden
layers of 16 units) is trained on the Sven paper's 1-D toy task by
:class:`~numsolve.neural.SvenRegressor` and by scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` with Adam and with SGD, with the same
mini-batches of 32 and the same number of epochs; the curves are each one's training loss
``½ mean (f(x) - y)²`` after every epoch.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from numsolve.neural import SvenRegressor, make_sven_toy_1d

X, y, X_test, y_test = make_sven_toy_1d(2000, 2000, random_state=0)
epochs, layers = 10, (16, 16, 16)
models = {
    "Sven": SvenRegressor(hidden_layer_sizes=layers, activation="tanh", max_iter=epochs,
                          random_state=1),
    "Adam": MLPRegressor(hidden_layer_sizes=layers, activation="tanh", batch_size=32,
                         max_iter=epochs, alpha=0.0, random_state=1),
    "SGD": MLPRegressor(hidden_layer_sizes=layers, activation="tanh", solver="sgd",
                        batch_size=32, max_iter=epochs, alpha=0.0, random_state=1),
}

# %%
# scikit-learn warns that ten epochs do not converge; the budget is the same for all three.
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for name, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    test_mse = np.mean((model.predict(X_test) - y_test) ** 2)
    print(f"{name:<5} training loss {model.loss_curve_[-1]:.2e}, test MSE {test_mse:.2e}")
    ax.semilogy(np.arange(1, len(model.loss_curve_) + 1), model.loss_curve_, marker="o",
                label=f"{name} (test MSE {test_mse:.1e})")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("Toy 1-D regression, tanh network 16-16-16")
ax.legend()
fig.tight_layout()
plt.show()
