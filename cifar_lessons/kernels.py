"""im2col / col2im and max pooling: the compiled kernels, and the NumPy twins used when they are missing.

``im2col(x, field_height, field_width, pad, stride)`` turns every receptive
field of an NCHW batch into a column:

    x    : (N, C, H, W)                 float32 or float64
    cols : (N, C*FH*FW, OH*OW)          row k = (c*FH + i)*FW + j, column p = oh*OW + ow
    OH = (H + 2*pad - FH) // stride + 1,  OW likewise

so that a convolution is ``w.reshape(F, -1) @ cols`` (one product per image,
already in NCHW order). ``col2im`` is its adjoint: it sums every column back
into the positions it was read from, which is exactly the backward pass.

``im2col_matrix`` lays a whole batch out as one ``(C*FH*FW, N*OH*OW)`` matrix
instead, so a single matrix product covers many images, and ``col2im_matrix``
is its adjoint; both write into caller-owned buffers that can be reused.
``max_pool`` / ``max_pool_scatter`` are max pooling forward and backward.

``BACKEND`` says which implementation is live: ``"cython"`` or ``"numpy"``.
"""
import warnings

import numpy as np

try:
    from cifar_lessons import _im2col
except ImportError as error:  # the package was used from a source tree without being built
    _im2col = None
    warnings.warn(
        "cifar_lessons: the compiled im2col/col2im kernels could not be imported "
        f"({error}). Falling back to the NumPy implementation, which is several times slower. "
        "Fix: run `pip install -e .` in the repository root (it needs a C compiler; "
        "on Debian/Ubuntu `apt-get install build-essential`).",
        RuntimeWarning,
        stacklevel=2,
    )

BACKEND = "numpy" if _im2col is None else "cython"


def output_size(size, field, pad, stride):
    """Number of positions a window of ``field`` takes along an axis of ``size``."""
    return (size + 2 * pad - field) // stride + 1


def _check_geometry(height, width, field_height, field_width, pad, stride):
    _positive_int(field_height, "field_height")
    _positive_int(field_width, "field_width")
    _positive_int(stride, "stride")
    _positive_int(pad, "pad", minimum=0)
    if field_height > height + 2 * pad or field_width > width + 2 * pad:
        raise ValueError(
            f"a {field_height}x{field_width} window does not fit a {height}x{width} input "
            f"padded by {pad}: use a smaller window or more padding"
        )


def _positive_int(value, name, minimum=1):
    if isinstance(value, (bool, np.bool_)) or int(value) != value or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def _window_steps(size, field, pad, stride, axis):
    # Number of window positions along one axis; the windows must tile the padded input exactly.
    span = size + 2 * pad - field
    if span < 0:
        raise ValueError(f"a window of {field} does not fit the {axis} {size} padded by {pad}: "
                         f"use a smaller window or more padding")
    if span % stride:
        raise ValueError(f"stride {stride} does not tile the {axis}: {axis} {size} + 2 * {pad} (pad) - {field} "
                         f"(window) = {span} is not a multiple of {stride}; change the padding or the stride")
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
        raise ValueError(f"a convolution needs at least one input channel and one filter, got x {x.shape} and "
                         f"w {w.shape}")
    missing = {"stride", "pad"} - set(conv_param)
    if missing:
        raise ValueError(f"conv_param needs the keys 'stride' and 'pad'; missing {sorted(missing)}")
    stride = _positive_int(conv_param["stride"], "conv_param['stride']")
    pad = _positive_int(conv_param["pad"], "conv_param['pad']", minimum=0)
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    return stride, pad, _window_steps(H, HH, pad, stride, "height"), _window_steps(W, WW, pad, stride, "width")


def pool_geometry(x, pool_param):
    """Check a max pooling's inputs; return ``(pool_height, pool_width, stride, OH, OW)``.

    x: (N, C, H, W), pool_param: {'pool_height', 'pool_width', 'stride'}.
    """
    if np.ndim(x) != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {np.shape(x)}")
    missing = {"pool_height", "pool_width", "stride"} - set(pool_param)
    if missing:
        raise ValueError(f"pool_param needs 'pool_height', 'pool_width' and 'stride'; missing {sorted(missing)}")
    height = _positive_int(pool_param["pool_height"], "pool_param['pool_height']")
    width = _positive_int(pool_param["pool_width"], "pool_param['pool_width']")
    stride = _positive_int(pool_param["stride"], "pool_param['stride']")
    _, _, H, W = x.shape
    return height, width, stride, _window_steps(H, height, 0, stride, "height"), _window_steps(W, width, 0, stride, "width")


