"""A training run is reproducible from its seed, dropout draws a fresh mask every step, and runs over
seeds are summarized as mean ± sd and compared seed by seed."""

import numpy as np
import pytest

from cifar_lessons.course.experiments import (
    mean_sd,
    over_seeds,
    paired_difference,
    t_quantile,
    train_fully_connected,
    train_with_adam,
)
from cifar_lessons.from_scratch import optim
from cifar_lessons.from_scratch.models import DropoutNet, FullyConnectedNet

rng = np.random.default_rng(0)
X, y = rng.normal(size=(60, 8)).astype(np.float32), rng.integers(3, size=60)
DATA = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def run(seed, **kwargs):
    return train_fully_connected(
        DATA,
        [16],
        num_epochs=2,
        batch_size=10,
        seed=seed,
        input_dim=8,
        num_classes=3,
        dropout_keep_ratio=0.5,
        normalization="batchnorm",
        **kwargs,
    )


def test_same_seed_same_run_other_seed_other_run():
    first, again, other = run(0), run(0), run(1)
    assert first.loss_history == again.loss_history
    assert first.val_acc_history == again.val_acc_history
    assert first.loss_history != other.loss_history


def test_training_draws_a_fresh_dropout_mask_every_step():
    model = run(0).model
    X_batch, y_batch = DATA["X_train"][:10], DATA["y_train"][:10]
    assert model.loss(X_batch, y_batch)[0] != model.loss(X_batch, y_batch)[0]


def test_a_run_trains_the_network_class_and_update_rule_it_is_given():
    class Yours(DropoutNet):
        pass

    default, yours = run(0), run(0, network=Yours, update_rule=optim.adam)
    assert isinstance(yours.model, Yours)
    assert yours.loss_history == default.loss_history


def test_without_a_seed_the_network_follows_numpys_global_generator():
    np.random.seed(4)
    first = FullyConnectedNet([5], input_dim=8, num_classes=3)
    np.random.seed(4)
    again = FullyConnectedNet([5], input_dim=8, num_classes=3)
    np.testing.assert_array_equal(first.params["W1"], again.params["W1"])


def test_train_with_adam_trains_the_model_it_is_given_from_its_seed():
    def model():
        return FullyConnectedNet([16], input_dim=8, num_classes=3, seed=5)

    first, again = (train_with_adam(model(), DATA, num_epochs=2, batch_size=10, seed=1) for _ in range(2))
    other = train_with_adam(model(), DATA, num_epochs=2, batch_size=10, seed=2)
    assert first.loss_history == again.loss_history != other.loss_history
    assert len(first.loss_history) == 2 * 40 // 10 and first.optim_configs["W1"]["t"] == 8  # Adam, one step a batch
    faster = train_with_adam(model(), DATA, num_epochs=2, batch_size=10, learning_rate=0.05, seed=1)
    assert faster.optim_config["learning_rate"] == 0.05 and faster.loss_history[0] == first.loss_history[0]
    assert not np.array_equal(faster.model.params["W1"], model().params["W1"])


def test_over_seeds_runs_once_per_seed_one_row_each():
    rows = over_seeds(lambda seed: [seed, 10 * seed], seeds=(1, 2, 3))
    assert rows.shape == (3, 2) and rows[:, 1].tolist() == [10, 20, 30]
    assert over_seeds(lambda seed: run(seed).val_acc_history[-1]).shape == (3,)
    with pytest.raises(ValueError, match="at least two seeds"):
        over_seeds(lambda seed: 0.0, seeds=(0,))


def test_over_seeds_counts_the_seeds_in_a_bar_when_asked(capsys):
    assert over_seeds(lambda seed: seed, desc="race").tolist() == [0, 1, 2]
    assert "race" in capsys.readouterr().err
    over_seeds(lambda seed: seed)
    assert capsys.readouterr().err == ""


def test_mean_sd_reads_in_percentage_points_with_the_sample_sd():
    assert mean_sd([0.40, 0.42, 0.44]) == "42.0% ± 2.0"
    assert mean_sd([1.0, 3.0], percent=False) == "2.0 ± 1.4"
    assert mean_sd([1.0, 3.0], percent=False, digits=3) == "2.000 ± 1.414"
    with pytest.raises(ValueError, match="one value per seed"):
        mean_sd([0.5])


@pytest.mark.parametrize(
    "degrees_of_freedom, t95, t99",
    # two-sided critical values from a printed t table
    [
        (1, 12.706, 63.657),
        (2, 4.303, 9.925),
        (3, 3.182, 5.841),
        (4, 2.776, 4.604),
        (9, 2.262, 3.250),
        (29, 2.045, 2.756),
        (1000, 1.962, 2.581),
    ],
)
def test_t_quantile_matches_the_t_table(degrees_of_freedom, t95, t99):
    assert t_quantile(0.95, degrees_of_freedom) == pytest.approx(t95, abs=6e-4)
    assert t_quantile(0.99, degrees_of_freedom) == pytest.approx(t99, abs=6e-4)


def test_t_quantile_refuses_what_has_no_quantile():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="positive whole number"):
        t_quantile(0.95, 2.5)


def test_three_seeds_are_clear_only_beyond_the_t_interval_not_two_standard_errors():
    difference = paired_difference([0.50, 0.52, 0.51], [0.40, 0.41, 0.42])
    assert difference.mean == pytest.approx(0.1) and difference.sd == pytest.approx(0.01)
    assert difference.verdict == "clear" and difference.clear
    assert difference.low == pytest.approx(0.1 - 4.3027 * 0.01 / 3**0.5, abs=1e-6)
    # mean 0.8, sd 0.62: 2.2 standard errors, which a two-standard-error rule calls clear;
    # the t interval with 2 degrees of freedom reaches past zero
    adam = paired_difference([0.003, 0.006, 0.015], [0.0, 0.0, 0.0])
    assert adam.verdict == "consistent in sign" and adam.low < 0 < adam.high
    assert paired_difference([0.50, 0.40, 0.51], [0.45, 0.45, 0.45]).verdict == "within the noise"
    # the same spread over five seeds is clear: more seeds, a narrower interval
    five = paired_difference([0.003, 0.006, 0.015, 0.006, 0.010], [0.0] * 5)
    assert five.verdict == "clear"
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([0.5, 0.6], [0.5, 0.6, 0.7])


def test_a_difference_prints_in_points_with_its_interval_and_verdict():
    text = paired_difference([0.50, 0.52, 0.51], [0.40, 0.41, 0.42]).points()
    assert text == "+10.0 ± 1.0 points (95% interval +7.5 to +12.5: clear)"
