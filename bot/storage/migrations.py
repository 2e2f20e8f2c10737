"""Forward-only schema migrations, recorded in schema_migrations.

Each step is a small named function; a comment says why it exists. Never edit a
step that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def run_script(conn: aiosqlite.Connection, script: str) -> None:
    """Run statements one by one: executescript would commit the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            await conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError("migration script ends with an incomplete statement")


async def m001_foundation(conn: aiosqlite.Connection) -> None:
    """Specialists, clients, invites, relay routing, the outbox and update de-duplication."""
    await run_script(
        conn,
        """
        CREATE TABLE specialists (
            id INTEGER PRIMARY KEY,
            telegram_user_id INTEGER NOT NULL UNIQUE,
            chat_id INTEGER NOT NULL,
            display_name TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );

        -- A client row exists only after consent: declining leaves nothing behind.
        CREATE TABLE clients (
            id INTEGER PRIMARY KEY,
            telegram_user_id INTEGER NOT NULL UNIQUE,
            chat_id INTEGER NOT NULL,
            alias TEXT NOT NULL,
            specialist_id INTEGER NOT NULL REFERENCES specialists(id),
            status TEXT NOT NULL
                CHECK (status IN ('active', 'paused', 'stopped', 'blocked')),
            language TEXT NOT NULL,
            timezone TEXT NOT NULL,
            consent_version INTEGER NOT NULL,
            consented_at TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX clients_alias ON clients(specialist_id, alias COLLATE NOCASE);

        -- Only a hash of the code: a leaked database cannot be used to join.
        CREATE TABLE invites (
            id INTEGER PRIMARY KEY,
            code_hash BLOB NOT NULL UNIQUE,
            specialist_id INTEGER NOT NULL REFERENCES specialists(id),
            alias TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );

        -- Every relayed copy (and its header) pairs with its client, so a reply to
        -- either finds its way back. Ids only: message content is never stored.
        CREATE TABLE relay_links (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            specialist_id INTEGER NOT NULL REFERENCES specialists(id),
            direction TEXT NOT NULL CHECK (direction IN ('to_specialist', 'to_client')),
            source_chat_id INTEGER,
            source_message_id INTEGER,
            dest_chat_id INTEGER NOT NULL,
            dest_message_id INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE INDEX relay_links_dest ON relay_links(dest_chat_id, dest_message_id);
        CREATE INDEX relay_links_source ON relay_links(source_chat_id, source_message_id);

        -- The last relay source per destination chat decides whether a new copy
        -- needs a header naming who it is from.
        CREATE TABLE relay_threads (
            chat_id INTEGER PRIMARY KEY,
            source_key TEXT NOT NULL,
            last_at TEXT NOT NULL
        );

        -- Everything the bot sends leaves through here. Payloads hold the bot's own
        -- texts and message ids, never what a client wrote.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            method TEXT NOT NULL,
            payload TEXT NOT NULL,
            priority INTEGER NOT NULL,
            relay_link_id INTEGER REFERENCES relay_links(id) ON DELETE SET NULL,
            idempotency_key TEXT UNIQUE,
            at_most_once INTEGER NOT NULL DEFAULT 0,
            -- Replies to strangers are deleted once sent: nothing about them is kept.
            ephemeral INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            sent_message_id INTEGER,
            last_error TEXT
        );
        CREATE INDEX outbox_due ON outbox(priority, not_before, id) WHERE status = 'pending';
        CREATE INDEX outbox_chat ON outbox(chat_id) WHERE status = 'pending';

        -- A redelivered update (after a crash before Telegram saw our offset) is
        -- recognised here and not relayed twice.
        CREATE TABLE processed_updates (
            update_id INTEGER PRIMARY KEY,
            processed_at TEXT NOT NULL
        );
        """,
    )


