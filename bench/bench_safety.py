"""The safety screen: how much of the labelled corpus it catches, and how fast it is.

- corpus: recall (urgent and concern together) and false alarms per language and per
  family, on tests/domain/safety_corpus/<language>.tsv (our own corpus: the targets of
  issue 12 are for held-out sets written by others, so these figures are a floor, not
  proof);
- load: `SafetyScreen.load` of every language, each time in a fresh Python process (no
  warm caches), after the import;
- screen: 4,096-character messages (corpus sentences among everyday words, each message
  different), screened as the bot does for a Spanish conversation (Spanish, then English)
  and as the inbox does (every language); p99 per run, over several runs.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from bench.harness import Figure, at_least, at_most, info, median, percentile
from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen

TITLE = "Safety screen"
ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "domain" / "safety_corpus"
LANGUAGES = ("en", "es")
MESSAGE_LENGTH = 4096
LOAD_RUNS = 7
SCREEN_RUNS = 5
MESSAGES_PER_RUN = 400


def prepare(workdir: Path, quick: bool) -> None:
    """Nothing to build: the cases read the shipped files and the corpus."""


def corpus(language: str) -> list[tuple[str, str, str]]:
    """(level, family, message) rows of one language's corpus."""
    rows: list[tuple[str, str, str]] = []
    for line in (CORPUS_DIR / f"{language}.tsv").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            level, family, text = line.split("\t", 2)
            rows.append((level, family, text))
    return rows


async def corpus_case(workdir: Path, quick: bool) -> list[Figure]:
    screen = SafetyScreen.load(CONFIG_DIR / "safety")
    figures: list[Figure] = []
    for language in LANGUAGES:
        rows = corpus(language)
        by_family: dict[tuple[str, str], list[bool]] = defaultdict(list)
        crisis: list[bool] = []
        urgent_kept: list[bool] = []
        benign: list[bool] = []
        for level, family, text in rows:
            found = screen.screen(text, language)
            if level == "none":
                benign.append(found is not None)
                by_family["false alarms", family].append(found is not None)
            else:
                crisis.append(found is not None)
                by_family["recall", family].append(found is not None)
                if level == "urgent":
                    urgent_kept.append(found is not None and found.level == "urgent")
        figures += [
            at_least(f"{language}: recall, urgent+concern", _share(crisis), "of crisis", 0.9),
            at_most(f"{language}: false alarms", _share(benign), "of benign", 0.05),
            info(f"{language}: urgent messages screened urgent", _share(urgent_kept), "share"),
            info(f"{language}: messages (crisis / benign)", len(crisis), f"/ {len(benign)}"),
        ]
        for (what, family), hits in sorted(by_family.items()):
            figures.append(info(f"{language}: {what}, {family} ({len(hits)})", _share(hits), ""))
    return figures


def _share(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits) if hits else float("nan")


LOAD_CHILD = """
import json, time
from pathlib import Path
started = time.perf_counter()
from bot.domain.safety import SafetyScreen
imported = time.perf_counter()
cpu = time.process_time()
SafetyScreen.load(Path({folder!r}))
print(json.dumps([imported - started, time.perf_counter() - imported, time.process_time() - cpu]))
"""


