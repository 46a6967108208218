"""The two networks of the NumPy chapters, rebuilt in PyTorch (notebook 06) at three levels of
abstraction: functions of bare tensors, ``nn.Module`` classes that own their layers, and (the
convnet) an ``nn.Sequential`` that writes ``forward`` itself.

- two-layer fully connected: affine - ReLU - affine (chapter 02's network with one hidden layer);
- three-layer convnet: conv - ReLU - 2x2 max pool - affine - ReLU - affine, chapter 05's
  :class:`~cifar_lessons.from_scratch.models.ThreeLayerConvNet`, its convolution padded to keep
  the image's height and width.
"""

import torch.nn as nn
import torch.nn.functional as F

from cifar_lessons.teaching import taught_in


@taught_in("pytorch")
def two_layer_fc(x, params):
    """Scores of a two-layer fully connected network: affine - ReLU - affine.

    Inputs:
    - x: (N, d1, ..., dk) inputs, flattened to (N, D) with D = d1 * ... * dk
    - params: [w1 (D, H), b1 (H,), w2 (H, C), b2 (C,)]; each layer computes x @ w + b

    Returns scores (N, C).
    """
    w1, b1, w2, b2 = params
    hidden = F.relu(x.flatten(1) @ w1 + b1)
    return hidden @ w2 + b2


@taught_in("pytorch")
def three_layer_convnet(x, params):
    """Scores of chapter 05's convnet: conv - ReLU - 2x2 max pool - affine - ReLU - affine.

    Inputs:
    - x: (N, C, H, W) images, H and W even
    - params: [w1 (F, C, HH, WW), b1 (F,), w2 (F * H/2 * W/2, hidden), b2 (hidden,),
      w3 (hidden, K), b3 (K,)], the shapes of ThreeLayerConvNet's params in chapter 05

    The convolution has stride 1 and zero padding of half the (odd) filter size, HH // 2 rows
    and WW // 2 columns, so it keeps H x W; the pool halves them. The first affine layer takes
    the pooled feature maps flattened to (N, F * H/2 * W/2).

    Returns scores (N, K).
    """
    w1, b1, w2, b2, w3, b3 = params
    x = F.relu(F.conv2d(x, w1, b1, padding=(w1.shape[2] // 2, w1.shape[3] // 2)))
    x = F.max_pool2d(x, 2)
    hidden = F.relu(x.flatten(1) @ w2 + b2)
    return hidden @ w3 + b3


@taught_in("pytorch")
class TwoLayerFC(nn.Module):
    """two_layer_fc as a module: Linear(input_size, hidden_size) - ReLU - Linear(hidden_size,
    num_classes), weights Kaiming-normal, biases zero.

    Layers are created in the order forward runs them, so parameters() lists them in that order.
    forward: x (N, d1, ..., dk) with d1 * ... * dk = input_size -> scores (N, num_classes).
    """

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        for layer in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@taught_in("pytorch")
class ThreeLayerConvNet(nn.Module):
    """three_layer_convnet as a module: Conv2d(C, num_filters, filter_size, padding filter_size // 2)
    - ReLU - MaxPool2d(2) - Linear(num_filters * H/2 * W/2, hidden_dim) - ReLU -
    Linear(hidden_dim, num_classes), weights Kaiming-normal, biases zero. Built with chapter 05's
    arguments: input_dim = (C, H, W), H and W even, and an odd filter_size.

    Layers are created in the order forward runs them, so parameters() lists them in that order.
    forward: x (N, C, H, W) -> scores (N, num_classes).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10):
        super().__init__()
        C, H, W = input_dim
        self.conv = nn.Conv2d(C, num_filters, kernel_size=filter_size, padding=filter_size // 2)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(num_filters * (H // 2) * (W // 2), hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)
        for layer in (self.conv, self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@taught_in("pytorch")
def three_layer_sequential(input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10):
    """ThreeLayerConvNet as an nn.Sequential: Conv2d(C, num_filters, filter_size, padding filter_size // 2)
    - ReLU - MaxPool2d(2) - Flatten - Linear(num_filters * H/2 * W/2, hidden_dim) - ReLU -
    Linear(hidden_dim, num_classes), weights Kaiming-normal, biases zero; chapter 05's arguments.

    Returns the nn.Sequential, mapping x (N, C, H, W) to scores (N, num_classes).
    """
    C, H, W = input_dim
    model = nn.Sequential(
        nn.Conv2d(C, num_filters, kernel_size=filter_size, padding=filter_size // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(num_filters * (H // 2) * (W // 2), hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, num_classes),
    )
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model
