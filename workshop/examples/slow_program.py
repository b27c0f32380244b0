"""A deliberately slow word-statistics program, for finding a hot spot with a profiler.

``analyse(text)`` splits a text into words, lists the distinct words in order of first
appearance, counts them and reports the most common ones. Most of it is fine; one function
hides a choice of data structure that makes the whole program quadratic. Unit 01 finds it with
``cProfile`` and ``line_profiler`` before changing anything. ``make_text`` writes a reproducible
text of any length (word frequencies follow Zipf's law, as in real text).
"""

from __future__ import annotations

import random

__all__ = ["analyse", "count_words", "make_text", "tokenise", "top_words", "vocabulary"]

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fu", "gi", "ha")
_PUNCTUATION = ".,;:!?\"'()"


def make_text(n_words: int, seed: int = 0) -> str:
    """A reproducible text of ``n_words`` words, some capitalised, with punctuation."""
    if n_words < 0:
        raise ValueError(f"n_words must be >= 0, got {n_words!r}")
    rng = random.Random(seed)
    size = max(10, n_words // 4)
    lexicon = sorted({"".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(size)})
    rng.shuffle(lexicon)
    weights = [1.0 / rank for rank in range(1, len(lexicon) + 1)]  # Zipf: a few very common words
    words = rng.choices(lexicon, weights=weights, k=n_words)
    out = []
    for i, word in enumerate(words):
        if i % 11 == 0:
            word = word.capitalize()
        if i % 7 == 6:
            word += rng.choice(".,;!?")
        out.append(word)
    return " ".join(out)


def tokenise(text: str) -> list[str]:
    """Lower-case words with the punctuation around them stripped."""
    words = []
    for raw in text.split():
        word = raw.strip(_PUNCTUATION).lower()
        if word:
            words.append(word)
    return words


def vocabulary(words: list[str]) -> list[str]:
    """The distinct words, in the order they first appear."""
    seen = []
    for word in words:
        if word not in seen:
            seen.append(word)
    return seen


def count_words(words: list[str], vocab: list[str]) -> dict[str, int]:
    """How often each word of ``vocab`` occurs in ``words``."""
    counts = dict.fromkeys(vocab, 0)
    for word in words:
        counts[word] += 1
    return counts


def top_words(counts: dict[str, int], k: int = 10) -> list[tuple[str, int]]:
    """The ``k`` most frequent words with their counts (ties in first-appearance order)."""
    return sorted(counts.items(), key=lambda item: -item[1])[:k]


def analyse(text: str, k: int = 10) -> dict[str, object]:
    """Word statistics of ``text``: how many words, how many distinct, the top ``k``."""
    words = tokenise(text)
    vocab = vocabulary(words)
    counts = count_words(words, vocab)
    return {
        "words": len(words),
        "distinct": len(vocab),
        "top": top_words(counts, k),
        "longest": max(vocab, key=len) if vocab else "",
    }
