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

from cifar_lessons.checks.core import VALUE_TOLERANCE, ExerciseError, call, expect_close, passed, raise_hint
from cifar_lessons.from_scratch.gradient_check import rel_error
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
    # Judged by the weights' own spread: a mean of draws from N(0, s^2) wanders by s / sqrt(n),
    # whatever s is, so a wrong standard deviation is reported as such below, not as a mean.
    if abs(mean) > 6 * actual_std / math.sqrt(w.numel()):
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
            wrong.append(
                (
                    math.sqrt(2 / math.prod(shape[2:])),
                    "it takes fan_in = HH * WW and leaves out the channels; a filter sees C * HH * WW inputs",
                )
            )
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
            wrong.append(
                (
                    math.sqrt(2 / (shape[1] + shape[0])),
                    "it takes fan_in = C and fan_out = F, leaving out the filter's HH * WW positions: "
                    "fan_in = C * HH * WW and fan_out = F * HH * WW",
                )
            )
        _expect_normal(name, shape, w, math.sqrt(2 / (fan_in + fan_out)), "sqrt(2 / (fan_in + fan_out))", wrong)
    passed(name, xavier_normal)


# ---------------------------------------------------------------------------------------------
# The networks as functions of bare tensors


POOLS = ("max_pool2d", "avg_pool2d")


