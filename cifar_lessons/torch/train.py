"""The training loop of the fast recipe, one straight loop: a :class:`Loader` serves each epoch's
augmented batches, Nesterov SGD with warm-up and decay and label smoothing trains on them, a weight
average (:func:`averaging`) follows the network, and every epoch ends with a validation."""

import copy
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from cifar_lessons.from_scratch.progress import progress_bar
from cifar_lessons.teaching import taught_in
from cifar_lessons.torch.augment import alternating_mirror, augment, make_generator
from cifar_lessons.torch.evaluate import recipe_accuracy


@dataclass
class TrainResult:
    """``model``: the network to evaluate (the weight average when the recipe keeps one);
    ``raw_model``: the network as the optimizer left it; ``history``: one dict per epoch
    (``epoch``, ``train_loss``, ``val_accuracy``); ``seconds``: training wall time."""

    model: torch.nn.Module
    raw_model: torch.nn.Module
    history: list = field(default_factory=list)
    seconds: float = 0.0


@taught_in("fast_cnn")
def lr_factor(step, total_steps, warmup_steps, decay=True):
    """Learning-rate multiplier (a float) at step 0 ... total_steps - 1 of a training.

    Warm-up: rises linearly from 1 / warmup_steps at step 0 to 1 at step warmup_steps - 1
    (no warm-up when warmup_steps is 0). Then, with decay, falls linearly from 1 at step
    warmup_steps to 0 at step total_steps; without decay, stays 1.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if not decay:
        return 1.0
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


@taught_in("fast_cnn")
@torch.no_grad()
def update_average(average, model, decay):
    """Move the weight average one step towards model (two networks of the same architecture).

    Every floating-point tensor of average's state dict (weights, batch norm's running means
    and variances) becomes decay * average + (1 - decay) * model; integer tensors (batch norm's
    step counter num_batches_tracked) are copied from model. Only average changes.
    """
    for mean, current in zip(average.state_dict().values(), model.state_dict().values()):
        if mean.is_floating_point():
            mean.lerp_(current, 1 - decay)
        else:
            mean.copy_(current)


@torch.no_grad()
def lookahead(average, model, decay, average_step=update_average):
    """One lookahead step: ``average_step(average, model, decay)`` moves the average towards
    ``model``, then ``model`` jumps to the average (weights and batch-norm statistics alike)."""
    average_step(average, model, decay)
    jump_to(model, average)


@torch.no_grad()
def jump_to(model, average):
    """Copy every tensor of ``average``'s state into ``model``'s."""
    for current, mean in zip(model.state_dict().values(), average.state_dict().values()):
        current.copy_(mean)


def _parameter_groups(net, recipe):
    """The optimizer's groups: batch norm's biases at ``bias_lr_scale`` times the learning rate,
    with their weight decay divided by it (so the decay per step stays), and everything else."""
    trained = [p for p in net.parameters() if p.requires_grad]
    if recipe.bias_lr_scale == 1:
        return [{"params": trained}]
    biases = {
        id(m.bias) for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.bias is not None
    }
    return [
        {"params": [p for p in trained if id(p) not in biases]},
        {
            "params": [p for p in trained if id(p) in biases],
            "lr": recipe.lr * recipe.bias_lr_scale,
            "weight_decay": recipe.weight_decay / recipe.bias_lr_scale,
        },
    ]


class Loader:
    """The training images on the device, served epoch by epoch: each epoch augmented (flips and
    shifts) and shuffled, all from one seeded generator, which also holds the state of the
    alternating flips. ``shard=(rank, world_size)`` keeps every ``world_size``-th image of each
    batch (DistributedDataParallel: each process trains on its share)."""

    def __init__(self, images, labels, recipe, shard=(0, 1)):
        self.images = images.contiguous(memory_format=torch.channels_last) if recipe.channels_last else images
        self.labels, self.recipe, (self.rank, self.world_size) = labels, recipe, shard
        self.generator = make_generator(recipe.seed, images.device)
        self.first_flips = (  # with alternating flips: which images are mirrored in odd epochs
            torch.rand(len(images), generator=self.generator, device=images.device) < 0.5
            if recipe.alternating_flip
            else None
        )

    def __len__(self):
        """Steps per epoch."""
        return math.ceil(len(self.labels) / self.recipe.batch_size)

    def epoch(self, number):
        """The batches ``(images, labels)`` of epoch ``number`` (from 1)."""
        mirror = None if self.first_flips is None else alternating_mirror(self.first_flips, number)
        images = augment(self.images, self.generator, self.recipe.flip, self.recipe.max_shift, mirror)
        order = torch.randperm(len(self.labels), generator=self.generator, device=self.images.device)
        for batch in order.split(self.recipe.batch_size):
            batch = batch[self.rank :: self.world_size]
            yield images[batch], self.labels[batch]


class NoAverage:
    """No weight average: the network itself is evaluated."""

    def __init__(self, net):
        self.model = net  # what is evaluated

    def after_step(self, net, step, epoch):
        """After training step ``step`` (from 1) of ``epoch``."""

    def after_epoch(self, net):
        """After the last step of an epoch."""


class ExponentialAverage(NoAverage):
    """An average of the weights, moved towards the network after every step with ``average``
    (see :func:`update_average`) and evaluated instead of it."""

    def __init__(self, net, decay, average):
        self.model, self.decay, self.average = copy.deepcopy(net), decay, average

    def after_step(self, net, step, epoch):
        # decay 0 at the first step: the average starts from trained weights, not random ones
        self.average(self.model, net, self.decay if step > 1 else 0.0)


class Lookahead(NoAverage):
    """Every ``recipe.lookahead_every`` steps after ``recipe.lookahead_start_epoch`` epochs, a weight
    average moves towards the network and the network jumps to it (:func:`lookahead`), by a decay
    that grows over the training; the network, which ends every epoch at the average, is evaluated."""

    def __init__(self, net, recipe, total_steps, average):
        super().__init__(net)
        self.recipe, self.total_steps, self.average = recipe, total_steps, average
        self.averaged = None  # started by the first lookahead step

    def after_step(self, net, step, epoch):
        every = self.recipe.lookahead_every
        if epoch <= self.recipe.lookahead_start_epoch or step % every:
            return
        if self.averaged is None:
            self.averaged = copy.deepcopy(net)
            return
        decay = self.recipe.lookahead_decay**every * (step / self.total_steps) ** self.recipe.lookahead_power
        lookahead(self.averaged, net, decay, self.average)

    def after_epoch(self, net):
        if self.averaged is not None:
            jump_to(net, self.averaged)


def averaging(net, recipe, total_steps, average=update_average):
    """The weight average ``recipe`` keeps: an exponential one, lookahead, or none."""
    if recipe.ema:
        return ExponentialAverage(net, recipe.ema, average)
    if recipe.lookahead_every:
        return Lookahead(net, recipe, total_steps, average)
    return NoAverage(net)


def _whitening_bias(model, net, recipe):
    """The whitening layer's bias when the recipe freezes or trains it for some epochs, else None."""
    bias = getattr(getattr(net, "whiten", None), "bias", None)
    if recipe.whiten_bias_epochs and bias is None:
        raise ValueError(
            f"whiten_bias_epochs={recipe.whiten_bias_epochs} needs a model with a whitening layer that has a "
            "bias (FastNet); for other models leave it at 0 or None"
        )
    if recipe.whiten_bias_epochs and isinstance(model, DistributedDataParallel):
        raise ValueError(
            "DistributedDataParallel needs the same parameters to train in every step, and "
            f"whiten_bias_epochs={recipe.whiten_bias_epochs} freezes one mid-run: use 0 or None with it"
        )
    return None if recipe.whiten_bias_epochs is None else bias


