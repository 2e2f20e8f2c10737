"""`python -m bot report`: the programme report as one HTML file (and CSV files)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot.config import Settings
from bot.domain.clock import SystemClock

EXIT_FAILURE = 1
DEFAULT_OUT = "./report.html"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-30") from None


def add_report_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `report` subcommand and its options."""
    summary = "write the programme report (HTML with charts; CSV with --csv)"
    report = commands.add_parser(
        "report", help=summary, description=summary[0].upper() + summary[1:]
    )
    report.add_argument("--from", dest="first", type=_date, help="first day (default: 12 weeks)")
    report.add_argument("--to", dest="last", type=_date, help="last day (default: today)")
    report.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="the HTML file")
    report.add_argument("--csv", type=Path, help="also write one CSV file per section here")
    report.add_argument(
        "--by-specialist", action="store_true", help="the same figures per specialist too"
    )


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write the report; one line saying where, or one line saying why not."""
    # Here, not at the top: every command line builds the parser that adds this command.
    from bot.report.charts import ChartsUnavailable
    from bot.report.figures import PeriodError
    from bot.services.container import Services

    if args.first and args.last and args.first > args.last:
        print("--from comes after --to: swap them.", file=sys.stderr)
        return EXIT_FAILURE
    services = await Services.open(settings, SystemClock())
    try:
        written = await services.report.write(
            args.out, args.csv, args.first, args.last, by_specialist=args.by_specialist
        )
    except (ChartsUnavailable, PeriodError) as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        print(f"Could not write the report: {error}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        await services.close()
    print(f"Wrote {', '.join(str(path) for path in written)}")
    return 0
