"""Predictions, optionally averaged over flipped and shifted copies (test-time augmentation)."""

import torch

from cifar_lessons import metrics
from cifar_lessons.torch.augment import flip, shift

TTA_MODES = ("none", "flip", "flip_shift")


def _flip_average(model, x):
    return (model(x) + model(flip(x))) / 2


def _scores(model, x, tta, pixels):
    if tta == "none":
        return model(x)
    scores = _flip_average(model, x)
    if tta == "flip":
        return scores
    shifted = (_flip_average(model, shift(x, -pixels, -pixels)) + _flip_average(model, shift(x, pixels, pixels))) / 2
    return (scores + shifted) / 2


@torch.no_grad()
def predict(model, images, tta="none", shift_pixels=1, batch_size=1000):
    """Class scores (n, num_classes) of ``model`` in eval mode for images (n, c, h, w).

    ``tta="flip"`` averages the scores of each image and its mirror image (2 forward passes);
    ``"flip_shift"`` also averages, at half weight, those of copies shifted ``shift_pixels``
    up-left and down-right, and their mirror images (6 forward passes).
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    model.eval()
    return torch.cat([_scores(model, chunk, tta, shift_pixels).float() for chunk in images.split(batch_size)])


def accuracy(model, images, labels, tta="none", shift_pixels=1, batch_size=1000):
    """Fraction of ``images`` whose predicted class (see :func:`predict`) equals ``labels`` (n,)."""
    predictions = predict(model, images, tta, shift_pixels, batch_size).argmax(1)
    return metrics.accuracy(predictions.cpu().numpy(), labels.cpu().numpy())


def recipe_accuracy(model, images, labels, recipe, tta=None):
    """:func:`accuracy` as ``recipe`` evaluates: its test-time augmentation (unless ``tta`` is
    given), its shift and its batch size."""
    return accuracy(model, images, labels, recipe.tta if tta is None else tta, recipe.tta_shift, recipe.eval_batch_size)
