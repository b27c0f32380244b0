"""Plausible wrong answers to unit 03-sparse-matrices, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "right values through dense arrays: both builds silently densify",
        "replace": {
            # Correct on small shapes, but allocates rows x cols floats before going sparse.
            "build-csr-solution": """
def build_csr(rows, cols, values, shape):
    dense = np.zeros(shape)
    np.add.at(dense, (rows, cols), values)
    return sp.csr_array(dense)
""",
            # Correct cosines and a sparse result, computed on dense copies of the ratings.
            "similarity-solution": """
def item_similarity(ratings):
    dense = sp.csr_array(ratings).toarray()
    lengths = np.linalg.norm(dense, axis=0)
    safe = np.where(lengths > 0, lengths, 1.0)
    return sp.csr_array((dense.T @ dense) / np.outer(safe, safe))


def recommend(ratings, similarity, user, k=5):
    row = sp.csr_array(ratings)[[user], :]
    scores = np.asarray((row @ similarity).toarray()).ravel()
    scores[row.indices] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]
""",
        },
        "fails": ["build-csr-memory-test", "similarity-memory-test"],
    },
    {
        "description": "crossover one step early, memory limit ignored; co-ratings not normalised",
        "replace": {
            # Returns the last density where sparse still won, and never asks whether dense fits.
            "storage-solution": """
def crossover_density(densities, dense_seconds, sparse_seconds):
    last = 0.0
    for density, dense, sparse in zip(densities, dense_seconds, sparse_seconds):
        if sparse < dense:
            last = density
    return last if last else math.inf


def choose_storage(shape, nnz, crossover, memory_limit):
    return "sparse" if nnz / (shape[0] * shape[1]) < crossover else "dense"
""",
            # Sparse all the way, but R.T @ R counts co-ratings: it is not a cosine.
            "similarity-solution": """
def item_similarity(ratings):
    R = sp.csr_array(ratings, dtype=float)
    return (R.T @ R).tocsr()


def recommend(ratings, similarity, user, k=5):
    row = sp.csr_array(ratings)[[user], :]
    scores = np.asarray((row @ similarity).toarray()).ravel()
    scores[row.indices] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]
""",
        },
        # The memory cell checks its result first, so the unnormalised similarities fail it too.
        "fails": ["storage-test", "similarity-test", "similarity-memory-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "03-sparse-matrices",
        keep=["similarity-solution"],
        fails=["build-csr-test", "build-csr-memory-test", "storage-test"],
    ),
    {
        "description": "dense builds that switch tracemalloc off so the memory checks see nothing",
        "replace": {
            "build-csr-solution": """
import tracemalloc


def build_csr(rows, cols, values, shape):
    tracemalloc.stop()
    dense = np.zeros(shape)
    np.add.at(dense, (rows, cols), values)
    return sp.csr_array(dense)
""",
            "similarity-solution": """
import tracemalloc


def item_similarity(ratings):
    tracemalloc.stop()
    dense = sp.csr_array(ratings).toarray()
    lengths = np.linalg.norm(dense, axis=0)
    safe = np.where(lengths > 0, lengths, 1.0)
    return sp.csr_array((dense.T @ dense) / np.outer(safe, safe))


def recommend(ratings, similarity, user, k=5):
    row = sp.csr_array(ratings)[[user], :]
    scores = np.asarray((row @ similarity).toarray()).ravel()
    scores[row.indices] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]
""",
        },
        "fails": ["build-csr-memory-test", "similarity-memory-test"],
    },
    {
        "description": "all-zero similarities and a recommender that ignores them",
        "replace": {
            "similarity-solution": """
def item_similarity(ratings):
    return sp.csr_array((ratings.shape[1], ratings.shape[1]))


def recommend(ratings, similarity, user, k=5):
    rated = set(sp.csr_array(ratings)[[user], :].indices.tolist())
    return np.array([item for item in range(ratings.shape[1]) if item not in rated][:k])
""",
        },
        "fails": ["similarity-test", "similarity-memory-test", "recommend-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)
