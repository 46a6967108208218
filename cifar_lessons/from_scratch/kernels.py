"""im2col / col2im and max pooling (lesson convolutional_networks): the compiled kernels, and the
NumPy twins used when they are missing.

``im2col_matrix(x, field_height, field_width, pad, stride)`` turns every receptive field of an
NCHW batch into a column of one matrix:

    x    : (N, C, H, W)                 float32 or float64
    cols : (C*FH*FW, N*OH*OW)           row k = (c*FH + i)*FW + j, column n*OH*OW + oh*OW + ow
    OH = (H + 2*pad - FH) // stride + 1,  OW likewise

so that a convolution of a whole chunk of images is one matrix product, ``w.reshape(F, -1) @
cols``. ``col2im_matrix`` is its adjoint: it sums every column back into the positions it was
read from, which is exactly the backward pass. Both write into caller-owned buffers that can
be reused. ``max_pool`` / ``max_pool_scatter`` are max pooling forward and backward.
``im2col_numpy`` and ``col2im_numpy`` compute the same, one image's block at a time, in plain
NumPy: the reference the kernels are tested against, and what runs when they are missing.

``BACKEND`` says which implementation is live: ``"cython"`` or ``"numpy"``.
"""

import warnings

import numpy as np

from cifar_lessons.from_scratch import threads
from cifar_lessons.from_scratch.contracts import check_window, float_dtype, output_size

try:
    from cifar_lessons.from_scratch import _im2col
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


def im2col_matrix(x, field_height, field_width, pad=0, stride=1, out=None):
    """Receptive fields of a whole batch as one matrix, for a single matrix product.

    x: (N, C, H, W) -> (C*FH*FW, N*OH*OW): row k = (c*FH + i)*FW + j, column
    n*OH*OW + p (image n's receptive fields side by side). Every element of ``out`` (if given, C-contiguous, that shape
    and dtype) is overwritten, so a reused ``np.empty`` buffer is fine.
    """
    x = _checked_input(x, field_height, field_width, pad, stride)
    N, rows, positions = _cols_shape(x.shape, field_height, field_width, pad, stride)
    if out is None:
        out = np.empty((rows, N * positions), dtype=x.dtype)
    elif out.shape != (rows, N * positions) or out.dtype != x.dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous {x.dtype} array of shape {(rows, N * positions)}, got {out.dtype} {out.shape}"
        )
    if _im2col is None:
        cols = im2col_numpy(x, field_height, field_width, pad, stride)
        out.reshape(rows, N, positions)[...] = cols.transpose(1, 0, 2)
    else:
        _im2col.im2col_strided(x, out.reshape(-1), positions, N * positions, field_height, field_width, pad, stride)
    return out


def col2im_matrix(cols, x_shape, field_height, field_width, pad=0, stride=1, out=None):
    """Adjoint of :func:`im2col_matrix`: (C*FH*FW, N*OH*OW) -> (N, C, H, W), overwriting ``out``."""
    cols = _checked_cols(cols, x_shape, field_height, field_width, pad, stride)
    if out is None:
        out = np.empty(x_shape, dtype=cols.dtype)
    elif out.shape != tuple(x_shape) or out.dtype != cols.dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous {cols.dtype} array of shape {tuple(x_shape)}, got {out.dtype} {out.shape}"
        )
    if _im2col is None:
        rows, columns = cols.shape
        per_image = cols.reshape(rows, x_shape[0], columns // x_shape[0]).transpose(1, 0, 2)
        out[...] = col2im_numpy(per_image, x_shape, field_height, field_width, pad, stride)
    else:
        _im2col.col2im_strided(
            cols.reshape(-1), out, cols.shape[1] // x_shape[0], cols.shape[1], field_height, field_width, pad, stride
        )
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

    def pool(share):
        for start, stop in share:
            _im2col.max_pool_forward(
                x[start:stop], out[start:stop], argmax[start:stop], pool_height, pool_width, stride
            )

    threads.run(pool, threads.shares(N))
    return out, argmax


def max_pool_scatter(dout, argmax, x_shape):
    """Backward of :func:`max_pool`: dout (N, C, OH, OW) sent to the argmax positions of x_shape."""
    dout, argmax = np.ascontiguousarray(dout), np.asarray(argmax)
    float_dtype(dout, name="dout")
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), the shape of max_pool's input, got {tuple(x_shape)}")
    N, C, H, W = x_shape
    if dout.ndim != 4 or dout.shape != argmax.shape or dout.shape[:2] != (N, C):
        raise ValueError(f"dout {dout.shape} must match the pooled output {argmax.shape} of x {tuple(x_shape)}")
    if not np.issubdtype(argmax.dtype, np.integer):
        raise TypeError(f"argmax must hold integer positions, as max_pool returns them, got {argmax.dtype}")
    # The kernel writes to these positions unchecked: one outside its plane would corrupt memory.
    if argmax.size and (argmax.min() < 0 or argmax.max() >= H * W):
        raise ValueError(
            f"argmax holds positions outside the {H}x{W} planes of x_shape (found "
            f"{argmax.min()}..{argmax.max()}, valid 0..{H * W - 1}): pass the argmax max_pool returned"
        )
    if _im2col is None:
        return max_pool_scatter_numpy(dout, argmax, x_shape)
    dx = np.empty(x_shape, dtype=dout.dtype)
    argmax = np.ascontiguousarray(argmax, dtype=np.int32)

    def scatter(share):
        for start, stop in share:
            _im2col.max_pool_backward(dout[start:stop], argmax[start:stop], dx[start:stop])

    threads.run(scatter, threads.shares(N))
    return dx


def _checked_input(x, field_height, field_width, pad, stride):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a 4-d NCHW array, got shape {x.shape}")
    float_dtype(x, name="x")
    check_window(x.shape[2], x.shape[3], field_height, field_width, pad, stride)
    return np.ascontiguousarray(x)


def _cols_shape(x_shape, field_height, field_width, pad, stride):
    N, C, H, W = x_shape
    positions = output_size(H, field_height, pad, stride) * output_size(W, field_width, pad, stride)
    return N, C * field_height * field_width, positions


def _checked_cols(cols, x_shape, field_height, field_width, pad, stride):
    cols = np.asarray(cols)
    float_dtype(cols, name="cols")
    check_window(x_shape[2], x_shape[3], field_height, field_width, pad, stride)
    N, rows, positions = _cols_shape(x_shape, field_height, field_width, pad, stride)
    expected = (rows, N * positions)
    if cols.shape != expected:
        raise ValueError(
            f"cols has shape {cols.shape}, but x_shape {tuple(x_shape)} with these window settings needs {expected}"
        )
    return np.ascontiguousarray(cols)


def im2col_numpy(x, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy im2col, the reference the kernels are tested against: x (N, C, H, W) ->
    (N, C*FH*FW, OH*OW), image n's block of :func:`im2col_matrix` (no argument checks)."""
    N, C, H, W = x.shape
    OH = output_size(H, field_height, pad, stride)
    OW = output_size(W, field_width, pad, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (field_height, field_width), axis=(2, 3))
    windows = windows[:, :, : OH * stride : stride, : OW * stride : stride]  # (N, C, OH, OW, FH, FW)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * field_height * field_width, OH * OW)


def col2im_numpy(cols, x_shape, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy adjoint of :func:`im2col_numpy`: (N, C*FH*FW, OH*OW) -> x_shape, windows summed
    (no argument checks)."""
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
