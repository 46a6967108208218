"""3x3 stride-1 convolution by Winograd's F(2x2, 3x3) algorithm (lesson convolutional_networks):
2.25x fewer multiplications.

One output value of a 3x3 convolution costs 9 multiplications per input channel, so a 2x2 output
block costs 36. Winograd's minimal filtering algorithm gets the same block from a 4x4 input tile
``d`` with 16: transform the tile, ``Bt d B``, and the filter, ``G g Gt``, multiply the two 4x4
results elementwise, and transform back, ``At (...) A``. The transforms only add and subtract
(the filter's, done once per filter, also halves). Summed over channels, the 16 elementwise
products of every tile become 16 matrix products of shape (F, C) @ (C, tiles): a convolution of
128 images of 64 x 32 x 32 with 64 filters needs 2.25x fewer multiply-adds than the single
im2col product. The backward pass is the same three steps run through their adjoints: dx from
``Gt`` products with the transformed output gradients, dw from their products with the
transformed tiles.

The tile transforms run in compiled kernels (``_winograd``); ``input_tiles_numpy`` and the other
``*_numpy`` functions compute the same in plain NumPy, as a readable reference and for a source
tree that was never built. Like the im2col path, the work is done a chunk of images at a time,
so the transformed tiles stay in cache while BLAS runs.

Shapes (T tiles: N * TH * TW, with TH = ceil(OH / 2), TW = ceil(OW / 2)):
    tiles    (16, C, T)    Bt d B of each 4x4 input tile
    filters  (16, F, C)    G g Gt of each 3x3 filter
    products (16, F, T)    filters @ tiles, one product per position of the 4x4 transformed tile
"""

import math

import numpy as np

from cifar_lessons.from_scratch import threads, timing
from cifar_lessons.from_scratch.contracts import check_window, float_dtype

try:
    from cifar_lessons.from_scratch import _winograd
except ImportError:  # kernels.py has already warned that the extensions are not built
    _winograd = None

# Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), F(2x2, 3x3).
INPUT_TRANSFORM = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])  # Bt
FILTER_TRANSFORM = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])  # G
OUTPUT_TRANSFORM = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])  # At

CHUNK_BYTES = 4 * 2**20  # one chunk's transformed tiles and products: 2-4 MB ran fastest here
SKEW = 16
# How much larger than the direct sum of products the transforms' sums may grow: each transformed
# tile adds up to 4 inputs, each transformed filter up to 9 halved weights, and the output
# transform adds 9 of their products (4 * 2.25 * 9 = 81, rounded up).
HEADROOM = 128


def applies(w_shape, stride):
    """Whether a convolution with filters of ``w_shape`` (F, C, HH, WW) and this stride can run here."""
    return w_shape[2:] == (3, 3) and stride == 1


def in_range(a, b, terms):
    """Whether this algorithm computes sums of ``terms`` products of an entry of ``a`` with one of ``b``
    as the direct sum does: every entry finite (an inf or NaN would spread through the transforms to
    every output of its tiles) and no sum of the transforms near overflow where the direct one is not."""
    largest = [max(-float(array.min(initial=0)), float(array.max(initial=0))) for array in (a, b)]
    if not all(math.isfinite(value) for value in largest):  # NaN compares false, so it lands here too
        return False
    return largest[0] * largest[1] * terms * HEADROOM < float(np.finfo(a.dtype).max)


def _checked(x, w, pad, **others):
    """``pad`` after checking that the kernels can run on ``x``, ``w`` and ``others`` (b, dout) as they
    are: C-contiguous arrays of one float dtype and fitting shapes. The kernels trust them."""
    arrays = {"x": x, "w": w, **others}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
            raise ValueError(f"winograd: {name} must be a C-contiguous array: pass np.ascontiguousarray({name})")
    float_dtype(*arrays.values(), name="winograd: " + ", ".join(arrays))
    if len({array.dtype for array in arrays.values()}) > 1:
        raise TypeError(f"winograd: {', '.join(arrays)} must share one dtype: convert them with .astype(x.dtype)")
    if x.ndim != 4 or w.shape[1:] != (x.shape[1:2] + (3, 3)):
        raise ValueError(f"winograd: x must be (N, C, H, W) and w (F, C, 3, 3), got {x.shape} and {w.shape}")
    check_window(x.shape[2], x.shape[3], 3, 3, pad, 1)
    pad = int(pad)
    N, _, H, W = x.shape
    expected = {"b": (w.shape[0],), "dout": (N, w.shape[0], H + 2 * pad - 2, W + 2 * pad - 2)}
    for name, array in others.items():
        if array.shape != expected[name]:
            raise ValueError(f"winograd: {name} must have shape {expected[name]}, got {array.shape}")
    return pad


