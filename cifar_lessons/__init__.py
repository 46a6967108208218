"""Deep Learning on CIFAR-10, from NumPy to PyTorch: the support package of the book."""

__all__ = ["Solver"]


def __getattr__(name):
    # Solver is imported on first use, so `import cifar_lessons` loads nothing heavy.
    if name == "Solver":
        from cifar_lessons.from_scratch.solver import Solver

        return Solver
    raise AttributeError(f"module 'cifar_lessons' has no attribute {name!r}")
