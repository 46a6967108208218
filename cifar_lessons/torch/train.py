"""The training loop of the fast recipe: on-device augmentation, Nesterov SGD with warm-up and
decay, label smoothing, weight averaging (or lookahead), validation every epoch and a progress bar."""

import copy
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from cifar_lessons.from_scratch.progress import progress_bar
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


def lr_factor(step, total_steps, warmup_steps, decay=True):
    """Learning-rate multiplier at ``step``: linear ramp 0 -> 1 over ``warmup_steps``, then
    linear decay to 0 at ``total_steps`` (or constant 1 when not ``decay``)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if not decay:
        return 1.0
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


@torch.no_grad()
def update_average(average, model, decay):
    """Move the weight average one step towards ``model``: every floating-point tensor of the
    state dict (weights, and batch norm's running means and variances) becomes
    ``decay * average + (1 - decay) * model``; integer tensors (batch norm's step counter
    ``num_batches_tracked``) are copied from ``model``. ``average`` and ``model`` are networks of
    the same architecture; only ``average`` changes. ``decay`` 0 copies ``model``.
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


@dataclass
class _Run:
    """Everything a training run sets up before its first step."""

    net: torch.nn.Module  # the model itself, unwrapped from DistributedDataParallel
    forward: object  # what computes the scores: the model, or its compiled version
    images: torch.Tensor
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    averaged: torch.nn.Module | None  # the weight average, when the recipe keeps one (lookahead: from its start)
    generator: torch.Generator
    first_flips: torch.Tensor | None  # with alternating flips: which images are mirrored in odd epochs
    whiten_bias: torch.nn.Parameter | None  # the whitening layer's bias, if the model has one
    steps_per_epoch: int
    total_steps: int


def _set_up(model, tensors, recipe, schedule):
    images = tensors["X_train"]
    net = model.module if isinstance(model, DistributedDataParallel) else model
    if recipe.channels_last:
        net.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    whiten_bias = getattr(getattr(net, "whiten", None), "bias", None)
    if recipe.whiten_bias_epochs and whiten_bias is None:
        raise ValueError(
            f"whiten_bias_epochs={recipe.whiten_bias_epochs} needs a model with a whitening layer that has a "
            "bias (FastNet); for other models leave it at 0 or None"
        )
    if recipe.whiten_bias_epochs and isinstance(model, DistributedDataParallel):
        raise ValueError(
            "DistributedDataParallel needs the same parameters to train in every step, and "
            f"whiten_bias_epochs={recipe.whiten_bias_epochs} freezes one mid-run: use 0 or None with it"
        )
    optimizer = torch.optim.SGD(
        _parameter_groups(net, recipe),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    steps_per_epoch = math.ceil(len(tensors["y_train"]) / recipe.batch_size)
    total_steps = recipe.epochs * steps_per_epoch
    warmup_steps = round(recipe.warmup * total_steps)
    generator = make_generator(recipe.seed, images.device)
    return _Run(
        net=net,
        forward=torch.compile(model) if recipe.compile else model,
        images=images,
        optimizer=optimizer,
        schedule=torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: schedule(step, total_steps, warmup_steps, recipe.decay)
        ),
        averaged=copy.deepcopy(net) if recipe.ema else None,
        generator=generator,
        first_flips=(
            torch.rand(len(images), generator=generator, device=images.device) < 0.5
            if recipe.alternating_flip
            else None
        ),
        whiten_bias=whiten_bias,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
    )


def _lookahead_step(run, recipe, steps_done, average):
    """The lookahead of step ``steps_done``: the first one starts the average from the network."""
    if run.averaged is None:
        run.averaged = copy.deepcopy(run.net)
        return
    progress = steps_done / run.total_steps
    decay = recipe.lookahead_decay**recipe.lookahead_every * progress**recipe.lookahead_power
    lookahead(run.averaged, run.net, decay, average)


def train(model, tensors, recipe, progress=True, shard=(0, 1), *, schedule=lr_factor, average=update_average):
    """Train ``model`` on ``tensors["X_train"], ["y_train"]`` following ``recipe``.

    Validates on ``X_val, y_val`` after every epoch. ``shard=(rank, world_size)``: this
    process trains on every ``world_size``-th image of each batch (for
    :mod:`~cifar_lessons.torch.ddp`; ``model`` is then wrapped in DistributedDataParallel,
    which averages the gradients). ``schedule`` (see :func:`lr_factor`) gives the learning
    rate's multiplier at each step and ``average`` (see :func:`update_average`) updates the
    weight average after each step (or, with lookahead, every ``lookahead_every`` steps): pass
    your own functions to train with them. Returns a :class:`TrainResult`.
    """
    rank, world_size = shard
    run = _set_up(model, tensors, recipe, schedule)
    labels, device = tensors["y_train"], run.images.device
    # with lookahead the network itself is evaluated: it ends every epoch at its average
    evaluated = run.net if run.averaged is None else run.averaged
    steps_done = 0
    result = TrainResult(model=evaluated, raw_model=run.net)
    start = time.perf_counter()
    with progress_bar(
        total=recipe.epochs * run.steps_per_epoch, desc="training", unit="step", disable=not progress
    ) as bar:
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            if recipe.whiten_bias_epochs is not None and run.whiten_bias is not None:
                # frozen: no gradient, so SGD leaves it (and its decay) alone
                run.whiten_bias.requires_grad_(epoch <= recipe.whiten_bias_epochs)
            mirror = None if run.first_flips is None else alternating_mirror(run.first_flips, epoch)
            epoch_images = augment(run.images, run.generator, recipe.flip, recipe.max_shift, mirror)
            order = torch.randperm(len(labels), generator=run.generator, device=device)
            loss_sum = torch.zeros((), device=device)
            for batch in order.split(recipe.batch_size):
                batch = batch[rank::world_size]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=recipe.amp):
                    scores = run.forward(epoch_images[batch])
                loss = F.cross_entropy(scores.float(), labels[batch], label_smoothing=recipe.label_smoothing)
                run.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                run.optimizer.step()
                run.schedule.step()
                if recipe.ema:
                    # decay 0 at the first step: the average starts from trained weights, not random ones
                    average(run.averaged, run.net, recipe.ema if steps_done else 0.0)
                steps_done += 1
                if recipe.lookahead_every and epoch > recipe.lookahead_start_epoch:
                    if steps_done % recipe.lookahead_every == 0:
                        _lookahead_step(run, recipe, steps_done, average)
                loss_sum += loss.detach()
                bar.update()
            if recipe.lookahead_every and run.averaged is not None:
                jump_to(run.net, run.averaged)
            record = {"epoch": epoch, "train_loss": loss_sum.item() / run.steps_per_epoch}
            if len(tensors["y_val"]):  # the speedrun trains on every labelled image
                record["val_accuracy"] = recipe_accuracy(evaluated, tensors["X_val"], tensors["y_val"], recipe, "none")
            result.history.append(record)
            bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
    if device.type == "cuda":  # kernels run asynchronously: wait for them before reading the clock
        torch.cuda.synchronize(device)
    result.seconds = time.perf_counter() - start
    return result
