"""Checks of the fully connected networks lesson (notebook 02): the update rules and the network."""

import numpy as np

from cifar_lessons.checks.core import (
    ExerciseError,
    call,
    expect_close,
    expect_tuple,
    passed,
    raise_hint,
    with_advice,
)
from cifar_lessons.checks.networks import (
    NO_RELU_ON_SCORES,
    NUM_CLASSES,
    expect_cast_to_dtype,
    expect_fully_connected_init,
    expect_hidden_backward,
    expect_hooks_used,
    expect_same_loss,
    expect_value,
    hidden_input,
    network_pair,
    penalty,
    regularization_mistakes,
)
from cifar_lessons.data import load_cifar10, normalize
from cifar_lessons.from_scratch import contracts, layers, models, optim
from cifar_lessons.from_scratch.gradient_check import rel_error
from cifar_lessons.from_scratch.metrics import accuracy, predict
from cifar_lessons.from_scratch.solver import Solver


def distinct(wrong, right):
    """Whether a slip's step differs from the right one by far more than the tolerance of a match."""
    return not np.all(np.isfinite(wrong)) or rel_error(wrong, right) > 1e-6


def _momentum_slip(*, keep_velocity=True, minus=False):
    def rule(w, dw, config):
        v = config["momentum"] * config.get("velocity", 0) * keep_velocity - config["learning_rate"] * dw
        return (w - v if minus else w + v), {**config, "velocity": v}

    return rule


MOMENTUM_SLIPS = [
    (_momentum_slip(keep_velocity=False), "v = momentum * v - learning_rate * dw: the previous velocity is missing"),
    (_momentum_slip(minus=True), "next_w = w + v: the velocity already points downhill"),
]


def _rmsprop_slip(*, epsilon_inside=False, squared=True, swapped=False, root=True, sign=-1):
    def rule(w, dw, config):
        rho, eps = config["decay_rate"], config["epsilon"]
        grad = dw * dw if squared else dw
        cache = (
            (1 - rho) * config.get("cache", 0) + rho * grad
            if swapped
            else rho * config.get("cache", 0) + (1 - rho) * grad
        )
        scale = np.sqrt(cache + eps) if epsilon_inside else (np.sqrt(cache) if root else cache) + eps
        return w + sign * config["learning_rate"] * dw / scale, {**config, "cache": cache}

    return rule


EPSILON_OUTSIDE = "epsilon goes outside the square root: dw / (np.sqrt(cache) + epsilon)"
RMSPROP_SLIPS = [
    (_rmsprop_slip(epsilon_inside=True), EPSILON_OUTSIDE),
    (_rmsprop_slip(swapped=True), "cache = decay_rate * cache + (1 - decay_rate) * dw**2: the two weights are swapped"),
    (_rmsprop_slip(root=False), "divide by the square root of the cache, np.sqrt(cache) + epsilon"),
    (_rmsprop_slip(sign=1), "step against the gradient: w - learning_rate * ..."),
]


def _adam_slip(*, corrected=True, epsilon_inside=False, swapped=False):
    def rule(w, dw, config):
        beta1, beta2, eps = config["beta1"], config["beta2"], config["epsilon"]
        if swapped:
            beta1, beta2 = beta2, beta1
        t = config.get("t", 0) + 1
        m = beta1 * config.get("m", 0) + (1 - beta1) * dw
        v = beta2 * config.get("v", 0) + (1 - beta2) * dw * dw
        m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if corrected else (m, v)
        scale = np.sqrt(v_hat + eps) if epsilon_inside else np.sqrt(v_hat) + eps
        return w - config["learning_rate"] * m_hat / scale, {**config, "m": m, "v": v, "t": t}

    return rule


ADAM_SLIPS = [
    (
        _adam_slip(corrected=False),
        "the bias correction is missing: divide m by 1 - beta1**t and v by 1 - beta2**t",
    ),
    (_adam_slip(epsilon_inside=True), "epsilon goes outside the square root: m_hat / (np.sqrt(v_hat) + epsilon)"),
    (_adam_slip(swapped=True), "m averages dw with beta1, v averages dw**2 with beta2: they are swapped"),
]


def _expect_finite_step(name, next_w, dw, step, advice):
    """A step with a NaN or inf, named by where it is: only where dw is 0, the missing epsilon;
    elsewhere, ``advice``."""
    next_w = np.asarray(next_w, dtype=np.float64)
    if np.shape(next_w) != dw.shape or np.all(np.isfinite(next_w)):
        return
    if np.all(np.isfinite(next_w[dw != 0])):
        raise ExerciseError(
            f"{name}: next_w after step {step} holds NaN or inf where the gradient dw is 0 (a unit that never "
            "fires has such gradients): the step divides 0 by 0. Add epsilon to the denominator, outside the "
            "square root, so that it is never 0"
        )
    raise ExerciseError(f"{name}: next_w after step {step} holds NaN or inf where dw is not 0: {advice}")


