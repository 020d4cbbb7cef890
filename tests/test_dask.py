"""gogoroutines.dask.map on a local Dask cluster of two worker processes.

One cluster serves the whole module (starting one takes a second or more); the
tests that need another configuration (a worker forked after Go started) run a
child interpreter of their own.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gogoroutines as g
from conftest import LocalHTTPServer, Tracked, _TestHandler, child_env
from gogoroutines import errors

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

import gogoroutines.dask as gd  # noqa: E402  (after the skip: needs distributed for the tests)

HANG_GUARD = 60.0
WORKERS = 2


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # 'spawn' is Dask's default; named here because this process has started Go (other
    # tests did), so workers forked from it could not use gogoroutines.
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}),
        distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
    ):
        yield local


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as c:
        c.wait_for_workers(WORKERS, timeout=HANG_GUARD)
        yield c
        assert no_futures_left(c), [k for k in c.futures if str(k).startswith("gogoroutines")]


class _NoDelayHandler(_TestHandler):
    # Headers and body leave in one segment: no 40 ms wait for a delayed ACK (Nagle).
    disable_nagle_algorithm = True


class FanOutServer(LocalHTTPServer):
    """conftest's local server, for 128 connections opened at once.

    Its listen backlog is 1024 rather than socketserver's 5: with 5, most SYNs of a
    fan-out's first connections are dropped and retried for up to two minutes.
    """

    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _NoDelayHandler


@pytest.fixture(scope="module")
def fanout_server() -> Iterator[LocalHTTPServer]:
    server = FanOutServer()
    server.start()
    yield server
    server.stop()


def echo_items(n: int) -> Iterator[dict[str, Any]]:
    return ({"data": str(i)} for i in range(n))


def http_items(server: Any, n: int) -> Iterator[dict[str, Any]]:
    return ({"url": server.url(f"/echo/{i}")} for i in range(n))


def echoed_path(body: str) -> str:
    """The request path that the server's /echo route reports."""
    return str(json.loads(body)["path"])


