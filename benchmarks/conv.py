"""Speed of our convolution and max pooling against PyTorch on the CPU, with GEMMs as the roof.

Each contestant runs in a process of its own and the contestants take turns over several
rounds (see ``harness.py``); the table shows medians over rounds and ratios of throughput
(higher is better for us).

    python benchmarks/conv.py [--rounds 5] [--threads N]
    CS231N_DIR=path/to/assignment2 python benchmarks/conv.py   # adds CS231n's fast layers

Contestants on the large 3x3 layer: ``fast`` (our layers: Winograd), ``im2col`` (our layers' im2col
path, which the other filter sizes and strides take), ``torch`` (``F.conv2d`` on the CPU), ``cs231n`` (CS231n's own
``conv_forward_fast`` / ``conv_backward_fast``, from an assignment folder whose ``cs231n/``
extension has been built as the assignment says, ``python setup.py build_ext --inplace``), and
two roofs: ``im2col gemm``, the three matrix products of an im2col convolution alone, and
``winograd gemm``, the 48 smaller products of a Winograd one alone. The GFLOP/s column counts
the multiply-adds of a direct convolution for everyone, so Winograd can beat the im2col roof.

``--threads`` (default: every core) caps every contestant's thread pools (OpenMP, OpenBLAS,
PyTorch). On a machine shared with other work, ``--threads 1`` compares the code rather than
how each thread pool copes with being descheduled.
"""

import os
import sys

import harness
import numpy as np

# name: (x shape, w shape or pool size, stride, pad, dtype, contestants, the one the ratio is against)
CASES = {
    "conv": (
        (128, 64, 32, 32),
        (64, 64, 3, 3),
        1,
        1,
        "float32",
        ("fast", "im2col", "cs231n", "torch", "im2col gemm", "winograd gemm"),
        "torch",
    ),
    "pool": ((128, 64, 32, 32), (2, 2), 2, 0, "float32", ("fast", "torch"), "torch"),
    "small conv": ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1, "float64", ("naive", "fast", "torch"), "naive"),
}
# case: (contestant, the least throughput of fast as a multiple of that contestant's)
TARGETS = {"conv": [("torch", 1.0), ("cs231n", 2.0)], "pool": [("torch", 2.0)]}
ROOFS = {"fast": "winograd gemm", "im2col": "im2col gemm"}  # a method: the time of its products alone


