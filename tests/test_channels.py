"""Channels: send, recv, close, iteration, select, Ctrl-C, and tasks streaming into them."""

from __future__ import annotations

import select as select_module
import signal
import threading
import time
from typing import Any

import pytest

import gogoroutines as g
from conftest import http_pattern
from gogoroutines import (
    ChannelClosed,
    InvalidArgument,
    Runtime,
    Status,
    TaskFailed,
    WaitTimeout,
)

HANG_GUARD = 30.0
MiB = 1024 * 1024


def drain(ch: Any, timeout: float = HANG_GUARD) -> list[Any]:
    """Receive until the channel is closed and empty; WaitTimeout if it stays open."""
    items = []
    while True:
        try:
            items.append(ch.recv(timeout=timeout))
        except ChannelClosed:
            return items


def in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run fn(*args) in a daemon thread; the dict gets its 'result' or 'error' and 'at'."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = fn(*args)
        except BaseException as err:
            outcome["error"] = err
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# ---- the basics ------------------------------------------------------------------------


def test_a_channel_is_a_gogoroutines_channel(rt):
    ch = rt.channel()
    assert isinstance(ch, g.Channel)
    assert isinstance(rt.channel(5), g.Channel)
    assert len(ch) == 0
    assert not isinstance(object(), g.Channel)


ITEMS = [
    "text",
    b"bytes",
    "",
    b"",
    "nul\x00inside\x00",
    b"\x00\xff\x00\xfe",
    "ünïcødé ✓ 🐍",
    "\x00",
    b"\x00",
    "line\nbreaks\r\n",
]


@pytest.mark.parametrize("item", ITEMS, ids=repr)
def test_recv_returns_the_type_that_was_sent(rt, item):
    ch = rt.channel(1)
    ch.send(item)
    got = ch.recv(timeout=HANG_GUARD)
    assert type(got) is type(item)
    assert got == item


def test_items_keep_their_order_and_types(rt):
    ch = rt.channel(len(ITEMS))
    for item in ITEMS:
        ch.send(item)
    assert len(ch) == len(ITEMS)
    got = [ch.recv(timeout=HANG_GUARD) for _ in ITEMS]
    assert got == ITEMS
    assert [type(x) for x in got] == [type(x) for x in ITEMS]
    assert len(ch) == 0


