"""The first cell of every notebook: seed, find the data, pick the device, say what was found."""
import importlib.metadata
import random

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
        lines.append(f"CIFAR-10 found in {data.find_cifar10()}")
    device = None
    if use_torch:
        import torch

        from cifar_lessons.torch.device import device_name, setup_torch

        device = setup_torch(seed)
        lines.append(f"PyTorch {torch.__version__} on {device_name(device)}")
    print("\n".join(lines))
    return device
