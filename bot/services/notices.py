"""Single texts to one person: greetings, help, refusals, hints."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.delivery.outbox import Outbox
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.storage.db import Database


class Refused(ValueError):
    """A request that changes nothing; `key` names the text that says why, with `params`."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# At most this many strangers remembered: beyond it, those answered longest ago are forgotten.
STRANGERS_REMEMBERED = 10_000


class Notices:
    """Queues one message from config/messages for one chat."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        texts: Texts,
        *,
        answer_strangers_every: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        resources: Callable[[str], str] = lambda language: "",
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._texts = texts
        # A stranger hears each answer once in this many seconds; what they send in between
        # is dropped quietly (a flood costs one answer, not one per message).
        self._answer_every = answer_strangers_every
        self._monotonic = monotonic
        # The programme's crisis lines in a language: a stranger may be in distress too.
        self._resources = resources
        # (chat, text key) -> when a stranger was last answered so; in memory only.
        self._strangers_answered: dict[tuple[int, str], float] = {}

    async def say(self, chat_id: int, key: str, language: str, **params: object) -> None:
        """Send the text `key` to a person we know."""
        async with self._db.transaction():
            await self.say_now(chat_id, key, language, **params)

    async def say_now(self, chat_id: int, key: str, language: str, **params: object) -> None:
        """say(), inside the caller's transaction."""
        await self._outbox.text(chat_id, self._texts.get(key, language, **params))

    async def say_to_stranger(
        self,
        chat_id: int,
        key: str = "stranger.invitation_only",
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        """Answer someone we keep nothing about (the queued reply is deleted once sent)."""
        async with self._db.transaction():
            await self.say_to_stranger_now(chat_id, key, language)

    async def say_to_stranger_now(
        self,
        chat_id: int,
        key: str = "stranger.invitation_only",
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        """say_to_stranger(), inside the caller's transaction (once in a while per text)."""
        if self._answered_lately(chat_id, key):
            return
        text = self._texts.get(key, language, resources=self._resources(language))
        await self._outbox.text(chat_id, text, ephemeral=True)

    def _answered_lately(self, chat_id: int, key: str) -> bool:
        """True if this stranger had this answer within the last while; else note that they
        have it now. Kept in memory only: strangers leave nothing stored."""
        if self._answer_every <= 0:
            return False
        now = self._monotonic()
        answered = self._strangers_answered
        last = answered.get((chat_id, key))
        if last is not None and now - last < self._answer_every:
            return True
        # Oldest first (an answer again goes to the end): the expired go, and past the
        # bound the oldest too (at worst answered twice); each answer costs a step or two.
        answered.pop((chat_id, key), None)
        while answered:
            oldest = next(iter(answered))
            if (
                len(answered) < STRANGERS_REMEMBERED
                and now - answered[oldest] < self._answer_every
            ):
                break
            del answered[oldest]
        answered[(chat_id, key)] = now
        return False

    async def refuse(self, chat_id: int, refused: Refused, language: str) -> None:
        """Say why a request changed nothing."""
        async with self._db.transaction():
            await self.say_now(chat_id, refused.key, language, **refused.params)
