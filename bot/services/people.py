"""Who is writing: a specialist, a client, an admin, or someone the bot does not know."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.clock import Clock
from bot.domain.commands import TELEGRAM_ID_LIMIT
from bot.domain.invites import has_hidden_characters
from bot.domain.models import Actor, ActorRole, Client, Specialist
from bot.domain.texts import DEFAULT_LANGUAGE
from bot.services.notices import Refused
from bot.storage.audit import AuditRepository
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.people import PeopleRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguage, StaffLanguageRepository

CLI = Actor(ActorRole.CLI)


@dataclass(frozen=True)
class Person:
    """A Telegram user as Porchlight sees them."""

    user_id: int
    specialist: Specialist | None
    client: Client | None
    is_admin: bool
    # For a client: the specialist who reads their messages.
    their_specialist: Specialist | None = None
    # The language of their Telegram app, when we have a file for it (else English).
    telegram_language: str = DEFAULT_LANGUAGE
    # For staff: what is stored about their language (None: nothing yet).
    staff_language: StaffLanguage | None = None
    # For staff: their command menu is not (or no longer) in their language: first heard
    # from, or their app's language changed while they have chosen none.
    menu_outdated: bool = False

    @property
    def is_staff(self) -> bool:
        """An active specialist or an admin."""
        return self.specialist is not None or self.is_admin

    @property
    def language(self) -> str:
        """The language to write to them in: a client's own choice; a staff member's
        (/language, else their Telegram app's); their Telegram app's for anyone else."""
        if self.client is not None:
            return self.client.language
        if self.is_staff and self.staff_language is not None:
            return self.staff_language.language
        return self.telegram_language

    @property
    def is_stranger(self) -> bool:
        """Nobody we know: not a specialist, client or admin."""
        return self.specialist is None and self.client is None and not self.is_admin


class SpecialistError(Refused):
    """A specialist that cannot be registered; the key names the text that says why."""


class People:
    """Looks people up and registers specialists."""

    def __init__(
        self,
        db: Database,
        lookup: PeopleRepository,
        specialists: SpecialistRepository,
        clients: ClientRepository,
        audit: AuditRepository,
        admin_ids: frozenset[int],
        clock: Clock,
        staff_languages: StaffLanguageRepository | None = None,
    ) -> None:
        self._db = db
        self._lookup = lookup
        self._staff_languages = staff_languages or StaffLanguageRepository(db)
        self._specialists = specialists
        self._clients = clients
        self._audit = audit
        self._admin_ids = admin_ids
        self._clock = clock

    @property
    def admin_ids(self) -> frozenset[int]:
        """The Telegram user ids of the programme's admins."""
        return self._admin_ids

    async def identify(self, user_id: int, language: str | None = None) -> Person:
        """Who this Telegram user is to us (inactive specialists count as strangers);
        `language` is the catalogue language of their Telegram app, if it said one.

        For staff, a new app language is stored (only when it changed): the bot writes
        to them in it until they choose one, also from the tick, which has no update.
        """
        async with self._db.autocommit():
            found = await self._lookup.lookup(user_id)
        specialist = found.specialist
        if specialist is not None and not specialist.active:
            specialist = None
        is_admin = user_id in self._admin_ids
        stored = found.staff_language
        outdated = False
        staff = specialist is not None or is_admin
        if staff and language is not None and (stored is None or stored.app != language):
            async with self._db.transaction():
                await self._staff_languages.seen(user_id, language, self._clock.now())
            before = None if stored is None else stored.language
            stored = StaffLanguage(None if stored is None else stored.chosen, language)
            outdated = before != stored.language
            if specialist is not None:
                specialist = replace(specialist, language=stored.language)
        return Person(
            user_id,
            specialist,
            found.client,
            is_admin,
            found.their_specialist,
            language or DEFAULT_LANGUAGE,
            stored if staff else None,
            outdated,
        )

    async def staff_languages(self) -> dict[int, str]:
        """Every stored staff language, by Telegram user id (others read the default)."""
        async with self._db.autocommit():
            return await self._staff_languages.every()

    async def add_specialist(
        self, telegram_user_id: int, display_name: str, actor: Actor = CLI
    ) -> Specialist:
        """Register (or rename) a specialist; refuse a client's account, or a name that is
        blank, long, or holds characters that hide or rearrange text (as aliases may not)."""
        name = " ".join(display_name.split())
        if not name:
            raise SpecialistError("people.empty_name")
        if len(name) > 64:
            raise SpecialistError("people.long_name")
        if has_hidden_characters(name):
            raise SpecialistError("people.hidden_characters")
        if not 0 < telegram_user_id < TELEGRAM_ID_LIMIT:
            raise SpecialistError("people.bad_id")
        now = self._clock.now()
        async with self._db.transaction():
            if await self._clients.by_user(telegram_user_id) is not None:
                raise SpecialistError("people.is_client")
            known = await self._specialists.by_user(telegram_user_id)
            if known is not None and known.active and known.display_name == name:
                return known  # added again as they are: nothing changed, nothing to record
            specialist = await self._specialists.add(telegram_user_id, name, now)
            await self._audit.record(actor, "specialist_added", now, specialist_id=specialist.id)
            return specialist

    async def specialists(self) -> list[tuple[Specialist, int]]:
        """Every specialist with their number of clients."""
        async with self._db.transaction():
            found = await self._specialists.all()
            return [(s, await self._specialists.client_count(s.id)) for s in found]
