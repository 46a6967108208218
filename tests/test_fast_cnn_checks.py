"""The fast-CNN lesson's checks pass correct implementations written differently from the package's,
fail stubs cleanly and name each planted mistake (the notebook's own solutions passing them is
tested with the learner copies, in test_exercises)."""

import contextlib
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lesson_checks import check_tests  # noqa: E402

from cifar_lessons.checks.core import ExerciseError  # noqa: E402
from cifar_lessons.checks.fast_cnn import (  # noqa: E402
    check_lr_factor,
    check_tta_scores,
    check_update_average,
    check_whitening_filters,
)
from cifar_lessons.torch.augment import shift  # noqa: E402
from cifar_lessons.torch.evaluate import tta_scores  # noqa: E402
from cifar_lessons.torch.train import lr_factor, update_average  # noqa: E402
from cifar_lessons.torch.whitening import patches, whitening_filters  # noqa: E402


def svd_whitening(images, kernel_size=2, eps=5e-4):
    """Whitening from the SVD of the centred patches (F.unfold's), in NumPy."""
    c = images.shape[1]
    rows = torch.nn.functional.unfold(images.double(), kernel_size).transpose(1, 2).reshape(-1, c * kernel_size**2)
    centred = rows.numpy() - rows.numpy().mean(0)
    _, singular_values, right = np.linalg.svd(centred, full_matrices=False)
    variances = singular_values[::-1] ** 2 / (len(centred) - 1)  # increasing, as eigh's
    filters = right[::-1] / np.sqrt(variances + eps)[:, None]
    filters = np.concatenate([filters, -filters]).reshape(-1, c, kernel_size, kernel_size)
    return torch.from_numpy(filters).to(images.dtype)


def interpolated_lr_factor(step, total_steps, warmup_steps, decay=True):
    """The schedule as the piecewise-linear curve through its corners."""
    steps, factors = [warmup_steps - 1, warmup_steps, total_steps], [1.0, 1.0, 0.0 if decay else 1.0]
    if warmup_steps:
        steps, factors = [-1, *steps], [0.0, *factors]
    return float(np.interp(step, steps, factors))


def buffer_average(average, model, decay):
    """The average over parameters and buffers, written as a weighted sum."""
    with torch.no_grad():
        pairs = list(zip(average.parameters(), model.parameters())) + list(zip(average.buffers(), model.buffers()))
        for mean, current in pairs:
            if torch.is_floating_point(mean):
                mean.mul_(decay).add_(current, alpha=1 - decay)
            else:
                mean.copy_(current)


