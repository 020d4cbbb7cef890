"""Soak and stress: a million tasks in bounded memory, 16 threads on one runtime.

Each load runs in a child interpreter. The memory figures come from the test
process, which samples the child's VmRSS in /proc while the child works, so
that the measurement never disturbs the measured process. Every loop is
bounded in count, and every child in time (a hang guard, not a performance
expectation). The figures are recorded in tests/RELIABILITY.md; run with
``-s`` to see them printed.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gogoroutines import Runtime

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

# Hang guards (seconds), far above the measured times (see tests/RELIABILITY.md).
SOAK_GUARD = 240.0
THREADS_GUARD = 240.0

# The bound on RSS growth after warm-up.
MB = 1000 * 1000
RSS_GROWTH_LIMIT = 20 * MB

# How often the test process samples the child's RSS.
SAMPLE_EVERY = 0.02


def report(what: str, **figures: object) -> None:
    """Print a line of figures for tests/RELIABILITY.md (shown with pytest -s)."""
    print(f"\nRELIABILITY {what}: " + json.dumps(figures, sort_keys=True))


def rss_bytes(pid: int) -> int:
    """The resident set size of process pid, from /proc/<pid>/status (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class Child:
    """A child interpreter that talks in lines: it prints a line, then may wait for one."""

    def __init__(self, path: Path, *args: str) -> None:
        env = dict(os.environ)
        for name in ("PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONINSPECT"):
            env.pop(name, None)
        # stderr goes to a file: a pipe nobody reads until the end would
        # block the child once it filled up (64 KiB of warnings would do).
        self.stderr_path = path.with_suffix(".stderr")
        with open(self.stderr_path, "w", encoding="utf-8") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(path), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
            )
        self.started = time.monotonic()
        self._pending = ""  # stdout read but not yet returned as lines

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def read_line(self, deadline: float, on_idle=None) -> str:
        """The next line of stdout; calls on_idle() every SAMPLE_EVERY while waiting.

        It reads the pipe itself, unbuffered: select() on a buffered file
        says "nothing to read" while a second line waits in the file's buffer
        (two lines written together), and the wait would never end.
        """
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while "\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the child hung (hang guard); its stderr: {self.stderr()}")
            ready, _, _ = select.select([fd], [], [], min(left, SAMPLE_EVERY))
            if on_idle is not None:
                on_idle()
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    self.proc.wait(30)
                    raise AssertionError(f"the child ended early: {self.stderr()}")
                self._pending += data.decode()
        line, self._pending = self._pending.split("\n", 1)
        return line

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 30.0) -> str:
        """Wait for the child to exit with status 0; return its stderr."""
        self.proc.communicate(timeout=timeout)
        err = self.stderr()
        assert self.proc.returncode == 0, err
        return err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)


@pytest.fixture
def child(tmp_path):
    """Start a child from dedented source; it is killed if the test leaves it running."""
    children: list[Child] = []

    def start(source: str, *args: str) -> Child:
        path = tmp_path / f"child_{len(children)}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        c = Child(path, *args)
        children.append(c)
        return c

    yield start
    for c in children:
        c.kill()


