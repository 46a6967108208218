"""A training run is reproducible from its seed, and dropout draws a fresh mask every step."""
import numpy as np

from cifar_lessons.experiments import train_fully_connected
from cifar_lessons.models import FullyConnectedNet

rng = np.random.default_rng(0)
X, y = rng.normal(size=(60, 8)).astype(np.float32), rng.integers(3, size=60)
DATA = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def run(seed, **kwargs):
    return train_fully_connected(DATA, [16], num_epochs=2, batch_size=10, seed=seed, input_dim=8, num_classes=3,
                                 dropout_keep_ratio=0.5, normalization="batchnorm", **kwargs)


def test_same_seed_same_run_other_seed_other_run():
    first, again, other = run(0), run(0), run(1)
    assert first.loss_history == again.loss_history
    assert first.val_acc_history == again.val_acc_history
    assert first.loss_history != other.loss_history


def test_training_draws_a_fresh_dropout_mask_every_step():
    model = run(0).model
    X_batch, y_batch = DATA["X_train"][:10], DATA["y_train"][:10]
    assert model.loss(X_batch, y_batch)[0] != model.loss(X_batch, y_batch)[0]


def test_without_a_seed_the_network_follows_numpys_global_generator():
    np.random.seed(4)
    first = FullyConnectedNet([5], input_dim=8, num_classes=3)
    np.random.seed(4)
    again = FullyConnectedNet([5], input_dim=8, num_classes=3)
    np.testing.assert_array_equal(first.params["W1"], again.params["W1"])
