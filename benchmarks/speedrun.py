"""Train the fast recipe on CIFAR-10; print test accuracy, wall time and images per second.

Uses the full dataset (50,000 training, 10,000 test images) when it is on disk, else the
lesson subset. On a CUDA GPU it trains ``GPU_RECIPE``: the airbench-width network (64, 256,
256 channels) with bfloat16 autocast, channels-last layout and ``torch.compile``. On a CPU it
trains the book's small recipe (notebook 07), unless ``--recipe gpu`` asks for the GPU one
there too (autocast and compile included: slow, but every line of it runs). With
``torch.compile`` a first, untimed run of two steps compiles the kernels, then ``--runs``
timed runs follow.

    python benchmarks/speedrun.py                  # auto: full data if present
    python benchmarks/speedrun.py --subset lesson --epochs 2
    python benchmarks/speedrun.py --recipe gpu --epochs 1   # the GPU configuration, on any device
"""

import argparse
import dataclasses
import statistics

import torch

from cifar_lessons.data import CIFAR10Error, load_cifar10
from cifar_lessons.torch.device import device_name, setup_torch
from cifar_lessons.torch.evaluate import recipe_accuracy
from cifar_lessons.torch.fastnet import build_fastnet
from cifar_lessons.torch.recipe import GPU_RECIPE, Recipe
from cifar_lessons.torch.tensors import to_tensors
from cifar_lessons.torch.train import train


def load(subset):
    """``(data, subset)``: the full dataset when asked for or, for ``auto``, when it is on disk."""
    if subset in ("auto", "full"):
        try:
            return load_cifar10(subset="full", num_val=0, download=subset == "full"), "full"
        except CIFAR10Error:
            if subset == "full":
                raise
    return load_cifar10(subset="lesson"), "lesson"


def choose_recipe(name, device):
    """``--recipe``: "gpu" is ``GPU_RECIPE``, "book" the book's ``Recipe()``, "auto" the first on a CUDA GPU."""
    return GPU_RECIPE if name == "gpu" or (name == "auto" and device.type == "cuda") else Recipe()


def warm_up_tensors(tensors, recipe):
    """The first rows of ``tensors`` for a run of two steps with the batch shapes of a run on all
    of them (a full batch, then the last, shorter one, if any), and one evaluation batch."""
    batch_size, last = recipe.batch_size, len(tensors["y_train"]) % recipe.batch_size
    rows = {"train": batch_size + (last or batch_size), "val": 0, "test": recipe.eval_batch_size}
    small = dict(tensors)
    for split, count in rows.items():
        small[f"X_{split}"], small[f"y_{split}"] = tensors[f"X_{split}"][:count], tensors[f"y_{split}"][:count]
    return small


def run(recipe, tensors):
    model = build_fastnet(recipe, tensors["X_train"])
    result = train(model, tensors, recipe, progress=False)
    return recipe_accuracy(result.model, tensors["X_test"], tensors["y_test"], recipe), result.seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", choices=("auto", "full", "lesson"), default="auto")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--runs", type=int, default=1, help="timed runs (different seeds)")
    parser.add_argument(
        "--recipe", choices=("auto", "gpu", "book"), default="auto", help="auto: GPU_RECIPE on a GPU, else Recipe()"
    )
    args = parser.parse_args(argv)

    device = setup_torch(0)
    recipe = choose_recipe(args.recipe, device)
    if args.epochs:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    data, subset = load(args.subset)
    tensors = to_tensors(data, device)
    images = len(tensors["y_train"]) * recipe.epochs
    print(
        f"PyTorch {torch.__version__} on {device_name(device)}; {subset} data: {len(tensors['y_train']):,} "
        f"training, {len(tensors['y_test']):,} test images; {recipe}"
    )
    if recipe.compile:  # compiles the kernels, untimed
        run(dataclasses.replace(recipe, epochs=1), warm_up_tensors(tensors, recipe))
    accuracies, seconds = [], []
    for seed in range(args.runs):
        test_accuracy, train_seconds = run(dataclasses.replace(recipe, seed=seed), tensors)
        accuracies.append(test_accuracy)
        seconds.append(train_seconds)
        print(
            f"run {seed}: test accuracy {test_accuracy:.2%}, {train_seconds:.2f} s, "
            f"{images / train_seconds:,.0f} images/s"
        )
    if args.runs > 1:
        print(
            f"mean of {args.runs} runs: test accuracy {statistics.mean(accuracies):.2%} "
            f"(std {statistics.stdev(accuracies):.2%}), {statistics.mean(seconds):.2f} s"
        )


if __name__ == "__main__":
    main()
