import dataclasses
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from test_fast_cnn_train import TINY, fake_tensors  # noqa: E402

from cifar_lessons.data import CIFAR10Error, find_cifar10  # noqa: E402
from cifar_lessons.torch.ddp import load_tensors  # noqa: E402
from cifar_lessons.torch.evaluate import model_accuracy  # noqa: E402
from cifar_lessons.torch.fastnet import build_fastnet  # noqa: E402
from cifar_lessons.torch.recipe import Recipe  # noqa: E402
from cifar_lessons.torch.train import train  # noqa: E402

pytestmark = pytest.mark.integration

ARGS = {"epochs": 8, "batch_size": 50, "train_rows": 1000, "widths": (8, 16, 32)}


@pytest.fixture(scope="module")
def lesson_data():
    try:
        find_cifar10(download=False)
    except CIFAR10Error as error:
        pytest.skip(f"needs the lesson subset: {error}")


def test_two_processes_stay_in_sync_and_match_one(lesson_data, tmp_path):
    out = tmp_path / "ddp.json"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "cifar_lessons.torch.ddp",
        "--epochs",
        str(ARGS["epochs"]),
        "--batch-size",
        str(ARGS["batch_size"]),
        "--train-rows",
        str(ARGS["train_rows"]),
        "--widths",
        *map(str, ARGS["widths"]),
        "--out",
        str(out),
    ]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ddp = json.loads(out.read_text())
    assert ddp["world_size"] == 2
    assert ddp["max_parameter_difference"] == 0.0  # the replicas took identical steps
    assert ddp["max_gradient_difference"] == 0.0  # because DDP averaged their gradients

    recipe = dataclasses.replace(Recipe(), epochs=ARGS["epochs"], batch_size=ARGS["batch_size"], widths=ARGS["widths"])
    tensors = load_tensors(torch.device("cpu"), ARGS["train_rows"])
    single = train(build_fastnet(recipe, tensors["X_train"]), tensors, recipe, progress=False)
    single_accuracy = model_accuracy(single.model, tensors["X_test"], tensors["y_test"], recipe.tta)
    # Batch norm sees half batches under DDP, so the runs differ as two seeds do, not in kind:
    # 500 test images and runs this short spread single runs over about +-0.05.
    assert abs(ddp["test_accuracy"] - single_accuracy) < 0.1, (ddp["test_accuracy"], single_accuracy)
    assert min(ddp["test_accuracy"], single_accuracy) > 0.25  # both learned (chance is 0.1)


def test_refuses_to_start_without_torchrun():
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    run = subprocess.run([sys.executable, "-m", "cifar_lessons.torch.ddp"], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "start this module with torchrun" in run.stderr


def test_refuses_a_whitening_bias_that_freezes_mid_run(tmp_path):
    tensors = fake_tensors(n=16)
    recipe = dataclasses.replace(TINY, epochs=2, batch_size=8, whiten_bias_epochs=1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        replica = torch.nn.parallel.DistributedDataParallel(build_fastnet(recipe, tensors["X_train"]))
        with pytest.raises(ValueError, match="whiten_bias_epochs=1 freezes one mid-run"):
            train(replica, tensors, recipe, progress=False)
    finally:
        torch.distributed.destroy_process_group()
