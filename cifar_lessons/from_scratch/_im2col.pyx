# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""im2col / col2im and max pooling for NCHW arrays, float32 and float64.

Layout: ``cols[n, k, p]`` with ``k = (c * FH + i) * FW + j`` (the order of
``w.reshape(F, -1)``) and ``p = oh * OW + ow`` (the order of an output
feature map). Where that element lives is given by two strides, so the same
kernel fills the public ``(N, K, P)`` array and the ``(K, N*P)`` matrix that
lets one matrix product cover a whole chunk of images.

Every element of the destination is written, padding zeros included, so
callers can hand in ``np.empty`` buffers and reuse them: a fresh zeroed
buffer of a few hundred megabytes costs more in page faults than the copy.
The innermost loop runs along an output row, contiguous on the ``cols`` side
(and on the ``x`` side when stride is 1). Every kernel runs on the thread that
calls it, without the GIL: the im2col ones between matrix products that use
every core through BLAS (an OpenMP team in between measured twice as slow, the
two thread pools spinning against each other on a 2-core machine), the pooling
ones on the shares of a batch that :mod:`cifar_lessons.from_scratch.threads` deals out.
"""
import numpy as np
from libc.string cimport memset

ctypedef fused floating:
    float
    double


cdef inline Py_ssize_t _first_valid(Py_ssize_t offset, Py_ssize_t stride) noexcept nogil:
    # Smallest o >= 0 with o * stride + offset >= 0.
    if offset >= 0:
        return 0
    return (-offset + stride - 1) // stride


cdef inline Py_ssize_t _end_valid(Py_ssize_t offset, Py_ssize_t stride,
                                  Py_ssize_t size, Py_ssize_t out_size) noexcept nogil:
    # One past the largest o < out_size with o * stride + offset < size.
    cdef Py_ssize_t last = size - 1 - offset
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < out_size else out_size


cdef inline Py_ssize_t _clamp(Py_ssize_t value, Py_ssize_t high) noexcept nogil:
    return value if value < high else high


cdef void _plane_to_cols(const floating* plane, floating* cols, Py_ssize_t row_stride,
                         Py_ssize_t H, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                         Py_ssize_t field_height, Py_ssize_t field_width,
                         Py_ssize_t pad, Py_ssize_t stride) noexcept nogil:
    # The FH*FW rows of cols that one (image, channel) plane of x feeds.
    cdef Py_ssize_t i, j, oh, ow, ow_lo, ow_hi, oh_lo, oh_hi, shift
    cdef floating* row
    cdef const floating* source
    for i in range(field_height):
        oh_lo = _clamp(_first_valid(i - pad, stride), OH)
        oh_hi = _end_valid(i - pad, stride, H, OH)
        if oh_hi < oh_lo:
            oh_hi = oh_lo
        for j in range(field_width):
            row = cols + (i * field_width + j) * row_stride
            shift = j - pad
            ow_lo = _clamp(_first_valid(shift, stride), OW)
            ow_hi = _end_valid(shift, stride, W, OW)
            if ow_hi < ow_lo:
                ow_hi = ow_lo
            memset(row, 0, oh_lo * OW * sizeof(floating))
            for oh in range(oh_lo, oh_hi):
                source = plane + (oh * stride + i - pad) * W + shift
                for ow in range(ow_lo):
                    row[oh * OW + ow] = 0
                if stride == 1:
                    for ow in range(ow_lo, ow_hi):
                        row[oh * OW + ow] = source[ow]
                else:
                    for ow in range(ow_lo, ow_hi):
                        row[oh * OW + ow] = source[ow * stride]
                for ow in range(ow_hi, OW):
                    row[oh * OW + ow] = 0
            memset(row + oh_hi * OW, 0, (OH - oh_hi) * OW * sizeof(floating))


cdef void _cols_to_plane(const floating* cols, floating* plane, Py_ssize_t row_stride,
                         Py_ssize_t H, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                         Py_ssize_t field_height, Py_ssize_t field_width,
                         Py_ssize_t pad, Py_ssize_t stride) noexcept nogil:
    # Adjoint of _plane_to_cols: the plane is overwritten by the sum of its windows.
    cdef Py_ssize_t i, j, oh, ow, ow_lo, ow_hi, oh_lo, oh_hi, shift
    cdef const floating* row
    cdef floating* target
    memset(plane, 0, H * W * sizeof(floating))
    for i in range(field_height):
        oh_lo = _first_valid(i - pad, stride)
        oh_hi = _end_valid(i - pad, stride, H, OH)
        for j in range(field_width):
            row = cols + (i * field_width + j) * row_stride
            shift = j - pad
            ow_lo = _first_valid(shift, stride)
            ow_hi = _end_valid(shift, stride, W, OW)
            for oh in range(oh_lo, oh_hi):
                target = plane + (oh * stride + i - pad) * W + shift
                if stride == 1:
                    for ow in range(ow_lo, ow_hi):
                        target[ow] += row[oh * OW + ow]
                else:
                    for ow in range(ow_lo, ow_hi):
                        target[ow * stride] += row[oh * OW + ow]


cdef void _transfer(floating* x, floating* cols, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                    Py_ssize_t image_stride, Py_ssize_t row_stride, Py_ssize_t field_height,
                    Py_ssize_t field_width, Py_ssize_t pad, Py_ssize_t stride, bint to_cols) noexcept nogil:
    # im2col (to_cols) or col2im over all (image, channel) planes.
    cdef Py_ssize_t OH = (H + 2 * pad - field_height) // stride + 1
    cdef Py_ssize_t OW = (W + 2 * pad - field_width) // stride + 1
    cdef Py_ssize_t fields = field_height * field_width, plane, n, c
    cdef floating* plane_x
    cdef floating* plane_cols
    for plane in range(N * C):
        n = plane // C
        c = plane % C
        plane_x = x + plane * H * W
        plane_cols = cols + n * image_stride + c * fields * row_stride
        if to_cols:
            _plane_to_cols(plane_x, plane_cols, row_stride, H, W, OH, OW, field_height, field_width, pad, stride)
        else:
            _cols_to_plane(plane_cols, plane_x, row_stride, H, W, OH, OW, field_height, field_width, pad, stride)


def im2col_strided(const floating[:, :, :, ::1] x, floating[::1] cols, Py_ssize_t image_stride,
                   Py_ssize_t row_stride, Py_ssize_t field_height, Py_ssize_t field_width,
                   Py_ssize_t pad, Py_ssize_t stride):
    """Write every element of image n's row k, column p to ``cols[n*image_stride + k*row_stride + p]``."""
    with nogil:  # x is only read: casting away const for the shared loop is safe
        _transfer(<floating*>&x[0, 0, 0, 0], &cols[0], x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                  image_stride, row_stride, field_height, field_width, pad, stride, True)


