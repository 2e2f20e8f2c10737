"""Logs: one line per event with ids, as text or JSON; never the token, never a message."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import ExtBot

from bot.delivery.transport import AiohttpRequest
from bot.logs import EventFormatter, EventLog, hold_back_libraries, setup_logging
from tests.conftest import TOKEN
from tests.e2e.harness import harness
from tests.fakes.bot_api import FakeBotApi

WEBHOOK_SECRET = "webhook-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """setup_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.test", logging.WARNING, __file__, 1, message, args, exc_info)


def event_record(event: str, **ids: object) -> logging.LogRecord:
    """What EventLog hands to the logging module."""
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    logger = logging.getLogger("bot.services.relay")
    keep, level = Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        EventLog("bot.services.relay").info(event, **ids)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)
    [found] = captured
    return found


def test_an_event_is_one_text_line_with_its_ids() -> None:
    line = EventFormatter().format(
        event_record("relay.to_client", client=12, specialist=3, flagged=None)
    )
    assert line.endswith(
        " INFO bot.services.relay event=relay.to_client client=12 specialist=3 flagged=-"
    )
    assert "\n" not in line


def test_a_value_with_spaces_is_quoted() -> None:
    line = EventFormatter().format(event_record("outbox.dead", item=5, reason="Forbidden: no"))
    assert line.endswith('event=outbox.dead item=5 reason="Forbidden: no"')


def test_in_json_mode_every_record_is_one_json_object_with_its_event() -> None:
    line = EventFormatter(json_lines=True).format(
        event_record("relay.to_specialist", client=12, specialist=3, retry_after=1.23456)
    )
    entry = json.loads(line)
    assert entry["event"] == "relay.to_specialist"
    assert (entry["client"], entry["specialist"], entry["retry_after"]) == (12, 3, 1.235)
    assert (entry["level"], entry["logger"]) == ("INFO", "bot.services.relay")
    assert entry["time"].endswith("+00:00")
    assert "\n" not in line


def test_older_style_lines_and_other_libraries_in_json() -> None:
    formatter = EventFormatter(json_lines=True)
    older = json.loads(formatter.format(record("client.blocked client=%d", 7)))
    assert (older["event"], older["client"]) == ("client.blocked", 7)
    library = json.loads(formatter.format(record("Application started")))
    assert (library["event"], library["message"]) == ("log", "Application started")
    text = EventFormatter().format(record("client.blocked client=%d", 7))
    assert text.endswith("event=client.blocked client=7")


@pytest.mark.parametrize("json_lines", [False, True])
def test_the_token_and_the_webhook_secret_never_appear(json_lines: bool) -> None:
    formatter = EventFormatter(json_lines=json_lines, secrets=[TOKEN, WEBHOOK_SECRET])
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    try:
        raise ConnectionError(f"could not reach {url} (secret {WEBHOOK_SECRET})")
    except ConnectionError as error:
        failed = record("httpx: POST %s failed", url, exc=error)
    lines = [
        formatter.format(record("HTTP Request: POST %s", url)),
        formatter.format(failed),
        formatter.format(event_record("bot.started", username=TOKEN)),
    ]
    for line in lines:
        assert TOKEN not in line
        assert TOKEN.split(":")[1] not in line
        assert WEBHOOK_SECRET not in line
        assert "<secret>" in line
    if json_lines:
        entry = json.loads(lines[1])
        assert entry["error"] == "ConnectionError"
        assert "Traceback" in entry["traceback"]


PROXY_PASSWORD = "hunter2-proxy-pass"


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_urls_user_and_password_never_appear(json_lines: bool) -> None:
    formatter = EventFormatter(json_lines=json_lines)
    proxies = [
        f"http://porch:{PROXY_PASSWORD}@proxy.example.org:3128",
        f"socks5://porch:{PROXY_PASSWORD}@10.0.0.1:1080/",
        f"http://porch:p@ss-{PROXY_PASSWORD}@proxy:99999",  # an @ left unencoded
    ]
    for proxy in proxies:
        try:
            raise ValueError(f"InvalidURL: {proxy}")
        except ValueError as error:
            failed = record("proxy %s failed", proxy, exc=error)
        line = formatter.format(failed)
        assert PROXY_PASSWORD not in line and "porch" not in line
        assert "<credentials>@" in line
    plain = formatter.format(record("see https://t.me/porchlight_bot?start=x and a@b.org"))
    assert "https://t.me/porchlight_bot?start=x and a@b.org" in plain  # nothing else blanked


