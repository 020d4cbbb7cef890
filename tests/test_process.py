"""Process-level behaviour, each in a child interpreter: lazy start, fork, Ctrl-C, exit."""

from __future__ import annotations

import select
import signal
import time

import pytest

HANG_GUARD = 30.0

# ---- importing does not start Go -------------------------------------------------------


def test_import_does_not_start_go(run_script):
    proc = run_script(
        """
        import sys
        import gogoroutines
        import gogoroutines.compat, gogoroutines.errors, gogoroutines.runtime
        from gogoroutines import Runtime, Status, Stats, go_wait, InvalidArgument
        print(gogoroutines._loader.is_loaded(), "gogoroutines._core" in sys.modules)
        r = Runtime()
        print(gogoroutines._loader.is_loaded(), "gogoroutines._core" in sys.modules)
        print(r.go("echo", data="ok").result())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False False", "True True", "ok"]


def test_first_php_api_call_starts_go(run_script):
    proc = run_script(
        """
        import sys
        import gogoroutines
        print(gogoroutines._loader.is_loaded())
        print(gogoroutines.go_get_stats().startswith("Total: 0, "))
        print(gogoroutines._loader.is_loaded(), "gogoroutines._core" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False", "True", "True True"]


def test_star_import_does_not_start_go(run_script):
    proc = run_script(
        """
        import sys
        from gogoroutines import *
        import gogoroutines
        print(gogoroutines._loader.is_loaded(), "gogoroutines._core" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False False"]


# ---- fork -----------------------------------------------------------------------------------

FORK_AFTER_USE = """
import os, sys, warnings
import gogoroutines as g

rt = g.Runtime()
task = rt.go("sleep", seconds=60)
assert rt.go("echo", data="parent").result() == "parent"

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # fork of a multi-threaded process
    pid = os.fork()
if pid == 0:
    code = 0
    calls = [
        ("Runtime", lambda: g.Runtime()),
        ("go", lambda: rt.go("echo", data="child")),
        ("stats", rt.stats),
        ("wait", lambda: task.wait(1)),
        ("result", lambda: task.result(1)),
        ("go_start_goroutine", g.go_start_goroutine),
    ]
    for name, call in calls:
        try:
            call()
            print(name, "did not raise", flush=True)
            code = 1
        except g.ForkError as err:
            text = str(err)
            if not (isinstance(err, RuntimeError) and "'spawn'" in text
                    and "'forkserver'" in text):
                print(name, "bad ForkError:", text, flush=True)
                code = 2
        except BaseException as err:
            print(name, "raised", type(err).__name__, err, flush=True)
            code = 3
    if sys.argv[1] == "os._exit":
        os._exit(code)
    task.close()
    rt.close()
    sys.exit(code)  # a normal exit: finalizers run, and must not call into Go

_, status = os.waitpid(pid, 0)
print("child exit code", os.waitstatus_to_exitcode(status), flush=True)
assert task.status == g.Status.RUNNING
print("parent", rt.go("echo", data="still works").result(), flush=True)
"""


@pytest.mark.parametrize("child_exit", ["os._exit", "sys.exit"])
def test_fork_after_first_use_raises_fork_error_in_the_child(run_script, child_exit):
    proc = run_script(FORK_AFTER_USE, child_exit)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["child exit code 0", "parent still works"]


def test_fork_before_first_use_works(run_script):
    proc = run_script(
        """
        import os
        import gogoroutines as g
        assert not g._loader.is_loaded()
        pid = os.fork()
        if pid == 0:
            try:
                with g.Runtime() as rt:
                    ok = rt.go("delayed", delay_ms=10).result(20) == "Callback executed after 10ms"
                i = g.go_start_goroutine()
                ok = ok and g.go_wait(i, 20000) and g.go_get_result(i).startswith("Goroutine")
            except BaseException as err:
                print("child raised", type(err).__name__, err, flush=True)
                os._exit(2)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child exit code", os.waitstatus_to_exitcode(status), flush=True)
        with g.Runtime() as rt:
            print("parent", rt.go("echo", data="ok").result(), flush=True)
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["child exit code 0", "parent ok"]


def test_multiprocessing_spawn_works_after_first_use(run_script):
    proc = run_script(
        """
        import multiprocessing as mp
        import gogoroutines as g

        def work(text):
            with g.Runtime() as rt:
                return rt.go("task", task=text).result(20)

        if __name__ == "__main__":
            with g.Runtime() as rt:
                assert rt.go("echo", data="x").result() == "x"  # Go runs in the parent
                with mp.get_context("spawn").Pool(2) as pool:
                    results = pool.map(work, ["a", "b", "c"], chunksize=1)
                print("\\n".join(results))
                print(rt.go("echo", data="parent ok").result())
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "Task 'a' completed!",
        "Task 'b' completed!",
        "Task 'c' completed!",
        "parent ok",
    ]


# ---- Ctrl-C ------------------------------------------------------------------------------

CTRL_C = """
import signal, sys
import gogoroutines as g

# Python leaves SIGINT ignored when it starts ignored (a background job of a
# non-interactive shell); handle it as an interactive interpreter does.
signal.signal(signal.SIGINT, signal.default_int_handler)

rt = g.Runtime()
task = rt.go("sleep", seconds=60)
php_id = g.go_start_delayed(60000)
try:
    print("waiting", flush=True)  # inside the try: a Ctrl-C from here on is caught
    if sys.argv[1] == "wait":
        outcome = task.wait(60)
    elif sys.argv[1] == "result":
        outcome = task.result(60)
    else:
        outcome = g.go_wait(php_id, 60000)
    print("returned", repr(outcome), flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
# The interrupted wait left the tasks as they were.
print(task.status.name, g.go_check_status(php_id), flush=True)
"""


def read_line(proc, timeout: float) -> str:
    """One line of the child's stdout, or "" if none comes within timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


@pytest.mark.parametrize("how", ["wait", "result", "go_wait"])
def test_ctrl_c_interrupts_a_long_wait(start_script, how):
    proc = start_script(CTRL_C, how)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.2)  # let the child enter the wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)  # a hang guard: 60 s if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    assert out.splitlines() == ["KeyboardInterrupt caught", "RUNNING 0"]


# ---- interpreter exit ------------------------------------------------------------------


def test_interpreter_exits_with_tasks_still_running(run_script):
    proc = run_script(
        """
        import gogoroutines as g
        rt = g.Runtime(max_concurrency=1)
        tasks = [rt.go("sleep", seconds=60) for _ in range(3)]   # one running, two queued
        ids = [g.go_start_delayed(60000) for _ in range(3)]      # default runtime
        orphan = g.Runtime().go("task", task="never read")       # its Runtime object is gone
        big = g.Runtime().go("echo", data=b"x" * 100000)         # a large finished result
        print("bye", flush=True)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "bye\n"
    assert proc.stderr == ""


def test_interpreter_exits_after_an_unhandled_error(run_script):
    proc = run_script(
        """
        import gogoroutines as g
        rt = g.Runtime()
        t = rt.go("sleep", seconds=60)
        t.result(0.01)
        """
    )
    assert proc.returncode == 1
    assert "gogoroutines.errors.WaitTimeout" in proc.stderr


def test_sys_exit_from_a_thread_waiting_does_not_hang(run_script):
    proc = run_script(
        """
        import threading, sys
        import gogoroutines as g
        rt = g.Runtime()
        t = rt.go("sleep", seconds=60)
        threading.Thread(target=lambda: t.wait(), daemon=True).start()
        print("exiting", flush=True)
        sys.exit(3)
        """
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "exiting\n"
