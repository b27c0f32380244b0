"""A small command-line simulation to drive from Python with ``subprocess``.

    python -m workshop.examples.random_walk --steps 100000 --seed 3 [--walkers 4] [--delay 0.5]

simulates ``walkers`` one-dimensional random walks of ``steps`` steps and prints one line of JSON:
the parameters, the mean squared final distance (about ``steps`` for a fair walk), the process id
and the wall-clock times it started and finished, so a caller can see which runs overlapped.
``--delay`` sleeps first, standing in for a slow tool (to try timeouts on). Bad arguments exit
with status 2 and a message on standard error, as command-line tools do. It imports only the
standard library, so it starts as fast as a Python process can.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence

__all__ = ["main", "simulate"]


def simulate(steps: int, seed: int = 0, walkers: int = 1) -> float:
    """Mean squared final position of ``walkers`` random walks of ``steps`` unit steps."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps!r}")
    if walkers < 1:
        raise ValueError(f"walkers must be >= 1, got {walkers!r}")
    rng = random.Random(seed)
    total = 0
    for _ in range(walkers):
        position = 0
        for _ in range(steps):
            position += 1 if rng.random() < 0.5 else -1
        total += position * position
    return total / walkers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="random_walk", description="Simulate random walks and print the result as JSON."
    )
    parser.add_argument("--steps", type=int, required=True, help="steps per walk (>= 0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--walkers", type=int, default=1, help="number of walks (>= 1)")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds to sleep before starting (>= 0)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, simulate, print one line of JSON; exit status 2 on bad arguments."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.steps < 0:
        parser.error(f"--steps must be >= 0, got {args.steps}")
    if args.walkers < 1:
        parser.error(f"--walkers must be >= 1, got {args.walkers}")
    if args.delay < 0:
        parser.error(f"--delay must be >= 0 seconds, got {args.delay}")
    started = time.time()
    time.sleep(args.delay)
    msd = simulate(args.steps, args.seed, args.walkers)
    record = {
        "steps": args.steps,
        "seed": args.seed,
        "walkers": args.walkers,
        "mean_squared_distance": msd,
        "pid": os.getpid(),
        "started": started,
        "finished": time.time(),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
