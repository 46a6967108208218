"""benchmarks/speedrun.py: which recipe it trains, the warm-up run that compiles the kernels, and a
short run on the lesson subset."""

import math
import runpy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from test_fast_cnn_train import fake_tensors  # noqa: E402

from cifar_lessons import data  # noqa: E402
from cifar_lessons.torch.recipe import GPU_RECIPE, Recipe  # noqa: E402

SPEEDRUN = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "speedrun.py"))


@pytest.mark.parametrize(
    "name, device, expected",
    [("auto", "cuda", GPU_RECIPE), ("auto", "cpu", Recipe()), ("gpu", "cpu", GPU_RECIPE), ("book", "cuda", Recipe())],
)
def test_the_recipe_follows_the_flag_and_the_device(name, device, expected):
    assert SPEEDRUN["choose_recipe"](name, torch.device(device)) == expected


@pytest.mark.parametrize("n, batch_size", [(20, 8), (16, 8), (5, 8)])
def test_the_warm_up_steps_have_the_batch_shapes_of_the_full_run(n, batch_size):
    tensors = fake_tensors(n=n)
    recipe = Recipe(batch_size=batch_size, eval_batch_size=4)
    small = SPEEDRUN["warm_up_tensors"](tensors, recipe)

    def batch_sizes(count):
        return {len(batch) for batch in torch.arange(count).split(batch_size)}

    assert batch_sizes(len(small["y_train"])) == batch_sizes(n)
    assert math.ceil(len(small["y_train"]) / batch_size) <= 2
    assert torch.equal(small["X_train"], tensors["X_train"][: len(small["y_train"])])
    assert len(small["y_val"]) == 0 and len(small["y_test"]) == min(4, len(tensors["y_test"]))


def test_one_epoch_of_the_book_recipe_on_the_lesson_subset(capsys):
    try:
        data.find_cifar10(download=False)
    except data.CIFAR10Error:
        pytest.skip("no CIFAR-10 folder on this machine (set CIFAR10_DIR)")
    SPEEDRUN["main"](["--subset", "lesson", "--epochs", "1", "--recipe", "book"])
    printed = capsys.readouterr().out
    assert "lesson data: 4,500 training, 500 test images" in printed
    assert "run 0: test accuracy" in printed and "images/s" in printed
