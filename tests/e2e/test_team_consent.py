"""Consent with the team inbox turned on and off: the terms' version and whether they say
the team reads along are kept apart (m021), so neither hides a change of the other."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from bot.domain.models import Terms
from bot.storage.migrations import MIGRATIONS, run_script
from tests.e2e.harness import Harness, tap
from tests.e2e.test_team import ALEX, BO, STAFF, team_bot, texts
from tests.fakes.bot_api import FakeBotApi

NOTE = "A short note before"


def notes(bot: Harness, user: int, since: int) -> list[str]:
    return [t for t in texts(bot.api.sent_to(user)[since:]) if t.startswith(NOTE)]


def test_terms_with_the_team_cover_the_same_version_only() -> None:
    assert Terms(3, team=True).covers(Terms(3))
    assert not Terms(2, team=True).covers(Terms(3))  # was 2001 >= 3
    assert not Terms(3).covers(Terms(3, team=True))
    assert Terms(4).covers(Terms(3)) and not Terms(4).covers(Terms(3, team=True))


async def test_turning_the_team_inbox_off_asks_again_only_those_behind_the_version(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    api = fake_api
    async with team_bot(api, tmp_path, members=STAFF) as bot:
        # Everyone joined under the terms in force (version 2) with the team inbox on.
        assert await bot.rows("SELECT consent_version, consent_team FROM clients") == [
            (2, 1),
            (2, 1),
            (2, 1),
        ]
        # Bo had accepted the version before (1) with the team: as a client who accepted
        # 2 with the team when the terms become 3.
        await bot.rows(
            "UPDATE clients SET consent_version = 1, terms_shown_version = 1"
            " WHERE telegram_user_id = ?",
            BO,
        )
        bot.settings = bot.settings.model_copy(update={"team_chat_id": None})
        await bot.restart()
        before = {who: len(api.sent_to(who)) for who in (ALEX, BO)}
        api.send_text(ALEX, "hello")
        api.send_text(BO, "hello")
        await bot.barrier(ALEX)
        await bot.barrier(BO)
        # Alex accepted 2 with the team: that covers 2 without it. Bo is behind: asked.
        assert notes(bot, ALEX, before[ALEX]) == []
        [note] = notes(bot, BO, before[BO])
        assert "private group" not in note  # the terms without the team inbox
        bo_note = next(m for m in api.sent_to(BO) if (m.text or "").startswith(NOTE))
        await tap(bot, BO, bo_note, "Okay")
        row = await bot.client_row(BO)
        assert (row["consent_version"], row["consent_team"]) == (2, 0)


async def test_the_old_folded_versions_are_migrated_apart(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "old.sqlite3") as conn:
        conn.row_factory = aiosqlite.Row
        for step in MIGRATIONS:
            if step.__name__ == "m021_team_safety":
                break
            await step(conn)
        await run_script(
            conn,
            """
            INSERT INTO specialists (telegram_user_id, chat_id, display_name, created_at)
                VALUES (1001, 1001, 'Sam', '2026-01-01');
            INSERT INTO clients (telegram_user_id, chat_id, alias, specialist_id, status,
                language, timezone, consent_version, terms_shown_version, consented_at,
                created_at) VALUES
                (2001, 2001, 'Alex', 1, 'active', 'en', 'UTC', 2001, 3001, 'x', 'x'),
                (2002, 2002, 'Bo', 1, 'active', 'en', 'UTC', 3, 3, 'x', 'x');
            INSERT INTO team_topics (client_id, thread_id, title, created_at)
                VALUES (1, NULL, 'Alex · Sam', 'x'), (2, 7, 'Bo · Sam', 'x');
            """,
        )
        [m021] = [step for step in MIGRATIONS if step.__name__ == "m021_team_safety"]
        await m021(conn)
        async with conn.execute(
            "SELECT consent_version, consent_team, terms_shown_version, terms_shown_team"
            " FROM clients ORDER BY id"
        ) as cursor:
            assert [tuple(r) async for r in cursor] == [(2, 1, 3, 1), (3, 0, 3, 0)]
        # A claim whose topic nobody is asking for any more is released; a made one stays.
        async with conn.execute("SELECT client_id FROM team_topics") as cursor:
            assert [tuple(r) async for r in cursor] == [(2,)]
