"""Which teaching cells autograding may leave out: measured demonstrations that no graded cell
needs.

Most of a unit's running time goes into its demonstrations (timings, sweeps, plots), which earn
no points. The author tags such a cell ``demo`` in the solution notebook; while grading, a cell of
a submission is left out only when

* its source is exactly that of a ``demo`` cell of the instructor's notebook (a submission's own
  tags count for nothing, and an edited demonstration runs), and it is no nbgrader cell; and
* no cell that runs after it may read a name it binds (assignments, definitions, imports, loop
  and ``with`` targets, and the objects it changes through attributes or items), found backwards
  from the last cell like a compiler's liveness analysis, with Python's own scope tables.

So an answer that uses a variable a demonstration made still finds it. What a tagged cell does
besides binding names (files, environment, global random state) must not matter to later cells:
the author vouches for that with the tag, and the round trip's solutions-get-full-marks test
checks it.
"""

from __future__ import annotations

import ast
import re
import symtable
from collections.abc import Iterable, Sequence

from nbformat import NotebookNode
from nbgrader import utils

__all__ = ["DEMO_TAG", "bound_names", "cells_to_skip", "demo_sources", "read_names"]

DEMO_TAG = "demo"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# Cell magics whose body is Python run in this kernel (or, for %%px, on engines: treated the same).
_PYTHON_BODY = {"time", "timeit", "px", "capture"}
# Line magics that only measure or show; any other (``%load_ext``, ``%matplotlib``, ``%env``,
# ``%cd``...) or a shell escape changes the kernel in ways no name shows, so its cell always runs.
_HARMLESS_LINE_MAGICS = {"time", "timeit", "prun", "lprun", "memit", "px", "pinfo", "who"}
_LINE_MAGIC = re.compile(r"^\s*(?:\w+\s*=\s*)?(%{1,2}|!)(\w*)", re.MULTILINE)
# Names a %%cython cell puts into the notebook: its module-level defs and classes and assignments.
_CYTHON_DEF = re.compile(r"^(?:cpdef|def|class|cdef\s+class)\s+(?:[\w\[\], .*]+\s+)?(\w+)\s*[(:]")
_CYTHON_ASSIGN = re.compile(r"^(\w+)\s*(?::[^=]+)?=(?!=)")


def _is_nbgrader_cell(cell: NotebookNode) -> bool:
    return utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)


def demo_sources(instructor: NotebookNode) -> set[str]:
    """Sources of the code cells tagged ``demo`` in the instructor's notebook."""
    return {
        cell.source
        for cell in instructor.cells
        if cell.cell_type == "code"
        and DEMO_TAG in cell.get("metadata", {}).get("tags", [])
        and not _is_nbgrader_cell(cell)
    }


def _targets(node: ast.AST) -> Iterable[str]:
    """Names bound or changed by an assignment target (``a``, ``a, b``, ``a.x``, ``a[i]``)."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)
    elif isinstance(node, ast.Tuple | ast.List):
        for item in node.elts:
            yield from _targets(item)
    elif isinstance(node, ast.Attribute | ast.Subscript):
        yield from _targets(node.value)


def _python_bound(tree: ast.AST) -> set[str]:
    """Module-level names bound or changed anywhere in ``tree``: function, class and lambda
    bodies and comprehensions bind their own local names, except names they declare global."""
    names: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(child.name)
                names.update(
                    name
                    for inner in ast.walk(child)
                    if isinstance(inner, ast.Global)
                    for name in inner.names
                )
                pending.extend(child.decorator_list)
                continue
            if isinstance(child, ast.Lambda | ast.comprehension):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                for alias in child.names:
                    names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(child, ast.Assign | ast.Delete):
                for target in child.targets:
                    names.update(_targets(target))
            elif isinstance(child, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
                names.update(_targets(child.target))
            elif isinstance(child, ast.withitem) and child.optional_vars is not None:
                names.update(_targets(child.optional_vars))
            elif isinstance(child, ast.NamedExpr):
                names.update(_targets(child.target))
            elif isinstance(child, ast.ExceptHandler) and child.name:
                names.add(child.name)
            pending.append(child)
    return names


def _python_source(source: str) -> tuple[str, str] | None:
    """(cell magic or "", Python the kernel runs) for a cell, or None when the body is no Python
    of this kernel (``%%cython``) or unknown."""
    if not source.startswith("%%"):
        return "", source
    first, _, body = source.partition("\n")
    magic, *options = first[2:].split() or [""]
    if magic not in _PYTHON_BODY:
        return None
    if magic == "capture" and options and not options[-1].startswith("-"):
        body = f"{options[-1]} = None\n{body}"
    return magic, body


def _parse(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def bound_names(source: str) -> set[str] | None:
    """Names a code cell binds or changes in the notebook's namespace, or None when that cannot
    be told (unknown cell magics, line magics that change the kernel, shell escapes, code that
    does not parse): such a cell always runs."""
    for prefix, magic in _LINE_MAGIC.findall(
        source.split("\n", 1)[1] if source.startswith("%%") else source
    ):
        if prefix == "!" or (prefix == "%" and magic not in _HARMLESS_LINE_MAGICS):
            return None
    if source.startswith("%%cython"):
        names = set()
        for line in source.splitlines()[1:]:
            found = _CYTHON_DEF.match(line) or _CYTHON_ASSIGN.match(line)
            if found:
                names.add(found.group(1))
        return names
    python = _python_source(source)
    tree = _parse(python[1]) if python else None
    return None if tree is None else _python_bound(tree)


def _unconditional(statement: ast.stmt) -> set[str]:
    """Names a top-level statement always binds afresh (so earlier values are not read)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    plain = (ast.Name, ast.Tuple, ast.List, ast.Starred)
    if isinstance(statement, ast.Assign):
        return {n for t in statement.targets if isinstance(t, plain) for n in _targets(t)}
    if isinstance(statement, ast.AnnAssign) and statement.value is not None:
        return set(_targets(statement.target)) if isinstance(statement.target, ast.Name) else set()
    return set()


