"""The networks the NumPy chapters build from their layers.

The fully connected networks grow chapter by chapter, each a subclass of the last:
:class:`FullyConnectedNet` (lesson fully_connected), :class:`NormalizedNet` (batch_norm), which
puts batch or layer norm in every hidden layer, and :class:`DropoutNet` (dropout), which adds
dropout. The convolutional network, :class:`ThreeLayerConvNet`, gets a normalization in
:class:`NormalizedConvNet` (both convolutional_networks). Their bases, which build the
parameters from the settings, are given.
"""

import numpy as np

from cifar_lessons.from_scratch import fast_layers
from cifar_lessons.from_scratch.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cifar_lessons.from_scratch.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from cifar_lessons.teaching import taught_in


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
    :class:`FullyConnectedNet`, :class:`NormalizedNet` and :class:`DropoutNet` are the book's.

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
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(f"normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}")
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


@taught_in("fully_connected")
class FullyConnectedNet(FullyConnectedBase):
    """Any number of hidden layers, then a softmax classifier::

        {affine - relu} x (L - 1) - affine - softmax

    FullyConnectedBase.__init__(hidden_dims, input_dim, num_classes, reg, weight_scale, dtype,
    seed, ...) sets self.params (W1, b1, ..., WL, bL; Wi of shape (D_{i-1}, D_i) with
    D_0 = input_dim and D_L = num_classes), self.num_layers (L), self.reg and self.dtype.
    """

    def hidden_forward(self, x, i):
        """Hidden layer i (1 <= i < L): affine with W{i}, b{i}, then ReLU.

        Inputs: x (N, D_{i-1}) (for i = 1, any (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim).
        Returns (out, cache): out (N, D_i), cache for hidden_backward.
        """
        out, fc_cache = affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])
        out, relu_cache = relu_forward(out)
        return out, (fc_cache, relu_cache)

    def hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i.

        Inputs: dout (N, D_i); cache from hidden_forward(x, i); grads, a dict in which to store
        the gradients of W{i} (D_{i-1}, D_i) and b{i} (D_i,), without the L2 term.
        Returns dx, of x's shape.
        """
        fc_cache, relu_cache = cache
        dout = relu_backward(dout, relu_cache)
        dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
        return dx

    def loss(self, X, y=None):
        """Scores, or loss and gradients, running hidden layer i through self.hidden_forward and
        self.hidden_backward.

        Inputs: X (N, d_1, ..., d_k), cast to self.dtype first; y (N,) integer labels, or None.
        Returns the scores (N, num_classes) when y is None (test mode); otherwise (loss, grads):
        loss, a float, is the softmax loss plus 0.5 * reg * sum(W**2) over W1 ... WL, and
        grads[name] has the shape of self.params[name].
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        out, caches = X, []
        for i in range(1, self.num_layers):
            out, cache = self.hidden_forward(out, i)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dout = self.hidden_backward(dout, caches[i - 1], i, grads)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return float(loss), grads


