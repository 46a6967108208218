"""Predictions, optionally averaged over flipped and shifted copies (test-time augmentation)."""
import torch

from cifar_lessons.torch.augment import flip, shift
from cifar_lessons.torch.recipe import TTA_MODES


def _flip_average(model, x):
    return (model(x) + model(flip(x))) / 2


def _scores(model, x, tta):
    if tta == "none":
        return model(x)
    scores = _flip_average(model, x)
    if tta == "flip":
        return scores
    shifted = (_flip_average(model, shift(x, -1, -1)) + _flip_average(model, shift(x, 1, 1))) / 2
    return (scores + shifted) / 2


@torch.no_grad()
def predict(model, images, tta="none", batch_size=1000):
    """Class scores (n, num_classes) of ``model`` in eval mode for images (n, c, h, w).

    ``tta="flip"`` averages the scores of each image and its mirror image; ``"flip_shift"``
    also averages (at half weight) those of copies shifted one pixel up-left and down-right.
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    model.eval()
    return torch.cat([_scores(model, chunk, tta).float() for chunk in images.split(batch_size)])


def accuracy(model, images, labels, tta="none"):
    """Fraction of ``images`` whose predicted class equals ``labels`` (n,)."""
    return (predict(model, images, tta).argmax(1) == labels).float().mean().item()
