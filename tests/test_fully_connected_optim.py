"""Every update rule against its torch.optim counterpart, step by step.

How CS231n's hyperparameters map onto torch.optim's:

* sgd(learning_rate) == SGD(lr).
* sgd_momentum(learning_rate, momentum): CS231n keeps v = mu * v - lr * dw and adds it;
  torch keeps b = mu * b + dw and subtracts lr * b. Both start from zero, so v = -lr * b at
  every step and the weights agree exactly while the learning rate is constant. (After a
  learning-rate decay they differ: CS231n's velocity remembers old step sizes, torch's
  buffer does not.) == SGD(lr, momentum=mu, dampening=0, nesterov=False).
* rmsprop(learning_rate, decay_rate, epsilon) == RMSprop(lr, alpha=decay_rate, eps=epsilon):
  both add epsilon outside the square root, w -= lr * dw / (sqrt(cache) + eps).
* adam(learning_rate, beta1, beta2, epsilon) == Adam(lr, betas=(beta1, beta2), eps=epsilon):
  both increment t before the bias correction. torch writes the update as
  lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps), the same expression as
  lr * m_hat / (sqrt(v_hat) + eps).
"""

import numpy as np
import pytest

from cifar_lessons.from_scratch import optim

torch = pytest.importorskip("torch")
STEPS = 6

CASES = [
    ("sgd", {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1)),
    (
        "sgd_momentum",
        {"learning_rate": 0.05, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0, nesterov=False),
    ),
    (
        "rmsprop",
        {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6, momentum=0, centered=False),
    ),
    (
        "adam",
        {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6},
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-6),
    ),
]


@pytest.mark.parametrize("name, config, make_torch_optimizer", CASES, ids=[c[0] for c in CASES])
def test_update_rule_matches_torch_optim(name, config, make_torch_optimizer):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4))
    param = torch.nn.Parameter(torch.tensor(w))
    optimizer = make_torch_optimizer([param])
    rule = getattr(optim, name)
    for _ in range(STEPS):
        dw = rng.standard_normal(w.shape)
        w, config = rule(w, dw, config)
        param.grad = torch.tensor(dw)
        optimizer.step()
        np.testing.assert_allclose(w, param.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_update_rules_use_cs231n_defaults():
    w, dw = np.ones(3), np.ones(3)
    assert optim.sgd(w, dw)[1] == {"learning_rate": 1e-2}
    assert optim.sgd_momentum(w, dw)[1]["momentum"] == 0.9
    _, config = optim.rmsprop(w, dw)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    next_w, config = optim.adam(w, dw)
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["t"]) == (1e-3, 0.9, 0.999, 1)
    # t is incremented before the bias correction, so the first step moves by the full learning rate
    np.testing.assert_allclose(next_w, w - 1e-3, rtol=1e-6)


def test_float32_weights_stay_float32():
    w = np.ones((2, 2), dtype=np.float32)
    for name in optim.RULES:
        assert getattr(optim, name)(w, w)[0].dtype == np.float32, name


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: optim.sgd(np.ones(3), np.ones(3), {"lr": 0.1}), r"unknown config keys \['lr'\]"),
        (lambda: optim.sgd(np.ones(3), np.ones(4)), r"dw must have the shape of w \(3,\)"),
        (lambda: optim.adam(np.ones(3), np.ones(3), {"learning_rate": -1}), "learning_rate must be > 0"),
        (lambda: optim.sgd_momentum(np.ones(3), np.ones(3), {"momentum": 1.0}), r"momentum must lie in \[0, 1\)"),
        (lambda: optim.rmsprop(np.ones(3), np.ones(3), {"epsilon": 0}), "epsilon must be > 0"),
    ],
)
def test_bad_configs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
