"""Checks of the backpropagation lesson (notebook 01): SiLU (a fork in the graph), affine and ReLU layers,
softmax and SVM losses."""

import numpy as np

from cifar_lessons.checks.core import (
    GRADIENT_TOLERANCE,
    ExerciseError,
    call,
    expect_close,
    expect_gradients,
    expect_tuple,
    passed,
    raise_hint,
    with_advice,
)
from cifar_lessons.from_scratch import layers
from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array


def check_silu_forward(silu_forward):
    """``silu_forward(x) -> (out, cache)`` with cache = (x, sigmoid(x))."""
    x = np.random.default_rng(5).uniform(-4, 4, (3, 4, 5))
    out, cache = expect_tuple("silu_forward", call("silu_forward", silu_forward, x.copy()), ["out", "cache"])
    expected, (_, s) = layers.silu_forward(x)
    raise_hint("silu_forward", "out", out, [(s, "that is sigmoid(x) alone; SiLU multiplies it by x")])
    expect_close("silu_forward", "out", out, expected)
    if not isinstance(cache, tuple) or len(cache) != 2:
        raise ExerciseError(
            "silu_forward: cache should be the tuple (x, s) with s = sigmoid(x); silu_backward reads it"
        )
    expect_close("silu_forward", "the cache's x", cache[0], x)
    expect_close("silu_forward", "the cache's s", cache[1], s, advice="s is sigmoid(x) = 1 / (1 + exp(-x)).")
    passed("silu_forward", silu_forward)


def check_silu_backward(silu_backward):
    """``silu_backward(dout, cache) -> dx`` with cache = (x, sigmoid(x)): two paths from x add up."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-4, 4, (4, 6))
    dout = rng.standard_normal(x.shape)
    _, (_, s) = layers.silu_forward(x)
    dx = call("silu_backward", silu_backward, dout, (x.copy(), s.copy()))
    fork = (
        "x reaches out = x * s along two paths, directly and through s = sigmoid(x), and at a fork "
        "the gradients add: accumulate the second path (dx += ...) instead of overwriting the first (dx = ...)"
    )
    product = (
        "a product sends each input the upstream gradient times the OTHER input: d(x * s)/dx = s and d(x * s)/ds = x"
    )
    raise_hint(
        "silu_backward",
        "dx",
        dx,
        [
            (dout * s, f"it holds only the direct path's gradient dout * s; {fork}"),
            (dout * x * s * (1 - s), f"it holds only the path through the sigmoid; {fork}"),
            (dout * (s + x * s), "the sigmoid's local gradient is s * (1 - s), not s"),
            (dout * (x + s * s * (1 - s)), product),
            (dout * (x + x * s * (1 - s)), product),
            (dout * (s + s * s * (1 - s)), product),
            (
                dout * s + x * s * (1 - s),
                "the path through the sigmoid is missing dout: every path's gradient "
                "starts from the upstream gradient dout",
            ),
            (
                s + dout * x * s * (1 - s),
                "the direct path is missing dout: every path's gradient starts from the upstream gradient dout",
            ),
        ],
    )
    expect_gradients("silu_backward", silu_backward, layers.silu_forward, {"x": x}, dout)
    passed("silu_backward", silu_backward)


def _differing(mistakes, expected):
    """The ``(wrong, hint)`` of ``mistakes`` whose wrong value differs from ``expected`` (a slip
    that changes nothing on this input cannot be told apart, and is no slip there)."""
    expected = np.asarray(expected, dtype=np.float64)
    return [
        (wrong, hint)
        for wrong, hint in mistakes
        if np.shape(wrong) != expected.shape or not np.allclose(wrong, expected, rtol=1e-6, atol=1e-12)
    ]


def _affine_inputs(rng, shape=(3, 2, 4, 5), M=6):
    D = int(np.prod(shape[1:]))
    return {"x": rng.standard_normal(shape), "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M)}


def check_affine_forward(affine_forward):
    """``affine_forward(x, w, b) -> (out, cache)`` on 2-D and 4-D inputs."""
    rng = np.random.default_rng(0)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        try:
            result = call("affine_forward", affine_forward, *inputs.values())
        except ExerciseError as crash:
            if len(shape) == 2:
                raise
            raise with_advice(
                crash,
                f"For x of shape {shape}, flatten each example to a row first: x.reshape(x.shape[0], -1)",
            ) from None
        out, cache = expect_tuple("affine_forward", result, ["out", "cache"])
        x, w, b = inputs.values()
        expected, reference_cache = layers.affine_forward(x, w, b)
        raise_hint(
            "affine_forward",
            f"out for x of shape {shape}",
            out,
            _differing([(expected - b, "the bias b is missing: out = x @ w + b")], expected),
        )
        expect_close("affine_forward", f"out for x of shape {shape}", out, expected)
        _expect_usable_cache(
            "affine_forward",
            layers.affine_backward,
            cache,
            reference_cache,
            rng.standard_normal(expected.shape),
            ["dx", "dw", "db"],
            "the cache must be (x, w, b) with x as given, (N, d_1, ..., d_k): affine_backward reshapes dx to "
            "x's shape from it",
        )
    passed("affine_forward", affine_forward)


def _expect_usable_cache(name, backward, cache, reference_cache, dout, names, advice):
    """The reference ``backward`` must return the same gradients (``names``) from the learner's
    ``cache`` as from the reference's: a cache nothing reads here would pass, then break the
    network of the next lesson, far from the mistake. ``advice`` says what the cache must hold."""
    expected = backward(dout, reference_cache)
    try:
        with np.errstate(all="ignore"):
            grads = backward(dout.copy(), cache)
    except Exception as error:
        raise ExerciseError(
            f"{name}: {backward.__name__} cannot use the cache it returns ({type(error).__name__}: {error}); {advice}"
        ) from None
    expected, grads = (expected, grads) if len(names) > 1 else ((expected,), (grads,))
    for grad_name, grad, right in zip(names, grads, expected):
        if np.shape(grad) != right.shape:
            wrong = f"{grad_name} of shape {np.shape(grad)}, expected {right.shape}"
        elif not np.allclose(grad, right):
            wrong = f"a wrong {grad_name}"
        else:
            continue
        raise ExerciseError(f"{name}: from the cache it returns, {backward.__name__} computes {wrong}; {advice}")


def _affine_mistakes(x, w, dout):
    """What affine_backward's usual slips return for each gradient: name -> [(wrong, hint)]."""
    flat = x.reshape(len(x), -1)
    return {
        "dx": [
            (dout @ w.T, "give dx the original shape of x: (dout @ w.T).reshape(x.shape)"),
            ((dout @ w.T).T, "dx = dout @ w.T, of shape (N, D), then reshaped to x's shape"),
        ],
        "dw": [
            ((flat.T @ dout).T, "dw = x.T @ dout, of w's shape (D, M): it looks transposed"),
            (flat.T @ dout / len(x), "dw is a sum over the examples, not a mean: do not divide by N"),
        ],
        "db": [
            (dout.sum(axis=1), "db sums dout over the examples, axis=0 (one entry per output), not axis=1"),
            (dout.mean(axis=0), "db is a sum over the examples, not a mean: dout.sum(axis=0)"),
            (dout, "db sums dout over the examples: dout.sum(axis=0), of b's shape (M,)"),
        ],
    }


