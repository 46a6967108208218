"""Which device to compute on, and how to make CPU runs repeat exactly."""

import torch


def default_device():
    """``cuda`` when a CUDA GPU is present, else ``cpu``: the same notebook runs on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device):
    """A readable name for ``device``, e.g. ``NVIDIA H100 80GB HBM3`` or ``CPU (no CUDA GPU found)``."""
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (no CUDA GPU found)"


def setup_torch(seed=0):
    """Seed PyTorch and return :func:`default_device`.

    On CPU a run must repeat bit for bit, so deterministic kernels are required. PyTorch uses as
    many threads as ``OMP_NUM_THREADS`` allows (every core when unset): another thread count sums
    in another order, so the book's stored outputs are computed and verified with it pinned to one
    (``make notebooks``, ``make test``), while a learner's run uses the machine's cores. On a GPU,
    speed wins: cuDNN may pick the fastest kernels, which are not all deterministic.
    """
    torch.manual_seed(seed)
    device = default_device()
    if device.type == "cpu":
        # Deterministic mode also fills every new tensor with NaN in case a kernel reads memory it
        # never wrote. The fills cost about 5 % of a training step, and they stay: a compiled
        # bfloat16 training (torch.compile, PyTorch 2.14, AVX2 kernels) read such memory and crashed
        # the process without them.
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
    return device
