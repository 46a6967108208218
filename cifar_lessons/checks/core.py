"""What the checks of every lesson share: calling a learner's function, comparing its results
with the reference's, and reporting what is wrong."""

import traceback
import weakref
from pathlib import Path

import numpy as np

from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array, rel_error

GRADIENT_TOLERANCE = 1e-6  # float64 centered differences agree with a correct gradient to ~1e-9
VALUE_TOLERANCE = 1e-7


class ExerciseError(AssertionError):
    """An exercise's function is wrong; the message says what and where."""

    def _render_traceback_(self):
        # IPython shows this instead of the traceback, which would point into the checker rather
        # than at the learner's code: the diagnosis is all there is to read.
        return [f"{type(self).__name__}: {self}"]


def call(name, fn, *args):
    """``fn(*args)``, turning a missing or crashing implementation into a clear ExerciseError."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseError(
            f"{name}: not implemented yet (it raises NotImplementedError); write its body and run the cell again"
        ) from None
    except ExerciseError:
        raise
    except Exception as error:
        crash = ExerciseError(f"{name} crashed: {type(error).__name__}: {error}{where_it_failed(error)}")
        crash.where = where_it_failed(error)
        raise crash from error


def with_advice(crash, advice):
    """The ExerciseError of a crash (from :func:`call`) with ``advice`` after its diagnosis and
    before the line of the learner's code it crashed in."""
    where = getattr(crash, "where", "")
    diagnosis = str(crash)[: len(str(crash)) - len(where)] if where else str(crash)
    return ExerciseError(f"{diagnosis}. {advice}{where}")


# Frames in these folders are the book's or a library's; the learner's code is anywhere else (a
# notebook cell, yours/).
_NOT_THE_LEARNERS = (Path(__file__).resolve().parents[1], Path(np.__file__).resolve().parents[1])


def where_it_failed(error):
    """The line of the learner's own code where ``error`` was raised, as ``"\n  in f, line n: text"``,
    or ``""`` when no frame of the traceback is theirs (the error came from the checker itself)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not any(Path(frame.filename).resolve().is_relative_to(folder) for folder in _NOT_THE_LEARNERS)
    ]
    if not frames:
        return ""
    frame = frames[-1]
    line = f": {frame.line.strip()}" if frame.line else ""
    return f"\n  in {frame.name}, line {frame.lineno}{line}"


def expect_tuple(name, result, names):
    """``result`` unpacked into ``len(names)`` values, or an ExerciseError naming the expected form."""
    form = "(" + ", ".join(names) + ")"
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise ExerciseError(f"{name} should return {form}, got {got}")
    return result


def _hint(actual, expected, where=None):
    """A guess at the mistake behind a mismatch, or ''."""
    if actual.shape == expected.shape[::-1] and actual.ndim == 2 and rel_error(actual.T, expected) < 1e-5:
        return " It looks transposed."
    if rel_error(actual, -expected) < 1e-5:
        return " It has the wrong sign."
    if where is not None:
        wrong = ~np.isclose(actual, expected, rtol=1e-5, atol=1e-8)
        for mask, description in where:
            if wrong.any() and not wrong[~mask].any():
                return f" It is wrong only {description}."
    return ""


def expect_close(name, what, actual, expected, tolerance=VALUE_TOLERANCE, where=None, advice=""):
    """Raise an ExerciseError unless ``actual`` has ``expected``'s shape and relative error <= tolerance.

    ``where`` is an optional list of ``(mask, description)``: when every wrong entry lies in
    one mask, the message says so (e.g. "where the input was negative"). ``advice`` ends the
    message of a wrong or non-finite value.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if actual is None:
        raise ExerciseError(f"{name}: {what} is None; expected an array of shape {expected.shape}")
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        hint = " (transposed?)" if actual.shape == expected.shape[::-1] else ""
        raise ExerciseError(f"{name}: {what} has shape {actual.shape}, expected {expected.shape}{hint}")
    if not np.all(np.isfinite(actual)):
        raise ExerciseError(f"{name}: {what} holds NaN or inf (overflow?). {advice}".rstrip())
    error = rel_error(actual, expected)
    if error > tolerance:
        index = np.unravel_index(np.argmax(np.abs(actual - expected)), actual.shape)
        raise ExerciseError(
            f"{name}: {what} is wrong: relative error {error:.1e} (tolerance {tolerance:.0e}); at index "
            f"{tuple(int(i) for i in index)} it is {actual[index]:.6g}, expected {expected[index]:.6g}."
            + _hint(actual, expected, where)
            + (f" {advice}" if advice else "")
        )


def expect_gradients(name, backward, forward, inputs, dout, where=None):
    """Check a learner's ``backward(dout, cache)`` against numerical gradients of ``forward``.

    ``forward(*inputs.values())`` is the reference ``-> (out, cache)``; ``inputs`` maps each
    differentiated argument's name to its float64 array (non-array arguments can be bound into
    ``forward``). The learner's backward must return one gradient per input, in order (a
    single array when there is one input).
    """
    names = list(inputs)
    _, cache = forward(*inputs.values())
    result = call(name, backward, dout, cache)
    grads = (result,) if len(names) == 1 else expect_tuple(name, result, ["d" + n for n in names])
    for position, (input_name, grad) in enumerate(zip(names, grads)):

        def output_of(value, position=position):
            args = list(inputs.values())
            args[position] = value
            return forward(*args)[0]

        numeric = eval_numerical_gradient_array(output_of, inputs[input_name].copy(), dout)
        expect_close(name, "d" + input_name, grad, numeric, GRADIENT_TOLERANCE, where)


# The functions and classes whose checks passed in this session, for cifar_lessons.course.yours.keep.
_PASSED = weakref.WeakSet()


def passed(name, *implementations):
    """Report that ``name``'s checks passed and remember the ``implementations`` that passed them."""
    _PASSED.update(implementations)
    print(f"{name}: all checks passed")


def has_passed(implementation):
    """Whether a check has passed on ``implementation`` (this very object) in this session."""
    try:
        return implementation in _PASSED
    except TypeError:  # not weakly referable: nothing that passes a check
        return False


def raise_hint(name, what, actual, candidates, tolerance=1e-7):
    """Raise naming the mistake when ``actual`` equals one of the (wrong_result, hint) candidates."""
    actual = np.asarray(actual)
    for wrong, hint in candidates:
        if actual.shape == np.shape(wrong) and rel_error(actual, wrong) < tolerance:
            raise ExerciseError(f"{name}: {what} is wrong: {hint}")
