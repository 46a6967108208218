"""Trains a classification model with minibatch gradient descent, as CS231n's Solver does (lesson
fully_connected, and every NumPy chapter after it).

The model needs ``params`` (name -> array) and ``loss(X, y=None)`` returning scores
(N, C) without labels and ``(loss, grads)`` with them. ``data`` holds ``X_train, y_train,
X_val, y_val``. After ``train()`` the model holds the parameters (and the batch norm running
statistics in ``bn_params``, if it has any) that scored best on the validation split, and the
solver keeps ``loss_history``, ``train_acc_history`` and ``val_acc_history``::

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, seed=0)
    solver.train()
"""

import copy
import json
import warnings
import zipfile
import zlib

import numpy as np

from cifar_lessons.atomic_file import open_atomically
from cifar_lessons.from_scratch import optim
from cifar_lessons.from_scratch.checkpoint_files import CheckpointError, checked_zip
from cifar_lessons.from_scratch.metrics import accuracy, predict

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")
# No notebook saves checkpoints; checkpoint_name stays because CS231n's Solver takes it, and code
# written for that Solver passes it. A checkpoint is an .npz archive (CS231n's is a pickle, which
# could run code when loaded): each parameter under this prefix, the rest as JSON text under INFO_KEY.
PARAMS_PREFIX = "params/"
INFO_KEY = "info"
WHAT_IT_IS = (
    "the .npz file a Solver with checkpoint_name writes (a .pkl checkpoint is a pickle, which is not loaded: "
    "a pickle can run code)"
)
# The entries of a checkpoint's info, with the JSON types each may have.
INFO_TYPES = {
    "update_rule": (str,),
    "optim_config": (dict,),
    "lr_decay": (int, float),
    "batch_size": (int,),
    "num_train_samples": (int, type(None)),
    "num_val_samples": (int, type(None)),
    "epoch": (int,),
    "loss_history": (list,),
    "train_acc_history": (list,),
    "val_acc_history": (list,),
}
# What reading an archive that is not a well-formed checkpoint can raise: zipfile's and zlib's
# errors, and NumPy's for a header that is not an array's (it parses the header as a literal).
_READING_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    RecursionError,
    MemoryError,
)


