"""The floating-point arithmetic the stored notebook outputs depend on: pinned, fingerprinted, compared.

    python -m book_tools.arithmetic exec -- COMMAND ...   run COMMAND under the pinned arithmetic
    python -m book_tools.arithmetic exec --foreign -- COMMAND ...   under another one (x86-64)
    python -m book_tools.arithmetic stamp NOTEBOOK ...    store this machine's fingerprint in each notebook
    python -m book_tools.arithmetic show                  what each library runs here, and the fingerprint

Every library the book computes with picks its kernels by CPU, and kernels of different
instruction sets round differently: NumPy's own loops (exp, log, sums), OpenBLAS (NumPy's matrix
products), PyTorch's own kernels (ATen), oneDNN (PyTorch's convolutions) and MKL (PyTorch's
matrix products and eigensolver). A training run amplifies a difference in the last bit into
other printed accuracies. :data:`PINS` holds every library to AVX2 kernels, one thread each,
which every x86-64 CPU since 2013 runs, so the outputs stored on one such CPU reproduce bit for
bit on another, with AVX-512 or without.

Pins are a request, not a proof (oneDNN, say, may still block its loops by the cache sizes it
finds), so the decision is measured: :func:`measure` runs a short computation through each
library and hashes the bits. ``make notebooks`` stores that fingerprint in each notebook it
executes; before nbval compares outputs, the tests measure it again. Where a library's hash
differs (another CPU family, an ARM machine, another build), nbval runs that notebook in the
tolerant mode of :mod:`tests.arithmetic_mode`: every cell still runs and every assertion still
holds, and only the numbers printed by cells tagged ``rounding`` go uncompared.
"""

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from cifar_lessons.course.experiments import VERDICTS
from cifar_lessons.data import CLASS_NAMES

METADATA_KEY = "cifar_lessons_arithmetic"
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
X86_64_PINS = {
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS's AVX2 kernels; their blocking does not depend on the cache size
    # NumPy's dispatch targets above AVX2 (X86_V3): AVX-512, and the AVX-512 extensions of Ice Lake and
    # Sapphire Rapids. NumPy refuses to disable targets it was not built with, so these names follow its build.
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # MKL's CNR branches AVX2 and up hold only across Intel CPUs (elsewhere it falls back to its own
    # choice); COMPATIBLE is the one branch that gives the same bits on every x86-64 CPU, AMD's included.
    "MKL_CBWR": "COMPATIBLE",
}

# Another arithmetic, for testing the tolerant mode: every library on other kernels than the pins
# choose, on any x86-64 CPU (SSE where the pins say AVX2, ATen's unvectorized code, MKL's own choice
# instead of its reproducible branch), one thread each.
FOREIGN_X86_64 = {
    "OPENBLAS_CORETYPE": "Sandybridge",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_CBWR": "AUTO",
}


NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
VERDICT = re.compile("|".join(rf"\b{re.escape(verdict)}\b" for verdict in VERDICTS))
CLASS = re.compile("|".join(rf"\b{name}s?\b" for name in CLASS_NAMES))  # e.g. the classes a model confuses most
SPACES = re.compile(r"[ \t]+")
RULE = re.compile(r"-{3,}")  # a Markdown table's rule, as wide as its widest entry


def tolerant_text(text):
    """What the tolerant mode compares of a rounding-dependent output: its words, without the
    numbers, the verdicts read off them and the classes they name, whatever their widths."""
    text = CLASS.sub("CLASS", VERDICT.sub("VERDICT", text))
    return RULE.sub("---", SPACES.sub(" ", NUMBER.sub("N", text)))


def pins(machine=None):
    """The environment that fixes the arithmetic: one thread per library everywhere, and on x86-64
    the AVX2 kernels of every library (other machines run their own kernels, which the fingerprint
    then tells apart)."""
    machine = (machine or platform.machine()).lower()
    return {**THREADS, **(X86_64_PINS if machine in ("x86_64", "amd64") else {})}


def _digest(arrays):
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(array.tobytes())
    return digest.hexdigest()[:12]


