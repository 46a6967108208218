"""The fast recipe on several processes with DistributedDataParallel, launched by ``torchrun``::

    torchrun --standalone --nproc_per_node=2 -m cifar_lessons.torch.ddp --epochs 2

Every process holds a replica of the model and trains on its share of each batch (the same
shuffling and augmentation everywhere, from the same seed). During ``backward`` DDP averages
the gradients across processes, so every replica takes the same step and they stay identical:
one large batch, computed by several workers. Batch norm still normalizes each share by its
own statistics, so the result is close to, not bitwise equal to, a one-process run.
Backend: NCCL with one GPU per process when CUDA is present, else gloo on CPU.
"""

import argparse
import dataclasses
import json
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from cifar_lessons.data import load_cifar10
from cifar_lessons.torch.evaluate import recipe_accuracy
from cifar_lessons.torch.fastnet import build_fastnet
from cifar_lessons.torch.recipe import Recipe
from cifar_lessons.torch.tensors import to_tensors
from cifar_lessons.torch.train import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=Recipe.epochs)
    parser.add_argument(
        "--batch-size", type=int, default=Recipe.batch_size, help="global batch, split across processes"
    )
    parser.add_argument("--train-rows", type=int, default=None, help="train on the first rows only")
    parser.add_argument("--widths", type=int, nargs=3, default=Recipe.widths)
    parser.add_argument("--out", help="write the results (rank 0) to this JSON file")
    return parser.parse_args(argv)


def load_tensors(device, train_rows=None):
    """The lesson subset on ``device``, optionally cut to its first ``train_rows`` training images."""
    data = load_cifar10()
    if train_rows is not None:
        data["X_train"], data["y_train"] = data["X_train"][:train_rows], data["y_train"][:train_rows]
    return to_tensors(data, device)


def flat(tensors):
    """One vector holding all ``tensors`` (parameters or gradients), for comparing replicas."""
    return torch.cat([t.detach().reshape(-1).float().cpu() for t in tensors])


def max_difference_across_ranks(vector):
    """Largest absolute difference between this rank's ``vector`` and any other rank's."""
    gathered = [torch.empty_like(vector) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, vector)
    return max((other - vector).abs().max().item() for other in gathered)


def main(argv=None):
    args = parse_args(argv)
    if "RANK" not in os.environ:
        raise SystemExit(
            "start this module with torchrun, which sets RANK and WORLD_SIZE for each process: "
            "torchrun --standalone --nproc_per_node=2 -m cifar_lessons.torch.ddp"
        )
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)  # the processes already share the cores
    recipe = dataclasses.replace(Recipe(), epochs=args.epochs, batch_size=args.batch_size, widths=tuple(args.widths))
    tensors = load_tensors(device, args.train_rows)
    model = build_fastnet(recipe, tensors["X_train"])
    if recipe.channels_last:  # before wrapping: DDP's gradient buckets take the parameters' layout
        model.to(memory_format=torch.channels_last)
    replica = DistributedDataParallel(model, device_ids=[device] if cuda else None)
    result = train(replica, tensors, recipe, progress=rank == 0, shard=(rank, world_size))
    summary = {
        "world_size": world_size,
        "test_accuracy": recipe_accuracy(result.model, tensors["X_test"], tensors["y_test"], recipe),
        "max_parameter_difference": max_difference_across_ranks(flat(model.parameters()).to(device)),
        "max_gradient_difference": max_difference_across_ranks(
            flat(p.grad for p in model.parameters() if p.grad is not None).to(device)
        ),
        "seconds": result.seconds,
    }
    if rank == 0:
        print(json.dumps(summary))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(summary, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
