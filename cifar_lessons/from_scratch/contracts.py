"""What the layers accept, checked before they compute: window geometry, upstream-gradient shapes,
the float dtypes they compute in, and each taught layer's arguments.

The layers of :mod:`~cifar_lessons.from_scratch.layers` are written as the book teaches them,
without these checks; ``@taught_in(..., check=contracts.<layer>)`` runs the function of this
module named like the layer on its arguments first. The fast layers and the kernels use the
same helpers, so every layer rejects the same inputs with the same messages: a ValueError (or a
TypeError for a dtype) that names the problem and the fix.
"""

import math
import numbers
import reprlib

import numpy as np


def output_size(size, field, pad, stride):
    """Number of positions a window of ``field`` takes along an axis of ``size``."""
    return (size + 2 * pad - field) // stride + 1


def check_window(height, width, field_height, field_width, pad, stride):
    """Raise a ValueError unless a field_height x field_width window with this pad and stride fits an input."""
    positive_int(field_height, "field_height")
    positive_int(field_width, "field_width")
    positive_int(stride, "stride")
    positive_int(pad, "pad", minimum=0)
    if field_height > height + 2 * pad or field_width > width + 2 * pad:
        raise ValueError(
            f"a {field_height}x{field_width} window does not fit a {height}x{width} input "
            f"padded by {pad}: use a smaller window or more padding"
        )


def positive_int(value, name, minimum=1):
    """``value`` as an int, or a ValueError naming ``name`` unless it is an integer >= ``minimum``."""
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if not (real and math.isfinite(value) and int(value) == value and value >= minimum):
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {reprlib.repr(value)}")
    return int(value)


def window_steps(size, field, pad, stride, axis):
    """Number of window positions along one axis; the windows must tile the padded input exactly."""
    span = size + 2 * pad - field
    if span < 0:
        raise ValueError(
            f"a window of {field} does not fit the {axis} {size} padded by {pad}: use a smaller window or more padding"
        )
    if span % stride:
        raise ValueError(
            f"stride {stride} does not tile the {axis}: {axis} {size} + 2 * {pad} (pad) - {field} "
            f"(window) = {span} is not a multiple of {stride}; change the padding or the stride"
        )
    return span // stride + 1


def conv_geometry(x, w, b, conv_param):
    """Check a convolution's inputs; return ``(stride, pad, OH, OW)``.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), conv_param: {'stride', 'pad'}.
    Raises ValueError naming the problem when shapes or hyperparameters do not fit.
    """
    if np.ndim(x) != 4 or np.ndim(w) != 4:
        raise ValueError(f"x must be (N, C, H, W) and w (F, C, HH, WW), got {np.shape(x)} and {np.shape(w)}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {w.shape[1]}: w must be (F, C, HH, WW)")
    if np.shape(b) != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},), one bias per filter, got {np.shape(b)}")
    if 0 in w.shape[:2]:
        raise ValueError(
            f"a convolution needs at least one input channel and one filter, got x {x.shape} and w {w.shape}"
        )
    missing = {"stride", "pad"} - set(conv_param)
    if missing:
        raise ValueError(f"conv_param needs the keys 'stride' and 'pad'; missing {sorted(missing)}")
    stride = positive_int(conv_param["stride"], "conv_param['stride']")
    pad = positive_int(conv_param["pad"], "conv_param['pad']", minimum=0)
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    return stride, pad, window_steps(H, HH, pad, stride, "height"), window_steps(W, WW, pad, stride, "width")


def pool_geometry(x, pool_param):
    """Check a max pooling's inputs; return ``(pool_height, pool_width, stride, OH, OW)``.

    x: (N, C, H, W), pool_param: {'pool_height', 'pool_width', 'stride'}.
    """
    if np.ndim(x) != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {np.shape(x)}")
    missing = {"pool_height", "pool_width", "stride"} - set(pool_param)
    if missing:
        raise ValueError(f"pool_param needs 'pool_height', 'pool_width' and 'stride'; missing {sorted(missing)}")
    height = positive_int(pool_param["pool_height"], "pool_param['pool_height']")
    width = positive_int(pool_param["pool_width"], "pool_param['pool_width']")
    stride = positive_int(pool_param["stride"], "pool_param['stride']")
    _, _, H, W = x.shape
    return (
        height,
        width,
        stride,
        window_steps(H, height, 0, stride, "height"),
        window_steps(W, width, 0, stride, "width"),
    )