class _Convolutions(TorchFunctionMode):
    """Records the output shape of every convolution and pooling (functional or module) made inside it."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", "") in ("conv2d", *POOLS):
            self.shapes.append((func.__name__, tuple(out.shape)))
        return out


def _size(spatial):
    return " x ".join(str(size) for size in spatial)


def _padding_advice(x_shape, layers):
    """What the recorded convolution and pooling did wrong, or '': the convolution keeps H x W,
    and the 2x2 max pool after it halves them."""
    spatial = tuple(x_shape[2:])
    convolutions = [shape[2:] for name, shape in layers if name == "conv2d"]
    pools = [(name, shape[2:]) for name, shape in layers if name in POOLS]
    if convolutions and convolutions[0] != spatial:
        made = f" The convolution turned {_size(spatial)} into {_size(convolutions[0])}"
        if convolutions[0] == tuple((size + 1) // 2 for size in spatial):
            return (
                f"{made}: it has stride 2. Chapter 5's convolution has stride 1 (the default) and keeps H x W; "
                "the pool after it halves them."
            )
        return (
            f"{made}: pad it by half its filter size (padding=(HH // 2, WW // 2); 3 for 7x7 filters) so it keeps H x W."
        )
    if convolutions and not pools:
        return " Nothing pools the feature maps: a 2x2 max pool (F.max_pool2d(x, 2)) halves H and W after the ReLU."
    if pools and pools[0][0] == "avg_pool2d":
        return (
            " It pools by the average (avg_pool2d); chapter 5's network keeps the maximum of each 2x2 window "
            "(max_pool2d)."
        )
    if convolutions and pools[0][1] != tuple(size // 2 for size in convolutions[0]):
        return (
            f" The pool turned {_size(convolutions[0])} into {_size(pools[0][1])}: a 2x2 max pool with stride 2 "
            "(F.max_pool2d(x, 2), whose stride is its size by default) halves H and W."
        )
    return ""


def _forward(name, fn, *args, expected_shape, advice=""):
    """``fn(*args)``, a tensor of ``expected_shape``, with the convolutions' shapes diagnosed on
    failure; ``advice`` ends the message of a failure about shapes that they do not explain."""
    recorder = _Convolutions()
    try:
        with recorder:
            out = call(name, fn, *args)
    except ExerciseError as error:
        if "not implemented yet" in str(error):
            raise
        diagnosis = _padding_advice(args[0].shape, recorder.shapes) or (advice if "shape" in str(error) else "")
        raise ExerciseError(f"{error}\n{diagnosis.strip()}" if diagnosis else str(error)) from error
    if not isinstance(out, torch.Tensor):
        raise ExerciseError(f"{name} returned a {type(out).__name__}; expected the scores as a torch.Tensor")
    diagnosis = _padding_advice(args[0].shape, recorder.shapes)
    if tuple(out.shape) != expected_shape:
        raise ExerciseError(f"{name}: the scores have shape {tuple(out.shape)}, expected {expected_shape}.{diagnosis}")
    if diagnosis:  # the right shape, reached another way (an average pool)
        raise ExerciseError(f"{name}: the scores are wrong.{diagnosis}")
    return out


def _numpy(tensor):
    return tensor.detach().numpy()


SOFTMAX_HINT = (
    "it returns probabilities (a softmax of the scores); return the scores themselves: "
    "F.cross_entropy applies the softmax, and a second one flattens the gradients"
)


def _fc_variants(x, params):
    """Scores of typical mistakes in an affine - ReLU - affine network: (scores, hint) pairs."""
    w1, b1, w2, b2 = params
    flat = x.flatten(1)
    variants = [
        (flat @ w1 + b1) @ w2 + b2,
        F.relu(flat @ w1) @ w2 + b2,
        F.relu(flat @ w1 + b1) @ w2,
        F.relu(F.relu(flat @ w1 + b1) @ w2 + b2),
        F.softmax(F.relu(flat @ w1 + b1) @ w2 + b2, dim=1),
    ]
    hints = [
        "the ReLU between the layers is missing",
        "the first layer's bias b1 is missing",
        "the last layer's bias b2 is missing",
        "it applies a ReLU to the scores too; the last layer is affine only",
        SOFTMAX_HINT,
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

    identity = lambda h: h  # noqa: E731

    def scores(relu1=F.relu, relu2=F.relu, conv_b=b1, b2=b2, b3=b3, flatten=lambda h: h.flatten(1), last=identity):
        h = F.max_pool2d(relu1(F.conv2d(x, w1, conv_b, padding=padding)), 2)
        return _numpy(last(relu2(flatten(h) @ w2 + b2) @ w3 + b3))

    return [
        (scores(last=F.relu), "it applies a ReLU to the scores too; the last layer is affine only"),
        (scores(last=lambda s: F.softmax(s, dim=1)), SOFTMAX_HINT),
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


FLATTEN_ADVICE = " Flatten the pooled maps to (N, F * H/2 * W/2) before the affine layer: x.flatten(1)."

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
        _expect_function(
            name, three_layer_convnet, x, params, networks.three_layer_convnet, _convnet_variants, FLATTEN_ADVICE
        )
    passed(name, three_layer_convnet)


# ---------------------------------------------------------------------------------------------
# The networks as modules


def _module(name, cls, args, kind="class"):
    """``cls(*args)`` with the random stream seeded: an nn.Module (an nn.Sequential when ``kind`` is
    ``"sequential"``, which a function returns)."""
    try:
        model = _seeded(0, call, name, cls, *args)
    except ExerciseError as error:
        if "before Module.__init__() call" in str(error):
            raise ExerciseError(
                f"{error}\nCall super().__init__() first in __init__: it sets up the registry that "
                "assigning a layer to self.<name> fills"
            ) from error
        if "is not a Module subclass" in str(error):
            raise ExerciseError(
                f"{error}\nnn.Sequential holds modules: write nn.ReLU() and nn.Flatten(), not F.relu or a "
                "function of your own"
            ) from error
        raise
    if kind == "sequential" and not isinstance(model, nn.Sequential):
        raise ExerciseError(
            f"{name}{args} returned a {type(model).__name__!r}; return an nn.Sequential of the layers, "
            "nn.Sequential(nn.Conv2d(...), nn.ReLU(), ...)"
        )
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
    if not shapes:
        raise ExerciseError(
            f"{name}{args} has no parameters: create its layers in __init__ and assign each to an attribute "
            "(self.fc1 = nn.Linear(...)); a layer made in forward, or kept in a plain list, is not registered, "
            "so parameters() and the optimizer never see it"
        )
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
    hint = ""
    for shape, want in zip(shapes, expected):
        if len(shape) == len(want) == 2 and shape[0] == want[0] and shape[1] == 4 * want[1]:
            hint = (
                f": a Linear layer takes {shape[1]} inputs where the pooled maps hold {want[1]}; the 2x2 pool "
                "halves H and W, so it takes num_filters * (H // 2) * (W // 2)"
            )
            break
    raise ExerciseError(f"{name}{args}: its parameters have shapes {shapes}, expected {expected}{hint}")


def _init_hint(p, fan_in, actual):
    """The initialization that gives a weight ``p`` of nn's (out, in, ...) layout the standard
    deviation ``actual`` instead of Kaiming's, or a general hint."""
    fan_out = p.shape[0] * math.prod(p.shape[2:])
    candidates = [
        (
            math.sqrt(1 / (3 * fan_in)),
            "it keeps PyTorch's default initialization (std sqrt(1 / (3 fan_in))); call nn.init.kaiming_normal_",
        ),
        (
            math.sqrt(2 / fan_out),
            f"it divides by the layer's fan_out = {fan_out}, its outputs: mode='fan_out' counts them, and so "
            "does a fan_in read as shape[0] (the x @ w convention) from nn's (out, in, ...) layout. "
            "nn.init.kaiming_normal_ with its default mode='fan_in' counts the inputs",
        ),
        (
            math.sqrt(2 / (fan_in + fan_out)),
            "that is Xavier's sqrt(2 / (fan_in + fan_out)); a ReLU network wants Kaiming's: nn.init.kaiming_normal_",
        ),
        (
            math.sqrt(1 / fan_in),
            "it lacks the factor 2 (nonlinearity='linear' or LeCun's 1 / fan_in); nn.init.kaiming_normal_'s "
            "default, nonlinearity='leaky_relu' with a=0, is the ReLU's gain",
        ),
    ]
    distance, hint = min((abs(actual / std - 1), hint) for std, hint in candidates)
    return hint if distance < 0.15 else "initialize it with nn.init.kaiming_normal_"


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
        # n normal draws estimate their standard deviation to a relative 1 / sqrt(2 n): five of those
        # (at least 1 %) tell Kaiming's scale from Xavier's even where fan_out is small beside fan_in.
        if abs(actual / std - 1) >= max(5 / math.sqrt(2 * p.numel()), 0.01):
            raise ExerciseError(
                f"{name}{args}: {parameter_name} starts with standard deviation {actual:.3g}, expected "
                f"sqrt(2 / fan_in) = {std:.3g} with fan_in = {fan_in}: {_init_hint(p, fan_in, actual)}"
            )
        # Only a large layer tells a normal from a uniform of the same spread reliably.
        beyond = (p.abs() > 2 * std).float().mean().item()  # 4.6 % for a normal, 0 for a uniform
        if p.numel() >= 4000 and beyond < 0.03:
            raise ExerciseError(
                f"{name}{args}: only {beyond:.1%} of {parameter_name} lie beyond 2 standard deviations, where a "
                "normal distribution puts 4.6 %: it is uniform (nn.init.kaiming_uniform_?); use nn.init.kaiming_normal_"
            )


