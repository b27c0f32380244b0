"""The slow word-statistics program that unit 01 profiles: correct, reproducible, readable."""

from __future__ import annotations

import pytest

from workshop.examples import slow_program


def test_make_text_is_reproducible_and_sized():
    text = slow_program.make_text(500, seed=3)
    assert text == slow_program.make_text(500, seed=3)
    assert text != slow_program.make_text(500, seed=4)
    assert len(text.split()) == 500
    assert slow_program.make_text(0) == ""
    with pytest.raises(ValueError, match="n_words must be >= 0"):
        slow_program.make_text(-1)


def test_tokenise_strips_punctuation_and_case():
    assert slow_program.tokenise('The cat, the "dog"; THE end. !') == [
        "the",
        "cat",
        "the",
        "dog",
        "the",
        "end",
    ]


def test_vocabulary_keeps_first_appearance_order():
    assert slow_program.vocabulary(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert slow_program.vocabulary([]) == []


def test_analyse_reports_counts_and_top_words():
    result = slow_program.analyse("b a b c a b. B!", k=2)
    assert result == {"words": 7, "distinct": 3, "top": [("b", 4), ("a", 2)], "longest": "b"}
    assert slow_program.analyse("")["distinct"] == 0


def test_zipf_text_has_a_few_common_words():
    words = slow_program.tokenise(slow_program.make_text(5000, seed=1))
    counts = slow_program.count_words(words, slow_program.vocabulary(words))
    (_, most), *_ = slow_program.top_words(counts, 1)
    assert most > 10 * len(words) / len(counts)  # far above the average count
