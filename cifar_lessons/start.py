"""The first cell of every notebook: seed, find the data, pick the device, say what was found."""

import importlib.metadata
import os
import random
import sys
from pathlib import Path

import numpy as np

from cifar_lessons import data
from cifar_lessons.course import yours
from cifar_lessons.from_scratch import kernels

NOT_THE_RELEASE = "WARNING: this copy of CIFAR-10 is not the official release"


def _package_line():
    try:
        version = importlib.metadata.version("cifar-lessons")
    except importlib.metadata.PackageNotFoundError:  # imported from a checkout, not installed
        version = "(not installed)"
    return f"cifar_lessons {version}, im2col kernels: {kernels.BACKEND}"


def _find_data():
    """The CIFAR-10 folder, downloading it (with a progress bar) after saying so, if it is nowhere."""
    try:
        return data.find_cifar10(download=False)
    except data.CIFAR10Error:
        if os.environ.get("CIFAR10_DIR") is not None:
            raise  # a wrong (or empty) CIFAR10_DIR: its message says what to fix
    print(
        f"CIFAR-10 is not on this machine yet: downloading it once (163 MB) into "
        f"{_shown(data.default_cache_dir())} (set CIFAR10_DIR to use a copy you already have)",
        flush=True,
    )
    return data.find_cifar10()


def _shown(folder):
    """The data folder as a reader would write it: relative to $CIFAR10_DIR or ~ when inside them."""
    folder = Path(folder).resolve()
    for prefix, base in (("$CIFAR10_DIR", os.environ.get("CIFAR10_DIR")), ("~", Path.home())):
        if base and folder.is_relative_to(base := Path(base).expanduser().resolve()):
            return str(Path(prefix) / folder.relative_to(base))
    return str(folder)


def _torch_device(seed):
    try:
        import torch
    except ImportError:
        raise ImportError(
            "this chapter needs PyTorch, which is not installed here: "
            "`%pip install torch torchvision`, then restart the kernel"
        ) from None
    from cifar_lessons.torch.device import device_name, setup_torch

    device = setup_torch(seed)
    return device, f"PyTorch {torch.__version__} on {device_name(device)}"


def start(seed=0, need_data=True, use_torch=False):
    """Seed Python, NumPy (and PyTorch), locate CIFAR-10 (downloading it if needed) and report.

    Returns the ``torch.device`` to use when ``use_torch`` (CUDA when present, else CPU).
    """
    random.seed(seed)
    np.random.seed(seed)
    lines = [f"{_package_line()}, seed {seed}"]
    if need_data:
        subset = data.chosen_subset()  # first: a mistyped setting is reported before any download
        folder = _find_data()
        lines.append(f"CIFAR-10 found in {_shown(folder)}")
        lines.append(data.describe(subset))
        mismatch = data.release_mismatch(folder)
        if mismatch:
            lines.append(
                f"{NOT_THE_RELEASE}: {mismatch}. Results will differ from a correct copy's; "
                "replace it (or unset CIFAR10_DIR to download the release)."
            )
    device = None
    if use_torch:
        device, line = _torch_device(seed)
        lines.append(line)
    on_colab = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
    if on_colab and yours.SETTING not in os.environ:  # yours/ would vanish with the machine
        lines.append(yours.COLAB_HINT)
    print("\n".join(lines))
    return device
