"""03-sparse-matrices: building CSR, choosing storage, item similarity and recommendations."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from workshop.grading import check_close, check_equal
from workshop.memory import format_bytes
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import memory_within
from workshop.verdict.wire import Sparse

PREAMBLE = """
import functools
import math
import warnings

import numpy as np
import scipy.sparse as sp

from workshop.hardware import small_mode
from workshop.memory import format_bytes, nbytes, peak_memory

SMALL = small_mode()
"""


def _sparse(value, what: str, fmt: str | None = "csr") -> Sparse:
    assert isinstance(value, Sparse), f"{what} should return a sparse matrix, got {value!r}"
    if fmt is not None:
        check_equal(value.format, fmt, f"{what}: its format")
    return value


def _triplets(rng: np.random.Generator, shape: tuple[int, int], count: int):
    return (
        rng.integers(0, shape[0], count),
        rng.integers(0, shape[1], count),
        rng.normal(size=count),
    )


def check_build(trial: Trial) -> str:
    rng = trial.rng
    for shape, count in (((1, 1), 3), ((7, 3), 30), ((50, 80), 400), ((4, 6), 0)):
        r, c, v = _triplets(rng, shape, count)
        expected = np.zeros(shape)
        np.add.at(expected, (r, c), v)
        result = _sparse(trial.value("build_csr", r, c, v, shape), f"build_csr(..., {shape})")
        check_equal(result.shape, shape, f"build_csr(...).shape for {shape}")
        check_close(
            result.toarray(), expected, f"build_csr(<{count} triplets>, {shape})", atol=1e-12
        )
    return "CSR right for triplets drawn now, duplicates summed"


def _memory_case(trial: Trial, shape: tuple[int, int], count: int) -> str:
    r, c, _ = _triplets(trial.rng, shape, count)
    ones = np.ones(count)
    budget = 16 * (shape[0] + 1) + 64 * count + 2**20
    result = memory_within(
        trial,
        "build_csr",
        (r, c, ones, shape),
        budget,
        warm=(r[:5] % 5, c[:5] % 5, ones[:5], (5, 5)),
    )
    result = _sparse(result, f"build_csr(..., {shape})")
    check_equal(result.shape, shape, "build_csr(...).shape")
    expected = sp.coo_array((ones, (r, c)), shape=shape).tocsr()
    assert result.nnz <= count, f"{result.nnz} values stored for {count:,} triplets"
    check_close(float(result.data.sum()), float(expected.sum()), "the sum of the stored values")
    return f"{shape}: within {format_bytes(budget)}"


def check_build_memory(trial: Trial) -> str:
    first = _memory_case(trial, (5_000, 4_000), 1_000)  # dense: 153 MiB
    second = _memory_case(trial, (200_000, 300_000), 1_000)  # dense: 447 GiB
    return f"{first}; {second}"


def _crossover(densities, dense, sparse) -> float:
    for density, d, s in zip(densities, dense, sparse, strict=True):
        if s >= d:
            return density
    return math.inf


def _storage(shape, nnz, crossover, memory_limit) -> str:
    entries = shape[0] * shape[1]
    if 8 * entries > memory_limit:
        return "sparse"
    return "sparse" if nnz / entries < crossover else "dense"


def check_storage(trial: Trial) -> str:
    rng = trial.rng
    for length in (1, 2, 5, 9):
        densities = sorted(rng.uniform(1e-4, 0.9, size=length).tolist())
        dense = rng.uniform(0.5, 2.0, size=length).tolist()
        sparse = rng.uniform(0.05, 3.0, size=length).tolist()
        if length == 2:
            sparse = [d / 2 for d in dense]  # sparse always wins
        if length == 5:
            sparse[2] = dense[2]  # a tie counts as not faster
        check_equal(
            trial.value("crossover_density", densities, dense, sparse),
            _crossover(densities, dense, sparse),
            f"crossover_density(<{length} points drawn now>)",
        )
    for _ in range(12):
        shape = (int(rng.integers(1, 2000)), int(rng.integers(1, 2000)))
        entries = shape[0] * shape[1]
        nnz = int(rng.integers(0, entries + 1))
        crossover = float(rng.choice([rng.uniform(0, 1), math.inf, nnz / entries]))
        limit = int(rng.choice([8 * entries, 8 * entries - 1, 10**12]))
        check_equal(
            trial.value("choose_storage", shape, nnz, crossover, limit),
            _storage(shape, nnz, crossover, limit),
            f"choose_storage({shape}, {nnz}, {crossover:g}, {limit})",
        )
    return "crossover and storage choices right for cases drawn now"


def _ratings(rng: np.random.Generator, users: int, items: int, density: float):
    ratings = sp.random_array((users, items), density=density, format="csr", rng=rng)
    ratings.data = np.ceil(ratings.data * 5)
    return ratings


def _cosine(ratings) -> np.ndarray:
    dense = ratings.toarray()
    lengths = np.linalg.norm(dense, axis=0)
    safe = np.where(lengths > 0, lengths, 1.0)
    return (dense.T @ dense) / np.outer(safe, safe)


def check_similarity(trial: Trial) -> str:
    rng = trial.rng
    for users, items, density in ((30, 12, 0.2), (200, 40, 0.05), (5, 7, 0.3)):
        ratings = _ratings(rng, users, items, density)
        result = _sparse(trial.value("item_similarity", ratings), "item_similarity", fmt=None)
        check_close(
            result.toarray(),
            _cosine(ratings),
            f"item_similarity(<{users} x {items}>)",
            rtol=1e-9,
            atol=1e-12,
        )
    return "cosine similarities right for ratings drawn now"


def check_similarity_memory(trial: Trial) -> str:
    rng = trial.rng
    users, items = 10_000, 4_000  # dense similarity: 128 MB; dense ratings: 320 MB
    user_ids = np.repeat(np.arange(users), 3)
    item_ids = rng.integers(0, items, size=user_ids.size)
    stars = rng.integers(1, 6, size=user_ids.size).astype(float)
    big = sp.coo_array((stars, (user_ids, item_ids)), shape=(users, items)).tocsr()
    budget = 32 * 2**20
    small = _ratings(rng, 20, 10, 0.3)
    result = _sparse(
        memory_within(trial, "item_similarity", (big,), budget, warm=(small,)),
        "item_similarity",
        fmt=None,
    )
    check_equal(result.shape, (items, items), "item_similarity(...).shape")
    diagonal = np.zeros(items)
    on_diagonal = result.row == result.col
    np.add.at(diagonal, result.row[on_diagonal], result.data[on_diagonal])
    rated = np.zeros(items, dtype=bool)
    rated[item_ids] = True
    check_close(diagonal, rated.astype(float), "the similarity of each item with itself", atol=1e-9)
    return f"within {format_bytes(budget)} for 10,000 users x 4,000 items"


def _recommend(ratings, user: int, k: int) -> np.ndarray:
    row = ratings.toarray()[user]
    scores = row @ _cosine(ratings)
    scores[row != 0] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def check_recommend(trial: Trial) -> str:
    rng = trial.rng
    ratings = _ratings(rng, 60, 25, 0.15)
    similarity = sp.csr_array(_cosine(ratings))  # the judge's own, not the learner's
    for user in rng.choice(60, size=4, replace=False).tolist():
        got = np.asarray(trial.value("recommend", ratings, similarity, user, 4))
        check_equal(got, _recommend(ratings, user, 4), f"recommend(..., user {user}, k=4)")
    tie = sp.csr_array(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    check_equal(
        np.asarray(trial.value("recommend", tie, sp.csr_array(np.eye(3)), 0, 2)),
        np.array([1, 2]),
        "recommend with equal scores: increasing item order",
    )
    return "recommendations right against the judge's own similarities"


CHECKS = {
    "build-csr-test": check_build,
    "build-csr-memory-test": check_build_memory,
    "storage-test": check_storage,
    "similarity-test": check_similarity,
    "similarity-memory-test": check_similarity_memory,
    "recommend-test": check_recommend,
}
