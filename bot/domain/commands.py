"""Reading the staff's typed commands: names at the start of a line, away dates, digest times.

Pure functions; a ValueError's message is the text key of the refusal to show.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

MAX_NAME_WORDS = 6
AWAY_NOTE_MAX = 300
# The furthest ahead an away date may lie: a typo of a year should not silence a year.
AWAY_MAX_DAYS = 366
# Telegram's user ids have at most 52 significant bits; a longer number is nobody's id and
# would not even fit the database's integers.
TELEGRAM_ID_LIMIT = 2**52
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def whole_number(text: str) -> int | None:
    """The number typed, if it is one: ASCII digits only ("²" and "٣" are digits to Python)."""
    return int(text) if text.isascii() and text.isdigit() else None


def telegram_id(text: str) -> int | None:
    """A Telegram user id as typed, or None if it cannot be one."""
    number = whole_number(text)
    return number if number is not None and 0 < number < TELEGRAM_ID_LIMIT else None


def leading_names(text: str, longest: int = MAX_NAME_WORDS) -> list[tuple[str, str]]:
    """Each way to read the start of `text` as a name of one or more words, longest first.

    Returns (name with single spaces, the rest of the text as written), so that
    "/to Mary Ann see you soon" can be tried as "Mary Ann" before "Mary".
    """
    words = text.split()
    readings = []
    for count in range(min(longest, len(words)), 0, -1):
        pattern = r"\s*" + r"\S+\s+" * (count - 1) + r"\S+"
        match = re.match(pattern, text)
        assert match is not None
        readings.append((" ".join(words[:count]), text[match.end() :].strip()))
    return readings


def close_matches(text: str, names: Iterable[str], limit: int = 5) -> list[str]:
    """Names that look like the start of `text` (a typo, a missing word), best first."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(name.casefold(), name)
    found: list[str] = []
    for attempt, _ in reversed(leading_names(text, 3)):
        for key in difflib.get_close_matches(attempt.casefold(), by_key, n=limit, cutoff=0.6):
            if by_key[key] not in found:
                found.append(by_key[key])
    return found[:limit]


@dataclass(frozen=True)
class AwayRequest:
    """What /away asked for: through which local date (None: until /back), and a note."""

    until: date | None
    note: str | None


def parse_away(text: str, today: date) -> AwayRequest:
    """ "/away", "/away until 2026-12-03 note", "/away until friday note", "/away note".

    A weekday means the next such day after today. A date already past, or more than a
    year ahead, is refused; so is a note longer than AWAY_NOTE_MAX characters.
    """
    words = text.split()
    until = None
    note = text.strip()
    if words and words[0].casefold() == "until":
        if len(words) < 2:
            raise ValueError("away.usage")
        until = _away_date(words[1].casefold(), today)
        note = leading_names(text, 2)[0][1]
    if len(note) > AWAY_NOTE_MAX:
        raise ValueError("away.note_too_long")
    return AwayRequest(until, note or None)


def _away_date(word: str, today: date) -> date:
    if word in _WEEKDAYS or word in {day[:3] for day in _WEEKDAYS}:
        weekday = next(i for i, day in enumerate(_WEEKDAYS) if day.startswith(word))
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if not _ISO_DATE.fullmatch(word):
        raise ValueError("away.usage")
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise ValueError("away.usage") from None
    if day < today:
        raise ValueError("away.date_past")
    if day > today + timedelta(days=AWAY_MAX_DAYS):
        raise ValueError("away.date_far")
    return day


def parse_digest(text: str) -> time | None:
    """ "HH:MM" for a daily summary at that local time, or "off" (None)."""
    cleaned = text.strip().casefold()
    if cleaned == "off":
        return None
    match = _CLOCK.fullmatch(cleaned)
    if match is None:
        raise ValueError("digest.usage")
    return time(int(match[1]), int(match[2]))