def _check_update_rule(name, rule, configs, slips=(), not_finite="", steps=3):
    """Run ``rule``, the reference and each of its usual ``slips`` (``(rule, hint)``) side by side
    for a few steps from each of ``configs``, on gradients whose first entry is always 0 (as for a
    unit that never fires); compare next_w and the rule's state after every step, naming the slip
    the learner's steps follow (one that these settings tell apart from the right rule), and
    ``not_finite`` ends the message of a NaN where dw is not 0. Then check the defaults it fills in."""
    reference = getattr(optim, name)
    for config in configs:
        rng = np.random.default_rng(5)
        w = rng.standard_normal((4, 5))
        ours, theirs = dict(config), dict(config)
        slipped = [(slip, w, dict(config), hint) for slip, hint in slips]  # each slip's own run
        w_ours = w_theirs = w
        for step in range(1, steps + 1):
            dw = rng.standard_normal(w.shape)
            dw[0, 0] = 0.0
            result = call(name, rule, w_ours.copy(), dw.copy(), ours)
            w_ours, ours = expect_tuple(name, result, ["next_w", "config"])
            w_theirs, theirs = reference(w_theirs, dw, theirs)
            with np.errstate(all="ignore"):
                slipped = [(slip, *slip(w_slip, dw, state), hint) for slip, w_slip, state, hint in slipped]
            if not isinstance(ours, dict):
                raise ExerciseError(f"{name}: the config it returns should be a dict, got {type(ours).__name__}")
            _expect_finite_step(name, w_ours, dw, step, not_finite)
            raise_hint(
                name,
                f"next_w after step {step}",
                w_ours,
                [(w_slip, hint) for _, w_slip, _, hint in slipped if distinct(w_slip, w_theirs)],
            )
            for key in contracts.STATE[name]:
                if key not in ours:
                    raise ExerciseError(f"{name}: after step {step} config has no {key!r}; store it for the next step")
                raise_hint(
                    name,
                    f"config[{key!r}] after step {step}",
                    ours[key],
                    [(state[key], hint) for _, _, state, hint in slipped if distinct(state[key], theirs[key])],
                )
                advice = f"Start each step from the config[{key!r}] the step before stored." if step > 1 else ""
                expect_close(name, f"config[{key!r}] after step {step}", ours[key], theirs[key], advice=advice)
            expect_close(name, f"next_w after step {step}", w_ours, w_theirs)
    _expect_defaults(name, rule, reference, w)
    passed(name, rule)


def _expect_defaults(name, rule, reference, w):
    """Called with config=None, and with the learning rate alone (as the Solver calls it), the
    rule stores every setting its docstring names in the config it returns, at its default."""
    dw = np.random.default_rng(6).standard_normal(w.shape)
    for given in (None, {"learning_rate": 0.05}):
        called = f"config={given}"
        try:
            result = call(name, rule, w.copy(), dw.copy(), None if given is None else dict(given))
        except ExerciseError as crash:
            settings = ", ".join(contracts.SETTINGS[name])
            raise with_advice(
                crash,
                f"Called with {called}, it must fill in each setting it is not given ({settings}) with its default",
            ) from None
        next_w, ours = expect_tuple(name, result, ["next_w", "config"])
        expected_w, theirs = reference(w.copy(), dw.copy(), None if given is None else dict(given))
        if not isinstance(ours, dict):
            raise ExerciseError(f"{name}: the config it returns should be a dict, got {type(ours).__name__}")
        for key in contracts.SETTINGS[name]:
            if key not in ours:
                raise ExerciseError(
                    f"{name}: called with {called}, the config it returns has no {key!r}: store its default, "
                    f"config.setdefault({key!r}, {theirs[key]!r})"
                )
            if ours[key] != theirs[key]:
                raise ExerciseError(
                    f"{name}: called with {called}, config[{key!r}] is {ours[key]!r}, expected the default "
                    f"{theirs[key]!r} (the docstring's)"
                )
        expect_close(name, f"next_w with {called}", next_w, expected_w, advice="Step with the defaults it stores.")


