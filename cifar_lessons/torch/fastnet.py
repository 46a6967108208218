"""The fast-training network of notebook 07 (after Keller Jordan's airbench for CIFAR-10).

A frozen whitening convolution, then three groups of conv - pool - batch norm - GELU - conv -
batch norm - GELU, a global max pool and a linear classifier: few layers, wide, and every
operation cheap on a GPU.
"""

import torch
import torch.nn as nn

from cifar_lessons.torch.whitening import whitening_filters


class ConvGroup(nn.Module):
    """conv3x3 - maxpool2 - BN - GELU - conv3x3 - BN - GELU: (n, c_in, h, w) -> (n, c_out, h/2, w/2)."""

    def __init__(self, c_in, c_out, batch_norm=True, batch_norm_momentum=0.1):
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(c_out, momentum=batch_norm_momentum)) if batch_norm else nn.Identity
        self.layers = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm),
            nn.MaxPool2d(2),
            norm(),
            nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batch_norm),
            norm(),
            nn.GELU(),
        )

    def forward(self, x):
        return self.layers(x)


@torch.no_grad()
def identity_start(conv):
    """Make the first ``min(out, in)`` filters of ``conv`` pass their own input channel through
    unchanged (a 1 at the kernel's centre); the others keep their random start. Each group then
    begins close to the identity on its input, so early training builds on what the layer below
    already computes."""
    filters = conv.weight[: min(conv.out_channels, conv.in_channels)]
    torch.nn.init.dirac_(filters)


class FastNet(nn.Module):
    """Input (n, 3, 32, 32) normalized images, output scores (n, num_classes).

    ``widths`` are the channels of the three conv groups; ``whiten_kernel`` the size of the
    first layer's patches (it has 2 * 3 * k * k filters, see :func:`whitening_filters`).
    Call :meth:`init_whitening` with training images to set and freeze those filters.
    ``batch_norm_weights=False`` freezes batch norm's scales at 1; ``identity_init`` starts the
    convolutions of the groups as identities (:func:`identity_start`); the scores are multiplied
    by ``output_scale``.
    """

    def __init__(
        self,
        widths=(64, 256, 256),
        batch_norm=True,
        batch_norm_momentum=0.1,
        whiten_kernel=2,
        num_classes=10,
        batch_norm_weights=True,
        identity_init=False,
        output_scale=1.0,
    ):
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"widths should give the channels of 3 conv groups, got {widths}")
        whiten_width = 2 * 3 * whiten_kernel**2
        self.whiten = nn.Conv2d(3, whiten_width, whiten_kernel)
        self.features = nn.Sequential(
            nn.GELU(),
            ConvGroup(whiten_width, widths[0], batch_norm, batch_norm_momentum),
            ConvGroup(widths[0], widths[1], batch_norm, batch_norm_momentum),
            ConvGroup(widths[1], widths[2], batch_norm, batch_norm_momentum),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(widths[2], num_classes, bias=False)
        self.output_scale = output_scale
        for module in self.features.modules():
            if isinstance(module, nn.BatchNorm2d) and not batch_norm_weights:
                module.weight.requires_grad_(False)  # stays 1: only the bias moves each channel
            if isinstance(module, nn.Conv2d) and identity_init:
                identity_start(module)

    @torch.no_grad()
    def init_whitening(self, images, eps=5e-4, whitening=whitening_filters):
        """Set the first layer to whiten the patches of ``images`` and freeze its filters.

        ``whitening(images, kernel_size, eps)`` computes the filters: :func:`whitening_filters`, or yours.
        The bias starts at zero, so the layer computes exactly the whitening; whether it then trains
        is the recipe's ``whiten_bias_epochs``.
        """
        filters = whitening(images.float(), self.whiten.kernel_size[0], eps)
        self.whiten.weight.copy_(filters)
        self.whiten.weight.requires_grad_(False)
        self.whiten.bias.zero_()

    def forward(self, x):
        scores = self.classifier(self.features(self.whiten(x)))
        return scores if self.output_scale == 1 else scores * self.output_scale


def build_fastnet(recipe, train_images, *, whitening=whitening_filters):
    """The :class:`FastNet` a :class:`~cifar_lessons.torch.recipe.Recipe` asks for, on the images' device.

    ``whitening`` computes the first layer's filters (see :meth:`FastNet.init_whitening`).
    """
    torch.manual_seed(recipe.seed)
    model = FastNet(
        recipe.widths,
        recipe.batch_norm,
        recipe.batch_norm_momentum,
        batch_norm_weights=recipe.batch_norm_weights,
        identity_init=recipe.identity_init,
        output_scale=recipe.output_scale,
    ).to(train_images.device)
    if recipe.whiten:
        model.init_whitening(train_images[: recipe.whitening_images], recipe.whitening_eps, whitening)
    if recipe.whiten_bias_epochs == 0:  # frozen before any wrapper (DistributedDataParallel) lists what trains
        model.whiten.bias.requires_grad_(False)
    return model
