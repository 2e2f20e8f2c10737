"""Logging: one line per event with an event name and ids, never a message's text.

Code logs through `EventLog`: `log.info("checkins.tick", sent=3, offers=1)` is the line
`event=checkins.tick sent=3 offers=1`, or with LOG_FORMAT=json one JSON object per line:
`{"time": ..., "level": "INFO", "logger": "bot.services.checkins", "event": "checkins.tick",
"sent": 3, "offers": 1}`. There is no place for text: an event takes a name and ids
(numbers, names of things, error classes).

Other libraries are held back whatever LOG_LEVEL says: python-telegram-bot logs whole
updates (a client's words) at DEBUG, aiosqlite logs statements and their parameters at
DEBUG, and httpx logs every request URL (which holds the token) at INFO. The formatter also
blanks the token and the webhook secret wherever they might still appear, tracebacks included,
and the user and password of every URL (a proxy's, in an error that quotes it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

Id = int | float | str | bool | None
ExcInfo = BaseException | bool | None

_SIMPLE_VALUE = re.compile(r"[^\s\"=]+")
# A line in the older style, "relay.to_client client=12 specialist=3", read as an event.
_EVENT_LINE = re.compile(r"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)((?: [a-z_][a-z0-9_]*=\S+)*)")
_INT = re.compile(r"-?\d+")
# A URL's user and password: what comes between its scheme and the last @ before its path,
# query or fragment; or, in a URL they make invalid (a password with a / ? or # left
# unencoded, which is why an error quotes it whole), "user:" then anything but a port, up
# to the last @ before a space. "host:8080/a@b" and "[::1]:80/a@b" are left as they are.
_URL_CREDENTIALS = re.compile(
    r"\b([A-Za-z][A-Za-z0-9+.-]*://)"
    r"(?:[^/?#\s]*@|[^/?#\s:@\[]*:(?!\d*(?:[/?#\s]|$))\S*@)"
)


# A bot token in a Bot API URL's path (/bot<token>/getMe, /file/bot<token>/...), which an
# error about the URL quotes whole ("aiohttp.InvalidUrlClientError: http://host:port/bot...").
_TOKEN_IN_PATH = re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+")


def redact_urls(text: str) -> str:
    """The text with the credentials of every URL in it blanked (`http://<credentials>@...`),
    and a bot token in a URL's path too (`/bot<token>/getMe`)."""
    return _TOKEN_IN_PATH.sub(r"\1<token>", _URL_CREDENTIALS.sub(r"\1<credentials>@", text))


