"""Plausible wrong answers to unit 01-fast-code, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "the profile read by cumulative time; a correct but still quadratic fix",
        "replace": {
            # Sorting by cumulative time puts the entry point on top, not the hot spot.
            "hot-spot-solution": """
HOT_SPOT = "analyse"
""",
            # Right answer, but words.index scans the list again for every distinct word.
            "vocabulary-fast-solution": """
def vocabulary_fast(words):
    return sorted(set(words), key=words.index)
""",
        },
        "fails": ["hot-spot-test", "vocabulary-speed-test"],
    },
    {
        "description": "pairs counted with a set (repeated values lost); Manhattan distance",
        "replace": {
            # One pass and fast, but a set forgets how often a value occurred: [5, 5, 5] gives 2.
            "count-pairs-solution": """
def count_pairs(values, target):
    seen = set()
    count = 0
    for value in values:
        if target - value in seen:
            count += 1
        seen.add(value)
    return count
""",
            # Vectorised and fast, but the sum of absolute differences is not Euclidean distance.
            "nearest-centre-solution": """
def nearest_centre(points, centres):
    differences = points[:, np.newaxis, :] - centres[np.newaxis, :, :]
    return np.argmin(np.abs(differences).sum(axis=2), axis=1)
""",
        },
        # The speed cells check results first, on the timed input, so they fail too.
        "fails": [
            "count-pairs-test",
            "count-pairs-speed-test",
            "nearest-centre-test",
            "nearest-centre-speed-test",
        ],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "01-fast-code",
        keep=["nearest-centre-solution", "top-functions-solution"],
        fails=[
            "hot-spot-test",
            "vocabulary-fast-test",
            "vocabulary-speed-test",
            "count-pairs-test",
            "count-pairs-speed-test",
        ],
    ),
    {
        "description": "fast only because it is wrong on the timed input (speed cells check results)",
        "replace": {
            "vocabulary-fast-solution": """
def vocabulary_fast(words):
    if len(words) <= 3_000:  # the sizes of the correctness checks
        return list(dict.fromkeys(words))
    return words[:1]
""",
            "count-pairs-solution": """
def count_pairs(values, target):
    if len(values) > 400:  # the timed input: answer at once
        return 0
    seen = collections.Counter()
    count = 0
    for value in values:
        count += seen[target - value]
        seen[value] += 1
    return count
""",
        },
        "fails": ["vocabulary-speed-test", "count-pairs-speed-test"],
    },
    {
        "description": "a sampling profile read by counting lines, not samples",
        "replace": {
            # Finds the innermost frames, but each distinct stack counts once whatever its samples.
            "top-functions-solution": """
def top_functions(raw_lines, k=5):
    counts = collections.Counter()
    for line in raw_lines:
        stack, _, samples = line.strip().rpartition(" ")
        if stack:
            counts[stack.split(";")[-1].split(" (")[0]] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
""",
        },
        "fails": ["top-functions-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)
