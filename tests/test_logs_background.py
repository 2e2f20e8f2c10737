"""The running bot's log lines are written from a thread of their own (BackgroundHandler):
a destination that stops reading never holds up the bot, and what could not wait is
counted, not lost without a word."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import select
import threading
import time

import pytest

import bot.logs
from bot.logs import BackgroundHandler, EventFormatter, EventLog
from tests.conftest import TOKEN


class Stalled(io.StringIO):
    """A stream whose writes wait until it is let go, like a pipe nobody reads."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.waiting = threading.Event()

    def write(self, text: str) -> int:
        self.waiting.set()
        self.go.wait(10)
        return super().write(text)


def _overflowed(name: str, limit: int, events: int) -> tuple[Stalled, BackgroundHandler]:
    """A handler on a stalled stream, held up by its first line, then `events` more logged
    (each returns at once: n=1..limit wait, the rest are dropped)."""
    stream = Stalled()
    handler = BackgroundHandler(stream, EventFormatter(), limit=limit)
    logger = logging.getLogger(name)
    logger.propagate, logger.handlers[:] = False, [handler]
    logger.setLevel(logging.INFO)
    log = EventLog(name)
    log.info("first.line", n=0)
    assert stream.waiting.wait(10)  # the writer holds the first line, the stream stalls
    for n in range(1, events + 1):
        log.info("some.event", n=n)
    return stream, handler


def test_lines_beyond_the_limit_are_dropped_and_counted_once_the_stream_reads() -> None:
    stream, handler = _overflowed("bot.test.background", limit=3, events=8)
    stream.go.set()
    handler.flush(timeout=10)
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 4)[-1] for line in lines] == [
        "event=first.line n=0",
        "event=some.event n=1",
        "event=some.event n=2",
        "event=some.event n=3",
        "event=log.dropped lines=5",
    ]
    assert " WARNING bot.logs event=log.dropped" in lines[-1]


def test_the_one_line_stays_last_after_lines_were_dropped() -> None:
    """A stopping bot's one line (say_last) comes after the count of lines dropped while
    the destination stalled, not before it: the last line is the one a person reads."""
    stream, handler = _overflowed("bot.test.background.last", limit=2, events=5)
    saying = threading.Thread(target=handler.say, args=("Stopped: the database is gone.",))
    saying.start()
    deadline = time.monotonic() + 10
    while len(handler._lines) < 3:  # the one line waits behind n=1..2
        assert time.monotonic() < deadline
        time.sleep(0.001)
    stream.go.set()
    saying.join(10)
    handler.flush(timeout=10)
    lines = stream.getvalue().splitlines()
    assert lines[-1] == "Stopped: the database is gone."
    assert [line.split(" ", 4)[-1] for line in lines[:-1]] == [
        "event=first.line n=0",
        "event=some.event n=1",
        "event=some.event n=2",
        "event=log.dropped lines=3",
    ]


def test_a_non_blocking_destination_that_is_full_gets_its_lines_once_it_reads() -> None:
    """stderr can be non-blocking (a parent that set O_NONBLOCK on the pipe they share):
    while it is full a write fails at once (EAGAIN), and the lines, the one line a stopping
    bot ends with included, were dropped without a word. The writer waits for it instead."""
    reading, writing = os.pipe()
    os.set_blocking(writing, False)
    filled = 0
    with contextlib.suppress(BlockingIOError):
        while True:
            filled += os.write(writing, b"." * 4096)
    stream = open(writing, "w")  # noqa: SIM115 (the handler keeps it)
    handler = BackgroundHandler(stream, EventFormatter(), limit=10)
    try:
        handler.say("Stopped: the database is gone.")  # waits, then gives up (nobody reads)
        seen = b""
        while b"Stopped" not in seen or not seen.endswith(b"\n"):
            ready, _, _ = select.select([reading], [], [], 10)
            assert ready, seen[filled:]
            seen += os.read(reading, 65536)
        assert seen[filled:] == b"Stopped: the database is gone.\n"
    finally:
        stream.close()
        os.close(reading)


def test_a_line_that_cannot_be_formatted_is_said_without_what_it_held(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A library's log call whose arguments do not fit its message: logging's own report
    went straight to stderr, from the event loop (held up by a stalled log like any write),
    quoting the arguments as they were, token and all. It is one line in the log instead."""
    stream = io.StringIO()
    handler = BackgroundHandler(stream, EventFormatter(secrets=[TOKEN]), limit=10)
    logger = logging.getLogger("bot.test.background.unformattable")
    logger.propagate, logger.handlers[:] = False, [handler]
    logger.warning("fetching %s from %s", f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    handler.flush(timeout=10)
    assert capsys.readouterr().err == ""
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(
        " WARNING bot.logs event=log.unformattable"
        " logger=bot.test.background.unformattable error=TypeError"
    )


class Slow(Stalled):
    """Once let go, a destination that reads, slowly (128 KB a second)."""

    def write(self, text: str) -> int:
        self.waiting.set()
        self.go.wait(10)
        time.sleep(len(text) / (128 * 1024))  # the time the reader takes
        return io.StringIO.write(self, text)


def test_the_one_line_waits_for_a_destination_that_reads_slowly() -> None:
    """A destination that takes its backlog slowly (journald or Docker's log driver busy) is
    still reading: the stopping bot's one line waits for it past the settle time (up to
    SETTLE_MOST_SECONDS), rather than being left out of a log that would have had it."""
    stream = Slow()
    handler = BackgroundHandler(stream, EventFormatter(), limit=100)
    logger = logging.getLogger("bot.test.background.slow")
    logger.propagate, logger.handlers[:] = False, [handler]
    logger.setLevel(logging.INFO)
    logger.info("first")
    assert stream.waiting.wait(10)
    for _ in range(5):
        logger.info("x" * 65536)  # 320 KB waiting: 2.5 s at 128 KB a second
    stream.go.set()
    handler.say("Stopped: the database is gone.")
    assert stream.getvalue().endswith("\nStopped: the database is gone.\n")


def test_a_forced_exit_after_the_log_had_caught_up_still_waits_for_its_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exit's waits for the log share SETTLE_MOST_SECONDS only while it lags: a stopped
    bot whose log had caught up, and whose process then hung until the stop grace's forced
    exit, still has that exit's one line written."""
    monkeypatch.setattr(bot.logs, "SETTLE_MOST_SECONDS", 1.0)
    stream = Stalled()
    stream.go.set()
    handler = BackgroundHandler(stream, EventFormatter(), limit=10)
    handler.say("Stopped: the database is gone.")  # the stopping bot's line: caught up
    stream.go.clear()
    stream.waiting.clear()
    handler.handle(logging.makeLogRecord({"msg": "..."}))  # held: nobody reads a moment
    assert stream.waiting.wait(10)
    time.sleep(1.1)  # the process hangs past the stop grace
    threading.Timer(0.2, stream.go.set).start()  # the destination reads again
    handler.say("Stopped: the database is gone.")  # the forced exit's
    assert stream.getvalue().endswith("...\nStopped: the database is gone.\n")
