"""``python -m gogoroutines``: info and demo."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import gogoroutines

HANG_GUARD = 60.0
KINDS = ("goroutine", "task", "delayed", "sleep", "echo")
STATS_RE = re.compile(r"Total: \d+, Active: \d+, Completed: \d+, Failed: \d+, Go Routines: \d+")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gogoroutines", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


@pytest.fixture(scope="module")
def info_output() -> str:
    proc = run_cli()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_info_prints_the_version(info_output):
    assert info_output.splitlines()[0] == f"gogoroutines {gogoroutines.__version__}"


def test_info_prints_go_version_and_gomaxprocs(info_output):
    assert re.search(r"^Go version\s+go1\.\d+\S* \(linux/\w+\)$", info_output, re.M)
    match = re.search(r"^GOMAXPROCS\s+(\d+) \(CPUs: (\d+)\)$", info_output, re.M)
    assert match, info_output
    assert int(match.group(1)) >= 1
    assert int(match.group(2)) >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_info_lists_every_kind(info_output, kind):
    assert re.search(rf"^  {kind}\(", info_output, re.M), info_output


def test_info_lists_the_arguments(info_output):
    assert re.search(r"^  task\(task\)$", info_output, re.M)
    assert re.search(r"^  delayed\(delay_ms\)$", info_output, re.M)
    assert re.search(r"^  sleep\(seconds\)$", info_output, re.M)
    assert re.search(r"^  echo\(data\)$", info_output, re.M)
    assert re.search(r"^  goroutine\(\)$", info_output, re.M)
    assert re.search(r"^\s+delay_ms\s+int\s+required\b", info_output, re.M)


def test_info_subcommand_is_the_default(info_output):
    proc = run_cli("info")
    assert proc.returncode == 0
    assert proc.stdout == info_output


def test_demo_runs_and_prints_stats():
    proc = run_cli("demo", "-n", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert out.startswith("Starting 5 goroutines")
    stats = STATS_RE.findall(out)
    assert len(stats) >= 2
    assert stats[-1].startswith("Total: 8, Active: 0, Completed: 8, Failed: 0, ")
    assert "users: Task 'Fetch users' completed!" in out
    assert "products: Task 'Fetch products' completed!" in out
    assert "orders: Task 'Fetch orders' completed!" in out
    assert re.search(r"last result: Callback executed after \d+ms", out)
    assert re.search(r"All 8 tasks done in [\d.]+ s of wall time\.", out)


def test_demo_rejects_a_count_below_one():
    proc = run_cli("demo", "-n", "0")
    assert proc.returncode == 2
    assert "--count must be at least 1" in proc.stderr


def test_unknown_command_fails():
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_main_in_process(capsys):
    from gogoroutines.__main__ import info, main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    data = info()
    assert {"goroutine", "task", "delayed", "sleep", "echo"} <= {k["name"] for k in data["kinds"]}
    assert f"GOMAXPROCS     {data['gomaxprocs']} " in out
