"""Save and load training state as state dicts (lesson pytorch): plain tensors, safe to load
(``weights_only``)."""

import dataclasses
import os
import pickle

import numpy as np
import torch

from cifar_lessons.atomic_file import open_atomically

PLAIN_TYPES = (type(None), bool, int, float, str)


def _plain(value, where):
    """``value`` as what ``torch.load(weights_only=True)`` reads back: tensors, Python numbers and
    strings, and lists, tuples and dicts of them."""
    if type(value) in PLAIN_TYPES or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.generic, np.ndarray)):  # NumPy numbers are not plain, even np.float64
        return _plain(value.tolist(), where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _plain(getattr(value, field.name), f"{where}.{field.name}")
            for field in dataclasses.fields(value)
        }
    if type(value) in (list, tuple):
        return type(value)(_plain(item, f"{where}[{index}]") for index, item in enumerate(value))
    if type(value) is dict:
        return {_plain(key, f"{where} key {key!r}"): _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    raise TypeError(
        f"save_checkpoint: {where} is a {type(value).__name__}, which a checkpoint cannot hold "
        "safely: pass numbers, strings, paths, dataclasses, tensors, or lists and dicts of them "
        "(convert anything else first, e.g. with str())"
    )


def save_checkpoint(path, model, optimizer=None, **info):
    """Write ``model``'s (and ``optimizer``'s) state dict and ``info`` to ``path``.

    ``info`` holds numbers, strings, tensors, and lists, tuples and dicts of them. NumPy numbers
    and arrays are stored as Python numbers and lists, paths as strings and dataclasses (such as
    a :class:`~cifar_lessons.torch.recipe.Recipe`) as dicts, so that :func:`load_checkpoint` can
    read everything back; anything else is refused here rather than when loading. The file is
    written beside its destination and renamed into place, so an interrupted save never leaves
    a truncated checkpoint behind.
    """
    state = {"model": model.state_dict(), "info": _plain(info, "info")}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    with open_atomically(path) as f:
        torch.save(state, f)


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    """Load a :func:`save_checkpoint` file into ``model`` (and ``optimizer``); return its ``info``.

    ``weights_only=True`` refuses anything but tensors and plain containers: unlike a full
    pickle, a checkpoint from elsewhere cannot run code when it is loaded.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(
            f"{path} holds objects other than tensors and plain values, and such objects could run code "
            "when loaded, so it is not read. Save your training state with "
            "cifar_lessons.torch.checkpoint.save_checkpoint, which stores only what loads safely."
        ) from error
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise KeyError(f"{path} holds no optimizer state: it was saved without an optimizer")
        optimizer.load_state_dict(state["optimizer"])
    return state["info"]
