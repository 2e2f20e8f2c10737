"""A text longer than one Telegram message arrives in parts, split between lines."""

from __future__ import annotations

from bot.domain.texts import MESSAGE_LIMIT
from tests.e2e.harness import Harness, button_data, say

ADMIN, ALEX = 900, 2001


async def test_a_long_text_goes_in_parts_split_between_lines(bot: Harness) -> None:
    lines = [f"line {n}: " + "some words " * 12 for n in range(100)]  # about 14,000 characters
    text = "\n".join(lines)
    before = len(bot.api.sent_to(ALEX))
    async with bot.services.db.transaction():
        await bot.services.outbox.text(ALEX, text, buttons=[[("Okay", "x:ok")]])
    await bot.settle()
    parts = bot.api.sent_to(ALEX)[before:]
    assert len(parts) == 4
    assert all(len(part.text or "") <= MESSAGE_LIMIT for part in parts)
    assert "\n".join(part.text or "" for part in parts) == text  # every line, whole, in order
    assert [button_data(part) for part in parts] == [[], [], [], ["x:ok"]]
    dead = await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'")
    assert dead == [(0,)]


async def test_the_specialists_list_of_a_large_programme_arrives_whole(bot: Harness) -> None:
    names = [f"Specialist number {n} with a rather long name" for n in range(150)]
    for n, name in enumerate(names):
        await bot.services.people.add_specialist(5000 + n, name)
    before = len(bot.api.sent_to(ADMIN))
    await say(bot, ADMIN, "/specialists")
    await bot.settle()
    parts = [m.text or "" for m in bot.api.sent_to(ADMIN)[before:]]
    assert len(parts) > 1
    listed = "\n".join(parts)
    assert all(name in listed for name in names)
