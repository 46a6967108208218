"""ThreeLayerConvNet, plain and with spatial batch norm or group norm: gradients match numerical ones,
it overfits a few images, bad settings are refused."""

import numpy as np
import pytest

from cifar_lessons.from_scratch.gradient_check import model_gradient_errors
from cifar_lessons.from_scratch.models import NormalizedConvNet, ThreeLayerConvNet
from cifar_lessons.from_scratch.solver import Solver


def tiny_convnet(**settings):
    """A float64 convnet on 3 x 6 x 6 images, small enough for numerical gradients."""
    network = NormalizedConvNet if settings.get("normalization") else ThreeLayerConvNet
    return network(
        input_dim=(3, 6, 6), filter_size=3, hidden_dim=7, weight_scale=1e-1, dtype=np.float64, seed=0, **settings
    )


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_gradients_match_numerical_gradients(reg):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2, 3, 6, 6)), rng.integers(10, size=2)
    model = tiny_convnet(num_filters=3, reg=reg)
    loss, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert all(grads[name].shape == param.shape for name, param in model.params.items())
    errors = model_gradient_errors(model, X, y, h=1e-6)
    assert max(errors.values()) < 1e-5, errors


def test_initial_loss_is_log_of_the_class_count_and_shapes_follow_the_arguments():
    model = ThreeLayerConvNet(num_filters=4, filter_size=5, hidden_dim=11, weight_scale=1e-3, seed=0)
    assert model.params["W1"].shape == (4, 3, 5, 5) and model.params["W1"].dtype == np.float32
    assert model.params["W2"].shape == (4 * 16 * 16, 11) and model.params["W3"].shape == (11, 10)
    X = np.random.default_rng(1).standard_normal((8, 3, 32, 32))
    loss, _ = model.loss(X, np.arange(8))
    assert abs(loss - np.log(10)) < 0.01
    assert model.loss(X).shape == (8, 10)
    same = ThreeLayerConvNet(num_filters=4, filter_size=5, hidden_dim=11, weight_scale=1e-3, seed=0)
    assert all(np.array_equal(model.params[k], same.params[k]) for k in model.params)


def test_overfits_fifty_images():
    rng = np.random.default_rng(2)
    data = {
        "X_train": rng.standard_normal((50, 3, 16, 16)),
        "y_train": rng.integers(10, size=50),
        "X_val": rng.standard_normal((10, 3, 16, 16)),
        "y_val": rng.integers(10, size=10),
    }
    model = ThreeLayerConvNet(
        input_dim=(3, 16, 16), num_filters=8, filter_size=3, hidden_dim=50, weight_scale=1e-1, seed=0
    )
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 4e-3},
        num_epochs=25,
        batch_size=10,
        verbose=False,
        progress=False,
        seed=0,
    )
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


@pytest.mark.parametrize("normalization", ["batchnorm", "groupnorm"])
def test_a_norm_after_the_convolution_gets_gradients_like_every_parameter(normalization):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((4, 3, 6, 6)), rng.integers(10, size=4)
    model = tiny_convnet(num_filters=4, reg=0.7, normalization=normalization, groups=2)
    model.params["gamma1"] = rng.uniform(0.5, 1.5, model.params["gamma1"].shape)
    model.params["beta1"] = rng.normal(size=model.params["beta1"].shape)
    expected_shape = (4,) if normalization == "batchnorm" else (1, 4, 1, 1)
    assert model.params["gamma1"].shape == model.params["beta1"].shape == expected_shape
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    errors = model_gradient_errors(model, X, y, h=1e-6)
    if normalization == "batchnorm":  # b1 is cancelled by the batch mean: its gradient is 0 up to rounding
        assert np.abs(grads["b1"]).max() < 1e-12
        del errors["b1"]
    assert max(errors.values()) < 1e-5, errors


def test_batch_norm_scores_with_its_running_statistics_and_group_norm_with_none():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 3, 8, 8)) + 2.0, rng.integers(10, size=6)
    settings = {"input_dim": (3, 8, 8), "num_filters": 4, "filter_size": 3, "hidden_dim": 5, "dtype": np.float64}
    batch_norm = NormalizedConvNet(**settings, weight_scale=0.5, seed=1, normalization="batchnorm")
    before = batch_norm.loss(X)
    batch_norm.loss(X, y)  # a training step moves the running statistics towards this batch's
    assert batch_norm.bn_params[0]["mode"] == "train"
    assert not np.allclose(batch_norm.loss(X), before)
    assert batch_norm.bn_params[0]["mode"] == "test"
    group_norm = NormalizedConvNet(**settings, weight_scale=0.5, seed=1, normalization="groupnorm", groups=2)
    before = group_norm.loss(X)
    group_norm.loss(X, y)
    np.testing.assert_array_equal(group_norm.loss(X), before)
    assert group_norm.bn_params == [{}]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filter_size": 4}, "filter_size must be odd"),
        ({"input_dim": (3, 31, 32)}, "must be even for the 2x2 pool"),
        ({"num_filters": 0}, "num_filters must be a positive integer"),
        ({"dtype": np.int32}, r"dtype must be np.float32 \(to train\) or np.float64"),
        ({"reg": -1}, "reg is the strength of the L2 penalty and must be >= 0"),
    ],
)
def test_bad_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"normalization": "layernorm"}, "normalization must be 'batchnorm' or 'groupnorm'"),
        (
            {"normalization": "groupnorm", "num_filters": 6, "groups": 4},
            "groups must be a positive divisor of num_filters=6",
        ),
    ],
)
def test_bad_normalization_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NormalizedConvNet(**kwargs)


def test_a_normalization_setting_on_the_plain_convnet_names_the_class_that_has_it():
    with pytest.raises(TypeError, match="normalization is a setting of NormalizedConvNet"):
        ThreeLayerConvNet(normalization="batchnorm")
