"""Deep Learning on CIFAR-10, from NumPy to PyTorch: the support package of the book."""