def train(model, tensors, recipe, progress=True, shard=(0, 1), *, schedule=lr_factor, average=update_average):
    """Train ``model`` on ``tensors["X_train"], ["y_train"]`` following ``recipe``.

    Validates on ``X_val, y_val`` after every epoch; with ``progress``, a progress bar shows the
    steps, the training loss and the validation accuracy while it trains. ``shard=(rank, world_size)``: this
    process trains on every ``world_size``-th image of each batch (for
    :mod:`~cifar_lessons.torch.ddp`; ``model`` is then wrapped in DistributedDataParallel,
    which averages the gradients). ``schedule`` (see :func:`lr_factor`) gives the learning
    rate's multiplier at each step and ``average`` (see :func:`update_average`) updates the
    weight average after each step (or, with lookahead, every ``lookahead_every`` steps): pass
    your own functions to train with them. Returns a :class:`TrainResult`.
    """
    net = model.module if isinstance(model, DistributedDataParallel) else model
    if recipe.channels_last:
        net.to(memory_format=torch.channels_last)
    whiten_bias = _whitening_bias(model, net, recipe)
    loader = Loader(tensors["X_train"], tensors["y_train"], recipe, shard)
    total_steps, warmup_steps = recipe.epochs * len(loader), round(recipe.warmup * recipe.epochs * len(loader))
    optimizer = torch.optim.SGD(
        _parameter_groups(net, recipe),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule(step, total_steps, warmup_steps, recipe.decay)
    )
    weights = averaging(net, recipe, total_steps, average)
    forward = torch.compile(model) if recipe.compile else model
    result = TrainResult(model=weights.model, raw_model=net)
    device, step = loader.images.device, 0
    start = time.perf_counter()
    # the bar shows while the model trains and leaves nothing behind: a stored notebook keeps no timing
    with progress_bar(total=total_steps, desc="training", unit="step", disable=not progress, leave=False) as bar:
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            if whiten_bias is not None:  # frozen: no gradient, so SGD leaves it (and its decay) alone
                whiten_bias.requires_grad_(epoch <= recipe.whiten_bias_epochs)
            loss_sum = torch.zeros((), device=device)
            for images, labels in loader.epoch(epoch):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=recipe.amp):
                    scores = forward(images)
                loss = F.cross_entropy(scores.float(), labels, label_smoothing=recipe.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                weights.after_step(net, step, epoch)
                loss_sum += loss.detach()
                bar.update()
            weights.after_epoch(net)
            record = {"epoch": epoch, "train_loss": loss_sum.item() / len(loader)}
            if len(tensors["y_val"]):  # the speedrun trains on every labelled image
                record["val_accuracy"] = recipe_accuracy(
                    weights.model, tensors["X_val"], tensors["y_val"], recipe, "none"
                )
            result.history.append(record)
            bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
    if device.type == "cuda":  # kernels run asynchronously: wait for them before reading the clock
        torch.cuda.synchronize(device)
    result.seconds = time.perf_counter() - start
    return result
