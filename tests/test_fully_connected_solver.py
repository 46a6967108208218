"""Solver: learns, restores its best parameters, checkpoints, and refuses what it does not know."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from cifar_lessons import Solver
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError
from cifar_lessons.from_scratch.models import FullyConnectedNet
from cifar_lessons.from_scratch.solver import load_solver_checkpoint


def small_data(n=50, seed=0):
    """Random images with random labels: only memorization can fit them."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 3, 4, 4)).astype(np.float32), rng.integers(10, size=n)
    return {"X_train": X, "y_train": y, "X_val": X[:20], "y_val": y[:20]}


def solver(data=None, model=None, **kwargs):
    model = model or FullyConnectedNet([50], input_dim=48, weight_scale=0.1, seed=0)
    kwargs = {
        "update_rule": "adam",
        "optim_config": {"learning_rate": 1e-2},
        "batch_size": 25,
        "num_epochs": 20,
        "verbose": False,
        "progress": False,
        "seed": 0,
        **kwargs,
    }
    return Solver(model, data or small_data(), **kwargs)


def test_overfits_a_small_batch():
    s = solver()
    s.train()
    assert s.train_acc_history[-1] == 1.0
    assert s.loss_history[-1] < 0.1 * s.loss_history[0]
    assert len(s.train_acc_history) == len(s.val_acc_history) == s.num_epochs + 1
    assert len(s.loss_history) == s.num_epochs * 2


def test_keeps_the_parameters_that_scored_best_on_validation():
    s = solver(num_epochs=5)
    s.train()
    assert s.best_val_acc == max(s.val_acc_history)
    assert s.check_accuracy(s.X_val, s.y_val) == s.best_val_acc


def test_a_model_that_never_scores_keeps_its_parameters():
    data = small_data()
    data.update(X_val=np.zeros_like(data["X_val"]), y_val=np.ones_like(data["y_val"]))  # scores 0: predicts class 0
    s = solver(data, update_rule=lambda w, dw, config: (w, config), optim_config={}, num_epochs=2)
    s.train()
    assert s.best_val_acc == 0
    assert sorted(s.model.params) == ["W1", "W2", "b1", "b2"]


def test_same_seed_same_run():
    first, second = solver(num_epochs=3), solver(num_epochs=3)
    first.train()
    second.train()
    assert first.loss_history == second.loss_history


def test_learning_rate_decays_every_epoch():
    s = solver(num_epochs=3, lr_decay=0.5)
    s.train()
    assert all(config["learning_rate"] == pytest.approx(1e-2 * 0.5**3) for config in s.optim_configs.values())


def test_checkpoint_round_trips(tmp_path):
    s = solver(num_epochs=2, checkpoint_name=str(tmp_path / "net"), lr_decay=0.9)
    s.train()
    checkpoint = load_solver_checkpoint(tmp_path / "net_epoch_2.npz")
    assert checkpoint["epoch"] == 2
    assert checkpoint["update_rule"] == "adam" and checkpoint["lr_decay"] == 0.9
    assert checkpoint["optim_config"] == {"learning_rate": 1e-2} and checkpoint["batch_size"] == 25
    assert checkpoint["loss_history"] == s.loss_history
    assert checkpoint["val_acc_history"] == s.val_acc_history
    assert sorted(checkpoint["params"]) == sorted(s.model.params)
    assert sorted(tmp_path.iterdir()) == [tmp_path / f"net_epoch_{e}.npz" for e in range(3)]
    # the checkpoint holds the parameters as they were at epoch 2: they score what was recorded then
    restored = FullyConnectedNet([50], input_dim=48)
    restored.params = checkpoint["params"]
    assert solver(model=restored).check_accuracy(s.X_val, s.y_val) == checkpoint["val_acc_history"][-1]


class _OpensAFile:
    """Unpickled, it creates the file it names: proof that loading ran code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.mark.parametrize("name", ["net_epoch_1.pkl", "net_epoch_1.npz"])
def test_loading_a_checkpoint_runs_no_code(tmp_path, name):
    ran = tmp_path / "ran"
    (tmp_path / name).write_bytes(pickle.dumps({"params": _OpensAFile(ran), "epoch": 1}))
    with pytest.raises(CheckpointError, match=f"{name} is not a zip archive.*a pickle can run code"):
        load_solver_checkpoint(tmp_path / name)
    assert not ran.exists()


def test_checkpoints_keep_numpy_numbers_and_refuse_objects(tmp_path):
    s = solver(num_epochs=1, checkpoint_name=str(tmp_path / "net"), optim_config={"learning_rate": np.float32(0.01)})
    s.train()
    assert load_solver_checkpoint(tmp_path / "net_epoch_1.npz")["optim_config"] == {
        "learning_rate": np.float32(0.01).item()
    }
    s.model.params["W1"] = np.array([object()])
    with pytest.raises(TypeError, match=r"params\['W1'\] must be a NumPy array of numbers"):
        s._save_checkpoint()


def test_unknown_options_raise():
    with pytest.raises(ValueError, match="unrecognized arguments learning_rate, nm_epochs"):
        solver(nm_epochs=3, learning_rate=0.1)
    with pytest.raises(ValueError, match="unknown update_rule 'adagrad'"):
        solver(update_rule="adagrad")
    with pytest.raises(ValueError, match="data lacks X_val, y_val"):
        solver(data={"X_train": np.zeros((2, 48)), "y_train": np.zeros(2, dtype=int)})
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        solver(batch_size=0)
    with pytest.raises(ValueError, match=r"unknown config keys \['lr'\]"):
        solver(optim_config={"lr": 0.1}).train()


@pytest.mark.parametrize(
    "rows, problem",
    [
        ({"y_train": 49}, r"data\['X_train'\] has 50 rows and data\['y_train'\] 49 labels"),
        ({"X_val": 0, "y_val": 0}, r"data\['X_val'\] has 0 rows and data\['y_val'\] 0 labels.*at least one row"),
        ({"y_val": 21}, r"data\['X_val'\] has 20 rows and data\['y_val'\] 21 labels"),
    ],
    ids=["train labels", "empty validation", "validation labels"],
)
def test_splits_of_the_wrong_length_are_refused_before_training(rows, problem):
    data = small_data()
    for key, count in rows.items():
        data[key] = np.resize(data[key], (count, *data[key].shape[1:]))
    with pytest.raises(ValueError, match=problem):
        solver(data)


def test_accepts_an_update_rule_function():
    def halve(w, dw, config):
        return w - 0.5 * dw, config

    s = solver(update_rule=halve, optim_config={}, num_epochs=1)
    s.train()
    assert len(s.loss_history) == 2


def test_prints_progress_when_verbose(capsys):
    solver(num_epochs=1, verbose=True, print_every=1).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 2) loss:" in out and "(Epoch 1 / 1) train acc:" in out


def test_importing_the_package_stays_cheap():
    code = (
        "import sys, cifar_lessons; from cifar_lessons import Solver; "
        "print(sorted(m for m in ('matplotlib', 'torch', 'ipywidgets', 'tqdm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
