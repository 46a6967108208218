"""The heart of every PyTorch training loop (notebook 06): one epoch of training, one pass of
evaluation, and the minibatches they iterate over."""

import math

import torch
import torch.nn.functional as F

from cifar_lessons.teaching import taught_in


class Batches:
    """Minibatches ``(images, labels)`` of tensors ``X`` (n, ...) and ``y`` (n,), on their device.

    With a ``generator`` every pass over it draws a new random order from it (for training);
    without one, the batches come in order (for evaluation).
    """

    def __init__(self, X, y, batch_size, generator=None):
        if len(X) != len(y):
            raise ValueError(f"X holds {len(X)} images but y {len(y)} labels")
        self.X, self.y, self.batch_size, self.generator = X, y, batch_size, generator

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        if self.generator is None:
            yield from zip(self.X.split(self.batch_size), self.y.split(self.batch_size))
            return
        order = torch.randperm(len(self.y), generator=self.generator, device=self.y.device)
        for batch in order.split(self.batch_size):
            yield self.X[batch], self.y[batch]


@taught_in("pytorch")
def train_epoch(model, optimizer, loader, device):
    """One pass over loader's minibatches, one optimizer step each.

    Inputs:
    - model: an nn.Module mapping images (n, ...) to scores (n, classes)
    - optimizer: a torch.optim optimizer over the model's parameters
    - loader: yields (images (n, ...), labels (n,)) minibatches
    - device: where the model is; each batch is moved there

    Puts the model in training mode; for each batch, backpropagates the mean cross-entropy loss
    into freshly zeroed gradients and takes a step.
    Returns the mean training loss per image over the epoch, a float.
    """
    model.train()
    total_loss, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        count += len(labels)
    return total_loss / count


@taught_in("pytorch")
def evaluate(model, loader, device):
    """Accuracy of model on loader's minibatches (images (n, ...), labels (n,)).

    Runs the model in eval mode, without recording the autograd graph.
    Returns the fraction of all images whose highest score is at their label, a float in [0, 1].
    """
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            predictions = model(images.to(device)).argmax(dim=1)
            correct += (predictions == labels.to(device)).sum().item()
            count += len(labels)
    return correct / count
