"""First-layer filters that whiten image patches: decorrelated, unit-variance inputs from step one.

Neighbouring pixels and the three colour channels are strongly correlated, so the loss surface
of a first layer trained from random weights is a long thin valley. Projecting each k x k patch
onto the eigenvectors of the patch covariance, scaled by 1/sqrt(eigenvalue), makes the
covariance of the outputs the identity. These filters are computed once and frozen.
"""

import torch

from cifar_lessons.teaching import taught_in


def patches(images, kernel_size):
    """Every ``kernel_size`` x ``kernel_size`` patch of images (n, c, h, w) as rows (m, c * k * k).

    The rows are the transpose of a contiguous (c * k * k, m) tensor: building it copies runs
    of neighbouring pixels rather than one patch of a few numbers at a time, and
    ``torch.cov(rows.T)`` then reads contiguous memory.
    """
    n, c = images.shape[:2]
    windows = images.unfold(2, kernel_size, 1).unfold(3, kernel_size, 1)  # (n, c, h', w', k, k)
    return windows.permute(1, 4, 5, 0, 2, 3).reshape(c * kernel_size * kernel_size, -1).T


def _whitening_arguments(images, kernel_size=2, eps=5e-4):
    if images.ndim != 4:
        raise ValueError(f"whitening_filters: images should have shape (n, c, h, w), got {tuple(images.shape)}")
    if kernel_size < 1 or kernel_size > min(images.shape[2:]):
        raise ValueError(f"whitening_filters: kernel_size must lie in 1..{min(images.shape[2:])}, got {kernel_size}")
    if not eps >= 0:
        raise ValueError(f"whitening_filters: eps must be >= 0 (it is added to every eigenvalue), got {eps}")


@taught_in("fast_cnn", check=_whitening_arguments)
def whitening_filters(images, kernel_size=2, eps=5e-4):
    """Filters (2 * d, c, k, k), d = c * k * k, that whiten the k x k patches of images (n, c, h, w).

    Filter i of the first half is eigenvector i of the patches' covariance (eigenvalues in
    increasing order), divided by sqrt(eigenvalue_i + eps) and laid out as (c, k, k); the
    second half is the first negated. Returned in the images' dtype.
    """
    c = images.shape[1]
    rows = patches(images.double(), kernel_size)
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(rows.T))
    filters = eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]
    filters = filters.reshape(-1, c, kernel_size, kernel_size).to(images.dtype)
    return torch.cat([filters, -filters])
