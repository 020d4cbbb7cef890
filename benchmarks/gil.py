"""Case "gil": does waiting on many tasks leave the GIL to the other threads?

A Python thread counts in a tight loop for a fixed window and reports its
rate. *Solo*: the main thread only joins it. *Loaded*: the main thread first
spawns 10,000 ``sleep`` tasks, starts the counting thread, then calls
``gogoroutines.wait`` on all the tasks; the tasks sleep longer than the
window, so the whole window falls inside the wait. Both run in this process,
interleaved; the ratio is the loaded rate as a fraction of the solo rate.
The table's time is per million loop iterations (lower is faster).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gogoroutines
from gogoroutines import Runtime

from .harness import CaseResult, Config, Contender, at_least, interleaved, ratio_of, speed_rows

SOLO = "Python thread alone (main thread joins it)"
LOADED = "gogoroutines.wait on the tasks in main: thread's rate"


def count_for(window: float, out: dict[str, float]) -> None:
    """Loop for ``window`` seconds; store the iterations and the time they took."""
    n = 0
    start = time.perf_counter()
    end = start + window
    now = start
    while now < end:
        for _ in range(1000):
            n += 1
        now = time.perf_counter()
    out["iterations"] = n
    out["elapsed"] = now - start
    out["ended"] = now


def _report(out: dict[str, float], **extra: Any) -> dict[str, Any]:
    per_million = out["elapsed"] / out["iterations"] * 1e6
    return {"seconds": per_million, "rate": out["iterations"] / out["elapsed"], **extra}


def solo(window: float) -> dict[str, Any]:
    out: dict[str, float] = {}
    thread = threading.Thread(target=count_for, args=(window, out))
    thread.start()
    thread.join()
    return _report(out)


def loaded(rt: Runtime, tasks_n: int, sleep: float, window: float) -> dict[str, Any]:
    out: dict[str, float] = {}
    tasks = [rt.go("sleep", seconds=sleep) for _ in range(tasks_n)]
    thread = threading.Thread(target=count_for, args=(window, out))
    thread.start()
    _, not_done = gogoroutines.wait(tasks, timeout=sleep + 60)
    waited_until = time.perf_counter()
    thread.join()
    if not_done:
        raise TimeoutError(f"{len(not_done)} tasks unfinished")
    for t in tasks:
        t.close()
    # The window must fall inside the wait, or the figure says nothing about it.
    return _report(out, window_inside_wait=out["ended"] <= waited_until)


def contenders(rt: Runtime, tasks_n: int, sleep: float, window: float) -> dict[str, Contender]:
    return {
        SOLO: lambda: solo(window),
        LOADED: lambda: loaded(rt, tasks_n, sleep, window),
    }


def run(cfg: Config) -> CaseResult:
    tasks_n = 10_000
    # Short windows and many rounds: the solo and loaded runs of a round lie close
    # together in time, so load from elsewhere on the machine hits both alike.
    sleep, window = (0.5, 0.3) if cfg.quick else (0.8, 0.4)
    rounds = cfg.pick_rounds(11)
    case = f"gil: loop time per M iterations, main waits on {tasks_n:,} sleep({sleep:g} s) tasks"
    with Runtime() as rt:
        samples = interleaved(
            "gil", contenders(rt, tasks_n, sleep, window), rounds, budget=30 if cfg.quick else 60
        )
    rows = speed_rows(
        case, samples, SOLO, lambda m: f"{1 / m:.1f} M loops/s", ratio_label=" of solo"
    )
    notes = []
    outside = sum(1 for e in samples[LOADED].extra if not e.get("window_inside_wait", True))
    if outside:
        notes.append(
            f"gil: in {outside} rounds the counting window outlasted the wait (a slow spawn); "
            "those rounds understate the cost of waiting"
        )
    targets = [
        at_least(case, "GIL: loaded rate >= 0.9 of solo", ratio_of(samples, LOADED, SOLO), 0.9),
    ]
    data = {
        "tasks": tasks_n,
        "task_sleep_seconds": sleep,
        "window_seconds": window,
        "rounds": rounds,
        "reference": SOLO,
        "note": "seconds are per million loop iterations",
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("gil", rows, targets, notes, data)
