"""Turning rhythms and moments into the client's words, from config/messages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from bot.domain.rhythm import Cadence, QuietHours, Rhythm, describe_next
from bot.domain.texts import Texts


def category_name(texts: Texts, category: str, language: str) -> str:
    """A screen category as the staff read it ('self_harm': 'self harm', 'autolesión'); a
    category the message files do not name yet, as written in the phrase files."""
    key = f"safety_categories.{category}"
    return texts.get(key, language) if texts.has(key) else category.replace("_", " ")


class Phrasing:
    """Phrases for rhythms, days and moments in one language catalogue."""

    def __init__(self, texts: Texts) -> None:
        self._texts = texts

    def weekday(self, day: int, language: str) -> str:
        """Monday..Sunday for 0..6."""
        return self._texts.get(f"weekday.d{day}", language)

    def weekday_short(self, day: int, language: str) -> str:
        """Mon..Sun for 0..6."""
        return self._texts.get(f"weekday_short.d{day}", language)

    def day_list(self, days: frozenset[int], language: str) -> str:
        """Monday, Wednesday and Friday."""
        names = [self.weekday(day, language) for day in sorted(days)]
        if len(names) < 2:
            return "".join(names)
        conjunction = self._texts.get("rhythm.and", language)
        return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"

    def rhythm(self, rhythm: Rhythm | None, language: str) -> str:
        """'every day, in the morning', 'once a week on Thursday, at 18:15'."""
        if rhythm is None:
            return self._texts.get("settings.not_chosen", language)
        if rhythm.cadence is Cadence.WHEN_I_WRITE:
            return self._texts.get("rhythm.when_i_write", language)
        day = self.weekday(min(rhythm.weekdays), language) if rhythm.weekdays else ""
        cadence = self._texts.get(
            f"rhythm.{rhythm.cadence.value}",
            language,
            day=day,
            days=self.day_list(rhythm.weekdays, language),
        )
        if rhythm.window is not None:
            window = self._texts.get(f"window.{rhythm.window.value}", language)
            return self._texts.get("rhythm.with_window", language, cadence=cadence, window=window)
        assert rhythm.at is not None
        return self._texts.get(
            "rhythm.with_time", language, cadence=cadence, time=f"{rhythm.at:%H:%M}"
        )

    def quiet(self, quiet: QuietHours | None, language: str) -> str:
        """'22:00 to 08:00' or 'none'."""
        if quiet is None:
            return self._texts.get("settings.no_quiet", language)
        return self._texts.get(
            "settings.quiet_range",
            language,
            start=f"{quiet.start:%H:%M}",
            end=f"{quiet.end:%H:%M}",
        )

    def date(self, day: date, language: str) -> str:
        """'Saturday 5 December'."""
        return self._texts.get(
            "when.date",
            language,
            weekday=self.weekday(day.weekday(), language),
            day=day.day,
            month=self._texts.get(f"month.m{day.month:02d}", language),
        )

    def moment(self, moment: datetime, tz: tzinfo, language: str) -> str:
        """'Saturday 5 December at 14:00' in the given zone."""
        local = moment.astimezone(tz)
        return self._texts.get(
            "when.date_at", language, date=self.date(local.date(), language), time=f"{local:%H:%M}"
        )

    def next_checkin(
        self, due_at: datetime, tz: tzinfo, now: datetime, rhythm: Rhythm, language: str
    ) -> str:
        """'tomorrow morning', 'Thursday at 18:15', 'later today, in the evening'."""
        described = describe_next(due_at, tz, now, rhythm)
        weekday = self.weekday(described.date.weekday(), language)
        when_date = self.date(described.date, language)
        if described.window is not None:
            window = self._texts.get(f"window.{described.window.value}", language)
            return self._texts.get(
                f"when.{described.day}_window",
                language,
                window=window,
                weekday=weekday,
                date=when_date,
            )
        assert described.at is not None
        return self._texts.get(
            f"when.{described.day}_at",
            language,
            time=f"{described.at:%H:%M}",
            weekday=weekday,
            date=when_date,
        )

    def checkin_label(self, sent_at: datetime, tz: tzinfo, language: str) -> str:
        """'Tue 10:14': how a specialist recognises a check-in."""
        local = sent_at.astimezone(tz)
        return f"{self.weekday_short(local.weekday(), language)} {local:%H:%M}"

    def ago(self, moment: datetime, now: datetime, language: str) -> str:
        """'just now', '5 min ago', '3 h ago', 'a day ago', '4 days ago', '3 weeks ago'."""
        elapsed = max(now - moment, timedelta(0))
        minutes = int(elapsed.total_seconds() // 60)
        if minutes < 1:
            return self._texts.get("ago.now", language)
        if minutes < 60:
            return self._texts.get("ago.minutes", language, n=minutes)
        if elapsed < timedelta(days=1):
            return self._texts.get("ago.hours", language, n=minutes // 60)
        if elapsed < timedelta(days=2):
            return self._texts.get("ago.day", language)
        if elapsed < timedelta(days=14):
            return self._texts.get("ago.days", language, n=elapsed.days)
        return self._texts.get("ago.weeks", language, n=elapsed.days // 7)