class Solver:
    """Inputs (all but model and data are keywords):
        model, data: as above
        update_rule: a name in :mod:`cifar_lessons.from_scratch.optim` ("sgd", "sgd_momentum", "rmsprop",
            "adam") or a function ``rule(w, dw, config) -> (next_w, config)``
        optim_config: hyperparameters of the rule, e.g. {"learning_rate": 1e-3}
        lr_decay: the learning rate is multiplied by this after every epoch
        batch_size, num_epochs: minibatch size and number of passes over X_train
        num_train_samples: training rows scored for train_acc_history (None: all)
        num_val_samples: validation rows scored for val_acc_history (None: all)
        checkpoint_name: if set, save ``{checkpoint_name}_epoch_{epoch}.npz`` after every epoch
            (read it back with :func:`load_solver_checkpoint`); a save that fails, on a full disk
            say, warns and training goes on
        print_every: with verbose, print the loss every this many iterations
        verbose: print the loss and the accuracies while training
        progress: show a tqdm progress bar
        seed: fixes the minibatches and the scored subsamples (None: fresh randomness)
    Any other keyword is an error.
    """

    def __init__(
        self,
        model,
        data,
        *,
        update_rule="sgd",
        optim_config=None,
        lr_decay=1.0,
        batch_size=100,
        num_epochs=10,
        num_train_samples=1000,
        num_val_samples=None,
        checkpoint_name=None,
        print_every=10,
        verbose=True,
        progress=True,
        seed=None,
        **unknown,
    ):
        if unknown:
            raise ValueError(f"Solver: unrecognized arguments {', '.join(sorted(unknown))}")
        missing = [key for key in DATA_KEYS if key not in data]
        if missing:
            raise ValueError(f"Solver: data lacks {', '.join(missing)}; it needs {', '.join(DATA_KEYS)}")
        for split in ("train", "val"):  # checked now: a mismatch would otherwise fail mid-training
            rows, labels = len(data[f"X_{split}"]), len(data[f"y_{split}"])
            if rows == 0 or rows != labels:
                raise ValueError(
                    f"Solver: data['X_{split}'] has {rows} rows and data['y_{split}'] {labels} labels; "
                    "they need one label per row, and at least one row"
                )
        if isinstance(update_rule, str):
            if update_rule not in optim.RULES:
                raise ValueError(
                    f"Solver: unknown update_rule {update_rule!r}; choose one of "
                    f"{', '.join(optim.RULES)} or pass a function"
                )
            self.update_rule = getattr(optim, update_rule)
        elif callable(update_rule):
            self.update_rule = update_rule
        else:
            raise ValueError(f"Solver: update_rule must be a name or a function, got {update_rule!r}")
        for name, value in (("batch_size", batch_size), ("num_epochs", num_epochs), ("print_every", print_every)):
            if not (isinstance(value, (int, np.integer)) and value > 0):
                raise ValueError(f"Solver: {name} must be a positive integer, got {value!r}")
        if not 0 < lr_decay <= 1:
            raise ValueError(f"Solver: lr_decay must lie in (0, 1], got {lr_decay}")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.optim_config = dict(optim_config or {})
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = verbose
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.best_bn_params = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # every parameter keeps its own optimizer state
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """One minibatch: loss and gradients, then one update of every parameter."""
        batch = self.rng.choice(len(self.X_train), self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(loss)
        for name, w in self.model.params.items():
            self.model.params[name], self.optim_configs[name] = self.update_rule(
                w, grads[name], self.optim_configs[name]
            )

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of (a random subsample of ``num_samples`` of) X (N, ...) classified as y (N,)."""
        if num_samples is not None and len(X) > num_samples:
            keep = self.rng.choice(len(X), num_samples, replace=False)
            X, y = X[keep], y[keep]
        return accuracy(predict(self.model, X, batch_size), y)

    def _save_checkpoint(self):
        info = {
            "update_rule": getattr(self.update_rule, "__name__", repr(self.update_rule)),
            "optim_config": self.optim_config,
            "lr_decay": self.lr_decay,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.npz"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        try:
            _write_checkpoint(filename, self.model.params, info)
        except OSError as error:  # a full disk ends no training: the checkpoints already saved stay whole
            warnings.warn(
                f"Solver: could not save the checkpoint {filename} ({error.strerror or error}); training goes "
                "on. Free some space there, or pass another checkpoint_name.",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        return filename

    def train(self):
        """Run the optimization; afterwards the model holds the best parameters found."""
        from cifar_lessons.from_scratch.progress import progress_bar  # imported here: importing the package stays cheap

        iterations_per_epoch = max(len(self.X_train) // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        with progress_bar(total=num_iterations, desc="training", disable=not self.progress) as bar:
            for t in range(num_iterations):
                self._step()
                bar.update()
                if self.verbose and t % self.print_every == 0:
                    bar.write(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
                epoch_end = (t + 1) % iterations_per_epoch == 0
                if epoch_end:
                    self.epoch += 1
                    if self.lr_decay != 1:
                        for config in self.optim_configs.values():
                            config["learning_rate"] *= self.lr_decay
                if t == 0 or t == num_iterations - 1 or epoch_end:
                    self._score(bar, num_iterations)
        self.model.params = self.best_params
        if self.best_bn_params is not None:  # the running statistics those parameters were scored with
            self.model.bn_params = self.best_bn_params

    def _score(self, bar, num_iterations):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.checkpoint_name:
            self._save_checkpoint()
        bar.set_postfix(train_acc=f"{train_acc:.3f}", val_acc=f"{val_acc:.3f}")
        if self.verbose:
            bar.write(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:  # a model that never scores still gets params
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}
            self.best_bn_params = copy.deepcopy(getattr(self.model, "bn_params", None))


def _plain(value):
    # json's fallback: NumPy numbers (a loss, a learning rate) become Python numbers
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"a Solver checkpoint holds numbers, strings, lists and dicts, not a {type(value).__name__}")


def _write_checkpoint(filename, params, info):
    for name, w in params.items():
        if not isinstance(w, np.ndarray) or w.dtype.hasobject:
            raise TypeError(
                f"Solver: params[{name!r}] must be a NumPy array of numbers to be saved, "
                f"got {getattr(w, 'dtype', type(w).__name__)}"
            )
    arrays = {PARAMS_PREFIX + name: w for name, w in params.items()}
    arrays[INFO_KEY] = np.array(json.dumps(info, default=_plain))
    with open_atomically(filename) as f:
        np.savez(f, **arrays)


def _not_a_checkpoint(filename, problem):
    return CheckpointError(f"{filename} is not a Solver checkpoint ({problem}): it should be {WHAT_IT_IS}")


def _read_array(archive, member):
    """The array ``member`` of ``archive`` holds, after checking that its header describes plain numbers
    or text exactly as many as the member's size holds (a header may claim any shape)."""
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read_header:
            raise ValueError(f"{member.filename} is an array of format {version}, which a Solver never writes")
        shape, _, dtype = read_header[version](f)
        if dtype.hasobject or dtype.kind not in "biufU" or min(shape, default=0) < 0:
            raise ValueError(f"{member.filename} holds {dtype} {shape}, not numbers or text")
        if int(np.prod(shape, dtype=object)) * dtype.itemsize != member.file_size - f.tell():
            raise ValueError(f"{member.filename}'s header claims {shape} of {dtype}, more or less than it holds")
    with archive.open(member) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _info(text, filename):
    """The training configuration and histories a checkpoint's info text holds, checked."""
    if text is None or text.dtype.kind != "U" or text.ndim:
        raise _not_a_checkpoint(filename, f"its {INFO_KEY!r} entry is missing or not text")
    try:
        info = json.loads(str(text))
    except RecursionError as error:
        raise _not_a_checkpoint(filename, f"its {INFO_KEY!r} entry nests too deep for a Solver's") from error
    except ValueError as error:
        raise _not_a_checkpoint(filename, f"its {INFO_KEY!r} entry is not JSON: {error}") from error
    wrong = [key for key, types in INFO_TYPES.items() if not isinstance(info, dict) or type(info.get(key)) not in types]
    if wrong:
        raise _not_a_checkpoint(filename, f"its {INFO_KEY!r} entry lacks {', '.join(wrong)}, or holds them mistyped")
    return info


def load_solver_checkpoint(filename):
    """Read a file written by a Solver with ``checkpoint_name``: a dict with ``params`` (name ->
    array), ``epoch``, the training configuration and the histories up to that epoch.

    The file holds arrays and JSON text only, read without pickle: loading it cannot run code. It is
    read within a budget (:mod:`~cifar_lessons.from_scratch.checkpoint_files`); anything but a
    Solver's checkpoint raises CheckpointError.
    """
    with checked_zip(filename, WHAT_IT_IS) as archive:
        try:
            arrays = {
                member.filename.removesuffix(".npy"): _read_array(archive, member) for member in archive.infolist()
            }
        except _READING_ERRORS as error:
            raise _not_a_checkpoint(filename, f"{type(error).__name__}: {str(error)[:200]}") from error
    info = _info(arrays.get(INFO_KEY), filename)
    params = {key.removeprefix(PARAMS_PREFIX): array for key, array in arrays.items() if key.startswith(PARAMS_PREFIX)}
    if not params:
        raise _not_a_checkpoint(filename, "it holds no parameters")
    return {**info, "params": params}