def check_affine_backward(affine_backward):
    """``affine_backward(dout, cache) -> (dx, dw, db)`` with cache = (x, w, b)."""
    rng = np.random.default_rng(1)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        x, w, b = inputs.values()
        dout = rng.standard_normal((shape[0], w.shape[1]))
        try:
            result = call("affine_backward", affine_backward, dout, (x.copy(), w.copy(), b.copy()))
        except ExerciseError as crash:
            advice = "the shapes: dx = dout @ w.T (N, D), dw = x.T @ dout (D, M), with x flattened to (N, D) first"
            raise with_advice(crash, f"For x of shape {shape}, check {advice}") from None
        grads = expect_tuple("affine_backward", result, ["dx", "dw", "db"])
        expected = layers.affine_backward(dout, (x, w, b))
        for (name, mistakes), grad, right in zip(_affine_mistakes(x, w, dout).items(), grads, expected):
            raise_hint("affine_backward", f"{name} for x of shape {shape}", grad, _differing(mistakes, right))
        expect_gradients("affine_backward", affine_backward, layers.affine_forward, inputs, dout)
    passed("affine_backward", affine_backward)


def _relu_input(rng, shape=(4, 6)):
    """Entries at least 0.1 away from the kink, where the numerical gradient is exact."""
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x


def check_relu_forward(relu_forward):
    """``relu_forward(x) -> (out, cache)``."""
    x = _relu_input(np.random.default_rng(2), (3, 4, 5))
    out, cache = expect_tuple("relu_forward", call("relu_forward", relu_forward, x.copy()), ["out", "cache"])
    raise_hint(
        "relu_forward", "out", out, [(np.minimum(x, 0), "that is min(x, 0): ReLU keeps the positive part, max(x, 0)")]
    )
    expect_close(
        "relu_forward",
        "out",
        out,
        layers.relu_forward(x)[0],
        where=[(x < 0, "where the input is negative"), (x > 0, "where the input is positive")],
    )
    # cache = x is the convention; out (or the mask x > 0) serves relu_backward as well
    _expect_usable_cache(
        "relu_forward",
        layers.relu_backward,
        cache,
        x,
        np.random.default_rng(8).standard_normal(x.shape),
        ["dx"],
        "the cache must be x, the input: relu_backward lets dout pass where x > 0",
    )
    passed("relu_forward", relu_forward)


