"""The dropout lesson's checks fail stubs cleanly and name each planted mistake (the notebook's own
solutions passing them is tested with the learner copies, in test_exercises); the check of the
network with dropout passes one written differently."""

import numpy as np
import pytest
from test_batch_norm_checks import Normalized

from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.checks.dropout import check_dropout_backward, check_dropout_forward, check_dropout_net
from cifar_lessons.checks.networks import NORM_LAYERS
from cifar_lessons.from_scratch import layers as L


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize(
    "check, args, name",
    [
        (check_dropout_backward, (stub, stub), "dropout_forward"),
        (check_dropout_forward, (stub,), "dropout_forward"),
        (check_dropout_backward, (L.dropout_forward, stub), "dropout_backward"),
    ],
)
def test_stubs_fail_as_not_implemented(check, args, name):
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check(*args)


def dropping(keep, scale):
    def planted(x, param):
        if param["mode"] == "test":
            return x, (param, None)
        mask = (np.random.default_rng(param.get("seed")).random(x.shape) < keep(param["p"])) * scale(param["p"])
        return x * mask, (param, mask)

    return planted


@pytest.mark.parametrize(
    "planted, message",
    [
        (dropping(lambda p: 1 - p, lambda p: 1 / (1 - p)), "about 1 - p; p is the probability of KEEPING a unit"),
        (dropping(lambda p: p, lambda p: 1.0), "kept units are x * 1: inverted dropout divides the kept units by p"),
        (
            dropping(lambda p: p, lambda p: 1 / (1 - p)),
            "divide the kept units by p (the keep probability), not by 1 - p",
        ),
        (dropping(lambda p: p / 2, lambda p: 2 / p), "expected about p = 30%"),
        (
            lambda x, param: L.dropout_forward(x, dict(param, seed=None)),
            "same dropout_param['seed'] drew different masks",
        ),
        (lambda x, param: L.dropout_forward(x, dict(param, mode="train", seed=1)), "test mode must return x unchanged"),
    ],
)
def test_dropout_forward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^dropout_forward: ") as error:
        check_dropout_forward(planted)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "planted, message",
    [
        (lambda dout, cache: dout, "dx in train mode is wrong: pass the gradient through the forward mask"),
        (lambda dout, cache: dout * (cache[1] != 0), "the mask includes the 1 / p scale"),
        (
            lambda dout, cache: dout * (cache[1] if cache[1] is not None else 0.0),
            "dx in test mode (it should be dout unchanged) is wrong",
        ),
    ],
)
def test_dropout_backward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^dropout_backward: ") as error:
        check_dropout_backward(L.dropout_forward, planted)
    assert message in str(error.value)


class Dropping(Normalized):
    """A correct network with dropout written differently: the mask's cache kept apart, the mode
    set by a dict update, on the normalized network of the batch norm tests."""

    def __init__(self, hidden_dims, dropout_keep_ratio=1.0, seed=None, **settings):
        super().__init__(hidden_dims, seed=seed, **settings)
        self.use_dropout = dropout_keep_ratio < 1
        self.dropout_param = {"p": dropout_keep_ratio, "mode": "train"} if self.use_dropout else {}
        if self.use_dropout and seed is not None:
            self.dropout_param["seed"] = seed

    def hidden_forward(self, x, i):
        out, cache = super().hidden_forward(x, i)
        dropped = L.dropout_forward(out, self.dropout_param) if self.use_dropout else (out, None)
        return dropped[0], {"layer": cache, "dropout": dropped[1]}

    def hidden_backward(self, dout, cache, i, grads):
        if cache["dropout"] is not None:
            dout = L.dropout_backward(dout, cache["dropout"])
        return super().hidden_backward(dout, cache["layer"], i, grads)

    def loss(self, X, y=None):
        self.dropout_param.update({"mode": "test" if y is None else "train"} if self.use_dropout else {})
        return super().loss(X, y)


def check(network):
    check_dropout_net(network, L.dropout_forward, L.dropout_backward)


def test_the_network_check_passes_a_network_written_differently(capsys):
    check(Dropping)
    assert capsys.readouterr().out == "DropoutNet: all checks passed\n"


def test_the_network_check_fails_a_stub_as_not_implemented():
    class Stub(Dropping):
        def hidden_forward(self, x, i):
            raise NotImplementedError

    for planted in (Stub, lambda *args, **kwargs: stub()):
        with pytest.raises(ExerciseError, match="^DropoutNet: not implemented yet"):
            check(planted)


def dropping_the_input(self, x, i):
    return Normalized.hidden_forward(self, L.dropout_forward(x, self.dropout_param)[0], i)


def dropping_before_the_norm(self, x, i):
    if not self.normalization:
        return Dropping.hidden_forward(self, x, i)
    z = L.affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])[0]
    z = L.dropout_forward(z, self.dropout_param)[0]
    forward, _ = NORM_LAYERS[self.normalization]
    return np.maximum(forward(z, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1])[0], 0), None


def dropping_always(self, x, i):
    out, cache = Normalized.hidden_forward(self, x, i)
    out, drop_cache = L.dropout_forward(out, self.dropout_param)
    return out, {"layer": cache, "dropout": drop_cache}


