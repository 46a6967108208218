"""Save and load training state as state dicts (lesson pytorch): plain tensors, safe to load
(``weights_only``), read within a budget (:mod:`~cifar_lessons.from_scratch.checkpoint_files`)."""

import dataclasses
import os
import pickle

import numpy as np
import torch

from cifar_lessons.atomic_file import open_atomically
from cifar_lessons.data.safe_pickle import DECODING_ERRORS
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError, checked_zip

PLAIN_TYPES = (type(None), bool, int, float, str)
WHAT_IT_IS = "a file cifar_lessons.torch.checkpoint.save_checkpoint wrote"
MAX_PICKLE_BYTES = 16 * 2**20  # the structure around the tensors: a few kilobytes in any checkpoint
# What torch.load raises on a zip archive that is not a well-formed checkpoint: its zip reader's
# RuntimeError, and what the pickle inside can raise while it is read.
_LOADING_ERRORS = (RuntimeError, *DECODING_ERRORS)


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
    try:
        with open_atomically(path) as f:
            torch.save(state, f)
    except OSError as error:
        raise CheckpointError(
            f"could not write {path} ({error.strerror or error}); a checkpoint saved there before is unchanged. "
            "Free some space there, or save to another folder."
        ) from error


def _state(path, map_location):
    """The dict a checkpoint file holds, read within the budget, or CheckpointError saying why not."""
    with checked_zip(path, WHAT_IT_IS) as archive:
        pickles = [member for member in archive.infolist() if member.filename.endswith("data.pkl")]
        if len(pickles) != 1 or pickles[0].file_size > MAX_PICKLE_BYTES:
            raise CheckpointError(f"{path} is not a checkpoint: it should be {WHAT_IT_IS}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "global" in str(error).lower():  # the weights-only reader met a class or function it does not allow
            raise CheckpointError(
                f"{path} holds objects other than tensors and plain values, and such objects could run code "
                "when loaded, so it is not read. Save your training state with "
                "cifar_lessons.torch.checkpoint.save_checkpoint, which stores only what loads safely."
            ) from error
        raise CheckpointError(f"{path} is damaged (its pickle does not read): it should be {WHAT_IT_IS}") from error
    except _LOADING_ERRORS as error:
        raise CheckpointError(
            f"{path} is damaged ({type(error).__name__}: {str(error)[:200]}): it should be {WHAT_IT_IS}"
        ) from error
    missing = [key for key in ("model", "info") if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(f"{path} holds no {' or '.join(missing)} entry: it should be {WHAT_IT_IS}")
    return state


def _restore(path, target, state_dict, what):
    try:
        target.load_state_dict(state_dict)
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise CheckpointError(
            f"{path} does not fit this {what} ({type(error).__name__}: {str(error)[:300]}): build the {what} "
            "the checkpoint was saved from, with the same sizes, then load it"
        ) from error


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    """Load a :func:`save_checkpoint` file into ``model`` (and ``optimizer``); return its ``info``.

    ``weights_only=True`` refuses anything but tensors and plain containers: unlike a full
    pickle, a checkpoint from elsewhere cannot run code when it is loaded. Anything but a
    checkpoint that fits ``model`` (and ``optimizer``) raises CheckpointError, saying why.
    """
    state = _state(path, map_location)
    _restore(path, model, state["model"], "model")
    if optimizer is not None:
        if "optimizer" not in state:
            raise CheckpointError(f"{path} holds no optimizer state: it was saved without an optimizer")
        _restore(path, optimizer, state["optimizer"], "optimizer")
    return state["info"]
