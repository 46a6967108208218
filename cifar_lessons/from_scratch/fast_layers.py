"""Fast convolution and max pooling (lesson convolutional_networks): compiled kernels plus BLAS,
float32 and float64.

Same contracts as the naive layers in :mod:`cifar_lessons.from_scratch.layers`. A 3x3 convolution with
stride 1, the most common layer of modern convnets, runs by Winograd's algorithm
(:mod:`cifar_lessons.from_scratch.winograd`), which needs 2.25x fewer multiplications. Any other convolution
is a matrix product between the filters, ``w.reshape(F, C*HH*WW)``, and the
receptive fields of a chunk of images laid out as one ``(C*HH*WW, images*OH*OW)``
matrix. The chunk is sized so that matrix stays in cache and its buffer is
reused, instead of materializing (and page-faulting) the fields of the whole
batch at once; the backward pass recomputes the fields chunk by chunk rather
than keeping them. Caches hold copies, so changing ``x`` or ``w`` in place
after the forward pass does not change the gradients.
"""

import numpy as np

from cifar_lessons.from_scratch import kernels, threads, timing, winograd
from cifar_lessons.from_scratch.contracts import (
    check_dout,
    conv_geometry,
    fast_conv_cache,
    fast_pool_cache,
    float_dtype,
    output_size,
    pool_geometry,
)

CHUNK_BYTES = 16 * 2**20  # one chunk's receptive-field matrix: about half the L3 cache


def _shares(x, rows, positions):
    # Chunks of images whose receptive-field matrix fits CHUNK_BYTES, dealt out to the threads.
    return threads.chunked_shares(x.shape[0], rows * positions * x.itemsize, CHUNK_BYTES)


def _chunks(share, x, rows, F, positions):
    # Yields (start, stop, fields, products): (rows, images*positions) and (F, images*positions) views
    # of two buffers that every chunk of the share reuses.
    most = max((stop - start for start, stop in share), default=0) * positions
    fields, products = np.empty(rows * most, dtype=x.dtype), np.empty(F * most, dtype=x.dtype)
    for start, stop in share:
        count = (stop - start) * positions
        yield start, stop, fields[: rows * count].reshape(rows, count), products[: F * count].reshape(F, count)