def stacked_tta(model, images, tta="flip_shift", shift_pixels=1):
    """All views in one batch, weighted."""
    views = {"none": [images], "flip": [images, images.flip(3)]}.get(tta)
    weights = [1.0] if tta == "none" else [0.5, 0.5]
    if views is None:
        shifted = [shift(images, -shift_pixels, -shift_pixels), shift(images, shift_pixels, shift_pixels)]
        views = [images, images.flip(3)] + [v for s in shifted for v in (s, s.flip(3))]
        weights = [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    scores = model(torch.cat(views)).reshape(len(views), len(images), -1)
    return torch.einsum("v,vnk->nk", torch.tensor(weights, dtype=scores.dtype), scores)


INDEPENDENT = {
    check_whitening_filters: (svd_whitening,),
    check_lr_factor: (interpolated_lr_factor,),
    check_update_average: (buffer_average,),
    check_tta_scores: (stacked_tta,),
}
test_a_correct_implementation_written_differently_passes, test_stub_is_not_implemented_yet = check_tests(INDEPENDENT)


@pytest.mark.parametrize(
    "reference, check",
    [
        (whitening_filters, check_whitening_filters),
        (lr_factor, check_lr_factor),
        (update_average, check_update_average),
        (tta_scores, check_tta_scores),
    ],
)
def test_the_packages_references_pass(reference, check, capsys):
    check(reference)
    assert capsys.readouterr().out.endswith("all checks passed\n")


def unbiased(rows):
    return torch.cov(rows.T)


def biased(rows):
    centred = rows - rows.mean(0)
    return centred.T @ centred / len(rows)


def uncentred(rows):
    return rows.T @ rows / (len(rows) - 1)


def whitening_with(
    scale=lambda values, eps: 1 / torch.sqrt(values + eps),
    layout=patches,
    covariance=unbiased,
    flip=False,
    dtype=torch.float64,
    rows_of_eigh=False,
    negatives=lambda filters: torch.cat([filters, -filters]),
    returned_dtype=lambda images: images.dtype,
):
    """A whitening written with one planted change."""

    def planted(images, kernel_size=2, eps=5e-4):
        rows = layout(images.to(dtype), kernel_size)
        values, vectors = torch.linalg.eigh(covariance(rows))
        filters = (vectors if rows_of_eigh else vectors.T) * scale(values, eps)[:, None]
        filters = (filters.flip(0) if flip else filters).reshape(-1, images.shape[1], kernel_size, kernel_size)
        return negatives(filters).to(returned_dtype(images))

    return planted


def pixel_major(images, kernel_size):
    windows = images.unfold(2, kernel_size, 1).unfold(3, kernel_size, 1)
    return windows.permute(0, 2, 3, 4, 5, 1).reshape(-1, kernel_size**2 * images.shape[1])


@pytest.mark.parametrize(
    "planted, message",
    [
        (whitening_with(scale=lambda values, eps: 1 / torch.sqrt(values)), "it ignores eps"),
        (whitening_with(scale=lambda values, eps: 1 / (values + eps)), "it divides by the eigenvalue"),
        (whitening_with(scale=lambda values, eps: torch.ones_like(values)), "the eigenvectors are not scaled"),
        (whitening_with(scale=lambda values, eps: torch.sqrt(values + eps)), "it multiplies by sqrt"),
        (whitening_with(scale=lambda values, eps: 1 / (torch.sqrt(values) + eps)), "adds eps after the square root"),
        (whitening_with(layout=pixel_major), "the patch layout is scrambled"),
        (whitening_with(covariance=uncentred), "the covariance is of the patches minus their mean"),
        (whitening_with(covariance=biased), "divided by the number of patches m"),
        (whitening_with(covariance=lambda rows: torch.cov(rows)), "torch.cov takes one variable per row"),
        (whitening_with(flip=True), "decreasing order of eigenvalue"),
        (whitening_with(rows_of_eigh=True), "returns the eigenvectors as its columns"),
        (whitening_with(negatives=lambda filters: filters), "append their negatives"),
        (
            whitening_with(negatives=lambda filters: torch.stack([filters, -filters], 1).flatten(0, 1)),
            "the second half of the filters should be the first half negated",
        ),
        (
            lambda images, k=2, eps=5e-4: whitening_filters(images, k, eps).transpose(-1, -2),
            "each filter is transposed",
        ),
        (lambda images, k=2, eps=5e-4: whitening_filters(images, k, 5e-4), "whatever eps it is given"),
        (whitening_with(dtype=torch.float32), "Compute in float64"),
        (whitening_with(returned_dtype=lambda images: torch.float64), "for float32 images it returns torch.float64"),
    ],
)
def test_whitening_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^whitening_filters: ") as error:
        check_whitening_filters(planted)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "planted, message",
    [
        (lambda s, t, w, d=True: 1.0 if s < w else lr_factor(s, t, w, d), "the warm-up starts at the peak"),
        (lambda s, t, w, d=True: s / w if s < w else lr_factor(s, t, w, d), "at step 0 it returns 0"),
        (lambda s, t, w, d=True: (s + 1) / w if s <= w else lr_factor(s, t, w, d), "above 1"),
        (lambda s, t, w, d=True: (s + 1) / (w + 1) if s < w else lr_factor(s, t, w, d), "the warm-up's last step"),
        (lambda s, t, w, d=True: (s + 1) / w if s < w else (t - s) / t, "the decay should start from 1"),
        (lambda s, t, w, d=True: lr_factor(s, t + 1, w, d), "the linear decay should reach 0 there"),
        (lambda s, t, w, d=True: lr_factor(s, t - 1, w, d), "so the last step still trains"),
        (lambda s, t, w, d=True: lr_factor(s, t, w), "with decay=False the multiplier should stay 1"),
        (lambda s, t, w, d=True: min((s + 1) / w, (t - s) / (t - w) if d else 1.0), "divides by zero"),
        (lambda s, t, w, d=True: (s + 1) / w if s < w else max(0.1, lr_factor(s, t, w, d)), "reach 0"),
        (lambda s, t, w, d=True: (s + 1) / w if s < w else (t - s) / (t - w - 1), "the decay's first step"),
        (lambda s, t, w, d=True: (s + 1) / w if s < w else (t - s - 1) / (t - w), "the decay should start from 1"),
        (
            lambda s, t, w, d=True: (s + 1) / w if s < w else (1 + math.cos(math.pi * (s - w) / (t - w))) / 2,
            "falls on a straight line from 1 to 0",
        ),
        (lambda s, t, w, d=True: lr_factor(s, t, w) if d else 1.0, "decay=False removes the decay only"),
    ],
)
def test_schedule_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^lr_factor: ") as error:
        check_lr_factor(planted)
    assert message in str(error.value)


def parameters_only(network):
    return list(network.parameters())


def averaging(
    update_float, update_integer=lambda mean, current, decay: mean.copy_(current), tensors=None, no_grad=True
):
    """An average written with one planted change; ``tensors(network)`` lists the tensors it updates."""

    def planted(average, model, decay):
        listed = tensors or (lambda network: list(network.state_dict().values()))
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            for mean, current in zip(listed(average), listed(model)):
                (update_float if mean.is_floating_point() else update_integer)(mean, current, decay)

    return planted