@pytest.mark.parametrize("capacity", [0, 1])
@pytest.mark.parametrize("kind", [bytes, str])
def test_large_items_survive(rt, capacity, kind):
    if kind is bytes:
        item: Any = bytes(range(256)) * (10 * MiB // 256)
    else:
        item = ("\x00é✓a" * (10 * MiB // 4))[: 10 * MiB]
    ch = rt.channel(capacity)
    sender, outcome = in_thread(ch.send, item, HANG_GUARD)
    got = ch.recv(timeout=HANG_GUARD)
    sender.join(HANG_GUARD)
    assert "error" not in outcome
    assert type(got) is kind
    assert len(got) == len(item)
    assert got == item


def test_len_counts_the_buffered_items(rt):
    ch = rt.channel(3)
    assert len(ch) == 0
    ch.send("a")
    ch.send(b"b")
    assert len(ch) == 2
    ch.recv()
    assert len(ch) == 1
    ch.close()
    assert len(ch) == 1  # closing keeps what is buffered


def test_a_full_buffer_makes_send_wait(rt):
    ch = rt.channel(2)
    ch.send("1", timeout=0)
    ch.send("2", timeout=0)
    with pytest.raises(WaitTimeout) as info:
        ch.send("3", timeout=0.1)
    assert isinstance(info.value, TimeoutError)
    assert len(ch) == 2
    assert [ch.recv(), ch.recv()] == ["1", "2"]
    with pytest.raises(WaitTimeout):
        ch.recv(timeout=0.05)  # "3" was never sent


def test_capacity_zero_send_waits_for_a_receiver(rt):
    ch = rt.channel(0)
    sender, outcome = in_thread(ch.send, "hand-over")
    time.sleep(0.3)
    assert sender.is_alive()  # nobody received yet: still waiting
    assert "at" not in outcome
    assert len(ch) == 0
    received_at = time.monotonic()
    assert ch.recv(timeout=HANG_GUARD) == "hand-over"
    sender.join(HANG_GUARD)
    assert not sender.is_alive()
    assert outcome == {"result": None, "at": outcome["at"]}
    assert outcome["at"] >= received_at - 0.05  # returned once taken, not before


def test_capacity_zero_send_times_out_without_a_receiver(rt):
    ch = rt.channel()
    with pytest.raises(WaitTimeout):
        ch.send("nobody", timeout=0.1)
    with pytest.raises(WaitTimeout):
        ch.send("nobody", timeout=0)
    with pytest.raises(WaitTimeout):
        ch.recv(timeout=0.05)  # neither was delivered


def test_recv_times_out_on_an_empty_channel(rt):
    ch = rt.channel(4)
    with pytest.raises(WaitTimeout) as info:
        ch.recv(timeout=0.1)
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, g.GoError)
    with pytest.raises(WaitTimeout):
        ch.recv(timeout=0)


def test_recv_waits_for_a_send_from_another_thread(rt):
    ch = rt.channel()
    timer = threading.Timer(0.1, ch.send, args=(b"late",))
    timer.start()
    try:
        assert ch.recv(timeout=HANG_GUARD) == b"late"
    finally:
        timer.join(HANG_GUARD)


# ---- close -------------------------------------------------------------------------------


def test_send_after_close_raises_channel_closed(rt):
    ch = rt.channel(4)
    ch.close()
    with pytest.raises(ChannelClosed) as info:
        ch.send("x")
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, g.GoError)
    assert g.ChannelClosed is ChannelClosed
    ch.close()  # twice is fine


def test_recv_after_close_drains_then_raises(rt):
    ch = rt.channel(4)
    for item in ("a", b"b", "c"):
        ch.send(item)
    ch.close()
    assert [ch.recv(), ch.recv(), ch.recv()] == ["a", b"b", "c"]
    with pytest.raises(ChannelClosed):
        ch.recv()
    with pytest.raises(ChannelClosed):
        ch.recv(timeout=0)


def test_iteration_ends_when_the_channel_is_closed(rt):
    ch = rt.channel(4)
    ch.send("a")
    ch.send("b")
    ch.close()
    assert iter(ch) is ch
    assert list(ch) == ["a", "b"]
    with pytest.raises(StopIteration):
        next(ch)


def test_iteration_waits_for_items_until_closed(rt):
    ch = rt.channel()

    def produce() -> None:
        for i in range(50):
            ch.send(f"item {i}")
            if i % 10 == 0:
                time.sleep(0.01)
        ch.close()

    producer, outcome = in_thread(produce)
    assert list(ch) == [f"item {i}" for i in range(50)]
    producer.join(HANG_GUARD)
    assert "error" not in outcome


@pytest.mark.parametrize("capacity", [0, 1])
def test_close_wakes_a_blocked_recv(rt, capacity):
    ch = rt.channel(capacity)
    receiver, outcome = in_thread(ch.recv)
    time.sleep(0.1)
    ch.close()
    receiver.join(HANG_GUARD)
    assert isinstance(outcome.get("error"), ChannelClosed)


def test_close_wakes_a_blocked_send(rt):
    ch = rt.channel(0)
    sender, outcome = in_thread(ch.send, "stuck")
    time.sleep(0.1)
    ch.close()
    sender.join(HANG_GUARD)
    assert isinstance(outcome.get("error"), ChannelClosed)


def test_closing_the_runtime_closes_its_channels():
    rt = Runtime()
    other = Runtime()
    try:
        waiting = rt.channel()
        buffered = rt.channel(2)
        buffered.send("left over")
        theirs = other.channel(1)
        receiver, outcome = in_thread(waiting.recv)
        time.sleep(0.1)
        rt.close()
        receiver.join(HANG_GUARD)
        assert isinstance(outcome.get("error"), ChannelClosed)
        with pytest.raises(ChannelClosed):
            waiting.send("x")
        assert drain(buffered) == ["left over"]  # what was buffered is still received
        theirs.send("still open")  # another runtime's channel is not closed
        assert theirs.recv() == "still open"
    finally:
        rt.close()
        other.close()


def test_channel_on_a_closed_runtime_raises_runtime_closed():
    rt = Runtime()
    rt.close()
    with pytest.raises(g.RuntimeClosed):
        rt.channel()


# ---- many items, many threads ------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, 64])
def test_100000_items_from_a_producer_thread_arrive_complete_and_in_order(rt, capacity):
    n = 100_000
    ch = rt.channel(capacity)

    def produce() -> None:
        for i in range(n):
            ch.send(str(i) if i % 2 else str(i).encode())
        ch.close()

    producer, outcome = in_thread(produce)
    got: list[Any] = []
    consumer, _ = in_thread(lambda: got.extend(ch))
    producer.join(HANG_GUARD * 2)
    consumer.join(HANG_GUARD * 2)
    assert not producer.is_alive()
    assert not consumer.is_alive()
    assert "error" not in outcome
    assert len(got) == n
    assert got == [str(i) if i % 2 else str(i).encode() for i in range(n)]


def test_several_producers_and_consumers(rt):
    ch = rt.channel(16)
    producers = [
        in_thread(lambda p=p: [ch.send(f"{p}:{i}") for i in range(5000)]) for p in range(4)
    ]
    results: list[list[str]] = [[], [], []]
    consumers = [in_thread(lambda r=r: r.extend(ch)) for r in results]
    for thread, _ in producers:
        thread.join(HANG_GUARD)
    ch.close()
    for thread, _ in consumers:
        thread.join(HANG_GUARD)
    everything = [item for r in results for item in r]
    assert sorted(everything) == sorted(f"{p}:{i}" for p in range(4) for i in range(5000))
    for r in results:  # each consumer sees each producer's items in their order
        for p in range(4):
            mine = [int(x.split(":")[1]) for x in r if x.startswith(f"{p}:")]
            assert mine == sorted(mine)


# ---- select ------------------------------------------------------------------------------


def test_select_returns_the_channel_and_its_item(rt):
    a, b = rt.channel(1), rt.channel(1)
    b.send(b"from b")
    ch, item = g.select([a, b], timeout=HANG_GUARD)
    assert ch is b
    assert item == b"from b"
    a.send("from a")
    ch, item = g.select((x for x in [a, b]), timeout=HANG_GUARD)  # any iterable
    assert (ch, item) == (a, "from a")


def test_select_waits_for_the_first_send(rt):
    a, b, c = rt.channel(), rt.channel(), rt.channel()
    timer = threading.Timer(0.1, c.send, args=("c",))
    timer.start()
    try:
        ch, item = g.select([a, b, c], timeout=HANG_GUARD)
    finally:
        timer.join(HANG_GUARD)
    assert ch is c
    assert item == "c"


def test_select_times_out(rt):
    a, b = rt.channel(), rt.channel(3)
    with pytest.raises(WaitTimeout) as info:
        g.select([a, b], timeout=0.1)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(WaitTimeout):
        g.select([a, b], timeout=0)


def test_select_gives_none_for_a_closed_empty_channel(rt):
    a, b = rt.channel(), rt.channel(2)
    b.send("last")
    b.close()
    assert g.select([a, b], timeout=HANG_GUARD) == (b, "last")  # what was left comes first
    assert g.select([a, b], timeout=HANG_GUARD) == (b, None)
    assert g.select([a, b], timeout=0) == (b, None)


def test_select_wakes_when_a_channel_is_closed(rt):
    a, b = rt.channel(), rt.channel()
    timer = threading.Timer(0.1, a.close)
    timer.start()
    try:
        assert g.select([a, b], timeout=HANG_GUARD) == (a, None)
    finally:
        timer.join(HANG_GUARD)


def test_select_takes_from_a_capacity_zero_sender(rt):
    a, b = rt.channel(), rt.channel()
    sender, outcome = in_thread(b.send, b"\x00hand")
    assert g.select([a, b], timeout=HANG_GUARD) == (b, b"\x00hand")
    sender.join(HANG_GUARD)
    assert outcome.get("result", "missing") is None


@pytest.mark.parametrize("bad", [1, None, "channel", object()], ids=repr)
def test_select_rejects_what_is_not_a_channel(rt, bad):
    with pytest.raises(InvalidArgument, match="Channel"):
        g.select([rt.channel(1), bad], timeout=0)


def test_select_of_no_channels_is_rejected(rt):
    with pytest.raises(InvalidArgument):
        g.select([], timeout=0.1)


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 1.5, True, False, "3", None, -(2**70)], ids=repr)
def test_bad_capacity(rt, bad):
    with pytest.raises(InvalidArgument, match="capacity"):
        rt.channel(bad)


