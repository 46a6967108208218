"""Reproducible training runs, repeated over seeds, and how to read their differences.

One seed is one draw of initial weights, minibatch order and dropout masks; a difference
between two settings means something only when it is larger than what another draw moves a
run by. So every comparison that is the point of a section runs over :data:`SEEDS` and is
reported as mean ± standard deviation, and :func:`paired_difference` says whether a
difference stands out of that noise.
"""

import numpy as np

from cifar_lessons.from_scratch.models import DropoutNet
from cifar_lessons.from_scratch.solver import Solver

SEEDS = (0, 1, 2)
# What the book prints when it compares runs: each is read off rounded numbers, as they are.
VERDICTS = ("clear", "within the noise", "far outside the spread")


def train_fully_connected(
    data,
    hidden_dims,
    *,
    num_epochs,
    batch_size=100,
    learning_rate=1e-3,
    seed=0,
    network=DropoutNet,
    update_rule="adam",
    **model_kwargs,
):
    """Train a ``network`` (by default :class:`DropoutNet`, the last of the chain, which takes
    every setting; or yours) with Adam (or ``update_rule``, a name or a function) and return its
    Solver (histories and model).

    ``model_kwargs`` go to the network (``normalization``, ``dropout_keep_ratio``,
    ``weight_scale``, ``reg``, ...). The run depends on ``seed`` alone: it seeds NumPy's global
    generator, from which the network draws its weights and a fresh dropout mask every step,
    and the Solver's minibatches.
    """
    np.random.seed(seed)
    model = network(hidden_dims, **model_kwargs)
    return _trained(model, data, update_rule, learning_rate, batch_size, num_epochs, seed)


def train_with_adam(model, data, *, num_epochs, batch_size=100, learning_rate=1e-3, seed=0):
    """Train ``model`` (any NumPy model: ``params`` and ``loss``) with Adam; return its Solver.

    ``seed`` fixes the minibatches and the scored subsamples; the initial weights are the
    model's own (build it with a seed too).
    """
    return _trained(model, data, "adam", learning_rate, batch_size, num_epochs, seed)


def _trained(model, data, update_rule, learning_rate, batch_size, num_epochs, seed):
    """The Solver that trained ``model`` quietly with these settings."""
    solver = Solver(
        model,
        data,
        update_rule=update_rule,
        optim_config={"learning_rate": learning_rate},
        batch_size=batch_size,
        num_epochs=num_epochs,
        verbose=False,
        progress=False,
        seed=seed,
    )
    solver.train()
    return solver


def over_seeds(run, seeds=SEEDS):
    """``run(seed)`` for every seed, as an array with one row per seed.

    ``run`` returns a number or an array of numbers (e.g. one accuracy per setting of a sweep),
    so the result has shape ``(len(seeds),)`` or ``(len(seeds), ...)``.
    """
    if len(seeds) < 2:
        raise ValueError(f"a spread needs at least two seeds, got {list(seeds)}")
    return np.array([run(seed) for seed in seeds], dtype=np.float64)


def mean_sd(values, percent=True, digits=1):
    """``values`` over seeds (1-D) as ``"mean ± sd"`` with ``digits`` decimals, in percentage
    points when ``percent``."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"mean_sd takes one value per seed (at least two), got shape {values.shape}")
    scale, unit = (100, "%") if percent else (1, "")
    return f"{scale * values.mean():.{digits}f}{unit} ± {scale * values.std(ddof=1):.{digits}f}"


def paired_difference(a, b):
    """How ``a`` and ``b`` (one value per seed, the same seeds) differ, seed by seed.

    Returns ``(mean, sd, clear)``: the mean and standard deviation of ``a - b`` over seeds, and
    whether the difference stands out of the noise, meaning every seed agrees on its sign and
    the mean is more than twice its standard error (sd / sqrt(seeds)).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired_difference takes two equal-length runs over seeds, got {a.shape} and {b.shape}")
    difference = a - b
    mean, sd = difference.mean(), difference.std(ddof=1)
    same_sign = np.all(difference > 0) or np.all(difference < 0)
    clear = bool(same_sign and abs(mean) > 2 * sd / np.sqrt(len(difference)))
    return float(mean), float(sd), clear
