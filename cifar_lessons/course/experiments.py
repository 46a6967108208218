"""Reproducible training runs, repeated over seeds, and how to read their differences.

One seed is one draw of initial weights, minibatch order and dropout masks; a difference
between two settings means something only when it is larger than what another draw moves a
run by. So every comparison that is the point of a section runs over :data:`SEEDS` and is
reported as mean ± standard deviation, and :func:`paired_difference` says whether a
difference stands out of that noise, by a 95% Student-t interval over the seeds.

What the seeds measure is the spread of training on these images: a difference that is clear
over seeds is clear for this validation set. Whether it carries to new images is a second
question, which the 500 images of a test score answer only to within a few points
(:func:`cifar_lessons.course.results.binomial_error`).
"""

import math
from typing import NamedTuple

import numpy as np

from cifar_lessons.from_scratch.models import DropoutNet
from cifar_lessons.from_scratch.progress import progress_bar
from cifar_lessons.from_scratch.solver import Solver

SEEDS = (0, 1, 2)
# What the book prints when it compares runs: each is read off rounded numbers, as they are.
VERDICTS = ("clear", "consistent in sign", "within the noise", "far outside the spread")
CONFIDENCE = 0.95


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


def over_seeds(run, seeds=SEEDS, desc=None):
    """``run(seed)`` for every seed, as an array with one row per seed.

    ``run`` returns a number or an array of numbers (e.g. one accuracy per setting of a sweep),
    so the result has shape ``(len(seeds),)`` or ``(len(seeds), ...)``. With a ``desc``, a
    progress bar of that name counts the seeds while they run and disappears when they are done.
    """
    if len(seeds) < 2:
        raise ValueError(f"a spread needs at least two seeds, got {list(seeds)}")
    seeds = progress_bar(seeds, desc=desc, leave=False) if desc else seeds
    return np.array([run(seed) for seed in seeds], dtype=np.float64)


def mean_sd(values, percent=True, digits=1):
    """``values`` over seeds (1-D) as ``"mean ± sd"`` with ``digits`` decimals, in percentage
    points when ``percent``."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"mean_sd takes one value per seed (at least two), got shape {values.shape}")
    scale, unit = (100, "%") if percent else (1, "")
    return f"{scale * values.mean():.{digits}f}{unit} ± {scale * values.std(ddof=1):.{digits}f}"


class Difference(NamedTuple):
    """``a - b`` over seeds: its mean, standard deviation, 95% t interval and verdict."""

    mean: float
    sd: float
    low: float
    high: float
    verdict: str

    @property
    def clear(self):
        return self.verdict == "clear"

    def points(self):
        """The difference of two accuracies in percentage points, as the book prints it:
        ``"+2.7 ± 1.7 points (95% interval -1.5 to +6.9: within the noise)"``."""
        return (
            f"{100 * self.mean:+.1f} ± {100 * self.sd:.1f} points "
            f"(95% interval {100 * self.low:+.1f} to {100 * self.high:+.1f}: {self.verdict})"
        )


def paired_difference(a, b):
    """How ``a`` and ``b`` (one value per seed, the same seeds) differ, seed by seed.

    Returns a :class:`Difference`. Its verdict is ``"clear"`` when the 95% Student-t interval
    of the mean difference (``n - 1`` degrees of freedom for ``n`` seeds) excludes zero;
    otherwise ``"consistent in sign"`` when every seed still agrees on the sign, and
    ``"within the noise"`` when they do not. With three seeds "clear" asks for a mean 2.5
    standard deviations from zero; with five, 1.24.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired_difference takes two equal-length runs over seeds, got {a.shape} and {b.shape}")
    difference = a - b
    mean, sd = float(difference.mean()), float(difference.std(ddof=1))
    half_width = t_quantile(CONFIDENCE, len(difference) - 1) * sd / math.sqrt(len(difference))
    low, high = mean - half_width, mean + half_width
    if low > 0 or high < 0:
        verdict = "clear"
    elif np.all(difference > 0) or np.all(difference < 0):
        verdict = "consistent in sign"
    else:
        verdict = "within the noise"
    return Difference(mean, sd, low, high, verdict)


def t_quantile(confidence, degrees_of_freedom):
    """The ``t`` whose two-sided interval ``[-t, t]`` holds ``confidence`` of Student's t
    distribution: 4.303 for 95% and 2 degrees of freedom, 2.776 for 4, tending to 1.960."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is a probability strictly between 0 and 1, got {confidence}")
    if int(degrees_of_freedom) != degrees_of_freedom or degrees_of_freedom < 1:
        raise ValueError(f"degrees of freedom are a positive whole number, got {degrees_of_freedom}")
    low, high = 0.0, 1.0
    while t_inside(high, degrees_of_freedom) < confidence:
        low, high = high, 2 * high
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if t_inside(middle, degrees_of_freedom) < confidence else (low, middle)
    return high


def t_inside(t, degrees_of_freedom):
    """P(|T| < t) for Student's t with a whole number of degrees of freedom, exactly: the
    finite series in cos(θ), θ = atan(t / √ν) (Abramowitz & Stegun 26.7.3 and 26.7.4)."""
    nu = int(degrees_of_freedom)
    theta = math.atan(t / math.sqrt(nu))
    cos2 = math.cos(theta) ** 2
    if nu % 2 == 0:  # sin θ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... up to cos^(ν-2)θ)
        term, total = 1.0, 1.0
        for k in range(1, nu // 2):
            term *= (2 * k - 1) / (2 * k) * cos2
            total += term
        return math.sin(theta) * total
    # (2/π)(θ + sin θ cos θ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + ... up to cos^(ν-3)θ)), ν odd
    term, total = 1.0, 1.0 if nu > 1 else 0.0
    for k in range(1, (nu - 1) // 2):
        term *= (2 * k) / (2 * k + 1) * cos2
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
