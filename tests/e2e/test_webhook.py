"""Webhook mode, end to end: the fake Telegram POSTs every update to the bot's own server."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import TypeHandler

from bot.handlers.inbox import InboxQueue
from bot.storage.inbox import Received
from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import FakeBotApi, FakeMessage
from tests.faults.process import start_bot

SAM, RIA = 1001, 1002
ALEX, CY = 2001, 2003
PEOPLE = {SAM: "Sam Rivera", RIA: "Ria Okafor"}
CLIENTS = {ALEX: ("Alexandra", SAM, "Alex"), CY: ("Cyrus", RIA, "Cy")}
SECRET = "webhook-secret-for-the-tests-0123456789"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    port = free_port()
    async with harness(
        fake_api,
        tmp_path,
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_port=port,
        webhook_secret=SECRET,
    ) as running_bot:
        for specialist, name in PEOPLE.items():
            await running_bot.add_specialist(specialist, name)
        for client, (first_name, specialist, alias) in CLIENTS.items():
            await running_bot.join(client, first_name, specialist, alias)
        await running_bot.settle()
        yield running_bot


def copies(messages: list[FakeMessage]) -> list[FakeMessage]:
    return [m for m in messages if m.copied_from is not None]


async def inbox(bot: Harness) -> list[tuple[object, ...]]:
    return await bot.rows("SELECT update_id, chat_id, message_id FROM inbox")


async def test_every_update_comes_by_webhook_with_the_secret(bot: Harness) -> None:
    api = bot.api
    [set_webhook] = api.calls_to("setWebhook")
    assert set_webhook.params["url"] == api.webhook_url == bot.settings.webhook_url
    assert set_webhook.params["secret_token"] == api.webhook_secret == SECRET
    assert api.calls_to("getUpdates") == []  # no long polling

    to_sam, to_ria = len(api.sent_to(SAM)), len(api.sent_to(RIA))
    alex_says = api.send_text(ALEX, "a hard day, but I'm here")
    cy_says = api.send_text(CY, "hello from Cy")
    sam_got = (await bot.said(SAM, to_sam + 2))[-2:]
    ria_got = (await bot.said(RIA, to_ria + 2))[-2:]
    assert [m.text for m in sam_got] == ["From Alex:", "a hard day, but I'm here"]
    assert copies(sam_got)[0].copied_from == (ALEX, alex_says.message_id)
    assert copies(ria_got)[0].copied_from == (CY, cy_says.message_id)

    await bot.settle()  # "I'll pass this on" is out, and the copy's id noted
    before = len(api.sent_to(ALEX))
    api.send_text(SAM, "Thank you for writing. I'm here too.", reply_to=sam_got[-1].message_id)
    back = (await bot.said(ALEX, before + 2))[before:]
    assert [m.text for m in back] == [
        "From Sam Rivera, your peer support specialist:",
        "Thank you for writing. I'm here too.",
    ]
    await bot.barrier(SAM)
    # Every update went by webhook, carried the secret and was taken (0: the bot's server
    # was not listening yet when setWebhook returned; Telegram retries those too).
    assert api.pending_updates() == 0
    assert {post.secret_token for post in api.webhook_posts} == {SECRET}
    assert {post.status for post in api.webhook_posts} <= {0, 200}
    assert await inbox(bot) == []


@pytest.mark.parametrize("secret", [None, "", "not-the-secret-0123456789", SECRET[:-1]])
async def test_a_request_without_the_secret_is_refused_and_changes_nothing(
    bot: Harness, secret: str | None
) -> None:
    api = bot.api
    sam_before, alex_before = len(api.sent_to(SAM)), len(api.sent_to(ALEX))
    update = api.text_update(ALEX, "words that did not come from Telegram")
    assert await api.post_to_webhook(update, secret_token=secret) == 403
    await bot.barrier(ALEX)  # anything that had got in would have been handled by now
    assert len(api.sent_to(SAM)) == sam_before
    assert len(api.sent_to(ALEX)) == alex_before + 1  # the answer to the barrier's /help
    assert await inbox(bot) == []
    # The same request with the secret is taken: only the secret was missing.
    assert await api.post_to_webhook(update, secret_token=SECRET) == 200
    relayed = (await bot.said(SAM, sam_before + 2))[-1]
    assert relayed.copied_from == (ALEX, update["message"]["message_id"])


async def test_a_message_the_bot_cannot_parse_is_reduced_relayed_and_its_words_never_logged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    words = "the words of an update PTB cannot read"
    update = bot.api.text_update(ALEX, words)
    update["message"]["date"] = "yesterday"  # not a Message PTB can build
    sam_before = len(bot.api.sent_to(SAM))
    # Taken (Telegram would otherwise send it again and again), and relayed by its ids.
    assert await bot.api.post_to_webhook(update, secret_token=SECRET) == 200
    relayed = (await bot.said(SAM, sam_before + 2))[-1]
    assert relayed.copied_from == (ALEX, update["message"]["message_id"])
    assert relayed.text == words  # Telegram copies the words; the bot never read them
    [line] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.getMessage() == (
        f"event=telegram.update_reduced update_id={update['update_id']} error=TypeError"
    )
    assert words not in caplog.text
    await bot.barrier(SAM)
    assert await inbox(bot) == []


async def raw_post(port: int, head: dict[str, str], body: bytes) -> tuple[bytes, bool]:
    """POST to the webhook by hand: the headers, then `body` (the rest never comes).
    Returns the status line, and whether the server then closed the connection.

    What is sent is what the server reads before it answers, so that nothing is left
    unread when it hangs up (which would reset the connection, the answer with it).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [
            "POST /hook HTTP/1.1",
            "Host: 127.0.0.1",
            *(f"{k}: {v}" for k, v in head.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=5)
        await asyncio.wait_for(reader.read(), timeout=5)  # then the end of the connection
        return status.strip(), reader.at_eof()
    finally:
        writer.close()


OVERSIZE = 100 * 1024 * 1024


@pytest.mark.parametrize("secret", [SECRET, "not-the-secret-0123456789"])
async def test_an_oversize_body_is_refused_before_it_is_read(bot: Harness, secret: str) -> None:
    port = bot.settings.webhook_port
    head = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": secret,
        "Content-Length": str(OVERSIZE),
    }
    # None of the announced 100 MiB: the answer comes without it.
    status, closed = await raw_post(port, head, b"")
    assert status == (
        b"HTTP/1.1 413 Request Entity Too Large" if secret == SECRET else b"HTTP/1.1 403 Forbidden"
    )
    assert closed


