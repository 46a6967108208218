"""The PyTorch lesson's checks pass correct code written differently from the references, fail
stubs cleanly and name each planted mistake (the notebook's own solutions passing them is tested
with the learner copies, in test_exercises)."""

import math

import pytest

torch = pytest.importorskip("torch")

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from lesson_checks import check_tests  # noqa: E402

from cifar_lessons.checks import pytorch as checks  # noqa: E402
from cifar_lessons.checks.core import ExerciseError  # noqa: E402
from cifar_lessons.torch import initialization, loop, networks  # noqa: E402


def fan_in(shape):
    return shape[0] if len(shape) == 2 else shape[1] * shape[2] * shape[3]


def fan_out(shape):
    return shape[1] if len(shape) == 2 else shape[0] * shape[2] * shape[3]


def kaiming(shape):
    return torch.normal(0.0, (2 / fan_in(shape)) ** 0.5, size=shape).requires_grad_(True)


def xavier(shape):
    weights = torch.empty(shape)
    weights.normal_(std=(2 / (fan_in(shape) + fan_out(shape))) ** 0.5)
    weights.requires_grad = True
    return weights


def two_layer(x, params):
    w1, b1, w2, b2 = params
    return F.linear(F.linear(x.reshape(len(x), -1), w1.T, b1).clamp(min=0), w2.T, b2)


def three_layer(x, params):
    w1, b1, w2, b2, w3, b3 = params
    maps = F.max_pool2d(torch.conv2d(x, w1, b1, padding="same").clamp(min=0), kernel_size=(2, 2), stride=2)
    hidden = (torch.einsum("nd,dh->nh", maps.reshape(len(x), -1), w2) + b2).clamp(min=0)
    return torch.einsum("nh,hk->nk", hidden, w3) + b3


class Fc(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(input_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, num_classes)
        )
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                layer.bias.data.zero_()

    def forward(self, x):
        return self.layers(x)