@taught_in("batch_norm")
class NormalizedNet(FullyConnectedNet):
    """FullyConnectedNet with a normalization between each hidden affine layer and its ReLU::

        {affine - [batch/layer norm] - relu} x (L - 1) - affine - softmax

    self.normalization (None, "batchnorm" or "layernorm") names the norm. FullyConnectedBase.__init__
    adds its parameters, params["gamma{i}"] (ones) and params["beta{i}"] (zeros) of shape (D_i,),
    and one dict per hidden layer in self.bn_params: bn_params[i - 1] is hidden layer i's bn_param
    (batch norm: its "mode" and running averages) or ln_param (layer norm).
    """

    def hidden_forward(self, x, i):
        """Hidden layer i (1 <= i < L): affine with W{i}, b{i}, the norm with gamma{i}, beta{i}, ReLU.

        Inputs: x (N, D_{i-1}) (for i = 1, any (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim).
        Returns (out, cache): out (N, D_i), cache for hidden_backward.
        """
        out, fc_cache = affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])
        gamma, beta, norm_cache = self.params.get(f"gamma{i}"), self.params.get(f"beta{i}"), None
        if self.normalization == "batchnorm":
            out, norm_cache = batchnorm_forward(out, gamma, beta, self.bn_params[i - 1])
        elif self.normalization == "layernorm":
            out, norm_cache = layernorm_forward(out, gamma, beta, self.bn_params[i - 1])
        out, relu_cache = relu_forward(out)
        return out, (fc_cache, norm_cache, relu_cache)

    def hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i.

        Inputs: dout (N, D_i); cache from hidden_forward(x, i); grads, a dict in which to store the
        gradients of W{i} (D_{i-1}, D_i), b{i} (D_i,) and, with a norm, gamma{i} and beta{i} (D_i,).
        Returns dx, of x's shape.
        """
        fc_cache, norm_cache, relu_cache = cache
        dout = relu_backward(dout, relu_cache)
        if self.normalization == "batchnorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward_alt(dout, norm_cache)
        elif self.normalization == "layernorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm_cache)
        dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
        return dx

    def loss(self, X, y=None):
        """FullyConnectedNet's loss, with batch norm in train mode when y is given, in test mode when not.

        Inputs: X (N, d_1, ..., d_k); y (N,) integer labels, or None.
        Returns the scores (N, num_classes) when y is None; otherwise (loss, grads).
        """
        for bn_param in self.bn_params:
            bn_param["mode"] = "test" if y is None else "train"
        return super().loss(X, y)


@taught_in("dropout")
class DropoutNet(NormalizedNet):
    """NormalizedNet with inverted dropout after every hidden ReLU::

        {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    FullyConnectedBase.__init__(..., dropout_keep_ratio=p) sets self.use_dropout (p < 1) and
    self.dropout_param: {"mode": "train", "p": p} and, when the network is built with a seed,
    "seed" (one mask for every call, as gradient checks need).
    """

    def hidden_forward(self, x, i):
        """Hidden layer i (1 <= i < L): NormalizedNet's, then dropout.

        Inputs: x (N, D_{i-1}). Returns (out, cache): out (N, D_i), cache for hidden_backward.
        """
        out, cache = super().hidden_forward(x, i)
        drop_cache = None
        if self.use_dropout:
            out, drop_cache = dropout_forward(out, self.dropout_param)
        return out, (cache, drop_cache)

    def hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i: dropout, then NormalizedNet's.

        Inputs: dout (N, D_i); cache from hidden_forward(x, i); grads, the dict of gradients.
        Returns dx, of x's shape.
        """
        cache, drop_cache = cache
        if self.use_dropout:
            dout = dropout_backward(dout, drop_cache)
        return super().hidden_backward(dout, cache, i, grads)

    def loss(self, X, y=None):
        """NormalizedNet's loss, with dropout in train mode when y is given, in test mode when not.

        Inputs: X (N, d_1, ..., d_k); y (N,) integer labels, or None.
        Returns the scores (N, num_classes) when y is None; otherwise (loss, grads).
        """
        if self.use_dropout:
            self.dropout_param["mode"] = "test" if y is None else "train"
        return super().loss(X, y)


class ThreeLayerConvNetBase:
    """The parameters and settings of the small convolutional network, without its passes::

        conv - [spatial batch/group norm] - relu - 2x2 max pool - affine - relu - affine - softmax

    :class:`ThreeLayerConvNet` (without the norm) and :class:`NormalizedConvNet` (with it)
    define the passes.

    The convolution has stride 1 and pads by (filter_size - 1) // 2, so it keeps the
    height and width; the pool halves them. Parameters in ``self.params``: W1 (F, C, fs, fs),
    b1 (F,), W2 (F * H/2 * W/2, hidden_dim), b2, W3 (hidden_dim, num_classes), b3, and with
    normalization gamma1, beta1: (F,) for batch norm, (1, F, 1, 1) for group norm.
    Weights are drawn from N(0, weight_scale**2), biases start at 0, gamma1 at 1, beta1 at 0.

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


@taught_in("convolutional_networks")
class ThreeLayerConvNet(ThreeLayerConvNetBase):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax, on the sandwich layers.

    ThreeLayerConvNetBase.__init__ sets self.params: W1 (F, C, fs, fs), b1 (F,),
    W2 (F * H/2 * W/2, hidden_dim), b2 (hidden_dim,), W3 (hidden_dim, num_classes),
    b3 (num_classes,); and self.conv_param, self.pool_param, self.reg, self.dtype.
    """

    def conv_block_forward(self, X):
        """The convolutional block, conv - relu - 2x2 max pool with W1, b1, on X (N, C, H, W).

        Returns (out, cache): out (N, F, H/2, W/2), cache for conv_block_backward.
        """
        return conv_relu_pool_forward(X, self.params["W1"], self.params["b1"], self.conv_param, self.pool_param)

    def conv_block_backward(self, dout, cache, grads):
        """Backward through conv_block_forward: dout (N, F, H/2, W/2) -> dX (N, C, H, W).

        Stores the gradients of the block's parameters, W1 and b1, in the dict grads.
        """
        dX, grads["W1"], grads["b1"] = conv_relu_pool_backward(dout, cache)
        return dX

    def loss(self, X, y=None):
        """Scores, or loss and gradients.

        Inputs: X (N, C, H, W); y (N,) integer labels or None.
        Returns the scores (N, num_classes) when y is None; otherwise (loss, grads): the mean
        softmax loss plus 0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2)), and grads[name]
        shaped like params[name] for every parameter. The convolutional block runs through
        self.conv_block_forward and self.conv_block_backward, so that a subclass can swap it.
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        p = self.params
        pooled, conv_cache = self.conv_block_forward(X)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        self.conv_block_backward(dpooled, conv_cache, grads)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[name] * p[name])
            grads[name] += self.reg * p[name]
        return float(loss), grads


@taught_in("convolutional_networks")
class NormalizedConvNet(ThreeLayerConvNet):
    """conv - spatial batch norm or group norm - relu - 2x2 max pool - affine - relu - affine - softmax.

    Build it with normalization="batchnorm" or "groupnorm" (and groups=G for group norm):
    ThreeLayerConvNetBase.__init__ then adds gamma1 and beta1 to self.params, of shape (F,)
    for batch norm and (1, F, 1, 1) for group norm, and the norm's state as self.bn_params[0]
    (bn_param, with "mode", for batch norm; an empty gn_param for group norm). It keeps the
    choice in self.normalization and G in self.groups.
    """

    def conv_block_forward(self, X):
        """conv - norm - relu - 2x2 max pool on X (N, C, H, W), with W1, b1, gamma1, beta1.

        Returns (out, cache): out (N, F, H/2, W/2), cache for conv_block_backward.
        """
        p, norm_param = self.params, self.bn_params[0]
        conv_out, conv_cache = fast_layers.conv_forward_fast(X, p["W1"], p["b1"], self.conv_param)
        if self.normalization == "batchnorm":
            norm_out, norm_cache = spatial_batchnorm_forward(conv_out, p["gamma1"], p["beta1"], norm_param)
        else:
            norm_out, norm_cache = spatial_groupnorm_forward(conv_out, p["gamma1"], p["beta1"], self.groups, norm_param)
        relu_out, relu_cache = relu_forward(norm_out)
        out, pool_cache = fast_layers.max_pool_forward_fast(relu_out, self.pool_param)
        return out, (conv_cache, norm_cache, relu_cache, pool_cache)

    def conv_block_backward(self, dout, cache, grads):
        """Backward through conv_block_forward: dout (N, F, H/2, W/2) -> dX (N, C, H, W).

        Stores the gradients of W1, b1, gamma1 and beta1 in the dict grads.
        """
        conv_cache, norm_cache, relu_cache, pool_cache = cache
        dnorm_out = relu_backward(fast_layers.max_pool_backward_fast(dout, pool_cache), relu_cache)
        if self.normalization == "batchnorm":
            dconv_out, grads["gamma1"], grads["beta1"] = spatial_batchnorm_backward(dnorm_out, norm_cache)
        else:
            dconv_out, grads["gamma1"], grads["beta1"] = spatial_groupnorm_backward(dnorm_out, norm_cache)
        dX, grads["W1"], grads["b1"] = fast_layers.conv_backward_fast(dconv_out, conv_cache)
        return dX

    def loss(self, X, y=None):
        """ThreeLayerConvNet's loss, batch norm in train mode when y is given and in test mode
        (running statistics) when y is None. Inputs and returns as ThreeLayerConvNet.loss."""
        if self.normalization == "batchnorm":
            self.bn_params[0]["mode"] = "test" if y is None else "train"
        return super().loss(X, y)
