"""Save and load training state as state dicts: plain tensors, safe to load (``weights_only``)."""
import os
from pathlib import Path

import torch


def save_checkpoint(path, model, optimizer=None, **info):
    """Write ``model``'s (and ``optimizer``'s) state dict and ``info`` (numbers, strings) to ``path``.

    The file is written beside its destination and renamed into place, so an interrupted
    save never leaves a truncated checkpoint behind.
    """
    path = Path(path)
    state = {"model": model.state_dict(), "info": info}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    partial = path.with_name(path.name + ".part")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    """Load a :func:`save_checkpoint` file into ``model`` (and ``optimizer``); return its ``info``.

    ``weights_only=True`` refuses anything but tensors and plain containers: unlike a full
    pickle, a checkpoint from elsewhere cannot run code when it is loaded.
    """
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise KeyError(f"{path} holds no optimizer state: it was saved without an optimizer")
        optimizer.load_state_dict(state["optimizer"])
    return state["info"]
