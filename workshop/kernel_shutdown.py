"""Clean up as soon as an IPython kernel is asked to shut down, so that it exits at once.

Asked to shut down or restart, ipykernel first sends SIGTERM to every child in its process group
and waits, with pauses growing to 10 s, until none is left. multiprocessing's resource tracker, a
child that the first ``spawn`` or ``forkserver`` pool starts and that lives as long as the kernel,
ignores SIGTERM by design: it exits when the last process holding its pipe closes it. So a kernel
that ever used such a pool needs about 15 s to exit; Jupyter does not wait that long, sends
SIGTERM to the kernel, and nothing registered with ``atexit`` runs.

The same wait happens for a ``forkserver``: it dies of the SIGTERM, but nobody reaps it, and
ipykernel waits for the zombie too.

``on_kernel_shutdown(cleanup)`` runs ``cleanup`` (stop the engine clusters, the process pools)
when the shutdown request arrives, then lets the forkserver and the resource tracker exit (and
reaps them), so the kernel exits in a fraction of a second. Outside an IPython kernel it does
nothing (``atexit`` is enough there).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["on_kernel_shutdown"]

_cleanups: list[Callable[[], None]] = []
_lock = threading.Lock()
_shells: list[Any] = []  # the shells observed (one per process in practice)


def on_kernel_shutdown(cleanup: Callable[[], None]) -> bool:
    """Call ``cleanup`` once when this IPython kernel is asked to shut down (or restart).

    Returns False, and does nothing, outside an IPython kernel. Cleanups run in the order they
    were registered (each at most once) in the thread that handles the request; an exception in
    one does not stop the others.
    """
    shell = _kernel_shell()
    if shell is None:
        return False
    with _lock:
        if cleanup not in _cleanups:
            _cleanups.append(cleanup)
        if not any(known is shell for known in _shells):
            # ipykernel sets exit_now when it gets a shutdown request (or `exit` in a cell).
            shell.observe(_on_exit_now, names="exit_now")
            _shells.append(shell)
    return True


def _kernel_shell() -> Any:
    if "IPython" not in sys.modules:  # not imported: not in IPython (and stay cheap)
        return None
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None or not shell.has_trait("exit_now"):
        return None  # a terminal IPython exits through atexit, promptly
    return shell


def _on_exit_now(change: dict[str, Any]) -> None:
    if not change["new"]:
        return
    with _lock:
        cleanups = list(_cleanups)
        _cleanups.clear()
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception as exc:  # the kernel is going away: report, go on
            print(f"workshop: cleanup at kernel shutdown failed: {exc!r}", file=sys.stderr)
    _release_helpers()


def _release_helpers() -> None:
    """Let multiprocessing's forkserver and resource tracker exit now, in a background thread.

    Both exit when this process closes its end of their pipe, and then must be reaped: ipykernel
    never reaps them and waits for a zombie as long as for a live child. CPython offers no public
    call for this; the ``_stop`` methods (3.8+) are what its own test cleanup uses
    (``multiprocessing.util._cleanup_tests``). They wait for the helper to exit, hence the
    thread: a pool the notebook left open keeps the tracker alive until ipykernel stops that
    pool's workers. Should a future Python drop them, the kernel exits as slowly as before.
    """
    helpers = []
    for module, name in (
        ("multiprocessing.forkserver", "_forkserver"),
        ("multiprocessing.resource_tracker", "_resource_tracker"),
    ):
        helper = getattr(sys.modules.get(module), name, None)  # not imported: never started
        if callable(getattr(helper, "_stop", None)):
            helpers.append(helper)

    def stop_all() -> None:
        for helper in helpers:
            with contextlib.suppress(Exception):  # already stopped, or stopped elsewhere
                helper._stop()

    if helpers:
        threading.Thread(target=stop_all, name="workshop-stop-helpers", daemon=True).start()
