"""The batch normalization lesson's checks fail stubs cleanly and name each planted mistake (the
notebook's own solutions passing them is tested with the learner copies, in test_exercises); the
check of the normalized network passes one written differently."""

import numpy as np
import pytest
from test_fully_connected_checks import Network

from cifar_lessons.checks.batch_norm import (
    _normalization_case,
    check_batchnorm_backward,
    check_batchnorm_backward_alt,
    check_batchnorm_forward,
    check_layernorm_backward,
    check_layernorm_forward,
    check_normalized_net,
)
from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.checks.networks import NORM_LAYERS
from cifar_lessons.from_scratch import layers as L


def stub(*args):
    raise NotImplementedError


def with_output(forward, change):
    """``forward`` with its output replaced by ``change(out, x, gamma, beta, param)``."""

    def planted(x, gamma, beta, param):
        out, cache = forward(x, gamma, beta, param)
        return change(out, x, gamma, beta, param), cache

    return planted


def normalized(x, axis, ddof=0, eps=1e-5):
    return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, ddof=ddof, keepdims=True) + eps)


def bn_momentum_swapped(x, gamma, beta, param):
    old_mean, old_var = param.get("running_mean"), param.get("running_var")
    out, cache = L.batchnorm_forward(x, gamma, beta, param)
    m = param["momentum"]
    param["running_mean"] = (1 - m) * old_mean + m * x.mean(axis=0)
    param["running_var"] = (1 - m) * old_var + m * x.var(axis=0)
    return out, cache


def bn_unbiased_running_var(x, gamma, beta, param):
    old_var = param.get("running_var")
    out, cache = L.batchnorm_forward(x, gamma, beta, param)
    param["running_var"] = param["momentum"] * old_var + (1 - param["momentum"]) * x.var(axis=0, ddof=1)
    return out, cache


def bn_no_update(x, gamma, beta, param):
    return L.batchnorm_forward(x, gamma, beta, dict(param))


def bn_batch_stats_in_test(x, gamma, beta, param):
    if param["mode"] == "test":
        return L.batchnorm_forward(x, gamma, beta, dict(param, mode="train"))
    return L.batchnorm_forward(x, gamma, beta, param)


@pytest.mark.parametrize(
    "check, args, name",
    [
        (check_batchnorm_forward, (stub,), "batchnorm_forward"),
        (check_batchnorm_backward, (L.batchnorm_forward, stub), "batchnorm_backward"),
        (check_batchnorm_backward, (stub, stub), "batchnorm_forward"),  # the stub that ran first is named
        (check_batchnorm_backward_alt, (L.batchnorm_forward, stub), "batchnorm_backward_alt"),
        (check_layernorm_forward, (stub,), "layernorm_forward"),
        (check_layernorm_backward, (L.layernorm_forward, stub), "layernorm_backward"),
    ],
)
def test_stubs_fail_as_not_implemented(check, args, name):
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check(*args)


@pytest.mark.parametrize(
    "planted, message",
    [
        (
            with_output(L.batchnorm_forward, lambda out, x, g, b, p: g * normalized(x, 1) + b),
            "the train-mode output is wrong: it normalizes each example over its features (axis=1), "
            "which is layer norm",
        ),
        (
            with_output(L.batchnorm_forward, lambda out, x, g, b, p: g * normalized(x, 0, ddof=1) + b),
            "use the biased variance",
        ),
        (
            with_output(L.batchnorm_forward, lambda out, x, g, b, p: normalized(x, 0)),
            "scale by gamma and shift by beta",
        ),
        (
            with_output(L.batchnorm_forward, lambda out, x, g, b, p: g * normalized(x, 0, eps=0) + b),
            "add eps under the square root",
        ),
        (
            with_output(L.batchnorm_forward, lambda out, x, g, b, p: out + 1e-3),
            "the train-mode output is wrong: relative error",
        ),
        (
            lambda x, g, b, p: (L.batchnorm_forward(x, g, b, p)[0],),
            "batchnorm_forward should return (out, cache), got a tuple of 1",
        ),
        (
            bn_momentum_swapped,
            "bn_param['running_mean'] after a train step is wrong: momentum weights the old estimate",
        ),
        (bn_unbiased_running_var, "bn_param['running_var'] after a train step is wrong: fold in the biased"),
        (bn_no_update, "bn_param['running_mean'] after a train step is wrong: train mode must update it"),
        (bn_batch_stats_in_test, "the test-mode output is wrong: test mode normalizes with bn_param['running_mean']"),
    ],
)
def test_batchnorm_forward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^batchnorm_forward[: ]") as error:
        check_batchnorm_forward(planted)
    assert message in str(error.value)


