"""Cython in a notebook: the source a ``%%cython`` cell compiled, and what its annotation says.

``cython -a`` scores every source line by the calls into the Python C API that Cython generated
for it (the HTML paints a line whiter the lower its score: 0 is pure C, no Python involved).
``annotate`` runs it on a source text or a ``.pyx`` file and reads every line's score back, so a
notebook can count the lines that interact with Python and a test can check that no loop does.
``source_of`` finds the ``.pyx`` that the ``%%cython`` magic compiled a function from, and
``call_lines`` where a function in it calls another (e.g. ``prange``: is the loop parallel?).
Without a C compiler the magic cannot build anything; ``register_stand_in`` puts a ``%%cython``
in its place that skips the cell and says how to install one.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = [
    "AnnotatedLine",
    "Annotation",
    "annotate",
    "call_lines",
    "loop_lines",
    "register_stand_in",
    "source_of",
]

_LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>[^<]*<span class="">(\d+)</span>')
_LOOP = re.compile(r"(for|while)\b")
_RAW_OUTPUT = re.compile(r'<p>Raw output: <a href="[^"]*">[^<]*</a></p>')


@dataclass(frozen=True)
class AnnotatedLine:
    """One source line with its annotation score (0: no interaction with Python)."""

    number: int
    text: str
    score: int

    @property
    def python(self) -> bool:
        return self.score > 0

    def __str__(self) -> str:
        return f"line {self.number:>3} (score {self.score:>3}): {self.text.strip()}"


def _logical_lines(source: str) -> list[tuple[int, int, int]]:
    """``(first, last, indent)`` of every logical line (statement), comments and blanks left out."""
    spans: list[tuple[int, int, int]] = []
    start: tuple[int, int] | None = None
    skip = {tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.COMMENT, tokenize.ENCODING}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in skip:
            continue
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if start is not None:
                spans.append((start[0], token.start[0], start[1]))
            start = None
        elif start is None:
            start = token.start
    return spans


def _logical_lines_by_indentation(source: str) -> list[tuple[int, int, int]]:
    """Fallback for text Python's tokenizer rejects: every non-blank line is a statement."""
    spans = []
    for number, text in enumerate(source.splitlines(), start=1):
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            spans.append((number, number, len(text.expandtabs()) - len(text.expandtabs().lstrip())))
    return spans


def loop_lines(source: str) -> list[int]:
    """Numbers of the lines inside ``for`` and ``while`` loops (their header lines included)."""
    try:
        spans = _logical_lines(source)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        spans = _logical_lines_by_indentation(source)
    lines = source.splitlines()
    inside: set[int] = set()
    open_loops: list[int] = []  # indentation of the loops the current line is nested in
    for first, last, indent in spans:
        while open_loops and indent <= open_loops[-1]:
            open_loops.pop()
        statement = lines[first - 1].strip()
        if open_loops or _LOOP.match(statement):
            inside.update(range(first, last + 1))
        if _LOOP.match(statement):
            open_loops.append(indent)
    return sorted(inside)


@dataclass
class Annotation:
    """Cython's annotation of one source: every line with its score, and the HTML page."""

    name: str
    lines: list[AnnotatedLine]
    html: str

    @property
    def python_lines(self) -> list[AnnotatedLine]:
        """The lines that interact with Python (score > 0)."""
        return [line for line in self.lines if line.python]

    @property
    def loop_python_lines(self) -> list[AnnotatedLine]:
        """The lines inside loops that interact with Python: what makes a loop slow."""
        numbers = set(loop_lines("\n".join(line.text for line in self.lines)))
        return [line for line in self.python_lines if line.number in numbers]

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.python_lines)} of {len(self.lines)} lines interact with "
            f"Python, {len(self.loop_python_lines)} of them inside loops"
        )

    def __str__(self) -> str:
        rows = [self.summary(), *(f"  {line}" for line in self.python_lines)]
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"<Annotation of {self.summary()}>"

    def _repr_html_(self) -> str:
        """The annotation as %%cython -a shows it: click a line's + to see its C code."""
        styles = re.findall(r"<style.*?</style>", self.html, re.DOTALL)
        body = re.search(r"<body[^>]*>(.*)</body>", self.html, re.DOTALL)
        content = _RAW_OUTPUT.sub("", body.group(1) if body else self.html)
        return "\n".join([*styles, content])