def tile_counts(H, W, pad):
    """(TH, TW): 2x2 output blocks down and across an H x W map padded by ``pad``."""
    return (H + 2 * pad - 1) // 2, (W + 2 * pad - 1) // 2


def transform_filters(w):
    """w (F, C, 3, 3) -> filters (16, F, C), in w's dtype."""
    F, C = w.shape[:2]
    return np.einsum("ai,fcij,bj->abfc", FILTER_TRANSFORM, w, FILTER_TRANSFORM).reshape(16, F, C).astype(w.dtype)


def filter_gradients(dfilters, w_shape):
    """The adjoint of :func:`transform_filters`: dfilters (16, F, C) -> dw (F, C, 3, 3)."""
    F, C = w_shape[:2]
    grads = dfilters.reshape(4, 4, F, C)
    return np.einsum("ai,abfc,bj->fcij", FILTER_TRANSFORM, grads, FILTER_TRANSFORM).astype(dfilters.dtype)


def conv_forward(x, w, b, pad):
    """x (N, C, H, W), w (F, C, 3, 3), b (F,), all C-contiguous in one float dtype -> out (N, F, OH, OW)."""
    pad = _checked(x, w, pad, b=b)
    N, C, H, W = x.shape
    F = w.shape[0]
    TH, TW = tile_counts(H, W, pad)
    filters = transform_filters(w)
    out = np.empty((N, F, H + 2 * pad - 2, W + 2 * pad - 2), dtype=x.dtype)

    def forward(share):
        for start, stop, tiles, products in _chunks(share, x, F, TH, TW):
            with timing.phase("tile transforms"):
                _kernel("input_tiles")(x[start:stop], tiles, pad, TH, TW)
            with timing.phase("matrix products"):
                np.matmul(filters, tiles, out=products)
            with timing.phase("tile transforms"):
                _kernel("output_maps")(products, b, out[start:stop], TH, TW)

    _in_parallel(forward, x, F, TH, TW)
    return out


def conv_backward(dout, x, w, pad):
    """dout (N, F, OH, OW) and the forward inputs, C-contiguous in x's dtype -> dx (N, C, H, W), dw (F, C, 3, 3)."""
    pad = _checked(x, w, pad, dout=dout)
    N, C, H, W = x.shape
    F = w.shape[0]
    TH, TW = tile_counts(H, W, pad)
    filters = transform_filters(w).transpose(0, 2, 1)  # (16, C, F)
    dx = np.empty_like(x)

    def backward(share):
        dfilters = np.zeros((16, F, C), dtype=x.dtype)
        for start, stop, tiles, grads in _chunks(share, x, F, TH, TW):
            with timing.phase("tile transforms"):
                _kernel("input_tiles")(x[start:stop], tiles, pad, TH, TW)  # recomputed: cheaper than keeping them
                _kernel("output_gradients")(dout[start:stop], grads, TH, TW)
            with timing.phase("matrix products"):
                dfilters += grads @ tiles.transpose(0, 2, 1)
                np.matmul(filters, grads, out=tiles)  # the tiles are used up: their buffer takes their gradients
            with timing.phase("tile transforms"):
                _kernel("input_gradients")(tiles, dx[start:stop], pad, TH, TW)
        return dfilters

    dfilters = sum(_in_parallel(backward, x, F, TH, TW))  # summed in a fixed order: reproducible
    return dx, filter_gradients(dfilters, w.shape)


