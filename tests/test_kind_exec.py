"""The exec kind: real programs, never a shell; the whole process group dies on cancel."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import signal
import time
import uuid
from dataclasses import dataclass

import pytest

from gogoroutines import (
    InvalidArgument,
    Runtime,
    Status,
    TaskCancelled,
    TaskFailed,
    TaskTimedOut,
)

HANG_GUARD = 30.0
# How long killed processes may take to disappear (a generous guard, not a timing claim).
KILL_GUARD = 15.0
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


# ---- processes, from /proc ------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start: int  # start time in clock ticks since boot: tells a reused pid apart
    argv: tuple[str, ...]

    @property
    def zombie(self) -> bool:
        return self.state in ("Z", "X")


def processes() -> dict[int, Proc]:
    """Every process of the machine, by pid."""
    table: dict[int, Proc] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(name)] = Proc(
            pid=int(name),
            ppid=int(fields[1]),
            pgid=int(fields[2]),
            sid=int(fields[3]),
            state=fields[0],
            start=int(fields[19]),
            argv=tuple(a.decode(errors="replace") for a in cmdline.split(b"\0")[:-1]),
        )
    return table


def our_children(table: dict[int, Proc]) -> set[int]:
    me = os.getpid()
    return {pid for pid, p in table.items() if p.ppid == me}


def with_arg(token: str) -> list[Proc]:
    """The live (not zombie) processes with `token` among their arguments."""
    return [p for p in processes().values() if token in p.argv and not p.zombie]


def wait_until(predicate, timeout: float = HANG_GUARD) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def sleep_token() -> str:
    """A number of seconds for sleep (about 300) that no other process uses: a marker."""
    return f"300.{uuid.uuid4().int % 10**9:09d}"


@dataclass
class Tree:
    """The processes an exec task started: its direct child and the marked ones."""

    child: Proc
    marked: list[Proc]

    def survivors(self) -> list[Proc]:
        """Processes of the tree still there: the child unless reaped, others unless dead."""
        table = processes()
        left = []
        for p in [self.child, *self.marked]:
            now = table.get(p.pid)
            if now is None or now.start != p.start:
                continue  # gone (its pid may be someone else's by now)
            if now.zombie and p.pid != self.child.pid:
                continue  # dead; reaping an orphan is its new parent's business
            left.append(now)
        left += [
            p
            for p in table.values()
            if p.pgid == self.child.pgid and not p.zombie and p.pid != self.child.pid
        ]
        return left


def start_tree(rt: Runtime, script: str, count: int, **options) -> tuple[object, Tree, str]:
    """Run `sh -c script` where script uses {t} for a marker; wait for `count` marked processes."""
    token = sleep_token()
    before = our_children(processes())
    task = rt.go("exec", argv=["sh", "-c", script.format(t=token)], **options)
    assert wait_until(lambda: len(with_arg(token)) >= count), (
        f"the program did not start {count} processes: {with_arg(token)}, status {task.status}"
    )
    table = processes()
    new = our_children(table) - before
    assert len(new) == 1, f"expected one new child process, found {new}"
    child = table[new.pop()]
    assert child.pgid != os.getpgrp(), "the child must run in a process group of its own"
    return task, Tree(child=child, marked=with_arg(token)), token


def assert_tree_killed(tree: Tree, token: str) -> None:
    assert wait_until(lambda: not tree.survivors(), KILL_GUARD), (
        f"processes survived: {tree.survivors()}"
    )
    assert wait_until(lambda: not with_arg(token), KILL_GUARD), with_arg(token)
    # The direct child was reaped: no zombie of ours is left.
    me = os.getpid()
    assert wait_until(
        lambda: not [p for p in processes().values() if p.ppid == me and p.zombie], KILL_GUARD
    ), [p for p in processes().values() if p.ppid == me]


def assert_fails(task, *words: str) -> TaskFailed:
    """The task fails (not by its deadline) with a message containing every word."""
    with pytest.raises(TaskFailed) as info:
        task.result_bytes(HANG_GUARD)
    err = info.value
    assert not isinstance(err, TaskTimedOut), str(err)
    assert task.status is Status.FAILED
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"
    return err


def sh(script: str, *args: str) -> list[str]:
    return ["sh", "-c", script, "sh", *args]


# ---- running programs ---------------------------------------------------------------------


def test_echo_result_and_meta(rt):
    task = rt.go("exec", argv=["echo", "hello", "world"])
    assert task.result(HANG_GUARD) == "hello world\n"
    assert task.status is Status.COMPLETED
    meta = task.meta
    assert isinstance(meta, dict)
    assert type(meta["exit_code"]) is int
    assert meta["exit_code"] == 0
    assert meta["stderr"] == ""
    assert isinstance(meta["elapsed"], float)
    assert 0 <= meta["elapsed"] < HANG_GUARD


def test_sleep(rt):
    task = rt.go("exec", argv=["sleep", "0.1"])
    assert task.result(HANG_GUARD) == ""
    assert task.meta["exit_code"] == 0
    assert task.meta["elapsed"] >= 0.09  # it did wait for the program


def test_program_is_found_on_path_and_by_absolute_path(rt):
    assert rt.go("exec", argv=["true"]).result(HANG_GUARD) == ""
    assert rt.go("exec", argv=["/bin/echo", "abs"]).result(HANG_GUARD) == "abs\n"


@pytest.mark.parametrize(
    "data",
    [b"", b"line\n", "naïve ☃\n", b"\x00\x01\xff\x00", b"no newline at the end"],
    ids=["empty", "line", "str", "binary", "no-newline"],
)
def test_cat_copies_stdin_to_stdout(rt, data):
    task = rt.go("exec", argv=["cat"], stdin=data)
    expected = data.encode() if isinstance(data, str) else data
    assert task.result_bytes(HANG_GUARD) == expected
    assert task.meta["exit_code"] == 0


def test_cat_copies_a_large_stdin_without_deadlock(rt):
    # Far more than a pipe holds, both ways at once.
    data = random.Random(1).randbytes(32 * MiB)
    task = rt.go("exec", argv=["cat"], stdin=data)
    assert task.result_bytes(HANG_GUARD) == data


def test_without_stdin_the_program_reads_end_of_file(rt):
    task = rt.go("exec", argv=["cat"])
    assert task.result(HANG_GUARD) == ""
    assert rt.go("exec", argv=sh("wc -c")).result(HANG_GUARD).strip() == "0"


def test_program_that_ignores_its_stdin(rt):
    task = rt.go("exec", argv=["true"], stdin=b"x" * (8 * MiB))
    assert task.result(HANG_GUARD) == ""
    assert task.meta["exit_code"] == 0


def test_large_stdout(rt):
    task = rt.go("exec", argv=["head", "-c", str(50 * MiB), "/dev/zero"])
    assert task.result_bytes(HANG_GUARD) == bytes(50 * MiB)


def test_binary_stdout(rt):
    data = bytes(range(256)) * 100
    task = rt.go("exec", argv=["cat"], stdin=data)
    with pytest.raises(ValueError, match=r"result_bytes\(\)"):
        task.result(HANG_GUARD)
    assert task.result_bytes() == data


def test_stdout_and_stderr_are_kept_apart(rt):
    task = rt.go("exec", argv=sh("echo out; echo err >&2; exit 5"), check=False)
    assert task.result(HANG_GUARD) == "out\n"
    assert task.meta["exit_code"] == 5
    assert task.meta["stderr"] == "err\n"


def test_large_stderr_does_not_block_the_program(rt):
    script = "head -c 1000000 /dev/zero | tr '\\0' e >&2; echo done"
    task = rt.go("exec", argv=sh(script), check=False)
    assert task.result(HANG_GUARD) == "done\n"
    assert task.meta["exit_code"] == 0
    stderr = task.meta["stderr"]
    assert isinstance(stderr, str)
    assert stderr
    assert set(stderr) == {"e"}


def test_many_programs_at_once(rt):
    tasks = [rt.go("exec", argv=sh('sleep 0.2; echo "$1"', str(i))) for i in range(20)]
    assert [t.result(HANG_GUARD) for t in tasks] == [f"{i}\n" for i in range(20)]


# ---- arguments are passed literally -------------------------------------------------------------


def test_shell_metacharacters_are_passed_literally(rt, tmp_path):
    (tmp_path / "x").mkdir()
    text = "$(id); rm -rf x"
    task = rt.go("exec", argv=["echo", text], cwd=str(tmp_path))
    assert task.result(HANG_GUARD) == text + "\n"
    assert (tmp_path / "x").is_dir()


@pytest.mark.parametrize(
    "arg",
    [
        "*",
        "~",
        "`id`",
        "$HOME",
        "${PATH}",
        "a b  c",
        "'single'",
        '"double"',
        "back\\slash",
        "semi;colon && or || pipe | amp &",
        "< in > out 2>&1",
        "line\nbreak",
        "",
        "naïve ☃ 😀",
        "-n",
    ],
)
def test_each_argument_reaches_the_program_unchanged(rt, tmp_path, arg):
    (tmp_path / "a_file").write_bytes(b"")  # something for a glob to match
    task = rt.go("exec", argv=["printf", "[%s]", arg], cwd=str(tmp_path))
    assert task.result(HANG_GUARD) == f"[{arg}]"


def test_argv_is_not_split_on_spaces(rt):
    assert_fails(rt.go("exec", argv=["echo hello"]), "echo hello")


# ---- exit codes and check -----------------------------------------------------------------------


def test_false_fails_with_check(rt):
    err = assert_fails(rt.go("exec", argv=["false"]))
    message = str(err)
    assert "exit" in message.lower()
    assert re.search(r"\b1\b", message), message


def test_false_completes_without_check(rt):
    task = rt.go("exec", argv=["false"], check=False)
    assert task.result(HANG_GUARD) == ""
    assert task.status is Status.COMPLETED
    assert task.meta["exit_code"] == 1


@pytest.mark.parametrize("code", [2, 3, 42, 126, 255])
def test_exit_codes(rt, code):
    task = rt.go("exec", argv=sh(f"echo before; exit {code}"), check=False)
    assert task.result(HANG_GUARD) == "before\n"
    assert task.meta["exit_code"] == code
    err = assert_fails(rt.go("exec", argv=sh(f"exit {code}")))
    assert re.search(rf"\b{code}\b", str(err)), str(err)


def test_check_failure_message_has_the_tail_of_stderr(rt):
    script = (
        "echo FIRST-LINE >&2; i=0; "
        'while [ $i -lt 20000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; '
        "echo LAST-LINE >&2; exit 3"
    )
    err = assert_fails(rt.go("exec", argv=sh(script)), "LAST-LINE")
    message = str(err)
    assert re.search(r"\b3\b", message), message[:500]
    assert "FIRST-LINE" not in message  # the tail, not all 300 kB
    assert len(message) < 64 * 1024


def test_check_failure_without_stderr(rt):
    err = assert_fails(rt.go("exec", argv=sh("exit 7")))
    assert re.search(r"\b7\b", str(err))


def test_program_killed_by_a_signal(rt):
    assert_fails(rt.go("exec", argv=sh("kill -KILL $$")))
    task = rt.go("exec", argv=sh("kill -KILL $$"), check=False)
    task.wait(HANG_GUARD)
    assert task.status is Status.COMPLETED
    assert type(task.meta["exit_code"]) is int
    assert task.meta["exit_code"] != 0


# ---- programs that cannot run ---------------------------------------------------------------


def test_missing_program_fails_naming_it(rt):
    name = f"no-such-program-{uuid.uuid4().hex}"
    assert_fails(rt.go("exec", argv=[name, "arg"]), name)


def test_missing_absolute_program_fails_naming_it(rt, tmp_path):
    path = str(tmp_path / "missing-program")
    assert_fails(rt.go("exec", argv=[path]), path)


def test_file_that_is_not_executable_fails_naming_it(rt, tmp_path):
    path = tmp_path / "not-executable.sh"
    path.write_text("#!/bin/sh\necho ran\n")
    path.chmod(0o644)
    assert_fails(rt.go("exec", argv=[str(path)]), str(path))


def test_missing_program_fails_even_without_check(rt):
    name = f"no-such-program-{uuid.uuid4().hex}"
    assert_fails(rt.go("exec", argv=[name], check=False), name)


def test_missing_cwd_fails_naming_it(rt, tmp_path):
    cwd = str(tmp_path / "no-such-dir")
    assert_fails(rt.go("exec", argv=["true"], cwd=cwd), cwd)


# ---- environment and working directory ----------------------------------------------------------


def test_variable_set_in_os_environ_after_the_runtime_started_is_seen(rt, monkeypatch):
    rt.go("echo", data="the runtime is running").result(HANG_GUARD)
    name = f"GOGO_TEST_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(name, "set after start ☃")
    task = rt.go("exec", argv=sh(f'printf %s "${name}"'))
    assert task.result(HANG_GUARD) == "set after start ☃"


def test_variable_removed_from_os_environ_is_not_seen(rt, monkeypatch):
    monkeypatch.setenv("GOGO_TEST_REMOVED", "present")
    assert rt.go("exec", argv=sh('printf %s "$GOGO_TEST_REMOVED"')).result(30) == "present"
    monkeypatch.delenv("GOGO_TEST_REMOVED")
    task = rt.go("exec", argv=sh('printf %s "${GOGO_TEST_REMOVED-unset}"'))
    assert task.result(HANG_GUARD) == "unset"


def test_env_is_merged_over_os_environ(rt, monkeypatch):
    monkeypatch.setenv("GOGO_TEST_BASE", "base")
    monkeypatch.setenv("GOGO_TEST_OVER", "old")
    task = rt.go(
        "exec",
        argv=sh('printf "%s|%s|%s" "$GOGO_TEST_BASE" "$GOGO_TEST_OVER" "$GOGO_TEST_NEW"'),
        env={"GOGO_TEST_OVER": "new", "GOGO_TEST_NEW": "added"},
    )
    assert task.result(HANG_GUARD) == "base|new|added"
    assert os.environ["GOGO_TEST_OVER"] == "old"  # os.environ itself is left alone
    assert "GOGO_TEST_NEW" not in os.environ


def test_env_values_are_literal(rt):
    value = "$(id) `id` ; * \n ☃ 'q' \"dq\""
    task = rt.go(
        "exec", argv=sh('printf %s "$GOGO_TEST_LITERAL"'), env={"GOGO_TEST_LITERAL": value}
    )
    assert task.result(HANG_GUARD) == value


def test_empty_env_keeps_os_environ(rt):
    path = rt.go("exec", argv=sh('printf %s "$PATH"'), env={}).result(HANG_GUARD)
    assert path == os.environ["PATH"]


def make_tool(folder) -> str:
    """An executable script with a unique name in `folder`; returns the name."""
    name = f"gogo-tool-{uuid.uuid4().hex[:12]}"
    path = folder / name
    path.write_text("#!/bin/sh\necho tool ran\n")
    path.chmod(0o755)
    return name


def test_program_is_looked_up_in_the_path_of_env(rt, tmp_path):
    name = make_tool(tmp_path)
    task = rt.go("exec", argv=[name], env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert task.result(HANG_GUARD) == "tool ran\n"


def test_program_is_looked_up_in_the_current_path(rt, tmp_path, monkeypatch):
    rt.go("echo", data="the runtime is running").result(HANG_GUARD)
    name = make_tool(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert rt.go("exec", argv=sh('printf %s "$PATH"')).result(HANG_GUARD) == os.environ["PATH"]
    assert rt.go("exec", argv=[name]).result(HANG_GUARD) == "tool ran\n"


def test_cwd(rt, tmp_path):
    (tmp_path / "marker.txt").write_text("here")
    task = rt.go("exec", argv=["cat", "marker.txt"], cwd=str(tmp_path))
    assert task.result(HANG_GUARD) == "here"
    pwd = rt.go("exec", argv=sh("pwd -P"), cwd=str(tmp_path)).result(HANG_GUARD)
    assert pwd == os.path.realpath(tmp_path) + "\n"


def test_default_cwd_is_the_process_cwd(rt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pwd = rt.go("exec", argv=sh("pwd -P")).result(HANG_GUARD)
    assert pwd == os.path.realpath(tmp_path) + "\n"


# ---- max_bytes ---------------------------------------------------------------------------------


def test_max_bytes(rt):
    argv = ["head", "-c", "2000", "/dev/zero"]
    assert rt.go("exec", argv=argv, max_bytes=2000).result_bytes(HANG_GUARD) == bytes(2000)
    assert rt.go("exec", argv=argv, max_bytes=2001).result_bytes(HANG_GUARD) == bytes(2000)
    assert_fails(rt.go("exec", argv=argv, max_bytes=1999), "max_bytes")


def test_default_max_bytes_is_64_mib(rt):
    exact = rt.go("exec", argv=["head", "-c", str(64 * MiB), "/dev/zero"])
    assert len(exact.result_bytes(HANG_GUARD)) == 64 * MiB
    over = rt.go("exec", argv=["head", "-c", str(64 * MiB + 1), "/dev/zero"])
    assert_fails(over, "max_bytes")


def test_max_bytes_stops_an_endless_program(rt):
    token = sleep_token()  # only a marker here: `yes` prints it forever
    task = rt.go("exec", argv=["yes", token], max_bytes=MiB)
    assert_fails(task, "max_bytes")
    assert wait_until(lambda: not with_arg(token), KILL_GUARD), with_arg(token)


# ---- cancel, deadline and close kill the whole process group -------------------------------------

TREE = "sleep {t} & sleep {t}"
IGNORES_TERM = 'trap "" TERM; sleep {t}'


@pytest.mark.parametrize(("script", "count"), [(TREE, 2), (IGNORES_TERM, 1)], ids=["tree", "term"])
def test_cancel_kills_the_process_group(rt, script, count):
    task, tree, token = start_tree(rt, script, count)
    assert task.status is Status.RUNNING
    assert task.cancel() is True
    assert task.status is Status.CANCELLED
    with pytest.raises(TaskCancelled):
        task.result(HANG_GUARD)
    assert_tree_killed(tree, token)


@pytest.mark.parametrize(("script", "count"), [(TREE, 2), (IGNORES_TERM, 1)], ids=["tree", "term"])
def test_deadline_kills_the_process_group(rt, script, count):
    task, tree, token = start_tree(rt, script, count, timeout=3.0)
    with pytest.raises(TaskTimedOut):
        task.result(HANG_GUARD)
    assert task.status is Status.FAILED
    assert_tree_killed(tree, token)


def test_closing_the_task_kills_the_process_group(rt):
    task, tree, token = start_tree(rt, TREE, 2)
    task.close()
    assert_tree_killed(tree, token)


def test_closing_the_runtime_kills_the_process_group():
    with Runtime() as runtime:
        _, tree, token = start_tree(runtime, TREE, 2)
    assert_tree_killed(tree, token)


def test_deadline_stops_a_sleep(rt):
    started = time.monotonic()
    task = rt.go("exec", argv=["sleep", "300"], timeout=0.5)
    with pytest.raises(TaskTimedOut):
        task.result(HANG_GUARD)
    assert time.monotonic() - started < 10


def test_program_whose_background_child_keeps_stdout_open(rt):
    token = sleep_token()
    try:
        task = rt.go("exec", argv=sh('sleep "$1" & echo started', token))
        assert task.result(HANG_GUARD) == "started\n"
        assert task.meta["exit_code"] == 0
    finally:
        for p in with_arg(token):  # the background sleep is not the task's to keep
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)


def test_finished_program_leaves_no_zombie(rt):
    me = os.getpid()
    before = our_children(processes())
    tasks = [rt.go("exec", argv=["true"]) for _ in range(10)]
    for task in tasks:
        task.result(HANG_GUARD)
    assert wait_until(
        lambda: (
            not [
                p for p in processes().values() if p.ppid == me and p.zombie and p.pid not in before
            ]
        ),
        KILL_GUARD,
    )


# ---- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({}, "argv"),
        ({"argv": None}, "argv"),
        ({"argv": []}, "argv"),
        ({"argv": "echo hello"}, "argv"),
        ({"argv": b"echo"}, "argv"),
        ({"argv": ["echo", 1]}, "argv"),
        ({"argv": ["echo", b"bytes"]}, "argv"),
        ({"argv": ["echo", None]}, "argv"),
        ({"argv": ["echo"], "stdin": 1}, "stdin"),
        ({"argv": ["echo"], "stdin": ["x"]}, "stdin"),
        ({"argv": ["echo"], "env": "A=1"}, "env"),
        ({"argv": ["echo"], "env": ["A=1"]}, "env"),
        ({"argv": ["echo"], "env": {"A": 1}}, "env"),
        ({"argv": ["echo"], "env": {"A": b"1"}}, "env"),
        ({"argv": ["echo"], "cwd": 1}, "cwd"),
        ({"argv": ["echo"], "cwd": b"/tmp"}, "cwd"),
        ({"argv": ["echo"], "check": "yes"}, "check"),
        ({"argv": ["echo"], "check": 1}, "check"),
        ({"argv": ["echo"], "max_bytes": -1}, "max_bytes"),
        ({"argv": ["echo"], "max_bytes": "1"}, "max_bytes"),
        ({"argv": ["echo"], "shell": True}, "shell"),
    ],
)
def test_bad_arguments_raise_invalid_argument(rt, args, named):
    with pytest.raises(InvalidArgument) as info:
        rt.go("exec", **args)
    message = str(info.value)
    assert message.startswith("exec: "), message
    assert f"'{named}'" in message, message
    assert rt.stats().total == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"argv": ["echo", "a\x00b"]}, "argv"),
        ({"argv": ["echo\x00"]}, "argv"),
        ({"argv": ["echo"], "env": {"GOGO_TEST_NUL": "a\x00b"}}, "env"),
        ({"argv": ["echo"], "cwd": "/tmp\x00/x"}, "cwd"),
    ],
    ids=["argument", "program", "env", "cwd"],
)
def test_nul_bytes_are_invalid_arguments(rt, args, named):
    # As in subprocess (ValueError: embedded null byte): no program can receive them.
    with pytest.raises(InvalidArgument) as info:
        rt.go("exec", **args)
    assert f"'{named}'" in str(info.value)


def test_invalid_env_names_are_invalid_arguments(rt):
    for name in ("A=B", ""):
        with pytest.raises(InvalidArgument, match="'env'"):
            rt.go("exec", argv=["true"], env={name: "1"})


def test_bad_arguments_leave_os_environ_alone(rt):
    before = dict(os.environ)
    with pytest.raises(InvalidArgument):
        rt.go("exec", argv=["echo"], env={"GOGO_TEST_BAD": 1})
    assert dict(os.environ) == before


def test_args_dict_is_not_changed(rt):
    args = {"argv": ["echo", "x"], "env": {"GOGO_TEST_A": "1"}}
    snapshot = {"argv": list(args["argv"]), "env": dict(args["env"])}
    assert rt.go("exec", **args).result(HANG_GUARD) == "x\n"
    assert args == snapshot


def test_stdout_hash_of_a_big_pipeline(rt):
    # A real pipeline under sh, checked against hashlib.
    data = random.Random(5).randbytes(3 * MiB)
    task = rt.go("exec", argv=sh("cat | sha256sum"), stdin=data)
    assert task.result(HANG_GUARD).split()[0] == hashlib.sha256(data).hexdigest()
