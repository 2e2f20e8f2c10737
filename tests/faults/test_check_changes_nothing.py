"""`porchlight check` changes nothing, not even on a database the installed code would
migrate: the usual upgrade is to install the new version, run `check`, then restart.

With ADMIN_IDS empty, check opened the database to see whether anyone is on call, and
that opening migrated it: under the old bot still running (whose statements then met
tables it does not know), and past the point of going back: had check found a problem
and the old version been put back, it refused to start on "a database a newer version of
Porchlight made".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import exit_code, output, start_bot
from tests.storage.test_upgrade_m024 import _before_m024


def _recorded(database: Path) -> list[str]:
    """The migrations the database records."""
    with sqlite3.connect(database) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM schema_migrations")]
    conn.close()
    return sorted(names)


async def test_check_does_not_migrate_a_database_an_older_bot_uses(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "check.log"
    await _before_m024(database)
    before = _recorded(database)
    check = await start_bot(fake_api, database, log, "check", ADMIN_IDS="")
    code = await exit_code(check, within=30)
    assert _recorded(database) == before, output(log)
    assert code == 0, output(log)
    # Nobody is on call there (no admin either): check still says so.
    assert "Warning: ADMIN_IDS is empty and no specialist is /oncall" in output(log)