def _check_module(name, cls, reference_cls, init_args, args, x_shape, function, variants, kind="class", advice=""):
    _expect_initialization(name, init_args, _module(name, cls, init_args, kind))
    model, reference = _module(name, cls, args, kind), reference_cls(*args)
    _expect_parameters(name, args, model, reference)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(x_shape, generator=generator, dtype=torch.float64)
    model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
    params = [p.T if p.ndim == 2 else p for p in model.parameters()]  # x @ w takes nn.Linear's weight transposed
    expected = function(x, params)
    out = _forward(name, model, x, expected_shape=tuple(expected.shape), advice=advice)
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
        advice=FLATTEN_ADVICE,
    )


def check_three_layer_sequential(three_layer_sequential):
    """``three_layer_sequential(input_dim, num_filters, filter_size, hidden_dim, num_classes)``: an
    ``nn.Sequential`` with ThreeLayerConvNet's parameters in its order, Kaiming weights, zero biases,
    and the scores and gradients of ``three_layer_convnet``."""
    _check_module(
        "three_layer_sequential",
        three_layer_sequential,
        networks.ThreeLayerConvNet,
        init_args=((3, 32, 32), 32, 7, 100, 10),
        args=((3, 8, 8), 4, 3, 5, 7),
        x_shape=(2, 3, 8, 8),
        function=networks.three_layer_convnet,
        variants=_convnet_variants,
        kind="sequential",
        advice=(
            " Put nn.Flatten() between the pool and the first nn.Linear: a Linear layer acts on the last "
            "dimension of its input alone."
        ),
    )


# ---------------------------------------------------------------------------------------------
# Training and evaluation


