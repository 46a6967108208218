"""The dropout lesson's checks fail stubs cleanly and name each planted mistake (the notebook's own
solutions passing them is tested with the learner copies, in test_exercises)."""

import numpy as np
import pytest

from cifar_lessons import layers as L
from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.checks.dropout import check_dropout_backward, check_dropout_forward


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
