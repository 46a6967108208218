"""Which lesson teaches a definition, with the checks of its arguments kept apart from its text::

    @taught_in("backprop", check=contracts.affine_forward)
    def affine_forward(x, w, b):
        ...

The book shows a taught definition as it is written under the decorator
(``python -m book_tools.references`` renders it into that lesson's solution cell), so the
reference a learner compares with is the text the book teaches. The package's callers get it
with ``check(*args, **kwargs)`` run first: a ValueError that names a wrong argument and the fix,
instead of a NumPy error from deep inside it.
"""

import functools

TAUGHT_IN = "taught_in"  # the attribute that holds the lesson's key


def taught_in(lesson, check=None):
    """Mark a function or class as taught in ``lesson`` (a key of
    :data:`cifar_lessons.lessons.LESSONS`); a function's ``check``, when given, runs on its
    arguments before it, a class's before its ``__init__``."""

    def mark(definition):
        setattr(definition, TAUGHT_IN, lesson)
        if check is None:
            return definition
        if isinstance(definition, type):
            init = definition.__init__

            @functools.wraps(init)
            def checked_init(self, *args, **kwargs):
                check(*args, **kwargs)
                init(self, *args, **kwargs)

            definition.__init__ = checked_init
            return definition

        @functools.wraps(definition)
        def checked(*args, **kwargs):
            check(*args, **kwargs)
            return definition(*args, **kwargs)

        return checked

    return mark