def soak(child, source: str, *args: str) -> dict:
    """Run a soak child and sample its RSS from here, from start to end.

    Protocol: the child runs its warm-up, prints "warm <json>" and waits for a
    line; then it runs its load in rounds, printing "round" after each, prints
    "done <json>" and waits for a line again before it exits, so that the final
    RSS is taken while it is still alive. The RSS peak of the warm-up is the
    baseline: a transient peak (a garbage collection cycle of Go or Python
    coming late) that the warm-up already reached is not growth; a leak makes
    the peaks of later rounds climb past it.
    """
    c = child(source, *args)
    deadline = c.started + SOAK_GUARD
    peaks: list[int] = [0]  # peaks[0]: warm-up; then one per round
    samples = 0

    def sample() -> None:
        nonlocal samples
        peaks[-1] = max(peaks[-1], rss_bytes(c.proc.pid))
        samples += 1

    warm = c.read_line(deadline, on_idle=sample)
    assert warm.startswith("warm "), warm
    sample()
    end_of_warm_up = rss_bytes(c.proc.pid)
    c.send("go")
    started = time.monotonic()
    peaks.append(0)
    while (line := c.read_line(deadline, on_idle=sample)) == "round":
        sample()
        peaks.append(0)
    elapsed = time.monotonic() - started
    assert line.startswith("done "), line
    sample()  # the tail after the last round counts as part of the last round
    tail = peaks.pop()
    rounds = peaks[1:]
    if rounds:
        rounds[-1] = max(rounds[-1], tail)
    final = rss_bytes(c.proc.pid)
    c.send("exit")
    c.finish()
    return {
        "warm": json.loads(warm[5:]),
        "done": json.loads(line[5:]),
        "warm_peak": peaks[0],
        "end_of_warm_up": end_of_warm_up,
        "round_peaks": rounds,
        "peak": max(rounds, default=final),
        "final": final,
        "growth": max(rounds, default=final) - peaks[0],
        "samples": samples,
        "elapsed": elapsed,
    }


def rss_figures(run: dict) -> dict:
    """The RSS figures of a soak run, in MB, for report()."""
    return {
        "warm_up_peak_rss_mb": round(run["warm_peak"] / MB, 1),
        "rss_at_end_of_warm_up_mb": round(run["end_of_warm_up"] / MB, 1),
        "peak_rss_after_warm_up_mb": round(run["peak"] / MB, 1),
        "final_rss_mb": round(run["final"] / MB, 1),
        "growth_mb": round(run["growth"] / MB, 2),
        "round_peaks_mb": [round(p / MB, 1) for p in run["round_peaks"]],
        "rss_samples": run["samples"],
    }


# ---- a million tasks ------------------------------------------------------------------------

TASKS_SOAK = """
import gc, json, sys, time
import gogoroutines as g

TOTAL, WARM = int(sys.argv[1]), int(sys.argv[2])
BATCH = 10_000
rt = g.Runtime()


def per_task(n, base):
    # Runtime.go / Task.result / Task.close, one task at a time, in batches.
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        tasks = [rt.go("echo", data=f"item {base + start + i}") for i in range(count)]
        for i, t in enumerate(tasks):
            assert t.result() == f"item {base + start + i}"
            t.close()


def on_goroutines(n):
    # Tasks that run on goroutines of their own, waited for with gogoroutines.wait.
    for start in range(0, n, BATCH):
        tasks = [rt.go("sleep", seconds=0) for _ in range(min(BATCH, n - start))]
        done, not_done = g.wait(tasks, timeout=60)
        assert not not_done and len(done) == len(tasks)
        for t in tasks:
            assert t.result() == ""
            t.close()


def mapped(n):
    # Runtime.map over a generator: batched spawn and collect.
    count = 0
    for result in rt.map("echo", ({"data": "m"} for _ in range(n))):
        assert result == "m"
        count += 1
    assert count == n


def round_(n, base):
    a, b = n * 4 // 10, n * 2 // 10
    per_task(a, base)
    on_goroutines(b)
    mapped(n - a - b)
    return n


def state():
    gc.collect()
    return {"stats": list(rt.stats())}


for base in range(0, WARM, 100_000):
    round_(min(100_000, WARM - base), base)
print("warm", json.dumps(state()), flush=True)
sys.stdin.readline()
started = time.monotonic()
spawned = 0
while spawned < TOTAL:
    spawned += round_(min(100_000, TOTAL - spawned), spawned)
    print("round", flush=True)
elapsed = time.monotonic() - started
# Goroutines of finished tasks end just after their task is settled: give them a moment.
for _ in range(200):
    if rt.stats().goroutines <= 2:
        break
    time.sleep(0.01)
print("done", json.dumps({"spawned": spawned, "elapsed": elapsed, **state()}), flush=True)
sys.stdin.readline()
rt.close()
"""


