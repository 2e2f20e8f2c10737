"""What every tick asks of the specialists is found through an index, not by reading them all
(3,000 specialists at 1,000,000 clients), and the answers are the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.storage.db import Database
from bot.storage.specialists import SpecialistRepository

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 30)


async def test_ended_away_times_and_daily_summaries_are_found_through_indexes(
    db: Database,
) -> None:
    repo = SpecialistRepository(db)
    async with db.transaction():
        people = [await repo.add(1000 + n, f"Staff {n}", NOW) for n in range(40)]
        await repo.set_away(people[3].id, date(2026, 11, 29), None)  # ended yesterday
        await repo.set_away(people[4].id, date(2026, 12, 5), None)  # still away
        await repo.set_digest(people[7].id, time(18, 0), None)
        await repo.set_digest(people[8].id, time(18, 0), None)
        await repo.deactivate(people[8].id)  # gone: no more summaries
    statements: list[str] = []
    raw = db._connection
    async with db.autocommit():
        await raw._execute(raw._conn.set_trace_callback, statements.append)
        ended = await repo.away_ended(TODAY)
        with_digest = await repo.with_digest()
        await raw._execute(raw._conn.set_trace_callback, None)
        plans = [
            row["detail"]
            for sql in statements
            for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}")
        ]
    assert [s.id for s in ended] == [people[3].id]
    assert [s.id for s in with_digest] == [people[7].id]
    assert len(statements) == 2
    # Through the index: its rows are only the specialists the question is about (and
    # each one's language by its key in staff_languages).
    assert [plan for plan in plans if "specialists" in plan] == [
        "SEARCH specialists USING INDEX specialists_away (away_until<?)",
        "SCAN specialists USING INDEX specialists_digest",
    ]
    languages = [plan for plan in plans if plan.startswith(("SEARCH l", "SCAN l"))]
    assert languages == ["SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"] * 2