def scaling_at_test(self, x, i):
    out, cache = Dropping.hidden_forward(self, x, i)
    return out * self.dropout_param["p"] if self.dropout_param["mode"] == "test" else out, cache


def without_the_mask(self, dout, cache, i, grads):
    return Normalized.hidden_backward(self, dout, cache["layer"], i, grads)


def switching_to_test_only(self, X, y=None):
    if y is None:
        self.dropout_param["mode"] = "test"
    return Normalized.loss(self, X, y)


@pytest.mark.parametrize(
    "network, message",
    [
        (
            type(
                "Planted",
                (Dropping,),
                {"hidden_forward": Normalized.hidden_forward, "hidden_backward": Normalized.hidden_backward},
            ),
            "no unit was dropped: apply dropout_forward(out, self.dropout_param) after the ReLU",
        ),
        (
            type("Planted", (Dropping,), {"hidden_forward": dropping_the_input}),
            "dropout comes last in a hidden layer, on its output, not on its input x",
        ),
        (type("Planted", (Dropping,), {"loss": Normalized.loss}), "units were dropped in test mode"),
        (type("Planted", (Dropping,), {"hidden_forward": scaling_at_test}), "inverted dropout did its scaling"),
        (
            type("Planted", (Dropping,), {"hidden_backward": without_the_mask}),
            "hidden_backward sends dout back through dropout_backward first",
        ),
        (
            type("Planted", (Dropping,), {"loss": switching_to_test_only}),
            "training after a test call is wrong: no unit was dropped: with y given, set",
        ),
        (
            type("Planted", (Dropping,), {"hidden_forward": dropping_before_the_norm}),
            "dropout comes after the ReLU, not before the normalization",
        ),
        (type("Planted", (Dropping,), {"hidden_forward": dropping_always}), "apply dropout only when self.use_dropout"),
    ],
)
def test_the_network_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^DropoutNet[: ]") as error:
        check(network)
    assert message in str(error.value)


def float64_mask(x, param):
    if param["mode"] == "test":
        return x, (param, None)
    mask = (np.random.default_rng(param.get("seed")).random(x.shape) < param["p"]) / param["p"]
    return x * mask, (param, mask)


@pytest.mark.parametrize(
    "planted, message",
    [
        (dropping(lambda p: p, lambda p: p), "x * 0.3: they are multiplied by p; inverted dropout divides"),
        (float64_mask, "for float32 x, out is float64; it should keep x's dtype"),
    ],
)
def test_more_dropout_forward_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^dropout_forward: ") as error:
        check_dropout_forward(planted)
    assert message in str(error.value)


def drawing_from(generator):
    """The book's dropout_forward with its mask drawn by ``generator(seed).random``."""

    def planted(x, param):
        if param["mode"] == "test":
            return x, (param, None)
        mask = (generator(param.get("seed")).random(x.shape) < param["p"]).astype(x.dtype) / param["p"]
        return x * mask, (param, mask)

    return planted


def seeding_the_global_generator(seed):
    np.random.seed(seed)
    return np.random


@pytest.mark.parametrize(
    "planted, message",
    [
        (
            drawing_from(np.random.RandomState),
            "it draws from np.random.RandomState(seed) or np.random.seed(seed); draw the",
        ),
        (
            drawing_from(seeding_the_global_generator),
            "draws from np.random.RandomState(seed) or np.random.seed(seed)",
        ),
        (
            drawing_from(lambda seed: np.random.default_rng(None if seed is None else seed + 1)),
            "set, draw the mask as rng.random(x.shape) < p with rng = np.random.default_rng(seed)",
        ),
        (drawing_from(np.random.default_rng), "two calls after np.random.seed(1) drew different masks; draw from Num"),
    ],
)
def test_the_generator_of_the_mask_is_named(planted, message):
    with pytest.raises(ExerciseError, match="^dropout_forward: ") as error:
        check_dropout_forward(planted)
    assert message in str(error.value)


def built(keep=lambda ratio: ratio, use=lambda ratio: ratio < 1, seed_in_param=True, pass_seed=True):
    """``Dropping`` with a planted mistake in its ``__init__``."""

    def __init__(self, hidden_dims, dropout_keep_ratio=1.0, seed=None, **settings):
        Normalized.__init__(self, hidden_dims, seed=seed if pass_seed else None, **settings)
        self.use_dropout = use(dropout_keep_ratio)
        self.dropout_param = {"p": keep(dropout_keep_ratio), "mode": "train"} if self.use_dropout else {}
        if self.use_dropout and seed is not None and seed_in_param:
            self.dropout_param["seed"] = seed

    return type("Planted", (Dropping,), {"__init__": __init__})


@pytest.mark.parametrize(
    "network, message",
    [
        (built(keep=lambda ratio: 1 - ratio), "is the probability of KEEPING a unit: 0.75, not 0.25"),
        (built(use=lambda ratio: True), "dropout_keep_ratio=1, seed=0, self.use_dropout is True, expected False"),
        (built(seed_in_param=False), "and with a seed the seed, so that every call draws one mask"),
        (built(pass_seed=False), "pass it on too: super().__init__(..., seed=seed)"),
    ],
)
def test_the_init_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^DropoutNet: ") as error:
        check(network)
    assert message in str(error.value)
