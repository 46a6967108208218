"""Scores every chapter reports the same way."""
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