async def m002_checkins(conn: aiosqlite.Connection) -> None:
    """The client's rhythm and the check-in engine's bookkeeping.

    Scheduling is one indexed column (next_due_at, UTC) per client, not a job per
    client: the tick claims due rows in small batches. Paused clients carry their
    pause's end there, so the same tick resumes them.
    """
    await run_script(
        conn,
        """
        ALTER TABLE clients ADD COLUMN cadence TEXT;
        ALTER TABLE clients ADD COLUMN weekdays TEXT;
        ALTER TABLE clients ADD COLUMN window TEXT;
        ALTER TABLE clients ADD COLUMN at TEXT;
        ALTER TABLE clients ADD COLUMN quiet TEXT;
        ALTER TABLE clients ADD COLUMN timezone_chosen INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN paused_until TEXT;
        ALTER TABLE clients ADD COLUMN next_due_at TEXT;
        ALTER TABLE clients ADD COLUMN manual_due_at TEXT;
        ALTER TABLE clients ADD COLUMN last_slot TEXT;
        ALTER TABLE clients ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN last_prompt TEXT;
        ALTER TABLE clients ADD COLUMN last_sent_kind TEXT;
        ALTER TABLE clients ADD COLUMN welcome_back INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN awaiting TEXT;
        ALTER TABLE clients ADD COLUMN last_checkin_at TEXT;
        ALTER TABLE clients ADD COLUMN last_reply_at TEXT;
        CREATE INDEX clients_next_due ON clients(next_due_at) WHERE next_due_at IS NOT NULL;
        CREATE INDEX clients_manual_due ON clients(manual_due_at)
            WHERE manual_due_at IS NOT NULL;

        -- One row per check-in (or patience offer) sent: when, which prompt, and how it
        -- was answered (a button's name, or 'message'). Never the answer's words.
        -- UNIQUE (client_id, due_at): a due slot becomes at most one check-in, also
        -- across a crash and restart.
        CREATE TABLE checkins (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('scheduled', 'manual', 'patience')),
            due_at TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            prompt_key TEXT,
            answered_at TEXT,
            answer TEXT,
            UNIQUE (client_id, due_at)
        );
        CREATE INDEX checkins_client ON checkins(client_id, id);
        """,
    )


async def m003_inbox(conn: aiosqlite.Connection) -> None:
    """Messages received but not yet handled, so a crash cannot lose them.

    python-telegram-bot confirms an update to Telegram (with its next getUpdates)
    before the handlers have run; a message kept here first survives a kill -9 in
    between and is relayed at the next start. Ids only: the words stay in Telegram,
    and the row is deleted as soon as the update is handled.
    """
    await run_script(
        conn,
        """
        CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            reply_to_message_id INTEGER,
            received_at TEXT NOT NULL
        );
        """,
    )


async def m004_safety_and_blocks(conn: aiosqlite.Connection) -> None:
    """Safety replies at most once an hour; blocks that undo nothing; one ease-off offer.

    - last_safety_reply_at: when the client last got the resources.
    - status_before_block: a client who paused or stopped, then blocked and unblocked
      the bot, is paused or stopped again, not active.
    - specialists.blocked: admins hear once that a specialist blocked the bot.
    - patience_offered: the offer to ease off comes once per silence; any contact
      from the client clears it.
    """
    await run_script(
        conn,
        """
        ALTER TABLE clients ADD COLUMN last_safety_reply_at TEXT;
        ALTER TABLE clients ADD COLUMN status_before_block TEXT;
        ALTER TABLE clients ADD COLUMN patience_offered INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE specialists ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX processed_updates_at ON processed_updates(processed_at);
        """,
    )


