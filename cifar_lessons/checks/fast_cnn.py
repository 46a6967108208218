"""Checks of the fast-CNN lesson (notebook 07): the whitening filters, the learning-rate schedule,
the weight average and test-time augmentation, each compared with the package's reference."""

import numpy as np
import torch

from cifar_lessons.checks.core import ExerciseError, call, expect_close, passed, raise_hint, where_it_failed
from cifar_lessons.from_scratch.gradient_check import rel_error
from cifar_lessons.torch import augment, evaluate, whitening
from cifar_lessons.torch import train as reference_train


def _numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


# -- whitening ---------------------------------------------------------------------------------


def _correlated_images():
    """Images (200, 3, 8, 8), float64, whose patches are correlated across channels and neighbouring
    pixels, have a nonzero mean and directions of variance below eps (where eps matters)."""
    generator = torch.Generator().manual_seed(0)

    def correlated(*shape):  # unequally along rows and columns: no two directions of equal variance
        x = torch.randn(*shape, generator=generator, dtype=torch.float64)
        return x + 0.8 * x.roll(1, dims=-1) + 0.5 * x.roll(1, dims=-2)

    x = torch.einsum(
        "dc,nchw->ndhw", torch.randn(3, 3, generator=generator, dtype=torch.float64), correlated(200, 3, 8, 8)
    )
    x[:, 2] = x[:, 0] + 1e-2 * correlated(200, 8, 8)
    return x + 0.5


def _aligned(filters, target):
    """``filters`` (d, m) with each row's sign flipped to agree with ``target``'s row (an eigenvector's
    sign is arbitrary)."""
    signs = np.where(np.sum(filters * target, axis=1) < 0, -1.0, 1.0)
    return filters * signs[:, None]


def _eigen(rows):
    return torch.linalg.eigh(rows.T @ rows / (len(rows) - 1))


def _whitening_mistakes(images, kernel_size, eps):
    """(first half of wrong filters as (d, c * k * k), what went wrong), each a typical mistake."""
    c, k = images.shape[1], kernel_size
    rows = whitening.patches(images, k)
    covariance = torch.cov(rows.T)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    right = eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]
    biased_values, biased_vectors = torch.linalg.eigh(covariance * (len(rows) - 1) / len(rows))
    windows = images.unfold(2, k, 1).unfold(3, k, 1)  # (n, c, h', w', k, k)
    pixel_major = windows.permute(0, 2, 3, 4, 5, 1).reshape(-1, k * k * c)  # a patch listed (k, k, c)
    values, vectors = torch.linalg.eigh(torch.cov(pixel_major.T))
    uncentred_values, uncentred_vectors = _eigen(rows)
    mistakes = [
        (eigenvectors.T / torch.sqrt(eigenvalues)[:, None], "it ignores eps: divide by sqrt(eigenvalue + eps)"),
        (
            eigenvectors.T / torch.sqrt(eigenvalues + 5e-4)[:, None],
            f"it adds 5e-4 whatever eps it is given (here eps={eps}): use the argument eps",
        ),
        (
            eigenvectors.T / (torch.sqrt(eigenvalues) + eps)[:, None],
            "it adds eps after the square root; add it to the eigenvalue inside: sqrt(eigenvalue + eps)",
        ),
        (
            eigenvectors.T / (eigenvalues + eps)[:, None],
            "it divides by the eigenvalue; divide by its square root, so that each output has variance 1",
        ),
        (
            eigenvectors.T * torch.sqrt(eigenvalues + eps)[:, None],
            "it multiplies by sqrt(eigenvalue + eps); divide by it",
        ),
        (eigenvectors.T, "the eigenvectors are not scaled: divide each by sqrt(eigenvalue + eps)"),
        (
            eigenvectors / torch.sqrt(eigenvalues + eps)[:, None],
            "it takes the rows of the eigenvector matrix; torch.linalg.eigh returns the eigenvectors as "
            "its columns (eigenvectors.T has them as rows)",
        ),
        (
            right.flip(0),
            "the filters are in decreasing order of eigenvalue; keep eigh's increasing order "
            "(the noisiest directions first)",
        ),
        (
            uncentred_vectors.T / torch.sqrt(uncentred_values + eps)[:, None],
            "the covariance is of the patches minus their mean; torch.cov subtracts it, rows.T @ rows does not",
        ),
        (
            biased_vectors.T / torch.sqrt(biased_values + eps)[:, None],
            "the covariance is divided by the number of patches m; the sample covariance divides by m - 1, "
            "as torch.cov does",
        ),
        (
            vectors.T / torch.sqrt(values + eps)[:, None],
            "the patch layout is scrambled: a filter lists its numbers channel first, then row, then column "
            "(c, k, k), as patches() lists a patch and as conv2d reads its weights",
        ),
        (
            right.reshape(-1, c, k, k).transpose(-1, -2).reshape(len(right), -1),
            "each filter is transposed: the rows and columns of the patch are swapped",
        ),
    ]
    return [(_numpy(wrong), hint) for wrong, hint in mistakes]


