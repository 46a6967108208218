"""What the layers agree on about their inputs: window geometry, upstream-gradient shapes and the
float dtypes they compute in. NumPy only; the naive layers, the fast layers and the kernels all
check their arguments here, so they reject the same inputs with the same messages."""

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
    if isinstance(value, (bool, np.bool_)) or int(value) != value or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
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
