# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The tile transforms of a Winograd F(2x2, 3x3) convolution, NCHW, float32 and float64.

A 3x3 stride-1 convolution computes each 2x2 block of an output map from a 4x4 tile of its input
map; neighbouring tiles overlap by two pixels. Winograd's algorithm transforms the tile,
``V = Bt d B``, and the filter, ``U = G g Gt``, so that the 2x2 block is ``At (U * V) A``: 16
multiplications instead of 36. Summed over input channels, the 16 elementwise products become 16
matrix products, one per tile position, which BLAS runs.

Transformed tiles are stored as ``tiles[position, channel, tile]`` with ``position = 4*row +
column`` of the 4x4 transformed tile and ``tile = (image*TH + th)*TW + tw`` for TH x TW tiles per
map. Each plane is first copied into a small zero-bordered scratch map, so that the transforms
need no bounds checks and the scratch stays in the L1 cache while its tiles are read or written.
The backward pass needs the adjoint of each transform: :func:`output_gradients` (the adjoint of
the output transform, ``A dy At``) and :func:`input_gradients` (the adjoint of the input
transform, ``B dv Bt``, with overlapping tiles summed).

Each kernel checks the shapes and the pad it is given before it touches memory: its loops run
unchecked, so an argument that does not fit would make them read or write past an array's end.
"""
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

ctypedef fused floating:
    float
    double


cdef floating* _scratch(Py_ssize_t count, floating tag) except NULL nogil:
    # A zeroed plane; the tag only selects the type.
    cdef floating* plane = <floating*>calloc(count, sizeof(floating))
    if plane == NULL:
        with gil:
            raise MemoryError()
    return plane


cdef int _check_plane(Py_ssize_t H, Py_ssize_t W, Py_ssize_t pad, Py_ssize_t TH, Py_ssize_t TW,
                      Py_ssize_t border) except -1:
    # The maps, shifted by pad, must lie inside the scratch plane of (2 TH + border) x (2 TW + border).
    if pad < 0 or TH < 0 or TW < 0 or H + pad > 2 * TH + border or W + pad > 2 * TW + border:
        raise ValueError(f"maps of {H}x{W} padded by {pad} do not fit {TH}x{TW} tiles")
    return 0


cdef int _check_tiles(Py_ssize_t positions, Py_ssize_t rows, Py_ssize_t count, Py_ssize_t expected_rows,
                      Py_ssize_t expected_count, str name) except -1:
    if (positions, rows, count) != (16, expected_rows, expected_count):
        raise ValueError(f"{name} must be (16, {expected_rows}, {expected_count}), got ({positions}, {rows}, {count})")
    return 0


cdef Py_ssize_t _position_stride(Py_ssize_t position, Py_ssize_t last, Py_ssize_t tiles,
                                 Py_ssize_t itemsize) except -1:
    # Elements between the slices of two positions; the kernels walk each slice's last axis by +1.
    if tiles > 1 and last != itemsize:
        raise ValueError("the last axis of the transformed tiles must be contiguous")
    return position // itemsize


def input_tiles(const floating[:, :, :, ::1] x, floating[:, :, :] tiles, Py_ssize_t pad,
                Py_ssize_t TH, Py_ssize_t TW):
    """Write ``Bt d B`` of every 4x4 tile of x (N, C, H, W), zero padded by ``pad``, into
    ``tiles`` (16, C, N*TH*TW)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t PW = 2 * TW + 2, n, c, r, th, tw, k, t
    _check_plane(H, W, pad, TH, TW, 2)
    _check_tiles(tiles.shape[0], tiles.shape[1], tiles.shape[2], C, N * TH * TW, "tiles")
    cdef Py_ssize_t stride = _position_stride(tiles.strides[0], tiles.strides[2], tiles.shape[2], sizeof(floating))
    cdef floating d[16]
    cdef floating e[16]
    cdef floating* plane
    cdef const floating* row
    cdef floating* target
    with nogil:
        plane = _scratch((2 * TH + 2) * PW, <floating>0)
        try:
            for n in range(N):
                for c in range(C):
                    # the border is never written, so it stays zero for every plane
                    for r in range(H):
                        memcpy(plane + (r + pad) * PW + pad, &x[n, c, r, 0], W * sizeof(floating))
                    t = n * TH * TW
                    target = &tiles[0, c, 0]
                    for th in range(TH):
                        for tw in range(TW):
                            for k in range(4):
                                row = plane + (2 * th + k) * PW + 2 * tw
                                d[4 * k] = row[0] - row[2]
                                d[4 * k + 1] = row[1] + row[2]
                                d[4 * k + 2] = row[2] - row[1]
                                d[4 * k + 3] = row[1] - row[3]
                            for k in range(4):
                                e[k] = d[k] - d[8 + k]
                                e[4 + k] = d[4 + k] + d[8 + k]
                                e[8 + k] = d[8 + k] - d[4 + k]
                                e[12 + k] = d[4 + k] - d[12 + k]
                            for k in range(16):
                                target[k * stride + t] = e[k]
                            t += 1
        finally:
            free(plane)


