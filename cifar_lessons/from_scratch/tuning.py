"""Choosing hyperparameters honestly (lesson fully_connected): k-fold cross-validation and grid search.

A search calls ``build(**point)`` for every point and every fold; ``build`` returns a fresh
``(model, solver_kwargs)`` pair, so any hyperparameter can be searched, whether the model
takes it (``reg``, ``weight_scale``, widths) or the Solver (``learning_rate`` in
``optim_config``, ``lr_decay``, ``num_epochs``)::

    def build(learning_rate, reg):
        model = FullyConnectedNet([100], reg=reg, seed=0)
        return model, {"update_rule": "adam", "optim_config": {"learning_rate": learning_rate}}

    rows = grid_search(build, {"learning_rate": [1e-4, 1e-3], "reg": [0.0, 0.1]}, X, y, k=3)
    print(markdown_table(rows))  # from cifar_lessons.course.tables

Everything is reproducible from ``seed``: the folds and the Solver's minibatches (the
model's own seed is ``build``'s business).
"""

import functools
import itertools

import numpy as np

from cifar_lessons.from_scratch.solver import Solver


def kfold_indices(n, k, seed=0):
    """Shuffle ``range(n)`` with ``seed`` and cut it into ``k`` disjoint folds covering it.

    Returns a list of k int arrays whose sizes differ by at most one.
    """
    if not (isinstance(k, (int, np.integer)) and 2 <= k <= n):
        raise ValueError(f"k must be an integer with 2 <= k <= n = {n}, got {k!r}")
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def cross_validate(build, X, y, k=3, seed=0, preprocess=None, **solver_kwargs):
    """Train a fresh model on k - 1 folds of (X (N, ...), y (N,)) and score it on the remaining one, k times.

    ``build()`` returns ``(model, solver_kwargs)``; keywords given here are shared defaults that
    these solver_kwargs override. ``preprocess(data) -> data``, if given, transforms each fold's
    ``{"X_train", "y_train", "X_val", "y_val"}`` with statistics of its training part alone
    (e.g. ``lambda d: normalize(d, "per_channel")[0]``), so the held-out fold stays unseen.
    Each fold's score is the Solver's ``best_val_acc`` (the held-out fold's accuracy at the best
    epoch). Returns a dict: ``val_acc`` (mean over folds), ``val_acc_std`` and ``fold_accuracies``.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    folds = kfold_indices(len(X), k, seed)
    accuracies = []
    for held_out in range(k):
        train = np.concatenate([fold for i, fold in enumerate(folds) if i != held_out])
        data = {"X_train": X[train], "y_train": y[train], "X_val": X[folds[held_out]], "y_val": y[folds[held_out]]}
        if preprocess is not None:
            data = preprocess(data)
        model, kwargs = build()
        kwargs = {"verbose": False, "progress": False, "seed": seed + held_out, **solver_kwargs, **kwargs}
        solver = Solver(model, data, **kwargs)
        solver.train()
        accuracies.append(solver.best_val_acc)
    return {
        "val_acc": float(np.mean(accuracies)),
        "val_acc_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies,
    }


def _search(build, points, X, y, k, seed, progress, solver_kwargs):
    from cifar_lessons.from_scratch.progress import progress_bar

    rows = []
    for point in progress_bar(points, desc="search", leave=False, disable=not progress):
        rows.append({**point, **cross_validate(functools.partial(build, **point), X, y, k, seed, **solver_kwargs)})
    return sorted(rows, key=lambda row: -row["val_acc"])


def grid_search(build, grid, X, y, k=3, seed=0, progress=False, **solver_kwargs):
    """Cross-validate every combination of ``grid`` (name -> list of values); ``progress`` shows a
    bar of the combinations while the search runs, gone once it is done.

    Keywords such as ``preprocess`` and the Solver's go to :func:`cross_validate`. Returns one
    dict per point, best mean validation accuracy first: the hyperparameters and the fields of
    :func:`cross_validate`.
    """
    names = list(grid)
    points = [dict(zip(names, values)) for values in itertools.product(*(grid[name] for name in names))]
    return _search(build, points, X, y, k, seed, progress, solver_kwargs)
