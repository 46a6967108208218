"""Chapter 05's exercises solved as a learner might, correctly but not as the book does: other loop
orders, einsum, moveaxis, the group norm backward in one fraction, the softmax in float64, the L2
term summed from the last weight down. Its float32 rounding differs from the book's, which is what
tests/test_convolutional_networks_learner.py needs: the chapter's assertions must hold for it too.

The chapter's notebook pastes each definition into its own solution cell, where the names of
earlier chapters (affine_forward, softmax_loss, batchnorm_forward, ...) are the notebook's; the
imports below only make this file importable on its own.
"""

import numpy as np

from cifar_lessons.from_scratch import fast_layers, layers

affine_forward, affine_backward = layers.affine_forward, layers.affine_backward
relu_forward, relu_backward = layers.relu_forward, layers.relu_backward
batchnorm_forward, batchnorm_backward = layers.batchnorm_forward, layers.batchnorm_backward


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    OH, OW = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    out = np.empty((N, F, OH, OW), dtype=np.result_type(x, w))
    for f in range(F):  # filter by filter: sums in another order than the book's
        for i in range(OH):
            for j in range(OW):
                out[:, f, i, j] = (xp[:, :, i * s : i * s + HH, j * s : j * s + WW] * w[f]).sum(axis=(1, 2, 3)) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = xp[:, :, i * s : i * s + HH, j * s : j * s + WW]
            g = dout[:, :, i, j]
            dw += np.einsum("nf,nchw->fchw", g, window)
            dxp[:, :, i * s : i * s + HH, j * s : j * s + WW] += np.einsum("nf,fchw->nchw", g, w)
    return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.empty((N, C, 1 + (H - h) // s, 1 + (W - w) // s), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * s : i * s + h, j * s : j * s + w].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s : i * s + h, j * s : j * s + w]
        a, bb = np.unravel_index(window.argmax(), window.shape)
        dx[n, c, i * s + a, j * s + bb] += dout[n, c, i, j]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    flat = np.moveaxis(x, 1, -1).reshape(-1, C)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return np.moveaxis(out.reshape(N, H, W, C), -1, 1), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(np.moveaxis(dout, 1, -1).reshape(-1, C), cache)
    return np.moveaxis(dx.reshape(N, H, W, C), -1, 1), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    g = x.reshape(N, G, -1)
    mu = g.mean(axis=2, keepdims=True)
    var = ((g - mu) ** 2).mean(axis=2, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = ((g - mu) / std).reshape(N, C, H, W)
    return xhat * gamma + beta, (xhat, std, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, std, gamma, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(1, C, 1, 1)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(1, C, 1, 1)
    dxh = (dout * gamma).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    M = xh.shape[2]
    dx = (M * dxh - dxh.sum(axis=2, keepdims=True) - xh * (dxh * xh).sum(axis=2, keepdims=True)) / (M * std)
    return dx.reshape(N, C, H, W), dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    r, relu_cache = relu_forward(a)
    out, pool_cache = fast_layers.max_pool_forward_fast(r, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    drelu = fast_layers.max_pool_backward_fast(dout, pool_cache)
    return fast_layers.conv_backward_fast(relu_backward(drelu, relu_cache), conv_cache)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


class ThreeLayerConvNet:
    def __init__(
        self,
        input_dim=(3, 32, 32),
        num_filters=32,
        filter_size=7,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
        dtype=np.float32,
        seed=None,
    ):
        C, H, W = input_dim
        rng = np.random if seed is None else np.random.default_rng(seed)
        self.reg, self.dtype = reg, dtype
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        W1 = weight_scale * rng.standard_normal((num_filters, C, filter_size, filter_size))
        W2 = weight_scale * rng.standard_normal((num_filters * (H // 2) * (W // 2), hidden_dim))
        W3 = weight_scale * rng.standard_normal((hidden_dim, num_classes))
        self.params = {
            k: v.astype(dtype)
            for k, v in dict(
                W1=W1, b1=np.zeros(num_filters), W2=W2, b2=np.zeros(hidden_dim), W3=W3, b3=np.zeros(num_classes)
            ).items()
        }

    def conv_block_forward(self, X):
        return conv_relu_pool_forward(X, self.params["W1"], self.params["b1"], self.conv_param, self.pool_param)

    def conv_block_backward(self, dout, cache, grads):
        dX, grads["W1"], grads["b1"] = conv_relu_pool_backward(dout, cache)
        return dX

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        p = self.params
        a1, c1 = self.conv_block_forward(X)
        a2, c2 = affine_relu_forward(a1, p["W2"], p["b2"])
        scores, c3 = affine_forward(a2, p["W3"], p["b3"])
        if y is None:
            return scores
        shifted = scores.astype(np.float64) - scores.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        data_loss = -np.log(probabilities[np.arange(len(y)), y]).mean()
        probabilities[np.arange(len(y)), y] -= 1
        d = (probabilities / len(y)).astype(self.dtype)
        grads = {}
        d, grads["W3"], grads["b3"] = affine_backward(d, c3)
        d, grads["W2"], grads["b2"] = affine_relu_backward(d, c2)
        self.conv_block_backward(d, c1, grads)
        loss = data_loss
        for k in ("W3", "W2", "W1"):  # another order than the book's
            loss += 0.5 * self.reg * (p[k] ** 2).sum()
            grads[k] = grads[k] + self.reg * p[k]
        return float(loss), grads


class NormalizedConvNet(ThreeLayerConvNet):
    def __init__(self, normalization="batchnorm", groups=4, **settings):
        super().__init__(**settings)
        self.normalization, self.groups = normalization, groups
        F = len(self.params["b1"])
        shape = (F,) if normalization == "batchnorm" else (1, F, 1, 1)
        self.params["gamma1"] = np.ones(shape, self.dtype)
        self.params["beta1"] = np.zeros(shape, self.dtype)
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {}]

    def conv_block_forward(self, X):
        p = self.params
        a, conv_cache = fast_layers.conv_forward_fast(X, p["W1"], p["b1"], self.conv_param)
        if self.normalization == "batchnorm":
            n, norm_cache = spatial_batchnorm_forward(a, p["gamma1"], p["beta1"], self.bn_params[0])
        else:
            n, norm_cache = spatial_groupnorm_forward(a, p["gamma1"], p["beta1"], self.groups, self.bn_params[0])
        r, relu_cache = relu_forward(n)
        out, pool_cache = fast_layers.max_pool_forward_fast(r, self.pool_param)
        return out, (conv_cache, norm_cache, relu_cache, pool_cache)

    def conv_block_backward(self, dout, cache, grads):
        conv_cache, norm_cache, relu_cache, pool_cache = cache
        d = relu_backward(fast_layers.max_pool_backward_fast(dout, pool_cache), relu_cache)
        backward = spatial_batchnorm_backward if self.normalization == "batchnorm" else spatial_groupnorm_backward
        d, grads["gamma1"], grads["beta1"] = backward(d, norm_cache)
        dX, grads["W1"], grads["b1"] = fast_layers.conv_backward_fast(d, conv_cache)
        return dX

    def loss(self, X, y=None):
        if self.normalization == "batchnorm":
            self.bn_params[0]["mode"] = "train" if y is not None else "test"
        return super().loss(X, y)