def no_futures_left(client: Any, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not [k for k in client.futures if str(k).startswith("gogoroutines-map-")]:
            return True
        time.sleep(0.05)
    return False


# ---- import and installation ------------------------------------------------------------


def test_import_gogoroutines_imports_no_dask(run_script):
    proc = run_script(
        """
        import sys
        import gogoroutines
        print("dask" in sys.modules, "distributed" in sys.modules)
        import gogoroutines.dask
        print("dask" in sys.modules, "distributed" in sys.modules)
        print(gogoroutines._loader.is_loaded())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False False", "False False", "False"]


def test_without_distributed_map_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "gogoroutines\[dask\]"'):
        gd.map(None, "echo", [])


# ---- results, order, errors --------------------------------------------------------------


def test_20000_http_tasks_every_result_once_in_input_order(client, fanout_server):
    n = 20_000
    results = list(gd.map(client, "http", http_items(fanout_server, n), concurrency=64))
    assert [echoed_path(body) for body in results] == [f"/echo/{i}" for i in range(n)]


def test_one_runtime_per_worker_process_and_none_in_the_client(client):
    assert list(gd.map(client, "echo", echo_items(4000))) == [str(i) for i in range(4000)]
    runtimes = client.run(lambda: (gd._runtime is not None, id(gd.worker_runtime())))
    assert len(runtimes) == WORKERS
    assert all(made for made, _ in runtimes.values())
    again = client.run(lambda: (True, id(gd.worker_runtime())))
    assert again == runtimes  # the same runtime, batch after batch
    assert gd._runtime is None


def test_unordered_yields_every_result_once(client):
    n = 20_000
    results = list(gd.map(client, "echo", echo_items(n), batch_size=500, ordered=False))
    counts = collections.Counter(results)
    assert len(results) == n
    assert set(counts) == {str(i) for i in range(n)}
    assert max(counts.values()) == 1


def test_client_memory_bounded_on_a_long_generator(client):
    n, batch_size = 200_000, 1000
    source = Tracked(echo_items(n))
    for i, result in enumerate(gd.map(client, "echo", source, batch_size=batch_size)):
        assert result == str(i)
        source.yielded += 1
    assert source.yielded == n
    # Two batches per worker thread are submitted and not yet yielded, plus the batch
    # being yielded.
    assert source.ahead <= (2 * WORKERS + 1) * batch_size


def test_in_flight_bounds_the_batches_outstanding(client):
    source = Tracked(echo_items(20_000))
    out = gd.map(client, "echo", source, batch_size=100, in_flight=3, ordered=False)
    for _ in out:
        source.yielded += 1
    assert source.yielded == 20_000
    assert source.ahead <= 4 * 100


def test_progress_counts_finished_batches(client):
    seen: list[tuple[int, int | None]] = []
    items = [{"data": f"x{i}"} for i in range(2500)]
    out = gd.map(client, "echo", items, batch_size=1000, progress=lambda *a: seen.append(a))
    assert list(out) == [f"x{i}" for i in range(2500)]
    assert len(seen) == 3
    assert seen[-1] == (2500, 2500)
    assert [total for _, total in seen] == [2500] * 3
    seen.clear()
    out = gd.map(
        client, "echo", echo_items(250), batch_size=100, progress=lambda *a: seen.append(a)
    )
    assert len(list(out)) == 250
    assert seen[-1] == (250, None)


def test_empty_input(client):
    assert list(gd.map(client, "echo", [])) == []
    assert list(gd.map(client, "echo", iter([]), ordered=False)) == []


def test_failed_items_come_back_as_gogoroutines_exceptions(client, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("content")
    items = [{"path": str(good)}, {"path": str(tmp_path / "missing")}, {"path": str(good)}]
    out = list(gd.map(client, "read_file", items, return_exceptions=True))
    assert out[0] == out[2] == "content"
    assert type(out[1]) is g.TaskFailed
    assert "no such file or directory" in out[1].go_error
    with pytest.raises(g.TaskFailed, match="no such file or directory"):
        list(gd.map(client, "read_file", items))


def slow_sleeps(n: int, bad_at: int = -1, fast: int = 0) -> Iterator[dict[str, Any]]:
    """Sleep items of 20 ms (0 for the first `fast`): 1000 run one at a time take 20 s."""
    return ({"seconds": "bad" if i == bad_at else 0 if i < fast else 0.02} for i in range(n))


def assert_workers_free(client: Any) -> None:
    """A map of one item per worker finishes soon: no worker thread is still busy.

    Without the cancellation of running batches, the workers would stay busy for
    about 20 s with the batches of slow_sleeps().
    """
    started = time.monotonic()
    assert list(gd.map(client, "echo", echo_items(4), batch_size=1)) == ["0", "1", "2", "3"]
    assert time.monotonic() - started < 10.0


def test_a_failure_cancels_the_batches_running(client):
    items = slow_sleeps(10_000, bad_at=0)
    with pytest.raises(g.InvalidArgument, match="seconds"):
        list(gd.map(client, "sleep", items, batch_size=1000, concurrency=1))
    assert no_futures_left(client)
    assert_workers_free(client)


def test_leaving_early_cancels_the_batches_running(client):
    items = slow_sleeps(100_000, fast=1000)
    out = gd.map(client, "sleep", items, batch_size=1000, concurrency=1)
    assert next(out) == ""  # the first batch is fast; the next three are running
    time.sleep(0.3)
    out.close()
    assert no_futures_left(client)
    assert_workers_free(client)


def test_leaving_early_a_fast_map(client):
    out = gd.map(client, "echo", echo_items(1_000_000), batch_size=1000)
    assert [next(out) for _ in range(10)] == [str(i) for i in range(10)]
    out.close()
    assert no_futures_left(client)


def test_unknown_kind_and_bad_items(client):
    with pytest.raises(g.UnknownKind, match="no_such_kind"):
        list(gd.map(client, "no_such_kind", [{}]))
    with pytest.raises(g.InvalidArgument, match="item 3 must be a dict"):
        list(gd.map(client, "echo", [{"data": "a"}] * 3 + ["not a dict"]))  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("batch_size", 0),
        ("batch_size", None),
        ("concurrency", 0),
        ("in_flight", -1),
        ("retries", -1),
    ],
)
def test_bad_parameters(client, name, value):
    with pytest.raises(g.InvalidArgument, match=name):
        gd.map(client, "echo", [], **{name: value})


def test_errors_cross_as_plain_data():
    cases = [
        errors.TaskFailed("task 1 failed: boom", "boom", "goroutine 1 [running]:"),
        errors.TaskTimedOut("task 2 timed out"),
        errors.TaskCancelled("task 3 was cancelled"),
        errors.ResultDecodeError("the result of task 4 is not valid UTF-8"),
        errors.TaskNotFound("task 5 vanished", 5),
        errors.UnknownKind("unknown task kind 'x'"),
        errors.ForkError("forked"),
    ]
    for exc in cases:
        data = gd._error_data(exc)
        assert all(type(part) is str for part in data)
        back = gd._rebuild(pickle.loads(pickle.dumps(data)))
        assert type(back) is type(exc)
        assert str(back) == str(exc)
        assert getattr(back, "go_error", None) == getattr(exc, "go_error", None)
        assert getattr(back, "go_stack", None) == getattr(exc, "go_stack", None)
        native = pickle.loads(pickle.dumps(exc))  # they pickle as such too
        assert type(native) is type(exc)
        assert str(native) == str(exc)
    assert type(gd._rebuild(("OSError", "no", "", ""))) is g.GoError


# ---- workers that die --------------------------------------------------------------------


def kill_a_busy_worker(client: Any, killed: list[int]) -> None:
    """SIGKILL a worker process while the scheduler has a batch on it."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if keys and w in pids]
        if busy:
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)
            return
        time.sleep(0.01)


@pytest.mark.parametrize("rescheduled_by", ["dask", "map"])
def test_a_worker_killed_mid_run_loses_and_repeats_nothing(
    client, cluster, fanout_server, monkeypatch, rescheduled_by
):
    n, batch_size = 10_000, 500
    submitted: list[str] = []
    submit = client.submit

    def counting_submit(*args: Any, **kwargs: Any) -> Any:
        submitted.append(kwargs["key"])
        return submit(*args, **kwargs)

    monkeypatch.setattr(client, "submit", counting_submit)
    if rescheduled_by == "map":
        # The scheduler gives up on a batch at the first death (KilledWorker):
        # map must submit it again itself.
        monkeypatch.setattr(cluster.scheduler, "allowed_failures", 0)
    killed: list[int] = []
    killer = threading.Thread(target=kill_a_busy_worker, args=(client, killed))
    results = []
    # A low concurrency keeps each batch running long enough (tens of ms) that
    # the worker killed is still working on one: the kill must cost a batch.
    out = gd.map(client, "http", http_items(fanout_server, n), batch_size=batch_size, concurrency=4)
    for body in out:
        results.append(echoed_path(body))
        if len(results) == batch_size:
            killer.start()
    killer.join(HANG_GUARD)
    assert killed, "no worker was killed"
    assert results == [f"/echo/{i}" for i in range(n)]
    if rescheduled_by == "map":
        assert len(submitted) > n // batch_size, "no batch was submitted again"
    client.wait_for_workers(WORKERS, timeout=HANG_GUARD)  # the nanny restarts the worker
    assert killed[0] not in client.run(os.getpid).values()


def test_retries_zero_raises_killed_worker(client, cluster, monkeypatch):
    monkeypatch.setattr(cluster.scheduler, "allowed_failures", 0)
    killed: list[int] = []
    items = ({"seconds": 0.05} for _ in range(400))
    with pytest.raises(distributed.KilledWorker):  # noqa: PT012
        for i, _ in enumerate(gd.map(client, "sleep", items, batch_size=20, retries=0)):
            if i == 0:
                kill_a_busy_worker(client, killed)
    assert killed
    client.wait_for_workers(WORKERS, timeout=HANG_GUARD)


# ---- processes: the client never starts Go; a forked worker explains the fix ------------

FORKED_WORKERS = """
import sys
import dask
import distributed
import gogoroutines
import gogoroutines.dask as gd

def cluster():
    return distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )

if __name__ == "__main__":
    with cluster() as local, distributed.Client(local) as client:
        out = list(gd.map(client, "echo", ({"data": str(i)} for i in range(3000))))
        print(out == [str(i) for i in range(3000)], gogoroutines._loader.is_loaded(), flush=True)

    rt = gogoroutines.Runtime()  # Go starts in this process, then workers are forked from it
    assert rt.go("echo", data="x").result() == "x"
    dask.config.set({"distributed.worker.multiprocessing-method": "fork"})
    with cluster() as local, distributed.Client(local) as client:
        try:
            list(gd.map(client, "echo", [{"data": "a"}]))
        except gogoroutines.ForkError as err:
            print("ForkError", flush=True)
            print(err, flush=True)
"""


def test_client_never_starts_go_and_forked_workers_get_the_fix(run_script):
    proc = run_script(FORKED_WORKERS, timeout=HANG_GUARD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["True False", "ForkError"], proc.stdout + proc.stderr
    message = lines[2]
    assert "'distributed.worker.multiprocessing-method': 'spawn'" in message
    assert "fork" in message


def test_the_example_runs(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "dask_fanout.py"
    proc = subprocess.run(
        [sys.executable, str(example), "--urls", "1000", "--files", "20"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        cwd=tmp_path,
        env=child_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fetched 1000 URLs and hashed 20 files on 2 Dask workers" in proc.stdout
    assert "Go started in this process: False" in proc.stdout
