"""The report as one self-contained HTML page, and its tables as CSV files.

The page has no external reference at all (no scripts, fonts, images or CDNs): styles
are inline and the charts are inline SVG, so it opens offline and can be mailed as it is.
It reads on a phone (tables scroll sideways, charts scale) and prints on A4.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path

from bot.report.figures import SMALL, SUPPRESSED, Table

FOOTER = (
    "Privacy: this report holds no message content, no client names or aliases and no "
    f"Telegram ids. Counts of 1 to 4, and any rate or time worked out from 1 to 4 cases, "
    f"are shown as \u201c{SMALL}\u201d; a figure shown as \u201c{SUPPRESSED}\u201d is hidden "
    "too, so that a hidden count cannot be worked out from a total. A client who erased "
    "their data is counted only in the weekly totals recorded before, never as a person."
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:60rem;padding:1rem;line-height:1.4}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:2px solid #3b6ea5}h3{font-size:1rem}
.meta{color:#555}.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .45rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#eef3f8}
figure{margin:.5rem 0}svg{width:100%;height:auto;max-width:40rem}
footer{margin-top:2rem;font-size:.8rem;color:#444;border-top:1px solid #ccc}
@media print{@page{size:A4;margin:14mm}body{max-width:none;padding:0}
section,figure,table{break-inside:avoid}h2{break-after:avoid}}
"""


@dataclass(frozen=True)
class Part:
    """A heading with its tables and charts (the programme, or one specialist)."""

    title: str
    tables: list[Table]
    charts: list[str]


def table_html(table: Table) -> str:
    """One table as HTML."""
    head = "".join(f"<th>{html.escape(column)}</th>" for column in table.columns)
    body = "".join(
        "<tr>"
        + f"<td>{html.escape(label)}</td>"
        + "".join(f"<td>{html.escape(cell.text)}</td>" for cell in cells)
        + "</tr>"
        for label, cells in table.rows
    )
    return (
        f'<h3>{html.escape(table.title)}</h3><div class="scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def render(title: str, period: str, made: str, parts: list[Part]) -> str:
    """The whole page."""
    sections = []
    for part in parts:
        charts = "".join(f"<figure>{chart}</figure>" for chart in part.charts)
        tables = "".join(table_html(table) for table in part.tables)
        sections.append(f"<section><h2>{html.escape(part.title)}</h2>{charts}{tables}</section>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="meta">{html.escape(period)} &middot; made {html.escape(made)}</p>'
        + "".join(sections)
        + f"<footer><p>{html.escape(FOOTER)}</p></footer></body></html>\n"
    )


def csv_text(tables: list[tuple[str | None, Table]]) -> str:
    """Tables of one section as CSV: ISO week first, then the specialist (if by specialist)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    by_specialist = any(name is not None for name, _ in tables)
    first = tables[0][1]
    writer.writerow(
        [first.columns[0], *(["specialist"] if by_specialist else []), *first.columns[1:]]
    )
    for name, table in tables:
        for label, cells in table.rows:
            extra = [name or "all"] if by_specialist else []
            writer.writerow([label, *extra, *(cell.text for cell in cells)])
    return out.getvalue()


def write_csv(folder: Path, sections: dict[str, list[tuple[str | None, Table]]]) -> list[Path]:
    """One CSV file per section in folder; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, tables in sections.items():
        path = folder / f"{name}.csv"
        path.write_text(csv_text(tables), encoding="utf-8")
        written.append(path)
    return written


def save(
    page: str,
    out: Path,
    sections: dict[str, list[tuple[str | None, Table]]],
    csv_folder: Path | None,
) -> list[Path]:
    """Write the page (and the CSV files, if asked); every path written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return [out, *(write_csv(csv_folder, sections) if csv_folder is not None else [])]
