"""The first cell's ``start``: seeds, finds (or announces and downloads) the data, picks the device."""

import random
import sys
import types

import numpy as np
import pytest

from cifar_lessons import data
from cifar_lessons.course import yours
from cifar_lessons.data import find, release
from cifar_lessons.start import start


def test_start_seeds_and_says_where_the_package_and_the_data_are(capsys):
    assert start(seed=3) is None
    first = (random.random(), np.random.rand())
    start(seed=3)
    assert (random.random(), np.random.rand()) == first
    out = capsys.readouterr().out
    assert "cifar_lessons " in out and "im2col kernels:" in out and "seed 3" in out
    assert "CIFAR-10 found in $CIFAR10_DIR" in out, "show the folder as the reader names it, not a machine path"
    assert data.describe("lesson") in out, "say which data the chapter trains on, and how to switch"


@pytest.mark.parametrize("sign", ["module", "variable"])
def test_on_colab_it_says_how_to_carry_your_code_to_the_next_notebook(monkeypatch, capsys, sign):
    monkeypatch.delenv(yours.SETTING, raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    start(need_data=False)
    assert yours.SETTING not in capsys.readouterr().out, "off Colab, yours/ beside the notebook serves"
    if sign == "module":
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260101")
    start(need_data=False)
    assert "On Colab each notebook runs on a machine of its own: mount your Drive and set CIFAR_LESSONS_YOURS" in (
        capsys.readouterr().out
    )
    monkeypatch.setenv(yours.SETTING, "/content/drive/MyDrive/mine")
    start(need_data=False)
    assert yours.SETTING not in capsys.readouterr().out, "set: nothing to say"


def test_a_mistyped_data_setting_stops_before_any_download(monkeypatch):
    monkeypatch.setenv(data.DATA_SETTING, "fulll")
    monkeypatch.setattr(data, "find_cifar10", lambda **kwargs: pytest.fail("must not look for data"))
    with pytest.raises(ValueError, match="names no data"):
        start()


def test_without_data_nothing_is_looked_up(monkeypatch, capsys):
    monkeypatch.setenv("CIFAR10_DIR", "/nonexistent")
    start(need_data=False)
    assert "CIFAR-10" not in capsys.readouterr().out


def test_missing_data_is_announced_before_it_downloads(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def fake_download(dest_dir):
        assert "downloading it once (163 MB)" in capsys.readouterr().out, "say so before downloading"
        return tmp_path / "cifar_lessons" / release.BATCHES_DIRNAME

    monkeypatch.setattr(find, "download_cifar10", fake_download)
    monkeypatch.setattr(data, "release_mismatch", lambda folder: None)
    start()
    assert f"CIFAR-10 found in {tmp_path / 'cifar_lessons' / release.BATCHES_DIRNAME}" in capsys.readouterr().out


def test_a_copy_that_is_not_the_release_is_flagged(monkeypatch, capsys):
    monkeypatch.setattr(data, "release_mismatch", lambda folder: "every pixel is shifted by one byte")
    start()
    assert (
        "WARNING: this copy of CIFAR-10 is not the official release: every pixel is shifted" in capsys.readouterr().out
    )


@pytest.mark.parametrize("setting, message", [("wrong", "CIFAR10_DIR="), ("", "CIFAR10_DIR is empty")])
def test_a_wrong_or_empty_cifar10_dir_is_an_error_naming_it(monkeypatch, tmp_path, capsys, setting, message):
    monkeypatch.setenv("CIFAR10_DIR", setting and str(tmp_path))
    monkeypatch.setattr(find, "download_cifar10", lambda dest_dir: pytest.fail("must not download"))
    with pytest.raises(data.CIFAR10Error, match=message):
        start()
    assert "downloading" not in capsys.readouterr().out


def test_torch_device_is_the_gpu_when_there_is_one(capsys):
    torch = pytest.importorskip("torch")
    device = start(seed=1, need_data=False, use_torch=True)
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    out = capsys.readouterr().out
    assert (
        f"on {torch.cuda.get_device_name(device)}" if torch.cuda.is_available() else "on CPU (no CUDA GPU found)"
    ) in out
    drawn = torch.rand(1).item()
    torch.manual_seed(1)
    assert torch.rand(1).item() == drawn, "start must seed PyTorch"