def check_dout(name, dout, expected_shape):
    """Raise a ValueError naming the layer ``name`` unless ``dout`` has the forward output's shape."""
    if np.shape(dout) != tuple(expected_shape):
        raise ValueError(f"{name}: dout must have the shape of the forward output {tuple(expected_shape)}, "
                         f"got {np.shape(dout)}")


def float_dtype(*arrays):
    """The dtype a layer computes ``arrays`` in, which must be float32 or float64: integers would wrap around."""
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the inputs must be float32 or float64, got {dtype}: convert them with .astype(np.float32)")
    return dtype


def _check_float(array, name):
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {array.dtype}: convert it with .astype(np.float32)")


def im2col(x, field_height, field_width, pad=0, stride=1):
    """Receptive fields as columns. x: (N, C, H, W) -> (N, C*FH*FW, OH*OW), same dtype."""
    x = _checked_input(x, field_height, field_width, pad, stride)
    if _im2col is None:
        return im2col_numpy(x, field_height, field_width, pad, stride)
    N, rows, positions = _cols_shape(x.shape, field_height, field_width, pad, stride)
    cols = np.empty((N, rows, positions), dtype=x.dtype)
    _im2col.im2col_strided(x, cols.reshape(-1), rows * positions, positions,
                           field_height, field_width, pad, stride)
    return cols


def col2im(cols, x_shape, field_height, field_width, pad=0, stride=1):
    """Adjoint of im2col. cols: (N, C*FH*FW, OH*OW) -> (N, C, H, W) = x_shape, windows summed."""
    cols = _checked_cols(cols, x_shape, field_height, field_width, pad, stride, matrix=False)
    if _im2col is None:
        return col2im_numpy(cols, x_shape, field_height, field_width, pad, stride)
    N, rows, positions = cols.shape
    x = np.empty(x_shape, dtype=cols.dtype)
    _im2col.col2im_strided(cols.reshape(-1), x, rows * positions, positions,
                           field_height, field_width, pad, stride)
    return x


def im2col_matrix(x, field_height, field_width, pad=0, stride=1, out=None):
    """Receptive fields of a whole batch as one matrix, for a single matrix product.

    x: (N, C, H, W) -> (C*FH*FW, N*OH*OW): row k as in :func:`im2col`, column
    n*OH*OW + p. Every element of ``out`` (if given, C-contiguous, that shape
    and dtype) is overwritten, so a reused ``np.empty`` buffer is fine.
    """
    x = _checked_input(x, field_height, field_width, pad, stride)
    N, rows, positions = _cols_shape(x.shape, field_height, field_width, pad, stride)
    if out is None:
        out = np.empty((rows, N * positions), dtype=x.dtype)
    elif out.shape != (rows, N * positions) or out.dtype != x.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {x.dtype} array of shape {(rows, N * positions)}, "
                         f"got {out.dtype} {out.shape}")
    if _im2col is None:
        cols = im2col_numpy(x, field_height, field_width, pad, stride)
        out.reshape(rows, N, positions)[...] = cols.transpose(1, 0, 2)
    else:
        _im2col.im2col_strided(x, out.reshape(-1), positions, N * positions,
                               field_height, field_width, pad, stride)
    return out


def col2im_matrix(cols, x_shape, field_height, field_width, pad=0, stride=1, out=None):
    """Adjoint of :func:`im2col_matrix`: (C*FH*FW, N*OH*OW) -> (N, C, H, W), overwriting ``out``."""
    cols = _checked_cols(cols, x_shape, field_height, field_width, pad, stride, matrix=True)
    if out is None:
        out = np.empty(x_shape, dtype=cols.dtype)
    elif out.shape != tuple(x_shape) or out.dtype != cols.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {cols.dtype} array of shape {tuple(x_shape)}, "
                         f"got {out.dtype} {out.shape}")
    if _im2col is None:
        rows, columns = cols.shape
        per_image = cols.reshape(rows, x_shape[0], columns // x_shape[0]).transpose(1, 0, 2)
        out[...] = col2im_numpy(per_image, x_shape, field_height, field_width, pad, stride)
    else:
        _im2col.col2im_strided(cols.reshape(-1), out, cols.shape[1] // x_shape[0], cols.shape[1],
                               field_height, field_width, pad, stride)
    return out


def max_pool(x, pool_height, pool_width, stride):
    """Window maxima and where they are. x: (N, C, H, W) -> out (N, C, OH, OW) and
    argmax (N, C, OH, OW) int32, the flat h*W + w index of each maximum in its plane
    (the first one on ties; a window holding NaN gives NaN, at its first NaN, as NumPy's
    max and argmax do), which is all :func:`max_pool_scatter` needs."""
    x = _checked_input(x, pool_height, pool_width, 0, stride)
    N, C, H, W = x.shape
    shape = (N, C, output_size(H, pool_height, 0, stride), output_size(W, pool_width, 0, stride))
    if _im2col is None:
        return max_pool_numpy(x, pool_height, pool_width, stride)
    out, argmax = np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=np.int32)
    _im2col.max_pool_forward(x, out, argmax, pool_height, pool_width, stride)
    return out, argmax


