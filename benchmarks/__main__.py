"""``python -m benchmarks``: every case, interleaved, as one Markdown table of medians and ratios.

Cases: spawn, sleepers, http, hashing, subprocesses, gil (see benchmarks/README.md).
The full run takes a few minutes on 2 cores; ``--quick`` is a smoke run of
about a minute with small sizes (CI runs it; it never fails on timings).
Results go to benchmarks/results.json and a chart to benchmarks/results.png
(``--quick``: results-quick.*; a subset of the cases: results-partial.*).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import gogoroutines

from . import gil, hashing, http_fanout, sleepers, spawn, subprocesses
from .chart import write_chart
from .gobench import GoBench, GoUnavailable
from .harness import CaseResult, Config, log, markdown_table

HERE = Path(__file__).parent
CASES: dict[str, ModuleType] = {
    "spawn": spawn,
    "sleepers": sleepers,
    "http": http_fanout,
    "hashing": hashing,
    "subprocesses": subprocesses,
    "gil": gil,
}
NEEDS_GO = {"spawn", "sleepers", "http", "hashing"}
HEADERS = ["case", "contender", "median", "per item / rate", "peak RSS", "vs reference"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 rounds (~1 minute)")
    parser.add_argument("--big", action="store_true", help="1,000,000 sleepers instead of 100,000")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset to run (default: all of {','.join(CASES)})",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds per case (default: 5-11 per case, 3 with --quick)"
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="skip contenders whose packages or Go are missing, with a note (always so "
        "with --quick); otherwise a full run stops when one is missing",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not install nginx with apt-get (never done with --quick): fall back to "
        "a Python server when nginx is missing",
    )
    parser.add_argument(
        "--http-server",
        choices=("auto", "python"),
        default="auto",
        help="the HTTP case's server: nginx when it can be had (auto), or the labelled "
        "Python fallback (python)",
    )
    parser.add_argument("--no-chart", action="store_true", help="do not draw the PNG chart")
    args = parser.parse_args(argv)
    args.case_list = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.case_list if c not in CASES]
    if unknown or not args.case_list:
        parser.error(
            f"--cases: unknown {', '.join(unknown) or 'empty list'}; pick from {', '.join(CASES)}"
        )
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    cpu = ""
    mem_kib = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cpus": cpus,
        "memory_gib": round(mem_kib / 2**20, 1),
    }


def versions(gobench: GoBench | None) -> dict[str, Any]:
    from gogoroutines.__main__ import info

    out: dict[str, Any] = {
        "python": platform.python_version(),
        "gogoroutines": gogoroutines.__version__,
        "go_runtime_in_gogoroutines": info()["go_version"],
        "go_toolchain_for_pure_go": gobench.version if gobench else None,
    }
    for dist in ("aiohttp", "httpx", "requests", "matplotlib"):
        out[dist] = _version(dist)
    return out


def check_requirements(cases: list[str], gobench_error: str | None) -> list[str]:
    """What the selected cases need and is missing."""
    missing = []
    if gobench_error and NEEDS_GO & set(cases):
        missing.append(f"Go for the pure-Go contenders: {gobench_error}")
    if "http" in cases:
        missing += [f"the {p} package" for p in http_fanout.missing_packages()]
    return missing


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM ends the run like Ctrl-C: the with-blocks stop nginx and remove temp files.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    skip_missing = args.skip_missing or args.quick

    gobench = None
    gobench_error = None
    if NEEDS_GO & set(args.case_list):
        try:
            gobench = GoBench.build()
        except GoUnavailable as err:
            gobench_error = str(err)
    missing = check_requirements(args.case_list, gobench_error)
    if missing and not skip_missing:
        print(
            "missing for a full run: " + "; ".join(missing) + "\n"
            "install them (pip install '.[bench]') or pass --skip-missing (or --quick)",
            file=sys.stderr,
        )
        return 2

    mach = machine()
    vers = versions(gobench)
    header = (
        f"gogoroutines {vers['gogoroutines']} ({vers['go_runtime_in_gogoroutines']}), "
        f"Python {vers['python']}, {mach['machine']}, {mach['cpus']} CPUs"
        + (", --quick" if args.quick else "")
    )
    print(header, flush=True)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None

    results: list[CaseResult] = []
    notes: list[str] = []
    if gobench_error and NEEDS_GO & set(args.case_list):
        log(f"pure Go contenders skipped: {gobench_error}")
    with tempfile.TemporaryDirectory(prefix="gogoroutines-bench-") as scratch:
        cfg = Config(
            quick=args.quick,
            big=args.big,
            rounds=args.rounds,
            scratch=Path(scratch),
            gobench=gobench,
            skip_missing=skip_missing,
            allow_install=not (args.quick or args.no_install),
            http_server=args.http_server,
        )
        for name in args.case_list:
            log(f"{name} ...")
            run: Callable[[Config], CaseResult] = CASES[name].run
            result = run(cfg)
            results.append(result)
            notes += result.notes
    elapsed = time.monotonic() - started

    rows = [row.cells() for result in results for row in result.rows]
    print()
    print(markdown_table(HEADERS, rows))
    print()
    if args.quick:
        print("Targets (issue 5), set for the full sizes: at --quick's tenth of them")
        print("fixed costs weigh more (e.g. the idle process in the sleepers' RSS):")
    else:
        print("Targets (issue 5):")
    for result in results:
        for target in result.targets:
            print(target.line())
    if notes:
        print("\nNotes:")
        for note in notes:
            print(f"- {note}")
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"\nmedians of interleaved rounds; ran in {elapsed:.0f} s; "
        f"load average before/after: {_load(load_before)} / {_load(load_after)}"
    )

    # Only a full run replaces results.json / results.png (the chart the README shows).
    if args.quick:
        stem = "results-quick"
    elif set(args.case_list) != set(CASES):
        stem = "results-partial"
    else:
        stem = "results"
    out = {
        "date": date,
        "command": " ".join(
            ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": args.quick,
        "big": args.big,
        "seconds": round(elapsed, 1),
        "machine": {**mach, "load_average_before": load_before, "load_average_after": load_after},
        "versions": vers,
        "table": {"headers": HEADERS, "rows": rows},
        "targets": [
            {"case": t.case, "goal": t.goal, "measured": t.measured, "met": t.met}
            for result in results
            for t in result.targets
        ],
        "notes": notes,
        "cases": {result.key: result.data for result in results},
    }
    json_path = HERE / f"{stem}.json"
    json_path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {json_path}")
    if not args.no_chart:
        title = f"gogoroutines benchmarks, {date[:10]}: {header}"
        print(write_chart(results, HERE / f"{stem}.png", title))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _load(load: tuple[float, float, float] | None) -> str:
    return "n/a" if load is None else f"{load[0]:.1f}"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
