"""Speed of our fully connected network against the same network in PyTorch on the CPU, with its
matrix products alone as the roof.

One training step's work: the loss with its L2 term and every gradient, forward + backward.
Each contestant runs in a process of its own and the contestants take turns over several
rounds (see ``harness.py``); the table shows medians over rounds and each contestant's time
as a multiple of PyTorch's (lower is better for us).

    python benchmarks/fc.py [--rounds 5] [--threads N]

``--threads`` (default: every core) caps every contestant's thread pools (OpenMP, OpenBLAS,
PyTorch). On a machine shared with other work, ``--threads 1`` compares the code rather than
how each thread pool copes with being descheduled.

Neither network computes the gradient of its input, the data, which no one uses: PyTorch because
the input does not require one, the NumPy network because its ``input_gradient`` is off (the
product it skips is the largest of the network). ``gemm`` runs the products both run.
"""

import os

import harness
import numpy as np

# name: (layer sizes, batch, dtype, L2 strength, contestants)
CASES = {"fc": ((3 * 32 * 32, 512, 512, 10), 256, "float32", 1e-3, ("numpy", "torch", "gemm"))}
TARGETS = {("fc", "numpy"): 1.1}  # at most this multiple of PyTorch's time


def fc_flops(dims, batch):
    """Multiply-adds of the forward product and of the dw and dx products of every layer but the first
    one's dx, 2 flops each."""
    products = sum(fan_in * fan_out for fan_in, fan_out in zip(dims[:-1], dims[1:]))
    return 2 * batch * (3 * products - dims[0] * dims[1])


def _numpy_step(model, X, y):
    def step():
        model.loss(X, y)

    return step


def _torch_step(model, X, y, reg):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(harness.threads())
    layers = [torch.nn.Flatten()]
    L = model.num_layers
    for i in range(1, L + 1):
        W, b = model.params[f"W{i}"], model.params[f"b{i}"]
        linear = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()] if i < L else [linear]
    net = torch.nn.Sequential(*layers)
    weights = [layer.weight for layer in net if isinstance(layer, torch.nn.Linear)]
    X, y = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        net.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(X), y) + 0.5 * reg * sum((w * w).sum() for w in weights)
        loss.backward()

    return step


def _gemm_step(model, X):
    # Every layer's forward, dw and dx products but the first layer's dx, with nothing around them.
    weights = [model.params[f"W{i}"] for i in range(1, model.num_layers + 1)]
    outputs = [np.empty((len(X), w.shape[1]), X.dtype) for w in weights]
    inputs = [X.reshape(len(X), -1), *outputs[:-1]]
    dweights = [np.empty_like(w) for w in weights]
    dinputs = [np.empty_like(x) for x in inputs]

    def step():
        for x, w, out in zip(inputs, weights, outputs):
            np.matmul(x, w, out=out)
        for x, dout, dw in zip(inputs, outputs, dweights):
            np.matmul(x.T, dout, out=dw)
        for w, dout, dx in zip(weights[1:], outputs[1:], dinputs[1:]):
            np.matmul(dout, w.T, out=dx)

    return step


def run_one(case, contestant):
    """Time one contestant on one case in this process; returns seconds per forward + backward."""
    from cifar_lessons.from_scratch.models import FullyConnectedNet

    dims, batch, dtype, reg, _ = CASES[case]
    model = FullyConnectedNet(
        hidden_dims=list(dims[1:-1]), input_dim=dims[0], num_classes=dims[-1], dtype=np.dtype(dtype), reg=reg, seed=0
    )
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, 3, 32, 32) if dims[0] == 3 * 32 * 32 else (batch, dims[0])).astype(dtype)
    y = rng.integers(dims[-1], size=batch)
    if contestant == "torch":
        step = _torch_step(model, X, y, reg)
    elif contestant == "gemm":
        step = _gemm_step(model, X)
    else:
        step = _numpy_step(model, X, y)
    return harness.time_step(step)


def main(rounds, threads):
    has_torch = harness.torch_available()
    entries = [(case, c) for case, spec in CASES.items() for c in spec[-1] if c != "torch" or has_torch]
    print(
        f"{os.cpu_count()} cores, {threads} threads per contestant, "
        f"{rounds} rounds of {harness.REPEATS} timed runs, each contestant in its own process"
    )
    seconds = harness.interleaved(__file__, entries, rounds, threads)
    for case, (dims, batch, dtype, reg, contestants) in CASES.items():
        sizes = "-".join(map(str, dims))
        print(f"\n{case}: {sizes}, batch {batch}, {dtype}, L2 reg {reg}, loss and every gradient")
        flops = fc_flops(dims, batch)
        medians = harness.medians(seconds, case, contestants)
        for contestant, median in medians.items():
            rate = f"{flops / median / 1e9:7.1f} GFLOP/s" if contestant != "torch" else ""
            ratio = f"{median / medians['torch']:6.2f}x PyTorch's time" if "torch" in medians else ""
            spread = harness.spread(seconds[(case, contestant)])
            print(f"  {contestant:6s} {median * 1e3:9.1f} ms  {rate:16s} {ratio:24s} (rounds: {spread} ms)")
        if "torch" in medians:
            for (target_case, contestant), target in TARGETS.items():
                if target_case != case:
                    continue
                reached = medians[contestant] / medians["torch"]
                print(f"  {contestant} takes {reached:.2f}x PyTorch's time")
                print(
                    f"  target: {contestant} at most {target}x PyTorch's time: "
                    f"{'met' if reached <= target else 'NOT met'} ({reached:.2f}x)"
                )


if __name__ == "__main__":
    harness.command_line(__doc__, run_one, main)