def check_dout(name, dout, expected_shape):
    """Raise a ValueError naming the layer ``name`` unless ``dout`` has the forward output's shape."""
    if np.shape(dout) != tuple(expected_shape):
        raise ValueError(
            f"{name}: dout must have the shape of the forward output {tuple(expected_shape)}, got {np.shape(dout)}"
        )


def float_dtype(*arrays, name="the inputs"):
    """The dtype ``arrays`` (or dtypes) compute in, which must be float32 or float64: integers would
    wrap around, and other floats are not what the layers are written for. ``name`` is what the
    error calls them."""
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dtype}: convert with .astype(np.float32)")
    return dtype


# Every normalization layer's defaults: eps keeps the division finite; momentum is batch norm's
# running-average decay (PyTorch's momentum=0.1).
NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.9}


def _cache(name, cache, length):
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(
            f"{name}: cache must be the tuple of {length} its forward pass returned, got {type(cache).__name__}"
        )
    return cache


def _cache_of(name, forward, backward):
    """The error for a backward pass ``name`` given the cache of another layer's ``forward``."""
    return ValueError(f"{name}: this cache comes from {forward}: pass it to {backward}, or run the other forward pass")


def fast_conv_cache(cache):
    """``(x, w, stride, pad)`` of a cache :func:`~cifar_lessons.from_scratch.fast_layers.conv_forward_fast`
    returned, checked before a kernel reads it."""
    name = "conv_backward_fast"
    x, w, stride, pad = _cache(name, cache, 4)
    if isinstance(pad, dict):
        raise _cache_of(name, "conv_forward_naive", "conv_backward_naive")
    if not (isinstance(x, np.ndarray) and isinstance(w, np.ndarray) and x.ndim == w.ndim == 4 and x.dtype == w.dtype):
        raise ValueError(f"{name}: cache must be the (x, w, stride, pad) conv_forward_fast returned")
    float_dtype(x, name=f"{name}: the cache's x and w")
    stride = positive_int(stride, f"{name}: the cache's stride")
    return x, w, stride, positive_int(pad, f"{name}: the cache's pad", minimum=0)


def fast_pool_cache(cache):
    """``(argmax, x_shape)`` of a cache that
    :func:`~cifar_lessons.from_scratch.fast_layers.max_pool_forward_fast` returned."""
    argmax, x_shape = _cache("max_pool_backward_fast", cache, 2)
    if isinstance(x_shape, dict):
        raise _cache_of("max_pool_backward_fast", "max_pool_forward_naive", "max_pool_backward_naive")
    return argmax, x_shape


# ---------------------------------------------------------------------------------------------
# Backpropagation (lesson backprop)


def silu_forward(x):
    float_dtype(x, name="silu_forward: x")


def silu_backward(dout, cache):
    x, _ = _cache("silu_backward", cache, 2)
    check_dout("silu_backward", dout, np.shape(x))


def affine_forward(x, w, b):
    if np.ndim(w) != 2:
        raise ValueError(f"affine_forward: w must be 2-D (D, M), got shape {np.shape(w)}")
    D, M = w.shape
    if np.ndim(x) < 2 or int(np.prod(np.shape(x)[1:])) != D:
        raise ValueError(
            f"affine_forward: x of shape {np.shape(x)} does not flatten to (N, {D}) rows as w "
            f"of shape {w.shape} needs; x must be (N, d_1, ..., d_k) with d_1 * ... * d_k = {D}"
        )
    if np.shape(b) != (M,):
        raise ValueError(f"affine_forward: b must have shape ({M},) to match w of shape {w.shape}, got {np.shape(b)}")
    float_dtype(x, w, b, name="affine_forward: x, w and b")


def affine_backward(dout, cache):
    x, w, _ = _cache("affine_backward", cache, 3)
    check_dout("affine_backward", dout, (np.shape(x)[0], np.shape(w)[1]))


def relu_forward(x):
    float_dtype(x, name="relu_forward: x")


def relu_backward(dout, cache):
    check_dout("relu_backward", dout, np.shape(cache))


def _scores_and_labels(name, x, y):
    if np.ndim(x) != 2:
        raise ValueError(f"{name}: x must be 2-D scores (N, C), got shape {np.shape(x)}")
    N, C = x.shape
    if N == 0 or C == 0:  # the loss is a mean over the examples of a distribution over the classes
        raise ValueError(f"{name}: x must hold scores for at least one example and one class, got shape {x.shape}")
    float_dtype(x, name=f"{name}: x")
    y = np.asarray(y)
    if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name}: y must be ({N},) integer labels to match x of shape {x.shape}, got {y.dtype} of shape {y.shape}"
        )
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"{name}: labels must lie in 0..{C - 1} for {C} classes, found {y.min()}..{y.max()}")