def test_a_million_tasks_in_bounded_memory(child):
    total, warm = 1_000_000, 300_000
    run = soak(child, TASKS_SOAK, str(total), str(warm))
    done = run["done"]
    report(
        "tasks soak",
        tasks=done["spawned"],
        warm_up_tasks=warm,
        seconds=round(done["elapsed"], 2),
        stats_after=done["stats"],
        **rss_figures(run),
    )
    assert done["spawned"] == total
    assert len(run["round_peaks"]) == 10
    assert run["samples"] >= 20, "too few RSS samples to judge"
    growth = run["growth"]
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MB:.1f} MB after warm-up"
    total_, active, queued, completed, failed, cancelled, goroutines = done["stats"]
    assert (total_, active, queued, completed, failed, cancelled) == (0, 0, 0, 0, 0, 0)
    assert goroutines <= 2, f"{goroutines} goroutines left"


# ---- channels -------------------------------------------------------------------------------

CHANNEL_SOAK = """
import gc, json, sys, threading, time
import gogoroutines as g

TOTAL, WARM = int(sys.argv[1]), int(sys.argv[2])
rt = g.Runtime()


def pairs(n):
    # Unbuffered: every send waits for its receive, across two threads.
    ch = rt.channel(0)
    def sender():
        for i in range(n):
            ch.send(f"item {i}" if i % 2 else f"item {i}".encode())
    thread = threading.Thread(target=sender)
    thread.start()
    for i in range(n):
        assert ch.recv(60) == (f"item {i}" if i % 2 else f"item {i}".encode())
    thread.join(60)
    assert not thread.is_alive()
    ch.close()
    # Short-lived buffered channels: each one's Go-side handle must go too.
    for _ in range(n // 100):
        short = rt.channel(1)
        short.send("x")
        assert short.recv(0) == "x"
        short.close()


def state():
    gc.collect()
    return {"stats": list(rt.stats())}


pairs(WARM)
print("warm", json.dumps(state()), flush=True)
sys.stdin.readline()
started = time.monotonic()
for _ in range(10):
    pairs(TOTAL // 10)
    print("round", flush=True)
elapsed = time.monotonic() - started
for _ in range(200):
    if rt.stats().goroutines <= 2:
        break
    time.sleep(0.01)
print("done", json.dumps({"pairs": TOTAL, "elapsed": elapsed, **state()}), flush=True)
sys.stdin.readline()
rt.close()
"""


@pytest.mark.skipif(not hasattr(Runtime, "channel"), reason="channels not implemented yet")
def test_100k_channel_send_recv_pairs_in_bounded_memory(child):
    total, warm = 100_000, 20_000
    run = soak(child, CHANNEL_SOAK, str(total), str(warm))
    done = run["done"]
    report(
        "channel soak",
        pairs=total,
        warm_up_pairs=warm,
        seconds=round(done["elapsed"], 2),
        stats_after=done["stats"],
        **rss_figures(run),
    )
    growth = run["growth"]
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MB:.1f} MB after warm-up"
    assert done["stats"][:6] == [0, 0, 0, 0, 0, 0]
    assert done["stats"][6] <= 2, f"{done['stats'][6]} goroutines left"


# ---- 16 threads on one runtime -------------------------------------------------------------

