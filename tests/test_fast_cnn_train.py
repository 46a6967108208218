import dataclasses

import pytest

torch = pytest.importorskip("torch")

from cifar_lessons.torch.augment import make_generator  # noqa: E402
from cifar_lessons.torch.evaluate import class_scores, model_accuracy, recipe_accuracy, tta_scores  # noqa: E402
from cifar_lessons.torch.fastnet import build_fastnet  # noqa: E402
from cifar_lessons.torch.recipe import Recipe  # noqa: E402
from cifar_lessons.torch.tensors import to_tensors  # noqa: E402
from cifar_lessons.torch.train import lr_factor, train, update_average  # noqa: E402
from cifar_lessons.torch.whitening import whitening_filters  # noqa: E402

TINY = Recipe(
    widths=(8, 16, 32),
    epochs=30,
    batch_size=16,
    lr=0.05,
    flip=False,
    max_shift=0,
    label_smoothing=0.0,
    weight_decay=0.0,
    ema=0.0,
    tta="none",
)


def fake_tensors(n=16, seed=0):
    g = make_generator(seed)

    def split():
        return torch.rand(n, 3, 32, 32, generator=g).numpy() * 255, torch.randint(0, 10, (n,), generator=g).numpy()

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = split(), split(), split()
    return to_tensors(dict(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test))


def test_overfits_a_tiny_batch():
    tensors = fake_tensors()
    result = train(build_fastnet(TINY, tensors["X_train"]), tensors, TINY, progress=False)
    assert model_accuracy(result.model, tensors["X_train"], tensors["y_train"]) == 1.0
    assert result.history[-1]["train_loss"] < 0.1 < result.history[0]["train_loss"]
    assert [h["epoch"] for h in result.history] == list(range(1, TINY.epochs + 1))


def test_training_repeats_exactly_with_the_same_seed():
    tensors = fake_tensors()
    recipe = dataclasses.replace(TINY, epochs=2, flip=True, max_shift=2, ema=0.5)
    runs = [train(build_fastnet(recipe, tensors["X_train"]), tensors, recipe, progress=False) for _ in range(2)]
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert torch.equal(a, b)
    assert runs[0].model is not runs[0].raw_model  # ema > 0: the average is a separate network


def test_predict_shapes_for_every_tta_mode():
    tensors = fake_tensors(n=5)
    model = build_fastnet(TINY, tensors["X_train"])
    for tta in ("none", "flip", "flip_shift"):
        assert class_scores(model, tensors["X_test"], tta, batch_size=2).shape == (5, 10)
    with pytest.raises(ValueError, match="tta must be one of"):
        class_scores(model, tensors["X_test"], "mirror")


def test_lr_factor_warms_up_then_decays_to_zero():
    factors = [lr_factor(step, 10, 4) for step in range(10)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4:] == sorted(factors[4:], reverse=True) and factors[-1] == pytest.approx(1 / 6)
    assert lr_factor(10, 10, 4) == 0.0
    assert lr_factor(7, 10, 4, decay=False) == 1.0


def trained_with(recipe, tensors, **functions):
    whitening = {k: v for k, v in functions.items() if k == "whitening"}
    training = {k: v for k, v in functions.items() if k != "whitening"}
    model = build_fastnet(recipe, tensors["X_train"], **whitening)
    return train(model, tensors, recipe, progress=False, **training)


def test_the_packages_functions_passed_explicitly_train_exactly_as_the_defaults():
    tensors = fake_tensors()
    recipe = dataclasses.replace(TINY, epochs=2, flip=True, max_shift=2, ema=0.5, tta="flip_shift")
    default = trained_with(recipe, tensors)
    explicit = trained_with(recipe, tensors, whitening=whitening_filters, schedule=lr_factor, average=update_average)
    assert default.history == explicit.history
    for a, b in zip(default.model.state_dict().values(), explicit.model.state_dict().values()):
        assert torch.equal(a, b)
    scores = class_scores(default.model, tensors["X_test"], "flip_shift")
    assert torch.equal(scores, class_scores(default.model, tensors["X_test"], "flip_shift", tta_scores=tta_scores))
    assert recipe_accuracy(default.model, tensors["X_test"], tensors["y_test"], recipe) == recipe_accuracy(
        default.model, tensors["X_test"], tensors["y_test"], recipe, tta_scores=tta_scores
    )


def test_training_and_prediction_use_the_functions_passed_to_them():
    tensors = fake_tensors()
    recipe = dataclasses.replace(TINY, epochs=1, ema=0.5)
    calls = []

    def frozen_schedule(step, total_steps, warmup_steps, decay=True):
        calls.append((step, total_steps, warmup_steps, decay))
        return 0.0

    def recording_average(average, model, decay):
        calls.append(decay)

    def zero_whitening(images, kernel_size, eps):
        return torch.zeros(24, 3, kernel_size, kernel_size)

    model = build_fastnet(recipe, tensors["X_train"], whitening=zero_whitening)
    assert not model.whiten.weight.any()
    before = [p.clone() for p in model.parameters()]
    result = train(model, tensors, recipe, progress=False, schedule=frozen_schedule, average=recording_average)
    assert calls == [(0, 1, 0, True), (1, 1, 0, True), 0.0]  # one step: the first average copies (decay 0)
    assert all(torch.equal(a, b) for a, b in zip(before, result.raw_model.parameters()))  # learning rate 0

    def constant_scores(model, images, tta, shift_pixels):
        return torch.ones(len(images), 10)

    assert torch.equal(class_scores(model, tensors["X_test"], tta_scores=constant_scores), torch.ones(16, 10))


def test_the_average_starts_from_the_first_steps_weights_and_copies_batch_norms_counter():
    tensors = fake_tensors()
    recipe = dataclasses.replace(TINY, epochs=1, ema=0.9)  # one step of 16 images
    result = trained_with(recipe, tensors)
    for (key, a), b in zip(result.model.state_dict().items(), result.raw_model.state_dict().values()):
        assert torch.equal(a, b), key


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tta": "x"}, "tta must be"),
        ({"ema": 1.0}, "ema is a decay"),
        ({"warmup": 1.5}, "warmup is a fraction"),
        ({"epochs": 0}, "positive"),
        ({"whiten": False}, "whiten_bias_epochs=None"),
    ],
)
def test_recipe_rejects_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(Recipe(), **change)


def test_to_tensors_standardizes_with_training_statistics():
    tensors = fake_tensors(n=50)
    assert tensors["X_train"].mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert torch.allclose(tensors["X_train"].std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)
    assert tensors["y_train"].dtype == torch.int64
    with pytest.raises(KeyError, match="X_val"):
        to_tensors({"X_train": 0, "y_train": 0})


def test_a_recipes_budget_names_the_augmentation_it_trains_with():
    recipe = Recipe(epochs=3)
    assert recipe.budget(4500) == "3 epochs of 4,500 images + flips and shifts"
    assert dataclasses.replace(recipe, flip=False).budget(4500) == "3 epochs of 4,500 images + shifts"
    assert dataclasses.replace(recipe, max_shift=0).budget(50000) == "3 epochs of 50,000 images + flips"
    assert dataclasses.replace(recipe, flip=False, max_shift=0).budget(4500) == "3 epochs of 4,500 images"
