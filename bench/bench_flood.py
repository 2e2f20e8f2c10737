"""One busy chat: another client's relay through a backlog of 1,000, and urgent words first.

The real bot (``build_application`` + ``running``) against the fake Bot API server of
tests/fakes, over HTTP on 127.0.0.1, with Telegram's real limits enforced by the fake (30
messages a second, one a second in a chat) and the limiter as in config/settings.toml
(29/s, 1 s per chat). The fake runs in the bench's own process: the figures here are
seconds, not the milliseconds bench_delivery measures, so the fake's share of the CPU does
not matter.

Cases (each repeated RUNS times on a fresh database; min / median / max over the runs):

- ``backlog``: one client forwards FLOOD messages to their specialist; every copy waits for
  that one chat (one a second). Then WRITERS other clients, each with a specialist of their
  own, write three times each, 1.2 s apart. The figure is the time from the moment a
  writer's message reaches the fake's update queue to the moment its copy reaches the fake
  (p99 over the writers' messages, target <= 2 s). Each writer wrote once before the flood,
  so their copies follow without a header, as in bench_delivery.
- ``urgent``: one client's URGENT_BEHIND messages wait for their specialist's chat, then
  another client of the same specialist writes words the safety screen calls urgent. The
  figure is how many of the waiting ordinary copies reached the specialist after the urgent
  message was written and before its copy (target <= 1: the one already under way), and
  the time it took (two chat gaps at least: the one under way, then its header).

A copy that has not arrived WAIT_SECONDS after it was written counts as infinitely late.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import statistics
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_delivery import (
    BOT_ID,
    BOT_USERNAME,
    START,
    TOKEN,
    RunningClock,
    _client_row,
    _log_to,
)
from bench.harness import Figure, at_most, info, percentile
from bench.population import write_rows
from bot.app import build_application, running
from bot.config import load_settings
from bot.demo.bot_api import FakeBotApi
from bot.storage.db import to_db

TITLE = "Flood (one busy chat)"

FLOOD_SPECIALIST = 3000  # hears the flood (and the urgent message)
FLOODER, URGENT_WRITER = 4000, 4001
WRITER_BASE, WRITER_SPECIALIST_BASE = 5000, 3100
WRITERS = 10
WRITES_EACH = 3
WRITE_GAP = 1.2
URGENT_BEHIND = 40
URGENT_WORDS = "I want to end my life"
P99_TARGET_SECONDS = 2.0
WAIT_SECONDS = 60.0  # a copy later than this counts as infinitely late


def sizes(quick: bool) -> tuple[int, int]:
    """The flood and how many runs; --quick: a smoke run, not the figures."""
    return (200, 2) if quick else (1000, 5)


def _database(workdir: Path) -> Path:
    return workdir / "flood.sqlite3"


def prepare(workdir: Path, quick: bool) -> None:
    """One database: the flood's specialist with two clients, and the writers' pairs."""
    created = to_db(START - timedelta(days=365))
    specialists = [(1, FLOOD_SPECIALIST, FLOOD_SPECIALIST, "Flood", 1, created)]
    specialists += [
        (n + 1, WRITER_SPECIALIST_BASE + n, WRITER_SPECIALIST_BASE + n, f"W{n}", 1, created)
        for n in range(1, WRITERS + 1)
    ]
    clients = [
        _client_row(1, FLOODER, 1, "Forwarder", due=False),
        _client_row(2, URGENT_WRITER, 1, "Urgent", due=False),
    ]
    clients += [
        _client_row(n + 2, WRITER_BASE + n, n + 1, f"Writer {n}", due=False)
        for n in range(1, WRITERS + 1)
    ]
    write_rows(_database(workdir), specialists, clients)


def _clients() -> list[tuple[int, int]]:
    """Every client with their specialist's chat."""
    writers = [(WRITER_BASE + n, WRITER_SPECIALIST_BASE + n) for n in range(1, WRITERS + 1)]
    return [(FLOODER, FLOOD_SPECIALIST), (URGENT_WRITER, FLOOD_SPECIALIST), *writers]


def _users() -> list[int]:
    return [user for pair in _clients() for user in pair]


def _arrival(api: FakeBotApi, chat: int, source: tuple[int, int]) -> float | None:
    """When the copy of `source` reached the fake in `chat` (loop time), if it did."""
    for call in api.calls:
        if (
            call.method == "copyMessage"
            and call.ok
            and call.params.get("chat_id") == chat
            and (call.params.get("from_chat_id"), call.params.get("message_id")) == source
        ):
            return call.at
    return None


async def _copied(api: FakeBotApi, copies: Sequence[tuple[int, tuple[int, int]]]) -> list[float]:
    """When each copy (chat, source) arrived; infinitely late if it had not within
    WAIT_SECONDS of this call."""

    def missing() -> bool:
        return any(_arrival(api, chat, source) is None for chat, source in copies)

    with contextlib.suppress(AssertionError):
        await api.wait_until(lambda: not missing(), timeout=WAIT_SECONDS, what="the copies")
    moments = [_arrival(api, chat, source) for chat, source in copies]
    return [math.inf if moment is None else moment for moment in moments]


async def _waiting(services: Any, chat: int, count: int) -> None:
    """Until `count` messages wait in the outbox for the chat (the flood is queued)."""
    db = services.db
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        async with db.autocommit():
            rows = await db.fetch_all(
                "SELECT count(*) FROM outbox WHERE chat_id = ? AND status = 'pending'", (chat,)
            )
        if rows[0][0] >= count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"only {rows[0][0]} of {count} messages queued")
        await asyncio.sleep(0.05)


