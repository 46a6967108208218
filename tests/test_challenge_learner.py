"""A learner's chapter 08 runs on their chapter-07 code: the filled copy, with the four functions of
chapter 07 kept as a learner wrote them (correct, but computed in another order than the book's,
so they round differently), takes every one of them back, trains the baseline and an entry of the
learner's own with them, and every assertion of the chapter still holds."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book_tools import exercises

pytestmark = [pytest.mark.integration, pytest.mark.learner_run]

BOOK = Path(__file__).resolve().parents[1] / "book"

KEPT_FAST_CNN = '''"""Chapter 07's four functions as a learner wrote them: correct, in another order than the book's."""

import torch
from cifar_lessons.torch.augment import flip
from cifar_lessons.torch.augment import shift
from cifar_lessons.torch.whitening import patches


def whitening_filters(images, kernel_size=2, eps=5e-4):
    rows = patches(images.to(torch.float64), kernel_size)
    centred = rows - rows.mean(dim=0, keepdim=True)
    covariance = centred.T @ centred / (rows.shape[0] - 1)
    values, vectors = torch.linalg.eigh(covariance)
    half = (vectors * torch.rsqrt(values + eps)).T.reshape(-1, images.shape[1], kernel_size, kernel_size)
    return torch.cat([half, -half]).to(images.dtype)


def lr_factor(step, total_steps, warmup_steps, decay=True):
    if warmup_steps > 0 and step <= warmup_steps - 1:
        return (step + 1) / warmup_steps
    if decay:
        return max(total_steps - step, 0) / (total_steps - warmup_steps)
    return 1.0


@torch.no_grad()
def update_average(average, model, decay):
    current = model.state_dict()
    for key, mean in average.state_dict().items():
        if torch.is_floating_point(mean):
            mean.mul_(decay).add_(current[key] * (1 - decay))
        else:
            mean.copy_(current[key])


def tta_scores(model, images, tta="flip_shift", shift_pixels=1):
    if tta == "none":
        return model(images)
    views = [(images, 1.0)]
    if tta == "flip_shift":
        views += [(shift(images, -shift_pixels, -shift_pixels), 0.5), (shift(images, shift_pixels, shift_pixels), 0.5)]
    total = sum(weight * (model(flip(view)) + model(view)) for view, weight in views)
    return total / (2 * sum(weight for _, weight in views))
'''

ENTRY = """def my_recipe(baseline):
    return dataclasses.replace(baseline, epochs=5, lr=0.25)


def build_my_model(recipe, train_images):
    return build_fastnet(recipe, train_images, whitening=whitening_filters)
"""


def test_the_challenge_trains_with_the_learners_chapter_07_code(tmp_path):
    exercises.write_exercises(tmp_path / "exercises", BOOK)
    folder = tmp_path / "exercises"
    shutil.rmtree(folder / "yours", ignore_errors=True)
    (folder / "yours").mkdir()
    (folder / "yours" / "fast_cnn.py").write_text(KEPT_FAST_CNN)
    learner = nbformat.read(folder / "08_challenge.ipynb", as_version=4)
    stubs = [cell for cell in learner.cells if exercises.EXERCISE_TAG in cell.metadata.get("tags", [])]
    assert len(stubs) == 1 and "raise NotImplementedError" in stubs[0].source
    stubs[0].source = ENTRY
    NotebookClient(learner, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    printed = "\n".join(
        output.get("text", "") for cell in learner.cells if cell.cell_type == "code" for output in cell.outputs
    )
    for names in ("whitening_filters", "lr_factor, update_average", "tta_scores"):
        assert f"yours, from yours/fast_cnn.py: {names}" in printed
    assert "the book's, from" not in printed
    assert "my_entry: all checks passed" in printed
    assert "your entry - baseline, seed by seed:" in printed
