"""Predictions, accuracy and parameter counts are computed one way for every chapter's model."""

import numpy as np
import pytest

from cifar_lessons.from_scratch.gradient_check import error_report, model_gradient_errors
from cifar_lessons.from_scratch.metrics import accuracy, parameter_count, predict
from cifar_lessons.from_scratch.models import FullyConnectedNet


class Scores:
    """A model whose scores pick column ``x[:, 0]``."""

    params = {"W": np.zeros((2, 3)), "b": np.zeros(3)}

    def loss(self, X, y=None):
        return np.eye(3)[X[:, 0].astype(int)]


def test_predict_takes_the_highest_score_in_batches():
    X = np.array([[2], [0], [1], [2], [1]])
    assert predict(Scores(), X, batch_size=2).tolist() == [2, 0, 1, 2, 1]
    assert accuracy(predict(Scores(), X), [2, 0, 0, 2, 1]) == 0.8


def test_parameter_count_of_numpy_and_pytorch_models():
    assert parameter_count(Scores()) == 9
    assert parameter_count(FullyConnectedNet([5], input_dim=4, num_classes=3)) == 4 * 5 + 5 + 5 * 3 + 3
    torch = pytest.importorskip("torch")
    assert parameter_count(torch.nn.Linear(4, 3)) == 15


def test_model_gradient_errors_are_small_for_a_correct_model_and_name_a_wrong_gradient():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 6)), rng.integers(4, size=3)
    model = FullyConnectedNet([5], input_dim=6, num_classes=4, reg=0.1, weight_scale=0.1, dtype=np.float64, seed=0)
    errors = model_gradient_errors(model, X, y)
    assert sorted(errors) == ["W1", "W2", "b1", "b2"] and max(errors.values()) < 1e-6

    correct_loss = model.loss

    def loss_with_wrong_b2(X, y=None):
        if y is None:
            return correct_loss(X)
        loss, grads = correct_loss(X, y)
        return loss, dict(grads, b2=2 * grads["b2"])

    model.loss = loss_with_wrong_b2
    errors = model_gradient_errors(model, X, y)
    assert errors["b2"] > 0.1 and max(errors[name] for name in ("W1", "W2", "b1")) < 1e-6


def test_a_gradient_check_prints_its_relative_error_beside_the_verdict():
    assert error_report("dx", 2.71e-10, 1e-7) == "dx: relative error 2.7e-10, below 1e-07: correct"
    assert error_report("dw", 0.21, 1e-6) == "dw: relative error 2.1e-01, ABOVE 1e-06: wrong"