def check_sgd_momentum(sgd_momentum):
    """``sgd_momentum(w, dw, config=None) -> (next_w, config)``, state in config['velocity']."""
    _check_update_rule("sgd_momentum", sgd_momentum, [{"learning_rate": 0.1, "momentum": 0.9}], MOMENTUM_SLIPS)


def check_rmsprop(rmsprop):
    """``rmsprop(w, dw, config=None) -> (next_w, config)``, state in config['cache']; epsilon of
    0.1, where its place shows, and of 1e-8."""
    configs = [{"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": epsilon} for epsilon in (0.1, 1e-8)]
    _check_update_rule(
        "rmsprop", rmsprop, configs, RMSPROP_SLIPS, "the cache is the moving average of dw**2, never negative"
    )


def check_adam(adam):
    """``adam(w, dw, config=None) -> (next_w, config)``, state in config['m'], ['v'], ['t'];
    epsilon of 0.1, where its place shows, and of 1e-8."""
    configs = [{"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": epsilon} for epsilon in (0.1, 1e-8)]
    _check_update_rule(
        "adam",
        adam,
        configs,
        ADAM_SLIPS,
        "v is the moving average of dw**2, never negative, and the bias correction divides by 1 - beta**t, "
        "which is 0 for t = 0: increment t before the bias correction, so that the first step has t = 1",
    )


# ---------------------------------------------------------------------------------------------
# The network, and what the checks of the networks of notebooks 03 and 04 share with its check


def _check_affine_relu_layer(name, model, reference, i, rng):
    """hidden_forward(x, i) and hidden_backward(dout, cache, i, grads) of an affine - ReLU layer."""
    W, b = reference.params[f"W{i}"], reference.params[f"b{i}"]
    x = hidden_input(reference, i, rng)
    affine, affine_cache = layers.affine_forward(x, W, b)
    result = call(name, model.hidden_forward, x, i)
    out, cache = expect_tuple(f"{name}.hidden_forward", result, ["out", "cache"])
    expected, reference_cache = reference.hidden_forward(x, i)
    expect_value(
        name,
        f"hidden_forward(x, {i})",
        out,
        expected,
        [
            (affine, "a hidden layer is affine, then ReLU: the ReLU is missing"),
            (
                layers.affine_forward(np.maximum(x, 0), W, b)[0],
                "a hidden layer is affine, then ReLU, in that order: it applies the ReLU first",
            ),
        ],
    )
    dout = rng.normal(size=expected.shape)
    dx, dW, db = layers.affine_backward(dout, affine_cache)
    skipped_relu = (dx, {f"W{i}": dW, f"b{i}": db}, "hidden_backward sends dout through relu_backward first")
    expect_hidden_backward(name, model, reference, i, cache, reference_cache, dout, [skipped_relu])


NETWORK_CASES = [([], 0.0), ([6], 0.7), ([6, 5], 0.0), ([6, 5], 0.7), ([5, 7, 4], 0.3)]  # hidden_dims, reg


def check_fully_connected_net(FullyConnectedNet):
    """A learner's ``FullyConnectedNet``: its hidden layers' hooks, its scores, loss and every
    gradient against the book's on tiny float64 networks of one to four layers, with and without
    regularization, and that ``loss`` runs the hooks; first its ``__init__``."""
    name = "FullyConnectedNet"
    expect_fully_connected_init(name, FullyConnectedNet, models.FullyConnectedNet)
    for hidden_dims, reg in NETWORK_CASES:
        model, reference, X, y = network_pair(name, FullyConnectedNet, models.FullyConnectedNet, hidden_dims, reg=reg)
        rng = np.random.default_rng(len(hidden_dims))
        for i in range(1, model.num_layers):
            _check_affine_relu_layer(name, model, reference, i, rng)
        when = f"for hidden_dims={hidden_dims}, reg={reg}"
        scores = reference.loss(X)
        expect_same_loss(name, model, reference, X, None, when, [(np.maximum(scores, 0), NO_RELU_ON_SCORES)])
        expected = reference.loss(X, y)
        relu_on_scores = layers.softmax_loss(np.maximum(scores, 0), y)[0] + penalty(reference)
        expect_same_loss(
            name,
            model,
            reference,
            X,
            y,
            when,
            [((relu_on_scores, expected[1]), NO_RELU_ON_SCORES), *regularization_mistakes(reference, expected)],
            advice="hidden_forward and hidden_backward are right on their own, so look at how loss() chains them: "
            "back from the last layer to the first, each hidden layer with the cache its own forward pass "
            "returned, then reg * W on every weight gradient",
        )
        expect_hooks_used(name, FullyConnectedNet, models.FullyConnectedNet, hidden_dims, reg=reg)
    float32 = call(name, lambda: FullyConnectedNet([6, 5], input_dim=X[0].size, num_classes=NUM_CLASSES, seed=0))
    expect_cast_to_dtype(name, float32, X, y)
    passed(name, FullyConnectedNet)


