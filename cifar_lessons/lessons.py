"""The lessons of the book, one row each: what ties a chapter's notebook to the package.

A lesson is its row here, its notebook ``book/<notebook>.ipynb`` and, when it has exercises, its
checks module ``cifar_lessons/checks/<key>.py``. Its reference code, the text its solution cells
show, lives in the modules the row names (``python -m book_tools.references`` renders them into
the notebook). ``keep`` and ``use`` (:mod:`cifar_lessons.course.yours`) take the lesson's key.

The accuracy bars a chapter asserts for its final model, one per data (``CIFAR_LESSONS_DATA``).
On the lesson subset's 500 test rows each bar is set a few points below the measured accuracy of
its model: 500 test images give an accuracy a standard error of about 2 points, so a bar at the
measured value would fail on an equally good model half the time; and a later chapter's bar is
never below an earlier one's, since its model must at least match the models before it. On all
of CIFAR-10 the bars
are published targets, stated as targets (this book's stored outputs are the lesson subset's):
CS231n's assignment 2 asks at least 50 % validation accuracy of a fully connected net and at
least 70 % of a PyTorch convnet trained for 10 epochs; airbench94 reports 94.01 % mean test
accuracy for its recipe (Jordan, 2024), which ``GPU_RECIPE`` follows. A model with no published
target keeps its lesson bar there: more training images do not make it worse.
"""

from dataclasses import dataclass, field

from cifar_lessons.data.subset import SUBSETS, chosen_subset


@dataclass(frozen=True)
class Lesson:
    """``key``: what ``keep``/``use`` take and the name of the checks module; ``notebook``: the
    notebook's name in ``book/``; ``references``: the modules holding the code its solution cells
    show; ``bars``: the test accuracy its final model must reach, per data."""

    key: str
    notebook: str
    references: tuple = ()
    bars: dict = field(default_factory=dict)

    @property
    def checks(self):
        """The module of this lesson's exercise checks."""
        return f"cifar_lessons.checks.{self.key}"


LESSONS = (
    Lesson("cifar10", "00_cifar10"),
    Lesson("backprop", "01_backprop", ("cifar_lessons.from_scratch.layers",)),
    Lesson(
        "fully_connected",
        "02_fully_connected",
        ("cifar_lessons.from_scratch.models", "cifar_lessons.from_scratch.optim"),
        {"lesson": 0.38, "full": 0.50},  # CS231n assignment 2 on all of CIFAR-10
    ),
    Lesson(
        "batch_norm",
        "03_batch_norm",
        ("cifar_lessons.from_scratch.layers", "cifar_lessons.from_scratch.models"),
    ),
    Lesson(
        "dropout",
        "04_dropout",
        ("cifar_lessons.from_scratch.layers", "cifar_lessons.from_scratch.models"),
        {"lesson": 0.38, "full": 0.50},  # no published target: the plain net's bar
    ),
    Lesson(
        "convolutional_networks",
        "05_convolutional_networks",
        (
            "cifar_lessons.from_scratch.layers",
            "cifar_lessons.from_scratch.layer_utils",
            "cifar_lessons.from_scratch.models",
        ),
        {"lesson": 0.47, "full": 0.47},  # no published target: the lesson bar
    ),
    Lesson(
        "pytorch",
        "06_pytorch",
        ("cifar_lessons.torch.initialization", "cifar_lessons.torch.networks", "cifar_lessons.torch.loop"),
        {"lesson": 0.48, "full": 0.70},  # CS231n assignment 2, in 10 epochs
    ),
    Lesson(
        "fast_cnn",
        "07_fast_cnn",
        ("cifar_lessons.torch.whitening", "cifar_lessons.torch.train", "cifar_lessons.torch.evaluate"),
        {"lesson": 0.65, "full": 0.94},  # airbench94, with GPU_RECIPE
    ),
    Lesson("challenge", "08_challenge", ("cifar_lessons.course.submissions",)),
)


def lesson(name):
    """The lesson whose key or notebook is ``name``, e.g. ``lesson("backprop")`` or
    ``lesson("01_backprop")``."""
    for row in LESSONS:
        if name in (row.key, row.notebook):
            return row
    raise ValueError(
        f"no lesson is called {name!r}: the lessons are {', '.join(row.key for row in LESSONS)} "
        f"(or their notebooks, {LESSONS[0].notebook} ... {LESSONS[-1].notebook})"
    )


def accuracy_bar(name, subset=None):
    """The test accuracy lesson ``name``'s final model must reach on ``subset`` (default:
    :func:`~cifar_lessons.data.subset.chosen_subset`)."""
    subset = chosen_subset() if subset is None else subset
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {sorted(SUBSETS)}, got {subset!r}")
    bars = lesson(name).bars
    if not bars:
        with_bars = ", ".join(row.key for row in LESSONS if row.bars)
        raise ValueError(f"lesson {name!r} sets no accuracy bar; these do: {with_bars}")
    return bars[subset]