def test_batchnorm_running_stats_must_be_created():
    def never_stores(x, gamma, beta, param):
        return (
            L.batchnorm_forward(x, gamma, beta, dict(param))
            if "running_mean" not in param
            else L.batchnorm_forward(x, gamma, beta, param)
        )

    with pytest.raises(ExerciseError, match=r"must create bn_param\['running_mean'\] of shape \(5,\)"):
        check_batchnorm_forward(never_stores)


def gradient_planted(backward, change):
    def planted(dout, cache):
        dx, dgamma, dbeta = backward(dout, cache)
        return change(dx, dgamma, dbeta, dout, cache)

    return planted


def constants_dx(dout, cache):
    x_hat, _, std, gamma = cache
    return dout * gamma / std


def mean_only_dx(dout, cache):
    x_hat, _, std, gamma = cache
    dx_hat = dout * gamma
    return (dx_hat - dx_hat.mean(axis=0)) / std


@pytest.mark.parametrize(
    "backward, message",
    [
        (
            gradient_planted(L.batchnorm_backward, lambda dx, dg, db, dout, c: (constants_dx(dout, c), dg, db)),
            "batchnorm_backward: dx is wrong: it treats the mean and variance as constants",
        ),
        (
            gradient_planted(L.batchnorm_backward, lambda dx, dg, db, dout, c: (mean_only_dx(dout, c), dg, db)),
            "batchnorm_backward: dx is wrong: it misses the path through the variance",
        ),
        (
            gradient_planted(L.batchnorm_backward, lambda dx, dg, db, dout, c: (dx, 2 * dg, db)),
            "batchnorm_backward: dgamma is wrong: relative error",
        ),
        (
            gradient_planted(L.batchnorm_backward, lambda dx, dg, db, dout, c: (dx, dg, db[:-1])),
            "batchnorm_backward: dbeta has shape (4,), expected (5,)",
        ),
        (
            gradient_planted(L.batchnorm_backward, lambda dx, dg, db, dout, c: (dx, dg)),
            "batchnorm_backward should return (dx, dgamma, dbeta), got a tuple of 2",
        ),
    ],
)
def test_batchnorm_backward_mistakes_are_named(backward, message):
    with pytest.raises(ExerciseError) as error:
        check_batchnorm_backward(L.batchnorm_forward, backward)
    assert str(error.value).startswith(message)


def test_layernorm_mistakes_are_named():
    batch_axis = with_output(L.layernorm_forward, lambda out, x, g, b, p: g * normalized(x, 0) + b)
    with pytest.raises(
        ExerciseError,
        match=r"^layernorm_forward: the output is wrong: it normalizes each feature "
        r"over the batch \(axis=0\), which is batch norm",
    ):
        check_layernorm_forward(batch_axis)

    def batchnorm_gradient(dout, cache):
        x_hat, inv_std, gamma = cache
        _, batch_cache = L.batchnorm_forward(x_hat / inv_std, gamma, np.zeros_like(gamma), {"mode": "train"})
        return L.batchnorm_backward(dout, batch_cache)

    with pytest.raises(ExerciseError, match="^layernorm_backward: dx is wrong"):
        check_layernorm_backward(L.layernorm_forward, batchnorm_gradient)