class EventLog:
    """A logger that takes an event name and ids, never free text."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def debug(self, event: str, /, **ids: Id) -> None:
        """Log a DEBUG event."""
        self._log(logging.DEBUG, event, ids)

    def info(self, event: str, /, **ids: Id) -> None:
        """Log an INFO event."""
        self._log(logging.INFO, event, ids)

    def warning(self, event: str, /, **ids: Id) -> None:
        """Log a WARNING event."""
        self._log(logging.WARNING, event, ids)

    def error(self, event: str, /, *, exc_info: ExcInfo = None, **ids: Id) -> None:
        """Log an ERROR event, with the traceback of `exc_info` if given."""
        self._log(logging.ERROR, event, ids, exc_info)

    def exception(self, event: str, /, **ids: Id) -> None:
        """Log an ERROR event with the exception being handled."""
        self._log(logging.ERROR, event, ids, True)

    def _log(self, level: int, event: str, ids: dict[str, Id], exc_info: ExcInfo = None) -> None:
        if not self._logger.isEnabledFor(level):
            return  # the sender logs every message at DEBUG: build nothing when it is off
        self._logger.log(
            level,
            event_line(event, ids),
            exc_info=exc_info,
            extra={"event": event, "ids": ids},
            stacklevel=3,
        )


def event_line(event: str, ids: Mapping[str, Id]) -> str:
    """`event=<name> key=value ...`; values with spaces or quotes are quoted."""
    parts = [f"event={event}"]
    parts.extend(f"{key}={_text_value(value)}" for key, value in ids.items())
    return " ".join(parts)


def _text_value(value: Id) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    return text if _SIMPLE_VALUE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _json_value(value: Id) -> Id:
    return round(value, 3) if isinstance(value, float) else value


def _read_value(text: str) -> Id:
    if _INT.fullmatch(text):
        return int(text)
    return text


def _event_of(record: logging.LogRecord) -> tuple[str, Mapping[str, Id]] | None:
    """The event and ids of a record: from EventLog, or read from an older-style line."""
    event = getattr(record, "event", None)
    if isinstance(event, str):
        ids: Mapping[str, Id] = getattr(record, "ids", {})
        return event, ids
    found = _EVENT_LINE.fullmatch(record.getMessage())
    if found is None:
        return None
    pairs = (pair.split("=", 1) for pair in found.group(2).split())
    return found.group(1), {key: _read_value(value) for key, value in pairs}


class EventFormatter(logging.Formatter):
    """Text (`time LEVEL logger event=... ids`) or JSON lines, with every secret blanked."""

    def __init__(self, *, json_lines: bool = False, secrets: Iterable[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._json_lines = json_lines
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        """One line (a traceback follows it in text mode), secrets replaced."""
        line = self._json(record) if self._json_lines else self._text(record)
        for secret in self._secrets:
            line = line.replace(secret, "<secret>")
        return redact_urls(line)

    def _text(self, record: logging.LogRecord) -> str:
        found = _event_of(record)
        if found is not None and not hasattr(record, "event"):
            # An older-style line: say it the same way as the rest (on a copy: other
            # handlers see the record as it was).
            record = logging.makeLogRecord(record.__dict__)
            record.msg, record.args = event_line(*found), None
        return super().format(record)

    def _json(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        found = _event_of(record)
        if found is None:
            entry["event"] = "log"  # another library's sentence
            entry["message"] = record.getMessage()
        else:
            entry["event"] = found[0]
            for key, value in found[1].items():
                entry.setdefault(key, _json_value(value))
        if record.exc_info:
            error = record.exc_info[1]
            entry["error"] = type(error).__name__ if error is not None else None
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactToken(logging.Filter):
    """Replace the bot token and URLs' credentials in a record's message (for handlers with a
    plain Formatter)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without the token (or a URL's credentials); always keep it."""
        message = record.getMessage()
        redacted = redact_urls(message.replace(self._token, "<token>") if self._token else message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def setup_logging(level: int, secrets: Iterable[str] = (), *, json_lines: bool = False) -> None:
    """Configure the root logger for the command line: text or JSON lines on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(EventFormatter(json_lines=json_lines, secrets=secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    hold_back_libraries()


# The least severe level each library may log at, and why it is held back.
_LIBRARY_FLOORS = {
    "telegram": logging.INFO,  # updates in full at DEBUG
    "aiosqlite": logging.INFO,  # statements and parameters at DEBUG
    "httpx": logging.WARNING,  # URLs with the token at INFO
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,  # a line per job run at INFO
    "tornado": logging.WARNING,  # the webhook server: a line per request at INFO
    "aiohttp": logging.WARNING,  # the demo's Bot API server: a line per request at INFO
}


# When PTB cannot read what Telegram sent, it logs all of it (clients' words included) at
# ERROR or CRITICAL: the webhook server one update, getUpdates a whole batch, the request
# layer a whole answer. The loggers that do, and the start of each such line.
_UNREADABLE_DATA = {
    "telegram.ext.Updater": "Something went wrong processing the data received from Telegram",
    "telegram.Bot": "Error while parsing updates!",
    "telegram.ext.ExtBot": "Error while parsing updates!",
    "telegram.request.BaseRequest": "Can not load invalid JSON data",
}


class DropReceivedData(logging.Filter):
    """Keep PTB's lines about data it could not read, without the data."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite such a line to say what happened and nothing of what was written."""
        start = _UNREADABLE_DATA.get(record.name)
        if start is not None and isinstance(record.msg, str) and record.msg.startswith(start):
            error = record.exc_info[1] if record.exc_info else None
            kind = type(error).__name__ if error is not None else "unknown"
            record.msg = f"event=telegram.unreadable_data logger={record.name} error={kind}"
            record.args = None
            # The exception's own text may quote the data: only its kind is kept.
            record.exc_info = None
            record.exc_text = None
        return True


class JobCancelledQuietly(logging.Filter):
    """A job the JobQueue cancels as the bot stops (a tick still waiting on a locked
    database) is one INFO line, not APScheduler's error with a traceback: PTB awaits the
    job through asyncio.shield, so the cancel reaches APScheduler, not the job's own
    handler (bot.scheduling), and the one line a stopping bot prints must stay the only
    one. Any other exception a job raises keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a cancelled job's record; leave every other one as it is."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, asyncio.CancelledError):
            record.msg = "event=job.stopped error=CancelledError stopping=True"
            record.args = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = None
            record.exc_text = None
        return True


# APScheduler's executor logs "Job ... raised an exception" here.
_JOB_ERRORS = "apscheduler.executors.default"


def hold_back_libraries() -> None:
    """Keep other libraries from logging message content or the token."""
    jobs = logging.getLogger(_JOB_ERRORS)
    if not any(isinstance(f, JobCancelledQuietly) for f in jobs.filters):
        jobs.addFilter(JobCancelledQuietly())
    for name, floor in _LIBRARY_FLOORS.items():
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), floor))
    for name in _UNREADABLE_DATA:
        # A logger's filters see only its own records: each logger gets one.
        library = logging.getLogger(name)
        if not any(isinstance(f, DropReceivedData) for f in library.filters):
            library.addFilter(DropReceivedData())
