"""Class scores and accuracies, optionally averaged over flipped and shifted copies (test-time
augmentation, lesson fast_cnn)."""

import torch

from cifar_lessons.from_scratch import metrics
from cifar_lessons.teaching import taught_in
from cifar_lessons.torch.augment import flip, shift

TTA_MODES = ("none", "flip", "flip_shift")


@taught_in("fast_cnn")
def tta_scores(model, images, tta="flip_shift", shift_pixels=1):
    """Class scores (n, num_classes) of model for images (n, c, h, w), averaged over views.

    tta="none": model(images) alone. "flip": the average F(x) of the scores of the images and
    of their mirror images (flipped left to right). "flip_shift":
    (F(x) + (F(x shifted up-left) + F(x shifted down-right)) / 2) / 2, the copies shifted by
    shift_pixels in both directions: 6 forward passes. Scores are averaged as they come,
    before any softmax.
    """

    def flip_average(x):
        return (model(x) + model(flip(x))) / 2

    if tta == "none":
        return model(images)
    scores = flip_average(images)
    if tta == "flip":
        return scores
    up_left = flip_average(shift(images, -shift_pixels, -shift_pixels))
    down_right = flip_average(shift(images, shift_pixels, shift_pixels))
    return (scores + (up_left + down_right) / 2) / 2


@torch.no_grad()
def class_scores(model, images, tta="none", shift_pixels=1, batch_size=1000, *, tta_scores=tta_scores):
    """Class scores (n, num_classes) of ``model`` in eval mode for images (n, c, h, w).

    ``tta`` and ``shift_pixels`` choose the views that ``tta_scores`` (see
    :func:`~cifar_lessons.torch.evaluate.tta_scores`; pass your own to predict with it)
    averages: ``"flip"`` 2 forward passes, ``"flip_shift"`` 6. (:func:`~cifar_lessons.from_scratch.metrics.predict`
    gives a NumPy model's classes.)
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    model.eval()
    return torch.cat([tta_scores(model, chunk, tta, shift_pixels).float() for chunk in images.split(batch_size)])


def model_accuracy(model, images, labels, tta="none", shift_pixels=1, batch_size=1000, *, tta_scores=tta_scores):
    """Fraction of ``images`` whose predicted class (see :func:`class_scores`) equals ``labels`` (n,)."""
    predictions = class_scores(model, images, tta, shift_pixels, batch_size, tta_scores=tta_scores).argmax(1)
    return metrics.accuracy(predictions.cpu().numpy(), labels.cpu().numpy())


def recipe_accuracy(model, images, labels, recipe, tta=None, *, tta_scores=tta_scores):
    """:func:`model_accuracy` as ``recipe`` evaluates: its test-time augmentation (unless ``tta`` is
    given), its shift and its batch size."""
    tta = recipe.tta if tta is None else tta
    return model_accuracy(model, images, labels, tta, recipe.tta_shift, recipe.eval_batch_size, tta_scores=tta_scores)
