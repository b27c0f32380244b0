"""00-welcome: classify workloads; Amdahl's law."""

from __future__ import annotations

import math

from workshop.grading import check_close, check_equal
from workshop.scaling import amdahl_speedup
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import expect_raises

PREAMBLE = """
import itertools
import math
from dataclasses import dataclass

import numpy as np

KINDS = ("embarrassingly parallel", "coarse-grained", "fine-grained")


@dataclass(frozen=True)
class Workload:
    name: str
    tasks: int
    exchanges: int
    compute_per_exchange: float
    exchange_cost: float
"""


def _kind(exchanges: int, compute: float, cost: float) -> str:
    if exchanges == 0:
        return "embarrassingly parallel"
    return "coarse-grained" if compute / cost >= 100 else "fine-grained"


def check_classify(trial: Trial) -> str:
    rng = trial.rng
    cases = []
    for index in range(12):
        exchanges = 0 if index % 3 == 0 else int(rng.integers(1, 100_000))
        cost = float(10.0 ** rng.uniform(-7, -1))
        granularity = (
            float(10.0 ** rng.uniform(0, 4)) if index % 4 else float(rng.choice([99, 100]))
        )
        cases.append((int(rng.integers(1, 5000)), exchanges, granularity * cost, cost))
    for tasks, exchanges, compute, cost in cases:
        got = trial.evaluate(
            "", f"classify(Workload('w', {tasks}, {exchanges}, {compute!r}, {cost!r}))"
        )
        check_equal(
            got,
            _kind(exchanges, compute, cost),
            f"classify(Workload(tasks={tasks}, exchanges={exchanges}, compute_per_exchange="
            f"{compute:.3g}, exchange_cost={cost:.3g}))",
        )
    return f"{len(cases)} workloads drawn now classified correctly"


def check_amdahl(trial: Trial) -> str:
    rng = trial.rng
    for _ in range(10):
        s = float(rng.uniform(0.01, 0.99))
        n = int(rng.integers(1, 2000))
        check_close(trial.value("amdahl", s, n), amdahl_speedup(n, s), f"amdahl({s:.4f}, {n})")
        check_close(trial.value("amdahl", s), 1 / s, f"amdahl({s:.4f}) with unlimited workers")
    return "Amdahl's speed-up right for 10 serial fractions drawn now"


def check_amdahl_edges(trial: Trial) -> str:
    rng = trial.rng
    n = int(rng.integers(2, 500))
    check_close(trial.value("amdahl", 0.0, n), float(n), f"amdahl(0.0, {n}), no serial part")
    check_close(trial.value("amdahl", 1.0, n), 1.0, f"amdahl(1.0, {n}), all serial")
    check_close(trial.value("amdahl", 1.0), 1.0, "amdahl(1.0), unlimited workers")
    check_close(trial.value("amdahl", float(rng.uniform(0, 1)), 1), 1.0, "amdahl(s, 1)")
    assert trial.value("amdahl", 0.0) == math.inf, "amdahl(0.0) should be math.inf"
    expect_raises(trial, "ValueError", "amdahl", float(rng.uniform(1.01, 3)), n)
    expect_raises(trial, "ValueError", "amdahl", -float(rng.uniform(0.01, 1)), n)
    expect_raises(trial, "ValueError", "amdahl", 0.5, float(rng.uniform(0, 0.99)))
    return "edge cases and invalid input handled"


CHECKS = {
    "classify-test": check_classify,
    "amdahl-test": check_amdahl,
    "amdahl-edge-test": check_amdahl_edges,
}
