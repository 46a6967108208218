"""Checks of the dropout lesson (notebook 04): inverted dropout, forward and backward."""

import numpy as np

from cifar_lessons.checks.core import ExerciseError, call, expect_close, expect_tuple, passed, raise_hint


def _dropout_case():
    rng = np.random.default_rng(0)
    return rng.uniform(1.0, 2.0, size=(400, 250)), rng.normal(size=(400, 250))  # no zeros: 0 marks a drop


def check_dropout_forward(dropout_forward):
    """Keep probability, 1/p scaling, seeding and test mode of a learner's inverted dropout."""
    name, (x, _), p = "dropout_forward", _dropout_case(), 0.3
    param = {"p": p, "mode": "train", "seed": 0}
    out, _ = expect_tuple(name, call(name, dropout_forward, x, dict(param)), ["out", "cache"])
    out = np.asarray(out)
    if out.shape != x.shape:
        raise ExerciseError(f"{name}: out has shape {out.shape}, expected x's shape {x.shape}")
    kept = out != 0
    fraction = kept.mean()
    allowed = 5 * np.sqrt(p * (1 - p) / x.size)  # five standard deviations of a binomial fraction
    if abs(fraction - (1 - p)) < allowed:
        raise ExerciseError(
            f"{name}: it kept {fraction:.1%} of the units, about 1 - p; p is the probability "
            "of KEEPING a unit: keep where rand < p"
        )
    if abs(fraction - p) > allowed:
        raise ExerciseError(f"{name}: it kept {fraction:.1%} of the units, expected about p = {p:.0%}")
    scale = out[kept] / x[kept]
    for wrong, hint in [
        (1.0, "inverted dropout divides the kept units by p, so that test mode needs no scaling"),
        (1 / (1 - p), "divide the kept units by p (the keep probability), not by 1 - p"),
    ]:
        if np.allclose(scale, wrong):
            raise ExerciseError(f"{name}: kept units are x * {wrong:.3g}: {hint}")
    if not np.allclose(scale, 1 / p):
        raise ExerciseError(
            f"{name}: a kept unit should equal x / p = x * {1 / p:.3g}; yours range over "
            f"x * [{scale.min():.3g}, {scale.max():.3g}]"
        )
    again, _ = call(name, dropout_forward, x, dict(param))
    if not np.array_equal(again, out):
        raise ExerciseError(
            f"{name}: two calls with the same dropout_param['seed'] drew different masks; "
            "draw the mask from a generator seeded with it"
        )
    test_out, _ = call(name, dropout_forward, x, {"p": p, "mode": "test"})
    if not np.array_equal(test_out, x):
        raise ExerciseError(f"{name}: test mode must return x unchanged (inverted dropout did its scaling in training)")
    passed(name, dropout_forward)


def check_dropout_backward(dropout_forward, dropout_backward):
    """A learner's dropout backward pass: the forward mask in train mode, the identity in test mode."""
    name, (x, dout), p = "dropout_backward", _dropout_case(), 0.3
    train = {"p": p, "mode": "train", "seed": 0}
    out, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, train), ["out", "cache"])
    mask = np.asarray(out) / x
    dx = call(name, dropout_backward, dout, cache)
    raise_hint(
        name,
        "dx in train mode",
        dx,
        [
            (dout, "pass the gradient through the forward mask: dx = dout * mask"),
            (dout * (mask != 0), "the mask includes the 1 / p scale, so dx = dout * mask also divides by p"),
        ],
    )
    expect_close(name, "dx in train mode (it should be dout * mask, the mask of the forward pass)", dx, dout * mask)
    test = {"p": p, "mode": "test"}
    _, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, test), ["out", "cache"])
    expect_close(name, "dx in test mode (it should be dout unchanged)", call(name, dropout_backward, dout, cache), dout)
    passed(name, dropout_backward)
