"""``python -m benchmarks``: run the cases, print a Markdown table of medians and ratios."""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import gogoroutines
from gogoroutines import Runtime

from . import spawn

RESULTS = Path(__file__).with_name("results.json")


def interleaved(contenders: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """Run each contender once per round, in turn (A B A B ...); return wall times."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            gc.collect()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def table(case: str, n: int, times: dict[str, list[float]], baseline: str) -> list[str]:
    """Markdown rows: median time, per-task cost and speed relative to `baseline`."""
    base = statistics.median(times[baseline])
    rows = []
    for name, ts in times.items():
        median = statistics.median(ts)
        rows.append(
            f"| {case} | {name} | {median * 1e3:.1f} ms | {median / n * 1e6:.2f} us "
            f"| {base / median:.2f}x |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke run")
    args = parser.parse_args(argv)
    n, rounds = (10_000, 3) if args.quick else (100_000, 7)

    print(
        f"gogoroutines {gogoroutines.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} CPUs"
    )
    rows = ["| case | contender | median | per task | speed vs asyncio |", "|---|---|---|---|---|"]
    results: dict[str, object] = {}
    with Runtime() as rt:
        times = interleaved(spawn.contenders(rt, n), rounds)
        rows += table(f"spawn {n:,} trivial tasks", n, times, "asyncio create_task + gather")
        results["spawn"] = {"n": n, "rounds": rounds, "seconds": times}
    print("\n".join(rows))
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": {"platform": platform.platform(), "python": sys.version.split()[0]},
                "gogoroutines": gogoroutines.__version__,
                "quick": args.quick,
                "cases": results,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
