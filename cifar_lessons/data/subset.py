"""Which data the chapters train on: the lesson subset (the first rows of each batch) or all of
CIFAR-10, as one setting, the ``CIFAR_LESSONS_DATA`` environment variable."""

import os

from cifar_lessons.data.release import FULL_ROWS_PER_BATCH, TRAIN_BATCHES

LESSON_TRAIN_ROWS_PER_BATCH = 1_000
LESSON_TEST_ROWS = 500
SUBSETS = {
    "lesson": (LESSON_TRAIN_ROWS_PER_BATCH, LESSON_TEST_ROWS),
    "full": (FULL_ROWS_PER_BATCH, FULL_ROWS_PER_BATCH),
}
# The last training rows held out for validation: a tenth of the lesson subset, and CS231n's
# 1,000 of the full training set.
VALIDATION_ROWS = {"lesson": 500, "full": 1_000}
DATA_SETTING = "CIFAR_LESSONS_DATA"


def chosen_subset():
    """The data the chapters train on, as ``CIFAR_LESSONS_DATA`` says: "lesson" (unset) or "full"."""
    value = os.environ.get(DATA_SETTING, "").strip() or "lesson"
    if value not in SUBSETS:
        raise ValueError(
            f"{DATA_SETTING}={value!r} names no data: unset it (or set 'lesson') for the lesson subset "
            f"of 5,000 training and 500 test images, or set 'full' for all 50,000 and 10,000"
        )
    return value


def for_data(subset=None, **settings):
    """The value of ``settings`` for ``subset`` (default: :func:`chosen_subset`), e.g.
    ``for_data(lesson=10, full=30)`` epochs. Every subset needs a value."""
    subset = chosen_subset() if subset is None else subset
    missing = sorted(set(SUBSETS) - set(settings))
    if missing or set(settings) - set(SUBSETS):
        raise ValueError(f"for_data needs one value per subset, {sorted(SUBSETS)}; got {sorted(settings)}")
    return settings[subset]


def describe(subset):
    """One line naming ``subset``'s sizes and how to switch to the other."""
    train_rows, test_rows = SUBSETS[subset]
    train = len(TRAIN_BATCHES) * train_rows
    if subset == "lesson":
        return (
            f"Data: the lesson subset, {train:,} training and {test_rows:,} test images. "
            f"For all of CIFAR-10, set {DATA_SETTING}=full before starting Jupyter "
            "(a hub admin can set it for everyone)."
        )
    return (
        f"Data: all of CIFAR-10, {train:,} training and {test_rows:,} test images ({DATA_SETTING}=full). "
        f"Unset {DATA_SETTING} for the lesson subset."
    )
