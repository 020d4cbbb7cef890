"""Case "sleepers": many concurrent sleeping tasks, wall time and peak RSS.

Every contender runs in a fresh child process, so that its peak resident set
size is its own and nothing else's: a Python interpreter for gogoroutines
(whose figure includes the Go runtime, in the same process) and asyncio, the
Go benchmark program for pure Go. Each child reports ``VmHWM`` from
``/proc/self/status`` (the peak RSS of its own address space; getrusage's
``ru_maxrss`` would do, but on Linux it carries the parent's peak over fork +
exec). The child times itself from the first spawn to the moment every task
has finished: interpreter and Go start-up are not in the time, but are in the
RSS; the idle baselines (an interpreter with asyncio imported, one with a
gogoroutines Runtime started) are measured once and noted.
"""

from __future__ import annotations

from typing import Any

from .harness import (
    CaseResult,
    Config,
    Contender,
    Row,
    at_most,
    failed,
    fmt_kib,
    fmt_time,
    interleaved,
    log,
    ratio_of,
    run_python,
)

PER_TASK = "gogoroutines rt.go + gogoroutines.wait"
BATCH = 'gogoroutines rt.map("sleep", ...)'
ASYNCIO = "asyncio.sleep tasks + gather"
PURE_GO = "pure Go (goroutines + WaitGroup)"

GOGO_PER_TASK = """\
import gogoroutines
n, seconds = int(sys.argv[1]), float(sys.argv[2])
rt = gogoroutines.Runtime()
start = time.perf_counter()
tasks = [rt.go("sleep", seconds=seconds) for _ in range(n)]
done, not_done = gogoroutines.wait(tasks, timeout=seconds + 120)
elapsed = time.perf_counter() - start
assert not not_done, f"{len(not_done)} tasks unfinished"
assert all(t.status == gogoroutines.Status.COMPLETED for t in tasks)
report(elapsed, n=n)
"""

GOGO_BATCH = """\
import gogoroutines
n, seconds = int(sys.argv[1]), float(sys.argv[2])
rt = gogoroutines.Runtime()
start = time.perf_counter()
items = ({"seconds": seconds} for _ in range(n))
count = sum(1 for _ in rt.map("sleep", items, concurrency=n, ordered=False, timeout=seconds + 120))
elapsed = time.perf_counter() - start
assert count == n, count
report(elapsed, n=n)
"""

ASYNCIO_CODE = """\
import asyncio
n, seconds = int(sys.argv[1]), float(sys.argv[2])

async def main():
    tasks = [asyncio.create_task(asyncio.sleep(seconds)) for _ in range(n)]
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 120)

start = time.perf_counter()
asyncio.run(main())
report(time.perf_counter() - start, n=n)
"""


BASELINES = {
    "python + asyncio": "import asyncio\nreport(0)\n",
    "python + gogoroutines Runtime()": "import gogoroutines\ngogoroutines.Runtime()\nreport(0)\n",
}


def idle_baselines() -> dict[str, float]:
    """Peak RSS (KiB) of idle child interpreters, for reading the contenders' figures."""
    out = {}
    for name, code in BASELINES.items():
        try:
            out[name] = run_python(code, [], 60)["rss_kib"]
        except Exception as err:  # only informative
            log(f"  sleepers: baseline {name!r} failed: {err}")
    return out


def contenders(n: int, seconds: float, gobench: Any) -> dict[str, Contender]:
    timeout = seconds + 180

    def child(code: str) -> Contender:
        return lambda: run_python(code, [n, seconds], timeout)

    out = {PER_TASK: child(GOGO_PER_TASK), BATCH: child(GOGO_BATCH), ASYNCIO: child(ASYNCIO_CODE)}
    if gobench is not None:
        out[PURE_GO] = lambda: gobench.run(
            "sleepers", "-n", n, "-seconds", seconds, timeout=timeout
        )
    return out


def run(cfg: Config) -> CaseResult:
    if cfg.quick:
        n, seconds = 10_000, 0.2
    else:
        n, seconds = (1_000_000 if cfg.big else 100_000), 1.0
    rounds = cfg.pick_rounds(3 if cfg.big else 5)
    case = f"sleepers {n:,} x sleep({seconds:g} s)"
    notes = []
    if cfg.gobench is None:
        notes.append("sleepers: pure Go skipped (no Go toolchain)")
    baselines = idle_baselines()
    if baselines:
        notes.append(
            "sleepers: idle peak RSS, included in the figures: "
            + ", ".join(f"{k} {fmt_kib(v)}" for k, v in baselines.items())
        )
    samples = interleaved(
        "sleepers", contenders(n, seconds, cfg.gobench), rounds, budget=600 if cfg.big else 120
    )
    base = samples[ASYNCIO].median
    base_rss = samples[ASYNCIO].median_rss_kib
    go_time = samples[PURE_GO].median if PURE_GO in samples else None
    rows = []
    for name, s in samples.items():
        m, rss = s.median, s.median_rss_kib
        if m is None:
            rows.append(Row(case, name, None, "-", None, failed(s.error)))
            continue
        ratio = base / m if base else None
        rss_ratio = rss / base_rss if rss and base_rss else None
        if name == ASYNCIO:
            text = "1.00x (reference)"
        else:
            parts = [f"speed {ratio:.2f}x" if ratio else "speed -"]
            parts.append(f"RSS {rss_ratio:.2f}x" if rss_ratio else "RSS -")
            text = ", ".join(parts)
        overhead = f"{fmt_time(m - seconds)} over the sleep" if m > seconds else "-"
        if go_time and name != PURE_GO:
            overhead += f"; {m / go_time:.2f}x Go's wall"
        rows.append(
            Row(
                case,
                name,
                m,
                overhead,
                ratio,
                text,
                rss_kib=rss,
                rss_ratio=rss_ratio,
                rounds=len(s.seconds),
            )
        )
    rss_vs_asyncio = None
    if samples[PER_TASK].median_rss_kib and base_rss:
        rss_vs_asyncio = samples[PER_TASK].median_rss_kib / base_rss
    targets = [
        at_most(
            case,
            "per-task wall within 1.2x of pure Go",
            ratio_of(samples, PURE_GO, PER_TASK),
            1.2,
        ),
        at_most(case, "per-task peak RSS <= 0.5x asyncio's", rss_vs_asyncio, 0.5),
    ]
    data = {
        "n": n,
        "sleep_seconds": seconds,
        "rounds": rounds,
        "idle_rss_kib": baselines,
        "reference": ASYNCIO,
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("sleepers", rows, targets, notes, data)