Run = Callable[[FakeBotApi, Any, int], Awaitable[list[float]]]


async def _with_bot(workdir: Path, run: int, measure: Run, flood: int) -> list[float]:
    """A fresh copy of the database, the fake with Telegram's limits, the bot; measure."""
    path = workdir / f"run-{run}.sqlite3"
    shutil.copyfile(_database(workdir), path)
    _log_to(workdir / f"run-{run}.log")
    api = FakeBotApi(token=TOKEN, bot_id=BOT_ID, bot_username=BOT_USERNAME)
    for user in set(_users()):
        api.add_user(user, f"User{user}")
    api.enforce_limits(per_second=30, per_chat_interval=1.0)
    await api.start()
    try:
        settings = load_settings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_base_url=api.base_url,
            database_path=path,
            send_per_second=29,
            send_per_chat_interval=1.0,
            checkin_tick_seconds=3600,
        )
        application = build_application(settings, RunningClock(START))
        async with running(application):
            services = application.bot_data.services
            # Warm-up: every writer's first message opens a conversation with a header.
            warm = [
                (chat, (user, api.send_text(user, "hello").message_id))
                for user, chat in _clients()
            ]
            if math.inf in await _copied(api, warm):
                raise RuntimeError("warm-up: a message was not relayed")
            await asyncio.sleep(1.1)  # the warm-up copies' chat gaps pass
            figures = await measure(api, services, flood)
            return [*figures, float(sum(1 for call in api.calls if call.error_code == 429))]
    finally:
        await api.stop()


async def _backlog(api: FakeBotApi, services: Any, flood: int) -> list[float]:
    """Seconds from each writer's message to its copy, with `flood` waiting in one chat."""
    for n in range(flood):
        api.send_text(FLOODER, f"forwarded {n}")
    await _waiting(services, FLOOD_SPECIALIST, flood - 10)
    loop = asyncio.get_running_loop()
    written: list[tuple[int, tuple[int, int], float]] = []
    for round_ in range(WRITES_EACH):
        for n in range(1, WRITERS + 1):
            user = WRITER_BASE + n
            message = api.send_text(user, f"round {round_}")
            written.append((WRITER_SPECIALIST_BASE + n, (user, message.message_id), loop.time()))
            await asyncio.sleep(WRITE_GAP / WRITERS)
    arrived = await _copied(api, [(chat, source) for chat, source, _ in written])
    return [moment - at for moment, (_, _, at) in zip(arrived, written, strict=True)]


async def _urgent(api: FakeBotApi, services: Any, flood: int) -> list[float]:
    """[ordinary copies that went before the urgent one after it was written, seconds]."""
    del flood
    sent = [api.send_text(FLOODER, f"forwarded {n}") for n in range(URGENT_BEHIND)]
    await _waiting(services, FLOOD_SPECIALIST, URGENT_BEHIND - 3)
    written_at = asyncio.get_running_loop().time()
    urgent = api.send_text(URGENT_WRITER, URGENT_WORDS)
    [arrived] = await _copied(api, [(FLOOD_SPECIALIST, (URGENT_WRITER, urgent.message_id))])
    ahead = 0
    for message in sent:
        at = _arrival(api, FLOOD_SPECIALIST, (FLOODER, message.message_id))
        if at is not None and written_at < at < arrived:
            ahead += 1
    return [float(ahead), arrived - written_at]


def _spread(name: str, values: Sequence[float], unit: str) -> list[Figure]:
    return [
        info(f"{name}: min", min(values), unit),
        info(f"{name}: median", statistics.median(values), unit),
        info(f"{name}: max", max(values), unit),
    ]


async def backlog_case(workdir: Path, quick: bool) -> list[Figure]:
    """Another client's relay through one chat's backlog, RUNS times."""
    flood, runs = sizes(quick)
    p99s, p50s = [], []
    answered_429 = 0.0
    for run in range(runs):
        *latencies, refused = await _with_bot(workdir, run, _backlog, flood)
        answered_429 += refused
        p99s.append(percentile(latencies, 0.99))
        p50s.append(percentile(latencies, 0.50))
    return [
        info("messages waiting in the busy chat", flood, "messages"),
        info("runs", runs, ""),
        at_most("another client's relay p99, worst run", max(p99s), "s", P99_TARGET_SECONDS),
        *_spread("another client's relay p99", p99s, "s"),
        *_spread("another client's relay p50", p50s, "s"),
        info("429 answers, all runs (the fake shares the bot's process)", answered_429, ""),
    ]


async def urgent_case(workdir: Path, quick: bool) -> list[Figure]:
    """Urgent words behind URGENT_BEHIND ordinary ones in the same chat, RUNS times."""
    _, runs = sizes(quick)
    ahead, seconds = [], []
    for run in range(runs):
        went_ahead, took, _ = await _with_bot(workdir, 100 + run, _urgent, 0)
        ahead.append(went_ahead)
        seconds.append(took)
    return [
        info("ordinary messages waiting before it", URGENT_BEHIND, "messages"),
        at_most("ordinary copies sent before it, worst run", max(ahead), "copies", 1),
        *_spread("urgent copy reached the specialist after", seconds, "s"),
    ]


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    "backlog": backlog_case,
    "urgent": urgent_case,
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to compare across cases."""
    del results
    return []
