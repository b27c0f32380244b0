"""07-ipyparallel: load balancing whose work is seen on the engines, and an Amdahl fit."""

from __future__ import annotations

import numpy as np

from workshop.grading import check_close
from workshop.kernels import mandelbrot
from workshop.scaling import amdahl_speedup, fit_amdahl
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import assert_parallel, expect_raises

PREAMBLE = '''
import multiprocessing
import os
from functools import partial

import numpy as np

from workshop.hardware import small_mode, usable_cores
from workshop.kernels import mandelbrot
from workshop.kernels.chunks import blocks

SMALL = small_mode()
CORES = usable_cores()
ENGINES = 2
MAX_ITER = 1_000


class _Started:
    """The engine cluster, started on first use (the Amdahl check needs none)."""

    def __getattr__(self, name):
        from workshop.cluster import shared_cluster

        return getattr(shared_cluster(ENGINES), name)


cluster = _Started()


class _Client:
    def __getitem__(self, key):
        return cluster.client[key]

    def __getattr__(self, name):
        return getattr(cluster.client, name)


rc = _Client()


def make_input(size):
    return (*mandelbrot.BOUNDS, size, MAX_ITER)


def assemble(size, results):
    image = np.empty((size, size), dtype=np.int32)
    for result in results:
        rows, counts = result.get(timeout=120)
        image[rows] = counts
    return image


def submit_static(size, workers):
    inputs = make_input(size)
    engines = cluster.view(workers).targets
    return [
        rc[engine].apply_async(mandelbrot.rows_block, inputs, np.arange(start, stop))
        for engine, (start, stop) in zip(engines, blocks(size, workers), strict=True)
    ]


def mandelbrot_static(size, workers):
    return assemble(size, submit_static(size, workers))


def _warm_engines():
    cluster.view(ENGINES).apply_sync(mandelbrot.warm)
    return True
'''


def _inputs(size: int) -> tuple:
    return (*mandelbrot.BOUNDS, size, 1_000)  # the unit's MAX_ITER


def check_balance(trial: Trial) -> str:
    rng = trial.rng
    cases = [
        (int(rng.integers(60, 200)), 2, None),
        (int(rng.integers(20, 80)), 1, None),
        (int(rng.integers(50, 120)), 2, int(rng.integers(3, 12))),
        (int(rng.integers(8, 20)), 2, 16),
    ]
    for size, workers, chunks in cases:
        image = trial.value("mandelbrot_balanced", size, workers, chunks, timeout=300)
        mandelbrot.validate(image, _inputs(size))
    return "the engines' image matches the reference for sizes drawn now"


def check_balance_speed(trial: Trial) -> str:
    # The result first, on a small image: an answer that fails costs no engine warm-up.
    size = 16 + int(trial.rng.integers(0, 16))
    mandelbrot.validate(trial.value("mandelbrot_balanced", size, 2, timeout=300), _inputs(size))
    trial.value("_warm_engines", timeout=300)
    size = 500 + int(trial.rng.integers(0, 60))
    _, message = assert_parallel(
        trial,
        ("mandelbrot_balanced", (size, 2)),
        ("mandelbrot_static", (size, 2)),
        2,
        what="mandelbrot_balanced on 2 engines",
        serial_runner=trial.runner,
        min_speedup=1.15,
        workers_named="ipyparallel",
        balance=0.6,
        verify=lambda image: mandelbrot.validate(image, _inputs(size)),
    )
    return message


def check_amdahl(trial: Trial) -> str:
    rng = trial.rng
    for _ in range(4):
        s, base = float(rng.uniform(0, 1)), float(rng.uniform(0.5, 100))
        counts = rng.permutation([1, 2, 3, 8, 16]).tolist()
        times = [base / amdahl_speedup(n, s) for n in counts]
        check_close(
            trial.value("serial_fraction", counts, times),
            s,
            f"serial_fraction, known s = {s:.4f}",
            atol=1e-9,
        )
    counts = [1, 2, 3, 4, 6, 8]
    times = [5.0 / amdahl_speedup(n, 0.2) * (1 + 0.03 * rng.standard_normal()) for n in counts]
    check_close(
        trial.value("serial_fraction", counts, times),
        fit_amdahl(counts, times[0] / np.asarray(times)),
        "serial_fraction on noisy times",
        atol=0.02,
    )
    check_close(
        trial.value("serial_fraction", [1, 2, 4], [1.0, 0.4, 0.2]), 0.0, "faster than ideal: 0"
    )
    expect_raises(trial, "ValueError", "serial_fraction", [2, 4], [5.0, 3.0])
    expect_raises(trial, "ValueError", "serial_fraction", [1, 1], [2.0, 2.1])
    return "serial fractions right for times drawn now"


CHECKS = {
    "balance-test": check_balance,
    "balance-speed-test": check_balance_speed,
    "amdahl-test": check_amdahl,
}
