"""k-fold cross-validation and hyperparameter search."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch.models import FullyConnectedNet
from cifar_lessons.from_scratch.tuning import cross_validate, grid_search, kfold_indices


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(2, n), st.integers(0, 2**32 - 1))))
def test_folds_are_disjoint_balanced_and_cover_the_data(case):
    n, k, seed = case
    folds = kfold_indices(n, k, seed)
    assert len(folds) == k
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(n))
    sizes = [len(fold) for fold in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_follow_the_seed():
    assert all(np.array_equal(a, b) for a, b in zip(kfold_indices(30, 3, seed=1), kfold_indices(30, 3, seed=1)))
    assert not np.array_equal(kfold_indices(30, 3, seed=1)[0], kfold_indices(30, 3, seed=2)[0])


@pytest.mark.parametrize("k", [1, 11, 2.5])
def test_bad_fold_counts_raise(k):
    with pytest.raises(ValueError, match="2 <= k <= n = 10"):
        kfold_indices(10, k)


def blobs(n=60, seed=0):
    """Three well separated classes in 8 dimensions: easy to learn, so accuracy depends on the hyperparameters."""
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    X = (rng.standard_normal((n, 8)) + 5 * np.eye(3, 8)[y]).astype(np.float32)
    return X, y


def build(learning_rate=1e-2, reg=0.0):
    model = FullyConnectedNet([10], input_dim=8, num_classes=3, reg=reg, weight_scale=0.1, seed=0)
    return model, {"update_rule": "adam", "optim_config": {"learning_rate": learning_rate}}


def test_cross_validate_scores_every_fold():
    X, y = blobs()
    result = cross_validate(build, X, y, k=3, num_epochs=10, batch_size=10)
    assert len(result["fold_accuracies"]) == 3
    assert result["val_acc"] == pytest.approx(np.mean(result["fold_accuracies"]))
    assert result["val_acc"] > 0.8


def test_preprocessing_statistics_come_from_each_folds_training_part():
    X, y = blobs()
    X = X + 100  # far from zero: a fold centred with statistics that included its own rows would show it
    seen = []

    def center(data):
        seen.append(data)
        mean = data["X_train"].mean(axis=0)
        return dict(data, X_train=data["X_train"] - mean, X_val=data["X_val"] - mean)

    result = cross_validate(build, X, y, k=3, preprocess=center, num_epochs=5, batch_size=10)
    assert len(seen) == 3 and result["val_acc"] > 0.8
    for data in seen:
        assert len(data["X_train"]) + len(data["X_val"]) == len(X)
        held_out = {row.tobytes() for row in data["X_val"]}
        assert not held_out & {row.tobytes() for row in data["X_train"]}, "the held-out fold leaked into training"
    rows = grid_search(build, {"learning_rate": [1e-2]}, X, y, k=3, preprocess=center, num_epochs=5, batch_size=10)
    assert rows[0]["val_acc"] == result["val_acc"] and len(seen) == 6


def test_grid_search_is_reproducible_and_sorted():
    X, y = blobs()
    grid = {"learning_rate": [1e-4, 1e-2], "reg": [0.0, 0.1]}
    rows = grid_search(build, grid, X, y, k=2, seed=3, num_epochs=2, batch_size=10)
    assert rows == grid_search(build, grid, X, y, k=2, seed=3, num_epochs=2, batch_size=10)
    assert len(rows) == 4
    assert sorted((row["learning_rate"], row["reg"]) for row in rows) == [
        (1e-4, 0.0),
        (1e-4, 0.1),
        (1e-2, 0.0),
        (1e-2, 0.1),
    ]
    assert [row["val_acc"] for row in rows] == sorted((row["val_acc"] for row in rows), reverse=True)
    assert rows[0]["learning_rate"] == 1e-2  # too small a rate barely moves in two epochs