def softmax_loss(x, y):
    _scores_and_labels("softmax_loss", x, y)


def svm_loss(x, y):
    _scores_and_labels("svm_loss", x, y)


# ---------------------------------------------------------------------------------------------
# Update rules (lesson fully_connected)

# Each rule's hyperparameters, and the state it keeps in its config between steps.
SETTINGS = {
    "sgd": ("learning_rate",),
    "sgd_momentum": ("learning_rate", "momentum"),
    "rmsprop": ("learning_rate", "decay_rate", "epsilon"),
    "adam": ("learning_rate", "beta1", "beta2", "epsilon"),
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}


def _update_rule(rule, w, dw, config):
    if np.shape(dw) != np.shape(w):
        raise ValueError(f"{rule}: dw must have the shape of w {np.shape(w)}, got {np.shape(dw)}")
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise ValueError(f"{rule}: config must be a dict (or None), got {type(config).__name__}")
    unknown = set(config) - set(SETTINGS[rule]) - set(STATE[rule])
    if unknown:
        raise ValueError(
            f"{rule}: unknown config keys {sorted(unknown)}; it takes "
            f"{sorted(SETTINGS[rule])} (and keeps its state in {list(STATE[rule])})"
        )
    if "learning_rate" in config and not config["learning_rate"] > 0:
        raise ValueError(f"{rule}: learning_rate must be > 0, got {config['learning_rate']}")
    for key in ("momentum", "decay_rate", "beta1", "beta2"):
        if key in config and not 0 <= config[key] < 1:
            raise ValueError(f"{rule}: {key} must lie in [0, 1), got {config[key]}")
    if "epsilon" in config and not config["epsilon"] > 0:
        raise ValueError(f"{rule}: epsilon must be > 0, got {config['epsilon']}")


def sgd(w, dw, config=None):
    _update_rule("sgd", w, dw, config)


def sgd_momentum(w, dw, config=None):
    _update_rule("sgd_momentum", w, dw, config)


def rmsprop(w, dw, config=None):
    _update_rule("rmsprop", w, dw, config)


def adam(w, dw, config=None):
    _update_rule("adam", w, dw, config)


# ---------------------------------------------------------------------------------------------
# Batch normalization and layer normalization (lesson batch_norm), dropout (lesson dropout)


def _norm_inputs(name, features, gamma, beta, eps, x):
    """gamma and beta hold one value per feature, eps > 0, x is float."""
    for label, param in (("gamma", gamma), ("beta", beta)):
        if np.shape(param) != (features,):
            raise ValueError(
                f"{name}: {label} must have shape ({features},) to match x of shape {np.shape(x)}, "
                f"got {np.shape(param)}"
            )
    if not eps > 0:
        raise ValueError(f"{name}: eps must be > 0 (it keeps the division finite), got {eps}")
    float_dtype(x, name=f"{name}: x")


def _rows(name, x):
    if np.ndim(x) != 2:
        raise ValueError(
            f"{name}: x must be 2-D (N, D), got shape {np.shape(x)}; "
            "flatten each example first, e.g. x.reshape(len(x), -1)"
        )
    return x.shape


def _mode(name, param):
    mode = param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"{name}: mode must be 'train' or 'test', got {mode!r}")
    return mode


def _batchnorm(name, values, features, x, gamma, beta, bn_param):
    """A batch norm that normalizes each of ``features`` over ``values`` numbers of x."""
    if "mode" not in bn_param:
        raise ValueError(f"{name}: bn_param needs 'mode', 'train' or 'test'")
    mode = _mode(name, bn_param)
    _norm_inputs(name, features, gamma, beta, bn_param.get("eps", NORM_DEFAULTS["eps"]), x)
    momentum = bn_param.get("momentum", NORM_DEFAULTS["momentum"])
    if not 0 <= momentum <= 1:
        raise ValueError(
            f"{name}: momentum must be in [0, 1] (the weight kept by the running estimates), got {momentum}"
        )
    for label in ("running_mean", "running_var"):
        if label in bn_param and np.shape(bn_param[label]) != (features,):
            raise ValueError(
                f"{name}: bn_param[{label!r}] has shape {np.shape(bn_param[label])} "
                f"but x has {features} features; a bn_param belongs to one layer"
            )
    if mode == "train" and values < 2:
        raise ValueError(
            f"{name}: train mode needs at least 2 values per feature to estimate a variance, "
            f"got x of shape {np.shape(x)}; use a larger batch or mode='test'"
        )


