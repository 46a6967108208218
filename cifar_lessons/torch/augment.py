"""Random flips and translations of a whole batch at once, on the batch's device, seeded (lesson
fast_cnn).

Augmenting on the device, with a ``torch.Generator``, keeps the images where the model is
(no trip through CPU worker processes) and makes every run repeat: the same seed gives the
same flips and shifts.
"""

import torch
import torch.nn.functional as F


def make_generator(seed, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(seed)
    return generator


def flip(images):
    """Mirror images (n, c, h, w) left to right."""
    return images.flip(-1)


def shift(images, dy, dx):
    """Move every image (n, c, h, w) down by ``dy`` and right by ``dx`` pixels, reflecting at the border."""
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return images
    h, w = images.shape[-2:]
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    return padded[..., pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def mirror_where(images, mirror):
    """Images (n, c, h, w) with those that ``mirror`` (n,) bool marks flipped left to right."""
    return torch.where(mirror[:, None, None, None], flip(images), images)


def coin_flips(images, generator):
    """(n,) bool: for each image (n, c, h, w), True with probability 1/2 (mirror it, say)."""
    return torch.rand(images.shape[0], generator=generator, device=images.device) < 0.5


def alternating_mirror(first_flips, epoch):
    """Which images to mirror in ``epoch`` (1, 2, ...): those ``first_flips`` (n,) bool marks in
    odd epochs, the others in even ones. Every image is then seen both ways in every two epochs,
    where independent random flips leave a quarter of them unflipped (or flipped) twice running."""
    return first_flips if epoch % 2 == 1 else ~first_flips


def reflected(size, pad, device=None):
    """(size + 2 * pad,) int64: which of ``size`` positions each position of an axis padded by
    ``pad`` on both sides by reflection shows (``F.pad(..., mode="reflect")``'s rule)."""
    positions = torch.arange(-pad, size + pad, device=device).abs()
    return torch.where(positions < size, positions, 2 * (size - 1) - positions)


def random_translate(images, max_shift, generator, mirror=None):
    """Shift each image (n, c, h, w) by its own random offsets in ``-max_shift..max_shift`` pixels.

    The border is reflected (a shifted image shows no black band the test images never have).

    ``mirror`` (n,) bool, if given, marks images to mirror first. Reflecting the border commutes
    with mirroring, so a mirrored image's crop is its original's with the columns reversed. No
    padded or mirrored copy is made: every output pixel is gathered straight from the images,
    through the table of which pixel each padded position reflects (:func:`reflected`).
    """
    if max_shift == 0:
        return images if mirror is None else mirror_where(images, mirror)
    n, c, h, w = images.shape
    if max_shift >= min(h, w):
        raise ValueError(f"max_shift must be smaller than the images' height and width, got {max_shift} for {h} x {w}")
    device = images.device
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator, device=device)
    rows = offsets[0][:, None] + torch.arange(h, device=device)  # (n, h), in padded coordinates
    cols = offsets[1][:, None] + torch.arange(w, device=device)  # (n, w)
    if mirror is not None:
        cols = torch.where(mirror[:, None], w + 2 * max_shift - 1 - cols, cols)
    rows, cols = reflected(h, max_shift, device)[rows], reflected(w, max_shift, device)[cols]
    pixels = (torch.arange(n, device=device)[:, None, None] * h + rows[:, :, None]) * w + cols[:, None, :]
    # each pixel's c values as one row of (n * h * w, c): a view when the images are channels-last
    cropped = images.permute(0, 2, 3, 1).reshape(n * h * w, c).index_select(0, pixels.flatten())
    return cropped.view(n, h, w, c).permute(0, 3, 1, 2).contiguous(memory_format=_memory_format(images))


def augment(images, generator, flip=True, max_shift=2, mirror=None):
    """Random mirroring (when ``flip``: :func:`coin_flips`) then :func:`random_translate`; labels are unchanged.

    ``mirror`` (n,) bool, if given, says which images to flip instead of random flips (see
    :func:`alternating_mirror`).
    """
    if mirror is None and flip:
        mirror = coin_flips(images, generator)
    return random_translate(images, max_shift, generator, mirror)


def _memory_format(images):
    channels_last = images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format
