"""The networks the NumPy chapters build from their layers.

The fully connected networks grow chapter by chapter, each a subclass of the last:
:class:`FullyConnectedNet` (lesson fully_connected), :class:`NormalizedNet` (batch_norm), which
puts batch or layer norm in every hidden layer, and :class:`DropoutNet` (dropout), which adds
dropout. The convolutional network, :class:`ThreeLayerConvNet`, gets a normalization in
:class:`NormalizedConvNet` (both convolutional_networks). Each ``__init__`` builds what its
chapter adds (the weights, then the norms' parameters and state, then dropout's) and hands the
rest of its settings on to the class it extends; their arguments are checked in
:mod:`~cifar_lessons.from_scratch.contracts`.
"""

import numpy as np

from cifar_lessons.from_scratch import contracts, fast_layers
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
from cifar_lessons.from_scratch.optim import adam
from cifar_lessons.from_scratch.solver import Solver
from cifar_lessons.teaching import taught_in


@taught_in("fully_connected", check=contracts.fully_connected_net)
class FullyConnectedNet:
    """Any number of hidden layers, then a softmax classifier::

    {affine - relu} x (L - 1) - affine - softmax
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        """The weights of a network of L = len(hidden_dims) + 1 layers, and its settings.

        Inputs: hidden_dims, the sizes of the hidden layers (e.g. [100, 100]; [] is softmax
        regression); input_dim, the values of one example (3 * 32 * 32); num_classes, its scores;
        reg, the strength of the L2 penalty; weight_scale, the standard deviation of the initial
        weights; dtype, float32 to train fast, float64 to check gradients; seed, None to draw the
        weights from NumPy's global generator (np.random, which every training run seeds), or a
        number to draw them from np.random.default_rng(seed).

        Sets self.params: for layer i = 1 ... L, W{i} of shape (D_{i-1}, D_i) drawn from
        N(0, weight_scale**2), layer by layer, and b{i} of D_i zeros, with D_0 = input_dim,
        D_1 ... D_{L-1} = hidden_dims and D_L = num_classes, all of dtype; and self.num_layers
        (L), self.reg and self.dtype.
        """
        self.num_layers = len(hidden_dims) + 1
        self.reg = reg
        self.dtype = dtype
        rng = np.random if seed is None else np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal((dims[i - 1], dims[i]))).astype(dtype)
            self.params[f"b{i}"] = np.zeros(dims[i], dtype=dtype)

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


@taught_in("fully_connected")
def overfit_settings(num_layers):
    """The learning rate and the weight scale with which your FullyConnectedNet of num_layers
    layers (3: two hidden layers of 100 units; 5: four) reaches 100% training accuracy on the
    50 images of small_data within 20 epochs of your sgd_momentum, in minibatches of 25.

    Found by hand: run the check, read what it says about the run, change the numbers, run it
    again. Returns (learning_rate, weight_scale), two positive numbers.
    """
    settings = {3: (1e-2, 1e-1), 5: (1e-2, 1e-1)}  # (learning_rate, weight_scale) per depth
    return settings[num_layers]


@taught_in("fully_connected")
def my_fully_connected_model(data, seed=0):
    """Your own fully connected model, trained: a FullyConnectedNet of your choice (depth, widths,
    weight scale, reg) trained on data["X_train"] with a Solver of your choice (update rule,
    learning rate and its decay, epochs, batch size), everything drawn from seed.

    The budget: at most 90,000 training images seen (num_epochs * len(X_train): 20 epochs of
    the 4,500 images). Never train on data["X_val"]: the check scores the model there.
    Returns the Solver that trained it (its model and histories).
    """
    model = FullyConnectedNet([512, 256], weight_scale=3e-2, reg=1e-3, seed=seed)
    solver = Solver(
        model,
        data,
        update_rule=adam,
        optim_config={"learning_rate": 1e-3},
        lr_decay=0.9,
        num_epochs=8,
        batch_size=100,
        verbose=False,
        progress=False,
        seed=seed,
    )
    solver.train()
    return solver


@taught_in("batch_norm", check=contracts.normalized_net)
class NormalizedNet(FullyConnectedNet):
    """FullyConnectedNet with a normalization between each hidden affine layer and its ReLU::

    {affine - [batch/layer norm] - relu} x (L - 1) - affine - softmax
    """

    def __init__(self, hidden_dims, normalization=None, **settings):
        """FullyConnectedNet's weights (``settings`` are its: input_dim, num_classes, reg,
        weight_scale, dtype, seed) and the norm's parameters and state.

        Inputs: normalization, None, "batchnorm" or "layernorm".
        Sets self.normalization; with a norm, params["gamma{i}"] (ones) and params["beta{i}"]
        (zeros) of shape (D_i,) and self.dtype for each hidden layer i = 1 ... L - 1, and
        self.bn_params, one dict per hidden layer, its own: bn_params[i - 1] is hidden layer i's
        bn_param ({"mode": "train"}, where batch norm keeps its running averages) or ln_param
        ({}); without a norm, no gamma or beta and bn_params = [].
        """
        super().__init__(hidden_dims, **settings)
        self.normalization = normalization
        self.bn_params = []
        if normalization is None:
            return
        for i in range(1, self.num_layers):
            self.params[f"gamma{i}"] = np.ones(hidden_dims[i - 1], dtype=self.dtype)
            self.params[f"beta{i}"] = np.zeros(hidden_dims[i - 1], dtype=self.dtype)
            self.bn_params.append({"mode": "train"} if normalization == "batchnorm" else {})

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


@taught_in("dropout", check=contracts.dropout_net)
class DropoutNet(NormalizedNet):
    """NormalizedNet with inverted dropout after every hidden ReLU::

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax
    """

    def __init__(self, hidden_dims, dropout_keep_ratio=1, seed=None, **settings):
        """NormalizedNet's weights and norms (``settings`` are its: normalization, input_dim,
        num_classes, reg, weight_scale, dtype), with ``seed`` passed on, and dropout's state.

        Inputs: dropout_keep_ratio, p, the probability of KEEPING a hidden unit (1: no dropout);
        seed, as FullyConnectedNet's, and with a seed every call draws the same dropout mask,
        as gradient checks need (None: a fresh mask every training pass).
        Sets self.use_dropout (p < 1) and self.dropout_param: {"mode": "train", "p": p} and,
        when seed is not None, "seed": seed; {} without dropout.
        """
        super().__init__(hidden_dims, seed=seed, **settings)
        self.use_dropout = dropout_keep_ratio != 1
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed

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


@taught_in("convolutional_networks", check=contracts.three_layer_convnet)
class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax, on the sandwich layers."""

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
        """The weights of the network, and its settings.

        Inputs: input_dim, (C, H, W) of one example (H and W even, for the pool); num_filters,
        F; filter_size, the odd width and height of the filters; hidden_dim, the units of the
        hidden affine layer; num_classes, the scores; weight_scale, the standard deviation of the
        initial weights; reg, the strength of the L2 penalty; dtype; seed, None to draw from
        np.random, else from np.random.default_rng(seed), as FullyConnectedNet does.

        Sets self.params, all of dtype: W1 (F, C, filter_size, filter_size), W2
        (F * H/2 * W/2, hidden_dim) and W3 (hidden_dim, num_classes), drawn from
        N(0, weight_scale**2) in that order, and the biases b1 (F,), b2 (hidden_dim,) and b3
        (num_classes,), zeros; self.conv_param, stride 1 and the padding that keeps H and W,
        (filter_size - 1) // 2; self.pool_param, 2 x 2 windows with stride 2; self.reg and
        self.dtype.
        """
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        rng = np.random if seed is None else np.random.default_rng(seed)
        shapes = {
            "W1": (num_filters, C, filter_size, filter_size),
            "W2": (num_filters * (H // 2) * (W // 2), hidden_dim),
            "W3": (hidden_dim, num_classes),
        }
        self.params = {}
        for i, (name, shape) in enumerate(shapes.items(), start=1):
            self.params[name] = (weight_scale * rng.standard_normal(shape)).astype(dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if i == 1 else shape[1], dtype=dtype)

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

        Inputs: X (N, C, H, W), cast to self.dtype first (float64 images into a float32 network
        would make every layer compute in float64); y (N,) integer labels or None.
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


@taught_in("convolutional_networks", check=contracts.normalized_convnet)
class NormalizedConvNet(ThreeLayerConvNet):
    """conv - spatial batch norm or group norm - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, normalization="batchnorm", groups=4, **settings):
        """ThreeLayerConvNet's weights (``settings`` are its arguments) and the norm's.

        Inputs: normalization, "batchnorm" (spatial batch norm) or "groupnorm"; groups, G, the
        groups of channels of group norm (a divisor of num_filters).
        Sets self.normalization and self.groups; params["gamma1"] (ones) and params["beta1"]
        (zeros), of shape (F,) for batch norm and (1, F, 1, 1) for group norm, of self.dtype; and
        the norm's state as self.bn_params[0]: {"mode": "train"} for batch norm, {} for group norm.
        """
        super().__init__(**settings)
        self.normalization = normalization
        self.groups = groups
        F = self.params["W1"].shape[0]
        shape = (F,) if normalization == "batchnorm" else (1, F, 1, 1)
        self.params["gamma1"] = np.ones(shape, dtype=self.dtype)
        self.params["beta1"] = np.zeros(shape, dtype=self.dtype)
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {}]

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
