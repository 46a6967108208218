import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from cifar_lessons.torch.device import default_device, device_name  # noqa: E402


def test_falls_back_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")
    assert device_name("cpu") == "CPU (no CUDA GPU found)"


def test_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cuda")


def test_start_returns_the_device(monkeypatch, capsys):
    from cifar_lessons.start import start

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert start(seed=0, need_data=False, use_torch=True) == torch.device("cpu")
    assert "CPU (no CUDA GPU found)" in capsys.readouterr().out


def test_importing_the_package_does_not_import_torch():
    code = "import sys, cifar_lessons, cifar_lessons.data, cifar_lessons.start; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
