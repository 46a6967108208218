"""Layers and FullyConnectedNet against PyTorch autograd (float64) and numerical gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import layer_utils, layers
from cifar_lessons.from_scratch.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    model_gradient_errors,
    rel_error,
)
from cifar_lessons.from_scratch.models import DropoutNet, FullyConnectedNet, NormalizedNet

torch = pytest.importorskip("torch")
SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)
shapes = st.tuples(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3))


def autograd(fn, *arrays):
    """fn(*arrays) in float64 torch: its output, a random upstream gradient dout, and the input gradients."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    dout = torch.tensor(np.random.default_rng(0).standard_normal(tuple(out.shape)))
    (out * dout).sum().backward()
    return out.detach().numpy(), dout.numpy(), [t.grad.numpy() for t in tensors]


def torch_affine(x, w, b):
    return x.reshape(len(x), -1) @ w + b


@SETTINGS
@given(shapes, st.integers(1, 5), seeds)
@pytest.mark.parametrize(
    "forward, backward, torch_fn",
    [
        (layers.affine_forward, layers.affine_backward, torch_affine),
        (
            layer_utils.affine_relu_forward,
            layer_utils.affine_relu_backward,
            lambda x, w, b: torch.relu(torch_affine(x, w, b)),
        ),
    ],
    ids=["affine", "affine_relu"],
)
def test_affine_layers_match_autograd(forward, backward, torch_fn, shape, M, seed):
    N, dims = shape
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, *dims)), rng.standard_normal((int(np.prod(dims)), M)), rng.standard_normal(M)
    expected, dout, grads = autograd(torch_fn, x, w, b)
    out, cache = forward(x, w, b)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(backward(dout, cache), grads):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(shapes, seeds)
def test_relu_matches_autograd(shape, seed):
    x = np.random.default_rng(seed).standard_normal((shape[0], *shape[1]))
    expected, dout, (dx,) = autograd(torch.relu, x)
    out, cache = layers.relu_forward(x)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(layers.relu_backward(dout, cache), dx)


def torch_svm_loss(scores, y):
    # torch's multi_margin_loss averages the hinge terms over the C classes as well as the
    # N examples; CS231n's svm_loss averages over examples only, hence the factor C.
    return scores.shape[1] * torch.nn.functional.multi_margin_loss(scores, y, margin=1.0)


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 8), seeds, st.sampled_from([1e-3, 1.0, 1e3]))
@pytest.mark.parametrize(
    "loss_fn, torch_loss",
    [(layers.softmax_loss, lambda s, y: torch.nn.functional.cross_entropy(s, y)), (layers.svm_loss, torch_svm_loss)],
    ids=["softmax", "svm"],
)
def test_losses_match_torch(loss_fn, torch_loss, N, C, seed, scale):
    rng = np.random.default_rng(seed)
    x, y = scale * rng.standard_normal((N, C)), rng.integers(C, size=N)
    scores = torch.tensor(x, requires_grad=True)
    expected = torch_loss(scores, torch.tensor(y))
    expected.backward()
    loss, dx = loss_fn(x, y)
    assert loss == pytest.approx(expected.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(dx, scores.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_backward_passes_match_numerical_gradients():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 5)), rng.standard_normal((10, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((3, 4))
    for forward, backward in (
        (layers.affine_forward, layers.affine_backward),
        (layer_utils.affine_relu_forward, layer_utils.affine_relu_backward),
    ):
        dx, dw, db = backward(dout, forward(x, w, b)[1])
        assert rel_error(dx, eval_numerical_gradient_array(lambda v: forward(v, w, b)[0], x.copy(), dout)) < 1e-7
        assert rel_error(dw, eval_numerical_gradient_array(lambda v: forward(x, v, b)[0], w.copy(), dout)) < 1e-7
        assert rel_error(db, eval_numerical_gradient_array(lambda v: forward(x, w, v)[0], b.copy(), dout)) < 1e-7
    dx = layers.relu_backward(dout, layers.relu_forward(dout)[1])
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: layers.relu_forward(v)[0], dout.copy(), dout)) < 1e-7
    scores, y = rng.standard_normal((5, 4)), rng.integers(4, size=5)
    for loss_fn in (layers.softmax_loss, layers.svm_loss):
        numeric = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], scores.copy(), verbose=False)
        assert rel_error(loss_fn(scores, y)[1], numeric) < 1e-7


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(
        eval_numerical_gradient(lambda v: np.sum(v**3), x.copy(), verbose=False), 3 * x**2, rtol=1e-8
    )
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: layers.affine_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5)), "flatten to (N, 4)"),
        (lambda: layers.affine_forward(np.zeros((2, 4)), np.zeros(4), np.zeros(5)), "w must be 2-D"),
        (lambda: layers.affine_forward(np.zeros((2, 4)), np.zeros((4, 5)), np.zeros(4)), "b must have shape (5,)"),
        (
            lambda: layers.affine_backward(np.zeros((2, 4)), (np.zeros((2, 4)), np.zeros((4, 5)), np.zeros(5))),
            "dout must have the shape of the forward output (2, 5)",
        ),
        (lambda: layers.relu_backward(np.zeros(3), np.zeros(4)), "dout must have the shape"),
        (lambda: layers.softmax_loss(np.zeros(3), np.zeros(3, dtype=int)), "x must be 2-D"),
        (lambda: layers.softmax_loss(np.zeros((3, 4)), np.zeros(2, dtype=int)), "y must be (3,) integer labels"),
        (lambda: layers.svm_loss(np.zeros((3, 4)), np.zeros(3)), "integer labels"),
        (lambda: layers.svm_loss(np.zeros((3, 4)), np.array([0, 1, 4])), "labels must lie in 0..3"),
        (lambda: layers.softmax_loss(np.zeros((0, 4)), np.zeros(0, dtype=int)), "at least one example and one class"),
        (lambda: layers.svm_loss(np.zeros((0, 4)), np.zeros(0, dtype=int)), "at least one example and one class"),
        (lambda: layers.softmax_loss(np.zeros((3, 0)), np.zeros(3, dtype=int)), "at least one example and one class"),
    ],
)
def test_bad_shapes_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call()


