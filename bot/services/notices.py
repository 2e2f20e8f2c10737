"""Single texts to one person: greetings, help, refusals, hints."""

from __future__ import annotations

from bot.delivery.outbox import Outbox
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.storage.db import Database


class Refused(ValueError):
    """A request that changes nothing; `key` names the text that says why, with `params`."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class Notices:
    """Queues one message from config/messages for one chat."""

    def __init__(self, db: Database, outbox: Outbox, texts: Texts) -> None:
        self._db = db
        self._outbox = outbox
        self._texts = texts

    async def say(
        self, chat_id: int, key: str, language: str = DEFAULT_LANGUAGE, **params: object
    ) -> None:
        """Send the text `key` to a person we know."""
        async with self._db.transaction():
            await self.say_now(chat_id, key, language, **params)

    async def say_now(
        self, chat_id: int, key: str, language: str = DEFAULT_LANGUAGE, **params: object
    ) -> None:
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
        """say_to_stranger(), inside the caller's transaction."""
        await self._outbox.text(chat_id, self._texts.get(key, language), ephemeral=True)

    async def refuse(
        self, chat_id: int, refused: Refused, language: str = DEFAULT_LANGUAGE
    ) -> None:
        """Say why a request changed nothing."""
        async with self._db.transaction():
            await self.say_now(chat_id, refused.key, language, **refused.params)
