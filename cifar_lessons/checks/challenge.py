"""Checks of the challenge (notebook 08): your entry's recipe and model train with the book's loop."""

import dataclasses
import math

import torch

from cifar_lessons.checks.core import ExerciseError, call, passed, where_it_failed
from cifar_lessons.torch.recipe import Recipe
from cifar_lessons.torch.train import train


def _random_tensors(images=32, seed=0):
    """A stand-in for ``to_tensors``' dict: random images (n, 3, 32, 32) and labels in every split."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for split in ("train", "val", "test"):
        tensors[f"X_{split}"] = torch.randn(images, 3, 32, 32, generator=generator)
        tensors[f"y_{split}"] = torch.randint(0, 10, (images,), generator=generator)
    return tensors


def _check_model(model):
    """Raise naming what keeps ``model`` (built by build_my_model on CPU images) from being an entry."""
    name = "build_my_model"
    if isinstance(model, type):
        raise ExerciseError(f"{name} returned the class {model.__name__} itself: return a model, {model.__name__}(...)")
    if not isinstance(model, torch.nn.Module):
        raise ExerciseError(f"{name} should return a torch.nn.Module, got {type(model).__name__}")
    devices = sorted({str(p.device) for p in model.parameters()})
    if devices and devices != ["cpu"]:
        raise ExerciseError(
            f"{name}: its parameters are on {', '.join(devices)} but the images on cpu: "
            "build it on train_images.device (e.g. .to(train_images.device))"
        )
    if not any(p.requires_grad for p in model.parameters()):
        raise ExerciseError(f"{name}: its model has no parameter that requires a gradient: nothing would train")
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()} - {"float32"})
    if dtypes:
        raise ExerciseError(
            f"{name}: its model has {', '.join(dtypes)} parameters, the images are float32: build it in float32 "
            "(leave out .double(); train() switches on bfloat16 itself where it pays, with Recipe(amp=True))"
        )


def _check_seeded(build_my_model, recipe, images):
    """Raise unless build_my_model builds the same model twice from one recipe, and another from another seed."""
    name = "build_my_model"

    def weights(seed):
        model = call(name, build_my_model, dataclasses.replace(recipe, seed=seed), images)
        return [p.detach().clone() for p in model.parameters()]

    first, again, other = weights(0), weights(0), weights(1)
    if not all(torch.equal(a, b) for a, b in zip(first, again)):
        raise ExerciseError(
            f"{name}: two models built from the same recipe start from different weights, so no run repeats: "
            "seed PyTorch with the recipe's seed first, torch.manual_seed(recipe.seed) (build_fastnet does)"
        )
    if all(torch.equal(a, b) for a, b in zip(first, other)):
        raise ExerciseError(
            f"{name}: models built for seeds 0 and 1 start from the same weights: it ignores recipe.seed, so "
            "the comparison over seeds compares one draw of weights; seed with torch.manual_seed(recipe.seed)"
        )


def _check_scores(model, images):
    name = "build_my_model"
    model.eval()
    with torch.no_grad():
        scores = call(f"{name}'s model", model, images)
    expected = (len(images), 10)
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != expected:
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ExerciseError(
            f"{name}: for images of shape {tuple(images.shape)} its model returned {got}, "
            f"expected scores of shape {expected}: one score per class"
        )
    if not torch.isfinite(scores).all():
        raise ExerciseError(f"{name}: its model's scores hold NaN or inf")
    if torch.equal(scores, scores[:1].expand_as(scores)):
        raise ExerciseError(f"{name}: its model gives every image the same scores: they must depend on the image")
    if (scores >= 0).all() and torch.allclose(scores.double().sum(1), torch.ones(len(scores), dtype=torch.float64)):
        raise ExerciseError(
            f"{name}: its model returns probabilities (each row sums to 1): return the scores before any softmax; "
            "the loss (F.cross_entropy) applies its own"
        )


def check_my_entry(my_recipe, build_my_model):
    """Your challenge entry: ``my_recipe(baseline)`` returns a Recipe, ``build_my_model(recipe,
    train_images)`` a float32 module on the images' device mapping (n, 3, 32, 32) to scores (n, 10),
    the same for the same seed and another for another, and one short epoch of
    :func:`~cifar_lessons.torch.train.train` on random images changes its parameters and keeps the
    loss finite."""
    try:
        recipe = call("my_recipe", my_recipe, Recipe())
    except ExerciseError as error:
        if isinstance(error.__cause__, dataclasses.FrozenInstanceError):
            raise ExerciseError(
                f"{error}\nA Recipe cannot be changed in place: return a changed copy, "
                "dataclasses.replace(baseline, epochs=...)"
            ) from None
        raise
    if not isinstance(recipe, Recipe):
        raise ExerciseError(
            f"my_recipe should return a Recipe, e.g. dataclasses.replace(baseline, epochs=...), "
            f"got {type(recipe).__name__}"
        )
    tensors = _random_tensors()
    model = call("build_my_model", build_my_model, recipe, tensors["X_train"])
    _check_model(model)
    _check_scores(model, tensors["X_train"][:4])
    _check_seeded(build_my_model, recipe, tensors["X_train"])
    before = [p.detach().clone() for p in model.parameters()]
    # two steps of 16 images, uncompiled: the check tests that it trains, not how fast
    short = dataclasses.replace(recipe, epochs=1, batch_size=16, compile=False)
    try:
        history = train(model, tensors, short, progress=False).history
    except Exception as error:
        raise ExerciseError(
            f"build_my_model: training its model with train() crashed: {type(error).__name__}: {error}"
            f"{where_it_failed(error)}"
        ) from error
    if not all(math.isfinite(row["train_loss"]) for row in history):
        raise ExerciseError(
            "my_entry: the training loss became NaN or inf within two steps: is my_recipe's learning rate too high?"
        )
    if all(torch.equal(old, new.detach()) for old, new in zip(before, model.parameters())):
        raise ExerciseError("my_entry: one epoch of training changed none of the model's parameters: is lr 0?")
    passed("my_entry", my_recipe, build_my_model)