def batchnorm_forward(x, gamma, beta, bn_param):
    N, D = _rows("batchnorm_forward", x)
    _batchnorm("batchnorm_forward", N, D, x, gamma, beta, bn_param)


def batchnorm_backward(dout, cache, name="batchnorm_backward"):
    if cache is None:
        raise ValueError(
            f"{name}: the cache comes from a test-mode forward pass, which has no "
            "backward pass; run batchnorm_forward with bn_param['mode'] = 'train'"
        )
    x_hat, *_ = _cache(name, cache, 4)
    check_dout(name, dout, np.shape(x_hat))


def batchnorm_backward_alt(dout, cache):
    batchnorm_backward(dout, cache, name="batchnorm_backward_alt")


def layernorm_forward(x, gamma, beta, ln_param):
    _, D = _rows("layernorm_forward", x)
    _norm_inputs("layernorm_forward", D, gamma, beta, ln_param.get("eps", NORM_DEFAULTS["eps"]), x)


def layernorm_backward(dout, cache):
    x_hat, *_ = _cache("layernorm_backward", cache, 3)
    check_dout("layernorm_backward", dout, np.shape(x_hat))


def dropout_forward(x, dropout_param):
    name = "dropout_forward"
    for key in ("p", "mode"):
        if key not in dropout_param:
            raise ValueError(f"{name}: dropout_param needs 'p' (the probability of keeping a unit) and 'mode'")
    _mode(name, dropout_param)
    p = dropout_param["p"]
    if not 0 < p <= 1:
        raise ValueError(f"{name}: p is the probability of KEEPING a unit and must be in (0, 1], got {p}")
    float_dtype(x, name=f"{name}: x")


def dropout_backward(dout, cache):
    _, mask = _cache("dropout_backward", cache, 2)
    if mask is not None:
        check_dout("dropout_backward", dout, mask.shape)


# ---------------------------------------------------------------------------------------------
# Convolutional networks (lesson convolutional_networks)


def conv_forward_naive(x, w, b, conv_param):
    conv_geometry(x, w, b, conv_param)
    float_dtype(x, w, b, name="conv_forward_naive: x, w and b")


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = _cache("conv_backward_naive", cache, 4)
    if not isinstance(conv_param, dict):
        raise _cache_of("conv_backward_naive", "conv_forward_fast", "conv_backward_fast")
    _, _, OH, OW = conv_geometry(x, w, b, conv_param)
    check_dout("conv_backward_naive", dout, (x.shape[0], w.shape[0], OH, OW))


def max_pool_forward_naive(x, pool_param):
    pool_geometry(x, pool_param)
    float_dtype(x, name="max_pool_forward_naive: x")


def max_pool_backward_naive(dout, cache):
    x, pool_param = _cache("max_pool_backward_naive", cache, 2)
    if not isinstance(pool_param, dict):
        raise _cache_of("max_pool_backward_naive", "max_pool_forward_fast", "max_pool_backward_fast")
    _, _, _, OH, OW = pool_geometry(x, pool_param)
    check_dout("max_pool_backward_naive", dout, x.shape[:2] + (OH, OW))


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    if np.ndim(x) != 4:
        raise ValueError(f"spatial_batchnorm_forward: x must be (N, C, H, W), got shape {np.shape(x)}")
    N, C, H, W = x.shape
    _batchnorm("spatial_batchnorm_forward", N * H * W, C, x, gamma, beta, bn_param)


def spatial_batchnorm_backward(dout, cache):
    name = "spatial_batchnorm_backward"
    if cache is None:
        batchnorm_backward(dout, cache, name)  # says why a test-mode cache has no backward pass
    x_hat, *_ = _cache(name, cache, 4)
    if np.ndim(dout) != 4 or dout.shape[1] != x_hat.shape[1] or dout.size != x_hat.size:
        raise ValueError(
            f"{name}: dout must have the shape of the forward output, (N, C, H, W) with N * H * W = "
            f"{x_hat.shape[0]} and C = {x_hat.shape[1]}, got {np.shape(dout)}"
        )


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    name = "spatial_groupnorm_forward"
    if np.ndim(x) != 4:
        raise ValueError(f"{name}: x must be (N, C, H, W), got shape {np.shape(x)}")
    C = x.shape[1]
    for label, param in (("gamma", gamma), ("beta", beta)):
        if np.shape(param) != (1, C, 1, 1):
            raise ValueError(f"{name}: {label} must have shape (1, {C}, 1, 1), got {np.shape(param)}")
    if isinstance(G, bool) or not isinstance(G, (int, np.integer)) or G < 1 or C % G:
        raise ValueError(f"{name}: G must be a positive divisor of the {C} channels (an integer), got {G!r}")
    eps = gn_param.get("eps", NORM_DEFAULTS["eps"])
    if not eps > 0:
        raise ValueError(f"{name}: eps must be > 0 (it keeps the division finite), got {eps}")
    float_dtype(x, name=f"{name}: x")


