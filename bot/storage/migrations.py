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


async def m010_escalation(conn: aiosqlite.Connection) -> None:
    """A possibly urgent message is answered by someone; ordinary silence gets a reminder.

    - escalations: one row per message screened urgent, with when it becomes due for the
      supervisors (due_at, indexed, cleared once it has gone or been answered), when it
      went, and who answered first (a Telegram user id) and when; unreached_at: when the
      specialist heard that Telegram refused every supervisor's copy. Ids and times only.
      A restart reads due_at again: nothing due is forgotten, nothing goes twice.
    - escalation_copies: the copies (and their headers) a supervisor received, by relay
      link, so their reply is recognised as an answer and routed to the client.
    - specialists.on_call: who receives escalations besides the admins (/oncall).
    - clients.waiting_since: the first message or "I'd like to talk" the specialist has
      not answered yet (a tap on "talk" sets it by trigger); waiting_reminded: the one
      reminder for it has gone. The partial index keeps the tick's question cheap however
      many clients there are.
    """
    await run_script(
        conn,
        """
        CREATE TABLE escalations (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            specialist_id INTEGER NOT NULL,
            category TEXT NOT NULL,
            source_chat_id INTEGER NOT NULL,
            source_message_id INTEGER NOT NULL,
            flagged_at TEXT NOT NULL,
            due_at TEXT,
            escalated_at TEXT,
            answered_at TEXT,
            answered_by INTEGER,
            unreached_at TEXT
        );
        CREATE INDEX escalations_due ON escalations(due_at) WHERE due_at IS NOT NULL;
        CREATE INDEX escalations_open ON escalations(client_id) WHERE answered_at IS NULL;
        CREATE TABLE escalation_copies (
            relay_link_id INTEGER PRIMARY KEY REFERENCES relay_links(id) ON DELETE CASCADE,
            escalation_id INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL
        );
        CREATE INDEX escalation_copies_escalation ON escalation_copies(escalation_id);
        ALTER TABLE specialists ADD COLUMN on_call INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN waiting_since TEXT;
        ALTER TABLE clients ADD COLUMN waiting_reminded INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX clients_waiting ON clients(waiting_since)
            WHERE waiting_since IS NOT NULL AND waiting_reminded = 0;
        """,
    )
    # An "I'd like to talk" waits for an answer like a message does, in the same statement
    # that records the tap.
    await conn.execute(
        """
        CREATE TRIGGER checkins_talk_waits AFTER UPDATE OF answer ON checkins
        WHEN NEW.answer = 'talk' AND NEW.answered_at IS NOT NULL
        BEGIN
            UPDATE clients SET waiting_since = NEW.answered_at, waiting_reminded = 0
            WHERE id = NEW.client_id AND waiting_since IS NULL;
        END
        """
    )