def max_pool_scatter(dout, argmax, x_shape):
    """Backward of :func:`max_pool`: dout (N, C, OH, OW) sent to the argmax positions of x_shape."""
    dout, argmax = np.ascontiguousarray(dout), np.asarray(argmax)
    _check_float(dout, "dout")
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), the shape of max_pool's input, got {tuple(x_shape)}")
    N, C, H, W = x_shape
    if dout.ndim != 4 or dout.shape != argmax.shape or dout.shape[:2] != (N, C):
        raise ValueError(f"dout {dout.shape} must match the pooled output {argmax.shape} of x {tuple(x_shape)}")
    if not np.issubdtype(argmax.dtype, np.integer):
        raise TypeError(f"argmax must hold integer positions, as max_pool returns them, got {argmax.dtype}")
    # The kernel writes to these positions unchecked: one outside its plane would corrupt memory.
    if argmax.size and (argmax.min() < 0 or argmax.max() >= H * W):
        raise ValueError(f"argmax holds positions outside the {H}x{W} planes of x_shape (found "
                         f"{argmax.min()}..{argmax.max()}, valid 0..{H * W - 1}): pass the argmax max_pool returned")
    if _im2col is None:
        return max_pool_scatter_numpy(dout, argmax, x_shape)
    dx = np.empty(x_shape, dtype=dout.dtype)
    _im2col.max_pool_backward(dout, np.ascontiguousarray(argmax, dtype=np.int32), dx)
    return dx


def _checked_input(x, field_height, field_width, pad, stride):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a 4-d NCHW array, got shape {x.shape}")
    _check_float(x, "x")
    _check_geometry(x.shape[2], x.shape[3], field_height, field_width, pad, stride)
    return np.ascontiguousarray(x)


def _cols_shape(x_shape, field_height, field_width, pad, stride):
    N, C, H, W = x_shape
    positions = output_size(H, field_height, pad, stride) * output_size(W, field_width, pad, stride)
    return N, C * field_height * field_width, positions


def _checked_cols(cols, x_shape, field_height, field_width, pad, stride, matrix):
    cols = np.asarray(cols)
    _check_float(cols, "cols")
    _check_geometry(x_shape[2], x_shape[3], field_height, field_width, pad, stride)
    N, rows, positions = _cols_shape(x_shape, field_height, field_width, pad, stride)
    expected = (rows, N * positions) if matrix else (N, rows, positions)
    if cols.shape != expected:
        raise ValueError(f"cols has shape {cols.shape}, but x_shape {tuple(x_shape)} with these "
                         f"window settings needs {expected}")
    return np.ascontiguousarray(cols)


def im2col_numpy(x, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy im2col, same contract as :func:`im2col` (no argument checks)."""
    N, C, H, W = x.shape
    OH = output_size(H, field_height, pad, stride)
    OW = output_size(W, field_width, pad, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (field_height, field_width), axis=(2, 3))
    windows = windows[:, :, : OH * stride : stride, : OW * stride : stride]  # (N, C, OH, OW, FH, FW)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * field_height * field_width, OH * OW)


def col2im_numpy(cols, x_shape, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy col2im, same contract as :func:`col2im` (no argument checks)."""
    N, C, H, W = x_shape
    OH = output_size(H, field_height, pad, stride)
    OW = output_size(W, field_width, pad, stride)
    fields = cols.reshape(N, C, field_height, field_width, OH, OW)
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for i in range(field_height):
        for j in range(field_width):
            padded[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += fields[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, pad : pad + H, pad : pad + W])


def max_pool_numpy(x, pool_height, pool_width, stride):
    """Pure-NumPy :func:`max_pool` (no argument checks)."""
    N, C, H, W = x.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_height, pool_width), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, PH, PW)
    OH, OW = windows.shape[2:4]
    flat = windows.reshape(N, C, OH, OW, pool_height * pool_width)
    within = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, within[..., None], axis=-1)[..., 0]
    rows = np.arange(OH)[:, None] * stride + within // pool_width
    columns = np.arange(OW) * stride + within % pool_width
    return np.ascontiguousarray(out), (rows * W + columns).astype(np.int32)


def max_pool_scatter_numpy(dout, argmax, x_shape):
    """Pure-NumPy :func:`max_pool_scatter` (no argument checks)."""
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)
    planes = np.arange(N * C)[:, None]
    np.add.at(dx, (planes, argmax.reshape(N * C, -1)), dout.reshape(N * C, -1))
    return dx.reshape(x_shape)
