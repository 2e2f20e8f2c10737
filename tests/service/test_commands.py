"""The installed `porchlight` command, run as a user runs it: what it prints, what it
writes, its exit code."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import aiosqlite
import pytest

from bot.config import CONFIG_DIR
from bot.storage.migrations import MIGRATIONS
from tests.conftest import TOKEN
from tests.service.helpers import porchlight


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "porchlight.sqlite3"


def test_version_and_every_help_says_what_it_does(tmp_path: Path, database: Path) -> None:
    shown = porchlight("--version", cwd=tmp_path, database=database)
    assert shown.stdout.strip() == "porchlight 0.1.0"
    commands = [
        ["run"],
        ["check"],
        ["health"],
        ["specialist"],
        ["specialist", "add"],
        ["specialist", "list"],
        ["specialist", "remove"],
        ["invite"],
        ["audit"],
        ["backup"],
        ["restore"],
        ["init"],
        ["demo"],
    ]
    for command in commands:
        helped = porchlight(*command, "--help", cwd=tmp_path, database=database)
        assert helped.returncode == 0
        usage, description = helped.stdout.split("\n\n")[:2]
        assert usage.startswith(f"usage: porchlight {' '.join(command)}")
        assert len(description.split()) >= 4, (command, description)
    backup_help = porchlight("backup", "--help", cwd=tmp_path, database=database).stdout
    assert "--keep N" in backup_help and "dated file" in backup_help


def _set_invite_ttl_zero(config: Path) -> None:
    """A value the shipped settings.toml does not have, and the bot refuses."""
    settings = config / "settings.toml"
    settings.write_text(settings.read_text().replace("invite_ttl_days = 7", "invite_ttl_days = 0"))


def _refused_for_invite_ttl(cwd: Path, database: Path) -> None:
    """Run from cwd, a command reads that value and stops with exit 2, naming the setting."""
    listed = porchlight("specialist", "list", cwd=cwd, database=database)
    assert listed.returncode == 2
    assert listed.stderr.startswith("INVITE_TTL_DAYS: ")


def test_init_writes_an_editable_configuration_the_bot_then_uses(tmp_path: Path) -> None:
    folder = tmp_path / "programme"
    database = folder / "data" / "porchlight.sqlite3"
    made = porchlight("init", str(folder), cwd=tmp_path, database=database)
    assert made.returncode == 0, made.stderr
    env = folder / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert "TELEGRAM_BOT_TOKEN=" in env.read_text()
    for part in ("settings.toml", "messages/en.toml", "messages/es.toml", "safety/en.toml"):
        assert (folder / "config" / part).read_text() == (CONFIG_DIR / part).read_text()

    # Never over what is there.
    again = porchlight("init", str(folder), cwd=tmp_path, database=database)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr.startswith(f"{env} already exists; nothing was written")

    # Run from the folder, the bot reads that copy (a value the shipped copy does not have).
    _set_invite_ttl_zero(folder / "config")
    _refused_for_invite_ttl(folder, database)


def test_the_configuration_folder_can_be_named_in_env(tmp_path: Path, database: Path) -> None:
    """PORCHLIGHT_CONFIG_DIR in .env, like every other setting there: not ignored in silence."""
    config = tmp_path / "programme"
    shutil.copytree(CONFIG_DIR, config)
    _set_invite_ttl_zero(config)
    (tmp_path / ".env").write_text(f"PORCHLIGHT_CONFIG_DIR={config}\n")
    _refused_for_invite_ttl(tmp_path, database)


def test_check_is_never_fine_after_an_error(tmp_path: Path, database: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "safety" / "es.toml").write_text("resources = [this is not toml\n")
    checked = porchlight(
        "check",
        cwd=tmp_path,
        database=database,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9",
        PORCHLIGHT_CONFIG_DIR=str(config),
    )
    assert checked.returncode == 1
    assert "Error in the safety configuration" in checked.stderr
    assert "Configuration is fine" not in checked.stdout + checked.stderr


def test_unknown_setting_names_are_a_warning_naming_the_closest(
    tmp_path: Path, database: Path
) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Berlin\n")
    config = tmp_path / "elsewhere"
    shutil.copytree(CONFIG_DIR, config)
    with (config / "settings.toml").open("a") as toml:
        toml.write("invite_ttl_dayz = 3\n")
    listed = porchlight(
        "specialist", "list", cwd=tmp_path, database=database, PORCHLIGHT_CONFIG_DIR=str(config)
    )
    assert listed.returncode == 0
    assert listed.stderr.splitlines() == [
        "Warning: .env sets TIMEZONE, which is not a setting; did you mean DEFAULT_TIMEZONE?",
        f"Warning: {config / 'settings.toml'} sets invite_ttl_dayz, which is not a setting;"
        " did you mean invite_ttl_days?",
    ]


def test_a_utc_offset_is_a_default_time_zone(tmp_path: Path, database: Path) -> None:
    listed = porchlight(
        "specialist", "list", cwd=tmp_path, database=database, DEFAULT_TIMEZONE="UTC+02:00"
    )
    assert (listed.returncode, listed.stderr) == (0, "")


def test_specialists_added_twice_and_invites_for_strangers(tmp_path: Path, database: Path) -> None:
    for _ in range(2):
        added = porchlight(
            "specialist", "add", "1001", "--name", "Sam", cwd=tmp_path, database=database
        )
        # The result, and no log lines.
        assert added.returncode == 0 and added.stderr == ""
        assert added.stdout.startswith("Specialist Sam (1001) is registered.")
    audit = porchlight("audit", cwd=tmp_path, database=database).stdout
    assert audit.count("specialist_added") == 1
    renamed = porchlight(
        "specialist", "add", "1001", "--name", "Sam R", cwd=tmp_path, database=database
    )
    assert renamed.returncode == 0
    assert (
        porchlight("audit", cwd=tmp_path, database=database).stdout.count("specialist_added") == 2
    )

    invited = porchlight(
        "invite",
        "4242",
        "--alias",
        "Bo",
        cwd=tmp_path,
        database=database,
        TELEGRAM_BOT_TOKEN=TOKEN,
    )
    assert invited.returncode == 1
    assert invited.stderr == (
        "4242 is not a specialist here: register them first with"
        " porchlight specialist add 4242 --name <name>\n"
    )


def test_backup_into_a_folder_keeps_the_newest(tmp_path: Path, database: Path) -> None:
    assert porchlight("specialist", "list", cwd=tmp_path, database=database).returncode == 0
    folder = tmp_path / "backups" / "nightly"
    done = porchlight("backup", f"{folder}/", cwd=tmp_path, database=database)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (first,) = folder.iterdir()
    assert first.name.startswith("porchlight-") and first.suffix == ".sqlite3"
    # Older nights, and a file of someone else's that is no dated backup.
    for night in ("20250101-020000", "20250102-020000", "20250103-020000"):
        shutil.copyfile(first, folder / f"porchlight-{night}.sqlite3")
    (folder / "notes.txt").write_text("mine")
    os.remove(first)
    again = porchlight("backup", str(folder), "--keep", "2", cwd=tmp_path, database=database)
    assert again.returncode == 0, again.stderr
    assert "Deleted 2 older backup(s)" in again.stdout
    names = sorted(path.name for path in folder.iterdir())
    assert names[0] == "notes.txt" and names[1] == "porchlight-20250103-020000.sqlite3"
    assert len(names) == 3
    refused = porchlight(
        "backup", str(tmp_path / "one.sqlite3"), "--keep", "2", cwd=tmp_path, database=database
    )
    assert refused.returncode == 1


def test_restore_checks_the_file_first(tmp_path: Path, database: Path) -> None:
    assert (
        porchlight(
            "specialist", "add", "1001", "--name", "Sam", cwd=tmp_path, database=database
        ).returncode
        == 0
    )
    not_a_database = tmp_path / "notes.sqlite3"
    not_a_database.write_text("hello")
    refused = porchlight("restore", str(not_a_database), cwd=tmp_path, database=database)
    assert (refused.returncode, refused.stderr) == (
        1,
        f"{not_a_database} is not a Porchlight database.\n",
    )

    newer = tmp_path / "newer.sqlite3"
    assert porchlight("backup", str(newer), cwd=tmp_path, database=database).returncode == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('m999_from_the_future', '')")
    conn.close()
    refused = porchlight("restore", str(newer), cwd=tmp_path, database=database)
    assert refused.returncode == 1
    assert "comes from a newer Porchlight (it has m999_from_the_future)" in refused.stderr
    # The database itself, given as the backup (a slip of the tab key).
    refused = porchlight("restore", str(database), cwd=tmp_path, database=database)
    assert (refused.returncode, refused.stderr) == (
        1,
        f"{database} is the database itself: give the backup to restore.\n",
    )
    # Nothing moved.
    assert list(database.parent.glob("*before-restore*")) == []
    assert "Sam" in porchlight("specialist", "list", cwd=tmp_path, database=database).stdout


@pytest.mark.parametrize(
    ("tick_ago", "api_ago", "said"),
    [
        ("-10 minutes", "-10 seconds", "no tick for 10 min: the bot is stopped or stuck"),
        ("-5 seconds", "-6 minutes", "no answer from the Bot API for 6 min"),
        ("-5 seconds", None, "the bot has not reached the Bot API since it started"),
    ],
)
def test_health_says_why_the_bot_is_not_well(
    tmp_path: Path, database: Path, tick_ago: str, api_ago: str | None, said: str
) -> None:
    assert porchlight("specialist", "list", cwd=tmp_path, database=database).returncode == 0
    moment = "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now', ?)"
    with sqlite3.connect(database) as conn:
        conn.execute(
            f"INSERT INTO heartbeat (id, tick_at, api_ok_at) VALUES (1, {moment},"
            f" CASE WHEN ? IS NULL THEN NULL ELSE {moment} END)",
            (tick_ago, api_ago, api_ago),
        )
    conn.close()
    checked = porchlight("health", cwd=tmp_path, database=database)
    assert (checked.returncode, checked.stdout, checked.stderr) == (1, "", said + "\n")


def test_a_configuration_folder_without_messages_is_one_line(
    tmp_path: Path, database: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = porchlight(
        "specialist", "list", cwd=tmp_path, database=database, PORCHLIGHT_CONFIG_DIR=str(empty)
    )
    assert listed.returncode == 2
    assert len(listed.stderr.splitlines()) == 1
    assert listed.stderr.startswith(f"Error in the configuration in {empty}: ")


def test_run_on_a_database_path_it_cannot_use_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    database = blocked / "porchlight.sqlite3"
    ran = porchlight("run", cwd=tmp_path, database=database, TELEGRAM_BOT_TOKEN=TOKEN)
    # One line naming the path (which line exactly is the storage checks' to say).
    assert ran.returncode != 0
    assert len(ran.stderr.splitlines()) == 1 and str(database) in ran.stderr


def test_a_backup_from_an_older_version_is_migrated_forward(
    tmp_path: Path, database: Path
) -> None:
    """A backup made before the heartbeat existed restores, and the next start migrates it."""
    old = tmp_path / "old.sqlite3"
    before_heartbeat = MIGRATIONS[: [m.__name__ for m in MIGRATIONS].index("m014_heartbeat")]

    async def make_old() -> None:
        async with aiosqlite.connect(old) as conn:
            await conn.execute(
                "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at)"
            )
            for step in before_heartbeat:
                await step(conn)
                await conn.execute("INSERT INTO schema_migrations VALUES (?, '')", [step.__name__])
            await conn.commit()

    asyncio.run(make_old())
    restored = porchlight("restore", str(old), cwd=tmp_path, database=database)
    assert restored.returncode == 0, restored.stderr
    unwell = porchlight("health", cwd=tmp_path, database=database)
    assert (unwell.returncode, unwell.stderr) == (1, "no heartbeat yet: is the bot running?\n")
    listed = porchlight("specialist", "list", cwd=tmp_path, database=database)
    assert listed.returncode == 0, listed.stderr
    with sqlite3.connect(database) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    assert names == {step.__name__ for step in MIGRATIONS}