@pytest.mark.parametrize("bad", [2**63, 2**100])
def test_huge_capacity_is_an_invalid_argument(rt, bad):
    with pytest.raises(InvalidArgument, match="capacity"):
        rt.channel(bad)


def _total_memory() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def test_the_largest_accepted_capacity_does_not_kill_the_process(run_script):
    proc = run_script(
        """
        import gogoroutines as g

        rt = g.Runtime()
        try:
            ch = rt.channel(2**30)
            ch.send("x")
            print("usable", ch.recv(timeout=5))
        except (g.InvalidArgument, MemoryError) as err:
            print("refused", type(err).__name__)
        """
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout in ("usable x\n", "refused InvalidArgument\n", "refused MemoryError\n")


@pytest.mark.parametrize("bad", [1, 1.5, None, ["a"], {"a": 1}], ids=repr)
def test_send_of_something_not_str_or_bytes(rt, bad):
    ch = rt.channel(1)
    with pytest.raises(InvalidArgument) as info:
        ch.send(bad)
    assert isinstance(info.value, ValueError)
    assert len(ch) == 0


def test_send_of_a_str_that_is_not_utf8_encodable(rt):
    ch = rt.channel(1)
    with pytest.raises(InvalidArgument):
        ch.send("lone \ud800 surrogate")
    assert len(ch) == 0


@pytest.mark.parametrize(
    "item", [bytearray(b"ab\x00"), memoryview(b"ab\x00")], ids=["bytearray", "memoryview"]
)
def test_send_of_a_bytes_like_object_is_accepted_or_invalid(rt, item):
    ch = rt.channel(1)
    try:
        ch.send(item)
    except InvalidArgument:
        return
    assert ch.recv(timeout=0) == b"ab\x00"


# ---- Ctrl-C ------------------------------------------------------------------------------

CTRL_C = """
import signal, sys
import gogoroutines as g

signal.signal(signal.SIGINT, signal.default_int_handler)

rt = g.Runtime()
ch = rt.channel(0)
full = rt.channel(1)
full.send("filler")
other = rt.channel(0)
how = sys.argv[1]
try:
    print("waiting", flush=True)  # inside the try: a Ctrl-C from here on is caught
    if how == "recv":
        outcome = ch.recv()
    elif how == "recv-timeout":
        outcome = ch.recv(timeout=60)
    elif how == "send":
        outcome = ch.send("never taken")
    elif how == "send-full":
        outcome = full.send("no room", timeout=60)
    elif how == "select":
        outcome = g.select([ch, other])
    else:
        outcome = list(ch)
    print("returned", repr(outcome), flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
# Nothing was sent by the interrupted call, and the channels still work.
try:
    ch.recv(timeout=0.05)
    print("something was sent", flush=True)
except g.WaitTimeout:
    print("nothing sent", flush=True)
print(len(full), full.recv(timeout=5), flush=True)
full.send("again", timeout=5)
print(full.recv(timeout=5), flush=True)
"""


def read_line(proc, timeout: float) -> str:
    ready, _, _ = select_module.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


@pytest.mark.parametrize("how", ["recv", "recv-timeout", "send", "send-full", "select", "iter"])
def test_ctrl_c_interrupts_a_blocked_channel_operation(start_script, how):
    proc = start_script(CTRL_C, how)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.2)  # let the child block
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)  # a hang guard: forever if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    assert out.splitlines() == ["KeyboardInterrupt caught", "nothing sent", "1 filler", "again"]
    assert err == ""