@pytest.mark.parametrize("hidden_dims", [[], [6], [5, 4, 3]])
def test_fully_connected_net_gradients(hidden_dims):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 2, 3, 2)), rng.integers(5, size=4)
    model = FullyConnectedNet(
        hidden_dims, input_dim=12, num_classes=5, reg=0.3, weight_scale=0.5, dtype=np.float64, seed=0
    )
    for i in range(1, len(hidden_dims) + 2):  # nonzero biases keep pre-activations off ReLU's kink at 0
        model.params[f"b{i}"] = 0.1 * rng.standard_normal(model.params[f"b{i}"].shape)
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    errors = model_gradient_errors(model, X, y)
    assert max(errors.values()) < 1e-6, errors
    assert model.loss(X).shape == (4, 5)


def test_fully_connected_net_initial_loss_and_seed():
    X, y = np.random.default_rng(1).standard_normal((50, 3072)), np.arange(50) % 10
    model = FullyConnectedNet([20, 20], weight_scale=1e-3, seed=3)
    assert model.loss(X, y)[0] == pytest.approx(np.log(10), abs=1e-3)
    assert model.params["W1"].dtype == np.float32 and model.loss(X).dtype == np.float32
    again = FullyConnectedNet([20, 20], weight_scale=1e-3, seed=3)
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], again.params[name])


@pytest.mark.parametrize(
    "network, kwargs, message",
    [
        (FullyConnectedNet, {"hidden_dims": [10, 0]}, "hidden_dims must hold positive integers, got 0"),
        (FullyConnectedNet, {"hidden_dims": 10}, "hidden_dims is a list of the hidden layers' sizes"),
        (NormalizedNet, {"normalization": "groupnorm"}, "normalization must be None, 'batchnorm' or 'layernorm'"),
        (DropoutNet, {"dropout_keep_ratio": 0}, "probability of KEEPING a unit"),
        (DropoutNet, {"reg": -1}, "reg is the strength of the L2 penalty and must be >= 0"),
        (NormalizedNet, {"weight_scale": 0}, "weight_scale is the standard deviation .* must be > 0"),
        (FullyConnectedNet, {"dtype": np.int32}, "dtype must be"),
    ],
)
def test_the_networks_reject_bad_arguments(network, kwargs, message):
    kwargs = {"hidden_dims": [10], **kwargs}
    with pytest.raises(ValueError, match=message):
        network(**kwargs)


@pytest.mark.parametrize("setting, owner", [("normalization", "NormalizedNet"), ("dropout_keep_ratio", "DropoutNet")])
def test_a_setting_of_a_later_network_names_the_network_that_adds_it(setting, owner):
    with pytest.raises(TypeError, match=f"{setting} is a setting of {owner}"):
        FullyConnectedNet([10], **{setting: 0.5})


def test_fully_connected_net_rejects_inputs_of_the_wrong_size():
    with pytest.raises(ValueError, match="does not flatten to"):
        FullyConnectedNet([10], input_dim=12).loss(np.zeros((2, 3, 5)))
