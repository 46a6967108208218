"""The GPU configuration's every line, run on a CPU: the speedrun's recipe (airbench widths,
bfloat16 autocast, channels-last layout, torch.compile) builds, trains and evaluates with
test-time augmentation, so no branch waits for a GPU to be tried for the first time."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from test_fast_cnn_train import fake_tensors  # noqa: E402

from cifar_lessons.torch.evaluate import recipe_accuracy  # noqa: E402
from cifar_lessons.torch.fastnet import build_fastnet  # noqa: E402
from cifar_lessons.torch.recipe import GPU_RECIPE  # noqa: E402
from cifar_lessons.torch.train import train  # noqa: E402

pytestmark = pytest.mark.integration


def test_the_gpu_recipe_trains_two_steps_with_autocast_channels_last_and_compile_on_a_cpu():
    assert GPU_RECIPE.amp and GPU_RECIPE.compile and GPU_RECIPE.channels_last and GPU_RECIPE.tta == "flip_shift"
    tensors = fake_tensors(n=16)
    recipe = dataclasses.replace(GPU_RECIPE, epochs=1, batch_size=8)  # two steps
    model = build_fastnet(recipe, tensors["X_train"])
    before = [parameter.detach().clone() for parameter in model.parameters() if parameter.requires_grad]
    computed = []
    model.classifier.register_forward_hook(lambda module, inputs, output: computed.append(output.dtype))

    result = train(model, tensors, recipe, progress=False)

    assert torch.bfloat16 in computed, "autocast did not run the forward pass in bfloat16"
    assert model.whiten.weight.is_contiguous(memory_format=torch.channels_last)
    after = [parameter for parameter in model.parameters() if parameter.requires_grad]
    assert all(not torch.equal(old, new) for old, new in zip(before, after)), "every trained tensor moved"
    assert len(result.history) == 1 and torch.isfinite(torch.tensor(result.history[0]["train_loss"]))
    accuracy = recipe_accuracy(result.model, tensors["X_test"], tensors["y_test"], recipe)
    assert accuracy in {count / 16 for count in range(17)}