def col2im_strided(const floating[::1] cols, floating[:, :, :, ::1] x, Py_ssize_t image_stride,
                   Py_ssize_t row_stride, Py_ssize_t field_height, Py_ssize_t field_width,
                   Py_ssize_t pad, Py_ssize_t stride):
    """Overwrite x with the adjoint of :func:`im2col_strided` read from the same layout."""
    with nogil:  # cols is only read
        _transfer(&x[0, 0, 0, 0], <floating*>&cols[0], x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                  image_stride, row_stride, field_height, field_width, pad, stride, False)


cdef inline bint _beats(floating challenger, floating best) noexcept nogil:
    # A NaN beats every number and the first NaN every later one, as in NumPy's max and argmax;
    # otherwise only a larger value wins, so the first of equal maxima keeps its place.
    return (challenger > best) | ((challenger != challenger) & (best == best))


cdef void _pool_2x2(const floating* source, floating* out, int* argmax, Py_ssize_t W,
                    Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    # The common 2x2 window with stride 2, as a tournament: the winners of two pairs, then of those
    # two. Positions are picked by arithmetic on the comparisons, never by a branch: on random data
    # a branch guesses wrong half the time, which made this loop four times slower.
    cdef Py_ssize_t oh, ow, at, top, bottom, best
    for oh in range(OH):
        for ow in range(OW):
            at = 2 * oh * W + 2 * ow
            top = at + _beats(source[at + 1], source[at])
            bottom = at + W + _beats(source[at + W + 1], source[at + W])
            best = top + _beats(source[bottom], source[top]) * (bottom - top)
            out[oh * OW + ow] = source[best]
            argmax[oh * OW + ow] = <int>best


def max_pool_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                     int[:, :, :, ::1] argmax, Py_ssize_t pool_height, Py_ssize_t pool_width,
                     Py_ssize_t stride):
    """Fill ``out`` with each window's maximum and ``argmax`` with its flat h*W + w position (first on ties;
    a window holding NaN gives its first NaN)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], W = x.shape[3]
    cdef Py_ssize_t OH = out.shape[2], OW = out.shape[3]
    cdef Py_ssize_t plane, n, c, oh, ow, i, j, best_at, at
    cdef const floating* source
    with nogil:
        for plane in range(N * C):
            n = plane // C
            c = plane % C
            source = &x[n, c, 0, 0]
            if pool_height == 2 and pool_width == 2 and stride == 2:
                _pool_2x2(source, &out[n, c, 0, 0], &argmax[n, c, 0, 0], W, OH, OW)
                continue
            for oh in range(OH):
                for ow in range(OW):
                    best_at = oh * stride * W + ow * stride
                    for i in range(pool_height):
                        for j in range(pool_width):
                            at = (oh * stride + i) * W + ow * stride + j
                            best_at += _beats(source[at], source[best_at]) * (at - best_at)
                    out[n, c, oh, ow] = source[best_at]
                    argmax[n, c, oh, ow] = <int>best_at


def max_pool_backward(const floating[:, :, :, ::1] dout, const int[:, :, :, ::1] argmax,
                      floating[:, :, :, ::1] dx):
    """Overwrite dx with dout routed to each window's argmax (summed where windows overlap)."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t OH = dout.shape[2], OW = dout.shape[3]
    cdef Py_ssize_t plane, n, c, oh, ow
    cdef floating* target
    with nogil:
        for plane in range(N * C):
            n = plane // C
            c = plane % C
            target = &dx[n, c, 0, 0]
            memset(target, 0, H * W * sizeof(floating))
            for oh in range(OH):
                for ow in range(OW):
                    target[argmax[n, c, oh, ow]] += dout[n, c, oh, ow]
