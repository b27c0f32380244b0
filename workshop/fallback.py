"""Teaching cells that build on an exercise: the learner's answer when it works, else a reference.

A unit's later figures often use what an exercise asked for (a faster function, a measured
crossover). In an exercise notebook run top to bottom before every exercise is solved, those
cells would stop with the exercise's ``NotImplementedError`` and the figures would never appear.
``answer_or_reference`` lets such a cell go on with a reference (usually the slow or serial
version the exercise starts from, so no answer is given away) and says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["answer_or_reference"]

T = TypeVar("T")


def _reason(error: BaseException) -> str:
    if isinstance(error, NotImplementedError):
        return "it is not answered yet"
    if isinstance(error, NameError):
        return "it is not defined yet (run its exercise cell)"
    text = str(error).strip().splitlines()
    return f"it raised {type(error).__name__}" + (f": {text[0]}" if text else "")


def answer_or_reference(
    answer: Callable[[], T],
    reference: T,
    check: Callable[[T], Any] | None = None,
    *,
    name: str,
    reference_name: str = "the reference",
) -> T:
    """The learner's answer if it can be had and passes ``check``, otherwise ``reference``.

    ``answer`` is a function of no arguments that returns the learner's object, e.g.
    ``lambda: vocabulary_fast``, so that a name the exercise cell never defined is caught too.
    ``check(candidate)`` runs the answer on a small example; it fails by raising or by returning
    a false value (``None`` counts as passing). ``name`` is what the note calls the answer,
    ``reference_name`` what it calls the stand-in. Prints one line when the reference is used.
    """
    if not callable(answer):
        raise TypeError(
            f"answer must be a function of no arguments returning your {name}, e.g. "
            f"lambda: {name}; got {type(answer).__name__}"
        )
    try:
        candidate = answer()
        verdict = True if check is None else check(candidate)
    except Exception as error:  # any failure of a learner's code means: use the reference
        reason = _reason(error)
    else:
        if verdict is None or verdict:
            return candidate
        reason = "it gives a wrong result on a small example"
    print(f"Note: using {reference_name} instead of your {name}, because {reason}.")
    return reference
