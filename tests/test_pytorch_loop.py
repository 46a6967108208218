"""Notebook 06's training loop: shuffled minibatches that repeat with their seed, and an epoch of
train_epoch followed by evaluate that learns an easy problem."""

import pytest

torch = pytest.importorskip("torch")

from cifar_lessons.torch.initialization import fans  # noqa: E402
from cifar_lessons.torch.loop import Batches, evaluate, train_epoch  # noqa: E402


def labels_of(batches):
    return [y.tolist() for _, y in batches]


def test_batches_cover_every_image_once_in_a_new_order_each_pass_that_repeats_with_the_seed():
    X, y = torch.arange(10.0)[:, None].repeat(1, 3), torch.arange(10)
    batches = Batches(X, y, batch_size=4, generator=torch.Generator().manual_seed(0))
    first, second = labels_of(batches), labels_of(batches)
    assert [len(b) for b in first] == [4, 4, 2] and len(batches) == 3
    assert sorted(sum(first, [])) == list(range(10)) and first != second
    assert all(torch.equal(images[:, 0].long(), labels) for images, labels in batches)
    again = Batches(X, y, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert labels_of(again) == first


def test_batches_without_a_generator_come_in_order():
    y = torch.arange(5)
    assert labels_of(Batches(y[:, None], y, batch_size=2)) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="4 images but y 5 labels"):
        Batches(torch.zeros(4, 1), y, batch_size=2)


def test_fans_of_a_matrix_used_as_x_at_w_and_of_conv_filters():
    assert fans((400, 100)) == (400, 100)
    assert fans((64, 16, 5, 5)) == (16 * 25, 64 * 25)


def test_a_few_epochs_learn_a_separable_problem():
    torch.manual_seed(0)
    X = torch.randn(200, 2)
    y = (X[:, 0] > X[:, 1]).long()
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    batches = Batches(X, y, batch_size=20, generator=torch.Generator().manual_seed(0))
    losses = [train_epoch(model, optimizer, batches, "cpu") for _ in range(5)]
    assert losses[-1] < losses[0] / 2
    assert evaluate(model, Batches(X, y, batch_size=64), "cpu") > 0.95
    assert not model.training
