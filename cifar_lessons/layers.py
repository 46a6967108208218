"""Reference layers, NumPy only: ``*_forward(x, ...) -> (out, cache)``, ``*_backward(dout, cache)``."""
import numpy as np


# ---------------------------------------------------------------------------------------------
# Chapter 1: affine, ReLU and the two classification losses


def _check_dout(name, dout, expected_shape):
    if np.shape(dout) != tuple(expected_shape):
        raise ValueError(f"{name}: dout must have the shape of the forward output {tuple(expected_shape)}, "
                         f"got {np.shape(dout)}")


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
        raise ValueError(f"affine_forward: x of shape {np.shape(x)} does not flatten to (N, {D}) rows as w "
                         f"of shape {w.shape} needs; x must be (N, d_1, ..., d_k) with d_1 * ... * d_k = {D}")
    if np.shape(b) != (M,):
        raise ValueError(f"affine_forward: b must have shape ({M},) to match w of shape {w.shape}, "
                         f"got {np.shape(b)}")
    out = x.reshape(x.shape[0], D) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients of an affine layer.

    Inputs: dout (N, M) upstream gradient; cache = (x, w, b) from :func:`affine_forward`.
    Returns ``(dx, dw, db)`` with the shapes of x (N, d_1, ..., d_k), w (D, M) and b (M,).
    """
    x, w, b = cache
    _check_dout("affine_backward", dout, (x.shape[0], w.shape[1]))
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
    _check_dout("relu_backward", dout, x.shape)
    return dout * (x > 0)


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


def _check_scores_and_labels(name, x, y):
    if np.ndim(x) != 2:
        raise ValueError(f"{name}: x must be 2-D scores (N, C), got shape {np.shape(x)}")
    N, C = x.shape
    y = np.asarray(y)
    if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name}: y must be ({N},) integer labels to match x of shape {x.shape}, "
                         f"got {y.dtype} of shape {y.shape}")
    if N and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"{name}: labels must lie in 0..{C - 1} for {C} classes, "
                         f"found {y.min()}..{y.max()}")
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
