"""The PHP extension's API (go_* functions on the default runtime) and its four examples."""

from __future__ import annotations

import random
import re
import time

import pytest

import gogoroutines
from gogoroutines import (
    InvalidArgument,
    WaitTimeout,
    go_check_status,
    go_cleanup,
    go_get_result,
    go_get_stats,
    go_start_delayed,
    go_start_goroutine,
    go_start_goroutine_with_task,
    go_wait,
)

STATS_RE = re.compile(
    r"Total: (\d+), Active: (\d+), Completed: (\d+), Failed: (\d+), Go Routines: (\d+)"
)

pytestmark = pytest.mark.usefixtures("php_api")


# ---- the four usage examples of the PHP extension, ported ----------------------------


def test_example_basic_usage(capsys):
    id = go_start_goroutine()
    if go_wait(id, 5000):
        result = go_get_result(id)
        print(f"Result: {result}")
        go_cleanup(id)

    assert capsys.readouterr().out == "Result: Goroutine completed successfully!\n"
    assert go_check_status(id) == -1  # cleaned up


def test_example_concurrent_api_calls(capsys):
    apis = {
        "users": go_start_goroutine_with_task("Fetch users"),
        "products": go_start_goroutine_with_task("Fetch products"),
        "orders": go_start_goroutine_with_task("Fetch orders"),
    }
    assert list(apis.values()) == [1, 2, 3]
    assert STATS_RE.fullmatch(go_get_stats()).group(1, 2) == ("3", "3")
    for name, id in apis.items():
        if go_wait(id, 10000):
            result = go_get_result(id)
            print(f"{name}: {result}")
            go_cleanup(id)

    assert capsys.readouterr().out == (
        "users: Task 'Fetch users' completed!\n"
        "products: Task 'Fetch products' completed!\n"
        "orders: Task 'Fetch orders' completed!\n"
    )
    assert go_get_stats().startswith("Total: 0, Active: 0, Completed: 0, Failed: 0, ")


def test_example_background_task_processing(capsys):
    task_id = go_start_delayed(300)
    print("Task started, continuing with other work...")
    time.sleep(0.1)  # the other work
    early = go_check_status(task_id) == 1
    if early:
        print("Task completed early!")
    else:
        print("Task still running, waiting...")
        assert go_wait(task_id) is True
    assert go_check_status(task_id) == 1
    result = go_get_result(task_id)
    print(f"Result: {result}")
    go_cleanup(task_id)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Task started, continuing with other work..."
    assert lines[1] == ("Task completed early!" if early else "Task still running, waiting...")
    assert lines[2] == "Result: Callback executed after 300ms"
    assert len(lines) == 3
    assert go_check_status(task_id) == -1


def test_example_background_task_still_running():
    task_id = go_start_delayed(5000)
    assert go_check_status(task_id) == 0
    assert go_wait(task_id, 10) is False  # still running
    go_cleanup(task_id)  # cancels it
    assert go_check_status(task_id) == -1
    assert go_get_stats().startswith("Total: 0, Active: 0, ")


def test_example_monitoring_statistics(capsys):
    rng = random.Random(1234)
    tasks = [go_start_delayed(rng.randint(100, 1000)) for _ in range(10)]
    while True:
        print(go_get_stats())
        if all(go_check_status(id) == 1 for id in tasks):
            break
        time.sleep(0.1)
    for id in tasks:
        go_cleanup(id)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 2  # the longest delay is several polls long
    previous_completed = 0
    for line in lines:
        match = STATS_RE.fullmatch(line)
        assert match, line
        total, active, completed, failed, goroutines = map(int, match.groups())
        assert total == 10
        assert failed == 0
        assert active + completed == 10
        assert completed >= previous_completed
        assert goroutines >= 1  # delayed tasks are timers: they need no goroutine each
        previous_completed = completed
    first = STATS_RE.fullmatch(lines[0])
    assert int(first.group(2)) > 0  # some were still active at the first look
    assert go_get_stats().startswith("Total: 0, Active: 0, Completed: 0, Failed: 0, ")


# ---- each function ------------------------------------------------------------------------


def test_ids_are_ints_from_one_and_never_reused():
    ids = [go_start_goroutine(), go_start_goroutine_with_task("t"), go_start_delayed(0)]
    assert ids == [1, 2, 3]
    assert all(type(i) is int for i in ids)
    for i in ids:
        go_cleanup(i)
    assert go_start_delayed(0) == 4


