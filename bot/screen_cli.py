"""`python -m bot screen` and `python -m bot train-screen`: the safety screen from a shell.

Neither needs a token or a database. `screen` reads messages one a line and prints how the
bot would flag each; `train-screen` learns config/safety/model.json again from labelled
messages (after a programme adds its own, or a developer changes the corpus).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.config import CONFIG_DIR, EXIT_CONFIG
from bot.domain.safety import MODEL_FILE, SafetyConfigError, SafetyScreen
from bot.domain.screen_model import MODEL_MIN_WORDS, TextModel

# The corpus a source checkout learns from (not in an installed package): the files here
# and in its train/ folder (never those in blind/, kept to measure with).
CORPUS_DIR = Path(__file__).resolve().parents[1] / "tests" / "domain" / "safety_corpus"
FALSE_ALARMS = 0.04


def add_screen_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `screen` and `train-screen` subcommands."""
    summary = (
        "screen messages (one a line on standard input) as the bot would: urgent,"
        " concern or none, and the category (no token, no database)"
    )
    screen = commands.add_parser("screen", help=summary, description=summary.capitalize())
    screen.add_argument(
        "--language", default="en", help="the conversation's language (default en)"
    )
    screen.add_argument(
        "--explain",
        action="store_true",
        help="add a fourth column: the model's score, the phrase found, the weightiest words",
    )
    summary = "learn the screen's model again from labelled messages (no token, no database)"
    train = commands.add_parser("train-screen", help=summary, description=summary.capitalize())
    train.add_argument(
        "files",
        nargs="*",
        type=Path,
        help=f"corpus files: level<TAB>category<TAB>style<TAB>message (default: {CORPUS_DIR})",
    )
    train.add_argument(
        "--calibrate",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="labelled files NOT learnt from, to set the threshold on (default: each corpus"
        " file scored by a model learnt from the others)",
    )
    train.add_argument(
        "--recalibrate",
        action="store_true",
        help="learn nothing: set the model file's threshold again on the --calibrate files",
    )
    train.add_argument(
        "--out", type=Path, default=CONFIG_DIR / "safety" / MODEL_FILE, help="the model file"
    )
    train.add_argument(
        "--false-alarms",
        type=float,
        default=FALSE_ALARMS,
        help=f"the share of ordinary messages it may flag (default {FALSE_ALARMS})",
    )


def corpus_files() -> list[Path]:
    """The corpus a checkout learns from by default: never the blind sets."""
    return sorted([*CORPUS_DIR.glob("*.tsv"), *CORPUS_DIR.glob("train/*.tsv")])


def screen_command(language: str, explain: bool) -> int:
    """LEVEL<TAB>CATEGORY<TAB>message for each line read (and how, with --explain)."""
    try:
        screen = SafetyScreen.load(CONFIG_DIR / "safety")
    except SafetyConfigError as error:
        print(f"Error in the safety configuration: {error}", file=sys.stderr)
        return EXIT_CONFIG
    out = sys.stdout
    for raw in sys.stdin.buffer:
        message = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        found = screen.screen(message, language)
        level, category = (found.level, found.category) if found else ("none", "-")
        line = f"{level}\t{category}\t{message}"
        if explain:
            line += "\t" + screen.explain(message, language)
        out.buffer.write(f"{line}\n".encode())
    out.flush()
    return 0


def train_command(
    files: list[Path],
    out: Path,
    false_alarms: float,
    calibrate: list[Path],
    recalibrate: bool = False,
) -> int:
    """Learn, print each file's out-of-fold figures, write the model (whole or not at all);
    or, with recalibrate, only set the model file's thresholds again."""
    # Imported here: the bot itself never learns, so it never loads this.
    from bot.domain.screen_training import (
        CorpusError,
        calibrate_model,
        corpus_digest,
        language_of,
        read_corpus,
        train,
    )

    if not 0 < false_alarms < 1:
        print(f"--false-alarms must be between 0 and 1, not {false_alarms}", file=sys.stderr)
        return EXIT_CONFIG
    paths = [] if recalibrate else files or corpus_files()
    if not paths and not recalibrate:
        print(f"No corpus files given and none in {CORPUS_DIR}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        screen = SafetyScreen.load(CONFIG_DIR / "safety", with_model=False)
        categories = screen.categories()
        rows = [
            row
            for path in paths
            for row in read_corpus(path, categories, language_of(path, screen.languages))
        ]
        calibration = [
            row
            for path in calibrate
            for row in read_corpus(path, categories, language_of(path, screen.languages))
        ]
        languages = sorted({row.language for row in rows})
    except (SafetyConfigError, CorpusError, OSError) as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    if (calibrate or recalibrate) and not any(row.level == "none" for row in calibration):
        print("The --calibrate files hold no ordinary messages", file=sys.stderr)
        return EXIT_CONFIG
    if recalibrate:
        try:
            model = TextModel.load(out)
        except (OSError, ValueError) as error:
            print(error, file=sys.stderr)
            return EXIT_CONFIG
        ordinary = [row for row in calibration if row.level == "none"]
        try:
            calibrate_model(model, screen, ordinary, false_alarms)
        except CorpusError as error:
            print(error, file=sys.stderr)
            return EXIT_CONFIG
        return _write(model, out, "the calibration files")
    if {row.level == "none" for row in rows} != {True, False}:
        print("The corpus needs crisis and ordinary messages both", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Learning from {len(rows)} messages in {len(paths)} files ...", flush=True)
    try:
        model, outcomes = train(rows, screen, false_alarms, categories, calibration, languages)
    except CorpusError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    model.corpus = corpus_digest(paths)
    print("Each file scored by a model learnt from the others:")
    print(f"  {'file':<24} {'crisis caught':>16} {'ordinary flagged':>18}")
    for outcome in outcomes:
        caught = f"{outcome.caught}/{outcome.crisis}"
        flagged = f"{outcome.flagged}/{outcome.benign}"
        print(f"  {outcome.source:<24} {caught:>16} {flagged:>18}")
    return _write(model, out, "the calibration files" if calibrate else "those scores")


def _write(model: TextModel, out: Path, set_on: str) -> int:
    """Say where the thresholds are, then write the model file whole or not at all."""
    print(
        f"Threshold {model.threshold:.3f}; phrases count from {model.urgent_floor:.3f} if"
        f" urgent, {model.floor:.3f} if concern; under {MODEL_MIN_WORDS} words the model flags"
        f" from {model.short_threshold:.3f} (set on {set_on})"
    )
    temporary = out.with_name(out.name + ".new")
    try:
        temporary.write_text(model.to_json(), encoding="utf-8")
        os.replace(temporary, out)
    except OSError as error:
        print(f"Could not write {out}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Wrote {out}")
    return 0
