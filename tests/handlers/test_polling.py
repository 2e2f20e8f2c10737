"""Reading a getUpdates batch one update at a time (the polling bot's parser and its calls)."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Update
from telegram.error import InvalidToken
from telegram.warnings import PTBUserWarning

from bot.delivery.transport import AiohttpRequest
from bot.handlers.polling import (
    GET_UPDATES_WARNING,
    HELD_PAUSE_SECONDS,
    PollingBot,
    is_reduced,
    read_updates,
)
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi, JSONDict

WORDS = "words nobody may log 3e8d"


def message(update_id: int, **fields: object) -> JSONDict:
    raw = {"message_id": update_id, "date": 0, "chat": {"id": 7, "type": "private"}}
    return {"update_id": update_id, "message": {**raw, "text": WORDS, **fields}}


def skipped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "telegram.update_skipped" in r.getMessage()]


def test_an_update_that_cannot_be_parsed_keeps_only_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = [message(5), message(6, date="yesterday"), message(7)]
    updates, held = read_updates(batch)
    assert [u.update_id for u in updates] == [5, 6, 7]
    assert [u.message.message_id if u.message else None for u in updates] == [5, None, 7]
    assert updates[1] == Update(6) and updates[1].to_dict() == {"update_id": 6}
    assert held == 0
    assert skipped_lines(caplog) == ["event=telegram.update_skipped update_id=6 error=TypeError"]
    assert WORDS not in caplog.text and "yesterday" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


def test_a_message_that_cannot_be_parsed_is_kept_to_the_ids_that_copy_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = {"id": 2001, "is_bot": False, "first_name": "Alex"}
    replied = {"message_id": 3, "date": 0, "chat": {"id": 7, "type": "private"}}
    unreadable = message(6, date="yesterday", reply_to_message=replied, **{"from": sender})
    [update], _ = read_updates([unreadable])
    assert is_reduced(update) and update.message is not None
    assert (update.message.message_id, update.message.chat.id) == (6, 7)
    assert update.effective_user is not None and update.effective_user.id == 2001
    assert update.message.reply_to_message is not None
    assert update.message.reply_to_message.message_id == 3
    # Its words, for the safety screen only (in memory); Telegram copies the message.
    assert update.message.text == WORDS
    assert not is_reduced(read_updates([message(5)])[0][0])
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["event=telegram.update_reduced update_id=6 error=TypeError"]
    assert WORDS not in caplog.text and "yesterday" not in caplog.text


def test_an_element_without_a_readable_id_goes_with_the_next_readable_update(
    caplog: pytest.LogCaptureFixture,
) -> None:
    no_ids = [{**message(0), "update_id": bad} for bad in ("6", None, 6.0, True)]
    batch = [message(5), *no_ids, "not even an object", [WORDS], message(9)]
    updates, held = read_updates(batch)
    assert [u.update_id for u in updates] == [5, 9]
    assert held == 0
    assert (
        skipped_lines(caplog) == ["event=telegram.update_skipped update_id=- error=TypeError"] * 6
    )
    assert WORDS not in caplog.text


def test_elements_without_an_id_at_the_end_are_held_unlogged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    updates, held = read_updates([message(5), {"update_id": "x", "message": WORDS}, {}])
    assert [u.update_id for u in updates] == [5]
    assert held == 2  # confirmed, and logged, with whatever comes after them
    assert skipped_lines(caplog) == []
    assert read_updates([]) == ((), 0)


@pytest.fixture
async def polling_bot(fake_api: FakeBotApi) -> AsyncIterator[PollingBot]:
    """The bot as build_application makes it, getUpdates with 0.1 s read and write timeouts."""

    def transport(timeout: float) -> AiohttpRequest:
        return AiohttpRequest(
            connection_pool_size=1,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=5,
            pool_timeout=1,
        )

    bot = PollingBot(
        TOKEN,
        request=transport(5),
        get_updates_request=transport(0.1),
        base_url=fake_api.bot_url,
    )
    async with bot:
        yield bot


async def test_a_long_poll_may_last_longer_than_the_read_timeout(
    polling_bot: PollingBot, fake_api: FakeBotApi
) -> None:
    """As in PTB's get_updates, the read timeout is the transport's plus the long poll's."""
    assert await polling_bot.get_updates(timeout=timedelta(seconds=0.4)) == ()
    [call] = fake_api.calls_to("getUpdates")
    assert call.params["timeout"] == 0.4


async def test_updates_are_fetched_as_ptb_fetches_them(
    polling_bot: PollingBot, fake_api: FakeBotApi
) -> None:
    fake_api.add_user(2001, "Alex")
    first = fake_api.send_text(2001, "one").update_id
    second = fake_api.send_text(2001, "two").update_id
    assert first is not None and second is not None
    updates = await polling_bot.get_updates(offset=first, limit=1, allowed_updates=["message"])
    assert [u.update_id for u in updates] == [first]
    assert updates[0].get_bot() is polling_bot
    [call] = fake_api.calls_to("getUpdates")
    assert call.params == {"offset": first, "limit": 1, "allowed_updates": ["message"]}


async def test_the_warning_filtered_out_is_the_one_ptb_gives(polling_bot: PollingBot) -> None:
    """do_api_request warns at every poll that get_updates exists: the filter must match it."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        await polling_bot.get_updates(timeout=0)
    [warning] = shown
    assert warning.category is PTBUserWarning
    assert re.match(GET_UPDATES_WARNING, str(warning.message))


async def test_a_refused_token_is_an_invalid_token_as_in_ptb(
    polling_bot: PollingBot, fake_api: FakeBotApi
) -> None:
    """PTB's polling loop stops on InvalidToken (do_api_request would say EndPointNotFound)."""
    fake_api.fail_next("getUpdates", status=401)
    with pytest.raises(InvalidToken):
        await polling_bot.get_updates(timeout=0)


async def test_a_poll_that_finds_only_updates_without_an_id_pauses_and_says_so_once(
    polling_bot: PollingBot, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    place = fake_api.push_raw({"update_id": None, "message": WORDS})
    assert await polling_bot.get_updates(offset=place, timeout=0) == ()  # no pause asked for
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await polling_bot.get_updates(offset=place, timeout=10) == ()
    assert HELD_PAUSE_SECONDS * 0.9 <= loop.time() - started < 5  # not at once, nor 10 s
    held = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in held] == [
        f"event=telegram.updates_held offset={place} count=1"
    ]
    assert fake_api.pending_updates() == 1
    fake_api.add_user(2001, "Alex")
    after = fake_api.send_text(2001, "after").update_id
    updates = await polling_bot.get_updates(offset=place, timeout=10)
    assert [u.update_id for u in updates] == [after]
    assert skipped_lines(caplog) == ["event=telegram.update_skipped update_id=- error=TypeError"]
    assert WORDS not in caplog.text
