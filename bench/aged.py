"""A database with history: the clients of bench/population.py and 181 days of their past.

Retention is 180 days, so the history goes one day further back: the first purge finds a
day's worth to delete, as every daily purge of a bot in steady state does.

- check-ins: every day for a third of the clients (client id divisible by 3), once a week
  for the rest, each with the outbox row that sent it (payload cleared, as the sender
  leaves it); a third of them answered.
- relays: every day a tenth of the clients write once (a relay link and its sent copy),
  and their specialist answers once (another link and copy); one message in five opens a
  conversation and has a header before it (a third link and message).
- processed updates: the last three days' messages and taps.

The schema comes from the bot's own migrations (Database.open); the rows are written with
plain SQL in the repositories' column order, in one process, for speed (100,000 clients:
about 20 million rows). The file is cached under ``$PORCHLIGHT_BENCH_CACHE`` (default: a
folder in the system's temporary directory), keyed by the size and ``VERSION``, so that
later runs only copy it (and Database.open migrates the copy forward).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from bench.population import Population, populate
from bot.storage.db import to_db
from bot.storage.migrations import MIGRATIONS

VERSION = 1  # raise when the generated history changes
# The migrations the cached files were first made with (their key; see aged_database).
FIRST_SCHEMA = [m.__name__ for m in MIGRATIONS if m.__name__ <= "m017_inbox_forwarded"]
HISTORY_DAYS = 181
RETENTION_DAYS = 180
WRITERS_PER_DAY = 0.1  # of the clients
HEADER_EVERY = 5  # one relayed message in five opens a conversation
UPDATE_MEMORY_DAYS = 3


def cache_dir() -> Path:
    """Where generated databases are kept between runs."""
    root = os.environ.get("PORCHLIGHT_BENCH_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / "porchlight-bench-cache"


def population_of(clients: int) -> Population:
    """The bench population at a size: a fifth in the storm, a specialist per 333."""
    if clients == 100_000:
        return Population.sized(quick=False)
    return Population(clients=clients, storm=clients // 5, specialists=max(1, clients // 333))


def aged_database(clients: int, history_days: int = HISTORY_DAYS) -> Path:
    """The cached aged database of this size, generated first if it is not there."""
    # Not keyed by the migrations: a copy is opened with Database.open, which brings a file
    # made before a later migration up to date, as it does a running bot's database.
    key = hashlib.sha256(
        repr((VERSION, clients, history_days, FIRST_SCHEMA)).encode()
    ).hexdigest()[:12]
    path = cache_dir() / f"aged-{clients}-{history_days}d-{key}.sqlite3"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        generate(partial, population_of(clients), history_days)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def copy_of(clients: int, destination: Path, history_days: int = HISTORY_DAYS) -> Path:
    """A private copy of the cached aged database (the cases write to theirs)."""
    for stale in (destination, Path(f"{destination}-wal"), Path(f"{destination}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(aged_database(clients, history_days), destination)
    return destination


def generate(path: Path, population: Population, history_days: int) -> None:
    """Clients by bench/population.py, then their history up to the population's start."""
    populate(path, population)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # No journal while generating: a run cut short leaves only a .partial file behind,
        # which the next run deletes.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")
        end = population.start
        for day in range(history_days, 0, -1):
            add_day(connection, population, end - timedelta(days=day))
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def add_day(connection: sqlite3.Connection, population: Population, day_start: datetime) -> None:
    """One day of history from day_start, in one transaction."""
    day = int(day_start.timestamp()) // 86_400
    link_id, message_id = connection.execute(
        "SELECT coalesce(max(id), 0), (SELECT coalesce(max(id), 0) FROM outbox) * 2"
        " FROM relay_links"
    ).fetchone()
    connection.execute("BEGIN")
    checkins = list(_checkins(population.clients, day_start, day))
    connection.executemany(
        "INSERT INTO checkins (client_id, kind, due_at, sent_at, prompt_key,"
        " answered_at, answer) VALUES (?, 'scheduled', ?, ?, ?, ?, ?)",
        checkins,
    )
    connection.executemany(
        "INSERT INTO outbox (chat_id, method, payload, priority, idempotency_key,"
        " at_most_once, status, attempts, not_before, created_at, sent_at,"
        " sent_message_id) VALUES (?, 'sendMessage', '{}', 1, ?, 1, 'sent', 1, ?, ?, ?, ?)",
        (
            (
                10_000_000 + client,
                f"checkin:{client}:{int(datetime.fromisoformat(due).timestamp())}",
                sent,
                sent,
                sent,
                message_id + n,
            )
            for n, (client, due, sent, *_) in enumerate(checkins)
        ),
    )
    links, copies = _relays(population.clients, population.specialists, day_start, day, link_id)
    connection.executemany(
        "INSERT INTO relay_links (id, client_id, specialist_id, direction,"
        " source_chat_id, source_message_id, dest_chat_id, dest_message_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        links,
    )
    connection.executemany(
        "INSERT INTO outbox (chat_id, method, payload, priority, relay_link_id, status,"
        " attempts, not_before, created_at, sent_at, sent_message_id)"
        " VALUES (?, ?, '{}', 0, ?, 'sent', 1, ?, ?, ?, ?)",
        copies,
    )
    if population.start - day_start <= timedelta(days=UPDATE_MEMORY_DAYS):
        connection.executemany(
            "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
            ((link[0], link[8]) for link in links),
        )
    connection.execute("COMMIT")


def _checkins(
    clients: int, day_start: datetime, day: int
) -> Iterator[tuple[int, str, str, str, str | None, str | None]]:
    """A day's check-ins: every third client daily, the rest on their weekday."""
    for client in range(1, clients + 1):
        if client % 3 and (client + day) % 7:
            continue
        due = day_start + timedelta(seconds=(client * 7919) % 86_400)
        stamp = to_db(due)
        answered = client % 3 == 1
        yield (
            client,
            stamp,
            stamp,
            f"p{client % 14 + 1:02d}",
            to_db(due + timedelta(hours=2)) if answered else None,
            "message" if answered else None,
        )


def _relays(
    clients: int, specialists: int, day_start: datetime, day: int, first_id: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """A day's relays: links, and the sent outbox rows that carried them."""
    links: list[tuple[object, ...]] = []
    copies: list[tuple[object, ...]] = []
    writers = int(clients * WRITERS_PER_DAY)
    for n in range(writers):
        client = (day * writers + n) % clients + 1
        specialist = client % specialists + 1
        client_chat, specialist_chat = 10_000_000 + client, 1_000 + specialist
        wrote = day_start + timedelta(seconds=(client * 104_729 + day) % 80_000)
        answered = wrote + timedelta(hours=1)
        steps: list[tuple[str, int | None, int, datetime, str]] = [
            ("to_specialist", client_chat, specialist_chat, wrote, "copyMessage")
        ]
        if n % HEADER_EVERY == 0:
            steps.insert(0, ("to_specialist", None, specialist_chat, wrote, "sendMessage"))
        steps.append(("to_client", specialist_chat, client_chat, answered, "copyMessage"))
        for direction, source, dest, moment, method in steps:
            link = first_id + len(links) + 1
            stamp = to_db(moment)
            links.append(
                (
                    link,
                    client,
                    specialist,
                    direction,
                    source,
                    None if source is None else link,
                    dest,
                    link,
                    stamp,
                )
            )
            copies.append((dest, method, link, stamp, stamp, stamp, link))
    return links, copies
