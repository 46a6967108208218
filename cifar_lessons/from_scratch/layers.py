"""The layers the NumPy chapters write, as the book teaches them.

Every layer is a pair ``*_forward(x, ...) -> (out, cache)`` and ``*_backward(dout, cache) ->
gradients``, with the shapes in its docstring, and says which lesson teaches it. The text below
each ``@taught_in`` line is the text of that lesson's solution cell (``book_tools.references``
renders it there); the decorator checks the arguments first (:mod:`.contracts`).
"""

import numpy as np

from cifar_lessons.from_scratch import contracts
from cifar_lessons.teaching import taught_in

# ---------------------------------------------------------------------------------------------
# Backpropagation: a fork in the graph, affine and ReLU layers, two losses


@taught_in("backprop", check=contracts.silu_forward)
def silu_forward(x):
    """SiLU, elementwise: out = x * s with s = sigmoid(x) = 1 / (1 + exp(-x)).

    Input x of any shape. Returns (out, cache): out of x's shape, cache = (x, s) with s of
    x's shape, for the backward pass.
    """
    s = 1 / (1 + np.exp(-x))
    return x * s, (x, s)


@taught_in("backprop", check=contracts.silu_backward)
def silu_backward(dout, cache):
    """Gradient of SiLU: x reaches out = x * s directly and through s = sigmoid(x).

    Inputs: dout of x's shape; cache = (x, s) from silu_forward. Returns dx of x's shape.
    """
    x, s = cache
    dx = dout * s  # the product's path: upstream times the other input
    ds = dout * x
    dx += ds * s * (1 - s)  # the sigmoid's path adds to the product's at the fork
    return dx


@taught_in("backprop", check=contracts.affine_forward)
def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Inputs:
        x: (N, d_1, ..., d_k), each example flattened to D = d_1 * ... * d_k values
        w: (D, M) weights
        b: (M,) biases
    Returns (out, cache): out (N, M), cache = (x, w, b).
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


@taught_in("backprop", check=contracts.affine_backward)
def affine_backward(dout, cache):
    """Gradients of an affine layer.

    Inputs: dout (N, M) upstream gradient; cache = (x, w, b) from affine_forward.
    Returns (dx, dw, db) with the shapes of x (N, d_1, ..., d_k), w (D, M) and b (M,).
    """
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


@taught_in("backprop", check=contracts.relu_forward)
def relu_forward(x):
    """Rectified linear unit, elementwise: out = max(x, 0).

    Input x of any shape. Returns (out, cache): out of x's shape, cache = x.
    """
    return np.maximum(x, 0), x


@taught_in("backprop", check=contracts.relu_backward)
def relu_backward(dout, cache):
    """Gradient of ReLU: dout passes where the input was positive, 0 elsewhere.

    Inputs: dout of x's shape; cache = x from relu_forward. Returns dx of x's shape.
    """
    x = cache
    return dout * (x > 0)


@taught_in("backprop", check=contracts.softmax_loss)
def softmax_loss(x, y):
    """Mean cross-entropy of the softmax of the scores.

    Inputs: x (N, C) scores; y (N,) integer labels in 0..C-1.
    Returns (loss, dx): the scalar loss and its gradient dx (N, C).
    """
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


@taught_in("backprop", check=contracts.svm_loss)
def svm_loss(x, y):
    """Mean multiclass hinge loss with margin 1.

    Inputs: x (N, C) scores; y (N,) integer labels in 0..C-1.
    Returns (loss, dx): the scalar loss and its gradient dx (N, C).
    """
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    return loss, dx / N


# ---------------------------------------------------------------------------------------------
# Batch normalization and layer normalization


@taught_in("batch_norm", check=contracts.batchnorm_forward)
def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization, train or test mode.

    Inputs:
    - x: (N, D) data
    - gamma: (D,) scale
    - beta: (D,) shift
    - bn_param: dict with "mode" ("train" or "test"), optional "eps" (default 1e-5),
      "momentum" (default 0.9), "running_mean" (D,) and "running_var" (D,), which start
      at 0 and 1 when absent; train mode stores the updated estimates back in bn_param.

    Returns (out, cache): out is (N, D); cache holds what batchnorm_backward needs.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    if mode == "test":
        return (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta, None
    mean = x.mean(axis=0)
    centered = x - mean
    var = (centered**2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = centered / std
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return gamma * x_hat + beta, (x_hat, centered, std, gamma)


@taught_in("batch_norm", check=contracts.batchnorm_backward)
def batchnorm_backward(dout, cache):
    """Backward pass of train-mode batch norm, following the computational graph step by step.

    Inputs: dout (N, D) upstream gradient; cache from batchnorm_forward in train mode.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    x_hat, centered, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dvar = (dx_hat * centered).sum(axis=0) * -0.5 / std**3
    dmean = -dx_hat.sum(axis=0) / std
    dx = dx_hat / std + dvar * 2 * centered / N + dmean / N
    return dx, dgamma, dbeta


@taught_in("batch_norm", check=contracts.batchnorm_backward_alt)
def batchnorm_backward_alt(dout, cache):
    """The gradients of batchnorm_backward from the simplified closed form.

    Inputs: dout (N, D) upstream gradient; cache from batchnorm_forward in train mode.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    x_hat, _, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = 1 / std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, dgamma, dbeta


@taught_in("batch_norm", check=contracts.layernorm_forward)
def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: each example normalized over its own features.

    Inputs:
    - x: (N, D) data
    - gamma: (D,) scale
    - beta: (D,) shift
    - ln_param: dict with optional "eps" (default 1e-5)

    Returns (out, cache): out is (N, D); cache holds what layernorm_backward needs.
    """
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


@taught_in("batch_norm", check=contracts.layernorm_backward)
def layernorm_backward(dout, cache):
    """Backward pass of layer norm.

    Inputs: dout (N, D) upstream gradient; cache from layernorm_forward.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    x_hat, inv_std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=1, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True))
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Dropout