def _probes():
    """``{library: digest}`` of a few computations shaped like the book's, through each library."""
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((257, 131)).astype(np.float32)
    x64 = x32.astype(np.float64)
    numpy_loops = [
        np.exp(x32),
        np.log1p(np.abs(x32)),
        np.tanh(x32),
        np.sqrt(np.abs(x64)),
        np.exp(x64),
        np.log(np.abs(x64) + 1e-3),
        x32.sum(axis=0),
        x32.sum(axis=1),
        x64.var(axis=0),
        x32.mean(),
        np.einsum("ij,ij->j", x32, x32),
    ]
    w32 = rng.standard_normal((131, 65)).astype(np.float32)
    openblas = [x32 @ w32, x32.T @ x32[:, :65], x64 @ w32.astype(np.float64), x32 @ w32[:, 0], x32[0] @ x32[1]]

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    t = torch.from_numpy(x32)
    aten = [
        torch.exp(t),
        torch.tanh(t),
        torch.sigmoid(t),
        torch.log_softmax(t, dim=1),
        torch.nn.functional.cross_entropy(t[:, :10], torch.arange(257) % 10, label_smoothing=0.2),
        t.sum(dim=0),
        t.var(dim=1),
        torch.nn.functional.batch_norm(t, None, None, training=True),
        torch.nn.functional.layer_norm(t, (131,)),
        torch.randn(3, 5),
    ]
    weights = torch.from_numpy(w32).requires_grad_()
    product = torch.from_numpy(x32).requires_grad_() @ weights
    product.square().sum().backward()
    mkl = [product, weights.grad, torch.linalg.eigh(t.T @ t / 257)[0]]

    images = torch.from_numpy(rng.standard_normal((8, 3, 32, 32)).astype(np.float32)).requires_grad_()
    filters = torch.from_numpy(rng.standard_normal((16, 3, 3, 3)).astype(np.float32)).requires_grad_()
    more_filters = torch.from_numpy(rng.standard_normal((32, 16, 3, 3)).astype(np.float32)).requires_grad_()
    hidden = torch.nn.functional.gelu(torch.nn.functional.conv2d(images, filters, padding=1))
    output = torch.nn.functional.conv2d(torch.nn.functional.max_pool2d(hidden, 2), more_filters, padding=1)
    output.square().mean().backward()
    onednn = [hidden, output, images.grad, filters.grad, more_filters.grad]

    tensors = {"aten": aten, "mkl": mkl, "onednn": onednn}
    results = {"numpy": numpy_loops, "openblas": openblas}
    results.update({name: [value.detach().numpy() for value in values] for name, values in tensors.items()})
    return {name: _digest(values) for name, values in results.items()}


def _reports():
    """What NumPy, OpenBLAS and PyTorch say they run here."""
    import numpy as np
    import threadpoolctl
    import torch

    features = np._core._multiarray_umath.__cpu_features__
    dispatch = np._core._multiarray_umath.__cpu_dispatch__
    openblas = [info.get("architecture") for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    return {
        "numpy": " ".join(target for target in dispatch if features.get(target)) or "baseline only",
        "openblas": ", ".join(map(str, openblas)) or "not found",
        "aten": torch.backends.cpu.get_cpu_capability(),
    }


def measure(env=None):
    """This machine's fingerprint under ``env`` (default: this process's), computed in a fresh
    process, since every library reads its settings when it loads: ``{"probes": {library:
    digest}, "reports": {library: what it says it runs}}``. oneDNN and MKL say it in their
    verbose modes, on the standard output."""
    env = dict(os.environ if env is None else env, ONEDNN_VERBOSE="1", MKL_VERBOSE="1")
    result = subprocess.run(
        [sys.executable, "-m", "book_tools.arithmetic", "_probe"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [line for line in result.stdout.splitlines() if line.startswith('{"probes"')]
    fingerprint = json.loads(line)
    onednn = re.search(r"onednn_verbose,.*,cpu,isa:(.*)", result.stdout)
    mkl = re.search(r"MKL_VERBOSE .*?CNR:(\S+)", result.stdout)
    fingerprint["reports"]["onednn"] = onednn.group(1).strip() if onednn else "not reported"
    fingerprint["reports"]["mkl"] = f"CNR {mkl.group(1)}" if mkl else "not reported"
    return fingerprint


def differences(stored, measured):
    """The libraries whose digests differ between two fingerprints (every one, if nothing was stored)."""
    if not stored:
        return ["no fingerprint stored"]
    return [
        name
        for name in sorted(set(stored["probes"]) | set(measured["probes"]))
        if stored["probes"].get(name) != measured["probes"].get(name)
    ]


def stored(notebook):
    """The fingerprint a notebook's outputs were computed under, or None."""
    return json.loads(Path(notebook).read_text(encoding="utf-8"))["metadata"].get(METADATA_KEY)


def stamp(notebooks, fingerprint):
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata[METADATA_KEY] = fingerprint
        nbformat.write(notebook, path)


def describe(fingerprint):
    return "; ".join(
        f"{name}: {fingerprint['reports'][name]} ({digest})" for name, digest in fingerprint["probes"].items()
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_probe"]:
        print(json.dumps({"probes": _probes(), "reports": _reports()}), flush=True)
    elif argv[:1] == ["exec"] and "--" in argv[1:3] and argv[-1] != "--":
        foreign = argv[1] == "--foreign"
        command = argv[argv.index("--") + 1 :]
        os.execvpe(command[0], command, {**os.environ, **pins(), **(FOREIGN_X86_64 if foreign else {})})
    elif argv[:1] == ["stamp"] and len(argv) > 1:
        fingerprint = measure()
        stamp(argv[1:], fingerprint)
        print(f"stored in {len(argv) - 1} notebooks: {describe(fingerprint)}")
    elif argv == ["show"]:
        print(describe(measure()))
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()