def _few_images():
    """Float64 images (4, 3, 4, 4): 36 patches of 2 x 2, few enough that a covariance of the wrong
    shape (36 x 36) is quick to compute, and that dividing by m rather than m - 1 shows."""
    return _correlated_images()[:4, :, :4, :4].contiguous()


def check_whitening_filters(whitening_filters):
    """Shape, negatives, scaling, eps, order, layout and dtype of a learner's whitening filters (each up
    to sign)."""
    name, images = "whitening_filters", _correlated_images()
    cases = [(_few_images(), 2, 5e-4), (images, 2, 5e-4), (images, 2, 1e-2), (images, 3, 5e-4)]
    for case, (inputs, kernel_size, eps) in enumerate(cases):
        expected = _numpy(whitening.whitening_filters(inputs, kernel_size, eps))
        actual = _numpy(call(name, whitening_filters, inputs, kernel_size, eps))
        d = len(expected) // 2
        where = f"with kernel_size={kernel_size}, eps={eps}" + (
            f", for {len(inputs)} images of 4 x 4" if case == 0 else ""
        )
        if actual.shape == (d, *expected.shape[1:]):
            raise ExerciseError(
                f"{name}: it returns {d} filters {where}, expected {2 * d}: append their negatives "
                "(torch.cat([filters, -filters])), so that the GELU after the layer passes both signs"
            )
        patch_count = len(whitening.patches(inputs, kernel_size))
        if actual.shape[1:] == expected.shape[1:] and len(actual) == 2 * patch_count**2 // d:
            raise ExerciseError(
                f"{name}: it returns {len(actual)} filters {where}, expected {2 * d}: its covariance is "
                f"{patch_count} x {patch_count}, one row per patch. torch.cov takes one variable per row and "
                "one observation per column: the covariance of the patches' numbers is torch.cov(rows.T)"
            )
        if actual.shape != expected.shape:
            raise ExerciseError(
                f"{name}: the filters have shape {actual.shape} {where}, expected {expected.shape} "
                "(2 * c * k * k filters of shape (c, k, k))"
            )
        first, second = actual[:d].reshape(d, -1), actual[d:].reshape(d, -1)
        if rel_error(second, -first) > 1e-7:
            raise ExerciseError(f"{name}: the second half of the filters should be the first half negated, in order")
        right = expected[:d].reshape(d, -1)
        for wrong, hint in _whitening_mistakes(inputs, kernel_size, eps):
            if rel_error(_aligned(first, wrong), wrong) < 1e-4 < rel_error(_aligned(wrong, right), right):
                raise ExerciseError(f"{name}: the filters {where} are wrong: {hint}")
        expect_close(
            name,
            f"the first half of the filters {where} (each compared up to its sign)",
            _aligned(first, right),
            right,
            tolerance=1e-4,
            advice="Compute in float64 (images.double()): float32 loses the smallest eigenvalues.",
        )
    single = call(name, whitening_filters, _few_images().float(), 2, 5e-4)
    if getattr(single, "dtype", None) != torch.float32:
        raise ExerciseError(
            f"{name}: for float32 images it returns {getattr(single, 'dtype', type(single).__name__)}; return the "
            "filters in the images' dtype (.to(images.dtype)), the dtype of the convolution they go into"
        )
    passed(name, whitening_filters)


