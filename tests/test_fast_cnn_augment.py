import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from cifar_lessons.torch.augment import augment, flip, make_generator, random_translate, reflected, shift  # noqa: E402


def images(n=6, seed=0):
    return torch.randn(n, 3, 8, 8, generator=make_generator(seed))


def test_keeps_shape_and_is_seeded():
    x = images()
    first = augment(x, make_generator(1))
    assert first.shape == x.shape and first.dtype == x.dtype
    assert torch.equal(first, augment(x, make_generator(1)))
    assert not torch.equal(first, augment(x, make_generator(2)))


@pytest.mark.parametrize("size, max_shift", [(8, 2), (3, 2), (5, 4)])
def test_every_output_is_a_flip_and_shift_of_its_own_input(size, max_shift):
    x = torch.randn(20, 3, size, size, generator=make_generator(size))
    out = augment(x, make_generator(3), flip=True, max_shift=max_shift)
    span = range(-max_shift, max_shift + 1)
    candidates = [(f, dy, dx) for f in (False, True) for dy in span for dx in span]
    for i in range(len(x)):  # image i stays at position i: its label still applies
        matches = [
            c
            for c in candidates
            if torch.equal(out[i], shift((flip(x[i : i + 1]) if c[0] else x[i : i + 1]), c[1], c[2])[0])
        ]
        assert matches, f"augmented image {i} is no flip/shift of input image {i}"


def test_shifts_cover_the_whole_range():
    out = random_translate(torch.arange(64.0).reshape(1, 1, 8, 8).repeat(200, 1, 1, 1), 1, make_generator(0))
    corners = {out[i, 0, 4, 4].item() for i in range(len(out))}
    assert len(corners) == 9  # every (dy, dx) in -1..1 happened


def test_shift_moves_content_and_reflects_the_border():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    moved = shift(x, 1, 0)
    assert torch.equal(moved[0, 0, 1:], x[0, 0, :3])
    assert torch.equal(moved[0, 0, 0], x[0, 0, 1])  # reflection, not zeros
    assert torch.equal(shift(x, 0, 0), x)


def test_no_shift_and_no_flip_is_the_identity():
    x = images()
    assert torch.equal(augment(x, make_generator(0), flip=False, max_shift=0), x)


def test_keeps_channels_last_layout():
    x = images().contiguous(memory_format=torch.channels_last)
    assert augment(x, make_generator(0)).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("size, pad", [(1, 0), (4, 1), (8, 2), (5, 4), (32, 2)])
def test_reflection_table_follows_torch_reflect_padding(size, pad):
    axis = torch.arange(size, dtype=torch.float64)[None, None]
    expected = F.pad(axis, (pad, pad), mode="reflect")[0, 0].long()
    assert torch.equal(reflected(size, pad), expected)


def test_a_shift_as_large_as_the_image_is_refused():
    with pytest.raises(ValueError, match="max_shift must be smaller"):
        random_translate(images(), 8, make_generator(0))