def conv_flops(x_shape, w_shape, stride, pad):
    """Multiply-adds of forward + backward (dx and dw), counted as 2 flops each."""
    N, _, H, W = x_shape
    F, C, HH, WW = w_shape
    positions = ((H + 2 * pad - HH) // stride + 1) * ((W + 2 * pad - WW) // stride + 1)
    return 3 * 2 * N * F * C * HH * WW * positions


def _torch_step(case, x, w, stride, pad):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(harness.threads())
    x = torch.from_numpy(x).requires_grad_()
    if case == "pool":

        def step():
            out = F.max_pool2d(x, w[0], stride)
            out.backward(torch.ones_like(out))

        return step
    w = torch.from_numpy(w).requires_grad_()
    b = torch.zeros(w.shape[0], dtype=w.dtype, requires_grad=True)

    def step():
        out = F.conv2d(x, w, b, stride=stride, padding=pad)
        out.backward(torch.ones_like(out))

    return step


def _numpy_step(case, contestant, x, w, stride, pad):
    from cifar_lessons.from_scratch import fast_layers, layers

    if case == "pool":
        pool_param = {"pool_height": w[0], "pool_width": w[1], "stride": stride}

        def step():
            out, cache = fast_layers.max_pool_forward_fast(x, pool_param)
            fast_layers.max_pool_backward_fast(np.ones_like(out), cache)

        return step
    if contestant == "cs231n":
        sys.path.insert(0, os.environ["CS231N_DIR"])
        from cs231n import fast_layers as cs231n_layers

        forward, backward = cs231n_layers.conv_forward_fast, cs231n_layers.conv_backward_fast
    elif contestant == "naive":
        forward, backward = layers.conv_forward_naive, layers.conv_backward_naive
    elif contestant == "im2col":
        forward, backward = fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col
    else:
        forward, backward = fast_layers.conv_forward_fast, fast_layers.conv_backward_fast
    b = np.zeros(w.shape[0], dtype=w.dtype)

    def step():
        out, cache = forward(x, w, b, {"stride": stride, "pad": pad})
        backward(np.ones_like(out), cache)

    return step


def _im2col_gemm_step(x, w, stride, pad):
    # The three products of an im2col convolution (forward, dw, dx), with nothing around them.
    N, _, H, W = x.shape
    F, C, HH, WW = w.shape
    rows = C * HH * WW
    columns = N * ((H + 2 * pad - HH) // stride + 1) * ((W + 2 * pad - WW) // stride + 1)
    return _products_step(x.dtype, 1, F, rows, columns)


def _winograd_gemm_step(x, w, stride, pad):
    # The 3 x 16 products of a Winograd convolution, (F, C) @ (C, tiles) and the two of backward, alone.
    from cifar_lessons.from_scratch import winograd

    TH, TW = winograd.tile_counts(x.shape[2], x.shape[3], pad)
    return _products_step(x.dtype, 16, w.shape[0], w.shape[1], x.shape[0] * TH * TW)


def _products_step(dtype, batch, F, rows, columns):
    # out = filters @ fields, dfilters = out @ fields.T, fields = filters.T @ out, on ``batch`` stacked matrices.
    rng = np.random.default_rng(0)
    filters = rng.standard_normal((batch, F, rows), dtype=dtype)
    fields = rng.standard_normal((batch, rows, columns), dtype=dtype)
    grads = np.empty((batch, F, columns), dtype=dtype)
    dfilters = np.empty((batch, F, rows), dtype=dtype)

    def step():
        np.matmul(filters, fields, out=grads)
        np.matmul(grads, fields.transpose(0, 2, 1), out=dfilters)
        np.matmul(filters.transpose(0, 2, 1), grads, out=fields)

    return step


def run_one(case, contestant):
    """Time one contestant on one case in this process; returns seconds per forward + backward."""
    x_shape, w_shape, stride, pad, dtype, _, _ = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = w_shape if case == "pool" else (rng.standard_normal(w_shape) * 0.1).astype(dtype)
    if contestant == "torch":
        step = _torch_step(case, x, w, stride, pad)
    elif contestant in ROOFS.values():
        step = (_im2col_gemm_step if contestant == "im2col gemm" else _winograd_gemm_step)(x, w, stride, pad)
    else:
        step = _numpy_step(case, contestant, x, w, stride, pad)
    return harness.time_step(step)


def main(rounds, threads):
    from cifar_lessons.from_scratch import kernels

    has_torch = harness.torch_available()
    entries = [
        (case, contestant)
        for case, spec in CASES.items()
        for contestant in spec[5]
        if (contestant != "torch" or has_torch) and (contestant != "cs231n" or "CS231N_DIR" in os.environ)
    ]
    print(
        f"{os.cpu_count()} cores, {threads} threads per contestant, im2col kernels: {kernels.BACKEND}, "
        f"{rounds} rounds of {harness.REPEATS} timed runs, each contestant in its own process"
    )
    seconds = harness.interleaved(__file__, entries, rounds, threads)
    for case, (x_shape, w_shape, stride, pad, dtype, contestants, baseline) in CASES.items():
        what = "pool" if case == "pool" else "w"
        print(f"\n{case}: x {x_shape}, {what} {w_shape}, stride {stride}, pad {pad}, {dtype}, forward + backward")
        flops = None if case == "pool" else conv_flops(x_shape, w_shape, stride, pad)
        medians = harness.medians(seconds, case, contestants)
        for contestant, median in medians.items():
            rate = f"{flops / median / 1e9:7.1f} GFLOP/s" if flops else ""
            ratio = f"{medians[baseline] / median:6.2f}x {baseline}'s throughput" if baseline in medians else ""
            spread = harness.spread(seconds[(case, contestant)])
            print(f"  {contestant:13s} {median * 1e3:9.1f} ms  {rate:16s} {ratio:28s} (rounds: {spread} ms)")
        for contestant, roof in ROOFS.items():
            if contestant in medians and roof in medians:
                share = medians[contestant] / medians[roof]
                print(f"  roof: {contestant} takes {share:.2f}x the time of its matrix products alone ({roof})")
        for rival, target in TARGETS.get(case, []):
            if rival in medians:
                reached = medians[rival] / medians["fast"]
                print(
                    f"  target: fast >= {target}x {rival}'s throughput: "
                    f"{'met' if reached >= target else 'NOT met'} ({reached:.2f}x)"
                )


if __name__ == "__main__":
    harness.command_line(__doc__, run_one, main)
