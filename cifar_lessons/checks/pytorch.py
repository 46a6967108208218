"""Checks of the PyTorch lesson (notebook 06): weight initialization, the two small networks as
functions of bare tensors and as ``nn.Module`` classes, and one epoch of training and evaluation.

Initial weights are judged by their statistics; the networks' scores and gradients are compared
in float64 with :mod:`cifar_lessons.torch.networks`; a training epoch with a reference epoch (and
its typical mistakes) run on a small model with dropout. Random draws are seeded inside
``torch.random.fork_rng``, so a check gives the same verdict on every run and leaves the
notebook's random numbers alone.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from cifar_lessons.checks.core import ExerciseError, call, expect_close, passed, raise_hint
from cifar_lessons.torch import networks
from cifar_lessons.torch.initialization import fans

# ---------------------------------------------------------------------------------------------
# Weight initialization

INIT_SHAPES = [(400, 100), (64, 16, 5, 5)]  # a matrix used as x @ w; conv filters (F, C, HH, WW)
STD_TOLERANCE = 0.03  # 25,600 or more draws estimate a standard deviation to within 0.5 %


def _seeded(seed, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the global random stream seeded, and restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*args, **kwargs)


def _weights(name, init, shape):
    """``init(shape)``, checked to be a float32 leaf tensor of ``shape`` that requires grad."""
    w = _seeded(0, call, name, init, shape)
    if not isinstance(w, torch.Tensor):
        raise ExerciseError(f"{name}{shape} returned a {type(w).__name__}; expected a torch.Tensor (torch.randn)")
    if tuple(w.shape) != shape:
        raise ExerciseError(f"{name}{shape} has shape {tuple(w.shape)}, expected {shape}")
    if w.dtype != torch.float32:
        raise ExerciseError(f"{name}{shape} is {w.dtype}; expected torch.float32, the default of torch.randn")
    if not w.requires_grad:
        raise ExerciseError(
            f"{name}{shape} does not require grad, so autograd would not compute its gradient: "
            "end with .requires_grad_()"
        )
    if not w.is_leaf:
        raise ExerciseError(
            f"{name}{shape} is not a leaf tensor: torch.randn(..., requires_grad=True) * std is the result of an "
            "operation, and autograd fills .grad of leaves only. Scale first, then call .requires_grad_()"
        )
    return w.detach()


def _expect_normal(name, shape, w, std, formula, wrong_stds):
    """Raise unless ``w`` looks drawn from N(0, std^2); ``wrong_stds``: (std, hint) of typical mistakes."""
    actual_std, mean = w.std().item(), w.mean().item()
    if abs(mean) > 6 * std / math.sqrt(w.numel()):
        raise ExerciseError(f"{name}{shape}: the weights average {mean:.3g}, expected 0: draw from N(0, std^2)")
    if abs(actual_std / std - 1) > STD_TOLERANCE:
        for wrong, hint in wrong_stds:
            if abs(actual_std / wrong - 1) < STD_TOLERANCE:
                raise ExerciseError(
                    f"{name}{shape}: standard deviation {actual_std:.4g}, expected {formula} = {std:.4g}: {hint}"
                )
        raise ExerciseError(f"{name}{shape}: standard deviation {actual_std:.4g}, expected {formula} = {std:.4g}")
    beyond = (w.abs() > 2 * std).float().mean().item()  # 4.6 % for a normal; 0 for a uniform of that std
    if beyond < 0.03:
        raise ExerciseError(
            f"{name}{shape}: only {beyond:.1%} of the weights lie beyond 2 standard deviations, where a normal "
            "distribution puts 4.6 %: it draws from a uniform distribution; use torch.randn"
        )


def check_kaiming_normal(kaiming_normal):
    """``kaiming_normal(shape)``: N(0, 2 / fan_in) for a matrix (fan_in, fan_out) and for conv filters."""
    name = "kaiming_normal"
    for shape in INIT_SHAPES:
        w = _weights(name, kaiming_normal, shape)
        fan_in, _ = fans(shape)
        conv = len(shape) == 4
        wrong = [
            (
                math.sqrt(1 / fan_in),
                "it lacks the factor 2 (that is LeCun's sqrt(1 / fan_in)); a ReLU zeroes half its "
                "inputs, which halves the signal's second moment, and the 2 makes up for it",
            ),
            (2 / fan_in, "it uses the variance 2 / fan_in as the standard deviation; take its square root"),
            (
                math.sqrt(2 / math.prod(shape)),
                "it divides by the product of the whole shape; "
                + ("fan_in leaves out the number of filters F" if conv else "fan_in is shape[0] alone"),
            ),
        ]
        if conv:
            wrong.append(
                (
                    math.sqrt(2 / shape[0]),
                    "it takes fan_in = F, the number of filters; a filter sees "
                    "C * HH * WW inputs, fan_in = prod(shape[1:])",
                )
            )
            wrong.append((math.sqrt(2 / shape[1]), "it takes fan_in = C alone; a filter sees C * HH * WW inputs"))
        else:
            wrong.append(
                (
                    math.sqrt(2 / shape[1]),
                    "it takes fan_in = shape[1], the conv rule prod(shape[1:]) or "
                    "nn.Linear's (out, in) layout; a matrix used as x @ w is (fan_in, fan_out)",
                )
            )
        _expect_normal(name, shape, w, math.sqrt(2 / fan_in), "sqrt(2 / fan_in)", wrong)
    passed(name, kaiming_normal)


def check_xavier_normal(xavier_normal):
    """``xavier_normal(shape)``: N(0, 2 / (fan_in + fan_out)) for a matrix and for conv filters."""
    name = "xavier_normal"
    for shape in INIT_SHAPES:
        w = _weights(name, xavier_normal, shape)
        fan_in, fan_out = fans(shape)
        wrong = [
            (
                math.sqrt(2 / fan_in),
                "that is Kaiming's sqrt(2 / fan_in); Xavier averages the fans: sqrt(2 / (fan_in + fan_out))",
            ),
            (math.sqrt(1 / (fan_in + fan_out)), "it lacks the factor 2: the variance is 2 / (fan_in + fan_out)"),
            (
                2 / (fan_in + fan_out),
                "it uses the variance 2 / (fan_in + fan_out) as the standard deviation; take its square root",
            ),
            (math.sqrt(1 / fan_in), "that is LeCun's sqrt(1 / fan_in); Xavier uses both fans"),
        ]
        if len(shape) == 4:
            wrong.append(
                (
                    math.sqrt(2 / (fan_in + shape[0])),
                    "it takes fan_out = F; each input reaches F * HH * WW outputs, fan_out = shape[0] * HH * WW",
                )
            )
        _expect_normal(name, shape, w, math.sqrt(2 / (fan_in + fan_out)), "sqrt(2 / (fan_in + fan_out))", wrong)
    passed(name, xavier_normal)


# ---------------------------------------------------------------------------------------------
# The networks as functions of bare tensors


class _Convolutions(TorchFunctionMode):
    """Records the output shape of every convolution and max pooling (functional or module) made inside it."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", "") in ("conv2d", "max_pool2d"):
            self.shapes.append((func.__name__, tuple(out.shape)))
        return out


