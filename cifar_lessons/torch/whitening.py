"""First-layer filters that whiten image patches: decorrelated, unit-variance inputs from step one.

Neighbouring pixels and the three colour channels are strongly correlated, so the loss surface
of a first layer trained from random weights is a long thin valley. Projecting each k x k patch
onto the eigenvectors of the patch covariance, scaled by 1/sqrt(eigenvalue), makes the
covariance of the outputs the identity. These filters are computed once and frozen.
"""

import torch


def patches(images, kernel_size):
    """Every ``kernel_size`` x ``kernel_size`` patch of images (n, c, h, w) as rows (m, c * k * k).

    The rows are the transpose of a contiguous (c * k * k, m) tensor: building it copies runs
    of neighbouring pixels rather than one patch of a few numbers at a time, and
    ``torch.cov(rows.T)`` then reads contiguous memory.
    """
    n, c = images.shape[:2]
    windows = images.unfold(2, kernel_size, 1).unfold(3, kernel_size, 1)  # (n, c, h', w', k, k)
    return windows.permute(1, 4, 5, 0, 2, 3).reshape(c * kernel_size * kernel_size, -1).T


def whitening_filters(images, kernel_size=2, eps=5e-4):
    """Filters (2 * d, c, k, k), d = c * k * k, that whiten the patches of ``images`` (n, c, h, w).

    Row i of the first half is eigenvector i divided by sqrt(eigenvalue_i + eps) (``eps`` keeps
    the noisiest directions from being blown up); the second half is its negative, so that a
    following GELU or ReLU passes both signs of every direction.
    """
    if images.ndim != 4:
        raise ValueError(f"images should have shape (n, c, h, w), got {tuple(images.shape)}")
    c = images.shape[1]
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(patches(images.double(), kernel_size).T))
    filters = eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]
    filters = filters.reshape(-1, c, kernel_size, kernel_size).to(images.dtype)
    return torch.cat([filters, -filters])
