"""Plain C reference programs: compiled once with the system compiler, run through ``subprocess``.

The sources live in ``workshop/kernels/c/``. Each is compiled for the machine it runs on, at the
hardware's limit: ``-O3 -march=native`` (``-mcpu=native`` where the compiler spells it so, plain
``-O3`` where it refuses both, ``/O2`` with MSVC; ``WORKSHOP_PORTABLE=1`` asks for plain ``-O3``);
a source with ``#pragma omp`` (the STREAM triad) is built with OpenMP where the compiler has it.
Programs are kept in a per-user cache directory, named by a hash of the source, compiler, flags
and processor, so editing a source recompiles it, a home folder shared by different machines
never runs a program built for another processor, and two processes compiling at once never see a
half-written program. ``flags(name)`` says which flags a program was built with.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = [
    "cache_dir",
    "compile_library",
    "compile_program",
    "flags",
    "run_program",
    "unavailable_reason",
]

SOURCE_DIR = Path(__file__).with_name("c")
#: Flag sets tried in order until the compiler accepts one (MSVC: ``/O2`` only).
FLAG_CHOICES = (("-O3", "-march=native"), ("-O3", "-mcpu=native"), ("-O3",))
_lock = threading.Lock()
_built: dict[str, Path] = {}
_flags: dict[str, tuple[str, ...]] = {}


def cache_dir() -> Path:
    """Where compiled programs are kept (``$XDG_CACHE_HOME/workshop/native`` or alike)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "workshop" / "native"


def unavailable_reason() -> str | None:
    """Why C programs cannot be built here (no compiler, with how to get one), or None."""
    from workshop.hardware import c_compiler_reason

    return c_compiler_reason()


def _msvc(compiler: str) -> bool:
    return Path(compiler).stem.lower() == "cl"  # MSVC spells its options differently


def _flag_choices(compiler: str, openmp: bool = False) -> tuple[tuple[str, ...], ...]:
    """Flag sets to try in order; for a source with ``#pragma omp``, each first with OpenMP."""
    if _msvc(compiler):
        choices: tuple[tuple[str, ...], ...] = (("/O2",),)
    elif os.environ.get("WORKSHOP_PORTABLE"):
        choices = (("-O3",),)
    else:
        choices = FLAG_CHOICES
    if not openmp:
        return choices
    option = "/openmp" if _msvc(compiler) else "-fopenmp"
    return tuple(chosen for flags in choices for chosen in ((*flags, option), flags))


def _uses_openmp(source: Path) -> bool:
    return "#pragma omp" in source.read_text(errors="replace")


def _command(
    compiler: str, flags: tuple[str, ...], source: Path, output: Path, shared: bool
) -> list[str]:
    if _msvc(compiler):
        return [
            compiler,
            "/nologo",
            *flags,
            *(["/LD"] if shared else []),
            str(source),
            f"/Fe:{output}",
        ]
    extra = ["-shared", "-fPIC"] if shared else []
    return [compiler, *flags, *extra, "-o", str(output), str(source)]


def _processor() -> str:
    """What identifies this processor to ``-march=native``: architecture, model and features."""
    parts = [platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key = line.split(":", 1)[0].strip()
                if key in {"model name", "flags", "Features", "CPU part"}:
                    parts.append(line.strip())
                if not line.strip() and len(parts) > 2:
                    break  # the first processor's block is enough
    except OSError:
        pass
    return "\n".join(parts)


def _target(name: str, compiler: str, source: Path, shared: bool) -> Path:
    digest = hashlib.sha256()
    choices = repr(_flag_choices(compiler, _uses_openmp(source)))
    parts = (source.read_bytes(), compiler.encode(), choices.encode(), _processor().encode())
    for part in (*parts, bytes(shared)):
        digest.update(part)
        digest.update(b"\0")
    if shared:
        suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    else:
        suffix = ".exe" if sys.platform == "win32" else ""
    return cache_dir() / f"{name}-{digest.hexdigest()[:16]}{suffix}"


def _build(compiler: str, source: Path, target: Path, shared: bool) -> tuple[str, ...]:
    """Compile ``source`` into ``target`` with the first flags the compiler accepts."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{source.stem}-", suffix=target.suffix)
    os.close(fd)
    errors = []
    try:
        for flags in _flag_choices(compiler, _uses_openmp(source)):
            result = subprocess.run(
                _command(compiler, flags, source, Path(tmp), shared),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                target.with_name(target.name + ".flags").write_text(" ".join(flags))
                os.replace(tmp, target)  # atomic: readers see no program or a whole one
                return flags
            errors.append(f"{' '.join(flags)} (exit {result.returncode}): {result.stderr.strip()}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    raise RuntimeError(f"compiling {source.name} with {compiler} failed:\n" + "\n".join(errors))


def compile_library(name: str) -> Path:
    """Path of ``c/<name>.c`` compiled as a shared library (for ``ctypes``), built if needed.

    For kernels whose data is large: called in-process, they share the caller's arrays, where
    a program would copy them through a pipe on every call.
    """
    return compile_program(name, shared=True)


def compile_program(name: str, *, shared: bool = False) -> Path:
    """Path of the compiled program for ``c/<name>.c``, compiling it first if needed."""
    from workshop.hardware import require_c_compiler

    compiler = require_c_compiler()
    source = SOURCE_DIR / f"{name}.c"
    if not source.is_file():
        choices = ", ".join(sorted(p.stem for p in SOURCE_DIR.glob("*.c")))
        raise ValueError(f"no C program {name!r}; choose one of {choices}")
    target = _target(name, compiler, source, shared)
    key = _key(name, shared)
    with _lock:
        if _built.get(key) == target and target.exists():
            return target
        if target.exists():
            recorded = target.with_name(target.name + ".flags")
            _flags[key] = tuple(recorded.read_text().split()) if recorded.exists() else ()
        else:
            _flags[key] = _build(compiler, source, target, shared)
        _built[key] = target
        return target


def flags(name: str) -> str:
    """The compiler flags ``c/<name>.c`` was built with, e.g. ``"-O3 -march=native"``.

    A source with a ``main`` is asked about as a program, one without as a shared library
    (``compile_library``); it is compiled first if needed.
    """
    source = SOURCE_DIR / f"{name}.c"
    shared = source.is_file() and not re.search(r"\bmain\s*\(", source.read_text())
    compile_program(name, shared=shared)
    return " ".join(_flags.get(_key(name, shared), ())) or "unknown"


def _key(name: str, shared: bool) -> str:
    return f"{name} (library)" if shared else name


def run_program(
    name: str,
    *args: object,
    timeout: float | None = 600.0,
    env: dict[str, str] | None = None,
) -> bytes:
    """Run the compiled ``name`` with ``args`` (and ``env`` added to this process's environment)
    and return its standard output as bytes."""
    program = compile_program(name)
    result = subprocess.run(
        [str(program), *(str(a) for a in args)],
        capture_output=True,
        check=False,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"C program {name} exited with {result.returncode}: {message}")
    return result.stdout
