"""Hostile and damaged checkpoints, a Solver's and PyTorch's: each loads or is refused with
CheckpointError, within a budget of bytes and of time, and a full disk ends no training.

The fuzz tests read each file in a separate Python process (tests/file_reader.py), so that a file
which crashes the interpreter or stalls the reader fails its test instead of ending the test run.
"""

import contextlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from file_reader import Reader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import checkpoint_files, solver
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError
from cifar_lessons.from_scratch.models import FullyConnectedNet

FUZZ_SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def solver_checkpoint(path, members, compression=zipfile.ZIP_STORED):
    """An .npz archive of ``members`` (name -> bytes), as np.savez lays it out."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


INFO = json.dumps(
    {
        "update_rule": "sgd",
        "optim_config": {"learning_rate": 0.1},
        "lr_decay": 1.0,
        "batch_size": 10,
        "num_train_samples": 100,
        "num_val_samples": None,
        "epoch": 1,
        "loss_history": [2.3],
        "train_acc_history": [0.1],
        "val_acc_history": [0.1],
    }
)


def valid_members():
    return {"params/W1.npy": npy(np.ones((3, 2))), "info.npy": npy(np.array(INFO))}


def test_a_checkpoint_of_valid_members_loads(tmp_path):
    loaded = solver.load_solver_checkpoint(solver_checkpoint(tmp_path / "net.npz", valid_members()))
    assert loaded["epoch"] == 1 and loaded["params"]["W1"].shape == (3, 2)


def test_a_compressed_member_unpacking_past_the_budget_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_files, "MAX_BYTES", 2**20)
    members = dict(valid_members(), **{"params/W2.npy": npy(np.zeros(2**18))})  # 2 MB of zeros, 2 KB compressed
    path = solver_checkpoint(tmp_path / "net.npz", members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 10_000
    with pytest.raises(CheckpointError, match=r"net\.npz unpacks to 3 files of \d+ bytes, more than a checkpoint"):
        solver.load_solver_checkpoint(path)


def test_a_header_claiming_more_elements_than_its_member_holds_is_refused(tmp_path):
    members = dict(valid_members(), **{"params/W2.npy": _npy_claiming((10**12,))})
    with pytest.raises(CheckpointError, match=r"W2\.npy's header claims \(1000000000000,\)"):
        solver.load_solver_checkpoint(solver_checkpoint(tmp_path / "net.npz", members))


def _npy_claiming(shape):
    """An .npy header for float64 of ``shape``, followed by 8 bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(8)


@pytest.mark.parametrize(
    "members, problem",
    [
        (
            {"params/W1.npy": npy(np.ones(2)), "info.npy": npy(np.array("[" * 100_000 + "]" * 100_000))},
            "nests too deep",
        ),
        ({"info.npy": npy(np.array(INFO))}, "holds no parameters"),
        ({"params/W1.npy": npy(np.ones(2)), "info.npy": npy(np.array("{}"))}, "lacks update_rule, optim_config"),
        ({"params/W1.npy": npy(np.ones(2))}, "'info' entry is missing or not text"),
    ],
    ids=["deep info", "no params", "empty info", "no info"],
)
def test_what_a_solver_never_writes_is_named(tmp_path, members, problem):
    with pytest.raises(CheckpointError, match=f"net.npz is not a Solver checkpoint \\(.*{problem}"):
        solver.load_solver_checkpoint(solver_checkpoint(tmp_path / "net.npz", members))


def test_a_file_that_cannot_be_read_is_named_with_the_fix(tmp_path):
    (tmp_path / "net.npz").mkdir()
    with pytest.raises(CheckpointError, match=r"cannot read .*net\.npz \(Is a directory\): give the path of"):
        solver.load_solver_checkpoint(tmp_path / "net.npz")


def small_solver(tmp_path, **kwargs):
    rng = np.random.default_rng(0)
    data = {
        "X_train": rng.standard_normal((40, 6)),
        "y_train": rng.integers(0, 3, 40),
        "X_val": rng.standard_normal((10, 6)),
        "y_val": rng.integers(0, 3, 10),
    }
    model = FullyConnectedNet([8], input_dim=6, num_classes=3)
    return solver.Solver(
        model, data, batch_size=20, checkpoint_name=str(tmp_path / "net"), verbose=False, progress=False, **kwargs
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_a_full_disk_while_training_warns_and_training_goes_on(tmp_path, monkeypatch):
    s = small_solver(tmp_path, num_epochs=2, seed=0)
    real_open_atomically = solver.open_atomically

    @contextlib.contextmanager
    def full_disk_at_epoch_one(path):
        if not str(path).endswith("_epoch_1.npz"):
            with real_open_atomically(path) as f:
                yield f
            return
        with open("/dev/full", "wb") as f:  # every write to it fails as on a full disk
            yield f

    monkeypatch.setattr(solver, "open_atomically", full_disk_at_epoch_one)
    with pytest.warns(RuntimeWarning, match=r"could not save the checkpoint .*net_epoch_1\.npz .*training goes on"):
        s.train()
    assert s.epoch == 2 and len(s.val_acc_history) == 3
    assert solver.load_solver_checkpoint(tmp_path / "net_epoch_2.npz")["epoch"] == 2
    assert not (tmp_path / "net_epoch_1.npz").exists()


# ---------------------------------------------------------------------------------------------
# Fuzzing: valid files, mutated


@st.composite
def mutated(draw, payload):
    """``payload`` truncated, with bits flipped, or with random bytes inserted."""
    payload = bytearray(payload)
    mutation = draw(st.sampled_from(["truncate", "flip bits", "insert"]))
    if mutation == "truncate":
        return bytes(payload[: draw(st.integers(0, len(payload) - 1))])
    if mutation == "flip bits":
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(payload) - 1))
            payload[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(payload)
    position = draw(st.integers(0, len(payload)))
    return bytes(payload[:position] + draw(st.binary(min_size=1, max_size=16)) + payload[position:])


SOLVER_ANSWER = """
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError
from cifar_lessons.from_scratch.solver import load_solver_checkpoint


def answer(path):
    try:
        load_solver_checkpoint(path)
    except CheckpointError as error:
        return f"refused: {error}"
    except BaseException as error:
        return f"raised {type(error).__name__}: {error}"
    return "loaded"
"""


@pytest.fixture(scope="module")
def solver_reader():
    process = Reader(SOLVER_ANSWER, seconds=10)
    yield process
    process.close()


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solver")
    small_solver(folder, num_epochs=1, seed=0).train()
    return (folder / "net_epoch_1.npz").read_bytes()


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_solver_checkpoints_load_or_are_refused_never_anything_else(
    tmp_path, solver_reader, trained_checkpoint, data
):
    path = tmp_path / "net.npz"
    path.write_bytes(data.draw(mutated(trained_checkpoint)))
    answer = solver_reader.read(path)
    assert answer == "loaded" or answer.startswith("refused: "), answer


def test_a_pickle_is_refused_by_the_solver_reader_too(tmp_path, solver_reader):
    (tmp_path / "net.npz").write_bytes(pickle.dumps({"params": {}}))
    assert solver_reader.read(tmp_path / "net.npz").startswith("refused: ")
