"""Accuracy bars the chapters assert, one set per data (``CIFAR_LESSONS_DATA``).

On the lesson subset's 500 test rows each bar is set a few points below the measured accuracy of
its model: 500 test images give an accuracy a standard error of about 2 points, so a bar at the
measured value would fail on an equally good model half the time.

On all of CIFAR-10 the bars are published targets, stated as targets (this book's stored
outputs are the lesson subset's): CS231n's assignment 2 asks at least 50 % validation accuracy of
a fully connected net and at least 70 % of a PyTorch convnet trained for 10 epochs; airbench94
reports 94.01 % mean test accuracy for its recipe (Jordan, 2024), which ``GPU_RECIPE`` follows.
A model with no published target keeps its lesson bar there: more training images do not make it
worse.
"""

from cifar_lessons.data import SUBSETS, chosen_subset

TEST_ACCURACY = {
    "lesson": {
        "fully connected net": 0.40,  # notebook 02
        "normalized fully connected net": 0.38,  # batch norm + dropout, notebook 04
        "three-layer convnet": 0.45,  # notebook 05
        "PyTorch convnet": 0.48,  # notebook 06
        "fast CNN": 0.65,  # notebook 07
    },
    "full": {
        "fully connected net": 0.50,  # CS231n assignment 2
        "normalized fully connected net": 0.50,  # no published target: at least the plain net's
        "three-layer convnet": 0.45,  # no published target: the lesson bar
        "PyTorch convnet": 0.70,  # CS231n assignment 2, in 10 epochs
        "fast CNN": 0.94,  # airbench94, with GPU_RECIPE
    },
}


def accuracy_bar(model, subset=None):
    """The test accuracy ``model`` (a key of :data:`TEST_ACCURACY`) must reach on ``subset``
    (default: :func:`~cifar_lessons.data.chosen_subset`)."""
    subset = chosen_subset() if subset is None else subset
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {sorted(SUBSETS)}, got {subset!r}")
    bars = TEST_ACCURACY[subset]
    if model not in bars:
        raise ValueError(f"no accuracy target for {model!r}; the targets are for {', '.join(bars)}")
    return bars[model]
