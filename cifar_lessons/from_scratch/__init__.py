"""The library the NumPy chapters build from scratch, NumPy alone: layers (``*_forward`` and
``*_backward``), the networks made of them, update rules, the Solver that trains them,
numerical gradient checks, hyperparameter search, and the compiled kernels of the fast
convolution and pooling."""