def output_maps(const floating[:, :, :] products, const floating[::1] bias, floating[:, :, :, ::1] out,
                Py_ssize_t TH, Py_ssize_t TW):
    """Write ``At m A + bias`` of every transformed tile of ``products`` (16, F, N*TH*TW) into
    out (N, F, OH, OW), dropping the row and column past an odd OH or OW."""
    cdef Py_ssize_t N = out.shape[0], F = out.shape[1], OH = out.shape[2], OW = out.shape[3]
    cdef Py_ssize_t PW = 2 * TW, n, f, r, o, th, tw, k, t
    _check_plane(OH, OW, 0, TH, TW, 0)
    _check_tiles(products.shape[0], products.shape[1], products.shape[2], F, N * TH * TW, "products")
    if bias.shape[0] != F:
        raise ValueError(f"{F} filters but {bias.shape[0]} biases")
    cdef Py_ssize_t stride = _position_stride(products.strides[0], products.strides[2], products.shape[2], sizeof(floating))
    cdef floating m[16]
    cdef floating a[8]
    cdef floating* plane
    cdef const floating* source
    cdef floating* block
    with nogil:
        plane = _scratch(2 * TH * PW, <floating>0)
        try:
            for n in range(N):
                for f in range(F):
                    t = n * TH * TW
                    source = &products[0, f, 0]
                    for th in range(TH):
                        for tw in range(TW):
                            for k in range(16):
                                m[k] = source[k * stride + t]
                            for k in range(4):
                                a[k] = m[k] + m[4 + k] + m[8 + k]
                                a[4 + k] = m[4 + k] - m[8 + k] - m[12 + k]
                            block = plane + 2 * th * PW + 2 * tw
                            for k in range(2):
                                block[k * PW] = a[4 * k] + a[4 * k + 1] + a[4 * k + 2]
                                block[k * PW + 1] = a[4 * k + 1] - a[4 * k + 2] - a[4 * k + 3]
                            t += 1
                    for r in range(OH):
                        for o in range(OW):
                            out[n, f, r, o] = plane[r * PW + o] + bias[f]
        finally:
            free(plane)


def output_gradients(const floating[:, :, :, ::1] dout, floating[:, :, :] grads, Py_ssize_t TH, Py_ssize_t TW):
    """Write ``A dy At`` of every 2x2 block of dout (N, F, OH, OW), zero past its edge, into
    ``grads`` (16, F, N*TH*TW): the adjoint of :func:`output_maps`."""
    cdef Py_ssize_t N = dout.shape[0], F = dout.shape[1], OH = dout.shape[2], OW = dout.shape[3]
    cdef Py_ssize_t PW = 2 * TW, n, f, r, th, tw, k, t
    _check_plane(OH, OW, 0, TH, TW, 0)
    _check_tiles(grads.shape[0], grads.shape[1], grads.shape[2], F, N * TH * TW, "grads")
    cdef Py_ssize_t stride = _position_stride(grads.strides[0], grads.strides[2], grads.shape[2], sizeof(floating))
    cdef floating q[8]
    cdef floating* plane
    cdef const floating* block
    cdef floating* target
    with nogil:
        plane = _scratch(2 * TH * PW, <floating>0)
        try:
            for n in range(N):
                for f in range(F):
                    for r in range(OH):
                        memcpy(plane + r * PW, &dout[n, f, r, 0], OW * sizeof(floating))
                    t = n * TH * TW
                    target = &grads[0, f, 0]
                    for th in range(TH):
                        for tw in range(TW):
                            block = plane + 2 * th * PW + 2 * tw
                            for k in range(2):
                                q[k] = block[k]
                                q[2 + k] = block[k] + block[PW + k]
                                q[4 + k] = block[k] - block[PW + k]
                                q[6 + k] = -block[PW + k]
                            for k in range(4):
                                target[4 * k * stride + t] = q[2 * k]
                                target[(4 * k + 1) * stride + t] = q[2 * k] + q[2 * k + 1]
                                target[(4 * k + 2) * stride + t] = q[2 * k] - q[2 * k + 1]
                                target[(4 * k + 3) * stride + t] = -q[2 * k + 1]
                            t += 1
        finally:
            free(plane)


def input_gradients(const floating[:, :, :] grads, floating[:, :, :, ::1] dx, Py_ssize_t pad,
                    Py_ssize_t TH, Py_ssize_t TW):
    """Overwrite dx (N, C, H, W) with ``B dv Bt`` of every transformed tile of ``grads``
    (16, C, N*TH*TW), summed where tiles overlap: the adjoint of :func:`input_tiles`."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t PH = 2 * TH + 2, PW = 2 * TW + 2, n, c, r, i, th, tw, k, t
    _check_plane(H, W, pad, TH, TW, 2)
    _check_tiles(grads.shape[0], grads.shape[1], grads.shape[2], C, N * TH * TW, "grads")
    cdef Py_ssize_t stride = _position_stride(grads.strides[0], grads.strides[2], grads.shape[2], sizeof(floating))
    cdef floating v[16]
    cdef floating e[16]
    cdef floating* plane
    cdef const floating* source
    cdef floating* row
    with nogil:
        plane = _scratch(PH * PW, <floating>0)
        try:
            for n in range(N):
                for c in range(C):
                    for i in range(PH * PW):
                        plane[i] = 0
                    t = n * TH * TW
                    source = &grads[0, c, 0]
                    for th in range(TH):
                        for tw in range(TW):
                            for k in range(16):
                                v[k] = source[k * stride + t]
                            for k in range(4):
                                e[k] = v[k]
                                e[4 + k] = v[4 + k] - v[8 + k] + v[12 + k]
                                e[8 + k] = v[4 + k] + v[8 + k] - v[k]
                                e[12 + k] = -v[12 + k]
                            for k in range(4):
                                row = plane + (2 * th + k) * PW + 2 * tw
                                row[0] += e[4 * k]
                                row[1] += e[4 * k + 1] - e[4 * k + 2] + e[4 * k + 3]
                                row[2] += e[4 * k + 1] + e[4 * k + 2] - e[4 * k]
                                row[3] -= e[4 * k + 3]
                            t += 1
                    for r in range(H):
                        memcpy(&dx[n, c, r, 0], plane + (r + pad) * PW + pad, W * sizeof(floating))
        finally:
            free(plane)