def _reads(statement: ast.stmt) -> set[str]:
    """Global names a statement reads, deletes or updates (``x += 1``), function and class
    bodies and comprehensions included (their own local names are not global reads), from
    Python's own scope analysis (:mod:`symtable`)."""
    names: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        module = table.get_type() == "module"
        for symbol in table.get_symbols():
            if module:
                if symbol.is_referenced():
                    names.add(symbol.get_name())
            elif symbol.is_global() and (symbol.is_referenced() or symbol.is_assigned()):
                names.add(symbol.get_name())
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(ast.unparse(statement), "<cell>", "exec"))
    if isinstance(statement, ast.Delete):  # deleting a name needs it bound
        for target in statement.targets:
            names.update(_targets(target))
    elif isinstance(statement, ast.AugAssign):  # symtable counts ``x += 1`` as a store only
        names.update(_targets(statement.target))
    return names


def _expression_reads(node: ast.expr) -> set[str]:
    return _reads(ast.Expr(node))


def _flow(statements: list[ast.stmt], bound: set[str]) -> set[str]:
    """Names ``statements`` read before binding them, in order; ``bound`` grows with what they
    always bind. Bodies that may not run (loops, branches, handlers) bind nothing after them."""
    reads: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                reads |= _expression_reads(item.context_expr) - bound
                if item.optional_vars is not None:
                    target = item.optional_vars
                    if isinstance(target, ast.Name | ast.Tuple | ast.List):
                        bound |= set(_targets(target))
                    else:
                        reads |= set(_targets(target)) - bound
            reads |= _flow(statement.body, bound)
        elif isinstance(statement, ast.For | ast.AsyncFor):
            reads |= _expression_reads(statement.iter) - bound
            inside = (
                bound | {n for n in _targets(statement.target)}
                if isinstance(statement.target, ast.Name | ast.Tuple | ast.List)
                else set(bound)
            )
            reads |= _flow(statement.body, set(inside)) | _flow(statement.orelse, set(bound))
        elif isinstance(statement, ast.If | ast.While):
            reads |= _expression_reads(statement.test) - bound
            reads |= _flow(statement.body, set(bound)) | _flow(statement.orelse, set(bound))
        elif isinstance(statement, ast.Try):
            reads |= _flow(statement.body, set(bound)) | _flow(statement.orelse, set(bound))
            reads |= _flow(statement.finalbody, set(bound))
            for handler in statement.handlers:
                reads |= _flow(handler.body, set(bound))
                if handler.type is not None:
                    reads |= _expression_reads(handler.type) - bound
        else:
            reads |= _reads(statement) - bound
            bound |= _unconditional(statement)
    return reads


def read_names(source: str) -> tuple[set[str], set[str]]:
    """(names a running cell may read before binding them itself, names it always binds).

    Reads are over-counted where unsure: a cell that does not parse or whose cell magic runs no
    Python here (``%%bash``), and the lines of line magics and shell commands, count every
    identifier in them; a ``%%cython`` body is compiled apart and reads only its magic line."""
    every = set(_IDENTIFIER.findall(source))
    if source.startswith("%%cython"):
        # The body is compiled into a module of its own; only the magic line's {expansions}
        # read this kernel's names.
        return set(_IDENTIFIER.findall(source.split("\n", 1)[0])), bound_names(source) or set()
    python = _python_source(source)
    tree = _parse(python[1]) if python else None
    if tree is None:
        return every, set()
    bound: set[str] = set()
    reads = _flow(tree.body, bound)
    for line in source.splitlines():
        if line.lstrip().startswith(("%", "!")) or "get_ipython" in line:
            reads.update(_IDENTIFIER.findall(line))
    return reads, bound


def cells_to_skip(cells: Sequence[NotebookNode], demos: set[str]) -> set[int]:
    """Indices of the code cells of ``cells`` that autograding may leave out (see the module's
    docstring): demonstrations whose names no later cell that runs may read."""
    skipped: set[int] = set()
    needed: set[str] = set()
    for index in reversed(range(len(cells))):
        cell = cells[index]
        if cell.cell_type != "code":
            continue
        if cell.source in demos and not _is_nbgrader_cell(cell):
            bound = bound_names(cell.source)
            if bound is not None and not bound & needed:
                skipped.add(index)
                continue
        reads, binds = read_names(cell.source)
        needed = (needed - binds) | reads
    return skipped
