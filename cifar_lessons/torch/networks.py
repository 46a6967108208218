"""The two small networks of notebook 06 at two levels of abstraction: functions of bare
tensors, and ``nn.Module`` classes that own their layers.

- two-layer fully connected: affine - ReLU - affine;
- three-layer convnet: conv 5x5 - ReLU - conv 3x3 - ReLU - affine (CS231n's), each convolution
  padded to keep the image's height and width.
"""

import torch.nn as nn
import torch.nn.functional as F


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


def three_layer_convnet(x, params):
    """Scores of a three-layer convnet: conv - ReLU - conv - ReLU - affine.

    Inputs:
    - x: (N, C, H, W) images
    - params: [conv_w1 (C1, C, KH1, KW1), conv_b1 (C1,), conv_w2 (C2, C1, KH2, KW2), conv_b2 (C2,),
      fc_w (C2 * H * W, K), fc_b (K,)]

    Both convolutions have stride 1 and zero padding of half the (odd) filter size, KH // 2 rows
    and KW // 2 columns (5x5 filters: 2; 3x3: 1), so they keep H x W. The affine layer takes the
    feature maps flattened to (N, C2 * H * W).

    Returns scores (N, K).
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    x = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=(conv_w1.shape[2] // 2, conv_w1.shape[3] // 2)))
    x = F.relu(F.conv2d(x, conv_w2, conv_b2, padding=(conv_w2.shape[2] // 2, conv_w2.shape[3] // 2)))
    return x.flatten(1) @ fc_w + fc_b


def _kaiming_weights_zero_biases(*layers):
    for layer in layers:
        nn.init.kaiming_normal_(layer.weight)  # std sqrt(2 / fan_in), fan_in = in_features or C * HH * WW
        nn.init.zeros_(layer.bias)


class TwoLayerFC(nn.Module):
    """``two_layer_fc`` as a module: Linear(input_size, hidden_size) - ReLU - Linear(hidden_size,
    num_classes), weights Kaiming-normal, biases zero.

    Layers are created in the order forward runs them, so parameters() lists them in that order.
    forward: x (N, d1, ..., dk) with d1 * ... * dk = input_size -> scores (N, num_classes).
    """

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        _kaiming_weights_zero_biases(self.fc1, self.fc2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class ThreeLayerConvNet(nn.Module):
    """``three_layer_convnet`` as a module, for 32 x 32 images: Conv2d(in_channel, channel_1, 5,
    padding 2) - ReLU - Conv2d(channel_1, channel_2, 3, padding 1) - ReLU - Linear(channel_2 * 32 *
    32, num_classes), weights Kaiming-normal, biases zero.

    Layers are created in the order forward runs them, so parameters() lists them in that order.
    forward: x (N, in_channel, 32, 32) -> scores (N, num_classes).
    """

    def __init__(self, in_channel, channel_1, channel_2, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)
        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)
        _kaiming_weights_zero_biases(self.conv1, self.conv2, self.fc)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(x.flatten(1))