def check_relu_backward(relu_backward):
    """``relu_backward(dout, cache) -> dx`` with cache = x."""
    rng = np.random.default_rng(3)
    x = _relu_input(rng, (3, 4, 5))
    dout = rng.standard_normal(x.shape)
    dx = call("relu_backward", relu_backward, dout.copy(), x.copy())
    raise_hint(
        "relu_backward",
        "dx",
        dx,
        _differing(
            [
                (dout * (dout > 0), "the mask is where the input x (the cache) was positive, not where dout is"),
                (dout * (x < 0), "the gradient passes where the input was positive (x > 0) and is blocked elsewhere"),
            ],
            dout * (x > 0),
        ),
    )
    expect_gradients(
        "relu_backward",
        relu_backward,
        layers.relu_forward,
        {"x": x},
        dout,
        where=[
            (x < 0, "where the input was negative: there the gradient must be 0"),
            (x > 0, "where the input was positive: there dout passes through unchanged"),
        ],
    )
    passed("relu_backward", relu_backward)


def _check_loss(name, loss_fn, reference, mistakes, extremes):
    """Loss and gradient on tiny and on random scores, naming the ``mistakes(x, y)`` (a list of
    ``(loss, dx, hint)`` of usual slips) it matches; then on each of ``extremes(rng, y)``, a list of
    ``(x, label, not_finite, too_small)``, a finite loss and dx, else ``not_finite`` names the cause,
    and the reference's loss, else ``too_small`` (when given) names why it is smaller."""
    rng = np.random.default_rng(4)
    N, C = 20, 10
    y = rng.integers(C, size=N)
    for scale, label in ((1e-3, "scores near 0"), (1.0, "random scores")):
        x = scale * rng.standard_normal((N, C))
        loss, dx = expect_tuple(name, call(name, loss_fn, x.copy(), y.copy()), ["loss", "dx"])
        if not np.ndim(loss) == 0:
            raise ExerciseError(
                f"{name}: loss should be a scalar (the mean over the batch), got shape {np.shape(loss)}"
            )
        expected_loss, expected_dx = reference(x, y)
        with np.errstate(all="ignore"):
            slips = mistakes(x, y)
        raise_hint(
            name,
            f"loss on {label}",
            loss,
            [(wrong, hint) for wrong, _, hint in slips if not np.isclose(wrong, expected_loss, rtol=1e-6)],
        )
        raise_hint(
            name,
            f"dx on {label}",
            dx,
            [(wrong, hint) for _, wrong, hint in slips if not np.allclose(wrong, expected_dx, rtol=1e-6)],
        )
        expect_close(name, f"loss on {label}", loss, expected_loss)
        numeric = eval_numerical_gradient_array(lambda v: reference(v, y)[0], x.copy(), 1.0)
        expect_close(name, f"dx on {label}", dx, numeric, GRADIENT_TOLERANCE)
    for x, label, not_finite, too_small in extremes(rng, y):
        loss, dx = call(name, loss_fn, x.copy(), y.copy())
        if not (np.isfinite(loss) and np.all(np.isfinite(dx))):
            raise ExerciseError(f"{name}: loss or dx is NaN or inf for {label}; {not_finite}")
        expected_loss = reference(x, y)[0]
        if too_small and loss < (1 - 1e-6) * expected_loss:
            raise ExerciseError(
                f"{name}: the loss on {label} is {float(loss):.6g}, expected {expected_loss:.6g}: {too_small}"
            )
        expect_close(name, f"loss on {label}", loss, expected_loss)
    passed(name, loss_fn)


