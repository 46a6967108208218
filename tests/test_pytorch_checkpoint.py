"""PyTorch checkpoints: what saves loads back, and what is not a checkpoint of this model is refused
with CheckpointError, saying why. Hostile files are read in a separate process (tests/file_reader.py)."""

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from file_reader import Reader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from test_checkpoint_files import mutated  # noqa: E402

from cifar_lessons.from_scratch.checkpoint_files import CheckpointError  # noqa: E402
from cifar_lessons.torch import checkpoint  # noqa: E402
from cifar_lessons.torch.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from cifar_lessons.torch.convnet import ConvNet  # noqa: E402
from cifar_lessons.torch.recipe import Recipe  # noqa: E402


def small_net(seed):
    torch.manual_seed(seed)
    return ConvNet(channels=(4, 8), hidden_dim=16)


def test_round_trip_restores_model_optimizer_and_info(tmp_path):
    model = small_net(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    save_checkpoint(tmp_path / "ck.pt", model, optimizer, epoch=3, val_accuracy=0.5)

    restored = small_net(1)
    restored_optimizer = torch.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
    info = load_checkpoint(tmp_path / "ck.pt", restored, restored_optimizer)
    assert info == {"epoch": 3, "val_accuracy": 0.5}
    for name, value in model.state_dict().items():
        assert torch.equal(value, restored.state_dict()[name]), name
    assert restored_optimizer.state_dict()["state"][0]["momentum_buffer"].equal(
        optimizer.state_dict()["state"][0]["momentum_buffer"]
    )
    assert not list(tmp_path.glob("*.part"))


def test_loading_an_optimizer_that_was_not_saved_is_an_error(tmp_path):
    save_checkpoint(tmp_path / "ck.pt", small_net(0))
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(tmp_path / "ck.pt", small_net(0), torch.optim.SGD(small_net(0).parameters(), lr=1))


class Payload:
    pass


def test_refuses_pickled_objects_without_suggesting_to_trust_them(tmp_path):
    torch.save({"model": {}, "info": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="evil.pt holds objects other than tensors.*could run code") as caught:
        load_checkpoint(tmp_path / "evil.pt", small_net(0))
    assert "weights_only=False" not in str(caught.value)


def test_what_saves_loads_numpy_numbers_paths_and_recipes_included(tmp_path):
    recipe = Recipe(epochs=2)
    save_checkpoint(
        tmp_path / "ck.pt",
        small_net(0),
        val_accuracy=np.float64(0.5),
        epoch=np.int64(3),
        folder=tmp_path,
        recipe=recipe,
        curve=[np.float32(0.25)],
        confusion=np.eye(2, dtype=np.int64),
    )
    info = load_checkpoint(tmp_path / "ck.pt", small_net(1))
    assert info == {
        "val_accuracy": 0.5,
        "epoch": 3,
        "folder": str(tmp_path),
        "recipe": vars(recipe),
        "curve": [0.25],
        "confusion": [[1, 0], [0, 1]],
    }
    assert type(info["val_accuracy"]) is float and type(info["epoch"]) is int
    assert info["recipe"]["widths"] == (16, 32, 64)


def test_what_could_not_load_is_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match=r"info\['extra'\]\[1\] is a Payload"):
        save_checkpoint(tmp_path / "ck.pt", small_net(0), extra=[1, Payload()])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "is not a zip archive"), (os.urandom(1000), "is not a zip archive")],
    ids=["empty", "random bytes"],
)
def test_what_is_not_a_checkpoint_is_named_as_such_not_as_code(tmp_path, content, problem):
    (tmp_path / "ck.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=f"ck.pt {problem}.*save_checkpoint wrote") as caught:
        load_checkpoint(tmp_path / "ck.pt", small_net(0))
    assert "run code" not in str(caught.value)


@pytest.mark.parametrize(
    "state, problem",
    [({"info": {}}, "holds no model entry"), ([1, 2], "holds no model or info entry")],
    ids=["no model", "a list"],
)
def test_a_file_torch_saved_without_the_entries_of_a_checkpoint_is_named(tmp_path, state, problem):
    torch.save(state, tmp_path / "ck.pt")
    with pytest.raises(CheckpointError, match=f"ck.pt {problem}"):
        load_checkpoint(tmp_path / "ck.pt", small_net(0))


def test_a_checkpoint_of_another_model_is_named_with_the_fix(tmp_path):
    save_checkpoint(tmp_path / "ck.pt", small_net(0))
    torch.manual_seed(0)
    other = ConvNet(channels=(8, 8), hidden_dim=16)
    with pytest.raises(CheckpointError, match="(?s)ck.pt does not fit this model .*build the model"):
        load_checkpoint(tmp_path / "ck.pt", other)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_a_full_disk_keeps_the_checkpoint_saved_before(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "ck.pt", small_net(0), epoch=1)
    before = (tmp_path / "ck.pt").read_bytes()

    @contextlib.contextmanager
    def full_disk(path):
        with open("/dev/full", "wb") as f:  # every write to it fails as on a full disk
            yield f

    monkeypatch.setattr(checkpoint, "open_atomically", full_disk)
    with pytest.raises(CheckpointError, match=r"could not write .*ck\.pt \(No space left on device\).*unchanged"):
        save_checkpoint(tmp_path / "ck.pt", small_net(1), epoch=2)
    assert (tmp_path / "ck.pt").read_bytes() == before


def test_a_checkpoint_unpacking_past_the_budget_is_refused(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "ck.pt", small_net(0))
    with zipfile.ZipFile(tmp_path / "ck.pt", "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ck/padding", bytes(2**21))
    monkeypatch.setattr("cifar_lessons.from_scratch.checkpoint_files.MAX_BYTES", 2**20)
    with pytest.raises(CheckpointError, match="ck.pt unpacks to .* bytes, more than a checkpoint"):
        load_checkpoint(tmp_path / "ck.pt", small_net(0))


TORCH_ANSWER = """
import torch
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError
from cifar_lessons.torch.checkpoint import load_checkpoint
from cifar_lessons.torch.convnet import ConvNet

torch.manual_seed(0)
MODEL = ConvNet(channels=(4, 8), hidden_dim=16)


def answer(path):
    try:
        load_checkpoint(path, MODEL)
    except CheckpointError as error:
        return f"refused: {error}"
    except BaseException as error:
        return f"raised {type(error).__name__}: {error}"
    return "loaded"
"""


@pytest.fixture(scope="module")
def torch_reader():
    process = Reader(TORCH_ANSWER, seconds=20)  # its first answer waits for torch to import
    yield process
    process.close()


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("torch") / "ck.pt"
    save_checkpoint(path, small_net(0), epoch=3, history=[0.5, 0.25])
    return path.read_bytes()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_checkpoints_load_or_are_refused_never_anything_else(tmp_path, torch_reader, saved_checkpoint, data):
    path = tmp_path / "ck.pt"
    path.write_bytes(data.draw(mutated(saved_checkpoint)))
    answer = torch_reader.read(path)
    assert answer == "loaded" or answer.startswith("refused: "), answer
