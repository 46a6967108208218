"""The first cell of every notebook: seed, find the data, pick the device, say what was found."""
import importlib.metadata
import os
import random
from pathlib import Path

import numpy as np

from cifar_lessons import data, kernels


def start(seed=0, need_data=True, use_torch=False):
    """Seed Python, NumPy (and PyTorch), locate CIFAR-10 (downloading it if needed) and report.

    Returns the ``torch.device`` to use when ``use_torch`` (CUDA when present, else CPU).
    """
    random.seed(seed)
    np.random.seed(seed)
    lines = [f"cifar_lessons {importlib.metadata.version('cifar-lessons')}, "
             f"im2col kernels: {kernels.BACKEND}, seed {seed}"]
    if need_data:
        lines.append(f"CIFAR-10 found in {_shown(data.find_cifar10())}")
    device = None
    if use_torch:
        import torch

        torch.manual_seed(seed)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (no CUDA GPU found)"
        lines.append(f"PyTorch {torch.__version__} on {name}")
    print("\n".join(lines))
    return device


def _shown(folder):
    """The data folder as a reader would write it: relative to $CIFAR10_DIR or ~ when inside them."""
    folder = folder.resolve()
    for prefix, base in (("$CIFAR10_DIR", os.environ.get("CIFAR10_DIR")), ("~", Path.home())):
        if base and folder.is_relative_to(base := Path(base).expanduser().resolve()):
            return str(Path(prefix) / folder.relative_to(base))
    return str(folder)
