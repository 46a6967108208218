"""Numerical gradients by centered differences (lesson backprop), the ground truth every backward
pass is checked against.

The central difference ``(f(x + h) - f(x - h)) / 2h`` has error O(h^2); with h = 1e-5 in
float64 that is far below the 1e-7 relative errors a correct backward pass shows. In float32
the rounding of f swamps it, so check gradients in float64.
"""

import numpy as np


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Gradient of a scalar function ``f`` at ``x`` (any shape), returned with x's shape.

    ``f`` takes one argument, the array x, which is perturbed in place one entry at a time
    (and restored). ``verbose`` prints every entry's gradient as CS231n's version does.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        index = it.multi_index
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(index, grad[index])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` at ``x``: what a backward pass returns for upstream df.

    ``f`` maps x (any shape) to an array of df's shape. Returns the gradient with x's shape.
    """
    return eval_numerical_gradient(lambda x: np.sum(f(x) * df), x, verbose=False, h=h)


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def model_gradient_errors(model, X, y, h=1e-5):
    """Relative error of every parameter's analytic gradient against a numerical one.

    ``model`` has ``params`` (name -> float64 array) and ``loss(X, y) -> (loss, grads)``; each
    parameter is perturbed in place, entry by entry, and the loss recomputed. Returns a dict
    name -> :func:`rel_error`.
    """
    _, grads = model.loss(X, y)

    def loss_at(name):
        def loss(value):
            model.params[name] = value
            return model.loss(X, y)[0]

        return loss

    return {
        name: rel_error(grads[name], eval_numerical_gradient(loss_at(name), model.params[name], verbose=False, h=h))
        for name in sorted(model.params)
    }


def error_report(name, error, tolerance):
    """One line for a gradient check: ``name``'s relative ``error`` beside the verdict it gets
    against ``tolerance``, e.g. ``"dx: relative error 2.7e-10, below 1e-07: correct"``.

    Read the exponent: a correct float64 gradient agrees to about 1e-7 or better; 1e-2 or more
    means a bug, and anything between asks for a second look (a kink of ReLU or max nearby).
    """
    verdict = "below" if error < tolerance else "ABOVE"
    return (
        f"{name}: relative error {error:.1e}, {verdict} {tolerance:.0e}: {'correct' if error < tolerance else 'wrong'}"
    )