def _padding_advice(x_shape, layers):
    """What the recorded convolution and pooling did wrong, or '': the convolution keeps H x W,
    and the 2x2 max pool after it halves them."""
    spatial = tuple(x_shape[2:])
    convolutions = [shape for name, shape in layers if name == "conv2d"]
    if convolutions and convolutions[0][2:] != spatial:
        shape = convolutions[0]
        return (
            f" The convolution turned {spatial[0]} x {spatial[1]} into {shape[2]} x {shape[3]}: pad it by half its "
            "filter size (padding=(HH // 2, WW // 2); 3 for 7x7 filters) so it keeps H x W."
        )
    if convolutions and not any(name == "max_pool2d" for name, _ in layers):
        return " Nothing pools the feature maps: a 2x2 max pool (F.max_pool2d(x, 2)) halves H and W after the ReLU."
    return ""


def _forward(name, fn, *args, expected_shape, advice=""):
    """``fn(*args)``, a tensor of ``expected_shape``, with the convolutions' shapes diagnosed on failure."""
    recorder = _Convolutions()
    try:
        with recorder:
            out = call(name, fn, *args)
    except ExerciseError as error:
        if "not implemented yet" in str(error):
            raise
        shape_advice = advice if "shape" in str(error) else ""
        diagnosis = _padding_advice(args[0].shape, recorder.shapes) + shape_advice
        raise ExerciseError(f"{error}.{diagnosis}" if diagnosis else str(error)) from error
    if not isinstance(out, torch.Tensor):
        raise ExerciseError(f"{name} returned a {type(out).__name__}; expected the scores as a torch.Tensor")
    if tuple(out.shape) != expected_shape:
        raise ExerciseError(
            f"{name}: the scores have shape {tuple(out.shape)}, expected {expected_shape}."
            + _padding_advice(args[0].shape, recorder.shapes)
        )
    return out