# -- learning-rate schedule --------------------------------------------------------------------


def check_lr_factor(lr_factor):
    """Warm-up from 1 / warmup_steps to 1, linear decay to 0 at total_steps, no decay, no warm-up."""
    name, total, warmup = "lr_factor", 50, 10

    def factor(step, total_steps=total, warmup_steps=warmup, decay=True):
        try:
            value = call(name, lr_factor, step, total_steps, warmup_steps, decay)
        except ExerciseError as error:
            if "ZeroDivisionError" in str(error) and warmup_steps == 0:
                raise ExerciseError(
                    f"{name}: with warmup_steps=0 (no warm-up, as the ablation trains) it divides by zero; "
                    "with no warm-up, step 0 starts the decay from 1"
                ) from None
            raise
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ExerciseError(f"{name}: it should return the multiplier, a number; got {value!r}") from None

    start = factor(0)
    if np.isclose(start, 1):
        raise ExerciseError(
            f"{name}: the warm-up starts at the peak: at step 0 the multiplier should be 1 / warmup_steps "
            f"= {1 / warmup:.3g}, rising to 1"
        )
    if start == 0:
        raise ExerciseError(
            f"{name}: at step 0 it returns 0, so the first step does not train and the warm-up peaks one "
            "step late; step s of the warm-up has multiplier (s + 1) / warmup_steps"
        )
    peak, after = factor(warmup - 1), factor(warmup)
    if not np.isclose(peak, 1):
        raise ExerciseError(
            f"{name}: at step warmup_steps - 1 = {warmup - 1}, the warm-up's last step, it returns {peak:.3g}; "
            "the warm-up should reach 1 there ((s + 1) / warmup_steps)"
        )
    if np.isclose(after, (warmup + 1) / warmup):
        raise ExerciseError(
            f"{name}: at step warmup_steps = {warmup} it returns {after:.3g}, above 1: the warm-up covers "
            "steps 0 to warmup_steps - 1 (step < warmup_steps), then the decay starts from 1"
        )
    if after > 1 + 1e-9:
        raise ExerciseError(
            f"{name}: at step warmup_steps = {warmup}, the decay's first step, it returns {after:.3g}, above 1: "
            "the decay (total_steps - s) / (total_steps - warmup_steps) is 1 there"
        )
    if not np.isclose(after, 1):
        raise ExerciseError(
            f"{name}: at step warmup_steps = {warmup} it returns {after:.3g}; the decay should start from 1 "
            "where the warm-up ends"
        )
    last, end = factor(total - 1), factor(total)
    if not np.isclose(end, 0, rtol=0, atol=1e-9):
        raise ExerciseError(
            f"{name}: at step total_steps = {total} it returns {end:.3g}; the linear decay should reach 0 there"
        )
    if last <= 0:
        raise ExerciseError(
            f"{name}: at the last step, total_steps - 1 = {total - 1}, it returns {last:.3g}; the decay reaches "
            "0 one step later, at total_steps, so the last step still trains: (total_steps - s) / "
            "(total_steps - warmup_steps)"
        )
    for step in range(warmup, total + 1):
        expected = (total - step) / (total - warmup)
        actual = factor(step)
        if not np.isclose(actual, expected, rtol=0, atol=1e-9):
            raise ExerciseError(
                f"{name}: at step {step} it returns {actual:.3g}, expected {expected:.3g}: from warmup_steps to "
                "total_steps the multiplier falls on a straight line from 1 to 0, "
                "(total_steps - s) / (total_steps - warmup_steps)"
            )
    constant = factor(warmup + 5, decay=False)
    if not np.isclose(constant, 1):
        raise ExerciseError(f"{name}: with decay=False the multiplier should stay 1 after the warm-up, got {constant}")
    start = factor(0, decay=False)
    if not np.isclose(start, 1 / warmup):
        raise ExerciseError(
            f"{name}: with decay=False, at step 0 it returns {start:.3g}, expected 1 / warmup_steps = "
            f"{1 / warmup:.3g}: decay=False removes the decay only; the warm-up stays"
        )
    for total_steps, warmup_steps, decay in [
        (50, 10, True),
        (50, 10, False),
        (7, 3, True),
        (50, 0, True),
        (50, 0, False),
    ]:
        expected = [reference_train.lr_factor(s, total_steps, warmup_steps, decay) for s in range(total_steps + 1)]
        actual = [factor(s, total_steps, warmup_steps, decay) for s in range(total_steps + 1)]
        expect_close(
            name,
            f"the multipliers of steps 0..{total_steps} (total_steps={total_steps}, warmup_steps={warmup_steps}, "
            f"decay={decay})",
            actual,
            expected,
            tolerance=1e-9,
        )
    passed(name, lr_factor)


