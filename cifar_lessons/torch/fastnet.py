"""The fast-training network of notebook 07 (after Keller Jordan's airbench for CIFAR-10).

A frozen whitening convolution, then three groups of conv - pool - batch norm - GELU - conv -
batch norm - GELU, a global max pool and a linear classifier: few layers, wide, and every
operation cheap on a GPU.
"""
import torch
import torch.nn as nn

from cifar_lessons.torch.whitening import whitening_filters

WHITENING_IMAGES = 5000  # enough patches (millions) for a 12 x 12 covariance
BATCH_NORM_MOMENTUM = 0.4


class ConvGroup(nn.Module):
    """conv3x3 - maxpool2 - BN - GELU - conv3x3 - BN - GELU: (n, c_in, h, w) -> (n, c_out, h/2, w/2)."""

    def __init__(self, c_in, c_out, batch_norm=True):
        super().__init__()
        # Fast-moving running statistics: the book's trainings are only a few hundred steps long.
        norm = (lambda: nn.BatchNorm2d(c_out, momentum=BATCH_NORM_MOMENTUM)) if batch_norm else nn.Identity
        self.layers = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm), nn.MaxPool2d(2), norm(), nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batch_norm), norm(), nn.GELU(),
        )

    def forward(self, x):
        return self.layers(x)


class FastNet(nn.Module):
    """Input (n, 3, 32, 32) normalized images, output scores (n, num_classes).

    ``widths`` are the channels of the three conv groups; ``whiten_kernel`` the size of the
    first layer's patches (it has 2 * 3 * k * k filters, see :func:`whitening_filters`).
    Call :meth:`init_whitening` with training images to set and freeze those filters.
    """

    def __init__(self, widths=(64, 256, 256), batch_norm=True, whiten_kernel=2, num_classes=10):
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"widths should give the channels of 3 conv groups, got {widths}")
        whiten_width = 2 * 3 * whiten_kernel**2
        self.whiten = nn.Conv2d(3, whiten_width, whiten_kernel)
        self.features = nn.Sequential(
            nn.GELU(),
            ConvGroup(whiten_width, widths[0], batch_norm),
            ConvGroup(widths[0], widths[1], batch_norm),
            ConvGroup(widths[1], widths[2], batch_norm),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(widths[2], num_classes, bias=False)

    @torch.no_grad()
    def init_whitening(self, images):
        """Set the first layer to whiten the patches of (the first 5000 of) ``images`` and freeze it."""
        filters = whitening_filters(images[:WHITENING_IMAGES].float(), self.whiten.kernel_size[0])
        self.whiten.weight.copy_(filters)
        self.whiten.weight.requires_grad_(False)

    def forward(self, x):
        return self.classifier(self.features(self.whiten(x)))


def build_fastnet(recipe, train_images):
    """The :class:`FastNet` a :class:`~cifar_lessons.torch.recipe.Recipe` asks for, on the images' device."""
    torch.manual_seed(recipe.seed)
    model = FastNet(recipe.widths, recipe.batch_norm).to(train_images.device)
    if recipe.whiten:
        model.init_whitening(train_images)
    return model