def _in_parallel(task, x, F, TH, TW):
    # The task's results, share by share, over chunks whose tiles and products fit CHUNK_BYTES.
    per_image = 16 * (x.shape[1] + F) * TH * TW * x.itemsize
    return threads.run(task, threads.chunked_shares(x.shape[0], per_image, CHUNK_BYTES))


def _chunks(share, x, F, TH, TW):
    # Yields (start, stop, tiles, products) for each chunk of a share, in buffers reused by all of them.
    C = x.shape[1]
    most = max((stop - start for start, stop in share), default=0) * TH * TW
    # Each position's slice starts SKEW elements past a multiple of the slice size: slices a power
    # of two apart share cache sets, and a kernel writing all 16 evicts its own lines (4x slower).
    tiles = np.empty((16, C * most + SKEW), dtype=x.dtype)
    products = np.empty((16, F * most + SKEW), dtype=x.dtype)
    for start, stop in share:
        count = (stop - start) * TH * TW
        yield start, stop, tiles[:, : C * count].reshape(16, C, count), products[:, : F * count].reshape(16, F, count)


def _kernel(name):
    return getattr(_winograd, name) if _winograd is not None else globals()[f"{name}_numpy"]


def _tiles_of(maps, pad, TH, TW):
    # (N, C, H, W) -> (N, C, TH, TW, 4, 4): every 4x4 tile, zero padded, two pixels apart.
    N, C, H, W = maps.shape
    padded = np.zeros((N, C, 2 * TH + 2, 2 * TW + 2), dtype=maps.dtype)
    padded[:, :, pad : pad + H, pad : pad + W] = maps
    return np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(2, 3))[:, :, ::2, ::2]


def input_tiles_numpy(x, tiles, pad, TH, TW):
    """Plain-NumPy ``_winograd.input_tiles``: tiles (16, C, N*TH*TW) = Bt d B of every tile of x."""
    transformed = np.einsum("ai,nctuij,bj->abcntu", INPUT_TRANSFORM, _tiles_of(x, pad, TH, TW), INPUT_TRANSFORM)
    tiles[...] = transformed.reshape(tiles.shape)


def output_maps_numpy(products, b, out, TH, TW):
    """Plain-NumPy ``_winograd.output_maps``: out (N, F, OH, OW) = At m A + b for every tile."""
    N, F, OH, OW = out.shape
    blocks = np.einsum("ai,ijfntu,bj->nftaub", OUTPUT_TRANSFORM, products.reshape(4, 4, F, N, TH, TW), OUTPUT_TRANSFORM)
    out[...] = blocks.reshape(N, F, 2 * TH, 2 * TW)[:, :, :OH, :OW] + b[:, None, None]


def output_gradients_numpy(dout, grads, TH, TW):
    """Plain-NumPy ``_winograd.output_gradients``: grads (16, F, T) = A dy At for every 2x2 block of dout."""
    N, F, OH, OW = dout.shape
    padded = np.zeros((N, F, 2 * TH, 2 * TW), dtype=dout.dtype)
    padded[:, :, :OH, :OW] = dout
    blocks = padded.reshape(N, F, TH, 2, TW, 2)
    grads[...] = np.einsum("ai,nftaub,bj->ijfntu", OUTPUT_TRANSFORM, blocks, OUTPUT_TRANSFORM).reshape(grads.shape)


def input_gradients_numpy(grads, dx, pad, TH, TW):
    """Plain-NumPy ``_winograd.input_gradients``: dx = B v Bt of every tile, summed where tiles overlap."""
    N, C, H, W = dx.shape
    tiles = np.einsum("ia,ijcntu,jb->nctuab", INPUT_TRANSFORM, grads.reshape(4, 4, C, N, TH, TW), INPUT_TRANSFORM)
    padded = np.zeros((N, C, 2 * TH + 2, 2 * TW + 2), dtype=dx.dtype)
    for i in range(4):
        for j in range(4):
            padded[:, :, i : i + 2 * TH : 2, j : j + 2 * TW : 2] += tiles[..., i, j]
    dx[...] = padded[:, :, pad : pad + H, pad : pad + W]