class _Probe(nn.Module):
    """A small classifier with dropout, so that training and eval mode differ, which records the
    mode and whether gradients were on at every forward pass, and in ``events`` every forward,
    backward and zero_grad, in order."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(6, 16)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(16, 3)
        self.calls, self.events = [], []

    def forward(self, x):
        self.calls.append({"training": self.training, "grad": torch.is_grad_enabled()})
        self.events.append("forward")
        scores = self.out(self.dropout(F.relu(self.hidden(x))))
        if scores.requires_grad:
            scores.register_hook(lambda grad: self.events.append("backward"))
        return scores

    def zero_grad(self, set_to_none=True):
        self.events.append("zero_grad")
        super().zero_grad(set_to_none)


class _RecordingSGD(torch.optim.SGD):
    """SGD that adds its zero_grad and step calls to the probe's ``events``."""

    def __init__(self, model, lr):
        super().__init__(model.parameters(), lr=lr)
        self.events = model.events

    def zero_grad(self, set_to_none=True):
        self.events.append("zero_grad")
        super().zero_grad(set_to_none)

    def step(self, closure=None):
        self.events.append("step")
        return super().step(closure)


class _WhereTheLoaderLeftIt(torch.Tensor):
    """A batch tensor as a loader yields it, on the host: ``.to(...)`` gives a plain tensor, as
    moving it to the device would, and whatever else is computed from it stays on the host. On a
    GPU, a host tensor meeting the model's weights or scores stops training with "Expected all
    tensors to be on the same device"; on the CPU nothing does, so ``met`` records each meeting:
    the name of the function, and whether the host tensor held images or labels."""

    met = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        given = [*args, *kwargs.values()]
        on_host = [t for t in given if isinstance(t, cls)]
        if any(isinstance(t, torch.Tensor) and not isinstance(t, cls) and t.requires_grad for t in given):
            cls.met.append("labels" if any(not t.is_floating_point() for t in on_host) else "images")
        moved = func in (torch.Tensor.to, torch.Tensor.cuda)
        with torch._C.DisableTorchFunctionSubclass():
            result = func(*args, **kwargs)
            if isinstance(result, torch.Tensor) and not isinstance(result, nn.Parameter):
                result = result.as_subclass(torch.Tensor if moved else cls)
        return result


def _left_on_the_host(loader):
    """``loader``'s batches as :class:`_WhereTheLoaderLeftIt` tensors, with no meeting recorded yet."""
    _WhereTheLoaderLeftIt.met.clear()
    return [tuple(t.as_subclass(_WhereTheLoaderLeftIt) for t in batch) for batch in loader]


def _expect_moved(name):
    """Fail when the last run of ``name`` computed with a batch it did not move to the device."""
    if _WhereTheLoaderLeftIt.met:
        what = _WhereTheLoaderLeftIt.met[0]
        raise ExerciseError(
            f"{name}: it computes with the loader's {what} where the loader left them, not on the device: "
            "move each batch first, images.to(device) and labels.to(device). On the CPU this goes unnoticed; "
            "on a GPU it stops with 'Expected all tensors to be on the same device'"
        )


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


def _double_softmax(scores, labels, reduction="mean"):
    return F.cross_entropy(F.softmax(scores, dim=1), labels, reduction=reduction)