def test_check_status_values():
    running = go_start_delayed(60_000)
    done = go_start_delayed(0)
    assert go_wait(done, 5000) is True
    assert go_check_status(running) == 0
    assert go_check_status(done) == 1
    assert go_check_status(999_999) == -1
    # The PHP values, printed as PHP's `echo` would print them.
    assert isinstance(go_check_status(done), int)
    assert str(go_check_status(done)) == "1"
    assert str(go_check_status(999_999)) == "-1"
    go_cleanup(running)
    go_cleanup(done)


def test_check_status_of_failed_and_cancelled_tasks():
    rt = gogoroutines.default_runtime()
    failed = rt.go("sleep", seconds=60, timeout=0.01)
    cancelled = rt.go("sleep", seconds=60)
    cancelled.cancel()
    assert go_wait(failed.id, 5000) is True
    assert go_check_status(failed.id) == 2
    assert go_check_status(cancelled.id) == 3
    # go_get_result gives the error message of a failed task, as in PHP.
    assert go_get_result(failed.id) == f"task {failed.id} (sleep) timed out after 10ms"
    assert "cancelled" in go_get_result(cancelled.id)
    assert go_get_stats().startswith("Total: 2, Active: 0, Completed: 0, Failed: 1, ")


def test_get_result_of_unknown_id_returns_the_extensions_message():
    # "Returns: Result string or error message": the PHP extension's own message, no exception.
    assert go_get_result(12345) == "Error: Goroutine not found"
    assert go_get_result(0) == "Error: Goroutine not found"


def test_get_result_of_running_task_raises_wait_timeout():
    id = go_start_delayed(60_000)
    with pytest.raises(WaitTimeout, match=rf"go_wait\({id}\)"):
        go_get_result(id)
    assert go_check_status(id) == 0
    go_cleanup(id)


def test_wait_returns_false_on_timeout_and_for_unknown_ids():
    id = go_start_delayed(60_000)
    assert go_wait(id, 20) is False
    assert go_wait(id, 0) is False
    assert go_wait(id, -5) is False  # negative: only looks, as in PHP
    assert go_wait(999_999, 10) is False
    assert go_wait(999_999) is False
    go_cleanup(id)
    assert go_wait(id) is False  # cleaned up: unknown


def test_wait_default_timeout_waits_for_the_task():
    id = go_start_goroutine()
    assert go_wait(id) is True
    assert go_get_result(id) == "Goroutine completed successfully!"


def test_cleanup_ignores_unknown_ids_and_double_cleanup():
    go_cleanup(999_999)
    id = go_start_goroutine()
    go_cleanup(id)
    go_cleanup(id)
    assert go_check_status(id) == -1
    assert go_get_result(id) == "Error: Goroutine not found"


def test_cleanup_of_running_task_releases_it():
    ids = [go_start_delayed(60_000) for _ in range(5)]
    assert go_get_stats().startswith("Total: 5, Active: 5, Completed: 0, Failed: 0, ")
    for id in ids:
        go_cleanup(id)
    assert go_get_stats().startswith("Total: 0, Active: 0, Completed: 0, Failed: 0, ")


def test_get_stats_format():
    assert STATS_RE.fullmatch(go_get_stats())
    id = go_start_goroutine()
    go_wait(id)
    stats = go_get_stats()
    match = STATS_RE.fullmatch(stats)
    assert match.group(1, 2, 3, 4) == ("1", "0", "1", "0")
    assert stats == str(gogoroutines.default_runtime().stats())


def test_task_with_unicode_and_nul():
    id = go_start_goroutine_with_task("naïve\x00x")
    assert go_wait(id) is True
    assert go_get_result(id) == "Task 'naïve\x00x' completed!"


@pytest.mark.parametrize("delay", [-1, 1.5, "100", 2**64])
def test_start_delayed_rejects_bad_delays(delay):
    with pytest.raises(InvalidArgument, match="delay_ms"):
        go_start_delayed(delay)


def test_start_goroutine_with_task_rejects_non_str():
    with pytest.raises(InvalidArgument, match="'task'"):
        go_start_goroutine_with_task(42)  # type: ignore[arg-type]


def test_php_api_functions_share_the_default_runtime():
    id = go_start_delayed(60_000)
    assert gogoroutines.default_runtime().stats().total == 1
    gogoroutines.default_runtime().close()  # what the `php_api` fixture does between tests
    assert go_check_status(id) == -1  # a new default runtime: the id is unknown
    assert go_start_goroutine() == 1
