"""Shared machinery of the cases: interleaved runs, medians, rows, targets, child processes.

A *contender* is a callable doing its case's whole job once. It returns
``None`` (the harness times the call) or a dict with ``"seconds"`` (it timed
itself, e.g. inside a child process) and optionally ``"rss_kib"`` (the peak
resident set size of the process that did the work).
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gobench import GoBench

Contender = Callable[[], "Mapping[str, Any] | None"]


def log(message: str) -> None:
    """Progress on stderr, so that stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Config:
    """What every case gets: sizes mode, round limits and shared resources."""

    quick: bool
    big: bool
    rounds: int | None  # None: each case's default
    scratch: Path  # a temporary directory, removed at exit
    gobench: GoBench | None  # None when no Go toolchain was found
    skip_missing: bool  # skip contenders whose packages are missing, with a note
    allow_install: bool  # may install nginx with apt-get
    http_server: str = "auto"  # "auto": nginx if it can be had; "python": the fallback
    notes: list[str] = field(default_factory=list)

    def pick_rounds(self, full: int, quick: int = 3) -> int:
        """The case's rounds: ``--rounds`` if given, else its full or quick default."""
        if self.rounds is not None:
            return self.rounds
        return quick if self.quick else full


@dataclass
class Samples:
    """The measurements of one contender over the rounds."""

    seconds: list[float] = field(default_factory=list)
    rss_kib: list[float] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def median_rss_kib(self) -> float | None:
        return statistics.median(self.rss_kib) if self.rss_kib else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seconds": self.seconds,
            "median_seconds": self.median,
            "min_seconds": min(self.seconds) if self.seconds else None,
        }
        if self.rss_kib:
            out["rss_kib"] = self.rss_kib
            out["median_rss_kib"] = self.median_rss_kib
        if self.extra:
            out["extra"] = self.extra
        if self.error:
            out["error"] = self.error
        return out


def interleaved(
    label: str, contenders: Mapping[str, Contender], rounds: int, budget: float
) -> dict[str, Samples]:
    """Run each contender once per round, in turn (A B C A B C ...).

    At most ``rounds`` rounds; no new round starts once ``budget`` seconds have
    passed (the first round always runs whole). A contender that raises is
    reported with its error and left out of the later rounds.
    """
    samples = {name: Samples() for name in contenders}
    started = time.monotonic()
    for round_no in range(1, rounds + 1):
        if round_no > 1 and time.monotonic() - started > budget:
            log(f"  {label}: time budget of {budget:.0f} s spent after {round_no - 1} rounds")
            break
        parts = []
        for name, run in contenders.items():
            s = samples[name]
            if s.error is not None:
                continue
            gc.collect()
            t0 = time.perf_counter()
            try:
                out = run()
            except Exception as err:  # reported in the table, the other contenders go on
                s.error = f"{type(err).__name__}: {err}"
                s.error = " ".join(s.error.split())  # one line, for the table
                log(f"  {label}: {name} failed: {s.error}")
                continue
            wall = time.perf_counter() - t0
            if out is not None and "seconds" in out:
                s.seconds.append(float(out["seconds"]))
                if out.get("rss_kib") is not None:
                    s.rss_kib.append(float(out["rss_kib"]))
                rest = {k: v for k, v in out.items() if k not in ("seconds", "rss_kib", "digests")}
                if rest:
                    s.extra.append(rest)
            else:
                s.seconds.append(wall)
            parts.append(f"{short(name)} {fmt_time(s.seconds[-1])}")
        log(f"  {label} round {round_no}/{rounds}: " + ", ".join(parts))
    return samples


def short(name: str) -> str:
    """A contender's name up to its first parenthesis or comma, for progress lines."""
    for sep in (" (", ","):
        name = name.split(sep)[0]
    return name


# ---------------------------------------------------------------- rows and targets


@dataclass
class Row:
    """One line of the results table."""

    case: str
    contender: str
    median_s: float | None
    rate: str  # per-item cost or throughput, formatted
    ratio: float | None  # speed against the case's reference (higher is better)
    ratio_text: str
    rss_kib: float | None = None
    rss_ratio: float | None = None  # peak RSS against the reference's (lower is better)
    rounds: int = 0
    note: str = ""

    def cells(self) -> list[str]:
        median = fmt_time(self.median_s) if self.median_s is not None else "-"
        rss = fmt_kib(self.rss_kib) if self.rss_kib is not None else ""
        text = self.ratio_text + (f" ({self.note})" if self.note else "")
        return [self.case, self.contender, median, self.rate, rss, text]