async def load_case(workdir: Path, quick: bool) -> list[Figure]:
    imports: list[float] = []
    loads: list[float] = []
    cpus: list[float] = []
    for _ in range(LOAD_RUNS):
        done = subprocess.run(  # noqa: ASYNC221 (one after the other, on purpose)
            [sys.executable, "-c", LOAD_CHILD.format(folder=str(CONFIG_DIR / "safety"))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        imported, loaded, cpu = json.loads(done.stdout)
        imports.append(imported * 1000)
        loads.append(loaded * 1000)
        cpus.append(cpu * 1000)
    return [
        info("load, every language, fresh process: wall min", min(loads), "ms"),
        info("load, every language, fresh process: wall median", median(loads), "ms"),
        info("load, every language, fresh process: wall max", max(loads), "ms"),
        info("load, every language, fresh process: CPU min", min(cpus), "ms"),
        at_most("load, every language, fresh process: CPU median", median(cpus), "ms", 100),
        info("load, every language, fresh process: CPU max", max(cpus), "ms"),
        info("import of bot.domain.safety: wall median", median(imports), "ms"),
    ]


def messages(count: int, seed: int) -> list[str]:
    """Distinct 4,096-character messages: corpus sentences among everyday words."""
    rng = random.Random(seed)
    sentences = [text for language in LANGUAGES for _, _, text in corpus(language)]
    filler = [
        "so",
        "today",
        "was",
        "long",
        "and",
        "I",
        "went",
        "to",
        "the",
        "shop",
        "then",
        "home",
        "again",
        "and",
        "we",
        "talked",
        "about",
        "the",
        "weekend",
        "the",
        "weather",
        "my",
        "sister",
        "her",
        "new",
        "job",
        "the",
        "bus",
        "was",
        "late",
        "again",
        "and",
        "honestly",
        "I",
        "am",
        "tired",
        "but",
        "fine",
        "hoy",
        "fue",
        "un",
        "día",
        "largo",
        "fuimos",
        "al",
        "mercado",
        "y",
        "hablamos",
        "de",
        "todo",
        "un",
        "poco",
    ]
    made: list[str] = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < MESSAGE_LENGTH:
            piece = rng.choice(sentences) if rng.random() < 0.08 else rng.choice(filler)
            parts.append(piece)
            length += len(piece) + 1
        made.append(" ".join(parts)[:MESSAGE_LENGTH])
    return made


async def screen_case(workdir: Path, quick: bool) -> list[Figure]:
    """Wall time (what a relay waits) and the thread's CPU time (the screen's own cost, the
    same on a busy machine: other processes' turns on the CPU are not in it)."""
    screen = SafetyScreen.load(CONFIG_DIR / "safety")
    per_run = MESSAGES_PER_RUN // (4 if quick else 1)
    walls: list[float] = []
    cpus: list[float] = []
    p50s: list[float] = []
    every: list[float] = []
    for run in range(SCREEN_RUNS):
        wall: list[float] = []
        cpu: list[float] = []
        every_cpu: list[float] = []
        for text in messages(per_run, seed=run):
            started, started_cpu = time.perf_counter(), time.thread_time()
            screen.screen(text, "es")
            cpu.append((time.thread_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            started_cpu = time.thread_time()
            screen.screen_all(text, "en")
            every_cpu.append((time.thread_time() - started_cpu) * 1000)
        walls.append(percentile(wall, 0.99))
        cpus.append(percentile(cpu, 0.99))
        p50s.append(percentile(cpu, 0.5))
        every.append(percentile(every_cpu, 0.99))
    load = os.getloadavg()[0]
    name = "4,096 characters, Spanish then English"
    return [
        info(f"{name}: CPU p50, median run", median(p50s), "ms"),
        info(f"{name}: CPU p99, best run", min(cpus), "ms"),
        at_most(f"{name}: CPU p99, median run", median(cpus), "ms", 2),
        info(f"{name}: CPU p99, worst run", max(cpus), "ms"),
        info(f"{name}: wall p99, best run", min(walls), "ms"),
        info(f"{name}: wall p99, median run", median(walls), "ms"),
        info(f"{name}: wall p99, worst run", max(walls), "ms"),
        info("4,096 characters, every language (inbox): CPU p99, median run", median(every), "ms"),
        info(f"runs x messages per run ({SCREEN_RUNS} x {per_run})", SCREEN_RUNS * per_run, ""),
        info(
            "machine load average (1 min) at the end",
            load,
            "on 2 CPUs" if os.cpu_count() == 2 else "",
        ),
    ]


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    "corpus": corpus_case,
    "load": load_case,
    "screen": screen_case,
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to compare across cases."""
    return []
