"""Finding the client or specialist a command names, at the start of what was typed.

Aliases and display names may have several words, so the longest reading that names
someone wins ("/to Mary Ann see you" is Mary Ann, not Mary). A specialist finds only
their own clients: another specialist's client is simply not there. An admin finds
every client, and can write "Alex@1001" (with the specialist's Telegram id) when two
specialists have a client called Alex. Called inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.domain.commands import close_matches, leading_names, telegram_id
from bot.domain.models import Client, Specialist
from bot.services.notices import Refused
from bot.storage.clients import ClientRepository
from bot.storage.specialists import SpecialistRepository

T = TypeVar("T")


@dataclass(frozen=True)
class Named(Generic[T]):
    """Who the start of a command names, and what was typed after the name."""

    found: T
    rest: str


class Lookup:
    """Reads names out of commands."""

    def __init__(self, clients: ClientRepository, specialists: SpecialistRepository) -> None:
        self._clients = clients
        self._specialists = specialists

    async def client(self, text: str, specialist: Specialist | None) -> Named[Client]:
        """The client named at the start of `text`: the specialist's own, or anyone's (None)."""
        owner = None if specialist is None else specialist.id
        for name, rest in leading_names(text):
            found = await self._clients.with_alias(name, owner)
            if not found and owner is None:
                found = await self._qualified(name)
            if len({c.specialist_id for c in found}) == 1:
                # "Ángel" and "ángel" of one specialist, from before aliases were compared
                # in every script: the spelling typed tells them apart.
                found = [c for c in found if c.alias == name] or found
            if len(found) == 1:
                return Named(found[0], rest)
            if found:
                raise await self._ambiguous(name, found)
        first = text.split()[0] if text.split() else ""
        matches = close_matches(text, await self._clients.aliases(owner))
        if matches:
            raise Refused("lookup.close", alias=first, matches=", ".join(matches))
        raise Refused("lookup.no_client", alias=first)

    async def _qualified(self, name: str) -> list[Client]:
        """ "Alex@1001": the client called Alex of the specialist with Telegram id 1001."""
        alias, _, typed_id = name.rpartition("@")
        owner_id = telegram_id(typed_id)
        if not alias or owner_id is None:
            return []
        owner = await self._specialists.by_user(owner_id)
        return [] if owner is None else await self._clients.with_alias(alias, owner.id)

    async def _ambiguous(self, alias: str, found: list[Client]) -> Refused:
        owners = []
        for client in found:
            owner = await self._specialists.by_id(client.specialist_id)
            if owner is not None:
                owners.append((owner.display_name, owner.telegram_user_id))
        example = f"{alias}@{owners[0][1]}" if owners else alias
        return Refused(
            "lookup.ambiguous",
            alias=alias,
            owners=", ".join(f"{name} ({user_id})" for name, user_id in owners),
            example=example,
        )

    async def specialist(self, text: str) -> Named[Specialist]:
        """The active specialist named (display name or Telegram user id) at the start."""
        active = [s for s in await self._specialists.all() if s.active]
        for name, rest in leading_names(text):
            found = [
                s
                for s in active
                if s.display_name.casefold() == name.casefold() or str(s.telegram_user_id) == name
            ]
            if len(found) == 1:
                return Named(found[0], rest)
            if found:
                raise Refused("lookup.same_names", name=name)
        names = ", ".join(s.display_name for s in active)
        first = text.split()[0] if text.split() else ""
        raise Refused("lookup.no_specialist", name=first, names=names)
