"""Reference layers, NumPy only: ``*_forward(x, ...) -> (out, cache)``, ``*_backward(dout, cache)``."""

import numpy as np

from cifar_lessons.from_scratch.shapes import check_dout, conv_geometry, float_dtype, pool_geometry

# ---------------------------------------------------------------------------------------------
# Backpropagation (notebook 01): affine, ReLU and the two classification losses


def affine_forward(x, w, b):
    """Fully connected layer: ``out = x.reshape(N, D) @ w + b``.

    Inputs:
        x: (N, d_1, ..., d_k), each example flattened to D = d_1 * ... * d_k values
        w: (D, M) weights
        b: (M,) biases
    Returns ``(out, cache)``: out (N, M), cache = (x, w, b).
    """
    if np.ndim(w) != 2:
        raise ValueError(f"affine_forward: w must be 2-D (D, M), got shape {np.shape(w)}")
    D, M = w.shape
    if np.ndim(x) < 2 or int(np.prod(x.shape[1:])) != D:
        raise ValueError(
            f"affine_forward: x of shape {np.shape(x)} does not flatten to (N, {D}) rows as w "
            f"of shape {w.shape} needs; x must be (N, d_1, ..., d_k) with d_1 * ... * d_k = {D}"
        )
    if np.shape(b) != (M,):
        raise ValueError(f"affine_forward: b must have shape ({M},) to match w of shape {w.shape}, got {np.shape(b)}")
    out = x.reshape(x.shape[0], D) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients of an affine layer.

    Inputs: dout (N, M) upstream gradient; cache = (x, w, b) from :func:`affine_forward`.
    Returns ``(dx, dw, db)`` with the shapes of x (N, d_1, ..., d_k), w (D, M) and b (M,).
    """
    x, w, b = cache
    check_dout("affine_backward", dout, (x.shape[0], w.shape[1]))
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: ``out = max(x, 0)``.

    Input x of any shape. Returns ``(out, cache)``: out of x's shape, cache = x.
    """
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Gradient of ReLU: dout passes where the input was positive, 0 elsewhere.

    Inputs: dout of x's shape; cache = x from :func:`relu_forward`. Returns dx of x's shape.
    """
    x = cache
    check_dout("relu_backward", dout, x.shape)
    return dout * (x > 0)


def _check_scores_and_labels(name, x, y):
    if np.ndim(x) != 2:
        raise ValueError(f"{name}: x must be 2-D scores (N, C), got shape {np.shape(x)}")
    N, C = x.shape
    if N == 0 or C == 0:  # the loss is a mean over the examples of a distribution over the classes
        raise ValueError(f"{name}: x must hold scores for at least one example and one class, got shape {x.shape}")
    y = np.asarray(y)
    if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name}: y must be ({N},) integer labels to match x of shape {x.shape}, got {y.dtype} of shape {y.shape}"
        )
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"{name}: labels must lie in 0..{C - 1} for {C} classes, found {y.min()}..{y.max()}")
    return y


def softmax_loss(x, y):
    """Mean cross-entropy of the softmax of the scores.

    Inputs: x (N, C) scores; y (N,) integer labels in 0..C-1.
    Returns ``(loss, dx)``: the scalar loss and its gradient dx (N, C).
    """
    y = _check_scores_and_labels("softmax_loss", x, y)
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)  # same softmax, no overflow in exp
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def svm_loss(x, y):
    """Mean multiclass hinge loss, margin 1: ``sum over j != y of max(0, x_j - x_y + 1)``.

    Inputs: x (N, C) scores; y (N,) integer labels in 0..C-1.
    Returns ``(loss, dx)``: the scalar loss and its gradient dx (N, C).
    """
    y = _check_scores_and_labels("svm_loss", x, y)
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    return loss, dx / N


# ---------------------------------------------------------------------------------------------
# Batch normalization (notebook 03) and dropout (notebook 04)

# Every normalization layer's defaults: eps keeps the division finite; momentum is batch norm's
# running-average decay (PyTorch's momentum=0.1).
NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.9}


def _check_norm_inputs(name, x, gamma, beta, eps):
    """Raise a clear ValueError unless x is (N, D), gamma and beta are (D,) and eps > 0."""
    if np.ndim(x) != 2:
        raise ValueError(
            f"{name}: x must be 2-D (N, D), got shape {np.shape(x)}; "
            "flatten each example first, e.g. x.reshape(len(x), -1)"
        )
    D = x.shape[1]
    for label, param in (("gamma", gamma), ("beta", beta)):
        if np.shape(param) != (D,):
            raise ValueError(
                f"{name}: {label} must have shape ({D},) to match x of shape {x.shape}, got {np.shape(param)}"
            )
    if not eps > 0:
        raise ValueError(f"{name}: eps must be > 0 (it keeps the division finite), got {eps}")


def _mode(name, param):
    mode = param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"{name}: mode must be 'train' or 'test', got {mode!r}")
    return mode


def _standardize(x, axis, eps):
    """(x - mean) / sqrt(var + eps) along ``axis``; returns x_hat and 1 / sqrt(var + eps)."""
    mean = x.mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - mean) * inv_std, inv_std


def _standardize_backward(dx_hat, x_hat, inv_std, axis):
    """Gradient through x_hat = standardize(x) along ``axis``, in closed form.

    With means over ``axis``: dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)).
    """
    return inv_std * (
        dx_hat - dx_hat.mean(axis=axis, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    )


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization: normalize each feature over the batch, then scale and shift.

    Train mode uses the batch's mean and (biased) variance and updates the running estimates
    in ``bn_param`` in place::

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * batch_var

    Test mode normalizes with the running estimates instead. They start at mean 0 and
    variance 1, so test mode before any training step leaves x unscaled rather than dividing
    by sqrt(eps).

    Inputs:
    - x: (N, D) data
    - gamma: (D,) scale
    - beta: (D,) shift
    - bn_param: dict with "mode" ("train" or "test"), optional "eps" (default 1e-5),
      "momentum" (default 0.9), "running_mean" (D,), "running_var" (D,)

    Returns (out, cache): out is (N, D); cache is what :func:`batchnorm_backward` needs.
    """
    mode = _mode("batchnorm_forward", bn_param)
    eps = bn_param.get("eps", NORM_DEFAULTS["eps"])
    momentum = bn_param.get("momentum", NORM_DEFAULTS["momentum"])
    _check_norm_inputs("batchnorm_forward", x, gamma, beta, eps)
    if not 0 <= momentum <= 1:
        raise ValueError(
            f"batchnorm_forward: momentum must be in [0, 1] (the weight kept by the running estimates), got {momentum}"
        )
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    for label, running in (("running_mean", running_mean), ("running_var", running_var)):
        if np.shape(running) != (D,):
            raise ValueError(
                f"batchnorm_forward: bn_param[{label!r}] has shape {np.shape(running)} "
                f"but x has {D} features; a bn_param belongs to one layer"
            )
    if mode == "test":
        out = (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta
        return out, None
    if N < 2:
        raise ValueError(
            "batchnorm_forward: train mode needs at least 2 rows to estimate a variance, "
            f"got x of shape {x.shape}; use a larger batch or mode='test'"
        )
    mean = x.mean(axis=0)
    centered = x - mean
    var = (centered**2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = centered / std
    out = gamma * x_hat + beta
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out, (x_hat, centered, std, gamma)


def batchnorm_backward(dout, cache):
    """Backward pass of train-mode batch norm, one step of the computational graph at a time.

    Inputs: dout (N, D) upstream gradient; cache from :func:`batchnorm_forward` (train mode).
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    x_hat, centered, std, gamma = _train_cache("batchnorm_backward", dout, cache)
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat = (x - mean) / sqrt(var + eps): x reaches x_hat directly, through var and through mean
    dvar = (dx_hat * centered).sum(axis=0) * -0.5 / std**3
    dmean = -dx_hat.sum(axis=0) / std  # var's own path through the mean adds nothing: sum(centered) = 0
    dx = dx_hat / std + dvar * 2 * centered / N + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """The same gradients as :func:`batchnorm_backward`, from the simplified closed form::

        dx = gamma / std * (dout - mean(dout) - x_hat * mean(dout * x_hat))   (means over the batch)

    Inputs and outputs as :func:`batchnorm_backward`.
    """
    x_hat, _, std, gamma = _train_cache("batchnorm_backward_alt", dout, cache)
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, 1.0 / std, axis=0)
    return dx, dgamma, dbeta


def _train_cache(name, dout, cache):
    if cache is None:
        raise ValueError(
            f"{name}: the cache comes from a test-mode forward pass, which has no "
            "backward pass; run batchnorm_forward with bn_param['mode'] = 'train'"
        )
    check_dout(name, dout, cache[0].shape)
    return cache


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: normalize each example over its features, then scale and shift.

    It uses no batch statistics, so train and test behave the same and any batch size works.

    Inputs:
    - x: (N, D) data
    - gamma: (D,) scale
    - beta: (D,) shift
    - ln_param: dict with optional "eps" (default 1e-5)

    Returns (out, cache): out is (N, D); cache is what :func:`layernorm_backward` needs.
    """
    eps = ln_param.get("eps", NORM_DEFAULTS["eps"])
    _check_norm_inputs("layernorm_forward", x, gamma, beta, eps)
    x_hat, inv_std = _standardize(x, axis=1, eps=eps)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def layernorm_backward(dout, cache):
    """Backward pass of layer norm.

    Inputs: dout (N, D) upstream gradient; cache from :func:`layernorm_forward`.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    x_hat, inv_std, gamma = cache
    check_dout("layernorm_backward", dout, x_hat.shape)
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Inverted dropout: in train mode keep each unit with probability p and divide by p.

    Dividing by p keeps every unit's expected value, so test mode is simply the identity.

    Inputs:
    - x: data of any shape
    - dropout_param: dict with "p" (the probability of KEEPING a unit, 0 < p <= 1), "mode"
      ("train" or "test") and optional "seed": with a seed every call draws the same mask
      (for gradient checks); without one the mask comes from NumPy's global generator.

    Returns (out, cache): out has x's shape; cache = (dropout_param, mask), mask None in test mode.
    """
    mode = _mode("dropout_forward", dropout_param)
    if "p" not in dropout_param:
        raise ValueError("dropout_forward: dropout_param needs 'p', the probability of keeping a unit")
    p = dropout_param["p"]
    if not 0 < p <= 1:
        raise ValueError(f"dropout_forward: p is the probability of KEEPING a unit and must be in (0, 1], got {p}")
    if mode == "test":
        return x, (dropout_param, None)
    seed = dropout_param.get("seed")
    rng = np.random if seed is None else np.random.default_rng(seed)
    mask = (rng.random(np.shape(x)) < p).astype(np.result_type(x, np.float32)) / p
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout: the same mask lets the same units' gradients through.

    Inputs: dout (any shape) upstream gradient; cache from :func:`dropout_forward`.
    Returns dx, of dout's shape.
    """
    _, mask = cache
    if mask is None:
        return dout
    check_dout("dropout_backward", dout, mask.shape)
    return dout * mask


# ---------------------------------------------------------------------------------------------
# Convolutional networks (notebook 05): convolution, max pooling, spatial normalization


def conv_forward_naive(x, w, b, conv_param):
    """Convolution (cross-correlation, as in every deep learning library), straight from its formula.

    out[n, f, i, j] = b[f] + sum over c, di, dj of w[f, c, di, dj] * x_pad[n, c, i*stride + di, j*stride + dj]

    Inputs:
    - x: (N, C, H, W) images
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with "stride" (step between windows) and "pad" (zeros added on every side)

    The windows must tile the padded input: (H + 2*pad - HH) must be a multiple of stride (W too).
    Returns (out, cache): out is (N, F, OH, OW) with OH = 1 + (H + 2*pad - HH) // stride, OW likewise.
    """
    stride, pad, OH, OW = conv_geometry(x, w, b, conv_param)
    N, F, HH, WW = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, OH, OW), dtype=float_dtype(x, w, b))
    for i in range(OH):
        for j in range(OW):
            window = x_pad[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]  # (N, C, HH, WW)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x.copy(), w.copy(), b.copy(), dict(conv_param))


def conv_backward_naive(dout, cache):
    """Gradients of :func:`conv_forward_naive`: every window sends its share back.

    Inputs: dout (N, F, OH, OW) upstream gradient; cache = (x, w, b, conv_param).
    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x, w, b, conv_param = cache
    stride, pad, OH, OW = conv_geometry(x, w, b, conv_param)
    check_dout("conv_backward_naive", dout, (x.shape[0], w.shape[0], OH, OW))
    H, W, HH, WW = x.shape[2], x.shape[3], w.shape[2], w.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for i in range(OH):
        for j in range(OW):
            rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
            grad = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(grad, x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(grad, w, axes=([1], [0]))
    return dx_pad[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    """Max pooling: the largest value of every pool_height x pool_width window.

    Inputs: x (N, C, H, W); pool_param with "pool_height", "pool_width" and "stride"
    ((H - pool_height) must be a multiple of stride, W too).
    Returns (out, cache): out (N, C, OH, OW) with OH = 1 + (H - pool_height) // stride, OW likewise.
    """
    height, width, stride, OH, OW = pool_geometry(x, pool_param)
    out = np.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + height, j * stride : j * stride + width].max(
                axis=(2, 3)
            )
    return out, (x.copy(), dict(pool_param))


def max_pool_backward_naive(dout, cache):
    """Gradient of max pooling: each window's dout goes to its maximum (the first one on ties).

    Inputs: dout (N, C, OH, OW); cache = (x, pool_param). Returns dx (N, C, H, W).
    """
    x, pool_param = cache
    height, width, stride, OH, OW = pool_geometry(x, pool_param)
    check_dout("max_pool_backward_naive", dout, x.shape[:2] + (OH, OW))
    N, C = x.shape[:2]
    n, c = np.ogrid[:N, :C]
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride : i * stride + height, j * stride : j * stride + width]
            best = window.reshape(N, C, height * width).argmax(axis=2)
            dx[n, c, i * stride + best // width, j * stride + best % width] += dout[:, :, i, j]
    return dx


def _channels_last(x):
    """(N, C, H, W) -> (N*H*W, C): one row per pixel, so each channel is a feature."""
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)  # sizes spelled out: -1 is ambiguous when C is 0


def _channels_first(rows, shape):
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm for images: every channel is normalized over the batch and all its pixels.

    Inputs: x (N, C, H, W); gamma, beta (C,); bn_param as in :func:`batchnorm_forward`.
    Returns (out, cache): out (N, C, H, W).
    """
    if np.ndim(x) != 4:
        raise ValueError(f"spatial_batchnorm_forward: x must be (N, C, H, W), got shape {np.shape(x)}")
    out, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Gradients of :func:`spatial_batchnorm_forward`: dout (N, C, H, W) -> (dx, dgamma (C,), dbeta (C,))."""
    bn_cache, shape = cache
    check_dout("spatial_batchnorm_backward", dout, shape)
    dx, dgamma, dbeta = batchnorm_backward(_channels_last(dout), bn_cache)
    return _channels_first(dx, shape), dgamma, dbeta


def _check_groupnorm_inputs(x, gamma, beta, G, eps):
    if np.ndim(x) != 4:
        raise ValueError(f"spatial_groupnorm_forward: x must be (N, C, H, W), got shape {np.shape(x)}")
    C = x.shape[1]
    for label, param in (("gamma", gamma), ("beta", beta)):
        if np.shape(param) != (1, C, 1, 1):
            raise ValueError(
                f"spatial_groupnorm_forward: {label} must have shape (1, {C}, 1, 1), got {np.shape(param)}"
            )
    if isinstance(G, bool) or int(G) != G or G < 1 or C % G:
        raise ValueError(f"spatial_groupnorm_forward: G must be a positive divisor of the {C} channels, got {G!r}")
    if not eps > 0:
        raise ValueError(f"spatial_groupnorm_forward: eps must be > 0 (it keeps the division finite), got {eps}")


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group norm: each image's channels split into G groups, each group normalized over its
    channels and pixels, then every channel scaled and shifted. No batch statistics: train and
    test behave the same. (G = 1 is layer norm over C, H, W; G = C is instance norm.)

    Inputs: x (N, C, H, W); gamma, beta (1, C, 1, 1); G groups (a divisor of C);
    gn_param: dict with optional "eps" (default 1e-5).
    Returns (out, cache): out (N, C, H, W).
    """
    eps = gn_param.get("eps", NORM_DEFAULTS["eps"])
    _check_groupnorm_inputs(x, gamma, beta, G, eps)
    N, C, H, W = x.shape
    group_size = C // int(G) * H * W  # spelled out: -1 is ambiguous in an empty batch
    x_hat, inv_std = _standardize(x.reshape(N, int(G), group_size), axis=2, eps=eps)
    x_hat = x_hat.reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma, int(G))


def spatial_groupnorm_backward(dout, cache):
    """Gradients of :func:`spatial_groupnorm_forward`.

    Inputs: dout (N, C, H, W); cache from the forward pass.
    Returns (dx, dgamma, dbeta) of shapes (N, C, H, W), (1, C, 1, 1), (1, C, 1, 1).
    """
    x_hat, inv_std, gamma, G = cache
    check_dout("spatial_groupnorm_backward", dout, x_hat.shape)
    N, C, H, W = x_hat.shape
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    groups = (N, G, C // G * H * W)  # spelled out: -1 is ambiguous in an empty batch
    dx = _standardize_backward((dout * gamma).reshape(groups), x_hat.reshape(groups), inv_std, axis=2)
    return dx.reshape(x_hat.shape), dgamma, dbeta