def _numpy(tensor):
    return tensor.detach().numpy()


def _fc_variants(x, params):
    """Scores of typical mistakes in an affine - ReLU - affine network: (scores, hint) pairs."""
    w1, b1, w2, b2 = params
    flat = x.flatten(1)
    variants = [
        (flat @ w1 + b1) @ w2 + b2,
        F.relu(flat @ w1) @ w2 + b2,
        F.relu(flat @ w1 + b1) @ w2,
        F.relu(F.relu(flat @ w1 + b1) @ w2 + b2),
    ]
    hints = [
        "the ReLU between the layers is missing",
        "the first layer's bias b1 is missing",
        "the last layer's bias b2 is missing",
        "it applies a ReLU to the scores too; the last layer is affine only",
    ]
    if x.ndim == 4:
        channels_last = x.permute(0, 2, 3, 1).flatten(1)
        variants.append(F.relu(channels_last @ w1 + b1) @ w2 + b2)
        hints.append("it flattens in the wrong order; x.flatten(1) keeps (channel, row, column), as w1 expects")
    return [(_numpy(v), hint) for v, hint in zip(variants, hints)]


def _convnet_variants(x, params):
    """Scores of typical mistakes in the three-layer convnet: (scores, hint) pairs."""
    w1, b1, w2, b2, w3, b3 = params
    padding = (w1.shape[2] // 2, w1.shape[3] // 2)

    def scores(relu1=F.relu, pool=True, relu2=F.relu, conv_b=b1, b2=b2, b3=b3, flatten=lambda h: h.flatten(1)):
        h = relu1(F.conv2d(x, w1, conv_b, padding=padding))
        h = F.max_pool2d(h, 2) if pool else h
        return _numpy(relu2(flatten(h) @ w2 + b2) @ w3 + b3)

    identity = lambda h: h  # noqa: E731
    return [
        (scores(relu1=identity), "the ReLU after the convolution is missing"),
        (scores(relu2=identity), "the ReLU after the hidden affine layer is missing"),
        (scores(conv_b=None), "the convolution's bias b1 is missing"),
        (scores(b2=0), "the hidden affine layer's bias b2 is missing"),
        (scores(b3=0), "the last affine layer's bias b3 is missing"),
        (
            scores(flatten=lambda h: h.permute(0, 2, 3, 1).flatten(1)),
            "it flattens in the wrong order; h.flatten(1) keeps (channel, row, column), as w2 expects",
        ),
    ]


def _leaves(generator, *shapes, scale=0.3):
    return [(scale * torch.randn(shape, generator=generator, dtype=torch.float64)).requires_grad_() for shape in shapes]


def _expect_function(name, fn, x, params, reference, variants, advice=""):
    """Compare ``fn(x, params)`` with ``reference``: the scores, then the gradient of every parameter."""
    expected = reference(x, params)
    out = _forward(name, fn, x, list(params), expected_shape=tuple(expected.shape), advice=advice)
    what = f"the output for x of shape {tuple(x.shape)}"
    raise_hint(name, what, _numpy(out), variants(x, params))
    expect_close(name, what, _numpy(out), _numpy(expected))
    if not out.requires_grad:
        raise ExerciseError(
            f"{name}: the scores do not depend on params for autograd (.detach(), .data, .numpy() or no_grad?); "
            "compute them with torch operations on the parameters themselves"
        )
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    grads = torch.autograd.grad(out, params, dout, allow_unused=True)
    expected_grads = torch.autograd.grad(expected, params, dout)
    for number, (grad, expected_grad) in enumerate(zip(grads, expected_grads)):
        if grad is None:
            raise ExerciseError(f"{name}: the scores do not depend on params[{number}]; every parameter is used")
        expect_close(name, f"the gradient of params[{number}]", _numpy(grad), _numpy(expected_grad))


def check_two_layer_fc(two_layer_fc):
    """``two_layer_fc(x, params) -> scores``: values and autograd gradients, for image-shaped and flat x."""
    name = "two_layer_fc"
    generator = torch.Generator().manual_seed(0)
    for x_shape in [(4, 3, 4, 4), (5, 48)]:
        x = torch.randn(x_shape, generator=generator, dtype=torch.float64)
        params = _leaves(generator, (48, 20), (20,), (20, 10), (10,))
        _expect_function(
            name,
            two_layer_fc,
            x,
            params,
            networks.two_layer_fc,
            _fc_variants,
            advice=" Flatten x to (N, D) first: x.flatten(1).",
        )
    passed(name, two_layer_fc)


CONVNET_CASES = [  # x shape, F, filter size, hidden, K
    ((2, 3, 8, 8), 4, 3, 5, 7),
    ((3, 2, 6, 10), 3, 5, 4, 6),
]


def check_three_layer_convnet(three_layer_convnet):
    """``three_layer_convnet(x, params) -> scores``: chapter 05's convnet, its convolution keeping H x W
    and its pool halving them, on square and non-square images; values and autograd gradients."""
    name = "three_layer_convnet"
    generator = torch.Generator().manual_seed(0)
    for x_shape, f, size, hidden, k in CONVNET_CASES:
        n, c, h, w = x_shape
        x = torch.randn(x_shape, generator=generator, dtype=torch.float64)
        shapes = (f, c, size, size), (f,), (f * (h // 2) * (w // 2), hidden), (hidden,), (hidden, k), (k,)
        params = _leaves(generator, *shapes)
        _expect_function(name, three_layer_convnet, x, params, networks.three_layer_convnet, _convnet_variants)
    passed(name, three_layer_convnet)


# ---------------------------------------------------------------------------------------------
# The networks as modules


def _module(name, cls, args):
    model = _seeded(0, call, name, cls, *args)
    if not isinstance(model, nn.Module):
        raise ExerciseError(
            f"{name}{args} made a {type(model).__name__!r}, not an nn.Module: write class {name}(nn.Module)"
        )
    return model


def _expect_parameters(name, args, model, reference):
    """The model's parameter shapes, in registration order, must be the reference's."""
    shapes = [tuple(p.shape) for p in model.parameters()]
    expected = [tuple(p.shape) for p in reference.parameters()]
    if shapes == expected:
        return
    if sorted(shapes) == sorted(expected):
        raise ExerciseError(
            f"{name}{args}: its parameters come in the order {shapes}, expected {expected}: create the layers "
            "in __init__ in the order forward runs them, so parameters() lists them that way"
        )
    if sum(len(s) == 1 for s in shapes) < sum(len(s) == 1 for s in expected):
        raise ExerciseError(
            f"{name}{args}: its parameters have shapes {shapes}, expected {expected}: a layer has no bias; "
            "keep bias=True (the default)"
        )
    raise ExerciseError(f"{name}{args}: its parameters have shapes {shapes}, expected {expected}")


def _expect_initialization(name, args, model):
    """Weights Kaiming-normal for nn's (out, in, ...) layout, biases zero."""
    for parameter_name, p in model.named_parameters():
        p = p.detach()
        if p.ndim == 1:
            if p.abs().max() > 0:
                raise ExerciseError(f"{name}{args}: {parameter_name} does not start at zero; use nn.init.zeros_")
            continue
        fan_in = math.prod(p.shape[1:])
        std, actual = math.sqrt(2 / fan_in), p.std().item()
        if abs(actual / std - 1) < 0.15:
            continue
        if abs(actual * math.sqrt(3 * fan_in) - 1) < 0.15:
            hint = "it keeps PyTorch's default initialization (std sqrt(1 / (3 fan_in))); call nn.init.kaiming_normal_"
        elif abs(actual / math.sqrt(2 / p.shape[0]) - 1) < 0.15:
            hint = (
                "it takes fan_in = shape[0], but nn.Linear and nn.Conv2d store (out, in, ...): "
                "nn.init.kaiming_normal_ counts fan_in from that layout"
            )
        else:
            hint = "initialize it with nn.init.kaiming_normal_"
        raise ExerciseError(
            f"{name}{args}: {parameter_name} starts with standard deviation {actual:.3g}, expected "
            f"sqrt(2 / fan_in) = {std:.3g} with fan_in = {fan_in}: {hint}"
        )


def _check_module(name, cls, reference_cls, init_args, args, x_shape, function, variants):
    _expect_initialization(name, init_args, _module(name, cls, init_args))
    model, reference = _module(name, cls, args), reference_cls(*args)
    _expect_parameters(name, args, model, reference)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(x_shape, generator=generator, dtype=torch.float64)
    model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
    params = [p.T if p.ndim == 2 else p for p in model.parameters()]  # x @ w takes nn.Linear's weight transposed
    expected = function(x, params)
    out = _forward(name, model, x, expected_shape=tuple(expected.shape))
    what = f"the output for x of shape {x_shape}"
    raise_hint(name, what, _numpy(out), variants(x, params))
    expect_close(name, what, _numpy(out), _numpy(expected))
    dout = torch.randn(out.shape, generator=generator, dtype=out.dtype)
    named = list(model.named_parameters())
    grads = torch.autograd.grad(out, [p for _, p in named], dout, allow_unused=True)
    expected_grads = torch.autograd.grad(expected, [p for _, p in named], dout)
    for (parameter_name, _), grad, expected_grad in zip(named, grads, expected_grads):
        if grad is None:
            raise ExerciseError(f"{name}: forward does not use {parameter_name}")
        expect_close(name, f"the gradient of {parameter_name}", _numpy(grad), _numpy(expected_grad))
    passed(name, cls)


def check_TwoLayerFC(TwoLayerFC):
    """``TwoLayerFC(input_size, hidden_size, num_classes)``: Kaiming weights, zero biases, and the
    scores and gradients of ``two_layer_fc``."""
    _check_module(
        "TwoLayerFC",
        TwoLayerFC,
        networks.TwoLayerFC,
        init_args=(3 * 32 * 32, 100, 10),
        args=(48, 20, 10),
        x_shape=(4, 3, 4, 4),
        function=networks.two_layer_fc,
        variants=_fc_variants,
    )


def check_ThreeLayerConvNet(ThreeLayerConvNet):
    """``ThreeLayerConvNet(input_dim, num_filters, filter_size, hidden_dim, num_classes)``, chapter 05's
    convnet: Kaiming weights, zero biases, and the scores and gradients of ``three_layer_convnet``."""
    _check_module(
        "ThreeLayerConvNet",
        ThreeLayerConvNet,
        networks.ThreeLayerConvNet,
        init_args=((3, 32, 32), 32, 7, 100, 10),
        args=((3, 8, 8), 4, 3, 5, 7),
        x_shape=(2, 3, 8, 8),
        function=networks.three_layer_convnet,
        variants=_convnet_variants,
    )


# ---------------------------------------------------------------------------------------------
# Training and evaluation


class _Probe(nn.Module):
    """A small classifier with dropout, so that training and eval mode differ, which records the
    mode and whether gradients were on at every forward pass."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(6, 16)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(16, 3)
        self.calls = []

    def forward(self, x):
        self.calls.append({"training": self.training, "grad": torch.is_grad_enabled()})
        return self.out(self.dropout(F.relu(self.hidden(x))))


def _probe(seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _Probe().double()


def _loader(sizes, seed):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(size, 6, generator=generator, dtype=torch.float64), torch.randint(3, (size,), generator=generator))
        for size in sizes
    ]


def _epoch(model, loader, zero_grad=True, reduction="mean"):
    """The reference epoch, or one of its typical mistakes; returns what its loss average would be."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    losses = []
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels, reduction=reduction)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append((loss.item(), len(labels)))
    return losses


def _flat_parameters(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()


def check_train_epoch(train_epoch):
    """``train_epoch(model, optimizer, loader, device) -> mean loss``: the model in training mode,
    one step per batch from zeroed gradients, the mean cross-entropy; parameters and the loss
    compared with the reference's after three batches."""
    name = "train_epoch"
    loader, seed = _loader([8, 8, 8], seed=2), 3
    model = _probe(seed)
    model.eval()  # as after an evaluation: train_epoch must switch the mode itself
    before = _flat_parameters(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    result = _seeded(seed, call, name, train_epoch, model, optimizer, loader, torch.device("cpu"))
    if len(model.calls) != len(loader):
        raise ExerciseError(
            f"{name}: it ran the model {len(model.calls)} times for {len(loader)} batches; once per batch"
        )
    if not all(c["training"] for c in model.calls):
        raise ExerciseError(
            f"{name}: the model ran in eval mode; call model.train() first: dropout and batch norm behave "
            "differently while training, and the last evaluation left the model in eval mode"
        )
    variants = {}
    for label, options in {
        "reference": {},
        "accumulating": {"zero_grad": False},
        "summed": {"reduction": "sum"},
    }.items():
        reference = _probe(seed)
        variants[label] = (_seeded(seed, _epoch, reference, loader, **options), _flat_parameters(reference))
    after = _flat_parameters(model)
    what = "the model after an epoch of 3 batches"
    raise_hint(
        name,
        what,
        after,
        [
            (before, "its parameters did not change: for each batch call loss.backward(), then optimizer.step()"),
            (
                variants["accumulating"][1],
                "gradients accumulate from batch to batch: call optimizer.zero_grad() before loss.backward(), "
                "which adds to .grad",
            ),
            (
                variants["summed"][1],
                "the loss is summed over the batch, not averaged, so the steps grow with the batch size: "
                "use F.cross_entropy's default reduction, the mean",
            ),
        ],
    )
    losses, expected_parameters = variants["reference"]
    expect_close(name, what, after, expected_parameters)
    if not isinstance(result, (float, int, np.floating)):
        raise ExerciseError(
            f"{name} returned a {type(result).__name__}; return the mean loss as a float (loss.item() of each "
            "batch): a tensor would keep the autograd graph of its batch alive"
        )
    mean_loss = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    raise_hint(name, "the returned loss", result, [(losses[-1][0], "it is the last batch's; return the epoch's mean")])
    expect_close(name, "the returned loss (mean over the epoch)", result, mean_loss)
    passed(name, train_epoch)


def check_evaluate(evaluate):
    """``evaluate(model, loader, device) -> accuracy``: eval mode, no autograd graph, and the fraction
    of all images right, over batches of unequal sizes."""
    name = "evaluate"
    loader, seed = _loader([8, 8, 4], seed=4), 5
    model = _probe(seed)
    with torch.no_grad():
        model.eval()
        predictions = [model(images).argmax(1) for images, _ in loader]
    # Labels right for 8, 4 and 1 images of the three batches: 13 / 20 overall, but a mean of the
    # batches' accuracies would say (1 + 1/2 + 1/4) / 3.
    loader = [
        (images, torch.where(torch.arange(len(p)) < right, p, (p + 1) % 3))
        for (images, _), p, right in zip(loader, predictions, [8, 4, 1])
    ]
    model.calls.clear()
    model.train()  # as after training: evaluate must switch the mode itself
    result = _seeded(seed, call, name, evaluate, model, loader, torch.device("cpu"))
    if any(c["training"] for c in model.calls):
        raise ExerciseError(
            f"{name}: the model ran in training mode; call model.eval() first, or dropout drops units at random "
            "(and batch norm uses the batch's statistics)"
        )
    if any(c["grad"] for c in model.calls):
        raise ExerciseError(
            f"{name}: it builds the autograd graph it never uses; predict inside `with torch.no_grad():`"
        )
    if not isinstance(result, (float, int, np.floating)):
        raise ExerciseError(f"{name} returned a {type(result).__name__}; return the accuracy as a float (.item())")
    raise_hint(
        name,
        "the accuracy",
        result,
        [
            (13, "it is the number of correct predictions; divide by the number of images"),
            (65, "it is a percentage; return the fraction in [0, 1]"),
            (
                (1 + 1 / 2 + 1 / 4) / 3,
                "it averages the batches' accuracies, which weighs the smaller last batch's "
                "images more; count the correct predictions over all images",
            ),
        ],
    )
    expect_close(name, "the accuracy (13 of 20 images right)", result, 13 / 20)
    passed(name, evaluate)