# -- weight averaging --------------------------------------------------------------------------


def _network(seed, batch_norm=True, counter=0):
    """A small float64 network whose every tensor holds seeded values (batch norm's counter: ``counter``)."""
    generator = torch.Generator().manual_seed(seed)
    layers = [torch.nn.Linear(4, 3)] + ([torch.nn.BatchNorm1d(3)] if batch_norm else [])
    network = torch.nn.Sequential(*layers).double()
    with torch.no_grad():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype))
            else:
                tensor.fill_(counter)
    return network


def _states(network):
    return {key: tensor.clone() for key, tensor in network.state_dict().items()}


def _averaged(name, update_average, average, model, decay):
    """``update_average(average, model, decay)``, with what a crash on these networks means."""
    try:
        call(name, update_average, average, model, decay)
    except ExerciseError as error:
        if "leaf Variable that requires grad" in str(error):
            raise ExerciseError(
                f"{name}: an in-place update of parameters needs torch.no_grad() (decorate the function with "
                "@torch.no_grad()), or work on state_dict()'s tensors, which carry no gradient"
            ) from None
        cause = error.__cause__
        if isinstance(cause, NotImplementedError) and str(cause):  # torch's: an operation this dtype lacks
            raise ExerciseError(f"{name} crashed: NotImplementedError: {cause}{where_it_failed(cause)}") from cause
        raise


def _float_mistakes(a, m, decay):
    """(wrong average, what went wrong) of a floating-point tensor: ``a`` the average's, ``m`` the model's."""
    return [
        (
            (1 - decay) * a + decay * m,
            f"decay is applied the wrong way round: the average keeps decay ({decay}) of itself and takes "
            "1 - decay of the model",
        ),
        (
            decay * a + m,
            "the model's share is not scaled: the average becomes decay * average + (1 - decay) * model",
        ),
        (
            0.9 * a + 0.1 * m,
            f"it averages with decay 0.9 whatever decay it is given (here {decay}): use the argument decay "
            "(train passes 0 at the first step, so that the average starts as a copy of the model)",
        ),
        (
            a,
            "it was left unchanged; move it towards the model's, in place (mean.lerp_(...), mean.copy_(...)): "
            "a plain assignment, mean = ..., only gives the name a new tensor",
        ),
        (m, "it is a copy of the model's; keep decay of the average"),
    ]


