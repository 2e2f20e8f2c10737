"""/mydata: a client gets everything stored about them as a JSON file, and nothing else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Harness, harness, say, tap
from tests.fakes.bot_api import FakeBotApi

SAM, RIA = 1001, 1002
ALEX, BO = 2001, 2002
STRANGER = 3001
SECRET = "words only Sam should ever read 51c2"


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    start = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    async with harness(fake_api, tmp_path, start=start) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.add_specialist(RIA, "Ria Okafor")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.join(BO, "Bo", RIA, "Bo")
        yield running_bot


async def export_of(bot: Harness, user: int) -> dict[str, Any]:
    """Ask for /mydata and read the JSON file that comes back."""
    before = len(bot.api.sent_to(user))
    bot.api.send_text(user, "/mydata")
    [sent] = (await bot.said(user, before + 1))[before:]
    await bot.settle()
    document = sent.raw["document"]
    assert document["file_name"] == "porchlight-my-data.json"
    assert "The words you wrote are not in it" in (sent.raw.get("caption") or "")
    data: dict[str, Any] = json.loads(bot.api.file_data(document["file_id"]))
    return data


async def test_the_file_holds_what_is_stored_and_none_of_the_words(bot: Harness) -> None:
    await say(bot, ALEX, "/schedule daily 07:00")
    await say(bot, ALEX, "/timezone Europe/Madrid")
    bot.clock.set(datetime(2026, 12, 1, 6, 0, 5, tzinfo=UTC))  # 07:00 in Madrid
    await bot.tick()
    checkin = bot.api.sent_to(ALEX)[-1]
    await tap(bot, ALEX, checkin, "Could be better")
    bot.api.send_text(ALEX, SECRET)
    copy = (await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2))[-1]
    await bot.settle()  # "I'll pass this on" is out, and the copy's id noted
    bot.api.send_text(SAM, f"reply about {SECRET}", reply_to=copy.message_id)
    await bot.said(ALEX, len(bot.api.sent_to(ALEX)) + 2)
    await bot.settle()

    data = await export_of(bot, ALEX)

    assert data["format"] == "porchlight-mydata/1"
    assert data["specialist"] == "Sam Rivera"
    client = data["client"]
    assert (client["alias"], client["timezone"], client["cadence"]) == (
        "Alex",
        "Europe/Madrid",
        "daily",
    )
    assert client["consent_version"] == 2 and client["consented_at"].startswith("2026-11-30")
    [answered] = data["check_ins"]
    assert answered["answer"] == "meh" and answered["sent_at"].startswith("2026-12-01T06:00")
    directions = [row["direction"] for row in data["messages_relayed"] if not row["header"]]
    assert directions == ["to_specialist", "to_client"]
    actions = [entry["action"] for entry in data["audit"]]
    assert actions[0] == "join" and actions[-1] == "export"
    text = json.dumps(data, ensure_ascii=False)
    assert SECRET not in text
    assert "Bo" not in text.replace("Bot", "") and "Ria Okafor" not in text

    # The file left through the outbox like everything else, and its copy there is gone.
    payloads = await bot.rows("SELECT payload FROM outbox WHERE method = 'send_document'")
    assert payloads == [("{}",)]


async def test_each_client_gets_only_their_own(bot: Harness) -> None:
    alex, bo = await export_of(bot, ALEX), await export_of(bot, BO)
    assert (alex["client"]["alias"], bo["client"]["alias"]) == ("Alex", "Bo")
    assert bo["specialist"] == "Ria Okafor"
    assert "Alex" not in json.dumps(bo)


@pytest.mark.parametrize("user", [SAM, STRANGER])
async def test_only_clients_have_data_to_export(bot: Harness, user: int) -> None:
    bot.api.add_user(STRANGER, "Stranger")
    answer = await say(bot, user, "/mydata")
    assert answer.raw.get("document") is None
    assert await bot.rows("SELECT count(*) FROM audit_log WHERE action = 'export'") == [(0,)]


async def test_staff_are_never_named_by_their_telegram_ids(bot: Harness) -> None:
    answer = await say(bot, SAM, "/transfer Alex Ria Okafor")
    assert "Ria Okafor" in (answer.text or "")
    await bot.settle()
    data = await export_of(bot, ALEX)
    transfer = next(entry for entry in data["audit"] if entry["action"] == "transfer")
    assert transfer == {
        "at": transfer["at"],
        "action": "transfer",
        "by": "specialist",
        "detail": None,
    }
    text = json.dumps(data)
    assert str(SAM) not in text and str(RIA) not in text
    assert data["specialist"] == "Ria Okafor"