def copied_buffers(average, model, decay):
    """The weights averaged, every buffer copied."""
    with torch.no_grad():
        for mean, current in zip(average.parameters(), model.parameters()):
            lerp(mean, current, decay)
        for mean, current in zip(average.buffers(), model.buffers()):
            mean.copy_(current)


def weighted_sum(mean, current, decay):
    mean.copy_(mean * decay + current * (1 - decay))


def lerp(mean, current, decay):
    mean.lerp_(current, 1 - decay)


@pytest.mark.parametrize(
    "planted, message",
    [
        (averaging(lambda mean, current, decay: lerp(mean, current, 1 - decay)), "the wrong way round"),
        (lambda average, model, decay: update_average(model, average, decay), "it changed the model"),
        (averaging(weighted_sum, tensors=parameters_only, no_grad=False), "needs torch.no_grad()"),
        (averaging(weighted_sum, tensors=parameters_only), "the running statistics are buffers"),
        (averaging(lambda mean, current, decay: mean.copy_(current)), "a copy of the model's"),
        (averaging(weighted_sum, weighted_sum), "num_batches_tracked, an integer step counter, was averaged"),
        (averaging(weighted_sum, lambda mean, current, decay: None), "was left unchanged; copy integer tensors"),
        (averaging(lerp, lerp), "fails on a network with batch norm"),
        (averaging(lambda mean, current, decay: mean.mul_(decay).add_(current)), "the model's share is not scaled"),
        (averaging(lambda mean, current, decay: lerp(mean, current, 0.9)), "whatever decay it is given"),
        (averaging(lambda mean, current, decay: decay * mean + (1 - decay) * current), "a plain assignment"),
        (averaging(lambda mean, current, decay: current.lerp_(mean, decay)), "it changed the model"),
        (copied_buffers, "it was copied from the model; average it like the weights"),
    ],
)
def test_averaging_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^update_average: ") as error:
        check_update_average(planted)
    assert message in str(error.value)


def tta_with(
    flip_axis=-1,
    score=lambda model, x: model(x),
    equal_weights=False,
    pixels=None,
    directions=((-1, -1), (1, 1)),
    mirror_shifted=True,
    scale=1.0,
):
    """Test-time augmentation written with one planted change."""

    def planted(model, images, tta="flip_shift", shift_pixels=1):
        if tta == "none":
            return model(images)
        p = shift_pixels if pixels is None else pixels
        shifted = [shift(images, dy * p, dx * p) for dy, dx in directions] if tta == "flip_shift" else []
        pairs = [[score(model, images), score(model, images.flip(flip_axis))]]
        pairs += [[score(model, v), score(model, v.flip(flip_axis) if mirror_shifted else v)] for v in shifted]
        if equal_weights:
            return sum(s for pair in pairs for s in pair) / (2 * len(pairs))
        averages = [(a + b) / 2 for a, b in pairs]
        return scale * (averages[0] if tta == "flip" else (averages[0] + (averages[1] + averages[2]) / 2) / 2)

    return planted


@pytest.mark.parametrize(
    "planted, message",
    [
        (tta_with(flip_axis=-2), "upside down"),
        (tta_with(flip_axis=1), "reverses the colour channels"),
        (tta_with(score=lambda model, x: model(x).softmax(1)), "it averages probabilities"),
        (tta_with(score=lambda model, x: model(x).log_softmax(1)), "it averages log-probabilities"),
        (tta_with(directions=((-1, 1), (1, -1))), "it shifts up-right and down-left"),
        (tta_with(directions=((-1, -1), (-1, -1))), "it uses the up-left copy alone"),
        (tta_with(mirror_shifted=False), "the shifted copies are not mirrored"),
        (tta_with(scale=2.0), "adds the two views' scores"),
        (
            lambda model, images, tta="flip_shift", shift_pixels=1: (
                tta_scores(model, images, "flip") if tta == "flip_shift" else tta_scores(model, images, tta)
            ),
            'it returns the tta="flip" scores',
        ),
        (tta_with(equal_weights=True), "weighs the six views equally"),
        (tta_with(pixels=1), "it ignores shift_pixels"),
        (lambda model, images, tta="flip_shift", shift_pixels=1: model(images), "it returns model(images) alone"),
        (
            lambda model, images, tta="flip_shift", shift_pixels=1: tta_scores(model, images, "flip"),
            'with tta="none" return model(images) alone',
        ),
        (
            lambda model, images, tta="flip_shift", shift_pixels=1: (
                model((images + images.flip(-1)) / 2) if tta == "flip" else tta_scores(model, images, tta, shift_pixels)
            ),
            "averages the images and scores the blend once",
        ),
    ],
)
def test_tta_mistakes_are_named(planted, message):
    with pytest.raises(ExerciseError, match="^tta_scores: ") as error:
        check_tta_scores(planted)
    assert message in str(error.value)
