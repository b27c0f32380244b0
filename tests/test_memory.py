"""Byte counts of arrays and sparse matrices, and the traced peak of a call."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from workshop.memory import PeakMemory, format_bytes, nbytes, peak_memory


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3 GiB"
    assert format_bytes(2**50) == "1.05e+06 GiB"
    with pytest.raises(ValueError, match="finite number >= 0"):
        format_bytes(-1)


def test_nbytes_of_dense_and_sparse():
    dense = np.zeros((10, 20))
    assert nbytes(dense) == 1600
    matrix = sp.random_array((100, 50), density=0.1, format="csr", rng=0)
    expected = matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
    assert nbytes(matrix) == expected
    assert nbytes(sp.csc_matrix(matrix)) > 0
    coo = matrix.tocoo()
    assert nbytes(coo) == coo.data.nbytes + coo.row.nbytes + coo.col.nbytes
    assert nbytes(sp.coo_matrix(matrix)) == nbytes(coo)
    assert nbytes(sp.dia_array(np.eye(4))) > 0


def test_nbytes_refuses_what_it_cannot_count():
    with pytest.raises(ValueError, match="convert LIL or DOK"):
        nbytes(sp.lil_array((3, 3)))
    with pytest.raises(ValueError, match="a list"):
        nbytes([1, 2, 3])


def test_peak_memory_sees_temporaries_and_numpy_buffers():
    def temporary(n):
        big = np.ones(n)  # 8 MB that is freed before returning
        return float(big.sum())

    result = peak_memory(temporary, 1_000_000)
    assert isinstance(result, PeakMemory)
    assert result.result == 1_000_000.0
    assert result.peak >= 8_000_000
    assert "peak" in str(result)


def test_peak_memory_keeps_tracing_state_and_kwargs():
    small = peak_memory(sum, range(1000), start=5)
    assert small.result == sum(range(1000)) + 5
    assert small.peak < 100_000
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        peak_memory(list, range(10))
        assert tracemalloc.is_tracing()  # someone else's tracing is left running
    finally:
        tracemalloc.stop()
