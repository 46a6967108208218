import pytest

torch = pytest.importorskip("torch")

from cifar_lessons.torch.convnet import ConvNet  # noqa: E402
from cifar_lessons.torch.fastnet import FastNet  # noqa: E402
from cifar_lessons.torch.whitening import patches, whitening_filters  # noqa: E402


@pytest.mark.parametrize("n", [1, 5])
def test_convnet_scores_shape(n):
    assert ConvNet(channels=(4, 8), hidden_dim=16)(torch.randn(n, 3, 32, 32)).shape == (n, 10)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_fastnet_scores_shape(batch_norm):
    model = FastNet(widths=(8, 16, 32), batch_norm=batch_norm, num_classes=7)
    assert model(torch.randn(3, 3, 32, 32)).shape == (3, 7)


def test_fastnet_rejects_wrong_widths():
    with pytest.raises(ValueError, match="3 conv groups"):
        FastNet(widths=(8, 16))


def test_whitening_makes_patch_covariance_the_identity():
    torch.manual_seed(0)
    mixing = torch.randn(3, 3)
    x = torch.einsum("dc,nchw->ndhw", mixing, torch.randn(200, 3, 8, 8)).cumsum(-1)  # correlated pixels
    filters = whitening_filters(x, kernel_size=2, eps=0)
    assert filters.shape == (24, 3, 2, 2)
    out = torch.nn.functional.conv2d(x.double(), filters[:12].double())
    cov = torch.cov(out.permute(1, 0, 2, 3).reshape(12, -1))
    assert torch.allclose(cov, torch.eye(12, dtype=cov.dtype), atol=1e-3)
    assert torch.equal(filters[12:], -filters[:12])


def test_patches_are_the_convolution_windows():
    x = torch.randn(2, 3, 5, 5)
    w = torch.randn(4, 3, 2, 2)
    expected = torch.nn.functional.conv2d(x, w).permute(0, 2, 3, 1).reshape(-1, 4)
    assert torch.allclose(patches(x, 2) @ w.reshape(4, -1).T, expected, atol=1e-5)


def test_init_whitening_sets_and_freezes_the_first_layer():
    model = FastNet(widths=(8, 16, 32))
    x = torch.randn(50, 3, 32, 32)
    model.init_whitening(x)
    assert torch.allclose(model.whiten.weight, whitening_filters(x))
    assert not model.whiten.weight.requires_grad and model.whiten.bias.requires_grad