def check_update_average(update_average):
    """Direction of the decay, the decay given used, the model left alone, batch norm's running statistics
    averaged and its integer counter copied."""
    name = "update_average"
    for decay in (0.9, 0.75):
        average, model = _network(0, batch_norm=False), _network(1, batch_norm=False)
        start, current = _states(average), _states(model)
        _averaged(name, update_average, average, model, decay)
        if any(not torch.equal(model.state_dict()[key], current[key]) for key in current):
            raise ExerciseError(f"{name}: it changed the model; only the average moves (the model is the optimizer's)")
        for key in start:
            actual, a, m = _numpy(average.state_dict()[key]), _numpy(start[key]), _numpy(current[key])
            what = f"the average's {key} with decay={decay}"
            right = decay * a + (1 - decay) * m
            mistakes = [(wrong, hint) for wrong, hint in _float_mistakes(a, m, decay) if rel_error(wrong, right) > 1e-6]
            raise_hint(name, what, actual, mistakes)
            expect_close(name, f"{what} (decay * average + (1 - decay) * model)", actual, right)

    decay = 0.9
    average, model = _network(2, counter=10), _network(3, counter=30)
    start, current = _states(average), _states(model)
    try:
        _averaged(name, update_average, average, model, decay)
    except ExerciseError as error:
        raise ExerciseError(
            f"{error}\n{name} fails on a network with batch norm: its num_batches_tracked is an integer counter; "
            "average only floating-point tensors (tensor.is_floating_point()) and copy the others"
        ) from None
    state = average.state_dict()
    for key in ("1.running_mean", "1.running_var"):
        actual, a, m = _numpy(state[key]), _numpy(start[key]), _numpy(current[key])
        raise_hint(
            name,
            f"batch norm's {key[2:]}",
            actual,
            [
                (
                    a,
                    "it was left unchanged: the running statistics are buffers, in state_dict() but not in "
                    "parameters(); average them with the weights",
                ),
                (m, "it was copied from the model; average it like the weights"),
            ],
        )
        expect_close(name, f"batch norm's {key[2:]} in the average", actual, decay * a + (1 - decay) * m)
    counter = int(state["1.num_batches_tracked"])
    if counter != 30:
        what = "left unchanged" if counter == 10 else f"averaged (to {counter})"
        raise ExerciseError(
            f"{name}: batch norm's num_batches_tracked, an integer step counter, was {what}; "
            "copy integer tensors from the model, average only floating-point ones"
        )
    passed(name, update_average)


# -- test-time augmentation --------------------------------------------------------------------


def _tta_case():
    """A small nonlinear float64 model of images (4, 3, 6, 6), and such images."""
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5)
    ).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64) / 3)
    return model, torch.randn(4, 3, 6, 6, generator=generator, dtype=torch.float64)