class Normalized(Network):
    """A correct normalized network written differently: dict caches, the norm chosen from the
    package's table, ReLU masks by hand, built on the network of the fully connected tests."""

    def __init__(self, hidden_dims, normalization=None, **settings):
        super().__init__(hidden_dims, **settings)
        self.normalization = normalization
        norms = range(1, self.num_layers) if normalization else ()
        self.params.update({f"gamma{i}": np.ones(hidden_dims[i - 1], self.dtype) for i in norms})
        self.params.update({f"beta{i}": np.zeros(hidden_dims[i - 1], self.dtype) for i in norms})
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {} for _ in norms]

    def hidden_forward(self, x, i):
        z, affine_cache = L.affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])
        cache = {"affine": affine_cache}
        if self.normalization:
            forward, _ = NORM_LAYERS[self.normalization]
            z, cache["norm"] = forward(z, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1])
        cache["relu"] = z
        return np.maximum(z, 0), cache

    def hidden_backward(self, dout, cache, i, grads):
        dz = dout * (cache["relu"] > 0)
        if self.normalization:
            _, backward = NORM_LAYERS[self.normalization]
            dz, grads[f"gamma{i}"], grads[f"beta{i}"] = backward(dz, cache["norm"])
        dx, grads[f"W{i}"], grads[f"b{i}"] = L.affine_backward(dz, cache["affine"])
        return dx

    def loss(self, X, y=None):
        for param in self.bn_params:
            param.update(mode="train" if y is not None else "test")
        return super().loss(X, y)


def test_the_network_check_passes_a_network_written_differently(capsys):
    check_normalized_net(Normalized)
    assert capsys.readouterr().out == "NormalizedNet: all checks passed\n"


def test_the_network_check_fails_a_stub_as_not_implemented():
    class Stub(Normalized):
        def hidden_forward(self, x, i):
            raise NotImplementedError

        def loss(self, X, y=None):
            raise NotImplementedError

    for planted in (Stub, lambda *args, **kwargs: stub()):
        with pytest.raises(ExerciseError, match="^NormalizedNet: not implemented yet"):
            check_normalized_net(planted)


def with_norm(order="norm first", normalization=None, scaled=True):
    """``Normalized`` whose hidden layer normalizes before or after the ReLU, with ``normalization``
    instead of the network's own, with or without its gamma and beta."""

    def hidden_forward(self, x, i):
        z = L.affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])[0]
        forward, _ = NORM_LAYERS[normalization or self.normalization]
        gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        if not scaled:
            gamma, beta = np.ones_like(gamma), np.zeros_like(beta)
        if order == "relu first":
            return forward(np.maximum(z, 0), gamma, beta, {"mode": "train"})[0], None
        return np.maximum(forward(z, gamma, beta, {"mode": "train"})[0], 0), None

    return type("Planted", (Normalized,), {"hidden_forward": hidden_forward})


def without_gamma_gradients(self, dout, cache, i, grads):
    dx = Normalized.hidden_backward(self, dout, cache, i, grads)
    grads.pop(f"gamma{i}", None)
    return dx


def switching_to_test_only(self, X, y=None):
    if y is None:
        for param in self.bn_params:
            param["mode"] = "test"
    return Network.loss(self, X, y)


@pytest.mark.parametrize(
    "network, message",
    [
        (type("Planted", (Normalized,), {"hidden_forward": Network.hidden_forward}), "it does not normalize"),
        (with_norm("relu first"), "it normalizes after the ReLU"),
        (with_norm(normalization="layernorm"), "so the layer is batch norm (batchnorm_forward), not layer norm"),
        (with_norm(scaled=False), "scale by params['gamma1'] and shift by params['beta1']"),
        (
            type("Planted", (Normalized,), {"hidden_backward": without_gamma_gradients}),
            "should store the gradient of gamma1 in grads['gamma1']",
        ),
        (
            type("Planted", (Normalized,), {"loss": Network.loss}),
            "the scores for normalization='batchnorm', hidden_dims=[6, 5], test is wrong: batch norm in train mode",
        ),
        (
            type("Planted", (Normalized,), {"loss": switching_to_test_only}),
            "training after a test call is wrong: batch norm in test mode",
        ),
    ],
)
def test_the_network_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^NormalizedNet: ") as error:
        check_normalized_net(network)
    assert message in str(error.value)


