"""Scores and sizes every chapter reports the same way."""

import numpy as np


def accuracy(predictions, labels):
    """Fraction of predicted class indices (n,) equal to the labels (n,)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} differ in shape")
    return float(np.mean(predictions == labels))


def confusion_matrix(predictions, labels, num_classes=10):
    """(num_classes, num_classes) counts: row = true class, column = predicted class."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (np.asarray(labels), np.asarray(predictions)), 1)
    return confusion


def predict(model, X, batch_size=1000):
    """Class indices (N,) a NumPy model (``loss(X)`` returning scores) predicts for X (N, ...), in batches."""
    return np.concatenate(
        [np.argmax(model.loss(X[start : start + batch_size]), axis=1) for start in range(0, len(X), batch_size)]
    )


def parameter_count(model):
    """Number of trained and frozen numbers in ``model``: a NumPy model's ``params`` dict, or a
    PyTorch module's ``parameters()``."""
    if hasattr(model, "params"):
        return int(sum(np.size(value) for value in model.params.values()))
    return int(sum(parameter.numel() for parameter in model.parameters()))
