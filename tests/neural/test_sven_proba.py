"""SvenClassifier.predict_proba behaves as MLPClassifier's."""

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from numsolve.neural import SvenClassifier
from numsolve.neural._sven._calibration import class_log_probabilities


def _split(n_classes):
    if n_classes == 3:
        X, y = load_iris(return_X_y=True)
    else:
        X, y = make_classification(300, 6, n_informative=4, random_state=0)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_sum_to_one_argmax_predict_and_beat_uniform(n_classes):
    Xtr, Xte, ytr, yte = _split(n_classes)
    model = SvenClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(Xtr, ytr)
    proba = model.predict_proba(Xte)
    assert proba.shape == (Xte.shape[0], n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(Xte))
    np.testing.assert_allclose(model.predict_log_proba(Xte), np.log(proba), atol=1e-12)
    # held-out log loss well below the uniform guess's log(K), and the fitted temperature
    # beats the raw outputs (temperature 1) on the training data it was fitted on
    assert log_loss(yte, proba) < 0.6 * np.log(n_classes)
    codes = np.searchsorted(model.classes_, ytr)
    raw = class_log_probabilities(model.decision_function(Xtr), 1.0)
    assert log_loss(ytr, model.predict_proba(Xtr)) <= -raw[np.arange(len(ytr)), codes].mean()


def test_string_labels_float32_and_single_class():
    Xtr, _, ytr, _ = _split(3)
    labels = np.array(["setosa", "versicolor", "virginica"])[ytr]
    model = SvenClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    proba = model.fit(Xtr.astype(np.float32), labels).predict_proba(Xtr.astype(np.float32))
    assert proba.dtype == np.float32
    assert np.mean(model.classes_[proba.argmax(axis=1)] == labels) > 0.8
    one = model.fit(Xtr, np.zeros(len(Xtr), dtype=int)).predict_proba(Xtr)
    np.testing.assert_array_equal(one, np.ones((len(Xtr), 1)))
