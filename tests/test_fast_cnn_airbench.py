"""Each component the GPU recipe takes from airbench94, on a CPU: decoupled hyperparameters,
alternating flips, lookahead, frozen batch-norm scales with faster biases, identity-initialized
convolutions, a whitening bias that trains only for the first epochs, scaled scores and
6-view test-time augmentation."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from test_fast_cnn_train import TINY, fake_tensors  # noqa: E402

from cifar_lessons.torch.augment import alternating_mirror, augment, make_generator  # noqa: E402
from cifar_lessons.torch.evaluate import tta_scores  # noqa: E402
from cifar_lessons.torch.fastnet import FastNet, build_fastnet  # noqa: E402
from cifar_lessons.torch.recipe import GPU_RECIPE, Recipe, decoupled  # noqa: E402
from cifar_lessons.torch.train import _parameter_groups, lookahead, train, update_average  # noqa: E402


def test_decoupled_hyperparameters_take_airbenchs_steps_with_a_mean_loss():
    lr, weight_decay, momentum, batch = 11.5, 0.0153, 0.85, 64
    torch.manual_seed(0)
    start = torch.nn.Linear(5, 3)
    x, y = torch.randn(batch, 5), torch.randint(0, 3, (batch,))
    # airbench's own form: a summed loss, lr divided by 1024 * (1 + 1 / (1 - momentum)),
    # weight decay (per 1024 examples) times the batch, each divided by that learning rate
    kilostep = 1024 * (1 + 1 / (1 - momentum))
    theirs = torch.nn.Linear(5, 3)
    theirs.load_state_dict(start.state_dict())
    their_lr = lr / kilostep
    their_sgd = torch.optim.SGD(
        theirs.parameters(),
        lr=their_lr,
        momentum=momentum,
        nesterov=True,
        weight_decay=weight_decay * batch / kilostep / their_lr,
    )
    settings = decoupled(lr, weight_decay, momentum, batch)
    ours = torch.nn.Linear(5, 3)
    ours.load_state_dict(start.state_dict())
    our_sgd = torch.optim.SGD(
        ours.parameters(), lr=settings["lr"], momentum=momentum, nesterov=True, weight_decay=settings["weight_decay"]
    )
    for _ in range(3):
        for model, optimizer, reduction in ((theirs, their_sgd, "sum"), (ours, our_sgd, "mean")):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y, reduction=reduction).backward()
            optimizer.step()
    for mine, airbench in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(mine, airbench, rtol=1e-5, atol=1e-6)
    assert settings["batch_size"] == batch and settings["nesterov"]
    assert GPU_RECIPE.lr == pytest.approx(1.5) and GPU_RECIPE.batch_size == 1024 and GPU_RECIPE.momentum == 0.85


def test_alternating_flips_show_every_image_both_ways_every_two_epochs():
    images = torch.arange(8 * 3 * 4 * 4, dtype=torch.float32).reshape(8, 3, 4, 4)
    first = torch.rand(8, generator=make_generator(0)) < 0.5
    assert 0 < first.sum() < 8
    for epoch in (1, 3, 5):
        odd = augment(images, make_generator(1), max_shift=0, mirror=alternating_mirror(first, epoch))
        even = augment(images, make_generator(1), max_shift=0, mirror=alternating_mirror(first, epoch + 1))
        for n in range(8):
            seen = {torch.equal(view[n], images[n].flip(-1)) for view in (odd, even)}
            assert seen == {True, False}, f"image {n} in epochs {epoch} and {epoch + 1}"


def test_alternating_flips_are_drawn_once_per_training_run():
    tensors = fake_tensors(n=8)
    recipe = dataclasses.replace(TINY, epochs=2, batch_size=8, alternating_flip=True, flip=True)
    seen = []
    model = build_fastnet(recipe, tensors["X_train"])
    model.whiten.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].clone()))
    train(model, tensors, recipe, progress=False)
    first, second = seen[0], seen[2]  # each epoch's one step (in shuffled order), then its validation pass
    for image in first:
        assert any(torch.equal(image.flip(-1), other) for other in second), "every image flips between epochs"


def test_lookahead_moves_the_average_then_the_network_jumps_to_it():
    torch.manual_seed(0)
    average, model = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        average.weight.fill_(1.0)
        model.weight.fill_(3.0)
    lookahead(average, model, decay=0.75)
    assert torch.equal(average.weight, torch.full((3,), 1.5)) and torch.equal(model.weight, average.weight)


def test_with_lookahead_training_ends_each_epoch_at_the_average():
    tensors = fake_tensors(n=16)
    # 4 steps an epoch; after epoch 1, a lookahead at steps 5 (the average starts) and 10
    recipe = dataclasses.replace(TINY, epochs=3, batch_size=4, ema=0.0, lookahead_every=5, lookahead_start_epoch=1)
    averages, decays = [], []

    def spy(average, model, decay):
        averages.append(average)
        decays.append(decay)
        update_average(average, model, decay)

    result = train(build_fastnet(recipe, tensors["X_train"]), tensors, recipe, progress=False, average=spy)
    assert decays == [pytest.approx(0.95**5 * (10 / 12) ** 3)], "one lookahead after the average started"
    assert result.model is result.raw_model, "lookahead evaluates the network itself"
    for mine, mean in zip(result.model.state_dict().values(), averages[0].state_dict().values()):
        assert torch.equal(mine, mean), "steps 11 and 12 moved the network; the epoch's end brings it back"
    with pytest.raises(ValueError, match="choose one weight average"):
        Recipe(ema=0.9, lookahead_every=5)


def test_frozen_batch_norm_scales_stay_one_while_biases_learn_faster():
    tensors = fake_tensors(n=16)
    recipe = dataclasses.replace(TINY, epochs=1, batch_size=8, batch_norm_weights=False, bias_lr_scale=64.0)
    model = build_fastnet(recipe, tensors["X_train"])
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    others, biases = _parameter_groups(model, recipe)
    assert {id(p) for p in biases["params"]} == {id(m.bias) for m in norms}
    assert biases["lr"] == recipe.lr * 64 and biases["weight_decay"] * biases["lr"] == pytest.approx(
        recipe.weight_decay * recipe.lr
    )
    assert not any(id(m.weight) in {id(p) for p in others["params"]} for m in norms)
    before = [m.bias.detach().clone() for m in norms]
    train(model, tensors, recipe, progress=False)
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)
    assert all(not torch.equal(m.bias, old) for m, old in zip(norms, before))


def test_identity_initialized_convolutions_pass_their_input_through():
    torch.manual_seed(0)
    model = FastNet(widths=(8, 16, 16), identity_init=True)
    group = model.features[2].layers  # the second group: 8 -> 16 channels, then 16 -> 16
    x = torch.randn(2, 8, 6, 6)
    first, second = group[0], group[4]
    torch.testing.assert_close(first(x)[:, :8], x)  # the first 8 of 16 filters copy the 8 inputs
    y = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(second(y), y)


def test_the_whitening_bias_trains_only_for_its_epochs():
    tensors = fake_tensors(n=16)
    recipe = dataclasses.replace(TINY, epochs=3, batch_size=8, whiten_bias_epochs=1)  # 2 steps an epoch
    model = build_fastnet(recipe, tensors["X_train"])
    gradients = []
    model.whiten.bias.register_hook(lambda grad: gradients.append(grad))
    train(model, tensors, recipe, progress=False)
    assert len(gradients) == 2, "the bias had gradients only in the first epoch's two steps"
    with pytest.raises(ValueError, match="whitening layer"):
        train(torch.nn.Linear(3, 10), tensors, recipe, progress=False)


def test_the_book_recipe_never_trains_the_whitening_layer():
    tensors = fake_tensors(n=16)
    recipe = dataclasses.replace(TINY, epochs=2, batch_size=8)
    model = build_fastnet(recipe, tensors["X_train"])
    filters = model.whiten.weight.clone()
    assert torch.equal(model.whiten.bias, torch.zeros_like(model.whiten.bias)), "the layer computes the whitening alone"
    assert recipe.whiten_bias_epochs == 0 and not model.whiten.bias.requires_grad
    train(model, tensors, recipe, progress=False)
    assert torch.equal(model.whiten.weight, filters) and not model.whiten.bias.any()


def test_scores_are_scaled():
    torch.manual_seed(0)
    plain = FastNet(widths=(8, 8, 8)).eval()
    torch.manual_seed(0)
    scaled = FastNet(widths=(8, 8, 8), output_scale=1 / 9).eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(scaled(x), plain(x) / 9)


def test_six_view_tta_weighs_the_image_and_its_shifted_copies_as_airbench():
    views = []

    def model(x):
        views.append(x.clone())
        return torch.full((x.shape[0], 10), float(len(views)))

    scores = tta_scores(model, torch.randn(2, 3, 8, 8), "flip_shift", 1)
    assert len(views) == 6, "the image, the two shifted copies, and each one's mirror image"
    # views 1-2 (the image and its mirror) weigh 1/4 each, views 3-6 (shifted) 1/8 each
    assert torch.equal(scores, torch.full((2, 10), (1 + 2) / 4 + (3 + 4 + 5 + 6) / 8))