def conv_forward_fast(x, w, b, conv_param):
    """Convolution forward pass, the fast way: :func:`conv_forward_winograd` where it applies (3x3
    filters, stride 1), else :func:`conv_forward_im2col`.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {'stride', 'pad'}.
    Returns: out (N, F, OH, OW) in the common float dtype of the inputs, cache.
    """
    stride = conv_geometry(x, w, b, conv_param)[0]
    forward = conv_forward_winograd if winograd.applies(np.shape(w), stride) else conv_forward_im2col
    return forward(x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    """Convolution backward pass, the fast way.

    Inputs: dout (N, F, OH, OW), cache from :func:`conv_forward_fast`.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    _, w, stride, _ = fast_conv_cache(cache)
    return (conv_backward_winograd if winograd.applies(w.shape, stride) else conv_backward_im2col)(dout, cache)


def _checked(x, w, b, conv_param):
    # The arguments as C-contiguous copies in one float dtype (copies: the cache must not see later
    # in-place changes), with the stride, pad and output size.
    stride, pad, OH, OW = conv_geometry(x, w, b, conv_param)
    dtype = float_dtype(x, w, b)
    x, w = np.array(x, dtype=dtype, order="C"), np.array(w, dtype=dtype, order="C")
    return x, w, np.ascontiguousarray(b, dtype=dtype), stride, pad, OH, OW


def conv_forward_im2col(x, w, b, conv_param):
    """Convolution forward pass as one matrix product per chunk of images. Same contract as
    :func:`conv_forward_fast`, for any filter size, stride and pad."""
    x, w, b, stride, pad, OH, OW = _checked(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    rows, positions = C * HH * WW, OH * OW
    filters = w.reshape(F, rows)
    out = np.empty((N, F, OH, OW), dtype=x.dtype)

    def forward(share):
        for start, stop, fields, products in _chunks(share, x, rows, F, positions):
            with timing.phase("im2col"):
                kernels.im2col_matrix(x[start:stop], HH, WW, pad, stride, out=fields)
            with timing.phase("matrix products"):
                np.matmul(filters, fields, out=products)
            np.add(
                products.reshape(F, stop - start, positions).transpose(1, 0, 2),
                b[:, None],
                out=out[start:stop].reshape(stop - start, F, positions),
            )

    threads.run(forward, _shares(x, rows, positions))
    return out, (x, w, stride, pad)


def conv_backward_im2col(dout, cache):
    """Backward pass of :func:`conv_forward_im2col`: dout (N, F, OH, OW) -> dx, dw, db."""
    x, w, stride, pad = fast_conv_cache(cache)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    OH, OW = output_size(H, HH, pad, stride), output_size(W, WW, pad, stride)
    dout = np.asarray(dout)
    check_dout("conv_backward_fast", dout, (N, F, OH, OW))
    rows, positions = C * HH * WW, OH * OW
    filters = w.reshape(F, rows)
    dx = np.empty_like(x)

    def backward(share):
        dw, db = np.zeros((F, rows), dtype=x.dtype), np.zeros(F, dtype=x.dtype)
        for start, stop, fields, grads in _chunks(share, x, rows, F, positions):
            count = stop - start
            grads.reshape(F, count, positions)[...] = dout[start:stop].reshape(count, F, positions).transpose(1, 0, 2)
            db += grads.sum(axis=1)
            with timing.phase("im2col"):
                kernels.im2col_matrix(x[start:stop], HH, WW, pad, stride, out=fields)
            with timing.phase("matrix products"):
                dw += grads @ fields.T
                np.matmul(filters.T, grads, out=fields)  # the fields are used up: reuse their buffer
            with timing.phase("col2im"):
                kernels.col2im_matrix(fields, (count, C, H, W), HH, WW, pad, stride, out=dx[start:stop])
        return dw, db

    dw, db = map(sum, zip(*threads.run(backward, _shares(x, rows, positions))))  # in share order: reproducible
    return dx, dw.reshape(w.shape), db


def conv_forward_winograd(x, w, b, conv_param):
    """Convolution forward pass by Winograd's F(2x2, 3x3) (:mod:`cifar_lessons.from_scratch.winograd`). Same
    contract as :func:`conv_forward_fast`, for 3x3 filters with stride 1 and any pad. Inputs holding inf,
    NaN or magnitudes whose transforms could overflow take the im2col path, which gives the naive results."""
    x, w, b, stride, pad, _, _ = _checked(x, w, b, conv_param)
    if not winograd.applies(w.shape, stride):
        raise ValueError(
            f"conv_forward_winograd computes 3x3 convolutions with stride 1, got filters {w.shape} and stride "
            f"{stride}: use conv_forward_fast, which takes the im2col path for them"
        )
    if not winograd.in_range(x, w, terms=w[0].size):
        return conv_forward_im2col(x, w, b, conv_param)
    return winograd.conv_forward(x, w, b, pad), (x, w, stride, pad)


def conv_backward_winograd(dout, cache):
    """Backward pass of :func:`conv_forward_winograd`: dout (N, F, OH, OW) -> dx, dw, db."""
    x, w, stride, pad = fast_conv_cache(cache)
    N, _, H, W = x.shape
    dout = np.asarray(dout)
    check_dout("conv_backward_fast", dout, (N, w.shape[0], H + 2 * pad - 2, W + 2 * pad - 2))
    dout = np.ascontiguousarray(dout, dtype=x.dtype)
    # dx sums products of dout with w, dw products of dout with x
    if not (winograd.in_range(dout, w, terms=w[:, 0].size) and winograd.in_range(dout, x, terms=dout[:, 0].size)):
        return conv_backward_im2col(dout, cache)
    dx, dw = winograd.conv_backward(dout, x, w, pad)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_fast(x, pool_param):
    """Max pooling forward pass, the fast way.

    Inputs: x (N, C, H, W), pool_param {'pool_height', 'pool_width', 'stride'}.
    Returns: out (N, C, OH, OW), cache (the argmax positions and x's shape).
    """
    height, width, stride, _, _ = pool_geometry(x, pool_param)
    float_dtype(x)
    out, argmax = kernels.max_pool(x, height, width, stride)
    return out, (argmax, np.shape(x))


def max_pool_backward_fast(dout, cache):
    """Max pooling backward pass, the fast way. dout (N, C, OH, OW) -> dx (N, C, H, W)."""
    argmax, x_shape = fast_pool_cache(cache)
    return kernels.max_pool_scatter(dout, argmax, x_shape)