def _softmax_mistakes(x, y):
    N, rows = len(y), np.arange(len(y))
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    one_hot = np.eye(x.shape[1])[y]
    loss = -np.log(probs[rows, y]).mean()
    column_shift = np.exp(x - x.max(axis=0, keepdims=True))
    column_probs = column_shift / column_shift.sum(axis=0, keepdims=True)
    column_shifted = column_shift / column_shift.sum(axis=1, keepdims=True)
    return [
        (loss, probs - one_hot, "dx is N times too large: the loss is a mean, so divide its gradient by N too"),
        (loss * N, (probs - one_hot) * N, "the loss is the mean over the N examples, not their sum"),
        (loss, probs / N, "dx = (p - one-hot label) / N: subtract 1 at each example's correct class"),
        (loss, -one_hot / N, "dx = (p - one-hot label) / N: the probabilities p are missing"),
        (
            -np.log(column_probs[rows, y]).mean(),
            (column_probs - one_hot) / N,
            "the probabilities of one example sum to 1 over its classes: normalize each row (axis=1)",
        ),
        (
            -np.log(column_shifted[rows, y]).mean(),
            (column_shifted - one_hot) / N,
            "subtract each row's own maximum, x.max(axis=1, keepdims=True): one maximum per column (axis=0) "
            "shifts each class by another amount and changes the probabilities",
        ),
    ]


LOG_SOFTMAX = "compute log p directly as shifted - log(sum(exp(shifted))) (the log-softmax)"


def _softmax_extremes(rng, y):
    """Two inputs that tell a missing shift from a log of an underflowed probability."""
    N, C = len(y), 10
    # Each row around +1e4 or -1e4 but its scores close together: unshifted, np.exp overflows to
    # inf (or underflows to 0, and 0 / 0 is NaN); shifted, every probability is moderate.
    close = rng.choice([-1e4, 1e4], (N, 1)) + rng.standard_normal((N, C))
    # The correct class 1000 below the others: even shifted, its probability exp(-1000) underflows to 0.
    far = rng.standard_normal((N, C))
    far[np.arange(N), y] -= 1000
    return [
        (
            close,
            "rows of scores around 1e4 or -1e4 that lie close together",
            "subtract each row's maximum score before np.exp so it cannot overflow",
            "",
        ),
        (
            far,
            "scores where the correct class lies 1000 below the others",
            f"the probability of the correct class underflows to 0 and log(0) is -inf: {LOG_SOFTMAX}, "
            "whose log is of a sum that is at least exp(0) = 1, the maximum's term",
            "a constant added inside the log, as in -log(p + 1e-12), or a clip of p, caps each example's loss "
            f"(-log(1e-12) = 27.6) and so clips the loss of a confidently wrong example; {LOG_SOFTMAX}, which "
            "needs no constant",
        ),
    ]


def check_softmax_loss(softmax_loss):
    """``softmax_loss(x, y) -> (loss, dx)``: mean cross-entropy, ~log(10) for scores near 0."""
    _check_loss("softmax_loss", softmax_loss, layers.softmax_loss, _softmax_mistakes, _softmax_extremes)


def _svm_mistakes(x, y):
    N, rows = len(y), np.arange(len(y))
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    with_correct = margins.copy()  # the correct class's own margin, always exactly 1
    margins[rows, y] = 0
    violated = (margins > 0).astype(float)
    dx = violated.copy()
    dx[rows, y] = -violated.sum(axis=1)
    once = violated.copy()
    once[rows, y] = -1
    by_size = margins.copy()
    by_size[rows, y] = -margins.sum(axis=1)
    loss = margins.sum() / N
    counted = (with_correct > 0).astype(float)
    counted[rows, y] -= counted.sum(axis=1)
    no_margin = np.maximum(0, x - x[rows, y][:, None])
    no_margin[rows, y] = 0
    no_margin_dx = (no_margin > 0).astype(float)
    no_margin_dx[rows, y] = -no_margin_dx.sum(axis=1)
    return [
        (loss, dx, "dx is N times too large: the loss is a mean, so divide its gradient by N too"),
        (loss * N, dx, "the loss is the mean over the N examples, not their sum: divide by N"),
        (
            with_correct.sum() / N,
            counted / N,
            "the correct class is not a violation of its own margin (its term is always exactly 1): skip j = y_n, "
            "e.g. set margins[np.arange(N), y] = 0",
        ),
        (loss, once / N, "the correct class gets -1/N once per violating class: -(number of violations) / N"),
        (loss, by_size / N, "the gradient of each violating class is 1/N, whatever the size of its margin"),
        (no_margin.sum() / N, no_margin_dx / N, "a wrong class costs max(0, x_j - x_y + 1): the margin 1 is missing"),
    ]


def check_svm_loss(svm_loss):
    """``svm_loss(x, y) -> (loss, dx)``: mean hinge loss, ~C - 1 = 9 for scores near 0."""

    def huge(rng, y):
        return [(1e4 * rng.standard_normal((len(y), 10)), "scores around 1e4", "the hinge needs no exponentials", "")]

    _check_loss("svm_loss", svm_loss, layers.svm_loss, _svm_mistakes, huge)