@pytest.mark.parametrize("reserved", ["/", "?", "#"])
def test_a_password_that_makes_the_url_invalid_is_blanked_too(reserved: str) -> None:
    # aiohttp refuses such a proxy URL and quotes it whole: "InvalidURL http://porch:...".
    proxy = f"http://porch:hunter2{reserved}{PROXY_PASSWORD}@proxy.example.org:3128"
    line = EventFormatter(json_lines=False).format(record("InvalidURL %s", proxy))
    assert PROXY_PASSWORD not in line and "porch" not in line
    assert "http://<credentials>@proxy.example.org:3128" in line


@pytest.mark.parametrize(
    "url",
    [
        "http://proxy.example.org/users/@porch",
        "http://proxy.example.org:8080/users/@porch",
        "https://t.me/porchlight_bot?start=a@b.org",
        "http://[::1]:8080/a@b",
        "https://example.org?to=a@b.org",
    ],
)
def test_a_url_without_credentials_is_left_as_it_is(url: str) -> None:
    line = EventFormatter(json_lines=False).format(record("fetching %s", url))
    assert line.endswith(f"fetching {url}")


def test_python_m_bot_run_never_prints_a_proxys_password(tmp_path: Path) -> None:
    # A proxy URL aiohttp refuses (its port is out of range) is quoted whole in the error.
    env = {key: value for key, value in os.environ.items() if not key.endswith("_PROXY")}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_PATH=str(tmp_path / "porchlight.sqlite3"),
        HTTPS_PROXY=f"http://porch:{PROXY_PASSWORD}@127.0.0.1:99999",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Could not reach the Bot API" in done.stderr
    assert "InvalidURL: http://<credentials>@127.0.0.1:99999" in done.stderr
    assert PROXY_PASSWORD not in done.stderr + done.stdout


async def test_a_running_bot_logs_json_events_without_words_or_token(
    fake_api: FakeBotApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(logging.DEBUG, [TOKEN], json_lines=True)
    async with harness(fake_api, tmp_path) as bot:
        await bot.add_specialist(1001, "Sam Rivera")
        await bot.join(2001, "Alexandra", 1001, "Alex")
        before = len(fake_api.sent_to(1001))
        fake_api.send_text(2001, "my very private words 7f3a")
        await bot.said(1001, before + 2)
        await bot.barrier(1001)
    lines = capsys.readouterr().err.strip().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "event"} <= entry.keys() for entry in entries)
    relayed = [entry for entry in entries if entry["event"] == "relay.to_specialist"]
    assert [(entry["client"], entry["specialist"]) for entry in relayed] == [(1, 1)]
    assert any(entry["event"] == "outbox.sent" for entry in entries)  # DEBUG reached us
    everything = "\n".join(lines)
    assert "7f3a" not in everything
    assert "private words" not in everything
    assert TOKEN.split(":")[1] not in everything


async def test_what_getupdates_cannot_read_is_logged_without_the_words(
    fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """PTB logs a batch of updates it cannot parse, in full, at CRITICAL: never here."""
    hold_back_libraries()  # as build_application does
    fake_api.add_user(2001, "Alex")
    update = fake_api.text_update(2001, "words of an update PTB cannot read 51c9")
    update["message"]["date"] = "yesterday"  # not a Message PTB can build
    fake_api.push_update(update)
    bot = ExtBot(
        TOKEN,
        base_url=fake_api.bot_url,
        request=AiohttpRequest(
            connection_pool_size=1,
            read_timeout=5,
            write_timeout=5,
            connect_timeout=5,
            pool_timeout=1,
        ),
    )
    async with bot:
        with pytest.raises(TypeError):
            await bot.get_updates(timeout=0)
    [line] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.getMessage() == (
        "event=telegram.unreadable_data logger=telegram.ext.ExtBot error=TypeError"
    )
    assert line.exc_info is None
    assert "51c9" not in caplog.text


def test_a_job_cancelled_as_the_bot_stops_is_one_info_line_and_other_errors_keep_theirs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hold_back_libraries()  # as build_application does
    jobs = logging.getLogger("apscheduler.executors.default")
    with caplog.at_level(logging.INFO, logger="apscheduler.executors.default"):
        for error in (asyncio.CancelledError(), RuntimeError("a bug")):
            try:
                raise error
            except BaseException:
                jobs.exception('Job "%s" raised an exception', "checkin-tick")
    cancelled, bug = caplog.records
    assert (cancelled.levelname, cancelled.getMessage(), cancelled.exc_info) == (
        "INFO",
        "event=job.stopped error=CancelledError stopping=True",
        None,
    )
    assert "Traceback" not in caplog.text.split("\n")[0]
    assert bug.levelname == "ERROR" and bug.exc_info is not None
