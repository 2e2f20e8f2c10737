"""A database of many clients, written fast with plain SQL, and the timeline that reads it.

The timeline: the engine starts at ``start`` (the first tick), then ticks once a minute
through an hour of ordinary minutes (about eight clients due in each at full size),
and then reaches ``storm_at``: 09:00 in Central Europe on a Monday, where exactly ``storm``
clients who all chose "daily 09:00" (or weekdays at 09:00) are due at once. Every other
client's next check-in falls at a random second of the following week, outside the storm
minute.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.domain.rhythm import Cadence, QuietHours, Rhythm, Window
from bot.storage.db import Database, to_db
from bot.storage.schedules import TICK_COLUMNS

SEED = 20250113
STORM_AT = datetime(2025, 1, 13, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
STORM_ZONES = ("Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Warsaw")
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC+05:30",
)
# None of these lands on 08:00 UTC in any zone above, so only storm clients fire then.
EXACT_TIMES = (time(7, 30), time(12, 15), time(19, 45), time(21, 0))
QUIET = QuietHours(time(22, 0), time(7, 0)).to_storage()
PROMPTS = tuple(f"p{number:02d}" for number in range(1, 15))


@dataclass(frozen=True)
class Population:
    """How many of whom, and when the benchmark's minutes fall."""

    clients: int
    storm: int
    specialists: int
    ordinary_ticks: int = 60

    @classmethod
    def sized(cls, quick: bool) -> Population:
        """100,000 clients with a storm of 20,000, or a tenth of that for a smoke run."""
        if quick:
            return cls(clients=10_000, storm=2_000, specialists=30)
        return cls(clients=100_000, storm=20_000, specialists=300)

    @property
    def storm_at(self) -> datetime:
        """The minute where `storm` clients are due together."""
        return STORM_AT

    @property
    def start(self) -> datetime:
        """The first tick: ordinary minutes follow it, one a minute, up to the storm."""
        return STORM_AT - timedelta(minutes=self.ordinary_ticks + 1)

    def ordinary_minutes(self) -> list[datetime]:
        """The ticks between the start and the storm."""
        return [self.start + timedelta(minutes=k) for k in range(1, self.ordinary_ticks + 1)]


CLIENT_COLUMNS = (
    "id",
    "telegram_user_id",
    "chat_id",
    "alias",
    "specialist_id",
    "status",
    "language",
    "timezone",
    "consent_version",
    "consented_at",
    "created_at",
    "cadence",
    "weekdays",
    "window",
    "at",
    "quiet",
    "timezone_chosen",
    "next_due_at",
    "last_slot",
    "unanswered",
    "last_prompt",
    "last_sent_kind",
)


def _storm_rhythm(rng: random.Random) -> Rhythm:
    if rng.random() < 0.7:
        return Rhythm(Cadence.DAILY, at=time(9, 0))
    return Rhythm(Cadence.WEEKDAYS, frozenset(range(5)), at=time(9, 0))


def _ordinary_rhythm(rng: random.Random) -> Rhythm:
    cadence = rng.choice([cadence for cadence in Cadence if cadence is not Cadence.WHEN_I_WRITE])
    if cadence is Cadence.WEEKLY:
        weekdays = frozenset({rng.randrange(7)})
    elif cadence is Cadence.WEEKDAYS:
        weekdays = frozenset(rng.sample(range(7), rng.randint(2, 5)))
    else:
        weekdays = frozenset()
    if rng.random() < 0.2:
        return Rhythm(cadence, weekdays, at=rng.choice(EXACT_TIMES))
    return Rhythm(cadence, weekdays, window=rng.choice(list(Window)))


def _ordinary_due(rng: random.Random, population: Population) -> datetime:
    """A random second of the week from the first tick's minute, outside the storm minute."""
    first = population.start - timedelta(minutes=1)
    storm_minute = population.storm_at - timedelta(minutes=1)
    while True:
        due = first + timedelta(seconds=rng.randrange(7 * 24 * 3600))
        if not storm_minute < due <= population.storm_at:
            return due


