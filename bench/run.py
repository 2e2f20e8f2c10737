"""Run every benchmark in bench/ and print one table: `python -m bench.run [--quick]`.

Each benchmark module is bench/bench_*.py (see bench/harness.py for what it holds). Its
``prepare`` and each of its cases run in a fresh Python process, so that one case's peak
memory is its own; a case prints its figures as one JSON line, which this runner collects.
``--record bench/RESULTS.md`` also writes the table with the machine it ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import pkgutil
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import bench
from bench.harness import Figure

MARKER = "BENCH-FIGURES "
CHILD_TIMEOUT_SECONDS = 3600  # bench_aged generates its database on a first run


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure and where it came from."""

    benchmark: str
    case: str
    figure: Figure


def benchmark_modules() -> list[str]:
    """The benchmark modules of bench/, by name."""
    return sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.startswith("bench_")
    )


# ---------------------------------------------------------------------------------- children


def _child(module_name: str, case: str | None, workdir: Path, quick: bool) -> None:
    """In the child process: prepare, or run one case and print its figures."""
    module = importlib.import_module(module_name)
    if case is None:
        module.prepare(workdir, quick)
        return
    figures: list[Figure] = asyncio.run(module.CASES[case](workdir, quick))
    print(MARKER + json.dumps([figure.to_json() for figure in figures]), flush=True)


def _spawn(module_name: str, case: str | None, workdir: Path, quick: bool) -> list[Figure]:
    command = [sys.executable, "-m", "bench.run", "--child", module_name]
    command += ["--workdir", str(workdir)]
    if case is not None:
        command += ["--case", case]
    if quick:
        command.append("--quick")
    done = subprocess.run(
        command, stdout=subprocess.PIPE, text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        what = f"{module_name} {case or 'prepare'}"
        raise RuntimeError(f"{what} exited with {done.returncode}")
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return [Figure.from_json(item) for item in json.loads(line.removeprefix(MARKER))]
    return []


def run_module(module_name: str, quick: bool) -> list[Row]:
    """Prepare, run every case in its own process, then combine."""
    module = importlib.import_module(module_name)
    title: str = module.TITLE
    rows: list[Row] = []
    results: dict[str, list[Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="porchlight-bench-") as folder:
        workdir = Path(folder)
        started = time.perf_counter()
        _spawn(module_name, None, workdir, quick)
        print(f"  {title}: prepared in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for case in module.CASES:
            started = time.perf_counter()
            results[case] = _spawn(module_name, case, workdir, quick)
            rows += [Row(title, case, figure) for figure in results[case]]
            print(f"  {title}: {case} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows += [Row(title, "compared", figure) for figure in module.combine(results)]
    return rows


# ---------------------------------------------------------------------------------- output


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _ok(figure: Figure) -> str:
    return "" if figure.ok is None else ("yes" if figure.ok else "NO")


def _cells(row: Row) -> list[str]:
    figure = row.figure
    return [
        row.benchmark,
        f"{row.case}: {figure.name}",
        _number(figure.value),
        figure.unit,
        figure.target,
        _ok(figure),
    ]


HEADER = ["benchmark", "name", "figure", "unit", "target", "ok?"]
RIGHT = {2}


def text_table(rows: list[Row]) -> str:
    """The table for a terminal."""
    lines = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]

    def render(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in RIGHT else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(HEADER), rule, *(render(_cells(row)) for row in rows)])


def markdown_table(rows: list[Row]) -> str:
    """The table for RESULTS.md."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|--:|---|---|---|"]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """What the figures ran on."""
    model = platform.processor() or "unknown"
    lscpu = shutil.which("lscpu")
    if lscpu:
        listing = subprocess.run([lscpu], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    uname = platform.uname()
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU model (lscpu)": model,
        "memory": memory,
        "system (uname -srm)": f"{uname.system} {uname.release} {uname.machine}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "python-telegram-bot / APScheduler / aiosqlite": " / ".join(
            version(name) for name in ("python-telegram-bot", "APScheduler", "aiosqlite")
        ),
    }


NOTES_HEADING = "## Notes"


def record(path: Path, rows: list[Row], quick: bool, seconds: float) -> None:
    """Write the table, the machine and the command to a Markdown file.

    A "## Notes" section already in the file (what a person wrote about the figures) is
    kept, so that recording again does not erase it; read it against the new figures.
    """
    notes = ""
    if path.exists():
        text = path.read_text()
        if NOTES_HEADING in text:
            notes = text[text.index(NOTES_HEADING) :]
    command = "python -m bench.run" + (" --quick" if quick else "")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {when} by `{command} --record {path}` from the repository root"
        f" (whole run {seconds:.0f} s).",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine().items()),
        "",
        "## Figures",
        "",
        markdown_table(rows),
        "",
    ]
    path.write_text("\n".join(lines) + ("\n" + notes if notes else ""))


# ---------------------------------------------------------------------------------- main


def main() -> int:
    """Run the benchmarks (or, with --child, one part of one in this process)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the clients")
    parser.add_argument("--only", action="append", help="a module name, like bench_scheduling")
    parser.add_argument("--record", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.case, args.workdir, args.quick)
        return 0

    modules = benchmark_modules()
    if args.only:
        modules = [name for name in modules if name.removeprefix("bench.") in args.only]
    started = time.perf_counter()
    rows: list[Row] = []
    failed = False
    for module_name in modules:
        try:
            rows += run_module(module_name, args.quick)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"{module_name}: {error}", file=sys.stderr)
            failed = True
    seconds = time.perf_counter() - started
    print(text_table(rows))
    print(f"\n{len(modules)} benchmark(s) in {seconds:.0f} s" + (" (quick)" if args.quick else ""))
    if args.record:
        record(args.record, rows, args.quick, seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
