"""The PNG chart of a run: one panel per case, speed against the case's reference.

Needs matplotlib (``pip install '.[bench]'``); :func:`write_chart` returns a
message instead of failing when it is missing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from .harness import CaseResult, Row

GOGO_COLOR = "#1f77b4"
OTHER_COLOR = "#b0b0b0"
GO_COLOR = "#00add8"


def _color(contender: str) -> str:
    if contender.startswith("gogoroutines"):
        return GOGO_COLOR
    if contender.startswith("pure Go"):
        return GO_COLOR
    return OTHER_COLOR


def _label(contender: str, width: int = 46) -> str:
    return contender if len(contender) <= width else contender[: width - 1] + "…"


def write_chart(results: Sequence[CaseResult], path: Path, title: str) -> str:
    """Draw the chart into ``path``; return what was done, for the log."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install '.[bench]')"

    panels: list[tuple[str, list[Row], str]] = []
    for result in results:
        rows = [r for r in result.rows if r.ratio is not None]
        if not rows:
            continue
        case = rows[0].case
        reference = result.data.get("reference", "reference")
        what = "loop rate as a fraction of solo" if result.key == "gil" else f"speed vs {reference}"
        panels.append((case, rows, what + " (higher is better)"))
        if result.key == "sleepers" and any(r.rss_kib for r in rows):
            panels.append((case, rows, "peak RSS, MiB (lower is better)"))
    if not panels:
        return "chart skipped: no results"

    heights = [1.0 + 0.32 * len(rows) for _, rows, _ in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(10, sum(heights) + 0.8),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (case, rows, what) in zip(axes[:, 0], panels, strict=True):
        names = [_label(r.contender) for r in rows][::-1]
        colors = [_color(r.contender) for r in rows][::-1]
        if what.startswith("peak RSS"):
            values = [(r.rss_kib or 0) / 1024 for r in rows][::-1]
            ax.barh(names, values, color=colors)
            for y, v in enumerate(values):
                ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
            ax.set_xlim(0, max(values) * 1.2)
        else:
            values = [r.ratio or 0.0 for r in rows][::-1]
            ax.barh(names, values, color=colors)
            ax.axvline(1.0, color="black", linewidth=0.8)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            for y, v in enumerate(values):
                ax.text(v, y, f" {v:.2f}x", va="center", fontsize=8)
            low = min(min(values), 1.0)
            ax.set_xlim(low / 1.6, max(max(values), 1.0) * 2.2)
        ax.set_title(textwrap.fill(f"{case}: {what}", 100), fontsize=9, loc="left")
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.99))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"wrote {path}"