def _epoch(model, loader, zero_grad=True, reduction="mean", loss_function=F.cross_entropy):
    """The reference epoch, or one of its typical mistakes; returns each batch's (loss, size)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    losses = []
    for images, labels in loader:
        loss = loss_function(model(images), labels, reduction=reduction)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append((loss.item(), len(labels)))
    return losses


def _flat_parameters(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()


def _order_problem(events):
    """What is wrong with the order of forward, zero_grad, backward and step in ``events``, or ''."""
    if "backward" not in events:
        return "it never calls loss.backward(), so no gradient reaches the parameters"
    if "step" not in events:
        return "its parameters did not change: for each batch call loss.backward(), then optimizer.step()"
    last = {}  # the position of the latest event of each kind
    for position, event in enumerate(events):
        if event == "step":
            if last.get("zero_grad", -1) > last.get("backward", -1):
                return (
                    "optimizer.step() comes after optimizer.zero_grad() with no loss.backward() between them, so "
                    "it steps with cleared gradients: zero_grad(), then loss.backward(), then step()"
                )
            if last.get("backward", -1) < last.get("forward", -1):
                return (
                    "optimizer.step() comes before this batch's loss.backward(), so each step follows the previous "
                    "batch's gradient: call loss.backward() first, then optimizer.step()"
                )
        if event == "backward" and last.get("backward", -1) > last.get("zero_grad", -1):
            return (
                "gradients accumulate from batch to batch: call optimizer.zero_grad() before loss.backward(), "
                "which adds to .grad"
            )
        last[event] = position
    return ""


def check_train_epoch(train_epoch):
    """``train_epoch(model, optimizer, loader, device) -> mean loss``: the model in training mode,
    one step per batch from zeroed gradients, the mean cross-entropy; parameters and the loss
    compared with the reference's after three batches of unequal sizes."""
    name = "train_epoch"
    loader, seed = _loader([8, 8, 5], seed=2), 3
    model = _probe(seed)
    model.eval()  # as after an evaluation: train_epoch must switch the mode itself
    optimizer = _RecordingSGD(model, lr=0.5)
    try:
        result = _seeded(
            seed, call, name, train_epoch, model, optimizer, _left_on_the_host(loader), torch.device("cpu")
        )
    except ExerciseError as error:
        # optimizer.step() between a batch's forward pass and its backward pass changes in place
        # the weights that the backward pass needs, and autograd refuses to go on.
        problem = _order_problem(model.events) if "modified by an inplace operation" in str(error) else ""
        if problem:
            raise ExerciseError(f"{error}\n{problem}") from error
        raise
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
        "double softmax": {"loss_function": _double_softmax},
    }.items():
        reference = _probe(seed)
        variants[label] = (_seeded(seed, _epoch, reference, loader, **options), _flat_parameters(reference))
    after = _flat_parameters(model)
    losses, expected_parameters = variants["reference"]
    what = "the model after an epoch of 3 batches"
    if rel_error(after, expected_parameters) > VALUE_TOLERANCE:
        problem = _order_problem(model.events)
        if problem:
            raise ExerciseError(f"{name}: {what} is wrong: {problem}")
    raise_hint(
        name,
        what,
        after,
        [
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
            (
                variants["double softmax"][1],
                "it applies a softmax before F.cross_entropy, which applies its own (a log-softmax): pass it the "
                "scores themselves",
            ),
        ],
    )
    expect_close(name, what, after, expected_parameters)
    if not isinstance(result, (float, int, np.floating)):
        raise ExerciseError(
            f"{name} returned a {type(result).__name__}; return the mean loss as a float (loss.item() of each "
            "batch): a tensor would keep the autograd graph of its batch alive"
        )
    images = sum(n for _, n in losses)
    total = sum(loss * n for loss, n in losses)
    raise_hint(
        name,
        "the returned loss",
        result,
        [
            (losses[-1][0], "it is the last batch's; return the epoch's mean"),
            (
                sum(loss for loss, _ in losses) / len(losses),
                "it averages the batches' mean losses, which weighs the smaller last batch's images more: add "
                "loss.item() * len(labels) for each batch and divide by the number of images",
            ),
            (total, "it is the sum over all images; divide by the number of images"),
        ],
    )
    expect_close(name, "the returned loss (mean over the epoch's images)", result, total / images)
    _expect_moved(name)
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
    with torch.no_grad():  # argmax() with no dim: the largest score of the whole batch, as a flat index
        flat_right = sum((model(images).argmax() == labels).sum().item() for images, labels in loader)
    model.calls.clear()
    model.train()  # as after training: evaluate must switch the mode itself
    try:
        result = _seeded(seed, call, name, evaluate, model, _left_on_the_host(loader), torch.device("cpu"))
    except ExerciseError as error:
        if "must match the size of tensor" in str(error):
            raise ExerciseError(
                f"{error}\nThe predictions are one class per image: argmax(dim=1), over the classes of each row "
                "of scores (dim=0 runs over the images)"
            ) from error
        raise
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
                flat_right / 20,
                "argmax() without dim takes the largest score of the whole batch; argmax(dim=1) gives each "
                "image's class",
            ),
            (
                (1 + 1 / 2 + 1 / 4) / 3,
                "it averages the batches' accuracies, which weighs the smaller last batch's "
                "images more; count the correct predictions over all images",
            ),
        ],
    )
    expect_close(name, "the accuracy (13 of 20 images right)", result, 13 / 20)
    _expect_moved(name)
    passed(name, evaluate)
