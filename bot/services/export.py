"""/mydata: everything stored about a client, sent to them as a JSON document.

The document is built in the same transaction that records the export in the audit log,
and queued like every other message (the outbox blanks its payload once sent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.models import Actor, ActorRole, AuditEntry, Client, Specialist
from bot.domain.texts import Texts
from bot.logs import EventLog
from bot.services.team import Team
from bot.storage import events
from bot.storage.audit import AuditRepository
from bot.storage.db import Database, to_db
from bot.storage.export import ExportRepository

log = EventLog(__name__)

FORMAT = "porchlight-mydata/1"
FILENAME = "porchlight-my-data.json"


@dataclass(frozen=True)
class DataExport:
    """Gathers a client's rows and sends them the document."""

    db: Database
    rows: ExportRepository
    audit: AuditRepository
    outbox: Outbox
    texts: Texts
    clock: Clock
    team: Team | None = None

    async def send(self, client: Client, specialist: Specialist) -> None:
        """Queue the client's data for them, and note in the audit log that it was sent."""
        now = self.clock.now()
        async with self.db.transaction():
            await self.audit.record(
                Actor(ActorRole.CLIENT),
                "export",
                now,
                client_id=client.id,
                specialist_id=specialist.id,
            )
            document = {
                "format": FORMAT,
                "exported_at": to_db(now),
                "about": self.texts.get("mydata.about", client.language),
                "specialist": specialist.display_name,
                "client": await self.rows.client_row(client),
                "check_ins": await self.rows.checkins(client),
                "messages_relayed": await self.rows.relayed(client),
                "messages_waiting": await self.rows.waiting(client),
                "messages_received_not_yet_passed_on": await self.rows.unhandled(client),
                "audit": [_entry(entry) for entry in await self.audit.about_client(client.id)],
                "events": await events.of_client(self.db, client.id),
            }
            if self.team is not None and (copied := await self.team.export(client)):
                document["team_inbox"] = copied
            await self.outbox.document(
                client.chat_id,
                FILENAME,
                json.dumps(document, ensure_ascii=False, indent=2),
                caption=self.texts.get("mydata.caption", client.language),
            )
        log.info("client.exported", client=client.id)


def _entry(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as the client reads it: what was done, when, and by whom by role only.

    Staff are never named by their Telegram ids (their accounts stay hidden from clients,
    as the relay keeps them), so the details of others' actions, which name them, stay out.
    """
    own = entry.actor.role is ActorRole.CLIENT
    return {
        "at": to_db(entry.at),
        "action": entry.action,
        "by": entry.actor.role.value,
        "detail": entry.detail if own else None,
    }
