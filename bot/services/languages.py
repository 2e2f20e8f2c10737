"""The language the bot writes to a client in: /language, and the choice right after consent.

A client starts in their Telegram app's language when there is a message file for it
(English otherwise): the consent they read was already in it. The first question after
consent (how often?) carries one button per language, so a client can switch before
anything else, in place. /language shows the same buttons at any time, or takes a code
or a language's own name typed after it.

Specialists and admins choose the same way (StaffLanguages), for everything the bot says
to them; until they do, they read their Telegram app's language when there is a file for
it, else the programme's default (English: DEFAULT_LANGUAGE, there is no setting for it).
Their choice is kept by Telegram user id (bot.storage.staff_languages): an admin need not
be a specialist. A staff member's choice never changes a client's language, nor the
other way round.
"""

from __future__ import annotations

from dataclasses import replace

from bot.delivery.outbox import Buttons, Outbox
from bot.domain.clock import Clock
from bot.domain.models import Client
from bot.domain.texts import Texts
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.staff_languages import StaffLanguageRepository

# Button data: "l:<code>" under /language, "l:<code>:setup" under the first question.
SETUP = "setup"


def language_buttons(texts: Texts, current: str, where: str = "") -> list[tuple[str, str]]:
    """One button per language, each in its own name, the current one ticked."""
    suffix = f":{where}" if where else ""
    return [
        (("✓ " if code == current else "") + texts.get("language.name", code), f"l:{code}{suffix}")
        for code in sorted(texts.languages)
    ]


def parse_language_data(texts: Texts, data: str) -> tuple[str, str] | None:
    """The (language, where) of a language button, or None if it is not one of ours."""
    parts = data.split(":")
    if len(parts) not in (2, 3) or parts[0] != "l" or parts[1] not in texts.languages:
        return None
    where = parts[2] if len(parts) == 3 else ""
    return (parts[1], where) if where in ("", SETUP) else None


class Languages:
    """Shows the choice of language and stores a client's answer."""

    def __init__(
        self, db: Database, clients: ClientRepository, outbox: Outbox, texts: Texts
    ) -> None:
        self._db = db
        self._clients = clients
        self._outbox = outbox
        self._texts = texts

    def question(self, client: Client) -> tuple[str, Buttons]:
        """Which language? One button each."""
        text = self._texts.get("language.question", client.language)
        return text, [language_buttons(self._texts, client.language)]

    async def command(self, client: Client, typed: str) -> Client:
        """/language: the buttons; /language es (or Español): that language; anything else, a
        kind answer listing the choices. Returns the client as they are now."""
        async with self._db.transaction():
            if not typed.strip():
                text, buttons = self.question(client)
                await self._outbox.text(client.chat_id, text, buttons=buttons)
                return client
            language = self._texts.language_named(typed)
            if language is None:
                await self._outbox.text(client.chat_id, self._unknown(client.language))
                return client
            return await self._switch(client, language, None)

    async def choose(self, client: Client, language: str, message_id: int) -> Client:
        """A tap under /language: store it and say so, in place of the buttons."""
        async with self._db.transaction():
            return await self._switch(client, language, message_id)

    async def change(self, client: Client, language: str) -> Client:
        """Store a new language without a word (the caller shows what follows)."""
        if language == client.language:
            return client
        async with self._db.transaction():
            await self._clients.set_language(client.id, language)
        return replace(client, language=language)

    async def _switch(self, client: Client, language: str, edit: int | None) -> Client:
        same = language == client.language
        if not same:
            await self._clients.set_language(client.id, language)
        text = self._texts.get("language.unchanged" if same else "language.changed", language)
        if edit is None:
            await self._outbox.text(client.chat_id, text)
        else:
            await self._outbox.edit_text(client.chat_id, edit, text)
        return replace(client, language=language)

    def _unknown(self, language: str) -> str:
        return unknown_language(self._texts, language)


def unknown_language(texts: Texts, language: str) -> str:
    """The kind answer to a language we have no file for, listing the choices."""
    choices = "\n".join(
        texts.get("language.choice", language, name=texts.get("language.name", code), code=code)
        for code in sorted(texts.languages)
    )
    return texts.get("language.unknown", language, choices=choices)


class StaffLanguages:
    """/language for specialists and admins: the same buttons and answers as a client's,
    stored by Telegram user id (their private chat's id is the same number)."""

    def __init__(
        self,
        db: Database,
        repository: StaffLanguageRepository,
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
    ) -> None:
        self._db = db
        self._repository = repository
        self._outbox = outbox
        self._texts = texts
        self._clock = clock

    async def command(self, user_id: int, current: str, typed: str) -> str:
        """/language: the buttons; /language es (or Español): that language; anything else,
        a kind answer listing the choices. Returns the language they read in now."""
        async with self._db.transaction():
            if not typed.strip():
                text = self._texts.get("language.question", current)
                buttons = [language_buttons(self._texts, current)]
                await self._outbox.text(user_id, text, buttons=buttons)
                return current
            language = self._texts.language_named(typed)
            if language is None:
                await self._outbox.text(user_id, unknown_language(self._texts, current))
                return current
            return await self._switch(user_id, current, language, None)

    async def choose(self, user_id: int, current: str, language: str, message_id: int) -> str:
        """A tap under /language: store it and say so, in place of the buttons."""
        async with self._db.transaction():
            return await self._switch(user_id, current, language, message_id)

    async def _switch(self, user_id: int, current: str, language: str, edit: int | None) -> str:
        # Stored even when it is the language they read already: from now on it is their
        # choice, and a change of their app's language no longer moves them.
        await self._repository.choose(user_id, language, self._clock.now())
        key = "language.unchanged" if language == current else "language.changed"
        text = self._texts.get(key, language)
        if edit is None:
            await self._outbox.text(user_id, text)
        else:
            await self._outbox.edit_text(user_id, edit, text)
        return language