@dataclass
class Target:
    """One of the issue's targets, and whether the measured figure meets it."""

    case: str
    goal: str
    measured: str
    met: bool | None  # None: not measured (a contender was missing or failed)

    def line(self) -> str:
        mark = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"- [{mark}] {self.goal}: {self.measured}"


@dataclass
class CaseResult:
    """What a case hands back: its rows, targets, notes and raw data for results.json."""

    key: str
    rows: list[Row]
    targets: list[Target]
    notes: list[str]
    data: dict[str, Any]


def speed_rows(
    case: str,
    samples: Mapping[str, Samples],
    reference: str,
    rate: Callable[[float], str],
    ratio_label: str = "",
    with_rss: bool = False,
) -> list[Row]:
    """Rows with the median time, ``rate(median)`` and speed against ``reference``.

    Peak RSS is shown only ``with_rss``: elsewhere some contenders measure it (child
    processes) and others cannot (they run in the harness), so it would mislead.
    """
    base = samples[reference].median if reference in samples else None
    rows = []
    for name, s in samples.items():
        m = s.median
        if m is None:
            rows.append(Row(case, name, None, "-", None, failed(s.error), rounds=0))
            continue
        ratio = base / m if base else None
        if name == reference:
            text = "1.00x (reference)"
        elif ratio is None:
            text = "-"
        else:
            text = f"{ratio:.2f}x{ratio_label}"
        rows.append(
            Row(
                case,
                name,
                m,
                rate(m),
                ratio,
                text,
                rss_kib=s.median_rss_kib if with_rss else None,
                rounds=len(s.seconds),
                note="" if s.error is None else f"failed after {len(s.seconds)} rounds",
            )
        )
    return rows


def failed(error: str | None, width: int = 90) -> str:
    """The table's cell for a contender that failed (the whole error is in results.json)."""
    text = f"failed: {error}"
    return text if len(text) <= width else text[: width - 3] + "..."


def ratio_of(samples: Mapping[str, Samples], faster: str, slower: str) -> float | None:
    """median(slower) / median(faster): how many times faster ``faster`` is."""
    a = samples[faster].median if faster in samples else None
    b = samples[slower].median if slower in samples else None
    if a is None or b is None or a == 0:
        return None
    return b / a


def at_least(case: str, goal: str, value: float | None, bound: float, unit: str = "x") -> Target:
    """A target met when ``value >= bound``."""
    if value is None:
        return Target(case, goal, "not measured", None)
    return Target(case, goal, f"{value:.2f}{unit}", value >= bound)


def at_most(case: str, goal: str, value: float | None, bound: float, unit: str = "x") -> Target:
    """A target met when ``value <= bound``."""
    if value is None:
        return Target(case, goal, "not measured", None)
    return Target(case, goal, f"{value:.2f}{unit}", value <= bound)


# ---------------------------------------------------------------- formatting


def fmt_time(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_per_item(seconds: float) -> str:
    """A per-item cost: µs below a millisecond, else ms."""
    if seconds < 1e-5:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def fmt_kib(kib: float) -> str:
    mib = kib / 1024
    return f"{mib:,.0f} MiB" if mib >= 100 else f"{mib:.1f} MiB"


def fmt_rate(value: float, unit: str) -> str:
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


# ---------------------------------------------------------------- child processes


class ChildFailed(RuntimeError):
    """A measuring child process exited with an error or printed no result."""


def run_json(
    argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run a measuring child process; return the JSON object on its last line of output.

    The child is killed if it runs longer than ``timeout`` seconds.
    """
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{Path(argv[0]).name} ran longer than {timeout:.0f} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ChildFailed(f"exit code {proc.returncode}: {' / '.join(tail) or 'no output'}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_python(code: str, args: Sequence[object], timeout: float) -> dict[str, Any]:
    """Run ``python -c code args...`` in a fresh interpreter (see :func:`run_json`).

    The code must print one JSON object as its last line; :data:`CHILD_PRELUDE`
    gives it ``report(seconds, **extra)`` which adds the peak RSS.
    """
    return run_json([sys.executable, "-c", CHILD_PRELUDE + code, *map(str, args)], timeout)


# The child's peak RSS is VmHWM, the high-water mark of its own address space. Not
# getrusage's ru_maxrss: on Linux that carries the parent's peak over fork + exec,
# so a small child of a big harness would report the harness's size.
CHILD_PRELUDE = """\
import json, resource, sys, time

def rss_kib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def report(seconds, **extra):
    print(json.dumps({"seconds": seconds, "rss_kib": rss_kib(), **extra}))

"""


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