@taught_in("dropout", check=contracts.dropout_forward)
def dropout_forward(x, dropout_param):
    """Inverted dropout.

    Inputs:
    - x: data of any shape
    - dropout_param: dict with "p" (probability of KEEPING each unit), "mode" ("train" or
      "test") and optional "seed": with it, the mask is drawn from np.random.default_rng(seed),
      so the same seed gives the same mask; without it, from the global np.random

    Returns (out, cache): out has x's shape and dtype; cache = (dropout_param, mask), mask None in test mode.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    seed = dropout_param.get("seed")
    rng = np.random if seed is None else np.random.default_rng(seed)
    mask = (rng.random(x.shape) < p).astype(x.dtype) / p
    return x * mask, (dropout_param, mask)


@taught_in("dropout", check=contracts.dropout_backward)
def dropout_backward(dout, cache):
    """Backward pass of inverted dropout.

    Inputs: dout (any shape) upstream gradient; cache from dropout_forward.
    Returns dx, of dout's shape.
    """
    _, mask = cache
    return dout if mask is None else dout * mask


# ---------------------------------------------------------------------------------------------
# Convolutional networks: convolution and max pooling from their definitions, spatial normalization


@taught_in("convolutional_networks", check=contracts.conv_forward_naive)
def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward pass, from the definition.

    Inputs:
    - x: (N, C, H, W) images
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with "stride" and "pad"

    Returns (out, cache): out (N, F, OH, OW) with OH = 1 + (H + 2 * pad - HH) // stride
    (OW likewise) and the inputs' dtype, cache = (x, w, b, conv_param).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    OH, OW = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, OH, OW), dtype=np.result_type(x, w, b))
    for i in range(OH):
        for j in range(OW):
            window = x_pad[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


@taught_in("convolutional_networks", check=contracts.conv_backward_naive)
def conv_backward_naive(dout, cache):
    """Convolution backward pass.

    Inputs: dout (N, F, OH, OW) upstream gradient; cache = (x, w, b, conv_param).
    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
            dw += np.tensordot(dout[:, :, i, j], x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dx_pad[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@taught_in("convolutional_networks", check=contracts.max_pool_forward_naive)
def max_pool_forward_naive(x, pool_param):
    """Max pooling forward pass.

    Inputs: x (N, C, H, W); pool_param with "pool_height", "pool_width" and "stride".
    Returns (out, cache): out (N, C, OH, OW) with OH = 1 + (H - pool_height) // stride
    (OW likewise) and x's dtype, cache = (x, pool_param).
    """
    height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    OH, OW = 1 + (H - height) // stride, 1 + (W - width) // stride
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + height, j * stride : j * stride + width].max(
                axis=(2, 3)
            )
    return out, (x, pool_param)


@taught_in("convolutional_networks", check=contracts.max_pool_backward_naive)
def max_pool_backward_naive(dout, cache):
    """Max pooling backward pass.

    Inputs: dout (N, C, OH, OW); cache = (x, pool_param).
    Returns dx (N, C, H, W).
    """
    x, pool_param = cache
    height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C = x.shape[:2]
    n, c = np.ogrid[:N, :C]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride : i * stride + height, j * stride : j * stride + width]
            best = window.reshape(N, C, height * width).argmax(axis=2)  # first maximum of each window
            dx[n, c, i * stride + best // width, j * stride + best % width] += dout[:, :, i, j]
    return dx


@taught_in("convolutional_networks", check=contracts.spatial_batchnorm_forward)
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch norm forward pass.

    Inputs: x (N, C, H, W); gamma, beta (C,); bn_param as for batchnorm_forward
    ("mode", and optionally "eps", "momentum", "running_mean", "running_var").
    Returns (out, cache): out (N, C, H, W).
    """
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


@taught_in("convolutional_networks", check=contracts.spatial_batchnorm_backward)
def spatial_batchnorm_backward(dout, cache):
    """Spatial batch norm backward pass.

    Inputs: dout (N, C, H, W); cache from spatial_batchnorm_forward.
    Returns (dx, dgamma, dbeta) of shapes (N, C, H, W), (C,), (C,).
    """
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


@taught_in("convolutional_networks", check=contracts.spatial_groupnorm_forward)
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Spatial group norm forward pass.

    Inputs: x (N, C, H, W); gamma, beta (1, C, 1, 1); G, the number of groups (it divides C);
    gn_param with optional "eps" (default 1e-5).
    Returns (out, cache): out (N, C, H, W).
    """
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    groups = x.reshape(N, G, C // G * H * W)  # sizes spelled out: -1 is ambiguous when N is 0
    inv_std = 1 / np.sqrt(groups.var(axis=2, keepdims=True) + eps)
    x_hat = ((groups - groups.mean(axis=2, keepdims=True)) * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma, G)


@taught_in("convolutional_networks", check=contracts.spatial_groupnorm_backward)
def spatial_groupnorm_backward(dout, cache):
    """Spatial group norm backward pass.

    Inputs: dout (N, C, H, W); cache from spatial_groupnorm_forward.
    Returns (dx, dgamma, dbeta) of shapes (N, C, H, W), (1, C, 1, 1), (1, C, 1, 1).
    """
    x_hat, inv_std, gamma, G = cache
    N, C, H, W = dout.shape
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dx_hat, x_hat = (dout * gamma).reshape(N, G, C // G * H * W), x_hat.reshape(N, G, C // G * H * W)
    dx = inv_std * (dx_hat - dx_hat.mean(axis=2, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=2, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta
