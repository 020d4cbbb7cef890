"""Runtime.map: lazy input, bounded concurrency, order, cancellation, timeouts, progress."""

from __future__ import annotations

import http.server
import itertools
import select
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

import gogoroutines as g
from conftest import Tracked
from gogoroutines import (
    InvalidArgument,
    ResultDecodeError,
    Runtime,
    TaskFailed,
    UnknownKind,
    WaitTimeout,
)

HANG_GUARD = 30.0


def wait_until_idle(rt: Runtime, within: float = 10.0) -> g.Stats:
    """Poll rt.stats() until nothing is active (a cancel takes a moment to land)."""
    deadline = time.monotonic() + within
    stats = rt.stats()
    while stats.active and time.monotonic() < deadline:
        time.sleep(0.01)
        stats = rt.stats()
    return stats


def assert_nothing_left(rt: Runtime) -> None:
    stats = wait_until_idle(rt)
    assert stats.active == 0, stats
    assert stats.total == 0, stats


def bound(concurrency: int) -> int:
    """The documented read-ahead bound: those running, and up to max(concurrency, 256) more."""
    return concurrency + max(concurrency, 256)


def echoes(n: int) -> Iterator[dict[str, Any]]:
    return ({"data": str(i)} for i in range(n))


# ---- results and order ----------------------------------------------------------------


def test_map_yields_the_results_in_input_order(rt):
    assert list(rt.map("echo", [{"data": str(i)} for i in range(5000)])) == [
        str(i) for i in range(5000)
    ]


def test_map_of_nothing_yields_nothing(rt):
    assert list(rt.map("echo", [])) == []
    assert list(rt.map("echo", iter(()))) == []


def test_map_takes_any_mapping_as_an_item(rt):
    items = [types.MappingProxyType({"data": "a"}), {"data": "b"}]
    assert list(rt.map("echo", items)) == ["a", "b"]


ECHO_DATA = ["", "plain", "ünïcødé ✓", "with\x00nul", "x" * 20_000, b"bytes", b""]
HASH_ITEMS = [
    {"data": ""},
    {"data": "abc"},
    {"data": b"\x00\xff" * 1000},
    {"data": "abc", "algorithm": "md5"},
    {"data": "abc", "algorithm": "sha1"},
    {"data": "ünï", "algorithm": "sha512"},
]


@pytest.mark.parametrize(
    ("kind", "items"),
    [
        pytest.param("echo", [{"data": d} for d in ECHO_DATA], id="echo"),
        pytest.param("hash", HASH_ITEMS, id="hash"),
    ],
)
@pytest.mark.parametrize("ordered", [True, False])
def test_map_results_equal_those_of_go(rt, kind, items, ordered):
    expected = [rt.go(kind, **item).result(HANG_GUARD) for item in items]
    got = list(rt.map(kind, items, ordered=ordered, concurrency=2))
    if ordered:
        assert got == expected
    else:
        assert sorted(got) == sorted(expected)


# Results ready together that do not fit the 64 KiB buffer of one take of outcomes (a take
# stops when it is full; map must take the rest). The map's own timeout is the hang guard:
# each map takes milliseconds.
@pytest.mark.parametrize(
    ("items", "concurrency"),
    [
        pytest.param([{"data": "x" * 100_000}, {"data": "a"}], 2, id="a-large-result-first"),
        pytest.param([{"data": "x" * 1000}] * 200, 100, id="many-1kB-results"),
    ],
)
def test_map_of_results_larger_than_64k_together(rt, items, concurrency):
    got = list(rt.map("echo", items, concurrency=concurrency, timeout=4))
    assert got == [item["data"] for item in items]


def test_map_of_one_large_result_at_a_time(rt):
    items = [{"data": str(i) * 100_000} for i in range(3)]
    assert list(rt.map("echo", items, concurrency=1, timeout=HANG_GUARD)) == [
        item["data"] for item in items
    ]


def test_a_result_that_is_not_utf8_is_a_result_decode_error_as_with_go(rt):
    with pytest.raises(ResultDecodeError):
        rt.go("echo", data=b"\xff").result(HANG_GUARD)
    with pytest.raises(ResultDecodeError):
        list(rt.map("echo", [{"data": b"\xff"}]))
    got = list(rt.map("echo", [{"data": "a"}, {"data": b"\xff"}], return_exceptions=True))
    assert got[0] == "a"
    assert isinstance(got[1], ResultDecodeError)


def test_unordered_map_yields_in_completion_order(rt, http_server):
    # Decreasing durations: the last item finishes first. 300 ms apart, well above the
    # scheduling noise of a loaded machine.
    delays = [900, 600, 300, 0]
    items = [{"url": http_server.url(f"/slow/{ms}")} for ms in delays]
    got = list(rt.map("http", items, ordered=False, timeout=HANG_GUARD))
    assert got == [f"slow {ms}" for ms in reversed(delays)]


def test_ordered_map_waits_for_the_earlier_items(rt, http_server):
    delays = [600, 300, 0]
    items = [{"url": http_server.url(f"/slow/{ms}")} for ms in delays]
    got = list(rt.map("http", items, timeout=HANG_GUARD))
    assert got == [f"slow {ms}" for ms in delays]


def test_results_of_a_map_are_released(rt):
    assert len(list(rt.map("echo", echoes(3000), concurrency=100))) == 3000
    assert_nothing_left(rt)


# ---- lazy input and bounded memory ------------------------------------------------------


def test_map_reads_nothing_before_iteration(rt):
    source = Tracked(echoes(10))
    results = rt.map("echo", source, concurrency=4)
    assert source.pulled == 0
    assert rt.stats().total == 0
    assert next(results) == "0"
    assert 1 <= source.pulled <= bound(4)
    results.close()
    assert_nothing_left(rt)


@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("concurrency", [1, 7, 64])
def test_map_pulls_a_bounded_number_of_items_ahead(rt, ordered, concurrency):
    source = Tracked(echoes(5000))
    count = 0
    for _ in rt.map("echo", source, concurrency=concurrency, ordered=ordered):
        count += 1
        source.yielded += 1
    assert count == source.pulled == 5000
    assert 1 <= source.ahead <= bound(concurrency)


def test_the_bound_holds_when_a_slow_first_item_holds_back_ordered_results(rt):
    # Item 0 sleeps; the rest finish at once and wait for it, counted in the bound.
    source = Tracked(itertools.chain([{"seconds": 0.3}], ({"seconds": 0} for _ in range(500))))
    for _ in rt.map("sleep", source, concurrency=10):
        source.yielded += 1
    assert source.pulled == source.yielded == 501
    assert source.ahead <= bound(10)


def test_runtime_max_concurrency_is_the_default_concurrency():
    with Runtime(max_concurrency=5) as limited:
        source = Tracked(echoes(300))
        for _ in limited.map("echo", source):
            source.yielded += 1
        assert source.yielded == 300
        assert 1 <= source.ahead <= bound(5)


def test_default_concurrency_without_a_limit_is_bounded(rt):
    source = Tracked(echoes(5000))
    for _ in rt.map("echo", source):
        source.yielded += 1
    assert source.yielded == 5000
    assert source.ahead <= bound(1024)


def test_map_of_an_endless_generator_can_be_left(rt):
    source = Tracked(echoes(10**12))  # as good as endless
    for i, result in enumerate(rt.map("echo", source, concurrency=50)):
        assert result == str(i)
        if i == 4999:
            break
    assert source.pulled <= 5000 + bound(50)
    assert_nothing_left(rt)


def test_map_of_two_million_items_runs_in_bounded_memory(run_script):
    # A subprocess, so that the peak RSS is the map's alone.
    proc = run_script(
        """
        import gogoroutines as g

        rt = g.Runtime()
        n = 0
        for result in rt.map("echo", ({"data": "x" * 16} for _ in range(2_000_000))):
            n += 1
        assert result == "x" * 16
        # VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts from the
        # parent's peak (here pytest's), not from this process's own.
        with open("/proc/self/status") as status:
            hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        print(n, hwm // 1024)  # KiB -> MiB
        """,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count, peak_mib = map(int, proc.stdout.split())
    assert count == 2_000_000
    assert peak_mib < 300, f"peak RSS {peak_mib} MiB"


# ---- concurrency observed from the server --------------------------------------------------


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        time.sleep(0.05)
        with server.lock:
            server.in_flight -= 1
            server.requests += 1
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CountingServer(http.server.ThreadingHTTPServer):
    """Counts the requests in flight (each takes ~50 ms) and records the most at once."""

    daemon_threads = True
    request_queue_size = 256  # no dropped SYNs (and 1 s retransmits) under a burst

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(HANG_GUARD)
    server.server_close()


def test_concurrency_bounds_the_requests_in_flight(rt, counting_server):
    items = ({"url": counting_server.url(f"/{i}")} for i in range(300))
    got = list(rt.map("http", items, concurrency=32, timeout=HANG_GUARD * 2))
    assert got == [f"/{i}" for i in range(300)]
    assert counting_server.requests == 300
    assert 1 < counting_server.max_in_flight <= 32


def test_runtime_max_concurrency_bounds_the_requests_in_flight(counting_server):
    with Runtime(max_concurrency=6) as limited:
        items = [{"url": counting_server.url(f"/{i}")} for i in range(60)]
        got = list(limited.map("http", items, ordered=False, timeout=HANG_GUARD * 2))
    assert sorted(got) == sorted(f"/{i}" for i in range(60))
    assert 1 < counting_server.max_in_flight <= 6


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "8"])
def test_bad_concurrency_is_rejected_at_once(rt, bad):
    with pytest.raises(InvalidArgument, match="concurrency"):
        rt.map("echo", [{"data": "x"}], concurrency=bad)


# ---- leaving early cancels ---------------------------------------------------------------

SLOW = {"seconds": 60}


def test_break_cancels_what_still_runs(rt):
    items = [{"seconds": 0}] + [SLOW] * 20
    started = time.monotonic()
    for result in rt.map("sleep", items, concurrency=8):
        assert result == ""
        break
    assert_nothing_left(rt)
    assert time.monotonic() - started < HANG_GUARD


def test_an_exception_in_the_loop_cancels_what_still_runs(rt):
    items = [{"seconds": 0}] + [SLOW] * 20
    with pytest.raises(ZeroDivisionError):  # noqa: PT012
        for _ in rt.map("sleep", items, concurrency=8):
            1 / 0  # noqa: B018
    assert_nothing_left(rt)


def test_keyboard_interrupt_in_the_loop_cancels_what_still_runs(rt):
    items = [{"seconds": 0}] + [SLOW] * 20
    with pytest.raises(KeyboardInterrupt):  # noqa: PT012
        for _ in rt.map("sleep", items, concurrency=8, ordered=False):
            raise KeyboardInterrupt
    assert_nothing_left(rt)


def test_closing_the_iterator_cancels_what_still_runs(rt):
    results = rt.map("sleep", [{"seconds": 0}] + [SLOW] * 5)
    assert next(results) == ""
    assert rt.stats().active == 5
    results.close()
    assert_nothing_left(rt)


def test_closing_the_runtime_during_a_map_raises_runtime_closed():
    rt = Runtime()
    closer = threading.Timer(0.2, rt.close)
    closer.start()
    try:
        with pytest.raises(g.RuntimeClosed):
            list(rt.map("sleep", [SLOW] * 5, timeout=HANG_GUARD))
    finally:
        closer.join(HANG_GUARD)
        rt.close()


def test_a_failure_raises_and_cancels_the_rest(rt):
    items = [{"argv": ["true"]}, {"argv": ["false"]}] + [{"argv": ["sleep", "60"]}] * 6
    got = []
    started = time.monotonic()
    with pytest.raises(TaskFailed, match="exited with code 1"):
        got.extend(rt.map("exec", items))
    assert got == [""]  # what came before the failure
    assert time.monotonic() - started < HANG_GUARD
    assert_nothing_left(rt)


def test_unordered_failure_raises_at_once_and_cancels_the_rest(rt):
    items = [{"argv": ["sleep", "60"]}] * 6 + [{"argv": ["false"]}]
    with pytest.raises(TaskFailed):
        list(rt.map("exec", items, ordered=False))
    assert_nothing_left(rt)


def test_ordered_map_raises_the_first_failure_in_iteration_order(rt, http_server):
    # Item 0 fails last, item 1 first: iteration order decides which is raised.
    items = [
        {"url": http_server.url("/slow/400"), "max_bytes": 1},
        {"url": http_server.url("/status/404")},
    ]
    with pytest.raises(TaskFailed) as info:
        list(rt.map("http", items, timeout=HANG_GUARD))
    assert "404" not in str(info.value)
    assert "max_bytes" in str(info.value) or "larger" in str(info.value)


def test_return_exceptions_yields_the_failures_in_place(rt):
    items = [
        {"argv": ["echo", "one"]},
        {"argv": ["false"]},
        {"argv": ["sh", "-c", "exit 3"]},
        {"argv": ["echo", "four"]},
    ]
    got = list(rt.map("exec", items, return_exceptions=True))
    assert got[0] == "one\n"
    assert got[3] == "four\n"
    assert [type(r) for r in got[1:3]] == [TaskFailed, TaskFailed]
    assert "code 1" in str(got[1])
    assert "code 3" in str(got[2])
    assert all(isinstance(r, g.GoError) for r in got[1:3])
    assert_nothing_left(rt)


def test_return_exceptions_unordered(rt):
    items = [{"argv": ["false"]}] * 3 + [{"argv": ["true"]}] * 3
    got = list(rt.map("exec", items, return_exceptions=True, ordered=False))
    assert len(got) == 6
    assert sum(isinstance(r, TaskFailed) for r in got) == 3
    assert got.count("") == 3


# ---- timeout -----------------------------------------------------------------------------


def test_timeout_raises_wait_timeout_and_cancels_the_rest(rt):
    got = []
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        got.extend(rt.map("sleep", [{"seconds": 0}] * 2 + [SLOW] * 4, timeout=0.3))
    assert isinstance(info.value, TimeoutError)
    assert got == ["", ""]
    assert time.monotonic() - started < HANG_GUARD
    assert_nothing_left(rt)


def test_timeout_counts_for_the_whole_map_not_each_item(rt, http_server):
    # Each item takes ~0.3 s, one at a time: 4 items exceed a 0.8 s timeout for the whole.
    items = [{"url": http_server.url("/slow/300")}] * 4
    got = []
    with pytest.raises(WaitTimeout):
        got.extend(rt.map("http", items, concurrency=1, timeout=0.8))
    assert len(got) < 4
    assert_nothing_left(rt)


def test_a_map_within_its_timeout_completes(rt):
    assert list(rt.map("echo", echoes(100), timeout=HANG_GUARD)) == [str(i) for i in range(100)]


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5, None, "data", ["data", "x"], ("data",)])
def test_an_item_that_is_not_a_dict_names_its_index(rt, bad):
    items = [{"data": "x"}] * 25 + [bad]
    with pytest.raises(InvalidArgument, match=r"\bitem 25\b"):
        list(rt.map("echo", items, concurrency=10))
    assert_nothing_left(rt)


def test_a_bad_argument_names_the_item_and_the_argument(rt):
    items = [{"data": "a"}, {"data": "b"}, {"data": 1}]
    with pytest.raises(InvalidArgument, match=r"\bitem 2\b.*'data'"):
        list(rt.map("echo", items))
    assert_nothing_left(rt)


def test_a_bad_argument_beyond_the_first_batch_names_its_input_index(rt):
    items = [{"data": "x"}] * 25 + [{"data": 1}]
    with pytest.raises(InvalidArgument, match=r"\bitem 25\b.*'data'"):
        list(rt.map("echo", items, concurrency=10))


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({}, ["'data'", "required"]),
        ({"data": "x", "extra": 1}, ["'extra'"]),
        ({"data": "x", "timeout": 1}, ["'timeout'"]),
    ],
)
def test_missing_and_unknown_arguments_are_named(rt, item, words):
    with pytest.raises(InvalidArgument) as info:
        list(rt.map("echo", [item]))
    assert "item 0" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_unknown_kind(rt):
    with pytest.raises(UnknownKind, match="no-such-kind"):
        list(rt.map("no-such-kind", [{"data": "x"}]))


# ---- exec through map, as through go ------------------------------------------------------


def test_map_exec_merges_env_over_os_environ_as_go_does(rt):
    item = {"argv": ["sh", "-c", "echo $GOGO_MAP_VAR"], "env": {"GOGO_MAP_VAR": "set"}}
    assert rt.go("exec", **item).result(HANG_GUARD) == "set\n"
    assert list(rt.map("exec", [item])) == ["set\n"]
    assert item == {"argv": ["sh", "-c", "echo $GOGO_MAP_VAR"], "env": {"GOGO_MAP_VAR": "set"}}


def test_map_exec_sees_os_environ_as_go_does(rt, monkeypatch):
    rt.go("echo", data="start Go first").result(HANG_GUARD)
    monkeypatch.setenv("GOGO_MAP_LATE_VAR", "late")
    item = {"argv": ["sh", "-c", "echo $GOGO_MAP_LATE_VAR"]}
    assert rt.go("exec", **item).result(HANG_GUARD) == "late\n"
    assert list(rt.map("exec", [item])) == ["late\n"]


# ---- progress ----------------------------------------------------------------------------


def test_progress_callable_gets_done_and_total_for_a_list(rt):
    calls: list[tuple[int, int | None]] = []
    items = list(echoes(500))
    assert len(list(rt.map("echo", items, concurrency=16, progress=lambda *a: calls.append(a))))
    assert calls
    assert calls[-1] == (500, 500)
    assert all(total == 500 for _, total in calls)
    dones = [done for done, _ in calls]
    assert dones == sorted(set(dones))  # strictly increasing
    assert dones[0] >= 1


def test_progress_callable_total_is_none_for_a_generator(rt):
    calls: list[tuple[int, int | None]] = []
    list(rt.map("echo", echoes(300), concurrency=16, progress=lambda *a: calls.append(a)))
    assert calls[-1] == (300, None)
    assert {total for _, total in calls} == {None}


def test_progress_callable_counts_failures_too(rt):
    calls: list[tuple[int, int | None]] = []
    items = [{"argv": ["false"]}, {"argv": ["true"]}]
    list(rt.map("exec", items, return_exceptions=True, progress=lambda *a: calls.append(a)))
    assert calls[-1] == (2, 2)


def test_progress_true_shows_a_tqdm_bar(rt, capsys):
    pytest.importorskip("tqdm")
    assert len(list(rt.map("echo", list(echoes(200)), progress=True))) == 200
    err = capsys.readouterr().err
    assert "200/200" in err
    assert "100%" in err


def test_progress_without_tqdm_is_a_counter_on_stderr(rt, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    assert len(list(rt.map("echo", list(echoes(200)), progress=True))) == 200
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n")
    assert "\n" not in err[:-1]  # one line, redrawn with \r
    assert err.rstrip("\n").split("\r")[-1] == "200/200 done"


def test_progress_without_tqdm_ends_on_the_final_count_for_a_generator(rt, capsys, monkeypatch):
    import gogoroutines.mapping as mapping

    monkeypatch.setitem(sys.modules, "tqdm", None)
    # A map that finishes within one 0.1 s refresh interval (made certain with a still clock).
    monkeypatch.setattr(mapping, "time", types.SimpleNamespace(monotonic=lambda: 1000.0))
    assert len(list(rt.map("echo", echoes(200), concurrency=10, progress=True))) == 200
    err = capsys.readouterr().err
    assert err.rstrip("\n").split("\r")[-1] == "200 done"


def test_progress_false_writes_nothing(rt, capfd):
    list(rt.map("echo", list(echoes(50))))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# ---- Ctrl-C ------------------------------------------------------------------------------

CTRL_C = """
import signal, time
import gogoroutines as g

signal.signal(signal.SIGINT, signal.default_int_handler)

rt = g.Runtime()
items = [{"seconds": 0}] * 3 + [{"seconds": 60}] * 20
got = 0
try:
    for result in rt.map("sleep", items, concurrency=8):
        got += 1
        if got == 1:
            print("waiting", flush=True)  # inside the try: a Ctrl-C from here on is caught
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
deadline = time.monotonic() + 10
while rt.stats().active and time.monotonic() < deadline:
    time.sleep(0.01)
stats = rt.stats()
print(got, stats.active, stats.total, flush=True)
"""


def read_line(proc, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def test_ctrl_c_interrupts_a_map_and_leaves_nothing_running(start_script):
    proc = start_script(CTRL_C)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.3)  # let the child block on the 60 s items
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)  # a hang guard: 60 s if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    lines = out.splitlines()
    assert lines[0] == "KeyboardInterrupt caught", out + err
    got, active, total = map(int, lines[1].split())
    assert 1 <= got <= 3
    assert (active, total) == (0, 0)
    assert err == ""


def test_default_concurrency_of_a_runtime_above_the_lane_limit_is_capped():
    # A runtime may allow more at once than one map runs (2**20): map's default
    # is then the lane's limit, not an error.
    with Runtime(max_concurrency=2**21) as rt:
        assert list(rt.map("echo", [{"data": str(i)} for i in range(10)])) == [
            str(i) for i in range(10)
        ]
        with pytest.raises(InvalidArgument, match="concurrency"):
            list(rt.map("echo", [{"data": "x"}], concurrency=2**20 + 1))