class Conv(nn.Module):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__()
        C, H, W = input_dim
        self.first = nn.Conv2d(C, num_filters, (filter_size, filter_size), padding="same")
        self.hidden = nn.Linear(H * W // 4 * num_filters, hidden_dim)
        self.scores = nn.Linear(hidden_dim, num_classes)
        for layer in (self.first, self.hidden, self.scores):
            nn.init.normal_(layer.weight, std=math.sqrt(2 / layer.weight[0].numel()))
            nn.init.constant_(layer.bias, 0.0)

    def forward(self, x):
        maps = F.max_pool2d(F.relu(self.first(x)), 2)
        return self.scores(F.relu(self.hidden(maps.reshape(len(x), -1))))


def epoch(model, optimizer, loader, device):
    model.train(True)
    losses, sizes = [], []
    for images, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = nn.CrossEntropyLoss()(model(images.to(device)), labels.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.detach() * len(labels))
        sizes.append(len(labels))
    return (torch.stack(losses).sum() / sum(sizes)).item()


def accuracy(model, loader, device):
    model.train(False)
    with torch.inference_mode():
        pairs = [(model(x.to(device)).max(dim=1).indices, y.to(device)) for x, y in loader]
    predicted, labels = (torch.cat(part) for part in zip(*pairs))
    return (predicted == labels).double().mean().item()


def epoch_casting_before_moving(model, optimizer, loader, device):
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.double().to(device), labels.long().to(device)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * labels.shape[0], count + labels.size(0)
    return total / count


def accuracy_compared_on_the_host(model, loader, device):
    model.eval()
    with torch.no_grad():
        right = sum((model(x.to(device)).argmax(1).cpu() == y).sum().item() for x, y in loader)
    return right / sum(y.numel() for _, y in loader)


def sequential(input_dim, num_filters, filter_size, hidden_dim, num_classes):
    C, H, W = input_dim
    layers = [
        nn.Conv2d(C, num_filters, filter_size, padding="same"),
        nn.MaxPool2d(kernel_size=2),  # pooling first: max and ReLU commute
        nn.ReLU(inplace=True),
        nn.Flatten(start_dim=1),
        nn.Linear(num_filters * H * W // 4, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, num_classes),
    ]
    for layer in layers:
        if hasattr(layer, "weight"):
            nn.init.normal_(layer.weight, std=math.sqrt(2 / layer.weight[0].numel()))
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


INDEPENDENT = {
    checks.check_kaiming_normal: (kaiming,),
    checks.check_xavier_normal: (xavier,),
    checks.check_two_layer_fc: (two_layer,),
    checks.check_three_layer_convnet: (three_layer,),
    checks.check_TwoLayerFC: (Fc,),
    checks.check_ThreeLayerConvNet: (Conv,),
    checks.check_three_layer_sequential: (sequential,),
    checks.check_train_epoch: (epoch,),
    checks.check_evaluate: (accuracy,),
}
test_a_correct_implementation_written_differently_passes, test_stub_is_not_implemented_yet = check_tests(INDEPENDENT)


@pytest.mark.parametrize(
    "check, moving_differently",
    [(checks.check_train_epoch, epoch_casting_before_moving), (checks.check_evaluate, accuracy_compared_on_the_host)],
)
def test_a_batch_moved_after_a_cast_or_labels_compared_on_the_host_pass(check, moving_differently, capsys):
    check(moving_differently)
    assert capsys.readouterr().out.endswith("all checks passed\n")


REFERENCES = [
    (initialization, "kaiming_normal"),
    (initialization, "xavier_normal"),
    (networks, "two_layer_fc"),
    (networks, "three_layer_convnet"),
    (networks, "TwoLayerFC"),
    (networks, "ThreeLayerConvNet"),
    (networks, "three_layer_sequential"),
    (loop, "train_epoch"),
    (loop, "evaluate"),
]


@pytest.mark.parametrize("module, name", REFERENCES, ids=[name for _, name in REFERENCES])
def test_the_package_references_pass_as_later_chapters_use_them(module, name, capsys):
    getattr(checks, f"check_{name}")(getattr(module, name))
    assert capsys.readouterr().out.endswith("all checks passed\n")


# ---------------------------------------------------------------------------------------------
# Planted mistakes


def scaled(std_of_shape):
    return lambda shape: (torch.randn(shape) * std_of_shape(shape)).requires_grad_()


def conv_no_padding(x, params):
    w1, b1, w2, b2, w3, b3 = params
    maps = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    return F.relu(maps.flatten(1) @ w2 + b2) @ w3 + b3


def conv_without_pool(x, params):
    w1, b1, w2, b2, w3, b3 = params
    maps = F.relu(F.conv2d(x, w1, b1, padding=w1.shape[2] // 2))
    return F.relu(maps.flatten(1) @ w2 + b2) @ w3 + b3


def conv_flattened_channels_last(x, params):
    w1, b1, w2, b2, w3, b3 = params
    maps = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=w1.shape[2] // 2)), 2)
    return F.relu(maps.permute(0, 2, 3, 1).flatten(1) @ w2 + b2) @ w3 + b3


def conv_without_last_bias(x, params):
    return networks.three_layer_convnet(x, [*params[:5], torch.zeros_like(params[5])])


def fc_detached(x, params):
    return networks.two_layer_fc(x, [p.detach() for p in params])


class FcWithoutBias(Fc):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        self.layers[3] = nn.Linear(hidden_size, num_classes, bias=False)
        nn.init.kaiming_normal_(self.layers[3].weight)


class FcWithoutRelu(Fc):
    def forward(self, x):
        return self.layers[3](self.layers[1](self.layers[0](x)))


class FcWithDefaultInit(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class FcWithLinearFanOut(FcWithDefaultInit):
    """Kaiming by the x @ w convention applied to nn.Linear's (out, in) weights: fan_in = out."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        for layer in (self.fc1, self.fc2):
            with torch.no_grad():
                layer.weight.copy_(initialization.kaiming_normal(tuple(layer.weight.shape)))
                layer.bias.zero_()


class ConvWithoutPadding(Conv):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__(input_dim, num_filters, filter_size, hidden_dim, num_classes)
        self.first.padding = (0, 0)


class ConvRegisteredBackwards(nn.Module):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__()
        C, H, W = input_dim
        self.fc2 = nn.Linear(hidden_dim, num_classes)
        self.fc1 = nn.Linear(num_filters * H * W // 4, hidden_dim)
        self.conv = nn.Conv2d(C, num_filters, filter_size, padding=filter_size // 2)
        for layer in (self.conv, self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1))))


def epoch_without_zero_grad(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return 0.0


def epoch_in_eval_mode(model, optimizer, loader, device):
    losses = []
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def epoch_summing(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 0.0


def epoch_without_step(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
    return 0.0


def epoch_returning_last_loss(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def epoch_returning_a_tensor(model, optimizer, loader, device):
    epoch(model, optimizer, loader, device)
    return torch.tensor(1.0)


def accuracy_in_training_mode(model, loader, device):
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def accuracy_with_graph(model, loader, device):
    model.eval()
    return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def accuracy_per_batch(model, loader, device):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).double().mean().item() for x, y in loader) / len(loader)


def epoch_without_moving(model, optimizer, loader, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    return total / sum(len(labels) for _, labels in loader)


def epoch_moving_only_the_images(model, optimizer, loader, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        loss = F.cross_entropy(model(images.to(device)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    return total / sum(len(labels) for _, labels in loader)


def accuracy_without_moving(model, loader, device):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def accuracy_in_percent(model, loader, device):
    return 100 * accuracy(model, loader, device)


def kaiming_by_fans(fan_in_of):
    return scaled(lambda s: (2 / fan_in_of(s)) ** 0.5)


def conv_scores(
    x,
    params,
    stride=1,
    padding=None,
    pool=F.max_pool2d,
    pool_stride=2,
    flatten=True,
    last=None,
    relu=F.relu,
    hidden_relu=F.relu,
):
    w1, b1, w2, b2, w3, b3 = params
    padding = w1.shape[2] // 2 if padding is None else padding
    maps = pool(relu(F.conv2d(x, w1, b1, stride=stride, padding=padding)), 2, pool_stride)
    scores = hidden_relu((maps.flatten(1) if flatten else maps) @ w2 + b2) @ w3 + b3
    return scores if last is None else last(scores)


class FcKaimingFanOut(FcWithDefaultInit):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        for layer in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out")
            nn.init.zeros_(layer.bias)


class FcXavier(FcWithDefaultInit):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        for layer in (self.fc1, self.fc2):
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)


class FcKaimingUniform(FcWithDefaultInit):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        for layer in (self.fc1, self.fc2):
            nn.init.kaiming_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class FcWithoutSuperInit(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        self.fc1 = nn.Linear(input_size, hidden_size)


class FcInAList(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.layers = [nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, num_classes)]

    def forward(self, x):
        return self.layers[1](F.relu(self.layers[0](x.flatten(1))))


class FcReturningProbabilities(Fc):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


class ConvKaimingFanOut(Conv):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__(input_dim, num_filters, filter_size, hidden_dim, num_classes)
        nn.init.kaiming_normal_(self.first.weight, mode="fan_out")


class ConvDefaultInitOfTheConvolution(Conv):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__(input_dim, num_filters, filter_size, hidden_dim, num_classes)
        self.first.reset_parameters()
        nn.init.zeros_(self.first.bias)


class ConvUnpooledSizes(nn.Module):
    """The first Linear sized for the unpooled maps, num_filters * H * W."""

    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__()
        C, H, W = input_dim
        self.conv = nn.Conv2d(C, num_filters, filter_size, padding=filter_size // 2)
        self.fc1 = nn.Linear(num_filters * H * W, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)
        for layer in (self.conv, self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(F.relu(self.conv(x)).flatten(1))))


class ConvStride2(Conv):
    def __init__(self, input_dim, num_filters, filter_size, hidden_dim, num_classes):
        super().__init__(input_dim, num_filters, filter_size, hidden_dim, num_classes)
        self.first = nn.Conv2d(input_dim[0], num_filters, filter_size, stride=2, padding=filter_size // 2)
        nn.init.kaiming_normal_(self.first.weight)
        nn.init.zeros_(self.first.bias)


class ConvWithoutFlatten(Conv):
    def forward(self, x):
        return self.scores(F.relu(self.hidden(F.max_pool2d(F.relu(self.first(x)), 2))))


class ConvWithoutFirstRelu(Conv):
    def forward(self, x):
        return self.scores(F.relu(self.hidden(F.max_pool2d(self.first(x), 2).flatten(1))))


def sequential_of(*layers, init=nn.init.kaiming_normal_, zero_biases=True):
    """A builder of chapter 05's convnet as a Sequential, its layers given as factories of
    (C, F, fs, H, W, hidden, K)."""

    def build(input_dim, num_filters, filter_size, hidden_dim, num_classes):
        C, H, W = input_dim
        model = nn.Sequential(*(layer(C, num_filters, filter_size, H, W, hidden_dim, num_classes) for layer in layers))
        for layer in model:
            if isinstance(layer, (nn.Conv2d, nn.Linear)) and init is not None:
                init(layer.weight)
                if zero_biases and layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        return model

    return build


CONV = lambda C, f, fs, H, W, h, k: nn.Conv2d(C, f, fs, padding=fs // 2)  # noqa: E731
RELU = lambda *_: nn.ReLU()  # noqa: E731
POOL = lambda *_: nn.MaxPool2d(2)  # noqa: E731
FLAT = lambda *_: nn.Flatten()  # noqa: E731
HIDDEN = lambda C, f, fs, H, W, h, k: nn.Linear(f * (H // 2) * (W // 2), h)  # noqa: E731
SCORES = lambda C, f, fs, H, W, h, k: nn.Linear(h, k)  # noqa: E731
RIGHT = (CONV, RELU, POOL, FLAT, HIDDEN, RELU, SCORES)


def sequential_in_a_module(*args):
    return Conv(*args)


def sequential_with_functional_relu(input_dim, num_filters, filter_size, hidden_dim, num_classes):
    C, H, W = input_dim
    return nn.Sequential(nn.Conv2d(C, num_filters, filter_size, padding=filter_size // 2), F.relu)


def epoch_clearing_after_backward(model, optimizer, loader, device):
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        total, count = total + loss.item() * len(labels), count + len(labels)
    return total / count


def epoch_stepping_before_backward(model, optimizer, loader, device):
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.step()
        optimizer.zero_grad()
        loss.backward()
        total, count = total + loss.item() * len(labels), count + len(labels)
    return total / count


def epoch_without_backward(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels)
        optimizer.step()
    return 0.0


def epoch_running_the_model_twice(model, optimizer, loader, device):
    model(loader[0][0])
    return epoch(model, optimizer, loader, device)


def epoch_with_softmax(model, optimizer, loader, device):
    model.train()
    for images, labels in loader:
        loss = F.cross_entropy(F.softmax(model(images), dim=1), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 0.0


def epoch_averaging_batch_means(model, optimizer, loader, device):
    model.train()
    losses = []
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def epoch_returning_the_total(model, optimizer, loader, device):
    return epoch(model, optimizer, loader, device) * sum(len(labels) for _, labels in loader)


def accuracy_over_dim_0(model, loader, device):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(0) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def accuracy_without_dim(model, loader, device):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax() == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def accuracy_as_a_count(model, loader, device):
    return round(accuracy(model, loader, device) * sum(len(y) for _, y in loader))


MISTAKES = [
    (checks.check_kaiming_normal, scaled(lambda s: (1 / fan_in(s)) ** 0.5), "it lacks the factor 2"),
    (checks.check_kaiming_normal, scaled(lambda s: 2 / fan_in(s)), "uses the variance 2 / fan_in as the standard"),
    (checks.check_kaiming_normal, scaled(lambda s: (2 / math.prod(s[1:])) ** 0.5), "fan_in = shape\\[1\\]"),
    (checks.check_kaiming_normal, scaled(lambda s: (2 / math.prod(s)) ** 0.5), "product of the whole shape"),
    (
        checks.check_kaiming_normal,
        lambda s: torch.randn(s, requires_grad=True) * (2 / fan_in(s)) ** 0.5,
        "not a leaf tensor",
    ),
    (checks.check_kaiming_normal, lambda s: torch.randn(s) * (2 / fan_in(s)) ** 0.5, "does not require grad"),
    (
        checks.check_kaiming_normal,
        lambda s: (torch.randn(s, dtype=torch.float64) * (2 / fan_in(s)) ** 0.5).requires_grad_(),
        "expected torch.float32",
    ),
    (
        checks.check_kaiming_normal,
        lambda s: ((torch.rand(s) - 0.5) * (24 / fan_in(s)) ** 0.5).requires_grad_(),
        "uniform distribution",
    ),
    (checks.check_kaiming_normal, lambda s: (torch.rand(s) * 0.1).requires_grad_(), "average"),
    (checks.check_kaiming_normal, lambda s: kaiming(s).detach().numpy(), "expected a torch.Tensor"),
    (checks.check_kaiming_normal, lambda s: kaiming(s[::-1]), "has shape"),
    (checks.check_kaiming_normal, kaiming_by_fans(lambda s: s[1] if len(s) == 4 else s[0]), "fan_in = C alone"),
    (checks.check_kaiming_normal, kaiming_by_fans(lambda s: s[0]), "fan_in = F"),
    (
        checks.check_kaiming_normal,
        kaiming_by_fans(lambda s: s[2] * s[3] if len(s) == 4 else s[0]),
        "leaves out the channels",
    ),
    (checks.check_xavier_normal, scaled(lambda s: (2 / fan_in(s)) ** 0.5), "that is Kaiming's"),
    (checks.check_xavier_normal, scaled(lambda s: 2 / (fan_in(s) + fan_out(s))), "as the standard deviation"),
    (checks.check_xavier_normal, scaled(lambda s: (1 / fan_in(s)) ** 0.5), "LeCun's"),
    (
        checks.check_xavier_normal,
        scaled(lambda s: (2 / (s[0] + s[1])) ** 0.5),
        "leaving out the filter's HH \\* WW positions",
    ),
    (
        checks.check_xavier_normal,
        lambda s: ((torch.rand(s) - 0.5) * (24 / (fan_in(s) + fan_out(s))) ** 0.5).requires_grad_(),
        "uniform distribution",
    ),
    (
        checks.check_xavier_normal,
        lambda s: torch.randn(s, requires_grad=True) * (2 / (fan_in(s) + fan_out(s))) ** 0.5,
        "not a leaf tensor",
    ),
    (checks.check_xavier_normal, scaled(lambda s: (1 / (fan_in(s) + fan_out(s))) ** 0.5), "lacks the factor 2"),
    (
        checks.check_xavier_normal,
        scaled(lambda s: (2 / (fan_in(s) + (s[0] if len(s) == 4 else s[1]))) ** 0.5),
        "it takes fan_out = F",
    ),
    (checks.check_two_layer_fc, lambda x, p: F.relu(x @ p[0] + p[1]) @ p[2] + p[3], "Flatten x to \\(N, D\\) first"),
    (checks.check_two_layer_fc, lambda x, p: (x.flatten(1) @ p[0] + p[1]) @ p[2] + p[3], "ReLU between the layers"),
    (checks.check_two_layer_fc, lambda x, p: F.relu(x.flatten(1) @ p[0]) @ p[2] + p[3], "bias b1 is missing"),
    (checks.check_two_layer_fc, lambda x, p: F.relu(x.flatten(1) @ p[0] + p[1]) @ p[2], "bias b2 is missing"),
    (checks.check_two_layer_fc, lambda x, p: F.relu(two_layer(x, p)), "ReLU to the scores"),
    (
        checks.check_two_layer_fc,
        lambda x, p: two_layer(x.permute(0, 2, 3, 1) if x.ndim == 4 else x, p),
        "flattens in the wrong order",
    ),
    (checks.check_two_layer_fc, lambda x, p: F.relu(x.flatten(1) @ p[0] + p[1]), "shape \\(4, 20\\), expected"),
    (checks.check_two_layer_fc, fc_detached, "do not depend on params for autograd"),
    (checks.check_two_layer_fc, lambda x, p: F.softmax(two_layer(x, p), dim=1), "returns probabilities"),
    (checks.check_three_layer_convnet, lambda x, p: conv_scores(x, p, stride=2), "it has stride 2"),
    (checks.check_three_layer_convnet, lambda x, p: conv_scores(x, p, pool=F.avg_pool2d), "pools by the average"),
    (
        checks.check_three_layer_convnet,
        lambda x, p: conv_scores(x, p, pool_stride=1),
        "The pool turned 8 x 8 into 7 x 7",
    ),
    (checks.check_three_layer_convnet, lambda x, p: conv_scores(x, p, flatten=False), "Flatten the pooled maps"),
    (checks.check_three_layer_convnet, lambda x, p: conv_scores(x, p, last=F.relu), "ReLU to the scores"),
    (
        checks.check_three_layer_convnet,
        lambda x, p: conv_scores(x, p, last=lambda s: F.softmax(s, dim=1)),
        "returns probabilities",
    ),
    (
        checks.check_three_layer_convnet,
        lambda x, p: conv_scores(x, p, relu=lambda h: h),
        "ReLU after the convolution is missing",
    ),
    (
        checks.check_three_layer_convnet,
        lambda x, p: conv_scores(x, p, hidden_relu=lambda h: h),
        "ReLU after the hidden affine layer is missing",
    ),
    (checks.check_three_layer_convnet, conv_no_padding, "The convolution turned 8 x 8 into 6 x 6: pad"),
    (checks.check_three_layer_convnet, conv_without_pool, "Nothing pools the feature maps"),
    (checks.check_three_layer_convnet, conv_flattened_channels_last, "flattens in the wrong order"),
    (checks.check_three_layer_convnet, conv_without_last_bias, "last affine layer's bias b3 is missing"),
    (
        checks.check_three_layer_convnet,
        lambda x, p: networks.three_layer_convnet(x, [p[0], torch.zeros_like(p[1]), *p[2:]]),
        "convolution's bias b1 is missing",
    ),
    (
        checks.check_three_layer_convnet,
        lambda x, p: networks.three_layer_convnet(x, [*p[:3], torch.zeros_like(p[3]), *p[4:]]),
        "hidden affine layer's bias b2 is missing",
    ),
    (
        checks.check_three_layer_convnet,
        lambda x, p: F.max_pool2d(F.conv2d(x, p[0], p[1], padding=p[0].shape[2] // 2), 2).flatten(1) @ p[2] + p[3],
        "shape",
    ),
    (checks.check_TwoLayerFC, FcWithoutBias, "a layer has no bias"),
    (checks.check_TwoLayerFC, FcWithoutRelu, "ReLU between the layers"),
    (checks.check_TwoLayerFC, FcWithDefaultInit, "PyTorch's default initialization"),
    (checks.check_TwoLayerFC, FcWithLinearFanOut, "fan_out = 100, its outputs"),
    (checks.check_TwoLayerFC, lambda *args: object(), "not an nn.Module"),
    (checks.check_TwoLayerFC, FcKaimingFanOut, "mode='fan_out' counts them"),
    (checks.check_TwoLayerFC, FcXavier, "that is Xavier's"),
    (checks.check_TwoLayerFC, FcKaimingUniform, "it is uniform"),
    (checks.check_TwoLayerFC, FcWithoutSuperInit, "Call super\\(\\).__init__\\(\\) first"),
    (checks.check_TwoLayerFC, FcInAList, "has no parameters"),
    (checks.check_TwoLayerFC, FcReturningProbabilities, "returns probabilities"),
    (checks.check_ThreeLayerConvNet, ConvKaimingFanOut, "first.weight .* mode='fan_out' counts them"),
    (checks.check_ThreeLayerConvNet, ConvDefaultInitOfTheConvolution, "first.weight .* default initialization"),
    (checks.check_ThreeLayerConvNet, ConvUnpooledSizes, "the 2x2 pool halves H and W"),
    (checks.check_ThreeLayerConvNet, ConvStride2, "it has stride 2"),
    (checks.check_ThreeLayerConvNet, ConvWithoutFlatten, "Flatten the pooled maps"),
    (checks.check_ThreeLayerConvNet, ConvWithoutFirstRelu, "ReLU after the convolution is missing"),
    (checks.check_three_layer_sequential, sequential_with_functional_relu, "write nn.ReLU\\(\\)"),
    (checks.check_three_layer_sequential, sequential_in_a_module, "return an nn.Sequential"),
    (checks.check_three_layer_sequential, sequential_of(CONV, RELU, POOL, HIDDEN, RELU, SCORES), "nn.Flatten\\(\\)"),
    (
        checks.check_three_layer_sequential,
        sequential_of(CONV, POOL, FLAT, HIDDEN, RELU, SCORES),
        "ReLU after the convolution is missing",
    ),
    (checks.check_three_layer_sequential, sequential_of(*RIGHT, RELU), "ReLU to the scores"),
    (checks.check_three_layer_sequential, sequential_of(*RIGHT, lambda *_: nn.Softmax(dim=1)), "returns probabilities"),
    (
        checks.check_three_layer_sequential,
        sequential_of(lambda C, f, fs, *_: nn.Conv2d(C, f, fs), *RIGHT[1:]),
        "The convolution turned 8 x 8 into 6 x 6: pad",
    ),
    (checks.check_three_layer_sequential, sequential_of(CONV, RELU, FLAT, HIDDEN, RELU, SCORES), "Nothing pools"),
    (
        checks.check_three_layer_sequential,
        sequential_of(CONV, RELU, lambda *_: nn.AvgPool2d(2), *RIGHT[3:]),
        "pools by the average",
    ),
    (
        checks.check_three_layer_sequential,
        sequential_of(*RIGHT[:4], lambda C, f, fs, H, W, h, k: nn.Linear(f * H * W, h), *RIGHT[5:]),
        "the 2x2 pool halves H and W",
    ),
    (checks.check_three_layer_sequential, sequential_of(*RIGHT, init=None), "default initialization"),
    (
        checks.check_three_layer_sequential,
        sequential_of(*RIGHT, init=lambda w: nn.init.kaiming_normal_(w, mode="fan_out")),
        "mode='fan_out' counts them",
    ),
    (checks.check_three_layer_sequential, sequential_of(*RIGHT, init=nn.init.xavier_normal_), "that is Xavier's"),
    (checks.check_three_layer_sequential, sequential_of(*RIGHT, zero_biases=False), "does not start at zero"),
    (
        checks.check_three_layer_sequential,
        sequential_of(*RIGHT[:6], lambda C, f, fs, H, W, h, k: nn.Linear(h, k, bias=False)),
        "a layer has no bias",
    ),
    (checks.check_ThreeLayerConvNet, ConvWithoutPadding, "The convolution turned 8 x 8 into 6 x 6"),
    (checks.check_ThreeLayerConvNet, ConvRegisteredBackwards, "in the order forward runs them"),
    (checks.check_train_epoch, epoch_without_zero_grad, "gradients accumulate from batch to batch"),
    (checks.check_train_epoch, epoch_in_eval_mode, "call model.train\\(\\) first"),
    (checks.check_train_epoch, epoch_summing, "summed over the batch, not averaged"),
    (checks.check_train_epoch, epoch_without_step, "parameters did not change"),
    (checks.check_train_epoch, epoch_returning_last_loss, "the last batch's"),
    (checks.check_train_epoch, epoch_returning_a_tensor, "return the mean loss as a float"),
    (checks.check_train_epoch, epoch_clearing_after_backward, "steps with cleared gradients"),
    (checks.check_train_epoch, epoch_stepping_before_backward, "follows the previous batch's gradient"),
    (checks.check_train_epoch, epoch_without_backward, "never calls loss.backward\\(\\)"),
    (checks.check_train_epoch, epoch_running_the_model_twice, "4 times for 3 batches"),
    (checks.check_train_epoch, epoch_with_softmax, "applies a softmax before F.cross_entropy"),
    (checks.check_train_epoch, epoch_averaging_batch_means, "averages the batches' mean losses"),
    (checks.check_train_epoch, epoch_returning_the_total, "the sum over all images"),
    (checks.check_evaluate, accuracy_in_training_mode, "call model.eval\\(\\) first"),
    (checks.check_evaluate, accuracy_with_graph, "torch.no_grad"),
    (checks.check_evaluate, accuracy_per_batch, "averages the batches' accuracies"),
    (checks.check_evaluate, accuracy_in_percent, "a percentage"),
    (checks.check_evaluate, accuracy_over_dim_0, "argmax\\(dim=1\\), over the classes"),
    (checks.check_evaluate, accuracy_without_dim, "argmax\\(\\) without dim"),
    (checks.check_evaluate, accuracy_as_a_count, "number of correct predictions"),
    (checks.check_train_epoch, epoch_without_moving, "the loader's images where the loader left them"),
    (checks.check_train_epoch, epoch_moving_only_the_images, "the loader's labels where the loader left them"),
    (checks.check_evaluate, accuracy_without_moving, "images.to\\(device\\)"),
]


@pytest.mark.parametrize("check, wrong, message", MISTAKES)
def test_a_planted_mistake_is_named(check, wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check(wrong)


def test_a_check_leaves_the_notebooks_random_numbers_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    checks.check_kaiming_normal(initialization.kaiming_normal)
    checks.check_train_epoch(epoch)
    assert torch.equal(torch.rand(3), expected)
