"""The process that runs a submission's code for the judge (``python -I -m workshop.verdict.runner``).

It is an IPython shell without a kernel, so answer cells with magics (``%%cython``) run as in
the notebook. The judge sends the unit's set-up and the answer cells' source, then calls; each
reply is plain data (``wire.encode``). Whatever the answer cells install here (transformers,
patched modules, hooks) stays here: the judge compares in its own process. What the learner's
code prints goes to this process's stderr, never into the replies.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
import traceback
from typing import Any

from workshop.verdict import wire


def _error(error: BaseException) -> dict:
    return {
        "raised": type(error).__name__,
        "mro": [kind.__name__ for kind in type(error).__mro__],
        "message": str(error)[:2000],
    }


class Runner:
    """Holds the IPython shell and the stored arguments; one method per request."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="NoColor")
        self.stored: dict[str, tuple[tuple, dict]] = {}

    @property
    def namespace(self) -> dict[str, Any]:
        return self.shell.user_ns

    def cells(self, sources: list[str]) -> dict:
        errors = []
        for index, source in enumerate(sources):
            result = self.shell.run_cell(source, store_history=False, silent=True)
            failure = result.error_before_exec or result.error_in_exec
            if failure is not None:
                errors.append({"cell": index, **_error(failure)})
        return {"errors": errors}

    def call(self, target: str, args: tuple, kwargs: dict) -> dict:
        try:
            value = eval(target, self.namespace)(*args, **kwargs)
        except BaseException as error:  # the learner's code raised: report it, keep serving
            return _error(error)
        return {"value": wire.encode(value), "type": wire.type_name(value)}

    def run(self, code: str, expression: str) -> dict:
        try:
            exec(code, self.namespace)
            value = eval(expression, self.namespace)
        except BaseException as error:
            return {**_error(error), "trace": traceback.format_exc(limit=-3)[-1500:]}
        return {"value": wire.encode(value), "type": wire.type_name(value)}

    def store(self, key: str, args: tuple, kwargs: dict) -> dict:
        self.stored[key] = (args, kwargs)
        return {}

    def repeat(self, target: str, key: str, number: int) -> dict:
        func = eval(target, self.namespace)
        args, kwargs = self.stored[key]
        try:
            for _ in range(number):
                func(*args, **kwargs)
        except BaseException as error:
            return _error(error)
        return {}

    def memory(self, target: str, key: str, budget: int) -> dict:
        """Call once under a hard address-space limit of what is mapped now plus ``budget``.

        The limit is the kernel's, so no code in this process can lift it or hide what it
        allocates; this runner is thrown away afterwards. tracemalloc's peak is only reported.
        """
        import tracemalloc

        func = eval(target, self.namespace)
        args, kwargs = self.stored[key]
        gc.collect()
        mapped = _mapped_bytes()
        limit = mapped + budget
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        tracemalloc.start()
        try:
            value = func(*args, **kwargs)
        except MemoryError:
            return {"over": True, "limit": budget}
        except BaseException as error:
            return _error(error)
        finally:
            traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
        return {
            "over": False,
            "peak": traced,
            "value": wire.encode(value),
            "type": wire.type_name(value),
        }


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[0])
    return pages * resource.getpagesize()


def main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    requests = sys.stdin.buffer
    os.dup2(2, 1)  # what the learner's code prints goes to stderr, not into the replies
    runner = Runner()
    while True:
        try:
            request = wire.pickle.loads(wire.receive(requests))
        except EOFError:
            return
        operation, *arguments = request
        if operation == "exit":
            return
        started = time.perf_counter()
        reply = getattr(runner, operation)(*arguments)
        reply["seconds"] = time.perf_counter() - started
        wire.send_reply(replies, reply)


if __name__ == "__main__":
    main()
