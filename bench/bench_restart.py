"""Restart readiness: a real `python -m bot run` process, 100,000 clients, 20,000 overdue.

``prepare`` writes the population of bench/population.py. Each run copies it and moves
every client's next check-in by the same offset, so that the storm's 20,000 clients came
due a minute before the process starts (their quiet hours cleared: at the real hour of the
run they might fall inside them, and the tick would hold them back instead of sending).
Then it starts `python -m bot run` against the fake Bot API (in this process; the bot has
its own; every client's chat exists there, so check-ins are delivered) and reads the bot's
log from its stderr: the moment `bot.started` appears, the first `checkins.tick` (how many
it sent, how long it took) and `tick.first_done` (the whole first tick), at LOG_LEVEL=INFO
as a bot runs (at DEBUG every message sent is a line). The first tick queues a slice of
the storm (bot.scheduling.SLICE_SECONDS) and a drain job queues the rest beside the ticks:
`checkins.drained` says when the whole storm is queued (a bot from before the slices queued
it all in its first tick: then that moment is the first tick's end). As soon as the bot says
`bot.started`, one client writes: the time until their words reach their specialist
(copyMessage at the fake API) is what a person waits while the storm is being queued, and
the time until the bot has handled them (`relay.to_specialist`: kept, screened, queued; the
copy then follows its header into the specialist's chat a second later, Telegram's pace for
one chat). Times
are from just before the process is spawned. ``RUNS`` runs, min/median/max.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Figure, at_most, exactly, info, median
from bench.population import Population, populate
from bot.demo.bot_api import FakeBotApi
from bot.storage.db import from_db, to_db

TITLE = "Restart (a real process)"
PRISTINE = "restart.sqlite3"
TOKEN = "123456:BENCH-TOKEN-not-a-real-one-0123"
ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
READY_SECONDS = 2
LINE_TIMEOUT_SECONDS = 120
_MS = re.compile(r"\bms=([0-9.]+)")
_SENT = re.compile(r"\bsent=([0-9]+)")
_OFFERS = re.compile(r"\boffers=([0-9]+)")
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def prepare(workdir: Path, quick: bool) -> None:
    """The population every run copies."""
    populate(workdir / PRISTINE, Population.sized(quick))


def _overdue_copy(workdir: Path, population: Population, run: int) -> Path:
    """A copy where the storm came due a minute ago, and everyone else moved alike."""
    path = workdir / f"restart-{run}.sqlite3"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(workdir / PRISTINE, path)
    shift = datetime.now(UTC) - timedelta(minutes=1) - population.storm_at
    storm = to_db(population.storm_at)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        rows = connection.execute("SELECT client_id, next_due_at FROM client_ticks").fetchall()
        connection.execute("BEGIN")
        connection.executemany(
            "UPDATE client_ticks SET next_due_at = ? WHERE client_id = ?",
            ((to_db(from_db(due) + shift), client) for client, due in rows),
        )
        connection.executemany(
            "UPDATE clients SET quiet = NULL WHERE id = ?",
            ((client,) for client, due in rows if due == storm),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return path


def _chats(path: Path) -> list[int]:
    """Every client's and specialist's chat."""
    connection = sqlite3.connect(path)
    try:
        query = "SELECT chat_id FROM clients UNION SELECT chat_id FROM specialists"
        return [chat for (chat,) in connection.execute(query)]
    finally:
        connection.close()


def _writer(path: Path) -> tuple[int, int]:
    """An active client's chat and their specialist's chat."""
    connection = sqlite3.connect(path)
    try:
        row = connection.execute(
            "SELECT c.chat_id, s.chat_id FROM clients c JOIN specialists s"
            " ON s.id = c.specialist_id WHERE c.status = 'active' ORDER BY c.id LIMIT 1"
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        connection.close()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def _compiled(root: Path) -> None:
    """The bot's modules compiled, as pip compiles them when it installs the bot: with
    PYTHONDONTWRITEBYTECODE set (as in this project's Dockerfile and on many machines) a
    process run from the source tree would compile about a hundred modules at every start,
    which no installed bot does (about 0.4 s of CPU here)."""
    compileall.compile_dir(root / "bot", quiet=1)


async def _one_run(workdir: Path, population: Population, run: int) -> dict[str, float]:
    _compiled(ROOT)
    path = _overdue_copy(workdir, population, run)
    api = FakeBotApi(token=TOKEN, bot_id=123456, bot_username="porchlight_bench_bot")
    # Everyone has opened the bot: a check-in is delivered, not refused as to a chat that
    # does not exist (each refusal is a log line and a note queued for the specialist).
    for chat in _chats(path):
        api.add_user(chat, "Bench")
    client_chat, specialist_chat = _writer(path)
    await api.start()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_", "SEND_", "CHECKIN_", "LOG_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        DATABASE_PATH=str(path),
        LOG_LEVEL="INFO",  # as a bot runs; tick.first_done is an INFO line
        PYTHONPATH=str(ROOT),
    )
    found: dict[str, float] = {}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None

    def relayed() -> bool:
        return any(c.params.get("chat_id") == specialist_chat for c in api.calls_to("copyMessage"))

    async def one_client_writes() -> None:
        asked = time.perf_counter()
        found["asked"] = asked - started
        api.send_text(client_chat, "a bench message, after a restart")
        await api.wait_until(relayed, timeout=LINE_TIMEOUT_SECONDS, what="the relay")
        found["relay"] = time.perf_counter() - asked

    def read(line: str, at: float) -> None:
        if "event=bot.started" in line:
            found["started"] = at
            found["started_cpu"] = _cpu_seconds(process.pid)
            tasks.append(asyncio.create_task(one_client_writes()))
        elif "event=checkins.tick" in line and "checkins" not in found:
            found["checkins"] = at
            found["checkins_ms"] = float(_MS.findall(line)[0])
            found["sent"] = float(_SENT.findall(line)[0]) + float(_OFFERS.findall(line)[0])
        elif "event=tick.first_done" in line:
            found["done"] = at
            found["done_ms"] = float(_MS.findall(line)[0])
            found["cpu"] = _cpu_seconds(process.pid)
            if "more=true" not in line:  # all queued in the first tick
                found["drained"] = at
        elif "event=checkins.drained" in line:
            found["drained"] = at
            found["drain_sent"] = float(_SENT.findall(line)[0])
        elif "event=relay.to_specialist" in line and "handled" not in found:
            found["handled"] = at - found["asked"]

    async def read_lines() -> None:
        # Read to the end, also after the figures: a full pipe would stop the bot.
        assert process.stderr is not None
        async for raw in process.stderr:
            read(raw.decode(), time.perf_counter() - started)
        ended.set()

    tasks: list[asyncio.Task[None]] = []
    ended = asyncio.Event()
    tasks.append(asyncio.create_task(read_lines()))
    try:
        deadline = time.perf_counter() + LINE_TIMEOUT_SECONDS * 3
        while "drained" not in found or "relay" not in found:
            if ended.is_set():
                raise RuntimeError("the bot ended before the storm was queued")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"timed out with {sorted(found)}")
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
        for task in tasks:
            task.cancel()
        await api.stop()
    return found


async def restart(workdir: Path, quick: bool) -> list[Figure]:
    """RUNS restarts with the storm overdue; figures are min / median / max."""
    population = Population.sized(quick)
    runs = [await _one_run(workdir, population, run) for run in range(RUNS)]

    def spread(key: str) -> tuple[float, float, float]:
        values = [run[key] for run in runs]
        return min(values), median(values), max(values)

    figures = [exactly("runs", len(runs), "runs", RUNS)]
    for key, name, unit, scale in (
        ("started", "process start to bot.started", "s", 1.0),
        ("started_cpu", "bot process CPU from start to bot.started", "s", 1.0),
        ("done", "process start to first tick done", "s", 1.0),
        ("checkins_ms", "first tick: check-in part", "ms", 1.0),
        ("done_ms", "first tick: whole", "ms", 1.0),
        ("cpu", "bot process CPU from start to first tick done", "s", 1.0),
        ("drained", "process start to the whole storm queued", "s", 1.0),
        ("handled", "a client's words, written at bot.started, relayed by the bot", "s", 1.0),
        ("relay", "the same words' copy at their specialist", "s", 1.0),
    ):
        low, middle, high = spread(key)
        if key == "done":
            figures.append(at_most(f"{name}, median", middle * scale, unit, READY_SECONDS))
        else:
            figures.append(info(f"{name}, median", middle * scale, unit))
        figures += [
            info(f"{name}, min", low * scale, unit),
            info(f"{name}, max", high * scale, unit),
        ]
    figures.append(
        info("check-ins and offers queued by the first tick, min", spread("sent")[0], "messages")
    )
    return figures


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {"restart": restart}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to combine."""
    return []
