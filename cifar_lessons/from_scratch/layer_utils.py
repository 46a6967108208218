"""Sandwich layers, as CS231n names them: common stacks of the layers in :mod:`cifar_lessons.from_scratch.layers`
(and of the fast convolution in :mod:`cifar_lessons.from_scratch.fast_layers`) with one forward and one
backward, so models can be written in fewer lines."""

from cifar_lessons.from_scratch.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from cifar_lessons.from_scratch.layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """An affine layer followed by ReLU. Shapes as :func:`affine_forward`: x (N, d_1, ..., d_k),
    w (D, M), b (M,). Returns ``(out, cache)``: out (N, M), cache = (affine cache, relu cache)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Gradients of :func:`affine_relu_forward`: dout (N, M) -> ``(dx, dw, db)``."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_forward(x, w, b, conv_param):
    """Fast convolution then ReLU. x (N, C, H, W), w (F, C, HH, WW), b (F,) -> out (N, F, OH, OW), cache."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Gradients of :func:`conv_relu_forward`: dout (N, F, OH, OW) -> (dx, dw, db)."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Fast convolution, ReLU, then fast max pooling. Returns out (N, F, OH', OW') pooled, cache."""
    a, conv_relu_cache = conv_relu_forward(x, w, b, conv_param)
    out, pool_cache = max_pool_forward_fast(a, pool_param)
    return out, (conv_relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Gradients of :func:`conv_relu_pool_forward`: dout (N, F, OH', OW') -> (dx, dw, db)."""
    conv_relu_cache, pool_cache = cache
    return conv_relu_backward(max_pool_backward_fast(dout, pool_cache), conv_relu_cache)
