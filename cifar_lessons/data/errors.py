"""The one error of the data package."""


class CIFAR10Error(RuntimeError):
    """The data cannot be found, downloaded or read; the message says how to fix it."""
