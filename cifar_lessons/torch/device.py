"""Which device to compute on, and how to make CPU runs repeat exactly."""

import torch

CPU_THREADS = 1  # one thread: the same float summation order on every machine, whatever its cores


def default_device():
    """``cuda`` when a CUDA GPU is present, else ``cpu``: the same notebook runs on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device):
    """A readable name for ``device``, e.g. ``NVIDIA H100 80GB HBM3`` or ``CPU (no CUDA GPU found)``."""
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (no CUDA GPU found)"


def setup_torch(seed=0):
    """Seed PyTorch and return :func:`default_device`.

    On CPU the results must repeat bit for bit (the notebooks' stored outputs are compared on
    every run), so deterministic kernels are required and the thread count is fixed. On a GPU,
    speed wins: cuDNN may pick the fastest kernels, which are not all deterministic.
    """
    torch.manual_seed(seed)
    device = default_device()
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
        # Deterministic mode also fills every new tensor with NaN in case a kernel reads memory it
        # never wrote; none of ours does, and the fills cost about 5 % of a training step.
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.set_num_threads(CPU_THREADS)
    else:
        torch.backends.cudnn.benchmark = True
    return device
