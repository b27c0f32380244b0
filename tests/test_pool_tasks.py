"""The worker functions unit 02 sends to process pools (workshop.examples.pool_tasks)."""

from __future__ import annotations

import math
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pytest

from workshop.examples import pool_tasks
from workshop.kernels.pi import hits_numba


def test_small_tasks():
    assert pool_tasks.noop() is None and pool_tasks.noop(3) == 3
    assert pool_tasks.square(7) == 49
    assert pool_tasks.power(2, 10) == 1024 and pool_tasks.power(3) == 9
    assert pool_tasks.wait(0.0) == 0.0
    assert pool_tasks.busy(10) == sum(i * i % 7 for i in range(10))


@pytest.mark.parametrize(("seed", "n"), [(1, 1_000), (20240611, 2_345)])
def test_hits_draws_the_points_of_the_pi_kernels(seed, n):
    assert pool_tasks.hits(seed, 0, n) == int(hits_numba(np.uint64(seed), 0, n))


def test_hits_of_blocks_add_up():
    whole = pool_tasks.hits(5, 0, 1_000)
    assert whole == pool_tasks.hits(5, 0, 333) + pool_tasks.hits(5, 333, 1_000)
    assert pool_tasks.hits(5, 10, 10) == 0
    with pytest.raises(ValueError, match="start <= stop"):
        pool_tasks.hits(5, 10, 3)


def test_lyapunov_tells_order_from_chaos():
    assert pool_tasks.lyapunov(2.8) < 0  # a fixed point
    assert pool_tasks.lyapunov(3.5) < 0  # a 4-cycle
    assert pool_tasks.lyapunov(4.0, steps=20_000) == pytest.approx(math.log(2), abs=0.02)
    assert pool_tasks.lyapunov(np.float64(3.7)) == pool_tasks.lyapunov(3.7)
    with pytest.raises(ValueError, match="r must be in"):
        pool_tasks.lyapunov(4.5)
    with pytest.raises(ValueError, match="steps"):
        pool_tasks.lyapunov(3.0, steps=0)


def test_functions_pickle_by_reference_and_run_in_spawned_workers():
    task = partial(pool_tasks.power, exponent=3)
    assert b"workshop.examples.pool_tasks" in pickle.dumps(task)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as executor:
        assert list(executor.map(task, [1, 2, 3], timeout=60)) == [1, 8, 27]
