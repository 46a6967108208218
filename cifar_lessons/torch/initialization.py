"""Initial weights whose scale follows from the layer's shape (notebook 06).

Convention, as in chapters 1-5 and CS231n: a matrix is used as ``x @ w``, so its shape is
``(fan_in, fan_out)``; convolution filters have shape ``(F, C, HH, WW)``, so a filter sees
``fan_in = C * HH * WW`` inputs and each input reaches ``fan_out = F * HH * WW`` outputs.
(``nn.Linear`` stores the transpose, ``(out, in)``; ``torch.nn.init`` counts its fans that way.)
"""

import math

import torch


def fans(shape):
    """``(fan_in, fan_out)`` of a weight of ``shape``: a matrix ``(fan_in, fan_out)`` or conv filters
    ``(F, C, HH, WW)``."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def kaiming_normal(shape):
    """Weights of ``shape`` drawn from N(0, 2 / fan_in) (He et al., 2015): a float32 leaf tensor
    that requires grad. The factor 2 makes up for the half of its inputs a ReLU sets to zero."""
    fan_in, _ = fans(shape)
    return (torch.randn(shape) * math.sqrt(2 / fan_in)).requires_grad_()


def xavier_normal(shape):
    """Weights of ``shape`` drawn from N(0, 2 / (fan_in + fan_out)) (Glorot and Bengio, 2010): a
    float32 leaf tensor that requires grad. It keeps the variance of the forward and backward
    signals alike through layers without a ReLU (linear or tanh)."""
    fan_in, fan_out = fans(shape)
    return (torch.randn(shape) * math.sqrt(2 / (fan_in + fan_out))).requires_grad_()