def updating_in_test_mode(x, gamma, beta, param):
    out, cache = L.batchnorm_forward(x, gamma, beta, param)
    if param["mode"] == "test":
        L.batchnorm_forward(x, gamma, beta, dict(param, mode="train"))
        param["running_mean"] = param["momentum"] * param["running_mean"] + (1 - param["momentum"]) * x.mean(axis=0)
    return out, cache


@pytest.mark.parametrize(
    "planted, message",
    [
        (
            with_output(
                L.batchnorm_forward,
                lambda out, x, g, b, p: g * (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-5) + b,
            ),
            "add eps to the variance, inside the square root",
        ),
        (updating_in_test_mode, "after a test-mode call (test mode must not change it)"),
    ],
)
def test_more_batchnorm_forward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^batchnorm_forward: ") as error:
        check_batchnorm_forward(planted)
    assert message in str(error.value)


def with_default(key, value):
    """The reference with bn_param[key] read as ``value`` whatever the caller set (hardcoded), or
    starting at ``value`` when absent (a wrong default)."""

    def planted(x, gamma, beta, param):
        if key in ("eps", "momentum"):
            param[key] = value
        else:
            param.setdefault(key, np.full(x.shape[1], value))
        return L.batchnorm_forward(x, gamma, beta, param)

    return planted


def centering_in_place(x, gamma, beta, param):
    out, cache = L.batchnorm_forward(x, gamma, beta, param)
    x -= x.mean(axis=0)
    return out, cache


@pytest.mark.parametrize(
    "planted, message",
    [
        (
            with_default("eps", 1e-5),
            "the train-mode output with bn_param {'eps': 0.3, 'momentum': 0.5} is wrong: it "
            "ignores bn_param['eps']: read it with bn_param.get('eps', 1e-05)",
        ),
        (
            with_default("momentum", 0.9),
            "bn_param['running_mean'] with bn_param {'eps': 0.3, 'momentum': 0.5} is "
            "wrong: it ignores bn_param['momentum']: read it with bn_param.get('momentum', 0.9)",
        ),
        (
            with_default("running_var", 0.0),
            "bn_param['running_var'] with bn_param {'mode': 'train'} is wrong: with "
            "none in bn_param, running_mean starts at 0 and running_var at 1",
        ),
        (with_default("running_mean", 1.0), "bn_param['running_mean'] with bn_param {'mode': 'train'} is wrong"),
        (centering_in_place, "it changed the caller's x in place (x -= mean writes into the input array); compute"),
    ],
)
def test_batchnorm_settings_defaults_and_input_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^batchnorm_forward: ") as error:
        check_batchnorm_forward(planted)
    assert message in str(error.value)


def test_batchnorm_test_mode_without_running_estimates_starts_at_0_and_1():
    def test_mode_default(x, gamma, beta, param):
        if param["mode"] == "test":
            param = dict(param, running_var=param.get("running_var", np.zeros(x.shape[1])))
        return L.batchnorm_forward(x, gamma, beta, param)

    with pytest.raises(
        ExerciseError, match=r"^batchnorm_forward: the test-mode output with bn_param \{'mode': 'test'\}"
    ):
        check_batchnorm_forward(test_mode_default)


def test_layernorm_eps_must_be_read_from_ln_param():
    def hardcoded(x, gamma, beta, param):
        return L.layernorm_forward(x, gamma, beta, {})

    with pytest.raises(
        ExerciseError,
        match=r"^layernorm_forward: the output for ln_param \{'eps': 0.3\} is wrong: "
        r"it ignores ln_param\['eps'\]: read it with ln_param.get\('eps', 1e-05\)",
    ):
        check_layernorm_forward(hardcoded)