async def test_a_chunked_body_is_cut_off_at_the_limit(bot: Harness) -> None:
    def framed(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    head = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRET,
        "Transfer-Encoding": "chunked",
    }
    # 1 MiB and one byte more, and no end: the limit, not the end of the body, answers.
    over = framed(b" " * 65536) * 16 + framed(b" ")
    status, closed = await raw_post(bot.settings.webhook_port, head, over)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert closed
    sam_before = len(bot.api.sent_to(SAM))
    # A body within the limit, in chunks, is taken as any other.
    update = json.dumps(bot.api.text_update(ALEX, "in pieces")).encode()
    halves = [update[: len(update) // 2], update[len(update) // 2 :]]
    body = b"".join(framed(half) for half in halves) + b"0\r\n\r\n"
    status, _ = await raw_post(bot.settings.webhook_port, {**head, "Connection": "close"}, body)
    assert status == b"HTTP/1.1 200 OK"
    relayed = (await bot.said(SAM, sam_before + 2))[-1]
    assert relayed.text == "in pieces"


async def test_a_message_is_stored_before_the_webhook_answers_200(bot: Harness) -> None:
    assert bot.app is not None
    handling = asyncio.Event()

    async def hold(update: object, context: object) -> None:
        await handling.wait()

    # Hold every update before its handlers: what is stored by then was stored by the queue.
    bot.app.add_handler(TypeHandler(Update, hold), group=-1000)
    update = bot.api.text_update(ALEX, "is anyone there")
    message_id = update["message"]["message_id"]
    before = len(bot.api.sent_to(SAM))
    assert await bot.api.post_to_webhook(update, secret_token=SECRET) == 200
    assert await inbox(bot) == [(update["update_id"], ALEX, message_id)]
    assert len(bot.api.sent_to(SAM)) == before
    handling.set()
    relayed = (await bot.said(SAM, before + 2))[-1]
    assert relayed.copied_from == (ALEX, message_id)
    await bot.barrier(SAM)
    assert await inbox(bot) == []


async def test_a_message_that_cannot_be_stored_is_refused_and_comes_again(bot: Harness) -> None:
    assert bot.app is not None
    queue = bot.app.update_queue
    assert isinstance(queue, InboxQueue)
    refused: list[int] = []

    async def keep_after_one_failure(
        received: Received, words: str | None, language: str | None
    ) -> None:
        if not refused:
            refused.append(received.update_id)
            raise sqlite3.OperationalError("database is locked")
        await bot.services.relay.keep(received, words, language)

    queue.keep_with(keep_after_one_failure)
    before = len(bot.api.sent_to(SAM))
    alex_says = bot.api.send_text(ALEX, "did this arrive?")
    relayed = (await bot.said(SAM, before + 2))[-1]
    assert relayed.copied_from == (ALEX, alex_says.message_id)
    statuses = [p.status for p in bot.api.webhook_posts if p.update_id == alex_says.update_id]
    assert statuses == [500, 200]  # not taken, so Telegram sent it again
    assert refused == [alex_says.update_id]


async def test_what_is_written_while_the_bot_is_down_arrives_after_the_restart(
    bot: Harness,
) -> None:
    api = bot.api
    await bot.stop()
    alex_says = api.send_text(ALEX, "written while the bot was away")
    await api.wait_until(
        lambda: any(post.status == 0 for post in api.webhook_posts[-1:]),
        what="a webhook call that found nobody listening",
    )
    before = len(api.sent_to(SAM))
    await bot.start()
    relayed = (await bot.said(SAM, before + 2))[-1]
    assert relayed.copied_from == (ALEX, alex_says.message_id)
    assert len(api.calls_to("setWebhook")) == 2


async def start_webhook_bot(
    fake_api: FakeBotApi, tmp_path: Path, port: int, **env: str
) -> asyncio.subprocess.Process:
    """`python -m bot run` serving a webhook on this port, logging to tmp_path/bot.log."""
    return await start_bot(
        fake_api,
        tmp_path / "porchlight.sqlite3",
        tmp_path / "bot.log",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=SECRET,
        **env,
    )


async def test_python_m_bot_run_serves_the_webhook(fake_api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    bot = await start_webhook_bot(fake_api, tmp_path, port, LOG_FORMAT="json")
    try:
        await fake_api.wait_until(
            lambda: fake_api.webhook_url != "", timeout=30, what="setWebhook"
        )
        fake_api.add_user(3001, "Robin")
        fake_api.send_text(3001, "hello?")
        [answer] = await fake_api.wait_for_messages(3001, timeout=30)
        assert "works by invitation" in (answer.text or "")
        forged = fake_api.text_update(3001, "hello again")
        assert await fake_api.post_to_webhook(forged, secret_token=None) == 403
    finally:
        bot.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(bot.wait(), timeout=30)
    assert code == 0, log.read_text()
    assert fake_api.calls_to("getUpdates") == []
    assert fake_api.calls_to("setWebhook")[0].params["secret_token"] == SECRET
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert "bot.started" in events and "bot.stopped" in events
    assert SECRET not in log.read_text()


async def test_a_webhook_port_in_use_is_named_in_one_line(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        bot = await start_webhook_bot(fake_api, tmp_path, port)
        code = await asyncio.wait_for(bot.wait(), timeout=30)
    written = log.read_text()
    assert code == 1, written
    assert f"Could not listen on 127.0.0.1:{port} for the webhook" in written
    assert "Traceback" not in written  # nor did sending outlive the database