# ---- exec streaming into a channel --------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, 10])
def test_exec_streams_its_stdout_lines_in_order(rt, capacity):
    ch = rt.channel(capacity)
    task = rt.go(
        "exec", argv=["sh", "-c", "for i in $(seq 1 100); do echo line $i; done"], stream=ch
    )
    assert drain(ch) == [f"line {i}" for i in range(1, 101)]
    assert task.result(HANG_GUARD) == ""
    assert task.status is Status.COMPLETED


def test_exec_stream_lines_are_str_when_utf8_else_bytes(rt):
    ch = rt.channel(16)
    task = rt.go("exec", argv=["printf", "a\\377\\nütf ✓\\n\\nno newline at the end"], stream=ch)
    got = drain(ch)
    assert got == [b"a\xff", "ütf ✓", "", "no newline at the end"]
    assert [type(x) for x in got] == [bytes, str, str, str]
    assert task.result(HANG_GUARD) == ""


def test_exec_stream_lines_arrive_while_the_program_runs(rt):
    ch = rt.channel()
    started = time.monotonic()
    task = rt.go("exec", argv=["sh", "-c", "echo first; sleep 5; echo second"], stream=ch)
    assert ch.recv(timeout=HANG_GUARD) == "first"
    elapsed = time.monotonic() - started
    assert task.status is Status.RUNNING  # the program is still sleeping
    assert elapsed < 4.5, f"the first line took {elapsed:.1f} s: it was not streamed"
    assert task.cancel()
    assert task.wait(HANG_GUARD)
    assert task.status is Status.CANCELLED
    assert drain(ch) == []  # closed at the end; "second" never came


def test_exec_stream_is_closed_when_the_program_fails(rt):
    ch = rt.channel(4)
    task = rt.go("exec", argv=["sh", "-c", "echo before; exit 3"], stream=ch)
    assert drain(ch) == ["before"]
    with pytest.raises(TaskFailed, match="code 3"):
        task.result(HANG_GUARD)


