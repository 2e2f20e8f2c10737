"""Hostile search, fourth round: what arrives from Telegram and who sees what."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import current, harness, tap
from tests.e2e.test_team import ALEX, SAM, STAFF, TEAM, team_settings, texts
from tests.fakes.bot_api import FakeBotApi


async def test_a_yes_under_terms_without_the_team_does_not_let_the_team_read_along(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Alex read terms that say only Sam reads their messages; the team inbox is turned on
    before they tap Yes. Their words must not reach the team's group until they have been
    told that the team reads along, and said Okay."""
    api = fake_api
    api.add_forum_group(TEAM, "Porch team", members=dict(STAFF))
    async with harness(api, tmp_path, start=MONDAY_6_UTC) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        code = await bot.invite(SAM, "Alex")
        api.add_user(ALEX, "Alexandra")
        before = len(api.sent_to(ALEX))
        api.send_text(ALEX, f"/start {code}")
        consent = await bot.next_text(ALEX, before)
        assert "group" not in (consent.text or "")  # only Sam reads, these terms say
        bot.settings = bot.settings.model_copy(update=team_settings())
        await bot.restart()
        shown = len(api.sent_to(ALEX))
        await tap(bot, ALEX, consent, "Yes, let's begin")
        # Nobody joined on terms no longer in force: the terms in force are shown instead.
        assert await bot.rows("SELECT count(*) FROM clients") == [(0,)]
        again = await bot.next_text(ALEX, shown)
        assert "private group" in (again.text or "")
        assert current(bot, ALEX, consent).buttons() == []
        api.send_text(ALEX, "Rough week, honestly")
        await bot.barrier(ALEX)
        assert "Rough week, honestly" not in texts(api.messages(TEAM))
        # A yes to those is a yes to the team reading along.
        await tap(bot, ALEX, again, "Yes, let's begin")
        row = await bot.client_row(ALEX)
        assert (row["consent_team"], row["status"]) == (1, "active")
