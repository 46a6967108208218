"""The PyTorch side of the book (lessons pytorch, fast_cnn and challenge): imported only by the code
that needs PyTorch.

One idea per module:

- :mod:`~cifar_lessons.torch.device`: pick CUDA or CPU, make CPU runs repeatable.
- :mod:`~cifar_lessons.torch.tensors`: the chapter-0 arrays as normalized tensors on the device.
- :mod:`~cifar_lessons.torch.augment`: seeded random flips and translations, on the device.
- :mod:`~cifar_lessons.torch.convnet`: the chapter's small convnet.
- :mod:`~cifar_lessons.torch.initialization`: Kaiming and Xavier initial weights from a layer's shape.
- :mod:`~cifar_lessons.torch.networks`: notebook 06's small networks, as functions and as modules.
- :mod:`~cifar_lessons.torch.loop`: one epoch of training, one of evaluation, and their minibatches.
- :mod:`~cifar_lessons.torch.whitening`: first-layer filters that whiten image patches.
- :mod:`~cifar_lessons.torch.fastnet`: the fast-training network of notebook 07.
- :mod:`~cifar_lessons.torch.recipe`: the training hyperparameters, in one place.
- :mod:`~cifar_lessons.torch.train`: the training loop with progress, validation and weight averaging.
- :mod:`~cifar_lessons.torch.evaluate`: predictions with test-time augmentation.
- :mod:`~cifar_lessons.torch.checkpoint`: save and load state dicts safely.
- :mod:`~cifar_lessons.torch.ddp`: the same training on several processes (``torchrun``).
"""
