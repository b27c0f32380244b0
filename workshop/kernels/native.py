"""Plain C reference programs: compiled once with the system compiler, run through ``subprocess``.

The sources live in ``workshop/kernels/c/``. Each is compiled with ``-O3`` into a per-user cache
directory, named by a hash of the source, compiler and flags, so editing a source recompiles it
and two processes compiling at once never see a half-written program.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["cache_dir", "compile_program", "run_program", "unavailable_reason"]

SOURCE_DIR = Path(__file__).with_name("c")
FLAGS = ("-O3",)
_lock = threading.Lock()
_built: dict[str, Path] = {}


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


def _command(compiler: str, source: Path, output: Path) -> list[str]:
    if Path(compiler).stem.lower() == "cl":  # MSVC spells its options differently
        return [compiler, "/nologo", "/O2", str(source), f"/Fe:{output}"]
    return [compiler, *FLAGS, "-o", str(output), str(source)]


def compile_program(name: str) -> Path:
    """Path of the compiled program for ``c/<name>.c``, compiling it first if needed."""
    from workshop.hardware import require_c_compiler

    compiler = require_c_compiler()
    source = SOURCE_DIR / f"{name}.c"
    if not source.is_file():
        choices = ", ".join(sorted(p.stem for p in SOURCE_DIR.glob("*.c")))
        raise ValueError(f"no C program {name!r}; choose one of {choices}")
    digest = hashlib.sha256()
    for part in (source.read_bytes(), compiler.encode(), " ".join(FLAGS).encode()):
        digest.update(part)
        digest.update(b"\0")
    suffix = ".exe" if sys.platform == "win32" else ""
    target = cache_dir() / f"{name}-{digest.hexdigest()[:16]}{suffix}"
    with _lock:
        if _built.get(name) == target and target.exists():
            return target
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-", suffix=suffix)
            os.close(fd)
            try:
                result = subprocess.run(
                    _command(compiler, source, Path(tmp)),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise RuntimeError(
                        f"compiling {source.name} with {compiler} failed "
                        f"(exit {result.returncode}):\n{result.stderr.strip()}"
                    )
                os.replace(tmp, target)  # atomic: readers see no program or a whole one
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        _built[name] = target
        return target


def run_program(name: str, *args: object, timeout: float | None = 600.0) -> bytes:
    """Run the compiled ``name`` with ``args`` and return its standard output as bytes."""
    program = compile_program(name)
    result = subprocess.run(
        [str(program), *(str(a) for a in args)],
        capture_output=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"C program {name} exited with {result.returncode}: {message}")
    return result.stdout