def closed_form(dout, cache, axis=0, eps=1e-5, scale=1, gamma_first=True):
    """The closed-form gradient of train-mode batch norm with a planted change: the means over
    ``axis``, ``eps`` in the standard deviation, the two paths ``scale``d, gamma applied first or last."""
    x_hat, centered, std, gamma = cache
    std = np.sqrt(std**2 - 1e-5 + eps)
    g = dout * gamma if gamma_first else dout
    dx = (g - scale * g.mean(axis=axis) - scale * x_hat * (g * x_hat).mean(axis=axis, keepdims=True)) / std
    return (dx if gamma_first else gamma * dx), (dout * x_hat).sum(axis=0), dout.sum(axis=0)


CHECKED_X = _normalization_case()["x"]  # the input the backward checks feed the forward pass


def mean_of_rows(x, axis):
    return x.mean(axis=axis, keepdims=True)


BACKWARD_MISTAKES = [
    (lambda d, c: (constants_dx(d, c), *closed_form(d, c)[1:]), "dx is wrong: it treats the mean and variance as"),
    (lambda d, c: (mean_only_dx(d, c), *closed_form(d, c)[1:]), "dx is wrong: it misses the path through the variance"),
    (
        lambda d, c: ((d * c[3] - c[0] * (d * c[3] * c[0]).mean(axis=0)) / c[2], *closed_form(d, c)[1:]),
        "dx is wrong: it misses the path through the mean",
    ),
    (lambda d, c: closed_form(d, c, scale=d.shape[0]), "lack their 1/N: the mean and the variance average over 8"),
    (lambda d, c: closed_form(d, c, eps=0), "it leaves eps out: divide by sqrt(var + eps)"),
    (
        lambda d, c: (
            (d * c[3] - mean_of_rows(d * c[3], 1) - c[0] * mean_of_rows(d * c[3] * c[0], 1)) / c[2],
            *closed_form(d, c)[1:],
        ),
        "the means of the mean and variance paths run over the batch (axis=0)",
    ),
    (lambda d, c: (closed_form(d, c)[0], (d * CHECKED_X).sum(axis=0), d.sum(axis=0)), "not dout * x"),
    (lambda d, c: (closed_form(d, c)[0], (d * c[0]).mean(axis=0), d.sum(axis=0)), "dgamma sums over the batch"),
    (lambda d, c: (closed_form(d, c)[0], (d * c[0]).sum(axis=0), d.mean(axis=0)), "dbeta sums dout over the batch"),
]


@pytest.mark.parametrize("check", [check_batchnorm_backward, check_batchnorm_backward_alt])
@pytest.mark.parametrize("planted, message", BACKWARD_MISTAKES)
def test_every_backward_mistake_is_named(check, planted, message):
    name = check.__name__.removeprefix("check_")
    with pytest.raises(ExerciseError, match=f"^{name}: ") as error:
        check(L.batchnorm_forward, planted)
    assert message in str(error.value)


def layernorm_closed_form(gamma_first=True, with_gamma=True):
    def planted(dout, cache):
        x_hat, inv_std, gamma = cache
        g = dout * gamma if gamma_first else dout
        dx = inv_std * (g - g.mean(axis=1, keepdims=True) - x_hat * (g * x_hat).mean(axis=1, keepdims=True))
        return (dx if gamma_first or not with_gamma else gamma * dx), (dout * x_hat).sum(axis=0), dout.sum(axis=0)

    return planted


