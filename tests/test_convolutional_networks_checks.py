"""The convolutional networks lesson's checks fail stubs cleanly and name each planted mistake (the
notebook's own solutions passing them is tested with the learner copies, in test_exercises)."""

import types

import numpy as np
import pytest

from cifar_lessons.checks import convolutional_networks as checks
from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.from_scratch import fast_layers, layer_utils, models
from cifar_lessons.from_scratch import layers as L

FORWARDS = ["conv_forward_naive", "max_pool_forward_naive", "spatial_batchnorm_forward", "spatial_groupnorm_forward"]
BACKWARDS = ["conv_backward_naive", "max_pool_backward_naive"]
PAIRS = [
    ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
    ("spatial_groupnorm_forward", "spatial_groupnorm_backward"),
]
CHECKS = [(name, (getattr(L, name),)) for name in FORWARDS + BACKWARDS] + [
    (backward, (getattr(L, forward), getattr(L, backward))) for forward, backward in PAIRS
]


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("name, functions", CHECKS, ids=[c[0] for c in CHECKS])
def test_stub_is_not_implemented_yet(name, functions):
    check = getattr(checks, f"check_{name}")
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check(*functions[:-1], stub)


def conv_flipped(x, w, b, conv_param):
    return L.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)


def conv_without_bias(x, w, b, conv_param):
    return L.conv_forward_naive(x, w, np.zeros_like(b), conv_param)


def conv_without_padding(x, w, b, conv_param):
    return L.conv_forward_naive(x, w, b, dict(conv_param, pad=0))


def conv_without_stride(x, w, b, conv_param):
    p = conv_param["pad"]
    out = np.stack(
        [
            [
                [
                    (
                        np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))[n, :, i : i + w.shape[2], j : j + w.shape[3]] * w[f]
                    ).sum()
                    + b[f]
                    for j in range(x.shape[3] + 2 * p - w.shape[3] + 1)
                ]
                for i in range(x.shape[2] + 2 * p - w.shape[2] + 1)
            ]
            for n in range(len(x))
            for f in range(len(w))
        ]
    )
    return out.reshape(len(x), len(w), *out.shape[1:]), None


def conv_backward_with_zero_db(dout, cache):
    dx, dw, db = L.conv_backward_naive(dout, cache)
    return dx, dw, np.zeros_like(db)


def average_pool(x, pool_param):
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))[:, :, ::s, ::s]
    return windows.mean(axis=(4, 5)), (x, pool_param)


def pool_backward_assigning(dout, cache):
    x, pool_param = cache
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = dx[n, c, i * s : i * s + h, j * s : j * s + w]
        window[np.unravel_index(x[n, c, i * s : i * s + h, j * s : j * s + w].argmax(), (h, w))] = dout[n, c, i, j]
    return dx


def spatial_bn_reshaped_without_transpose(x, gamma, beta, bn_param):
    out, cache = L.batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)
    return out.reshape(x.shape), cache


def spatial_bn_per_pixel(x, gamma, beta, bn_param):
    mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma[:, None, None] * (x - mean) / np.sqrt(var + 1e-5) + beta[:, None, None], None


def spatial_bn_backward_halved_dgamma(dout, cache):
    dx, dgamma, dbeta = L.spatial_batchnorm_backward(dout, cache)
    return dx, dgamma / 2, dbeta


def group_norm_over(axes, grouping):
    def forward(x, gamma, beta, G, gn_param):
        N, C, H, W = x.shape
        grouped = x.reshape(grouping(N, C, H, W, G))
        x_hat = (grouped - grouped.mean(axis=axes, keepdims=True)) / np.sqrt(
            grouped.var(axis=axes, keepdims=True) + 1e-5
        )
        return gamma * x_hat.reshape(x.shape) + beta, None

    return forward