def client_rows(population: Population) -> list[tuple[object, ...]]:
    """One row of CLIENT_COLUMNS per client, the same for every run."""
    rng = random.Random(SEED)
    storm_ids = set(rng.sample(range(1, population.clients + 1), population.storm))
    joined = to_db(population.start - timedelta(days=90))
    yesterday = (population.storm_at - timedelta(days=1)).date()
    rows: list[tuple[object, ...]] = []
    for client_id in range(1, population.clients + 1):
        storm = client_id in storm_ids
        rhythm = _storm_rhythm(rng) if storm else _ordinary_rhythm(rng)
        stored = rhythm.to_storage()
        due = population.storm_at if storm else _ordinary_due(rng, population)
        last_slot: date = yesterday if storm else due.date() - timedelta(days=1)
        rows.append(
            (
                client_id,
                10_000_000 + client_id,
                10_000_000 + client_id,
                f"client {client_id}",
                client_id % population.specialists + 1,
                "active",
                "en",
                rng.choice(STORM_ZONES if storm else ZONES),
                1,
                joined,
                joined,
                stored["cadence"],
                stored["weekdays"],
                stored["window"],
                stored["at"],
                QUIET if rng.random() < 0.2 else None,
                1,
                to_db(due),
                last_slot.isoformat(),
                # One in twenty has let three check-ins pass: they get the ease-off offer.
                3 if rng.random() < 0.05 else rng.randrange(3),
                rng.choice(PROMPTS),
                "checkin",
            )
        )
    return rows


def specialist_rows(population: Population) -> list[tuple[object, ...]]:
    """One row per specialist."""
    created = to_db(population.start - timedelta(days=365))
    return [
        (number, 1_000 + number, 1_000 + number, f"Specialist {number}", 1, created)
        for number in range(1, population.specialists + 1)
    ]


def insert_clients(connection: sqlite3.Connection, clients: Sequence[Sequence[object]]) -> None:
    """Insert rows in CLIENT_COLUMNS order: each into clients, and the columns a tick
    changes into the tick row that comes with it (client_ticks, m024)."""
    own = [n for n, name in enumerate(CLIENT_COLUMNS) if name not in TICK_COLUMNS]
    ticks = [n for n, name in enumerate(CLIENT_COLUMNS) if name in TICK_COLUMNS]
    names = ", ".join(CLIENT_COLUMNS[n] for n in own)
    marks = ", ".join("?" for _ in own)
    connection.executemany(
        f"INSERT INTO clients ({names}) VALUES ({marks})",
        [[row[n] for n in own] for row in clients],
    )
    changes = ", ".join(f"{CLIENT_COLUMNS[n]} = ?" for n in ticks)
    connection.executemany(
        f"UPDATE client_ticks SET {changes} WHERE client_id = ?",
        [[*(row[n] for n in ticks), row[0]] for row in clients],
    )


def populate(path: Path, population: Population) -> None:
    """Create the schema with the bot's own migrations, then fill it with plain SQL."""
    write_rows(path, specialist_rows(population), client_rows(population))


def migrate(path: Path) -> None:
    """Create or bring up to date the database at path with the bot's own migrations."""

    async def opened_and_closed() -> None:
        database = await Database.open(path)
        await database.close()

    asyncio.run(opened_and_closed())


def write_rows(
    path: Path, specialists: Sequence[Sequence[object]], clients: Sequence[Sequence[object]]
) -> None:
    """Migrate a new database at path and insert the rows (clients in CLIENT_COLUMNS order)."""

    migrate(path)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO specialists"
            " (id, telegram_user_id, chat_id, display_name, active, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            specialists,
        )
        insert_clients(connection, clients)
        connection.execute("COMMIT")
        # Leave one self-contained file behind, so that copying it copies everything.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
