"""Checks of the challenge (notebook 08): your entry's recipe and model train with the book's loop."""

import dataclasses
import math

import torch

from cifar_lessons.checks.core import ExerciseError, call, passed
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


def check_my_entry(my_recipe, build_my_model):
    """Your challenge entry: ``my_recipe(baseline)`` returns a Recipe, ``build_my_model(recipe,
    train_images)`` a module on the images' device mapping (n, 3, 32, 32) to scores (n, 10), and
    one short epoch of :func:`~cifar_lessons.torch.train.train` on random images changes its
    parameters and keeps the loss finite."""
    recipe = call("my_recipe", my_recipe, Recipe())
    if not isinstance(recipe, Recipe):
        raise ExerciseError(
            f"my_recipe should return a Recipe, e.g. dataclasses.replace(baseline, epochs=...), "
            f"got {type(recipe).__name__}"
        )
    tensors = _random_tensors()
    model = call("build_my_model", build_my_model, recipe, tensors["X_train"])
    _check_model(model)
    _check_scores(model, tensors["X_train"][:4])
    before = [p.detach().clone() for p in model.parameters()]
    # two steps of 16 images, uncompiled: the check tests that it trains, not how fast
    short = dataclasses.replace(recipe, epochs=1, batch_size=16, compile=False)
    try:
        history = train(model, tensors, short, progress=False).history
    except Exception as error:
        raise ExerciseError(
            f"build_my_model: training its model with train() crashed: {type(error).__name__}: {error}"
        ) from error
    if not all(math.isfinite(row["train_loss"]) for row in history):
        raise ExerciseError(
            "my_entry: the training loss became NaN or inf within two steps: is my_recipe's learning rate too high?"
        )
    if all(torch.equal(old, new.detach()) for old, new in zip(before, model.parameters())):
        raise ExerciseError("my_entry: one epoch of training changed none of the model's parameters: is lr 0?")
    passed("my_entry", my_recipe, build_my_model)
