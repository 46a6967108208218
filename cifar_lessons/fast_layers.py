"""Fast convolution and max pooling: compiled kernels plus BLAS, float32 and float64.

Same contracts as the naive layers in :mod:`cifar_lessons.layers`. A 3x3 convolution with
stride 1, the most common layer of modern convnets, runs by Winograd's algorithm
(:mod:`cifar_lessons.winograd`), which needs 2.25x fewer multiplications. Any other convolution
is a matrix product between the filters, ``w.reshape(F, C*HH*WW)``, and the
receptive fields of a chunk of images laid out as one ``(C*HH*WW, images*OH*OW)``
matrix. The chunk is sized so that matrix stays in cache and its buffer is
reused, instead of materializing (and page-faulting) the fields of the whole
batch at once; the backward pass recomputes the fields chunk by chunk rather
than keeping them. Caches hold copies, so changing ``x`` or ``w`` in place
after the forward pass does not change the gradients.
"""

import numpy as np

from cifar_lessons import kernels, winograd
from cifar_lessons.shapes import check_dout, conv_geometry, float_dtype, output_size, pool_geometry

CHUNK_BYTES = 16 * 2**20  # one chunk's receptive-field matrix: about half the L3 cache


def _chunks(num_images, bytes_per_image):
    size = max(1, min(num_images, CHUNK_BYTES // bytes_per_image))
    return size, [(start, min(start + size, num_images)) for start in range(0, num_images, size)]


def conv_forward_fast(x, w, b, conv_param):
    """Convolution forward pass, the fast way.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {'stride', 'pad'}.
    Returns: out (N, F, OH, OW) in the common float dtype of the inputs, cache.
    """
    stride, pad, OH, OW = conv_geometry(x, w, b, conv_param)
    dtype = float_dtype(x, w, b)
    x = np.array(x, dtype=dtype, order="C")  # copies: the cache must not see later in-place changes
    w = np.array(w, dtype=dtype, order="C")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    rows, positions = C * HH * WW, OH * OW
    if winograd.applies(w.shape, stride):
        out = winograd.conv_forward(x, w, np.ascontiguousarray(b, dtype=dtype), pad)
        return out, (x, w, stride, pad)
    filters = w.reshape(F, rows)
    size, chunks = _chunks(N, rows * positions * x.itemsize)
    cols = np.empty(rows * size * positions, dtype=dtype)
    product = np.empty(F * size * positions, dtype=dtype)
    out = np.empty((N, F, OH, OW), dtype=dtype)
    bias = np.asarray(b, dtype=dtype)[:, None]
    for start, stop in chunks:
        count = stop - start
        fields = kernels.im2col_matrix(
            x[start:stop], HH, WW, pad, stride, out=cols[: rows * count * positions].reshape(rows, -1)
        )
        result = np.matmul(filters, fields, out=product[: F * count * positions].reshape(F, -1))
        np.add(
            result.reshape(F, count, positions).transpose(1, 0, 2),
            bias,
            out=out[start:stop].reshape(count, F, positions),
        )
    return out, (x, w, stride, pad)


def conv_backward_fast(dout, cache):
    """Convolution backward pass, the fast way.

    Inputs: dout (N, F, OH, OW), cache from :func:`conv_forward_fast`.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    OH, OW = output_size(H, HH, pad, stride), output_size(W, WW, pad, stride)
    dout = np.asarray(dout)
    check_dout("conv_backward_fast", dout, (N, F, OH, OW))
    if winograd.applies(w.shape, stride):
        dout = np.ascontiguousarray(dout, dtype=x.dtype)
        dx, dw = winograd.conv_backward(dout, x, w, pad)
        return dx, dw, dout.sum(axis=(0, 2, 3))
    rows, positions = C * HH * WW, OH * OW
    filters = w.reshape(F, rows)
    size, chunks = _chunks(N, rows * positions * x.itemsize)
    cols = np.empty(rows * size * positions, dtype=x.dtype)
    grads = np.empty(F * size * positions, dtype=x.dtype)
    dx = np.empty_like(x)
    dw = np.zeros((F, rows), dtype=x.dtype)
    db = np.zeros(F, dtype=x.dtype)
    for start, stop in chunks:
        count = stop - start
        field_matrix = cols[: rows * count * positions].reshape(rows, -1)
        chunk_grads = grads[: F * count * positions].reshape(F, -1)
        chunk_grads.reshape(F, count, positions)[...] = dout[start:stop].reshape(count, F, positions).transpose(1, 0, 2)
        db += chunk_grads.sum(axis=1)
        dw += chunk_grads @ kernels.im2col_matrix(x[start:stop], HH, WW, pad, stride, out=field_matrix).T
        np.matmul(filters.T, chunk_grads, out=field_matrix)  # the fields are used up: reuse their buffer
        kernels.col2im_matrix(field_matrix, (count, C, H, W), HH, WW, pad, stride, out=dx[start:stop])
    return dx, dw.reshape(w.shape), db


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
    argmax, x_shape = cache
    return kernels.max_pool_scatter(dout, argmax, x_shape)
