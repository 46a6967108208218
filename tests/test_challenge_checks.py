"""The challenge's check passes an entry written differently from the book's, fails stubs cleanly and
names each planted mistake (the notebook's own entry passing it is tested with the learner copies,
in test_exercises)."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from cifar_lessons.checks.challenge import check_my_entry  # noqa: E402
from cifar_lessons.checks.core import ExerciseError  # noqa: E402
from cifar_lessons.torch.fastnet import build_fastnet  # noqa: E402


def plain_recipe(baseline):
    return dataclasses.replace(baseline, lr=0.05, ema=0.0, tta="flip", label_smoothing=0.0)


def small_convnet(recipe, train_images):
    torch.manual_seed(recipe.seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
    ).to(train_images.device)


def small_fastnet(recipe, train_images, fit_on=None):
    """The book's network, narrow, its whitening fit on ``fit_on`` (by default the training images)."""
    images = train_images if fit_on is None else fit_on.to(train_images.device)
    return build_fastnet(dataclasses.replace(recipe, widths=(8, 16, 16)), images)


def test_an_entry_whitened_on_its_training_images_passes(capsys):
    check_my_entry(plain_recipe, small_fastnet)
    assert capsys.readouterr().out == "my_entry: all checks passed\n"


def stub(*args):
    raise NotImplementedError


def test_an_entry_written_differently_passes(capsys):
    check_my_entry(plain_recipe, small_convnet)
    assert capsys.readouterr().out == "my_entry: all checks passed\n"


@pytest.mark.parametrize(
    "args, name",
    [((stub, small_convnet), "my_recipe"), ((plain_recipe, stub), "build_my_model")],
    ids=["my_recipe stubbed", "build_my_model stubbed"],
)
def test_stubs_fail_as_not_implemented(args, name):
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check_my_entry(*args)


class NoInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.scores = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return self.scores.expand(len(x), 10)


class ThroughNumPy(nn.Module):
    """Scores that leave PyTorch for NumPy: fine without gradients, a crash in training."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.from_numpy(self.net(x).numpy())


def unseeded(recipe, train_images):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
    ).to(train_images.device)


def seeded_once(recipe, train_images):
    torch.manual_seed(0)
    return unseeded(recipe, train_images)


def seeded_late(recipe, train_images):
    model = unseeded(recipe, train_images)
    torch.manual_seed(recipe.seed)
    return model


VALIDATION_IMAGES = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def whitened_on_validation_images(recipe, train_images):
    return small_fastnet(recipe, train_images, fit_on=VALIDATION_IMAGES)


class InAList(nn.Module):
    """Layers kept in a plain list, which PyTorch does not look into."""

    def __init__(self):
        super().__init__()
        self.layers = [
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 10),
        ]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def changed_in_place(baseline):
    baseline.epochs = 8
    return baseline


def frozen(recipe, images):
    return small_convnet(recipe, images).requires_grad_(False)


def elsewhere(recipe, images):
    return small_convnet(recipe, images).to("meta")


@pytest.mark.parametrize(
    "my_recipe, build_my_model, message",
    [
        (lambda baseline: {"epochs": 8}, small_convnet, "my_recipe should return a Recipe, e.g. dataclasses.replace"),
        (plain_recipe, lambda recipe, images: NoInput, "returned the class NoInput itself: return a model"),
        (plain_recipe, lambda recipe, images: None, "build_my_model should return a torch.nn.Module, got NoneType"),
        (plain_recipe, elsewhere, "its parameters are on meta but the images on cpu: build it on train_images.device"),
        (plain_recipe, frozen, "no parameter that requires a gradient"),
        (plain_recipe, lambda recipe, images: small_convnet(recipe, images).double(), "float64 parameters"),
        (
            plain_recipe,
            lambda recipe, images: nn.Sequential(small_convnet(recipe, images), nn.Softmax(1)),
            "returns probabilities (each row sums to 1)",
        ),
        (plain_recipe, unseeded, "two models built from the same recipe start from different weights"),
        (plain_recipe, seeded_once, "it ignores recipe.seed"),
        (
            plain_recipe,
            seeded_late,
            "it calls torch.manual_seed(recipe.seed) after creating the layers, so their weights come from whatever "
            "PyTorch's random state was before; call torch.manual_seed(recipe.seed) before creating the layers: the "
            "weights are drawn when each layer is made",
        ),
        (
            plain_recipe,
            whitened_on_validation_images,
            "its frozen whitening filters are the same whatever train_images it is given, so they were fit on other "
            "images (tensors['X_val'] or tensors['X_test']?). The chapter's rule: fit nothing on the validation or "
            "test images",
        ),
        (
            plain_recipe,
            lambda recipe, images: InAList(),
            "its model has no parameters at all: its layers are not registered (self.layers is a plain list of "
            "layers). PyTorch finds only the layers a module holds as attributes, in nn.Sequential or in "
            "nn.ModuleList",
        ),
        (changed_in_place, small_convnet, "A Recipe cannot be changed in place"),
        (
            plain_recipe,
            lambda recipe, images: nn.Sequential(small_convnet(recipe, images), nn.Linear(10, 100)),
            "its model returned (4, 100), expected scores of shape (4, 10): one score per class",
        ),
        (plain_recipe, lambda recipe, images: NoInput(), "gives every image the same scores"),
        (
            plain_recipe,
            lambda recipe, images: ThroughNumPy(small_convnet(recipe, images)),
            "training its model with train() crashed",
        ),
        (
            lambda baseline: dataclasses.replace(plain_recipe(baseline), lr=1e30),
            small_convnet,
            "the training loss became NaN or inf within two steps: is my_recipe's learning rate too high?",
        ),
        (
            lambda baseline: dataclasses.replace(plain_recipe(baseline), lr=0.0),
            small_convnet,
            "one epoch of training changed none of the model's parameters",
        ),
    ],
    ids=[
        "not a recipe",
        "a class",
        "None",
        "wrong device",
        "frozen",
        "float64",
        "softmax",
        "unseeded",
        "ignores the seed",
        "seeded after the layers",
        "whitened on validation images",
        "layers in a plain list",
        "recipe changed in place",
        "100 classes",
        "ignores the input",
        "crashes in training",
        "diverges",
        "does not learn",
    ],
)
def test_mistakes_are_named(my_recipe, build_my_model, message):
    with pytest.raises(ExerciseError) as error:
        check_my_entry(my_recipe, build_my_model)
    assert message in str(error.value)
