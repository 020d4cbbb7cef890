"""CPU time per HTTP request: gogoroutines against pure Go, side by side.

``python -m benchmarks.http_cpu [N] [ROUNDS]`` fetches N (default 20,000)
1 KiB files at concurrency 64 from a local nginx (as the ``http`` case does)
with ``rt.map``, the per-task API and the pure-Go program, in interleaved
rounds, and prints wall time and CPU time per request for each: the CPU of
this process for gogoroutines, of the child process for pure Go. CPU time
per request moves much less than wall time when other work shares the
machine, so it is the figure to compare builds by on a busy machine.
"""

from __future__ import annotations

import random
import resource
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import http_fanout, nginx
from .gobench import GoBench


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 20_000
    rounds = int(argv[1]) if len(argv) > 1 else 3
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "www"
        root.mkdir()
        body = "".join(random.choices(string.ascii_letters, k=http_fanout.SIZE))
        (root / "1k.bin").write_text(body)
        gobench = GoBench.build()
        with nginx.serve(root, allow_install=False) as server:
            url = server.base_url.rstrip("/") + "/1k.bin"
            go_args = ["-url", url, "-n", n, "-c", http_fanout.CONCURRENCY]
            go_args += ["-size", http_fanout.SIZE, "-timeout", "120s"]
            contenders: dict[str, Callable[[], object]] = {
                "rt.map": lambda: http_fanout.gogoroutines_batch(url, n, 120),
                "rt.go x N": lambda: http_fanout.gogoroutines_per_task(url, n, 120),
                "pure Go": lambda: gobench.run("http", *go_args, timeout=180),
            }
            print(f"{server.label}; {n:,} GETs of 1 KiB at concurrency 64")
            for _ in range(rounds):
                for name, run in contenders.items():
                    cpu, children, wall = time.process_time(), _children_cpu(), time.perf_counter()
                    run()
                    wall = time.perf_counter() - wall
                    cpu = time.process_time() - cpu + _children_cpu() - children
                    print(
                        f"{name:10s} wall {wall / n * 1e6:6.1f} µs/request"
                        f"  CPU {cpu / n * 1e6:6.1f} µs/request"
                    )


if __name__ == "__main__":
    main(sys.argv[1:])