THREADS_STRESS = """
import json, random, sys, threading, time
import gogoroutines as g
from gogoroutines import InvalidArgument, TaskCancelled, TaskFailed, TaskNotFound, WaitTimeout

THREADS, OPS = int(sys.argv[1]), int(sys.argv[2])
LIMIT = int(sys.argv[3]) or None
sys.setswitchinterval(1e-5)  # switch threads often: more interleavings per operation
rt = g.Runtime(max_concurrency=LIMIT)
shared, shared_lock = [], threading.Lock()
errors, bad_stats, stats_seen, ops_done = [], [], [0], [0]
EXPECTED = (WaitTimeout, TaskCancelled, TaskNotFound, TaskFailed)


def spawn(rng):
    r = rng.random()
    if r < 0.5:
        return rt.go("echo", data="x" * rng.randrange(0, 300))
    if r < 0.7:
        return rt.go("delayed", delay_ms=rng.randrange(0, 3))
    if r < 0.85:
        return rt.go("sleep", seconds=rng.choice([0, 0.001, 60]), timeout=rng.choice([None, 0.002]))
    return rt.go("sleep", seconds=60)


def check_stats():
    s = rt.stats()
    stats_seen[0] += 1
    if s.total != s.active + s.completed + s.failed + s.cancelled or not 0 <= s.queued <= s.active:
        bad_stats.append(list(s))


def worker(index):
    rng = random.Random(index)
    mine = []
    done = 0
    try:
        for _ in range(OPS):
            done += 1
            op = rng.choice(("go", "go", "wait", "result", "cancel", "close", "stats", "other"))
            if op == "go" or not mine:
                if len(mine) >= 64:
                    mine.pop(0).close()
                task = spawn(rng)
                mine.append(task)
                if rng.random() < 0.1:
                    with shared_lock:
                        shared.append(task)
                        if len(shared) > 256:
                            shared.pop(0)
                continue
            task = rng.choice(mine)
            try:
                if op == "wait":
                    task.wait(rng.choice([0, 0.001]))
                elif op == "result":
                    read = task.result if rng.random() < 0.5 else task.result_bytes
                    read(rng.choice([0, 0.001]))
                elif op == "cancel":
                    task.cancel()
                elif op == "close":
                    task.close()
                    mine.remove(task)
                elif op == "stats":
                    check_stats()
                else:  # a task another thread spawned, and may be closing right now
                    with shared_lock:
                        other = rng.choice(shared) if shared else None
                    if other is not None:
                        what = rng.choice(("cancel", "close", "wait", "result", "status", "stats"))
                        if what == "cancel":
                            other.cancel()
                        elif what == "close":
                            other.close()
                        elif what == "wait":
                            other.wait(0)
                        elif what == "result":
                            other.result(0)
                        elif what == "status":
                            other.status
                        else:
                            check_stats()
            except EXPECTED:
                pass
        for task in mine:
            task.close()
    except BaseException as err:
        errors.append(f"thread {index}: {type(err).__name__}: {err}")
    finally:
        with shared_lock:
            ops_done[0] += done


started = time.monotonic()
threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
for t in threads:
    t.start()
deadline = time.monotonic() + float(sys.argv[4])
for t in threads:
    t.join(max(deadline - time.monotonic(), 0))
hung = sum(t.is_alive() for t in threads)
elapsed = time.monotonic() - started
if not hung:
    with shared_lock:
        for task in shared:
            task.close()
check_stats()
s = rt.stats()
summary = {"elapsed": elapsed, "hung": hung, "errors": errors[:10], "bad_stats": bad_stats[:10]}
summary.update(stats_calls=stats_seen[0], ops=ops_done[0], final=list(s))
print(json.dumps(summary), flush=True)
sys.stdout.flush()
import os
os._exit(0)  # a hung thread must not keep the process alive: the report is out
"""


def run_threads(child, threads: int, ops: int, limit: int) -> dict:
    c = child(THREADS_STRESS, str(threads), str(ops), str(limit), str(THREADS_GUARD - 30))
    line = c.read_line(c.started + THREADS_GUARD)
    c.finish()
    return json.loads(line)


@pytest.mark.parametrize("limit", [0, 4], ids=["unlimited", "max_concurrency=4"])
def test_16_threads_share_one_runtime(child, limit):
    threads, ops = 16, 20_000
    out = run_threads(child, threads, ops, limit)
    report(
        f"threads stress ({'unlimited' if not limit else f'max_concurrency={limit}'})",
        threads=threads,
        ops_per_thread=ops,
        ops=out["ops"],
        seconds=round(out["elapsed"], 2),
        stats_calls=out["stats_calls"],
        final=out["final"],
    )
    assert out["hung"] == 0, "a thread deadlocked (hang guard)"
    assert out["errors"] == []
    assert out["bad_stats"] == [], "total != active + completed + failed + cancelled"
    assert out["ops"] == threads * ops
    assert out["stats_calls"] > threads * ops // 16
    assert out["final"][:6] == [0, 0, 0, 0, 0, 0]