def spatial_groupnorm_backward(dout, cache):
    x_hat, *_ = _cache("spatial_groupnorm_backward", cache, 4)
    check_dout("spatial_groupnorm_backward", dout, np.shape(x_hat))


def _model_settings(reg, weight_scale, dtype):
    if not reg >= 0:
        raise ValueError(f"reg is the strength of the L2 penalty and must be >= 0, got {reg}")
    if not weight_scale > 0:
        raise ValueError(
            f"weight_scale is the standard deviation of the initial weights and must be > 0, got {weight_scale}"
        )
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 (to train) or np.float64 (to check gradients), got {dtype}")


_LATER_SETTINGS = {
    "normalization": "NormalizedNet (chapter 03)",
    "dropout_keep_ratio": "DropoutNet (chapter 04)",
}


def fully_connected_net(
    hidden_dims, input_dim=3 * 32 * 32, num_classes=10, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None, **later
):
    for name in later:
        if name in _LATER_SETTINGS:
            raise TypeError(f"{name} is a setting of {_LATER_SETTINGS[name]}, which adds it; this network has none")
        raise TypeError(f"FullyConnectedNet has no setting {name!r}")
    if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__len__"):
        raise ValueError(f"hidden_dims is a list of the hidden layers' sizes, e.g. [100, 100]; got {hidden_dims!r}")
    for value, what in [
        *((d, "hidden_dims") for d in hidden_dims),
        (input_dim, "input_dim"),
        (num_classes, "num_classes"),
    ]:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{what} must hold positive integers, got {value!r}")
    _model_settings(reg, weight_scale, dtype)


def normalized_net(hidden_dims, normalization=None, **settings):
    if normalization not in (None, "batchnorm", "layernorm"):
        raise ValueError(f"normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}")


def dropout_net(hidden_dims, dropout_keep_ratio=1, seed=None, **settings):
    if not 0 < dropout_keep_ratio <= 1:
        raise ValueError(
            f"dropout_keep_ratio is the probability of KEEPING a unit and must lie in (0, 1], got {dropout_keep_ratio}"
        )


def three_layer_convnet(
    input_dim=(3, 32, 32),
    num_filters=32,
    filter_size=7,
    hidden_dim=100,
    num_classes=10,
    weight_scale=1e-3,
    reg=0.0,
    dtype=np.float32,
    seed=None,
    **later,
):
    for name in later:
        if name in ("normalization", "groups"):
            raise TypeError(f"{name} is a setting of NormalizedConvNet (chapter 05), which adds it; this net has none")
        raise TypeError(f"ThreeLayerConvNet has no setting {name!r}")
    if len(input_dim) != 3:
        raise ValueError(f"input_dim is (C, H, W) of one example, got {input_dim!r}")
    for name, value in (
        ("num_filters", num_filters),
        ("filter_size", filter_size),
        ("hidden_dim", hidden_dim),
        ("num_classes", num_classes),
    ):
        positive_int(value, name)
    if filter_size % 2 == 0:
        raise ValueError(f"filter_size must be odd so that the padded convolution keeps H and W, got {filter_size}")
    _, H, W = input_dim
    if H % 2 or W % 2:
        raise ValueError(f"input_dim {tuple(input_dim)}: H and W must be even for the 2x2 pool")
    _model_settings(reg, weight_scale, dtype)


def normalized_convnet(normalization="batchnorm", groups=4, **settings):
    if normalization not in ("batchnorm", "groupnorm"):
        raise ValueError(f"normalization must be 'batchnorm' or 'groupnorm', got {normalization!r}")
    num_filters = settings.get("num_filters", 32)
    if normalization == "groupnorm" and (
        not isinstance(groups, (int, np.integer)) or groups < 1 or num_filters % groups
    ):
        raise ValueError(f"groups must be a positive divisor of num_filters={num_filters}, got {groups!r}")
