"""Exercise checks: run a learner's function on seeded inputs and say precisely what is wrong.

One module per lesson, named as its notebook is (``checks.backprop`` for ``01_backprop``, ...),
and :mod:`~cifar_lessons.checks.core` with what they share. Every ``check_*(fn)`` prints one
line, ``<name>: all checks passed``, or raises :class:`~cifar_lessons.checks.core.ExerciseError`
naming the output or gradient that is wrong, its shape or how far off it is and where. A
function that still raises ``NotImplementedError`` gets "not implemented yet". Backward passes
are checked against numerical gradients of the reference forward pass (float64), so the
learner's backward receives the reference's cache.
"""

from cifar_lessons.checks.core import ExerciseError

__all__ = ["ExerciseError"]
