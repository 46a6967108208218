"""DropoutNet, the last of the fully connected chain, with batch norm, layer norm and dropout:
gradients, parameters, test-time behaviour."""

import numpy as np
import pytest

from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient
from cifar_lessons.from_scratch.models import DropoutNet
from cifar_lessons.from_scratch.solver import Solver

N, D, C = 6, 8, 4


def small_net(**kwargs):
    return DropoutNet([7, 5], input_dim=D, num_classes=C, weight_scale=0.3, dtype=np.float64, seed=0, **kwargs)


def batch(seed=0, n=N):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)), rng.integers(C, size=n)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep", [1, 0.6])
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gradients_match_numerical(normalization, keep, reg):
    model = small_net(normalization=normalization, dropout_keep_ratio=keep, reg=reg)
    rng = np.random.default_rng(1)
    for param in model.params.values():  # away from zero biases, whose ReLU inputs can sit exactly on the kink
        param += rng.normal(scale=0.1, size=param.shape)
    X, y = batch()
    loss, grads = model.loss(X, y)
    assert np.isfinite(loss)
    for name in sorted(model.params):

        def loss_at(value, name=name):
            model.params[name] = value
            return model.loss(X, y)[0]

        numerical = eval_numerical_gradient(loss_at, model.params[name], verbose=False)
        # biases in front of batch norm have a zero gradient, so compare absolutely there
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_gamma_and_beta_are_parameters_that_training_changes(normalization):
    model = small_net(normalization=normalization)
    # one gamma and beta per hidden layer, none before the scores
    assert set(model.params) == {"W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2"}
    np.testing.assert_array_equal(model.params["gamma1"], np.ones(7))
    np.testing.assert_array_equal(model.params["beta2"], np.zeros(5))
    X, y = batch(1, n=40)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        num_epochs=3,
        batch_size=10,
        verbose=False,
        progress=False,
        seed=0,
    ).train()
    assert not np.allclose(model.params["gamma1"], 1) and not np.allclose(model.params["beta2"], 0)


def test_batchnorm_running_statistics_follow_training_and_serve_tests():
    model = small_net(normalization="batchnorm")
    X, y = batch(2)
    model.loss(X, y)
    running_mean = [p["running_mean"].copy() for p in model.bn_params]
    assert all(np.abs(mean).max() > 0 for mean in running_mean)
    first = model.loss(X)
    alone = model.loss(X[:1])
    for p, before in zip(model.bn_params, running_mean):
        np.testing.assert_array_equal(p["running_mean"], before)  # scoring leaves the estimates alone
    np.testing.assert_allclose(alone, first[:1])  # a test-time score does not depend on the batch


@pytest.mark.parametrize("kwargs", [{"normalization": "layernorm"}, {"dropout_keep_ratio": 0.5}])
def test_test_time_scores_do_not_depend_on_the_batch(kwargs):
    model = small_net(**kwargs)
    X, _ = batch(3)
    np.testing.assert_allclose(model.loss(X[2:3]), model.loss(X)[2:3])
    np.testing.assert_array_equal(model.loss(X), model.loss(X))


def test_dropout_changes_training_loss_but_a_seed_fixes_the_mask():
    X, y = batch(4)
    with_dropout, without = small_net(dropout_keep_ratio=0.5), small_net()
    assert with_dropout.loss(X, y)[0] == with_dropout.loss(X, y)[0]
    assert with_dropout.loss(X, y)[0] != without.loss(X, y)[0]
    np.testing.assert_allclose(with_dropout.loss(X), without.loss(X))  # test mode: the same network


def test_layernorm_trains_on_single_examples_where_batchnorm_cannot():
    X, y = batch(5, n=1)
    assert np.isfinite(small_net(normalization="layernorm").loss(X, y)[0])
    with pytest.raises(ValueError, match="at least 2 values per feature"):
        small_net(normalization="batchnorm").loss(X, y)


def test_solver_restores_the_running_statistics_of_the_best_epoch():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, D))
    y = (X[:, :C] + rng.normal(scale=2.0, size=(300, C))).argmax(axis=1)
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}
    model = small_net(normalization="batchnorm")
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 3e-2},
        num_epochs=8,
        batch_size=10,
        num_val_samples=None,
        verbose=False,
        progress=False,
        seed=0,
    )
    solver.train()
    assert np.argmax(solver.val_acc_history) < len(solver.val_acc_history) - 1  # the best epoch is not the last
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
