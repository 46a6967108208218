"""Lesson pytorch's convnet as an ``nn.Module``: two conv-ReLU-pool stages and two affine layers."""

import torch.nn as nn
import torch.nn.functional as F


class ConvNet(nn.Module):
    """conv3x3(c1) - relu - pool2 - conv3x3(c2) - relu - pool2 - affine(hidden) - relu - affine(10).

    Input (n, 3, 32, 32), output scores (n, num_classes). Notebook 06 builds the same network
    from bare tensors and from ``nn.Sequential`` and checks that all three agree.
    """

    def __init__(self, channels=(32, 64), hidden_dim=256, num_classes=10):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(3, c1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(c2 * 8 * 8, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))