def _tta_mistakes(model, x, tta, pixels):
    """(wrong scores, what went wrong) for a mode of test-time augmentation."""

    def averaged(views, weights, score=model):
        return sum(w * score(v) for v, w in zip(views, weights))

    def probabilities(v):
        return model(v).softmax(1)

    def log_probabilities(v):
        return model(v).log_softmax(1)

    up_left, down_right = augment.shift(x, -pixels, -pixels), augment.shift(x, pixels, pixels)
    mirrored = augment.flip(x)
    scores_alone = (
        model(x),
        f'it returns model(images) alone with tta="{tta}": average the scores of the views that tta names',
    )
    if tta == "flip":
        return [
            scores_alone,
            (
                averaged([x, x.flip(-2)], [0.5, 0.5]),
                "it flips the images upside down (axis -2, the height); "
                "mirror them left to right, along the width (axis -1), as training does",
            ),
            (
                averaged([x, x.flip(1)], [0.5, 0.5]),
                "it reverses the colour channels (axis 1); mirror the images left to right, along the width (axis -1)",
            ),
            (
                averaged([x, mirrored], [0.5, 0.5], probabilities),
                "it averages probabilities (after a "
                "softmax); average the scores (logits) themselves: predict returns scores in every mode",
            ),
            (
                averaged([x, mirrored], [0.5, 0.5], log_probabilities),
                "it averages log-probabilities (after a log_softmax); average the scores as the model returns them",
            ),
            (
                averaged([x, mirrored], [1, 1]),
                "it adds the two views' scores; average them (divide by 2), so that every mode gives scores "
                "of the same scale",
            ),
            (
                model((x + mirrored) / 2),
                "it averages the images and scores the blend once; score each view and average the scores",
            ),
            (model(mirrored), "it returns the mirror images' scores alone; average them with the originals'"),
        ]
    views = [x, mirrored, up_left, augment.flip(up_left), down_right, augment.flip(down_right)]
    right_weights = [1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 8, 1 / 8]
    up_right, down_left = augment.shift(x, -pixels, pixels), augment.shift(x, pixels, -pixels)
    return [
        scores_alone,
        (
            averaged(views[:2], [0.5, 0.5]),
            'it returns the tta="flip" scores: "flip_shift" adds the shifted copies, '
            "(F(x) + (F(up-left) + F(down-right)) / 2) / 2",
        ),
        (
            averaged(views, [1 / 6] * 6),
            "it weighs the six views equally; the unshifted pair counts half: "
            "(F(x) + (F(up-left) + F(down-right)) / 2) / 2",
        ),
        (
            averaged(views, right_weights, probabilities),
            "it averages probabilities (after a softmax); average "
            "the scores (logits) themselves: predict returns scores in every mode",
        ),
        (
            averaged(views, right_weights, log_probabilities),
            "it averages log-probabilities (after a log_softmax); average the scores as the model returns them",
        ),
        (
            averaged(views, [2 * w for w in right_weights]),
            "its scores are twice the average: (F(x) + (F(up-left) + F(down-right)) / 2) / 2 divides by 2 twice",
        ),
        (
            averaged(views, [1] * 6),
            "it adds the six views' scores; average them, (F(x) + (F(up-left) + F(down-right)) / 2) / 2",
        ),
        (
            averaged([x, mirrored, up_left, down_right], [1 / 4, 1 / 4, 1 / 4, 1 / 4]),
            "the shifted copies are not mirrored: F of a shifted copy averages it with its mirror image",
        ),
        (
            averaged([x, mirrored, up_left, augment.flip(up_left)], [1 / 4] * 4),
            "it uses the up-left copy alone; average the up-left and the down-right copies",
        ),
        (
            averaged(
                [x, mirrored, up_right, augment.flip(up_right), down_left, augment.flip(down_left)], right_weights
            ),
            "it shifts up-right and down-left; shift up-left, shift(images, -p, -p), and down-right, "
            "shift(images, p, p)",
        ),
        (
            averaged([x, x.flip(-2), up_left, up_left.flip(-2), down_right, down_right.flip(-2)], right_weights),
            "it flips the images upside down (axis -2, the height); mirror them left to right (axis -1)",
        ),
    ]


@torch.no_grad()
def check_tta_scores(tta_scores):
    """The views of each mode, their weights, the flip's axis and the averaging of scores, not probabilities."""
    name, (model, x) = "tta_scores", _tta_case()
    for tta, pixels in [("none", 1), ("flip", 1), ("flip_shift", 1), ("flip_shift", 2)]:
        actual = _numpy(call(name, tta_scores, model, x, tta, pixels))
        expected = _numpy(evaluate.tta_scores(model, x, tta, pixels))
        what = f'the scores with tta="{tta}", shift_pixels={pixels}'
        if tta == "none":
            raise_hint(
                name,
                what,
                actual,
                [
                    (
                        _numpy(evaluate.tta_scores(model, x, mode, pixels)),
                        f'it averages the views of tta="{mode}"; with tta="none" return model(images) alone',
                    )
                    for mode in ("flip", "flip_shift")
                ],
            )
            expect_close(name, f"{what} (model(images) unchanged)", actual, expected)
            continue
        raise_hint(name, what, actual, [(_numpy(wrong), hint) for wrong, hint in _tta_mistakes(model, x, tta, pixels)])
        if pixels == 2:
            raise_hint(name, what, actual, [(_numpy(evaluate.tta_scores(model, x, tta, 1)), "it ignores shift_pixels")])
        expect_close(name, what, actual, expected)
    passed(name, tta_scores)
