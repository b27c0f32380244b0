"""workshop.fallback: teaching cells go on with a reference when an exercise is not answered."""

from __future__ import annotations

import pytest

from workshop.fallback import answer_or_reference


def reference(x: int) -> int:
    return 2 * x


def test_a_working_answer_is_used_and_nothing_is_printed(capsys) -> None:
    def answer(x):
        return x + x

    chosen = answer_or_reference(lambda: answer, reference, lambda f: f(3) == 6, name="double")
    assert chosen is answer
    assert capsys.readouterr().out == ""


def test_an_unanswered_exercise_gives_the_reference_with_one_line(capsys) -> None:
    def answer(x):
        raise NotImplementedError()

    chosen = answer_or_reference(
        lambda: answer, reference, lambda f: f(3) == 6, name="double", reference_name="2 * x"
    )
    assert chosen is reference
    out = capsys.readouterr().out
    assert out == "Note: using 2 * x instead of your double, because it is not answered yet.\n"


def test_an_undefined_name_gives_the_reference(capsys) -> None:
    def missing():
        return undefined_name  # noqa: F821  (what a learner's unrun cell leaves behind)

    assert answer_or_reference(missing, reference, name="double") is reference
    assert "it is not defined yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [lambda f: f(3) == 7, lambda f: 1 / 0])
def test_a_wrong_or_failing_answer_gives_the_reference(capsys, check) -> None:
    assert answer_or_reference(lambda: reference, abs, check, name="double") is abs
    out = capsys.readouterr().out
    assert out.startswith("Note: using the reference instead of your double, because ")
    assert out.count("\n") == 1


def test_values_work_as_well_as_functions() -> None:
    assert answer_or_reference(lambda: 0.25, float("nan"), lambda v: 0 <= v <= 1, name="s") == 0.25


def test_an_answer_given_as_a_value_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match="lambda: s"):
        answer_or_reference(0.25, float("nan"), name="s")
