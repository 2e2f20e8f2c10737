"""The safety screen: how much of the labelled corpus it catches, and how fast it is.

- corpus: recall (urgent and concern together) and false alarms per language and per
  category, on the blind sets in tests/domain/safety_corpus/blind/ (written by people who
  saw neither the phrases nor the corpus the model learnt from; the model never learnt
  from them), as the bot screens and with phrases alone. Judged on JUDGED, the sets
  nobody building the screen had read when they were measured; the DEV sets (the
  threshold was set on "calibrate"; "test" was read after it was measured) are shown;
- load: what the bot waits for before it serves (`SafetyScreen.load`, lazy), and the
  reading of phrases and model it does afterwards (`warm`), each time in a fresh Python
  process (no warm caches), after the import;
- screen: 4,096-character messages (corpus sentences among everyday words, each message
  different), screened as the bot does for a Spanish conversation (Spanish, then English)
  and as the inbox does (every language); p99 per run, over several runs.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from bench.harness import Figure, at_least, at_most, info, median, percentile, spread
from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen

TITLE = "Safety screen"
ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "domain" / "safety_corpus"
# Written by people who never saw the phrase files, the corpus or the model; measured, never
# learnt from (bot/screen_cli.py leaves this folder out).
BLIND_DIR = CORPUS_DIR / "blind"
LANGUAGES = ("en", "es")
# The blind sets nobody building the screen has read: the targets are judged on these.
JUDGED = ("test6",)
# Sets that once were blind and have since been looked at (dev sets now): shown, not judged.
DEV = ("test5", "test4", "test3", "test2", "test", "calibrate", "short")
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


def blind(name: str) -> list[tuple[str, str, str]]:
    """(level, category, message) rows of a blind set (never learnt from)."""
    rows: list[tuple[str, str, str]] = []
    for line in (BLIND_DIR / f"{name}.tsv").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            level, category, _, text = line.split("\t", 3)
            rows.append((level, category, text))
    return rows


async def corpus_case(workdir: Path, quick: bool) -> list[Figure]:
    """The blind sets, as the bot screens them and with phrases alone (no model)."""
    screens = {
        "model and phrases": SafetyScreen.load(CONFIG_DIR / "safety"),
        "phrases alone": SafetyScreen.load(CONFIG_DIR / "safety", with_model=False),
    }
    figures: list[Figure] = []
    for blind_set, language in itertools.product((*JUDGED, *DEV), LANGUAGES):
        rows = blind(f"{blind_set}_{language}")
        for name, screen in screens.items():
            by_category: dict[tuple[str, str], list[bool]] = defaultdict(list)
            crisis: list[bool] = []
            urgent_kept: list[bool] = []
            benign: list[bool] = []
            for level, category, text in rows:
                found = screen.screen(text, language)
                if level == "none":
                    benign.append(found is not None)
                else:
                    crisis.append(found is not None)
                    by_category["recall", category].append(found is not None)
                    if level == "urgent":
                        urgent_kept.append(found is not None and found.level == "urgent")
            label = f"{blind_set} {language}, {name}"
            if name == "phrases alone" or blind_set not in JUDGED:
                figures += [
                    info(f"{label}: recall, urgent+concern", _share(crisis), "of crisis"),
                    info(f"{label}: false alarms", _share(benign), "of benign"),
                ]
                continue
            figures += [
                at_least(f"{label}: recall, urgent+concern", _share(crisis), "of crisis", 0.9),
                at_most(f"{label}: false alarms", _share(benign), "of benign", 0.05),
                info(f"{label}: urgent messages screened urgent", _share(urgent_kept), "share"),
                info(f"{label}: messages (crisis / benign)", len(crisis), f"/ {len(benign)}"),
            ]
            for (what, category), hits in sorted(by_category.items()):
                figures.append(
                    info(f"{label}: {what}, {category} ({len(hits)})", _share(hits), "")
                )
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
screen = SafetyScreen.load(Path({folder!r}), lazy=True)
loaded, loaded_cpu = time.perf_counter(), time.process_time()
screen.warm()
print(json.dumps([
    imported - started,
    loaded - imported,
    loaded_cpu - cpu,
    time.perf_counter() - loaded,
    time.process_time() - loaded_cpu,
]))
"""


async def load_case(workdir: Path, quick: bool) -> list[Figure]:
    imports: list[float] = []
    loads: list[float] = []
    cpus: list[float] = []
    warms: list[float] = []
    warm_cpus: list[float] = []
    for _ in range(LOAD_RUNS):
        done = subprocess.run(  # noqa: ASYNC221 (one after the other, on purpose)
            [sys.executable, "-c", LOAD_CHILD.format(folder=str(CONFIG_DIR / "safety"))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        imported, loaded, cpu, warm, warm_cpu = json.loads(done.stdout)
        imports.append(imported * 1000)
        loads.append(loaded * 1000)
        cpus.append(cpu * 1000)
        warms.append(warm * 1000)
        warm_cpus.append(warm_cpu * 1000)
    # What the bot waits for before it serves (SafetyScreen.load, lazy); the phrases and
    # the model are then read in a worker thread while it serves (warm).
    name = "load before serving, every language, fresh process"
    later = "reading phrases and model after the start (worker thread)"
    return [
        *spread(f"{name}: wall", loads, "ms"),
        *spread(f"{name}: CPU", cpus, "ms", limit=100),
        *spread(f"{later}: CPU", warm_cpus, "ms"),
        info(f"{later}: wall median", median(warms), "ms"),
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
        info(f"{name}: CPU p50, best run", min(p50s), "ms"),
        info(f"{name}: CPU p50, median run", median(p50s), "ms"),
        info(f"{name}: CPU p50, worst run", max(p50s), "ms"),
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
