"""The benchmarks' own copies of a population are what they say (bench/)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_restart import PRISTINE, _overdue_copy
from bench.population import Population, populate
from bot.storage.db import from_db

SMALL = Population(clients=300, storm=120, specialists=4)


def test_the_restart_bench_copy_has_the_storm_due_a_minute_ago(tmp_path: Path) -> None:
    populate(tmp_path / PRISTINE, SMALL)
    before = datetime.now(UTC)
    path = _overdue_copy(tmp_path, SMALL, 0)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT t.next_due_at, c.quiet FROM clients c JOIN client_ticks t"
            " ON t.client_id = c.id WHERE t.next_due_at IS NOT NULL"
        ).fetchall()
    # The storm's clients came due together a minute before the copy, out of quiet hours.
    [(storm_at, count)] = Counter(at for at, _ in rows).most_common(1)
    assert count == SMALL.storm
    assert before - timedelta(minutes=1, seconds=5) < from_db(storm_at) < before
    assert [quiet for at, quiet in rows if at == storm_at] == [None] * SMALL.storm