# ---------------------------------------------------------------------------------------------
# The learner's own choices: settings that memorize 50 images, and a model of their own


OVERFIT_DEPTHS = {3: [100, 100], 5: [100, 100, 100, 100]}  # layers -> hidden_dims
OVERFIT_EPOCHS, OVERFIT_BATCH = 20, 25


def _overfit_run(FullyConnectedNet, update_rule, data, hidden_dims, learning_rate, weight_scale):
    """The Solver of one quiet 20-epoch run on ``data``'s training images, from seed 0."""
    model = call("FullyConnectedNet", lambda: FullyConnectedNet(hidden_dims, weight_scale=weight_scale, seed=0))
    solver = Solver(
        model,
        data,
        update_rule=update_rule,
        optim_config={"learning_rate": learning_rate},
        num_epochs=OVERFIT_EPOCHS,
        batch_size=OVERFIT_BATCH,
        num_train_samples=None,
        num_val_samples=OVERFIT_BATCH,
        verbose=False,
        progress=False,
        seed=0,
    )
    with np.errstate(all="ignore"):  # a diverging run overflows; what it did is read from its loss
        solver.train()
    return solver


def _what_went_wrong(loss, initial_spread, accuracy, chance):
    """Why a run did not memorize its images, read from its ``loss`` history, the spread of its
    initial scores and its best training ``accuracy``."""
    log10 = np.log(10)
    if not np.all(np.isfinite(loss)) or loss[-20:].mean() > loss[0] + 0.5:
        return (
            "the loss exploded (NaN, inf, or far above where it started): the learning rate is too large for "
            "this weight scale; lower it, a factor of 3 to 10 at a time"
        )
    if loss[0] > 3 * log10:
        return (
            f"the first loss is {loss[0]:.1f}, far above log 10 = {log10:.2f}: the weight scale is so large that "
            "the initial scores are huge and the softmax saturated; lower the weight scale"
        )
    if initial_spread >= 1e-2 and abs(loss[-1] - log10) < 0.05 and accuracy <= chance:
        return (
            f"the loss went from {loss[0]:.2f} to log 10 = {log10:.2f} and stayed there, with the accuracy at "
            f"chance ({chance:.0%}): the first steps were so large that they killed the network (every ReLU "
            "blocks); lower the learning rate"
        )
    if initial_spread < 1e-2 and abs(loss[-1] - log10) < 0.05:
        return (
            f"the loss stayed at log 10 = {log10:.2f} (best training accuracy {accuracy:.0%}; always answering the "
            f"most common class scores {chance:.0%}): the initial scores spread only {initial_spread:.1e}, so the "
            "weight scale is too small: the signal, and the gradient, fade through the layers; raise the weight scale"
        )
    return (
        f"the loss fell from {loss[0]:.2f} to {loss[-1]:.2f}, but too slowly to memorize every image in "
        f"{OVERFIT_EPOCHS} epochs (best training accuracy {accuracy:.0%}): raise the learning rate, or the weight "
        "scale if the loss hardly moves"
    )


def lesson_data():
    """The chapter's data: the lesson's images, each channel standardized with the training
    split's statistics."""
    return normalize(load_cifar10(), "per_channel")[0]