def test_exec_stream_enforces_max_bytes(rt):
    ch = rt.channel(1000)
    script = "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done"
    task = rt.go("exec", argv=["sh", "-c", script], stream=ch, max_bytes=1000)
    got = drain(ch)
    with pytest.raises(TaskFailed, match="max_bytes"):
        task.result(HANG_GUARD)
    assert sum(len(line) + 1 for line in got) <= 1000
    assert all(line == "0123456789" for line in got)


def test_exec_stream_into_a_closed_channel_fails_the_task(rt):
    ch = rt.channel(4)
    ch.close()
    task = rt.go("exec", argv=["echo", "x"], stream=ch)
    with pytest.raises(TaskFailed, match="closed"):
        task.result(HANG_GUARD)


def test_exec_stream_must_be_a_channel(rt):
    with pytest.raises(InvalidArgument, match="stream"):
        rt.go("exec", argv=["echo", "x"], stream="not a channel")


def test_cancelling_a_streaming_task_blocked_on_a_full_channel(rt):
    ch = rt.channel(1)
    task = rt.go("exec", argv=["sh", "-c", "while :; do echo spam; done"], stream=ch)
    assert ch.recv(timeout=HANG_GUARD) == "spam"
    assert task.cancel()
    assert task.wait(HANG_GUARD)
    assert task.status is Status.CANCELLED
    assert all(isinstance(item, str) for item in drain(ch))  # and the channel gets closed


def test_items_streamed_by_a_cancelled_exec_task_are_single_lines(rt):
    # Nearly every attempt shows it (a race in Go's select); ten make it certain enough.
    for _ in range(10):
        ch = rt.channel(0)
        task = rt.go("exec", argv=["sh", "-c", "while :; do echo spam; done"], stream=ch)
        assert ch.recv(timeout=HANG_GUARD) == "spam"
        assert task.cancel()
        assert task.wait(HANG_GUARD)
        items = drain(ch)
        assert all(item == "spam" for item in items), [item[:40] for item in items]


# ---- http streaming into a channel --------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 300_000])
def test_http_streams_the_body_in_bytes_chunks(rt, http_server, size):
    ch = rt.channel(4)
    task = rt.go("http", url=http_server.url(f"/bytes/{size}"), stream=ch)
    chunks = drain(ch)
    assert task.result(HANG_GUARD) == ""
    assert all(type(c) is bytes and c for c in chunks)
    assert b"".join(chunks) == http_pattern(size)
    if size == 300_000:
        assert len(chunks) > 1


def test_http_chunks_arrive_while_the_body_is_still_coming(rt, http_server):
    ch = rt.channel()
    task = rt.go("http", url=http_server.url("/endless/200"), stream=ch)  # never ends
    first = ch.recv(timeout=HANG_GUARD)
    assert isinstance(first, bytes)
    assert first == http_pattern(len(first))
    assert task.status is Status.RUNNING
    assert task.cancel()
    assert task.wait(HANG_GUARD)
    drain(ch)  # closed at the end


def test_http_stream_enforces_max_bytes_with_a_content_length(rt, http_server):
    ch = rt.channel(64)
    task = rt.go("http", url=http_server.url("/bytes/1000000"), stream=ch, max_bytes=100_000)
    got = drain(ch)
    with pytest.raises(TaskFailed):
        task.result(HANG_GUARD)
    assert sum(map(len, got)) <= 100_000


def test_http_stream_enforces_max_bytes_of_a_chunked_body(rt, http_server):
    ch = rt.channel(64)
    task = rt.go("http", url=http_server.url("/endless/0"), stream=ch, max_bytes=200_000)
    got = b"".join(drain(ch))
    with pytest.raises(TaskFailed):
        task.result(HANG_GUARD)
    assert len(got) <= 200_000
    assert got == http_pattern(len(got))


def test_http_stream_is_closed_when_the_request_fails(rt, http_server):
    ch = rt.channel(64)
    task = rt.go("http", url=http_server.url("/status/404"), stream=ch)
    drain(ch)
    with pytest.raises(TaskFailed, match="404"):
        task.result(HANG_GUARD)


def test_a_task_cancelled_while_queued_closes_its_stream():
    # Its work never runs, so no kind could close the channel: the engine does,
    # and a loop over the channel ends instead of waiting for ever.
    with g.Runtime(max_concurrency=1) as rt:
        blocker = rt.go("sleep", seconds=60)
        ch = rt.channel(4)
        task = rt.go("exec", argv=["echo", "never"], stream=ch)
        assert task.status is g.Status.QUEUED
        task.cancel()
        with pytest.raises(ChannelClosed):
            ch.recv(timeout=10)
        blocker.cancel()
