# Put at the top of an answer cell (the rest left blank): every hook an answer cell can install
# in the kernel it shares with the test cells. Before the verdicts moved out of the kernel, the
# AST transformer alone scored 62/62 over the eight units with every exercise blank. Expected:
# no points for the blank answers, whatever is installed here.
import ast
import sys

import workshop.grading


class Forgive(ast.NodeTransformer):
    """Wrap every later cell, test cells included, in a try/except that swallows failures."""

    def visit_Module(self, node):
        handler = ast.ExceptHandler(
            type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()]
        )
        guarded = ast.Try(
            body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[]
        )
        return ast.fix_missing_locations(ast.Module(body=[guarded], type_ignores=[]))


shell = get_ipython()  # noqa: F821
shell.ast_transformers.append(Forgive())
# Any exception that still escapes is shown as nothing at all.
shell.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
sys.excepthook = lambda *args: None
# Every check the test cells call passes.
for name in dir(workshop.grading):
    if name.startswith(("check", "assert")):
        setattr(workshop.grading, name, lambda *args, **kwargs: None)
try:  # and every validator they compare through
    from workshop.kernels import mandelbrot as _mandelbrot
    from workshop.kernels import registry as _registry

    _mandelbrot.validate = lambda *args, **kwargs: None
    for _problem in getattr(_registry, "_PROBLEMS", {}).values():
        _problem.validate = lambda *args, **kwargs: None
except Exception:
    pass
