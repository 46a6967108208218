# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""im2col / col2im for NCHW arrays, float32 and float64.

Layout: ``cols[n, k, p]`` with ``k = (c * FH + i) * FW + j`` (the order of
``w.reshape(F, -1)``) and ``p = oh * OW + ow`` (the order of an output
feature map). Each image owns a contiguous ``(C*FH*FW, OH*OW)`` block, so a
convolution is one matrix product per image and its result is already NCHW.

The innermost loop runs along an output row: it writes ``cols`` contiguously
and reads ``x`` with the convolution's stride (contiguously when stride is 1).
Out-of-bounds (padding) positions are left at zero without a branch in the
inner loop: the valid ``ow`` range is computed once per row.
"""
import numpy as np

ctypedef fused floating:
    float
    double


cdef inline Py_ssize_t _first_valid(Py_ssize_t offset, Py_ssize_t stride) nogil:
    # Smallest o >= 0 with o * stride + offset >= 0.
    if offset >= 0:
        return 0
    return (-offset + stride - 1) // stride


cdef inline Py_ssize_t _end_valid(Py_ssize_t offset, Py_ssize_t stride,
                                  Py_ssize_t size, Py_ssize_t out_size) nogil:
    # One past the largest o < out_size with o * stride + offset < size.
    cdef Py_ssize_t last = size - 1 - offset
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < out_size else out_size


cdef void _transfer(floating[:, :, :, ::1] x, floating[:, :, ::1] cols,
                    Py_ssize_t field_height, Py_ssize_t field_width, Py_ssize_t pad,
                    Py_ssize_t stride, bint to_cols) noexcept nogil:
    # im2col copies x into cols; its adjoint, col2im, adds cols back into x.
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = (H + 2 * pad - field_height) // stride + 1
    cdef Py_ssize_t OW = (W + 2 * pad - field_width) // stride + 1
    cdef Py_ssize_t n, c, i, j, k, oh, ow, h, ow_lo, ow_hi, oh_lo, oh_hi, base, shift
    for n in range(N):
        for c in range(C):
            for i in range(field_height):
                oh_lo = _first_valid(i - pad, stride)
                oh_hi = _end_valid(i - pad, stride, H, OH)
                for j in range(field_width):
                    k = (c * field_height + i) * field_width + j
                    shift = j - pad
                    ow_lo = _first_valid(shift, stride)
                    ow_hi = _end_valid(shift, stride, W, OW)
                    for oh in range(oh_lo, oh_hi):
                        h = oh * stride + i - pad
                        base = oh * OW
                        if to_cols:
                            for ow in range(ow_lo, ow_hi):
                                cols[n, k, base + ow] = x[n, c, h, ow * stride + shift]
                        else:
                            for ow in range(ow_lo, ow_hi):
                                x[n, c, h, ow * stride + shift] += cols[n, k, base + ow]


def _out_size(Py_ssize_t size, Py_ssize_t field, Py_ssize_t pad, Py_ssize_t stride):
    return (size + 2 * pad - field) // stride + 1


def im2col(floating[:, :, :, ::1] x, Py_ssize_t field_height, Py_ssize_t field_width,
           Py_ssize_t pad, Py_ssize_t stride):
    """x: (N, C, H, W) C-contiguous -> cols: (N, C*FH*FW, OH*OW), same dtype."""
    OH = _out_size(x.shape[2], field_height, pad, stride)
    OW = _out_size(x.shape[3], field_width, pad, stride)
    dtype = np.float32 if floating is float else np.float64
    cols = np.zeros((x.shape[0], x.shape[1] * field_height * field_width, OH * OW), dtype=dtype)
    cdef floating[:, :, ::1] cols_view = cols
    with nogil:
        _transfer(x, cols_view, field_height, field_width, pad, stride, True)
    return cols


def col2im(floating[:, :, ::1] cols, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
           Py_ssize_t field_height, Py_ssize_t field_width, Py_ssize_t pad, Py_ssize_t stride):
    """cols: (N, C*FH*FW, OH*OW) -> x: (N, C, H, W), overlapping windows summed."""
    dtype = np.float32 if floating is float else np.float64
    x = np.zeros((N, C, H, W), dtype=dtype)
    cdef floating[:, :, :, ::1] x_view = x
    with nogil:
        _transfer(x_view, cols, field_height, field_width, pad, stride, False)
    return x
