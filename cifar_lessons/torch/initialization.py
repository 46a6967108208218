"""Initial weights whose scale follows from the layer's shape (notebook 06).

Convention, as in chapters 1-5 and CS231n: a matrix is used as ``x @ w``, so its shape is
``(fan_in, fan_out)``; convolution filters have shape ``(F, C, HH, WW)``, so a filter sees
``fan_in = C * HH * WW`` inputs and each input reaches ``fan_out = F * HH * WW`` outputs.
(``nn.Linear`` stores the transpose, ``(out, in)``; ``torch.nn.init`` counts its fans that way.)
"""

import math

import torch

from cifar_lessons.teaching import taught_in


def fans(shape):
    """``(fan_in, fan_out)`` of a weight of ``shape``: a matrix ``(fan_in, fan_out)`` or conv filters
    ``(F, C, HH, WW)``."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


@taught_in("pytorch")
def kaiming_normal(shape):
    """Kaiming (He) initialization: weights drawn from N(0, 2 / fan_in).

    Input: shape, a tuple: (fan_in, fan_out) for a matrix used as x @ w, or (F, C, HH, WW) for
    convolution filters, whose fan_in is C * HH * WW.
    Returns a float32 leaf tensor of that shape that requires grad.
    """
    fan_in = shape[0] if len(shape) == 2 else math.prod(shape[1:])
    return (torch.randn(shape) * math.sqrt(2 / fan_in)).requires_grad_()


@taught_in("pytorch")
def xavier_normal(shape):
    """Xavier (Glorot) initialization: weights drawn from N(0, 2 / (fan_in + fan_out)).

    Input: shape, a tuple: (fan_in, fan_out) for a matrix used as x @ w, or (F, C, HH, WW) for
    convolution filters, whose fan_in is C * HH * WW and fan_out F * HH * WW.
    Returns a float32 leaf tensor of that shape that requires grad.
    """
    if len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field = math.prod(shape[2:])
        fan_in, fan_out = shape[1] * receptive_field, shape[0] * receptive_field
    return (torch.randn(shape) * math.sqrt(2 / (fan_in + fan_out))).requires_grad_()
