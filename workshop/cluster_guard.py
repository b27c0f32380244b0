"""Stop an engine cluster whose owner died without stopping it (killed, crashed, ``os._exit``).

``EngineCluster.start`` runs ``python -m workshop.cluster_guard CLUSTER_FILE`` in a session of its
own (so the signals that stop the owner's process group spare it), with a pipe on its standard
input that the owner never writes to. The operating system closes the owner's end when the owner
exits, however it exits; the guard then reads end-of-file and stops whatever ipyparallel's
cluster file lists, through ipyparallel. Portable: no signal handlers, no ``prctl``, no polling.
A normal stop terminates the guard once the cluster is stopped. Processes forked (not spawned)
from the owner inherit its end of the pipe, so the guard acts when the last of them exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["main", "start_guard", "stop_guard"]


def start_guard(cluster_file: str) -> subprocess.Popen:
    """Start the guard of the cluster described by ``cluster_file``."""
    return subprocess.Popen(
        [sys.executable, "-m", "workshop.cluster_guard", cluster_file],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_guard(guard: subprocess.Popen) -> None:
    """Stop the guard of a cluster that was stopped normally (it has nothing left to do)."""
    guard.terminate()
    guard.wait()
    guard.stdin.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Wait until the owner has exited, then stop what the cluster file still lists."""
    (cluster_file,) = sys.argv[1:] if argv is None else argv
    sys.stdin.buffer.read()  # returns when the owner has exited
    if not os.path.exists(cluster_file):
        return 0  # nothing was started yet, or the owner stopped it all
    import ipyparallel as ipp

    cluster = ipp.Cluster.from_file(cluster_file)
    # Engines first, while the controller still listens, as EngineCluster.stop does.
    cluster.stop_engines_sync()
    cluster.stop_controller_sync()
    cluster.remove_cluster_file()
    return 0


if __name__ == "__main__":
    sys.exit(main())
