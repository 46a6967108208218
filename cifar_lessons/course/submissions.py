"""The challenge in code (notebook 08): the book's sample entry, and the rule that the test split
scores each model once.

Every choice (hyperparameters, architecture, epochs) is made on the validation split. The test
split answers one question per model, "how good is it?", through :func:`submit`, which refuses
to ask it twice about the same model in one Python session.
"""

import dataclasses

from cifar_lessons.course.results import record
from cifar_lessons.from_scratch.metrics import parameter_count
from cifar_lessons.teaching import taught_in
from cifar_lessons.torch.evaluate import class_scores, tta_scores
from cifar_lessons.torch.fastnet import build_fastnet
from cifar_lessons.torch.whitening import whitening_filters

_scored = {}  # a model's name, as _same_model reads it -> its record: what the test split has answered in this session


class AlreadyScoredError(RuntimeError):
    """A model's test accuracy was asked for a second time."""

    def _render_traceback_(self):
        # IPython shows the rule that was broken, not a traceback into this module.
        return [f"{type(self).__name__}: {self}"]


def _same_model(name):
    """What tells one model's name from another's: "Mine", "mine " and "MINE" name the same model."""
    return " ".join(name.split()).casefold()


def submit(name, trained, tensors, recipe, whose="yours", *, validation=None, budget=None, tta_scores=tta_scores):
    """Score a trained model on the test split, once per ``name``, and :func:`~cifar_lessons.course.results.record` it.

    ``trained`` is the :class:`~cifar_lessons.torch.train.TrainResult` of
    :func:`~cifar_lessons.torch.train.train` (a loop of your own can build one:
    ``TrainResult(model=net, raw_model=net, seconds=...)``); its ``model`` is evaluated on
    ``tensors["X_test"], ["y_test"]`` with ``recipe``'s test-time augmentation. ``whose`` is
    ``"book"`` or ``"yours"``. Returns the record. Raises :class:`AlreadyScoredError` when a
    model of that name, whatever its case and spaces, was scored before in this session.

    The record holds which test images the model got right. A book model (``whose="book"``) is
    recorded with what compares it with the others: its ``validation`` accuracy from each seed of
    :data:`~cifar_lessons.course.experiments.SEEDS`, trained with the same recipe, and its
    ``budget`` (e.g. ``"3 epochs of 4,500 images + flips and shifts"``); an entry of yours may
    give them too. ``tta_scores`` averages the test-time views (see
    :func:`~cifar_lessons.torch.evaluate.tta_scores`: yours from chapter 07, or the book's).
    """
    name = " ".join(name.split())
    scored = _scored.get(_same_model(name))
    if scored is not None:
        raise AlreadyScoredError(
            f"{scored['model']!r} was already scored on the test split in this session "
            f"({scored['test_accuracy']:.1%}). A model changed or picked after seeing its test score "
            "is no longer measured fairly by it: make every choice on validation, and submit a different "
            "model under a new name. (Restarting the kernel clears this memory, not yours.)"
        )
    images = tensors["X_test"]
    scores = class_scores(
        trained.model, images, recipe.tta, recipe.tta_shift, recipe.eval_batch_size, tta_scores=tta_scores
    )
    result = record(
        name,
        train_seconds=trained.seconds,
        parameters=parameter_count(trained.model),
        device=images.device,
        whose=whose,
        test_correct=(scores.argmax(1) == tensors["y_test"]).cpu().numpy(),
        validation=validation,
        budget=budget,
    )
    _scored[_same_model(name)] = result
    return result


def submissions():
    """The records of every model submitted in this session, in the order they were scored."""
    return list(_scored.values())


def changes(recipe, baseline):
    """The fields of ``recipe`` (a :class:`~cifar_lessons.torch.recipe.Recipe`) that differ from
    ``baseline``'s, as ``{field: recipe's value}``."""
    return {
        field.name: getattr(recipe, field.name)
        for field in dataclasses.fields(recipe)
        if getattr(recipe, field.name) != getattr(baseline, field.name)
    }


@taught_in("challenge")
def my_recipe(baseline):
    """Your training recipe: ``baseline`` (the book's Recipe) with the changes validation chose.

    Returns a Recipe; change fields with ``dataclasses.replace(baseline, field=value)``.
    """
    # the baseline's validation accuracy was still rising at its last epoch
    return dataclasses.replace(baseline, epochs=6)


@taught_in("challenge")
def build_my_model(recipe, train_images):
    """Your network for ``recipe``, built on the device of ``train_images`` (n, 3, 32, 32).

    Returns a torch.nn.Module mapping normalized images (n, 3, 32, 32) to class scores (n, 10).
    ``train_images`` is there for layers computed from the data, such as whitening filters.
    """
    return build_fastnet(recipe, train_images, whitening=whitening_filters)
