"""Sandwich layers, as CS231n names them: stacks of the layers of :mod:`.layers` and the fast
convolution and pooling of :mod:`.fast_layers`, with one forward and one backward pass, so that
a network is written in fewer lines. Taught in the lesson convolutional_networks.
"""

from cifar_lessons.from_scratch import fast_layers
from cifar_lessons.from_scratch.layers import affine_backward, affine_forward, relu_backward, relu_forward
from cifar_lessons.teaching import taught_in


@taught_in("convolutional_networks")
def affine_relu_forward(x, w, b):
    """An affine layer followed by ReLU.

    Inputs: x (N, d_1, ..., d_k), flattened to D = d_1 * ... * d_k values per example;
    w (D, M) weights; b (M,) biases.
    Returns (out, cache): out (N, M); cache holds both layers' caches, for affine_relu_backward.
    """
    affine_out, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(affine_out)
    return out, (affine_cache, relu_cache)


@taught_in("convolutional_networks")
def affine_relu_backward(dout, cache):
    """Gradients of affine_relu_forward.

    Inputs: dout (N, M) upstream gradient; cache from affine_relu_forward.
    Returns (dx, dw, db) of shapes (N, d_1, ..., d_k), (D, M), (M,).
    """
    affine_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), affine_cache)


@taught_in("convolutional_networks")
def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling: the fast layers around your ReLU.

    Inputs:
    - x: (N, C, H, W) images
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with "stride" and "pad", as for conv_forward_fast
    - pool_param: dict with "pool_height", "pool_width" and "stride", as for max_pool_forward_fast

    Returns (out, cache): out (N, F, OH', OW'), the pooled feature maps; cache holds the three
    layers' caches, for conv_relu_pool_backward.
    """
    conv_out, conv_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    relu_out, relu_cache = relu_forward(conv_out)
    out, pool_cache = fast_layers.max_pool_forward_fast(relu_out, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


@taught_in("convolutional_networks")
def conv_relu_pool_backward(dout, cache):
    """Gradients of conv_relu_pool_forward.

    Inputs: dout (N, F, OH', OW') upstream gradient; cache from conv_relu_pool_forward.
    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    conv_cache, relu_cache, pool_cache = cache
    drelu_out = fast_layers.max_pool_backward_fast(dout, pool_cache)
    dconv_out = relu_backward(drelu_out, relu_cache)
    return fast_layers.conv_backward_fast(dconv_out, conv_cache)