groupnorm_as_layernorm = group_norm_over((1, 2, 3), lambda N, C, H, W, G: (N, C, H, W))
groupnorm_as_instancenorm = group_norm_over((2, 3), lambda N, C, H, W, G: (N, C, H, W))
groupnorm_strided_groups = group_norm_over((1, 3, 4), lambda N, C, H, W, G: (N, C // G, G, H, W))
groupnorm_over_batch = group_norm_over((0, 2), lambda N, C, H, W, G: (N, G, C // G * H * W))


def groupnorm_backward_flat_dgamma(dout, cache):
    dx, dgamma, dbeta = L.spatial_groupnorm_backward(dout, cache)
    return dx, dgamma.ravel(), dbeta


def conv_in_float64(x, w, b, conv_param):
    out, cache = L.conv_forward_naive(x, w, b, conv_param)
    return out.astype(np.float64), cache


def conv_backward_slip(**slip):
    def backward(dout, cache):
        x, w, b, conv_param = cache
        dx, dw = checks._conv_backward_reordered(dout, x, w, conv_param, **slip)
        return dx, dw, dout.sum(axis=(0, 2, 3))

    backward.__name__ = "conv_backward_" + "_".join(slip)
    return backward


def conv_backward_padded_dx(dout, cache):
    x, w, b, conv_param = cache
    dx, dw, db = L.conv_backward_naive(dout, cache)
    p = conv_param["pad"]
    return np.pad(dx, ((0, 0), (0, 0), (p, p), (p, p))), dw, db


def conv_backward_dw_axes_swapped(dout, cache):
    dx, dw, db = L.conv_backward_naive(dout, cache)
    return dx, dw.transpose(1, 2, 3, 0), db


def conv_backward_db_per_image(dout, cache):
    dx, dw, db = L.conv_backward_naive(dout, cache)
    return dx, dw, dout.sum(axis=(2, 3))


def pool_in_float64(x, pool_param):
    out, cache = L.max_pool_forward_naive(x, pool_param)
    return out.astype(np.float64), cache


def pool_backward_to_every_tie(dout, cache):
    x, pool_param = cache
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s : i * s + h, j * s : j * s + w]
        dx[n, c, i * s : i * s + h, j * s : j * s + w] += (window == window.max()) * dout[n, c, i, j]
    return dx


MISTAKES = [
    ("conv_forward_naive", (conv_flipped,), "it flips the filters"),
    ("conv_forward_naive", (conv_in_float64,), "for float32 inputs, out is float64"),
    ("conv_backward_naive", (conv_backward_slip(stride=1),), "it ignores the stride"),
    ("conv_backward_naive", (conv_backward_slip(assign=True),), r"add \(\+=\) each window's gradient into dx_pad"),
    ("conv_backward_naive", (conv_backward_slip(flip=True),), "it flips the filters"),
    ("conv_backward_naive", (conv_backward_padded_dx,), "Cut the padding off dx_pad"),
    ("conv_backward_naive", (conv_backward_dw_axes_swapped,), "dw has shape .* axes are in the wrong order"),
    ("conv_backward_naive", (conv_backward_db_per_image,), "Sum dout over the images too"),
    ("max_pool_forward_naive", (pool_in_float64,), "for float32 inputs, out is float64"),
    ("max_pool_backward_naive", (pool_backward_to_every_tie,), "on ties, send it to the first maximum only"),
    ("conv_forward_naive", (conv_without_bias,), "add the bias b"),
    ("conv_forward_naive", (conv_without_padding,), "It ignores the padding"),
    ("conv_forward_naive", (conv_without_stride,), "It ignores the stride"),
    ("conv_backward_naive", (conv_backward_with_zero_db,), "db is wrong"),
    ("max_pool_forward_naive", (average_pool,), "it averages each window"),
    ("max_pool_backward_naive", (pool_backward_assigning,), r"add \(\+=\) each window's gradient"),
    ("spatial_batchnorm_forward", (spatial_bn_reshaped_without_transpose,), "mixes channels"),
    ("spatial_batchnorm_forward", (spatial_bn_per_pixel,), "over the batch alone"),
    ("spatial_batchnorm_backward", (L.spatial_batchnorm_forward, spatial_bn_backward_halved_dgamma), "dgamma is wrong"),
    ("spatial_groupnorm_forward", (groupnorm_as_layernorm,), "G = 1, layer norm"),
    ("spatial_groupnorm_forward", (groupnorm_as_instancenorm,), "G = C, instance norm"),
    ("spatial_groupnorm_forward", (groupnorm_strided_groups,), "every G-th channel"),
    ("spatial_groupnorm_forward", (groupnorm_over_batch,), "pools statistics over the batch"),
    (
        "spatial_groupnorm_backward",
        (L.spatial_groupnorm_forward, groupnorm_backward_flat_dgamma),
        r"dgamma has shape \(4,\), expected \(1, 4, 1, 1\)",
    ),
]


@pytest.mark.parametrize("name, functions, message", MISTAKES, ids=[f"{m[0]}-{m[1][-1].__name__}" for m in MISTAKES])
def test_planted_mistakes_are_named(name, functions, message):
    with pytest.raises(ExerciseError, match=message):
        getattr(checks, f"check_{name}")(*functions)


# ---------------------------------------------------------------------------------------------
# Sandwich layers and the convnets: correct code written differently passes, stubs and mistakes are named


def conv_pool_relu_forward(x, w, b, conv_param, pool_param):
    # ReLU and max pooling commute: pooling first is as correct, and cheaper
    conv, conv_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    pooled, pool_cache = fast_layers.max_pool_forward_fast(conv, pool_param)
    return np.maximum(pooled, 0), {"conv": conv_cache, "pool": pool_cache, "pooled": pooled}


def conv_pool_relu_backward(dout, cache):
    dpooled = np.where(cache["pooled"] > 0, dout, 0)
    return fast_layers.conv_backward_fast(fast_layers.max_pool_backward_fast(dpooled, cache["pool"]), cache["conv"])


def affine_relu_with_dict_cache(x, w, b):
    scores = x.reshape(len(x), -1) @ w + b
    return np.maximum(scores, 0), {"x": x, "w": w, "active": scores > 0}


def affine_relu_backward_with_dict_cache(dout, cache):
    dscores = dout * cache["active"]
    x, w = cache["x"], cache["w"]
    return (dscores @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dscores, dscores.sum(axis=0)


class LoopedConvNet(models.ThreeLayerConvNet):
    """The convnet's block on the naive layers, its softmax and L2 term written out."""

    def normalize(self, conv):
        """No normalization: (conv, its backward)."""
        return conv, lambda dconv, grads: dconv

    def conv_block_forward(self, X):
        p = self.params
        conv, conv_cache = L.conv_forward_naive(X, p["W1"], p["b1"], self.conv_param)
        normed, normalize_backward = self.normalize(conv)
        active = normed > 0
        pooled, pool_cache = L.max_pool_forward_naive(normed * active, self.pool_param)
        return pooled, (conv_cache, normalize_backward, active, pool_cache)

    def conv_block_backward(self, dpooled, cache, grads):
        conv_cache, normalize_backward, active, pool_cache = cache
        dconv = normalize_backward(L.max_pool_backward_naive(dpooled, pool_cache) * active, grads)
        dX, grads["W1"], grads["b1"] = L.conv_backward_naive(dconv, conv_cache)
        return dX

    def loss(self, X, y=None):
        X = np.asarray(X, dtype=self.dtype)
        self.testing = y is None
        p = self.params
        pooled, block_cache = self.conv_block_forward(X)
        flat = pooled.reshape(len(X), -1)
        hidden = np.maximum(flat @ p["W2"] + p["b2"], 0)
        scores = hidden @ p["W3"] + p["b3"]
        if y is None:
            return scores
        probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        weights = [p["W1"], p["W2"], p["W3"]]
        loss = -np.log(probabilities[np.arange(len(X)), y]).mean() + self.reg / 2 * sum((W**2).sum() for W in weights)
        dscores = probabilities
        dscores[np.arange(len(X)), y] -= 1
        dscores /= len(X)
        dhidden = dscores @ p["W3"].T * (hidden > 0)
        grads = {"W2": flat.T @ dhidden, "b2": dhidden.sum(axis=0), "W3": hidden.T @ dscores, "b3": dscores.sum(axis=0)}
        self.conv_block_backward((dhidden @ p["W2"].T).reshape(pooled.shape), block_cache, grads)
        for name, W in zip(("W1", "W2", "W3"), weights):
            grads[name] = grads[name] + self.reg * W
        return loss, grads


class LoopedNormalizedConvNet(LoopedConvNet):
    """LoopedConvNet with the norm it was built with, set up in one method."""

    def __init__(self, normalization="batchnorm", groups=4, **settings):
        super().__init__(**settings)
        self.normalization, self.groups = normalization, groups
        filters = len(self.params["b1"])
        shape = (filters,) if normalization == "batchnorm" else (1, filters, 1, 1)
        self.params.update(gamma1=np.ones(shape, self.dtype), beta1=np.zeros(shape, self.dtype))
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {}]

    def normalize(self, conv):
        p = self.params
        if self.normalization == "groupnorm":
            out, cache = L.spatial_groupnorm_forward(conv, p["gamma1"], p["beta1"], self.groups, {})
            backward = L.spatial_groupnorm_backward
        else:
            self.bn_params[0]["mode"] = "test" if self.testing else "train"
            out, cache = L.spatial_batchnorm_forward(conv, p["gamma1"], p["beta1"], self.bn_params[0])
            backward = L.spatial_batchnorm_backward

        def normalize_backward(dout, grads):
            dconv, grads["gamma1"], grads["beta1"] = backward(dout, cache)
            return dconv

        return out, normalize_backward


class StubConvNet(models.ThreeLayerConvNet):
    def loss(self, X, y=None):
        raise NotImplementedError


class StubNormalizedConvNet(models.NormalizedConvNet):
    def loss(self, X, y=None):
        raise NotImplementedError


STUB_NETWORKS = {"ThreeLayerConvNet": StubConvNet, "NormalizedConvNet": StubNormalizedConvNet}


SANDWICH_CHECKS = [  # (check, what it takes, the name its messages start with)
    (checks.check_conv_relu_pool_forward, (conv_pool_relu_forward,), "conv_relu_pool_forward"),
    (
        checks.check_conv_relu_pool_backward,
        (conv_pool_relu_forward, conv_pool_relu_backward),
        "conv_relu_pool_backward",
    ),
    (checks.check_affine_relu_forward, (affine_relu_with_dict_cache,), "affine_relu_forward"),
    (
        checks.check_affine_relu_backward,
        (affine_relu_with_dict_cache, affine_relu_backward_with_dict_cache),
        "affine_relu_backward",
    ),
    (checks.check_three_layer_convnet, (LoopedConvNet,), "ThreeLayerConvNet"),
    (checks.check_normalized_convnet, (LoopedNormalizedConvNet,), "NormalizedConvNet"),
]


@pytest.mark.parametrize("check, functions, name", SANDWICH_CHECKS, ids=[c[2] for c in SANDWICH_CHECKS])
def test_correct_code_written_differently_passes(check, functions, name, capsys):
    check(*functions)
    assert capsys.readouterr().out.endswith(f"{name}: all checks passed\n")


@pytest.mark.parametrize("check, functions, name", SANDWICH_CHECKS, ids=[c[2] for c in SANDWICH_CHECKS])
def test_a_stub_is_not_implemented_yet(check, functions, name):
    last = STUB_NETWORKS.get(name, stub)
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check(*functions[:-1], last)


def conv_relu_pool_without_relu(x, w, b, conv_param, pool_param):
    conv, conv_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    return fast_layers.max_pool_forward_fast(conv, pool_param)[0], conv_cache


def conv_relu_without_pool(x, w, b, conv_param, pool_param):
    conv, conv_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = L.relu_forward(conv)
    return out, (conv_cache, relu_cache, None)


def conv_relu_pool_in_float64(x, w, b, conv_param, pool_param):
    return layer_utils.conv_relu_pool_forward(*(a.astype(np.float64) for a in (x, w, b)), conv_param, pool_param)


def conv_relu_pool_backward_relu_first(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    drelu = L.relu_backward(dout, relu_cache)
    return fast_layers.conv_backward_fast(fast_layers.max_pool_backward_fast(drelu, pool_cache), conv_cache)


def conv_relu_pool_backward_swapped_caches(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    dconv = L.relu_backward(fast_layers.max_pool_backward_fast(dout, pool_cache), conv_cache)
    return fast_layers.conv_backward_fast(dconv, relu_cache)


def conv_relu_pool_backward_without_relu(dout, cache):
    conv_cache, _, pool_cache = cache
    return fast_layers.conv_backward_fast(fast_layers.max_pool_backward_fast(dout, pool_cache), conv_cache)


def affine_relu_without_relu(x, w, b):
    return L.affine_forward(x, w, b)


def relu_then_affine(x, w, b):
    return L.affine_forward(np.maximum(x, 0), w, b)


def affine_relu_backward_without_relu(dout, cache):
    return L.affine_backward(dout, cache[0])


def affine_relu_backward_swapped_caches(dout, cache):
    fc_cache, relu_cache = cache
    return L.affine_backward(L.relu_backward(dout, fc_cache), relu_cache)


def planted(base=models.ThreeLayerConvNet, **overrides):
    """The reference convnet (or ``base``) with some of its methods replaced: one planted mistake."""
    return type("Planted", (base,), overrides)


def loss_with(change):
    """A loss method that returns ``change(model, X, y, loss, grads)`` instead of the reference's result."""

    def loss(self, X, y=None):
        planted_class = next(c for c in type(self).__mro__ if c.__dict__.get("loss") is loss)
        result = super(planted_class, self).loss(X, y)
        return result if y is None else change(self, X, y, *result)

    return loss


def weights_squared(model, keys=("W1", "W2", "W3")):
    return sum(np.sum(model.params[key] ** 2) for key in keys)


def without_reg(self, X, y=None):
    reg, self.reg = self.reg, 0.0
    try:
        return models.ThreeLayerConvNet.loss(self, X, y)
    finally:
        self.reg = reg


def with_grads(change):
    def grads_changed(model, X, y, loss, grads):
        change(model, grads)
        return loss, grads

    return loss_with(grads_changed)


def scores_without_hidden_relu(self, X, y=None):
    if y is not None:
        return models.ThreeLayerConvNet.loss(self, X, y)
    p = self.params
    hidden = L.affine_forward(self.conv_block_forward(X)[0], p["W2"], p["b2"])[0]
    return L.affine_forward(hidden, p["W3"], p["b3"])[0]


def conv_block_backward_relu_first(self, dout, cache, grads):
    conv_cache, relu_cache, pool_cache = cache
    drelu = L.relu_backward(dout, relu_cache)
    return conv_block_backward_of_reference(self, drelu, cache, grads)


conv_block_backward_of_reference = models.ThreeLayerConvNet.conv_block_backward


def conv_block_always_in_train_mode(self, X):
    for bn_param in self.bn_params:
        if "mode" in bn_param:
            bn_param["mode"] = "train"
    return models.NormalizedConvNet.conv_block_forward(self, X)


def regularized(key):
    def change(model, grads):
        grads[key] = grads[key] + model.reg * model.params[key]

    return change


def loss_bypassing_the_block(self, X, y=None):
    """The reference's loss with the block's methods taken from ThreeLayerConvNet itself, as a loss that
    calls conv_relu_pool_forward directly would: an override of the block would never run."""
    self.conv_block_forward = types.MethodType(models.ThreeLayerConvNet.conv_block_forward, self)
    self.conv_block_backward = types.MethodType(models.ThreeLayerConvNet.conv_block_backward, self)
    return models.ThreeLayerConvNet.loss(self, X, y)


def loss_without_cast(self, X, y=None):
    dtype, self.dtype = self.dtype, np.asarray(X).dtype
    try:
        return models.ThreeLayerConvNet.loss(self, X, y)
    finally:
        self.dtype = dtype


def init_with(change, base=models.ThreeLayerConvNet):
    """An ``__init__`` that builds the reference's network, then applies one slip to it."""

    def __init__(self, *args, **settings):
        base.__init__(self, *args, **settings)
        change(self, settings)

    return planted(base, __init__=__init__)


def drawn_again(draw):
    """Redraw every weight of a net with ``draw(rng, shape, weight_scale)``."""

    def change(model, settings):
        rng = np.random.default_rng(settings.get("seed"))
        for key in [k for k in model.params if k.startswith("W")]:
            shape = model.params[key].shape
            model.params[key] = draw(rng, shape, settings.get("weight_scale", 1e-3)).astype(model.dtype)

    return change


def unpooled_w2(model, settings):
    C, H, W = settings.get("input_dim", (3, 32, 32))
    F, hidden = model.params["W1"].shape[0], model.params["W2"].shape[1]
    model.params["W2"] = np.zeros((F * H * W, hidden), model.dtype)


INIT_MISTAKES = [
    ("W2 sized before the pool", init_with(unpooled_w2), "the 2x2 pool halves H and W before the affine layer"),
    ("no padding", init_with(lambda m, s: m.conv_param.update(pad=0)), r"conv_param\['pad'\] is 0"),
    (
        "float64 parameters",
        init_with(lambda m, s: m.params.update({k: v.astype(np.float64) for k, v in m.params.items()})),
        "build every parameter in the dtype asked for",
    ),
    (
        "W2 transposed",
        init_with(lambda m, s: m.params.update(W2=m.params["W2"].T.copy())),
        "maps the values coming in",
    ),
    ("b1 of ones", init_with(lambda m, s: m.params.update(b1=np.ones_like(m.params["b1"]))), "should start at 0"),
    (
        "weight_scale as a variance",
        init_with(drawn_again(lambda rng, shape, scale: scale**2 * rng.standard_normal(shape))),
        "standard deviation, not their variance",
    ),
    (
        "seed ignored",
        init_with(drawn_again(lambda rng, shape, scale: scale * np.random.standard_normal(shape))),
        "two networks built with seed=3 have different weights",
    ),
    ("no reg", init_with(lambda m, s: setattr(m, "reg", 0.0)), r"self.reg is 0.0, expected 0.7"),
]
NORMALIZED_INIT_MISTAKES = [
    (
        "group norm's gamma flat",
        init_with(
            lambda m, s: m.params.update(gamma1=m.params["gamma1"].ravel()) if m.normalization == "groupnorm" else None,
            models.NormalizedConvNet,
        ),
        r"params\['gamma1'\] has shape \(\d+,\), expected \(1, \d+, 1, 1\)",
    ),
    (
        "gamma at zero",
        init_with(lambda m, s: m.params.update(gamma1=0 * m.params["gamma1"]), models.NormalizedConvNet),
        r"params\['gamma1'\] should start at 1",
    ),
    (
        "no norm state",
        init_with(lambda m, s: setattr(m, "bn_params", {}), models.NormalizedConvNet),
        "self.bn_params should be a list of one dict",
    ),
]

CONVNET_MISTAKES = [
    (
        "summed loss",
        planted(loss=loss_with(lambda model, X, y, loss, grads: (loss * len(X), grads))),
        "summed over the batch",
    ),
    ("no L2 term", planted(loss=without_reg), "leaves out the L2 term"),
    (
        "L2 term without 0.5",
        planted(loss=loss_with(lambda m, X, y, loss, grads: (loss + 0.5 * m.reg * weights_squared(m), grads))),
        "lacks the factor 0.5",
    ),
    (
        "biases regularized",
        planted(
            loss=loss_with(
                lambda m, X, y, loss, grads: (loss + 0.5 * m.reg * weights_squared(m, ("b1", "b2", "b3")), grads)
            )
        ),
        "regularizes every parameter",
    ),
    (
        "W2 not regularized",
        planted(loss=loss_with(lambda m, X, y, loss, grads: (loss - 0.5 * m.reg * weights_squared(m, ("W2",)), grads))),
        "its L2 term leaves out W2",
    ),
    (
        "no L2 gradient",
        planted(loss=with_grads(lambda m, grads: grads.update(W1=grads["W1"] - m.reg * m.params["W1"]))),
        r"grads\['W1'\] is wrong: it misses the L2 term's gradient reg \* W1",
    ),
    ("b3 regularized", planted(loss=with_grads(regularized("b3"))), r"it regularizes b3; only W1, W2, W3 are"),
    ("no b1 gradient", planted(loss=with_grads(lambda m, grads: grads.pop("b1"))), r"it misses \['b1'\]"),
    ("no hidden ReLU", planted(loss=scores_without_hidden_relu), "skips the ReLU after the hidden affine layer"),
    (
        "a tuple for y=None",
        planted(loss=lambda self, X, y=None: models.ThreeLayerConvNet.loss(self, X, np.zeros(len(X), int))),
        "should return the scores alone",
    ),
    (
        "backward out of order",
        planted(conv_block_backward=conv_block_backward_relu_first),
        r"crashed: .*Undo the forward's layers in reverse order",
    ),
    ("loss bypasses the block", planted(loss=loss_bypassing_the_block), "should run the convolutional block through"),
    ("X not cast to the dtype", planted(loss=loss_without_cast), r"cast X to self.dtype first in loss"),
] + INIT_MISTAKES
NORMALIZED_MISTAKES = [
    (
        "the norm ignored",
        planted(
            models.NormalizedConvNet,
            conv_block_forward=models.ThreeLayerConvNet.conv_block_forward,
            conv_block_backward=models.ThreeLayerConvNet.conv_block_backward,
        ),
        "its loss is ThreeLayerConvNet's without the norm",
    ),
    (
        "batch statistics at test time",
        planted(models.NormalizedConvNet, conv_block_forward=conv_block_always_in_train_mode),
        r"loss\(X\) is wrong: at test time \(y is None\) batch norm must use its running statistics",
    ),
    (
        "gamma1 regularized",
        planted(models.NormalizedConvNet, loss=with_grads(regularized("gamma1"))),
        "it regularizes gamma1",
    ),
    (
        "loss bypasses the block",
        planted(models.NormalizedConvNet, loss=loss_bypassing_the_block),
        "should run the convolutional block through",
    ),
] + NORMALIZED_INIT_MISTAKES
SANDWICH_MISTAKES = [
    (checks.check_conv_relu_pool_forward, (conv_relu_pool_without_relu,), "skips the ReLU after the convolution"),
    (checks.check_conv_relu_pool_forward, (conv_relu_without_pool,), "It skips the max pool"),
    (checks.check_conv_relu_pool_forward, (conv_relu_pool_in_float64,), "float64 for float32 inputs"),
    (
        checks.check_conv_relu_pool_backward,
        (layer_utils.conv_relu_pool_forward, conv_relu_pool_backward_relu_first),
        r"crashed: .*reverse order \(max pool, ReLU, convolution\)",
    ),
    (
        checks.check_conv_relu_pool_backward,
        (layer_utils.conv_relu_pool_forward, conv_relu_pool_backward_swapped_caches),
        "crashed: .*giving each backward the cache its own forward returned",
    ),
    (
        checks.check_conv_relu_pool_backward,
        (layer_utils.conv_relu_pool_forward, conv_relu_pool_backward_without_relu),
        "it skips the ReLU's backward",
    ),
    (checks.check_affine_relu_forward, (affine_relu_without_relu,), "skips the ReLU after the affine layer"),
    (checks.check_affine_relu_forward, (relu_then_affine,), "it applies the ReLU to the input"),
    (
        checks.check_affine_relu_backward,
        (layer_utils.affine_relu_forward, affine_relu_backward_without_relu),
        "it skips the ReLU's backward",
    ),
    (
        checks.check_affine_relu_backward,
        (layer_utils.affine_relu_forward, affine_relu_backward_swapped_caches),
        r"crashed: .*reverse order \(ReLU, affine\)",
    ),
] + [(checks.check_three_layer_convnet, (model,), message) for _, model, message in CONVNET_MISTAKES]
SANDWICH_MISTAKES += [(checks.check_normalized_convnet, (model,), message) for _, model, message in NORMALIZED_MISTAKES]
SANDWICH_MISTAKE_IDS = [
    f"{check.__name__[len('check_') :]}-{getattr(functions[-1], '__name__', '')}"
    for check, functions, _ in SANDWICH_MISTAKES[: -len(CONVNET_MISTAKES) - len(NORMALIZED_MISTAKES)]
] + [label for label, _, _ in CONVNET_MISTAKES + NORMALIZED_MISTAKES]


@pytest.mark.parametrize("check, functions, message", SANDWICH_MISTAKES, ids=SANDWICH_MISTAKE_IDS)
def test_planted_mistakes_in_sandwiches_and_convnets_are_named(check, functions, message):
    with pytest.raises(ExerciseError, match=message):
        check(*functions)
