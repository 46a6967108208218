"""The chapter-0 arrays as tensors on the device, normalized with training-split statistics."""

import torch

SPLITS = ("train", "val", "test")


def to_tensors(data, device="cpu", dtype=torch.float32):
    """Move ``load_cifar10``'s arrays to ``device`` and standardize each channel.

    ``data`` holds ``X_train, y_train, X_val, y_val, X_test, y_test`` (images (n, 3, 32, 32)
    with raw values 0..255). Returns a dict with the same keys (images of ``dtype``, labels
    int64) plus ``mean`` and ``std`` of shape (1, 3, 1, 1), the training split's per-channel
    statistics used for every split. Keeping the whole dataset on the device removes the
    per-batch copy from host memory, the bottleneck of small fast models.
    """
    missing = [f"{x}_{s}" for s in SPLITS for x in "Xy" if f"{x}_{s}" not in data]
    if missing:
        raise KeyError(f"data lacks {missing}: pass the dict returned by cifar_lessons.data.load_cifar10")
    images = {s: torch.as_tensor(data[f"X_{s}"]).to(device=device, dtype=dtype) for s in SPLITS}
    if images["train"].ndim != 4 or images["train"].shape[1:] != (3, 32, 32):
        raise ValueError(f"X_train should have shape (n, 3, 32, 32), got {tuple(images['train'].shape)}")
    mean = images["train"].mean(dim=(0, 2, 3), keepdim=True)
    std = images["train"].std(dim=(0, 2, 3), keepdim=True)
    tensors = {"mean": mean, "std": std}
    for split in SPLITS:
        tensors[f"X_{split}"] = (images[split] - mean) / std
        tensors[f"y_{split}"] = torch.as_tensor(data[f"y_{split}"]).to(device=device, dtype=torch.int64)
    return tensors