def check_overfit_settings(overfit_settings, FullyConnectedNet, sgd_momentum, small_data=None):
    """``overfit_settings(num_layers) -> (learning_rate, weight_scale)`` for 3 and 5 layers: each
    pair trains a ``FullyConnectedNet`` with ``sgd_momentum`` on the training images of
    ``small_data`` (by default the chapter's first 50) for 20 epochs in batches of 25, and must
    reach 100% training accuracy."""
    name = "overfit_settings"
    if small_data is None:
        data = lesson_data()
        small_data = {**data, "X_train": data["X_train"][:50], "y_train": data["y_train"][:50]}
    wrong = []
    for num_layers, hidden_dims in OVERFIT_DEPTHS.items():
        settings = call(name, overfit_settings, num_layers)
        if not (
            isinstance(settings, tuple)
            and len(settings) == 2
            and all(isinstance(value, (int, float)) and np.isfinite(value) and value > 0 for value in settings)
        ):
            raise ExerciseError(
                f"{name}({num_layers}) should return (learning_rate, weight_scale), two positive numbers; got "
                f"{settings!r}"
            )
        learning_rate, weight_scale = settings
        solver = _overfit_run(FullyConnectedNet, sgd_momentum, small_data, hidden_dims, learning_rate, weight_scale)
        loss, accuracies = np.array(solver.loss_history, dtype=np.float64), solver.train_acc_history
        run = f"{num_layers} layers, learning rate {learning_rate:g}, weight scale {weight_scale:g}"
        if max(accuracies) == 1.0:
            epoch = accuracies.index(1.0)  # the history scores after the first step, then after every epoch
            print(f"{run}: 100% training accuracy after epoch {max(epoch, 1)}")
            continue
        print(f"{run}: best training accuracy {max(accuracies):.0%} in {OVERFIT_EPOCHS} epochs")
        untrained = FullyConnectedNet(hidden_dims, weight_scale=weight_scale, seed=0)
        with np.errstate(all="ignore"):
            spread = float(np.std(untrained.loss(small_data["X_train"])))
        chance = np.bincount(small_data["y_train"]).max() / len(small_data["y_train"])
        wrong.append(f"with {num_layers} layers, {_what_went_wrong(loss, spread, max(accuracies), chance)}")
    if wrong:
        raise ExerciseError(f"{name}: not memorized yet: " + "; and ".join(wrong))
    passed(name, overfit_settings)


OWN_MODEL_BUDGET = 90_000  # training images seen: 20 epochs of 4,500
OWN_MODEL_BAR = 0.40  # what the optimizers' race of the chapter reaches in five epochs


def check_my_fully_connected_model(my_fully_connected_model, data=None):
    """``my_fully_connected_model(data, seed=0)`` returns the Solver that trained a model within
    the budget on ``data``'s training images (by default the chapter's); the check scores the
    model on the validation images and compares it with the bar."""
    name = "my_fully_connected_model"
    data = lesson_data() if data is None else data
    solver = call(name, my_fully_connected_model, data, 0)
    model = getattr(solver, "model", None)
    if model is None or not hasattr(solver, "train_acc_history"):
        raise ExerciseError(f"{name} should return the Solver that trained the model, got {type(solver).__name__}")
    seen = solver.num_epochs * len(solver.X_train)
    if seen > OWN_MODEL_BUDGET:
        raise ExerciseError(
            f"{name}: it trained on {seen:,} images ({solver.num_epochs} epochs of {len(solver.X_train):,}), over "
            f"the budget of {OWN_MODEL_BUDGET:,}: fewer epochs"
        )
    training_rows = {row.tobytes() for row in np.asarray(solver.X_train).reshape(len(solver.X_train), -1)}
    if any(row.tobytes() in training_rows for row in np.asarray(data["X_val"]).reshape(len(data["X_val"]), -1)):
        raise ExerciseError(f"{name}: it trained on validation images; train on data['X_train'] alone")
    validation = accuracy(predict(model, data["X_val"]), data["y_val"])
    training = solver.train_acc_history[-1] if solver.train_acc_history else float("nan")
    margin = 100 * (validation - OWN_MODEL_BAR)
    print(
        f"{name}: validation accuracy {validation:.1%}, {abs(margin):.1f} points {'above' if margin >= 0 else 'below'} "
        f"the bar of {OWN_MODEL_BAR:.0%} (500 images: a standard error of about 2.2 points); training accuracy "
        f"{training:.1%} in its last epoch"
    )
    if validation < OWN_MODEL_BAR:
        labels = np.asarray(data["y_train"])
        chance = np.bincount(labels).max() / len(labels)  # always answering the most common class
        if not np.all(np.isfinite(solver.loss_history)):
            reason = "the loss went NaN or inf: lower the learning rate (or the weight scale)"
        elif training < chance + 0.05:  # a few points above chance is what a learning model shows at once
            reason = (
                f"its training accuracy ({training:.0%}) is about chance ({chance:.0%}, always answering the most "
                "common class): it learned nothing. Likely causes: a weight scale so small that the scores are too "
                "small to move (the signal and the gradient fade through the layers: raise it), or a learning rate "
                "too small to change anything (or so large that the first steps killed every ReLU)"
            )
        elif training - validation > 0.15:
            reason = (
                f"it fits the training images ({training:.0%}) far better than new ones: it overfits; raise reg, "
                "train fewer epochs, or add the mirror images (with_mirror_images)"
            )
        else:
            reason = (
                f"it does not fit even the training images well ({training:.0%}): it underfits; train longer, "
                "make it wider, or raise the learning rate"
            )
        raise ExerciseError(f"{name}: below the bar: {reason}")
    passed(name, my_fully_connected_model)
