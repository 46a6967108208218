"""Networks assembled from the layer functions in :mod:`cifar_lessons.from_scratch.layers`."""

import numpy as np

from cifar_lessons.from_scratch import fast_layers, layer_utils, layers

# normalization name -> its (forward, backward) layer functions
NORMALIZATIONS = {
    "batchnorm": (layers.batchnorm_forward, layers.batchnorm_backward_alt),
    "layernorm": (layers.layernorm_forward, layers.layernorm_backward),
}


def _check_model_settings(reg, weight_scale, dtype):
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    if not weight_scale > 0:
        raise ValueError(f"weight_scale must be > 0, got {weight_scale}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}")


class FullyConnectedBase:
    """The parameters and settings of a fully connected network, without its passes.

    A subclass defines the passes: ``hidden_forward(x, i)`` and ``hidden_backward(dout, cache,
    i, grads)`` for hidden layer i, and ``loss(X, y=None)``, which runs them. Chapter 02 writes
    them for ``{affine - relu} x (L - 1) - affine - softmax``; chapters 03 and 04 override the
    two hooks (and ``loss``, to switch train and test mode) to add normalization and dropout.
    :class:`NormalizedNet` and :class:`FullyConnectedNet` are the book's own.

    Parameters live in ``self.params``: ``W1, b1, ..., WL, bL`` and, with normalization,
    ``gamma1, beta1, ..., gamma{L-1}, beta{L-1}``. Weights are drawn from
    N(0, weight_scale**2), biases start at 0, gammas at 1 and betas at 0.

    Inputs:
        hidden_dims: sizes of the hidden layers, e.g. ``[100, 100]`` (may be empty: softmax regression)
        input_dim: values per example (3 * 32 * 32 for CIFAR-10)
        num_classes: number of scores per example
        dropout_keep_ratio: probability of KEEPING a hidden unit; 1 means no dropout
        normalization: None, "batchnorm" or "layernorm"
        reg: L2 strength; the loss adds ``0.5 * reg * sum(W**2)`` over the weight matrices
        weight_scale: standard deviation of the initial weights
        dtype: float32 to train fast, float64 to check gradients
        seed: fixes the initial weights and one dropout mask reused by every call, as gradient
            checks need; None draws the weights, and a fresh mask per training pass, from
            NumPy's global generator (which ``start(seed)`` seeds), as training needs

    Settings for the passes: ``num_layers`` (L), ``reg``, ``dtype``, ``normalization``,
    ``bn_params`` (one dict per hidden layer, for batch or layer norm), ``use_dropout`` and
    ``dropout_param``.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout_keep_ratio=1,
        normalization=None,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        hidden_dims = list(hidden_dims)
        if not all(isinstance(d, (int, np.integer)) and d > 0 for d in hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {hidden_dims}")
        if normalization is not None and normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be None or one of {sorted(NORMALIZATIONS)}, got {normalization!r}")
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(
                f"dropout_keep_ratio is the probability of keeping a unit and must lie in "
                f"(0, 1], got {dropout_keep_ratio}"
            )
        _check_model_settings(reg, weight_scale, dtype)
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = len(hidden_dims) + 1
        self.dtype = dtype
        self.params = {}

        rng = np.random if seed is None else np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal((fan_in, fan_out))).astype(dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=dtype)

        # Dropout and batchnorm behave differently in training and testing: loss() sets "mode".
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]


class NormalizedNet(FullyConnectedBase):
    """Hidden layers of affine - [batch/layer norm] - relu, then a softmax classifier::

        {affine - [batch/layer norm] - relu} x (L - 1) - affine - softmax

    Chapter 03's network. It takes :class:`FullyConnectedBase`'s settings but applies no
    dropout: :class:`FullyConnectedNet` adds it, as chapter 04 does.

    ``input_gradient``: whether layer 1's backward pass also computes the gradient of the data
    X. Nothing uses it, and it is the largest matrix product of the network (N x 3072 x D_1
    multiply-adds for CIFAR-10), so by default it is skipped, as PyTorch skips the gradient of an
    input that does not require one; :meth:`hidden_backward` then returns None for layer 1.
    """

    input_gradient = False

    def hidden_forward(self, x, i):
        """Hidden layer i (1-based): affine, [norm], ReLU.

        Inputs: x (N, D_{i-1}) (for i = 1, any (N, d_1, ..., d_k) that flattens to input_dim).
        Returns (out, cache): out (N, D_i), cache for :meth:`hidden_backward`.
        """
        out, fc_cache = layers.affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])
        norm_cache = None
        if self.normalization:
            forward, _ = NORMALIZATIONS[self.normalization]
            out, norm_cache = forward(out, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1])
        out, relu_cache = layers.relu_forward(out)
        return out, (fc_cache, norm_cache, relu_cache)

    def hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i: dout (N, D_i) -> dx of x's shape (None for layer 1
        unless ``input_gradient`` is set).

        Stores the gradients of the layer's parameters (W{i}, b{i}, and gamma{i}, beta{i} with
        normalization) in ``grads``, without the L2 term, which :meth:`loss` adds.
        """
        fc_cache, norm_cache, relu_cache = cache
        dout = layers.relu_backward(dout, relu_cache)
        if self.normalization:
            _, backward = NORMALIZATIONS[self.normalization]
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = backward(dout, norm_cache)
        if i == 1 and not self.input_gradient:
            x = fc_cache[0]  # affine_backward's dw and db, without its dx
            grads["W1"], grads["b1"] = x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
            return None
        dx, grads[f"W{i}"], grads[f"b{i}"] = layers.affine_backward(dout, fc_cache)
        return dx

    def loss(self, X, y=None):
        """Scores, or loss and gradients.

        Inputs: X (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim; y (N,) integer labels or None.
        Returns scores (N, num_classes) when y is None (test mode: running batchnorm
        statistics); otherwise ``(loss, grads)`` with grads[name] shaped like params[name].
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = "test" if y is None else "train"

        out, caches = X, []
        for i in range(1, self.num_layers):
            out, cache = self.hidden_forward(out, i)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = layers.affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dout = self.hidden_backward(dout, caches[i - 1], i, grads)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return float(loss), grads


class FullyConnectedNet(NormalizedNet):
    """Any number of hidden layers, then a softmax classifier::

        {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    :class:`NormalizedNet` with a dropout layer after every hidden ReLU when
    ``dropout_keep_ratio`` < 1; its inputs and parameters are :class:`FullyConnectedBase`'s.
    ``loss(X, y=None)`` returns the scores (N, num_classes) when y is None (test mode: no
    dropout, running batchnorm statistics), otherwise ``(loss, grads)``.
    """

    def hidden_forward(self, x, i):
        """Hidden layer i (1-based): affine, [norm], ReLU, [dropout]. Returns (out (N, D_i), cache)."""
        out, cache = super().hidden_forward(x, i)
        drop_cache = None
        if self.use_dropout:
            out, drop_cache = layers.dropout_forward(out, self.dropout_param)
        return out, (cache, drop_cache)

    def hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i; stores its parameter gradients in ``grads``, returns dx."""
        cache, drop_cache = cache
        if self.use_dropout:
            dout = layers.dropout_backward(dout, drop_cache)
        return super().hidden_backward(dout, cache, i, grads)

    def loss(self, X, y=None):
        """Scores (N, num_classes) when y is None, otherwise ``(loss, grads)``; see :class:`NormalizedNet`."""
        if self.use_dropout:
            self.dropout_param["mode"] = "test" if y is None else "train"
        return super().loss(X, y)


class ThreeLayerConvNet:
    """A small convolutional network::

        conv - [spatial batch/group norm] - relu - 2x2 max pool - affine - relu - affine - softmax

    The convolution has stride 1 and pads by (filter_size - 1) // 2, so it keeps the
    height and width; the pool halves them. Parameters in ``self.params``: W1 (F, C, fs, fs),
    b1 (F,), W2 (F * H/2 * W/2, hidden_dim), b2, W3 (hidden_dim, num_classes), b3, and with
    normalization gamma1, beta1: (F,) for batch norm, (1, F, 1, 1) for group norm.
    Weights are drawn from N(0, weight_scale**2), biases start at 0, gamma1 at 1, beta1 at 0.
    It runs on the fast layers of :mod:`cifar_lessons.from_scratch.fast_layers`.

    Inputs:
        input_dim: (C, H, W) of one example; H and W even, so the pool tiles them
        num_filters: F, filters in the convolution
        filter_size: odd width and height of the filters
        hidden_dim: units of the hidden affine layer
        num_classes: number of scores per example
        weight_scale: standard deviation of the initial weights
        reg: L2 strength; the loss adds ``0.5 * reg * sum(W**2)`` over W1, W2, W3
        dtype: float32 to train fast, float64 to check gradients
        seed: fixes the initial weights (None: fresh randomness)
        normalization: None, "batchnorm" (spatial batch norm) or "groupnorm", after the convolution
        groups: G, the groups of channels of group norm (a divisor of num_filters)
    """

    NORMALIZATIONS = (None, "batchnorm", "groupnorm")

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
        normalization=None,
        groups=4,
    ):
        C, H, W = input_dim
        for name, value in (
            ("num_filters", num_filters),
            ("filter_size", filter_size),
            ("hidden_dim", hidden_dim),
            ("num_classes", num_classes),
        ):
            if not (isinstance(value, (int, np.integer)) and value > 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so the padded convolution keeps H and W, got {filter_size}")
        if H % 2 or W % 2:
            raise ValueError(f"input_dim {tuple(input_dim)}: H and W must be even for the 2x2 pool")
        if normalization not in self.NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {self.NORMALIZATIONS}, got {normalization!r}")
        if normalization == "groupnorm" and (
            not isinstance(groups, (int, np.integer)) or groups < 1 or num_filters % groups
        ):
            raise ValueError(f"groups must be a positive divisor of num_filters={num_filters}, got {groups!r}")
        _check_model_settings(reg, weight_scale, dtype)
        self.normalization = normalization
        self.groups = groups
        self.reg = reg
        self.dtype = dtype
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        rng = np.random.default_rng(seed)
        shapes = {
            "W1": (num_filters, C, filter_size, filter_size),
            "W2": (num_filters * H * W // 4, hidden_dim),
            "W3": (hidden_dim, num_classes),
        }
        self.params = {}
        for i, shape in enumerate(shapes.values(), start=1):
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal(shape)).astype(dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if i == 1 else shape[1], dtype=dtype)
        # The norm's state, as FullyConnectedNet keeps it (the Solver saves the best model's):
        # batch norm's mode and running statistics; group norm has neither.
        self.bn_params = []
        if normalization:
            norm_shape = (num_filters,) if normalization == "batchnorm" else (1, num_filters, 1, 1)
            self.params["gamma1"] = np.ones(norm_shape, dtype=dtype)
            self.params["beta1"] = np.zeros(norm_shape, dtype=dtype)
            self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {}]

    def conv_block_forward(self, X):
        """The block before the affine layers, conv - [norm] - relu - 2x2 max pool, on X (N, C, H, W).

        Returns (out, cache): out (N, F, H/2, W/2), cache for :meth:`conv_block_backward`.
        """
        p = self.params
        if not self.normalization:
            return layer_utils.conv_relu_pool_forward(X, p["W1"], p["b1"], self.conv_param, self.pool_param)
        a, conv_cache = fast_layers.conv_forward_fast(X, p["W1"], p["b1"], self.conv_param)
        if self.normalization == "batchnorm":
            a, norm_cache = layers.spatial_batchnorm_forward(a, p["gamma1"], p["beta1"], self.bn_params[0])
        else:
            a, norm_cache = layers.spatial_groupnorm_forward(a, p["gamma1"], p["beta1"], self.groups, self.bn_params[0])
        a, relu_cache = layers.relu_forward(a)
        out, pool_cache = fast_layers.max_pool_forward_fast(a, self.pool_param)
        return out, (conv_cache, norm_cache, relu_cache, pool_cache)

    def conv_block_backward(self, dout, cache, grads):
        """Backward through :meth:`conv_block_forward`: dout (N, F, H/2, W/2) -> dX (N, C, H, W).

        Stores the block's parameter gradients (W1, b1, and gamma1, beta1 with a norm) in ``grads``.
        """
        if not self.normalization:
            dX, grads["W1"], grads["b1"] = layer_utils.conv_relu_pool_backward(dout, cache)
            return dX
        conv_cache, norm_cache, relu_cache, pool_cache = cache
        da = layers.relu_backward(fast_layers.max_pool_backward_fast(dout, pool_cache), relu_cache)
        if self.normalization == "batchnorm":
            da, grads["gamma1"], grads["beta1"] = layers.spatial_batchnorm_backward(da, norm_cache)
        else:
            da, grads["gamma1"], grads["beta1"] = layers.spatial_groupnorm_backward(da, norm_cache)
        dX, grads["W1"], grads["b1"] = fast_layers.conv_backward_fast(da, conv_cache)
        return dX

    def loss(self, X, y=None):
        """Scores, or loss and gradients.

        Inputs: X (N, C, H, W); y (N,) integer labels or None.
        Returns scores (N, num_classes) when y is None (batch norm then uses its running
        statistics), otherwise ``(loss, grads)`` with grads[name] shaped like params[name].
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        p = self.params
        if self.normalization == "batchnorm":
            self.bn_params[0]["mode"] = "test" if y is None else "train"
        pooled, conv_cache = self.conv_block_forward(X)
        hidden, hidden_cache = layer_utils.affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = layers.affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = layers.affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = layer_utils.affine_relu_backward(dhidden, hidden_cache)
        self.conv_block_backward(dpooled, conv_cache, grads)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[name] * p[name])
            grads[name] += self.reg * p[name]
        return float(loss), grads
