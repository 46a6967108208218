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
    if not list(model.parameters()):
        raise ExerciseError(
            f"{name}: its model has no parameters at all: its layers are not registered{_hidden_layers(model)}. "
            "PyTorch finds only the layers a module holds as attributes, in nn.Sequential or in nn.ModuleList "
            "(nn.ModuleDict); a plain Python list or dict hides them from .parameters(), .to() and the optimizer"
        )
    if not any(p.requires_grad for p in model.parameters()):
        raise ExerciseError(f"{name}: its model has no parameter that requires a gradient: nothing would train")
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()} - {"float32"})
    if dtypes:
        raise ExerciseError(
            f"{name}: its model has {', '.join(dtypes)} parameters, the images are float32: build it in float32 "
            "(leave out .double(); train() switches on bfloat16 itself where it pays, with Recipe(amp=True))"
        )


def _hidden_layers(model):
    """``" (self.<name> is a plain list of layers)"`` for the first attribute of ``model`` that
    holds layers in a plain list, tuple or dict, or ``""``."""
    for attribute, value in vars(model).items():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        if any(isinstance(layer, torch.nn.Module) for layer in values):
            return f" (self.{attribute} is a plain {type(value).__name__} of layers)"
    return ""


def _check_seeded(build_my_model, recipe, images):
    """Raise unless build_my_model builds the same model twice from one recipe, and another from another seed."""
    name = "build_my_model"

    def weights(seed):
        model = call(name, build_my_model, dataclasses.replace(recipe, seed=seed), images)
        return [p.detach().clone() for p in model.parameters()]

    def same(a, b):
        return all(torch.equal(x, y) for x, y in zip(a, b))

    seed_first = (
        "torch.manual_seed(recipe.seed) before creating the layers: the weights are drawn when each layer is made"
    )
    with torch.random.fork_rng(devices=[]):  # the probe's seeds must not leak into the learner's session
        torch.manual_seed(1234)
        drawn = weights(7)
        torch.manual_seed(4321)
        redrawn = weights(7)
        seeded = torch.initial_seed() == 7  # the last seed set, inside build_my_model: the recipe's
    if not same(drawn, redrawn) and seeded:
        raise ExerciseError(
            f"{name}: it calls torch.manual_seed(recipe.seed) after creating the layers, so their weights come from "
            f"whatever PyTorch's random state was before; call {seed_first}"
        )
    first, again, other = weights(0), weights(0), weights(1)
    if not same(drawn, redrawn) or not same(first, again):
        raise ExerciseError(
            f"{name}: two models built from the same recipe start from different weights, so no run repeats: "
            f"seed PyTorch with {seed_first} (build_fastnet does)"
        )
    if same(first, other):
        raise ExerciseError(
            f"{name}: models built for seeds 0 and 1 start from the same weights: it ignores recipe.seed, so "
            f"the comparison over seeds compares one draw of weights; seed with {seed_first}"
        )


def _frozen_whitening(model):
    """The filters of ``model``'s frozen whitening layers: frozen convolutions of the form
    :func:`~cifar_lessons.torch.whitening.whitening_filters` returns, (2 * d, c, k, k) with
    d = c * k * k and the second half the first negated."""
    filters = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d) and not module.weight.requires_grad:
            weight = module.weight.detach()
            d = weight[0].numel()
            if len(weight) == 2 * d and torch.equal(weight[d:], -weight[:d]):
                filters.append(weight.clone())
    return filters


def _check_whitening_source(build_my_model, recipe, model):
    """Raise if ``model`` (built from the check's random training images) has a frozen whitening
    layer that stays the same when build_my_model is given other training images: its filters were
    fit on images it was not given, such as the validation or test images of the notebook."""
    name = "build_my_model"
    filters = _frozen_whitening(model)
    if not filters:  # a model without whitening fits nothing on any images
        return
    other = _frozen_whitening(call(name, build_my_model, recipe, _random_tensors(seed=1)["X_train"]))
    if any(torch.equal(a, b) for a, b in zip(filters, other)):
        raise ExerciseError(
            f"{name}: its frozen whitening filters are the same whatever train_images it is given, so they were "
            "fit on other images (tensors['X_val'] or tensors['X_test']?). The chapter's rule: fit nothing on the "
            "validation or test images, whitening included. Compute them from train_images, the argument: "
            "build_fastnet(recipe, train_images) does"
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
    the same for the same seed and another for another, its frozen whitening (if any) fit on the
    training images it is given, and one short epoch of
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
    _check_whitening_source(build_my_model, recipe, model)
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
