"""Logging: one line per event with an event name and ids, never a message's text.

Other libraries are held back whatever LOG_LEVEL says: python-telegram-bot logs
whole updates (a client's words) at DEBUG, aiosqlite logs statements and their
parameters at DEBUG, and httpx logs every request URL (which holds the token) at
INFO. A filter also blanks the token wherever it might still appear.
"""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Replace the bot token in any log record."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without the token; always keep it."""
        if self._token and self._token in record.getMessage():
            record.msg = record.getMessage().replace(self._token, "<token>")
            record.args = None
        return True


def setup_logging(level: int, token: str | None) -> None:
    """Configure the root logger for the command line."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    if token:
        handler.addFilter(RedactToken(token))
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
}


def hold_back_libraries() -> None:
    """Keep other libraries from logging message content or the token."""
    for name, floor in _LIBRARY_FLOORS.items():
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), floor))
