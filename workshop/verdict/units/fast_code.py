"""01-fast-code: the profile's hot spot, faster data structures, one-pass counting, NumPy."""

from __future__ import annotations

import collections

import numpy as np

from workshop.examples import slow_program
from workshop.grading import check_equal
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import assert_speedup

PREAMBLE = """
import collections
import functools
import math
import sys

import numpy as np

from workshop.examples import slow_program
from workshop.hardware import small_mode

SMALL = small_mode()


def count_pairs_slow(values, target):
    count = 0
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            if values[i] + values[j] == target:
                count += 1
    return count


def nearest_centre_loop(points, centres):
    labels = np.empty(len(points), dtype=np.intp)
    for i in range(len(points)):
        best, best_distance = 0, math.inf
        for j in range(len(centres)):
            distance = 0.0
            for axis in range(points.shape[1]):
                difference = points[i, axis] - centres[j, axis]
                distance += difference * difference
            if distance < best_distance:
                best, best_distance = j, distance
        labels[i] = best
    return labels
"""


def _pairs(values: list[int], target: int) -> int:
    seen: collections.Counter = collections.Counter()
    count = 0
    for value in values:
        count += seen[target - value]
        seen[value] += 1
    return count


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distances, axis=1)


def check_hot_spot(trial: Trial) -> str:
    check_equal(trial.evaluate("", "HOT_SPOT"), "vocabulary", "HOT_SPOT")
    return "the hot spot is named"


def _words(trial: Trial, count: int) -> list[str]:
    return slow_program.tokenise(
        slow_program.make_text(count, seed=int(trial.rng.integers(1 << 30)))
    )


def check_vocabulary(trial: Trial) -> str:
    check_equal(trial.value("vocabulary_fast", []), [], "vocabulary_fast([])")
    for count in (1, 50, 3_000):
        words = _words(trial, count)
        check_equal(
            trial.value("vocabulary_fast", words),
            list(dict.fromkeys(words)),
            f"vocabulary_fast(<{len(words)} words drawn now>)",
        )
    return "distinct words right, in order, for texts drawn now"


def check_vocabulary_speed(trial: Trial) -> str:
    words = _words(trial, 10_000)
    check_equal(
        trial.value("vocabulary_fast", words), list(dict.fromkeys(words)), "vocabulary_fast"
    )
    return assert_speedup(trial, "vocabulary_fast", "slow_program.vocabulary", (words,), 3)


def check_count_pairs(trial: Trial) -> str:
    rng = trial.rng
    for size, high in ((0, 3), (1, 3), (60, 5), (200, 50), (400, 1000)):
        values = rng.integers(-high, high, size=size).tolist()
        for target in (0, int(rng.integers(-high, high)), high // 2):
            check_equal(
                trial.value("count_pairs", values, target),
                _pairs(values, target),
                f"count_pairs(<{size} values in [-{high}, {high}) drawn now>, {target})",
            )
    return "pair counts right for lists drawn now"


def check_count_pairs_speed(trial: Trial) -> str:
    values = trial.rng.integers(0, 1_000, size=2_000).tolist()
    check_equal(trial.value("count_pairs", values, 1_000), _pairs(values, 1_000), "count_pairs")
    return assert_speedup(trial, "count_pairs", "count_pairs_slow", (values, 1_000), 5)


def check_nearest(trial: Trial) -> str:
    rng = trial.rng
    for n, k, d in ((1, 1, 2), (40, 1, 2), (300, 7, 2), (250, 5, 3), (100, 9, 1)):
        points, centres = rng.normal(size=(n, d)), rng.normal(size=(k, d))
        labels = np.asarray(trial.value("nearest_centre", points, centres))
        assert np.issubdtype(labels.dtype, np.integer), (
            f"labels must be integers, got {labels.dtype}"
        )
        check_equal(
            labels, _nearest(points, centres), f"nearest_centre(<{n} points>, <{k} centres>)"
        )
    return "nearest centres right for points drawn now"


def check_nearest_speed(trial: Trial) -> str:
    rng = trial.rng
    points, centres = rng.random((2_000, 2)), rng.random((8, 2))
    labels = np.asarray(trial.value("nearest_centre", points, centres))
    check_equal(labels, _nearest(points, centres), "nearest_centre on the timed input")
    return assert_speedup(trial, "nearest_centre", "nearest_centre_loop", (points, centres), 5)


def _top(lines: list[str], k: int) -> list[tuple[str, int]]:
    counts: collections.Counter = collections.Counter()
    for line in lines:
        stack, _, samples = line.strip().rpartition(" ")
        if stack:
            counts[stack.split(";")[-1].split(" (")[0]] += int(samples)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]


NAMES = ("main", "parse", "solve", "<listcomp>", "step", "load", "inner", "outer", "alpha", "zeta")


def _profile(rng: np.random.Generator, count: int) -> list[str]:
    """py-spy raw lines drawn now: stacks of 1 to 4 frames, repeated innermost frames on
    different lines and callers, sample counts with ties, and a blank line or two."""
    lines = []
    for _ in range(count):
        depth = int(rng.integers(1, 5))
        frames = [
            f"{rng.choice(NAMES)} ({rng.choice(['a.py', 'b.py'])}:{int(rng.integers(1, 90))})"
            for _ in range(depth)
        ]
        lines.append(f"{';'.join(frames)} {int(rng.integers(1, 6))}")
        if rng.random() < 0.1:
            lines.append("")
    return lines


def check_top_functions(trial: Trial) -> str:
    rng = trial.rng
    check_equal(trial.value("top_functions", [], 3), [], "top_functions([], 3)")
    for count, k in ((1, 1), (6, 3), (40, 5), (200, 4)):
        lines = _profile(rng, count)
        got = trial.value("top_functions", lines, k)
        got = [tuple(item) for item in got] if isinstance(got, list) else got
        check_equal(got, _top(lines, k), f"top_functions(<{count} stacks drawn now>, {k})")
    lines = _profile(rng, 30)
    got = trial.value("top_functions", lines)
    got = [tuple(item) for item in got] if isinstance(got, list) else got
    check_equal(got, _top(lines, 5), "top_functions(<30 stacks drawn now>), default k=5")
    return "the innermost functions' samples added up and ranked for profiles drawn now"


CHECKS = {
    "hot-spot-test": check_hot_spot,
    "top-functions-test": check_top_functions,
    "vocabulary-fast-test": check_vocabulary,
    "vocabulary-speed-test": check_vocabulary_speed,
    "count-pairs-test": check_count_pairs,
    "count-pairs-speed-test": check_count_pairs_speed,
    "nearest-centre-test": check_nearest,
    "nearest-centre-speed-test": check_nearest_speed,
}