async def m016_events(conn: aiosqlite.Connection) -> None:
    """Content-free events for the programme report: what happened when, to whom by
    internal id only (never words, aliases or Telegram ids).

    Check-ins and relay routing go with a client who erases their data; these rows lose the
    client's id instead, so the weekly figures already recorded stay true and nobody can be
    picked out of them. No foreign keys, like audit_log. `ref` ties an answer to its
    check-in; `value` is the seconds until the first answer (to a client's message or a
    flag, a person's; to a check-in, the client's), and `outcome` how a check-in was
    first answered (a button's name or 'message').
    """
    await run_script(
        conn,
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            client_id INTEGER,
            specialist_id INTEGER,
            ref INTEGER,
            detail TEXT,
            value REAL,
            outcome TEXT
        );
        CREATE INDEX events_at ON events(at);
        -- Covering the report's reads: a year of a large programme is read from the index.
        CREATE INDEX events_kind_at
            ON events(kind, at, specialist_id, client_id, detail, value, outcome);
        CREATE INDEX events_client ON events(client_id, kind) WHERE client_id IS NOT NULL;
        CREATE UNIQUE INDEX events_checkin_sent ON events(ref) WHERE kind = 'checkin_sent';

        -- The weekly report (REPORT_WEEKLY) claims its ISO week here before it is queued,
        -- in the same transaction: a restart never sends it twice.
        CREATE TABLE report_runs (
            week TEXT PRIMARY KEY,
            sent_at TEXT NOT NULL
        );
        """,
    )


async def m014_heartbeat(conn: aiosqlite.Connection) -> None:
    """One row the running bot rewrites each tick: when it last ticked and when the Bot API
    last answered it. `python -m bot health` (Docker's HEALTHCHECK, a systemd timer) reads
    it from another process, so it lives in the database rather than in memory."""
    await conn.execute(
        """
        CREATE TABLE heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tick_at TEXT NOT NULL,
            api_ok_at TEXT
        )
        """
    )


async def m012_held_messages(conn: aiosqlite.Connection) -> None:
    """Messages kept for a specialist who blocked the bot: outbox status 'held'.

    Telegram answers 403 to every message for someone who blocked the bot; a client's
    words for their specialist were then given up (dead). They are kept instead, in a
    status the sender does not look at, and sent in order when the specialist unblocks
    the bot. SQLite cannot change a CHECK constraint, so the table is rebuilt from its
    own definition (its ids now never given twice: AUTOINCREMENT); every index and
    trigger on it, whichever step made them, is made again as it was.
    """
    async with conn.execute(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'outbox' AND sql IS NOT NULL"
    ) as cursor:
        found = [(row[0], row[1]) async for row in cursor]
    table = next(sql for kind, sql in found if kind == "table")
    others = [sql for kind, sql in found if kind != "table"]
    allowed = "('pending', 'sending', 'sent', 'dead')"
    key = "id INTEGER PRIMARY KEY,"
    if allowed not in table or key not in table:
        raise ValueError("m012: the outbox's definition is not the one expected")
    rebuilt = table.replace(allowed, "('pending', 'sending', 'sent', 'dead', 'held')", 1)
    # AUTOINCREMENT: an id is never given again. The sender knows items by id, and rows
    # are deleted while it may still hold them (/forget, a stranger's note once sent): a
    # new item given such an id was taken for the old one, marked sent without being sent,
    # and the erased words went out in its place.
    rebuilt = rebuilt.replace(key, "id INTEGER PRIMARY KEY AUTOINCREMENT,", 1)
    rebuilt = rebuilt.replace("CREATE TABLE outbox", "CREATE TABLE outbox_rebuilt", 1)
    await conn.execute(rebuilt)
    await conn.execute("INSERT INTO outbox_rebuilt SELECT * FROM outbox")
    await conn.execute("DROP TABLE outbox")
    await conn.execute("ALTER TABLE outbox_rebuilt RENAME TO outbox")
    for sql in others:
        await conn.execute(sql)
    await conn.execute("CREATE INDEX outbox_held ON outbox(chat_id) WHERE status = 'held'")
    # When a client was last told their specialist cannot receive messages (once a while).
    await conn.execute("ALTER TABLE clients ADD COLUMN kept_note_at TEXT")


async def m015_retention_indexes(conn: aiosqlite.Connection) -> None:
    """The daily purge finds what is past retention by index, in small batches.

    Without these, deleting old check-ins, sent messages and relay links read the whole
    table under the database lock: 145 ms for 30 days of daily check-ins at 100,000
    clients, more than a second at 180 days. outbox_relay_link serves the foreign key:
    deleting a relay link looks for messages that still point at it (and escalation asks
    whether Telegram refused a supervisor's copy by it). Events (m016) and
    settled escalations (m010) go the same way (events_at already dates the events).
    """
    await run_script(
        conn,
        """
        CREATE INDEX checkins_sent ON checkins(sent_at);
        CREATE INDEX relay_links_created ON relay_links(created_at);
        CREATE INDEX outbox_finished ON outbox(created_at) WHERE status IN ('sent', 'dead');
        CREATE INDEX outbox_relay_link ON outbox(relay_link_id)
            WHERE relay_link_id IS NOT NULL;
        CREATE INDEX escalations_settled ON escalations(flagged_at) WHERE due_at IS NULL;
        """,
    )


async def m009_screen_levels(conn: aiosqlite.Connection) -> None:
    """The screen's second level, and what it cannot read.

    - clients.last_concern_at: the last message with indirect warning signs ("concern"),
      which marks the client in /clients and the digest as possibly urgent ones are.
    - inbox.unscreened: the kind of a voice note, video or audio (never its content), so a
      message relayed after a crash still tells the specialist it was not screened.
    A stored category's level comes from the safety files, so it needs no column.
    """
    await run_script(
        conn,
        """
        ALTER TABLE clients ADD COLUMN last_concern_at TEXT;
        ALTER TABLE inbox ADD COLUMN unscreened TEXT;
        """,
    )


async def m017_inbox_forwarded(conn: aiosqlite.Connection) -> None:
    """inbox.forwarded: a message the client forwarded (someone else's words), so one
    relayed after a crash, or retried by the tick, still comes under the forwarded header."""
    await run_script(conn, "ALTER TABLE inbox ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;")


async def m018_specialist_lookups(conn: aiosqlite.Connection) -> None:
    """Indexes for the two questions every tick asks of the specialists: whose away time
    has ended, who gets a daily summary. Both read every specialist otherwise: 3,000 of
    them at 1,000,000 clients, about 1.7 ms of every tick (bench_aged), growing with the
    programme while the answer is nearly always a handful."""
    await run_script(
        conn,
        """
        CREATE INDEX specialists_away ON specialists(away_until) WHERE away = 1;
        CREATE INDEX specialists_digest ON specialists(id)
            WHERE active = 1 AND digest_at IS NOT NULL;
        """,
    )


async def m019_team_topics(conn: aiosqlite.Connection) -> None:
    """team_topics: the team inbox's one forum topic per client (bot.services.team). The row
    is claimed before the topic is asked for, so two messages racing at start, or a restart
    in between, never make two; thread_id stays NULL until Telegram has made it. No foreign
    key: /forget deletes the row itself, once the topic's deletion is queued."""
    await run_script(
        conn,
        """
        CREATE TABLE team_topics (
            client_id INTEGER PRIMARY KEY,
            thread_id INTEGER,
            title TEXT NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX team_topics_thread ON team_topics(thread_id);
        -- Group members who are not staff, told once per topic that they do not reach the
        -- client (the user id of someone in the staff group, nothing else).
        CREATE TABLE team_notices (
            client_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            PRIMARY KEY (client_id, user_id)
        );
        """,
    )


async def m020_terms_accepted(conn: aiosqlite.Connection) -> None:
    """Changed terms are accepted by a tap, not by being shown.

    clients.consent_version is from now on the version the client accepted (by joining, or
    by tapping Okay under changed terms); clients.terms_shown_version is the newest version
    they were shown, so changed terms come once, not at every message. Until now showing
    the terms raised consent_version, so what was shown counts as accepted.
    """
    await run_script(
        conn,
        """
        ALTER TABLE clients ADD COLUMN terms_shown_version INTEGER NOT NULL DEFAULT 0;
        UPDATE clients SET terms_shown_version = consent_version;
        """,
    )


async def m021_team_safety(conn: aiosqlite.Connection) -> None:
    """The team inbox made safe to rely on.

    - clients.consent_team / terms_shown_team: whether the terms accepted (shown) were the
      ones saying the team reads along. Until now that was folded into the version as
      N * 1000 + 1, so a client who accepted 2 with the team (2001) counted as having
      accepted any later version once the team inbox was turned off.
    - team_topics.chat_id: the group a topic is in, so /forget still deletes it and /mydata
      still names it after the team inbox is turned off (rows made so far get the group in
      use at the next start: bot.services.team). A claim whose topic was never made and is
      no longer being asked for (its request failed for good) is released, so the client's
      next message asks again.
    - inbox.thread_id: an answer written in a client's topic is kept, by its ids, until
      handled, as a client's message is (never its words; notes for the team are not kept:
      they never reach the client).
    - outbox priority: the team group's possibly urgent items (2) now go before its
      ordinary ones (3).
    """
    await run_script(
        conn,
        """
        ALTER TABLE clients ADD COLUMN consent_team INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN terms_shown_team INTEGER NOT NULL DEFAULT 0;
        UPDATE clients SET consent_team = 1, consent_version = (consent_version - 1) / 1000
            WHERE consent_version >= 1000;
        UPDATE clients SET terms_shown_team = 1,
            terms_shown_version = (terms_shown_version - 1) / 1000
            WHERE terms_shown_version >= 1000;
        ALTER TABLE team_topics ADD COLUMN chat_id INTEGER;
        DELETE FROM team_topics WHERE thread_id IS NULL AND client_id NOT IN (
            SELECT json_extract(payload, '$.topic') FROM outbox
            WHERE method = 'create_topic' AND status IN ('pending', 'sending', 'held')
            AND json_extract(payload, '$.topic') IS NOT NULL);
        ALTER TABLE inbox ADD COLUMN thread_id INTEGER;
        UPDATE outbox SET priority = 3
            WHERE priority = 2 AND status IN ('pending', 'sending', 'held');
        """,
    )


async def m022_staff_languages(conn: aiosqlite.Connection) -> None:
    """staff_languages: the language each specialist and admin reads the bot in (until now
    the staff's side was English only). By Telegram user id: admins are configured
    (ADMIN_IDS) and may have no other row. `language` is their /language choice (NULL until
    they make one); `app_language` their Telegram app's language when last seen, the
    default until they choose (bot.storage.staff_languages)."""
    await run_script(
        conn,
        """
        CREATE TABLE staff_languages (
            telegram_user_id INTEGER PRIMARY KEY,
            language TEXT,
            app_language TEXT,
            updated_at TEXT NOT NULL
        );
        """,
    )


async def m023_events_sent_in_order(conn: aiosqlite.Connection) -> None:
    """events_kind_at ordered the report's covering columns specialist first: every check-in
    a tick sent (one `at`) went into the index beside its specialist's others, so a batch of
    150 changed a page per specialist, and a storm of 20,000 wrote 44 % of its log pages
    into this index alone. The report reads it by a range of `at` (never seeking past it),
    so the columns after `at` only need to be there: with client_id first, a tick's
    check-ins (claimed in id order) are appended at one end."""
    await run_script(
        conn,
        """
        DROP INDEX events_kind_at;
        CREATE INDEX events_kind_at
            ON events(kind, at, client_id, specialist_id, detail, value, outcome);
        """,
    )


async def m024_tick_rows_narrow(conn: aiosqlite.Connection) -> None:
    """What a storm tick writes per client, made narrow (issue 18: 20,000 due at once).

    client_ticks: the columns the tick (and a client's contact) changes, moved out of
    clients into a row of their own: a storm rewrote each due client's whole row (7,919
    log pages of 20,000 rows spread over 6,520 pages), only to change these. The client's
    choices (rhythm, quiet hours, time zone) stay in clients. One row per client, made with
    it (a trigger, so that no way of adding a client can forget it) and gone with it
    (cascade: /forget erases it too).

    keyboards: an inline keyboard that thousands of outbox items share (the check-in's
    buttons, the same for every client of a language but for the due moment in their
    callback data), stored once and named by its content; an item names it and carries its
    own moment (bot.storage.outbox). Each check-in's payload carried the whole keyboard,
    ~350 of its ~490 bytes. Items queued before keep theirs in their payload.

    One transaction with the others (Database.open): a kill midway leaves clients as it
    was. Its one-time cost: the copy, and clients rewritten once per dropped column, about
    2 s and 40 MB of log at 100,000 clients, whatever the history (bench/RESULTS.md,
    "Storm tick, third round")."""
    await run_script(
        conn,
        f"""
        CREATE TABLE client_ticks (
            client_id INTEGER PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
            {", ".join(f"{name} {kind}" for name, kind in _TICK_COLUMNS)}
        );
        INSERT INTO client_ticks (client_id, {_TICK_NAMES})
            SELECT id, {_TICK_NAMES} FROM clients;
        DROP INDEX clients_next_due;
        DROP INDEX clients_manual_due;
        {_DROP_FROM_CLIENTS}
        CREATE INDEX client_ticks_next_due ON client_ticks(next_due_at)
            WHERE next_due_at IS NOT NULL;
        CREATE INDEX client_ticks_manual_due ON client_ticks(manual_due_at)
            WHERE manual_due_at IS NOT NULL;
        CREATE TABLE keyboards (id TEXT PRIMARY KEY, markup TEXT NOT NULL) WITHOUT ROWID;
        """,
    )
    await conn.execute(
        """
        CREATE TRIGGER clients_tick_row AFTER INSERT ON clients
        BEGIN
            INSERT INTO client_ticks (client_id) VALUES (NEW.id);
        END
        """
    )


# m024's columns, as m002 and m004 made them on clients.
_TICK_COLUMNS = (
    ("paused_until", "TEXT"),
    ("next_due_at", "TEXT"),
    ("manual_due_at", "TEXT"),
    ("last_slot", "TEXT"),
    ("unanswered", "INTEGER NOT NULL DEFAULT 0"),
    ("last_prompt", "TEXT"),
    ("last_sent_kind", "TEXT"),
    ("welcome_back", "INTEGER NOT NULL DEFAULT 0"),
    ("patience_offered", "INTEGER NOT NULL DEFAULT 0"),
    ("last_checkin_at", "TEXT"),
    ("last_reply_at", "TEXT"),
)
_TICK_NAMES = ", ".join(name for name, _ in _TICK_COLUMNS)
_DROP_FROM_CLIENTS = "\n".join(
    f"ALTER TABLE clients DROP COLUMN {name};" for name, _ in _TICK_COLUMNS
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
    m010_escalation,
    m012_held_messages,
    m014_heartbeat,
    m015_retention_indexes,
    m016_events,
    m017_inbox_forwarded,
    m018_specialist_lookups,
    m019_team_topics,
    m020_terms_accepted,
    m021_team_safety,
    m022_staff_languages,
    m023_events_sent_in_order,
    m024_tick_rows_narrow,
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
