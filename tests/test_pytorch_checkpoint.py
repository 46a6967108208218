import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

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
    with pytest.raises(KeyError, match="no optimizer state"):
        load_checkpoint(tmp_path / "ck.pt", small_net(0), torch.optim.SGD(small_net(0).parameters(), lr=1))


class Payload:
    pass


def test_refuses_pickled_objects_without_suggesting_to_trust_them(tmp_path):
    torch.save({"model": {}, "info": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="evil.pt holds objects other than tensors") as caught:
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
