"""The report's pictures: matplotlib drawing inline SVG (an optional extra).

matplotlib is well kept, draws without a display, and writes SVG whose text stays text
(svg.fonttype none): the page needs no font files, and every label can be checked for
the small-cell rule. A hidden figure ("<5" or "*") is drawn as an empty bar so labelled, so
neither the bar's height nor its label tells the number.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

from bot.report.figures import Cell
from bot.report.tables import Chart

MISSING = 'the report\'s charts need matplotlib: pip install -e ".[report]"'
LABELLED_WEEKS = 16
COLOURS = ("#3b6ea5", "#e0a33a", "#7a9e5a", "#b55a5a", "#8a6fb0")


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed (the `report` extra)."""


@functools.cache
def _pyplot() -> Any:
    """pyplot, set up once (an rcParams update per chart cost a quarter of the drawing)."""
    try:
        import matplotlib

        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ChartsUnavailable(MISSING) from error
    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "porchlight",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def available() -> None:
    """Raise ChartsUnavailable (one line naming the extra) unless matplotlib is there."""
    _pyplot()


def _label(cell: Cell, unit: str) -> str:
    if cell.hidden:
        return cell.text
    if cell.number is None or cell.number == 0:
        return ""
    return f"{cell.text} {unit}".strip()


def svg(chart: Chart) -> str:
    """One chart as an inline <svg> element (no XML prologue, no metadata)."""
    plt = _pyplot()
    if chart.kind == "totals":
        figure, axes = plt.subplots(figsize=(6.4, 0.5 + 0.4 * len(chart.labels)))
        cells = chart.series[0][1]
        values = [cell.number or 0.0 for cell in cells]
        bars = axes.barh(chart.labels, values, color=COLOURS[0])
        axes.invert_yaxis()
        axes.bar_label(bars, labels=[_label(cell, "") for cell in cells], padding=3)
        axes.set_xticks([])
        axes.spines["bottom"].set_visible(False)
        figure.subplots_adjust(left=0.26, right=0.95, top=0.86, bottom=0.04)
    else:
        figure, axes = plt.subplots(figsize=(6.4, 2.8))
        positions = range(len(chart.labels))
        if chart.kind == "lines":
            for number, (name, cells) in enumerate(chart.series):
                values = [
                    cell.number if cell.number is not None else float("nan") for cell in cells
                ]
                axes.plot(positions, values, marker="o", label=name, color=COLOURS[number])
            axes.yaxis.set_major_formatter(lambda value, _: f"{value:g} {chart.unit}")
            axes.set_ylim(bottom=0)
        else:
            width = 0.8 / max(1, len(chart.series))
            for number, (name, cells) in enumerate(chart.series):
                offsets = [p + (number - (len(chart.series) - 1) / 2) * width for p in positions]
                values = [cell.number or 0.0 for cell in cells]
                bars = axes.bar(offsets, values, width, label=name, color=COLOURS[number])
                # Over a long period only "<5" is written on the bars: the tables below
                # hold every figure, and a label per bar would be unreadable (and slow).
                long = len(chart.labels) > LABELLED_WEEKS
                labels = [
                    cell.text if cell.hidden else "" if long else _label(cell, "")
                    for cell in cells
                ]
                axes.bar_label(bars, labels=labels, padding=2, fontsize=7)
            axes.set_yticks([])
            axes.spines["left"].set_visible(False)
            # Labels of hidden or empty weeks sit on the baseline, not mid-air.
            tallest = max((cell.number or 0.0 for _, cells in chart.series for cell in cells))
            axes.set_ylim(0, tallest * 1.15 if tallest else 1.0)
        axes.set_xticks(list(positions), chart.labels, fontsize=8)
        axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, 1.18), ncol=3)
        # Fixed margins: tight_layout measured every text first and took half the time.
        figure.subplots_adjust(
            left=0.08 if chart.kind == "lines" else 0.03, right=0.98, top=0.78, bottom=0.1
        )
    axes.set_title(chart.title, loc="left", fontsize=10, pad=22 if chart.kind != "totals" else 6)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Scale with the page: the viewBox stays, the fixed size goes.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