def layernorm_over_the_batch(dout, cache):
    x_hat, inv_std, gamma = cache
    g = dout * gamma
    dx = inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@pytest.mark.parametrize(
    "planted, message",
    [
        (
            layernorm_closed_form(gamma_first=False),
            "it applies the closed form to dout and multiplies by gamma after; gamma varies along the features",
        ),
        (layernorm_closed_form(gamma_first=False, with_gamma=False), "it leaves gamma out"),
        (layernorm_over_the_batch, "the means of the mean and variance paths run over each example's features"),
    ],
)
def test_layernorm_backward_mistakes_the_text_warns_about_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^layernorm_backward: dx is wrong: ") as error:
        check_layernorm_backward(L.layernorm_forward, planted)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "planted, message",
    [
        (with_output(L.layernorm_forward, lambda out, x, g, b, p: g * normalized(x, 1, ddof=1) + b), "biased variance"),
        (with_output(L.layernorm_forward, lambda out, x, g, b, p: g * normalized(x, 1, eps=0) + b), "add eps"),
        (with_output(L.layernorm_forward, lambda out, x, g, b, p: normalized(x, 1)), "scale by gamma and shift"),
    ],
)
def test_layernorm_forward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^layernorm_forward: the output is wrong: ") as error:
        check_layernorm_forward(planted)
    assert message in str(error.value)


def built(gamma=np.ones, beta=np.zeros, shared=False, mode=True, dtype=True, pass_seed=True, always=False):
    """``Normalized`` with a planted mistake in its ``__init__``."""

    def __init__(self, hidden_dims, normalization=None, **settings):
        if not pass_seed:
            settings.pop("seed", None)
        Network.__init__(self, hidden_dims, **settings)
        self.normalization = normalization
        norms = range(1, self.num_layers) if normalization or always else ()
        dtype_ = self.dtype if dtype else np.float64
        self.params.update({f"gamma{i}": gamma(hidden_dims[i - 1]).astype(dtype_) for i in norms})
        self.params.update({f"beta{i}": beta(hidden_dims[i - 1]).astype(dtype_) for i in norms})
        one = {"mode": "train"} if normalization == "batchnorm" and mode else {}
        self.bn_params = [one if shared else dict(one) for _ in norms]

    return type("Planted", (Normalized,), {"__init__": __init__})


@pytest.mark.parametrize(
    "network, message",
    [
        (built(gamma=np.zeros), "params['gamma1'] should start at 1 everywhere"),
        (built(beta=np.ones), "params['beta1'] should start at 0 everywhere"),
        (built(shared=True), "hidden layers share one dict in self.bn_params"),
        (built(mode=False), "bn_param needs 'mode'"),
        (built(dtype=False), "params['gamma1'] is float64, expected float32"),
        (built(pass_seed=False), "(pass the settings on: super().__init__(hidden_dims, **settings))"),
        (built(always=True), "['beta1', 'beta2', 'gamma1', 'gamma2'] extra"),
    ],
)
def test_the_init_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^NormalizedNet[: ]") as error:
        check_normalized_net(network)
    assert message in str(error.value)


class Staged(Normalized):
    """A correct network on the staged batch norm backward pass, whose gradient of a bias in front
    of batch norm rounds to another 1e-16 than the closed form's."""

    def hidden_backward(self, dout, cache, i, grads):
        if self.normalization != "batchnorm":
            return super().hidden_backward(dout, cache, i, grads)
        dz = dout * (cache["relu"] > 0)
        dz, grads[f"gamma{i}"], grads[f"beta{i}"] = L.batchnorm_backward(dz, cache["norm"])
        dx, grads[f"W{i}"], grads[f"b{i}"] = L.affine_backward(dz, cache["affine"])
        return dx


def test_the_network_check_passes_either_backward_pass(capsys):
    check_normalized_net(Staged)
    assert capsys.readouterr().out == "NormalizedNet: all checks passed\n"


def test_a_bias_gradient_that_is_not_zero_still_fails():
    class Leaky(Normalized):
        def hidden_backward(self, dout, cache, i, grads):
            dx = super().hidden_backward(dout, cache, i, grads)
            grads[f"b{i}"] = grads[f"b{i}"] + 1e-3
            return dx

    with pytest.raises(ExerciseError, match=r"^NormalizedNet: grads\['b1'\]"):
        check_normalized_net(Leaky)
