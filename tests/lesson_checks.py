"""The two tests every lesson's checks get: a correct implementation written differently from the
reference passes, and a stub fails as "not implemented yet"."""

import pytest

from cifar_lessons.checks.core import ExerciseError


def check_tests(independent):
    """``(test_passes, test_stub_fails)`` for ``independent``: check -> the functions it checks."""

    @pytest.mark.parametrize("check", independent, ids=lambda check: check.__name__)
    def test_a_correct_implementation_written_differently_passes(check, capsys):
        check(*independent[check])
        assert capsys.readouterr().out.endswith("all checks passed\n")

    @pytest.mark.parametrize("check", independent, ids=lambda check: check.__name__)
    def test_stub_is_not_implemented_yet(check):
        def stub(*args):
            raise NotImplementedError

        with pytest.raises(ExerciseError, match=f"^{check.__name__[len('check_') :]}: not implemented yet"):
            check(stub)

    return test_a_correct_implementation_written_differently_passes, test_stub_is_not_implemented_yet