def _parse(name: str, source: str, html: str) -> Annotation:
    scores = {int(number): int(score) for score, number in _LINE.findall(html)}
    if not scores:
        raise RuntimeError(
            f"could not read any line score from Cython's annotation of {name}; "
            "has the HTML format of `cython -a` changed?"
        )
    texts = source.splitlines()
    lines = [AnnotatedLine(n, text, scores.get(n, 0)) for n, text in enumerate(texts, start=1)]
    return Annotation(name, lines, html)


def annotate(source: str | Path, name: str | None = None, *, timeout: float = 120.0) -> Annotation:
    """Run ``cython -a`` on ``source`` (Cython code, or the path of a ``.pyx``) in a temporary
    folder and read back every line's score. Needs Cython, not a C compiler.

    Raises ValueError when Cython rejects the code (with its error messages).
    """
    if isinstance(source, Path):
        path = source
        text = path.read_text(encoding="utf-8")
        name = name or path.name
        include = [f"-I{path.parent}"]
    else:
        text = source
        name = name or "cell.pyx"
        include = []
    module = re.sub(r"\W", "_", Path(name).stem) or "cell"
    with tempfile.TemporaryDirectory(prefix="workshop-annotate-") as folder:
        pyx = Path(folder) / f"{module}.pyx"
        pyx.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "cython", "-a", *include, pyx.name],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        html_file = pyx.with_suffix(".html")
        if done.returncode != 0 or not html_file.is_file():
            messages = (done.stderr or done.stdout).strip().replace(str(pyx), name)
            raise ValueError(f"Cython could not compile {name}:\n{messages}")
        html = html_file.read_text(encoding="utf-8")
    return _parse(name, text, html)


def source_of(func: Callable[..., Any]) -> Path:
    """The ``.pyx`` file a compiled Cython function was built from (a %%cython cell's, too).

    Raises ValueError when ``func`` did not come from a ``.pyx`` (e.g. it was defined in an
    ordinary Python cell).
    """
    name = getattr(func, "__name__", repr(func))
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    file = getattr(module, "__file__", None)
    if file is not None:
        compiled = Path(file)
        pyx = compiled.with_name(compiled.name.split(".")[0] + ".pyx")
        if compiled.suffix in (".so", ".pyd") and pyx.is_file():
            return pyx
    raise ValueError(
        f"{name} was not compiled by Cython from a .pyx file: define it in a %%cython cell "
        f"(its module is {getattr(func, '__module__', None)!r})"
    )


def call_lines(source: str, function: str, callee: str) -> list[int]:
    """Numbers of the lines where the ``def``/``cdef``/``cpdef`` ``function`` in ``source`` calls
    ``callee`` (``callee(`` or ``module.callee(``); comments and strings do not count.

    A structural check for graders, e.g. that a Cython function really runs a loop in ``prange``
    (a serial loop cannot be told from a parallel one by timing on busy cores).
    """
    try:
        spans = _logical_lines(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        spans, tokens = _logical_lines_by_indentation(source), None
    lines = source.splitlines()
    header = re.compile(rf"(?:c?p?def)\b[^(]*\b{re.escape(function)}\s*\(")
    body: set[int] = set()
    start: int | None = None
    for first, last, indent in spans:
        if start is not None and indent <= start:
            start = None
        if start is None and header.match(lines[first - 1].strip()):
            start = indent
        if start is not None:
            body.update(range(first, last + 1))
    if tokens is None:  # untokenizable text: a rough look, comments cut off
        call = re.compile(rf"\b{re.escape(callee)}\s*\(")
        return [n for n in sorted(body) if call.search(lines[n - 1].split("#")[0])]
    found = {
        token.start[0]
        for token, following in pairwise(tokens)
        if token.type == tokenize.NAME
        and token.string == callee
        and following.string == "("
        and token.start[0] in body
    }
    return sorted(found)


def register_stand_in(shell: Any = None) -> None:
    """Register a ``%%cython`` cell magic that compiles nothing and says how to get a compiler.

    For machines without a C compiler: the notebook's Cython cells are skipped with that message
    instead of failing one by one with a compiler error.
    """
    from IPython import get_ipython

    from workshop.errors import MissingCapability
    from workshop.hardware import require_c_compiler

    shell = shell or get_ipython()
    if shell is None:
        raise RuntimeError("register_stand_in needs a running IPython (a notebook kernel)")

    def cython(line: str, cell: str) -> None:
        try:
            require_c_compiler()
        except MissingCapability as missing:
            print(f"Skipped this %%cython cell: {missing}")
            return
        print(
            "A C compiler is here now: restart the kernel and run the notebook again, "
            "so that %load_ext Cython loads the real %%cython."
        )

    shell.register_magic_function(cython, magic_kind="cell", magic_name="cython")
