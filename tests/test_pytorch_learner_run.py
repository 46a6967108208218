"""Chapter 06 taken by a learner whose code is correct but computes in another order than the
book's: the filled learner copy runs to its end, every assertion about a training result holds,
and the learner's chapter-01 layers and chapter-05 convnet, kept in ``yours/``, are what it uses."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book_tools import exercises

pytestmark = [pytest.mark.integration, pytest.mark.learner_run]

BOOK = Path(__file__).resolve().parents[1] / "book"

KEPT_BACKPROP = """
import numpy as np


def affine_forward(x, w, b):
    out = np.dot(x.reshape(x.shape[0], -1), w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(x.shape[0], -1).T, dout)
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return x * (x > 0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def softmax_loss(x, y):
    n = x.shape[0]
    log_probs = x - x.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n
"""

# chapter 05's exercises solved another way, as its own learner test runs them
KEPT_CONVOLUTIONAL_NETWORKS = (Path(__file__).parent / "convolutional_networks_reordered.py").read_text()

SOLUTIONS = {
    "kaiming_normal": '''
def kaiming_normal(shape):
    """Kaiming normal."""
    fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
    std = (2.0 / fan_in) ** 0.5
    w = torch.randn(shape) * std
    return w.requires_grad_()


def xavier_normal(shape):
    """Xavier normal."""
    if len(shape) == 4:
        field = shape[2] * shape[3]
        fan_in, fan_out = shape[1] * field, shape[0] * field
    else:
        fan_in, fan_out = shape
    w = torch.randn(shape) * (2.0 / (fan_out + fan_in)) ** 0.5
    return w.requires_grad_()
''',
    "two_layer_fc": '''
def two_layer_fc(x, params):
    """Affine - ReLU - affine."""
    w1, b1, w2, b2 = params
    h = torch.relu(b1 + x.flatten(1) @ w1)
    return b2 + h @ w2


def three_layer_convnet(x, params):
    """Chapter 5's convnet."""
    w1, b1, w2, b2, w3, b3 = params
    pad = (w1.shape[2] // 2, w1.shape[3] // 2)
    h = F.conv2d(x, w1, b1, padding=pad).relu()
    h = F.max_pool2d(h, 2).flatten(1)
    h = torch.relu(torch.addmm(b2, h, w2))
    return torch.addmm(b3, h, w3)
''',
    "TwoLayerFC": '''
class TwoLayerFC(nn.Module):
    """Two-layer FC module."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.hidden = nn.Linear(input_size, hidden_size)
        self.scores = nn.Linear(hidden_size, num_classes)
        for layer in [self.hidden, self.scores]:
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.scores(torch.relu(self.hidden(torch.flatten(x, 1))))


class ThreeLayerConvNet(nn.Module):
    """Chapter 5's convnet as a module."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10):
        super().__init__()
        C, H, W = input_dim
        self.conv = nn.Conv2d(C, num_filters, filter_size, padding=filter_size // 2)
        self.hidden = nn.Linear(num_filters * H * W // 4, hidden_dim)
        self.scores = nn.Linear(hidden_dim, num_classes)
        for layer in [self.conv, self.hidden, self.scores]:
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        h = F.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.scores(torch.relu(self.hidden(h.flatten(1))))
''',
    "three_layer_sequential": '''
def three_layer_sequential(input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10):
    """Chapter 5's convnet as a Sequential."""
    C, H, W = input_dim
    net = nn.Sequential(
        nn.Conv2d(C, num_filters, filter_size, padding=filter_size // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(num_filters * H * W // 4, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, num_classes),
    )
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    return net
''',
    "train_epoch": '''
def train_epoch(model, optimizer, loader, device):
    """One epoch; the mean loss per image."""
    model.train()
    losses, images_seen = [], 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach() * labels.numel())
        images_seen += labels.numel()
    return float(torch.stack(losses).sum()) / images_seen


def evaluate(model, loader, device):
    """Accuracy."""
    model.eval()
    right, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            scores = model(images.to(device))
            right += int((scores.max(dim=1).indices == labels.to(device)).sum())
            total += labels.numel()
    return right / total
''',
}


def filled(copy):
    """The learner copy with each stub replaced by the solution above that defines its names."""
    for cell in copy.cells:
        if exercises.EXERCISE_TAG in cell.metadata.get("tags", []):
            (text,) = [
                text
                for name, text in SOLUTIONS.items()
                if f"def {name}(" in cell.source or f"class {name}(" in cell.source
            ]
            cell.source = text.strip()
    return copy


def printed(cell):
    return "".join(output.get("text", "") for output in cell.outputs)


def test_a_learners_correct_code_that_rounds_differently_runs_chapter_06_to_its_end(tmp_path):
    exercises.write_exercises(tmp_path, BOOK)
    (tmp_path / "yours").mkdir()
    (tmp_path / "yours" / "backprop.py").write_text(KEPT_BACKPROP.lstrip())
    (tmp_path / "yours" / "convolutional_networks.py").write_text(KEPT_CONVOLUTIONAL_NETWORKS.lstrip())
    notebook = filled(nbformat.read(tmp_path / "06_pytorch.ipynb", as_version=4))
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=1800, kernel_name="python3", resources=resources).execute()
    outputs = "\n".join(printed(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "yours, from yours/backprop.py: affine_forward" in outputs
    assert "yours, from yours/convolutional_networks.py: ThreeLayerConvNet" in outputs
    assert "the book's, from" not in outputs
    kept = (tmp_path / "yours" / "pytorch.py").read_text()
    for name in ("three_layer_sequential", "train_epoch", "evaluate"):
        assert f"def {name}(" in kept