async def m005_staff_tools(conn: aiosqlite.Connection) -> None:
    """The specialist's and admin's side: the audit log, away mode, the daily digest.

    - audit_log: who did what to whom and when; ids and event names, never message
      content. Entries outlive the people they name (no foreign keys); erasing a client
      blanks their id in the entries about them.
    - specialists.away, away_until (a local date, inclusive), away_note: away mode.
    - specialists.digest_at ("HH:MM" local) and digest_sent_on (a local date): the daily
      summary, at most once a day.
    - clients.away_note_on: the client's local date of the last away note (once a day).
    - clients.last_flagged_at: the last possibly urgent message, which puts the client at
      the top of the specialist's overview until the specialist writes to them.
    - relay_links_client: the overview asks per client when they last wrote.
    """
    await run_script(
        conn,
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor_role TEXT NOT NULL
                CHECK (actor_role IN ('client', 'specialist', 'admin', 'cli', 'system')),
            actor_id INTEGER,
            action TEXT NOT NULL,
            client_id INTEGER,
            specialist_id INTEGER,
            detail TEXT
        );
        CREATE INDEX audit_log_client ON audit_log(client_id) WHERE client_id IS NOT NULL;
        ALTER TABLE specialists ADD COLUMN away INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE specialists ADD COLUMN away_until TEXT;
        ALTER TABLE specialists ADD COLUMN away_note TEXT;
        ALTER TABLE specialists ADD COLUMN digest_at TEXT;
        ALTER TABLE specialists ADD COLUMN digest_sent_on TEXT;
        ALTER TABLE clients ADD COLUMN away_note_on TEXT;
        ALTER TABLE clients ADD COLUMN last_flagged_at TEXT;
        CREATE INDEX relay_links_client ON relay_links(client_id, direction, created_at);
        """,
    )


async def m006_inbox_safety(conn: aiosqlite.Connection) -> None:
    """What the safety screen found in a message, kept with its ids in the inbox.

    The inbox holds ids only, so a message relayed after a crash could not be screened
    again; the category (never the words) lets it still be marked possibly urgent.
    """
    await conn.execute("ALTER TABLE inbox ADD COLUMN safety_category TEXT")


async def m007_used_invites_go(conn: aiosqlite.Connection) -> None:
    """A used invite is deleted from now on: its alias (often a first name) lives on in the
    client row, which /forget erases even after a transfer moved it; the used rows kept so
    far go too. The used_at column stays, always empty (migrations only go forward)."""
    await conn.execute("DELETE FROM invites WHERE used_at IS NOT NULL")


async def m008_sent_links(conn: aiosqlite.Connection) -> None:
    """A relayed message's id in the chat it reached is written into its relay link by the
    same statement that marks it sent. A reply is routed by that id, so the two must never
    part; as one statement they need no transaction, which took three more trips to the
    database thread for every relayed message."""
    await conn.execute(
        """
        CREATE TRIGGER outbox_sent_into_link AFTER UPDATE OF sent_message_id ON outbox
        WHEN NEW.relay_link_id IS NOT NULL AND NEW.sent_message_id IS NOT NULL
        BEGIN
            UPDATE relay_links SET dest_message_id = NEW.sent_message_id
            WHERE id = NEW.relay_link_id;
        END
        """
    )


async def m009_screen_levels(conn: aiosqlite.Connection) -> None:
    """The screen's second level, and what it cannot read.

    - clients.last_concern_at: the last message with indirect warning signs ("concern"),
      which marks the client in /clients and the digest as possibly urgent ones are.
    - inbox.unscreened: the kind of a voice note, video or audio (never its content), so a
      message relayed after a crash still tells the specialist it was not screened.
    A stored category's level comes from the safety files, so it needs no column.
    """
    await conn.executescript(
        """
        ALTER TABLE clients ADD COLUMN last_concern_at TEXT;
        ALTER TABLE inbox ADD COLUMN unscreened TEXT;
        """
    )


MIGRATIONS: tuple[Migration, ...] = (
    m001_foundation,
    m002_checkins,
    m003_inbox,
    m004_safety_and_blocks,
    m005_staff_tools,
    m006_inbox_safety,
    m007_used_invites_go,
    m008_sent_links,
    m009_screen_levels,
)


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return their names."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    async with conn.execute("SELECT name FROM schema_migrations") as cursor:
        done = {row[0] async for row in cursor}
    applied = []
    for step in MIGRATIONS:
        if step.__name__ in done:
            continue
        await step(conn)
        await conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            (step.__name__, datetime.now(UTC).isoformat()),
        )
        applied.append(step.__name__)
    return applied
