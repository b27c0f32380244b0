"""References at the hardware's limit: the C programs and Cython kernels are built for this CPU."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from workshop.kernels import native
from workshop.kernels.compiled import cython_reason


@pytest.fixture
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setattr(native, "_flags", {})
    return tmp_path


def fake_compiler(folder: Path, refuse: str) -> Path:
    """A compiler that refuses the flags ``refuse`` (a shell pattern, ``a|b``), else the real one."""
    real = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if real is None:
        pytest.skip("no C compiler here")
    script = folder / "cc"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in'
        f' {refuse}) echo "error: unknown argument $arg" >&2; exit 1;; esac; done\n'
        f'exec "{real}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_c_reference_is_built_for_this_machine(private_cache):
    if native.unavailable_reason():
        pytest.skip(native.unavailable_reason())
    used = native.flags("pi")
    assert used.startswith("-O3")
    assert "native" in used or used == "-O3"  # the last choice only where both are refused
    assert int(native.run_program("pi", 1000, 1)) > 0


def test_a_library_reference_reports_its_flags(private_cache):
    """heat's C reference is a shared library (no ``main``): bench's table still names its flags."""
    if native.unavailable_reason():
        pytest.skip(native.unavailable_reason())
    assert native.flags("heat").startswith("-O3")
    assert native.compile_library("heat").exists()
    assert native.flags("heat") == native.flags("pi")


def test_a_compiler_that_refuses_native_flags_falls_back(private_cache, monkeypatch):
    monkeypatch.setenv("CC", str(fake_compiler(private_cache, "-march=native|-mcpu=native")))
    assert native.flags("pi") == "-O3"
    assert int(native.run_program("pi", 1000, 1)) > 0


def test_the_triad_streams_on_several_cores_where_openmp_builds(private_cache, monkeypatch):
    """STREAM is built with OpenMP where the compiler has it, and says so where it has not."""
    from workshop import bandwidth
    from workshop.errors import MissingCapability

    monkeypatch.setenv("WORKSHOP_SMALL", "1")
    monkeypatch.setattr(bandwidth, "SMALL_ELEMENTS", 1 << 18)
    monkeypatch.setattr(bandwidth, "REPEATS", 2)
    if native.unavailable_reason():
        pytest.skip(native.unavailable_reason())
    assert native.flags("stream").endswith("-fopenmp")
    assert native.flags("pi") == native.flags("stream").removesuffix(" -fopenmp")  # only there
    assert bandwidth.stream_bandwidth(threads=2, refresh=True) > 0

    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setenv("CC", str(fake_compiler(private_cache, "-fopenmp")))
    assert native.flags("stream") == native.flags("pi")
    assert bandwidth.stream_bandwidth(threads=1, refresh=True) > 0
    with pytest.raises(MissingCapability, match=r"ran on 1 thread\(s\), not 2: .* without OpenMP"):
        bandwidth.stream_bandwidth(threads=2, refresh=True)


def test_portable_builds_skip_native_flags(private_cache, monkeypatch):
    if native.unavailable_reason():
        pytest.skip(native.unavailable_reason())
    monkeypatch.setenv("WORKSHOP_PORTABLE", "1")
    assert native.flags("pi") == "-O3"


def test_programs_for_another_processor_are_not_reused(private_cache, monkeypatch):
    if native.unavailable_reason():
        pytest.skip(native.unavailable_reason())
    first = native.compile_program("pi")
    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setattr(native, "_processor", lambda: "another machine")
    second = native.compile_program("pi")
    assert first != second and first.exists() and second.exists()
    assert os.access(second, os.X_OK)


@pytest.mark.skipif(cython_reason("pi_cy") is not None, reason="Cython kernels not built")
def test_cython_kernels_record_their_flags():
    from workshop.kernels import mandelbrot_cy, pi_cy

    for module in (pi_cy, mandelbrot_cy):
        assert module.CFLAGS.startswith("-O3") or module.CFLAGS.startswith("/O2")
        assert ("-fopenmp" in module.CFLAGS) == module.OPENMP or os.name == "nt"
