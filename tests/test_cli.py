"""The command line: exit codes, what it prints, and that it works beside a running bot."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import CONFIG_DIR, load_settings
from bot.domain.clock import SystemClock
from bot.services.container import Services
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working folder without .env and a database of its own."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "DEFAULT_TIMEZONE", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "db" / "porchlight.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(database))
    return database


@pytest.mark.parametrize("command", [["run"], ["check"], ["invite", "1", "--alias", "A"]])
def test_commands_that_need_a_token_say_so(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("TELEGRAM_BOT_TOKEN is not set")
    # `run` offers the demo, which needs no token; the others say one line.
    hint = ["No token yet? See the bot at work with: python -m bot demo"]
    assert err[1:] == (hint if command == ["run"] else [])


def test_a_bad_setting_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "ten")
    assert main(["specialist", "list"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "ADMIN_IDS: 'ten' is not a Telegram user id; use comma-separated Telegram user ids,"
        " like 11111111,22222222"
    )
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("name", ["TELEGRAM_API_BASE_URL", "WEBHOOK_URL"])
def test_a_bad_url_setting_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # A self-hosted Bot API behind a password, say, with a typo in the scheme.
    monkeypatch.setenv(name, "htps://porch:hunter2-api-pass@api.example.org/hook")
    assert main(["specialist", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{name}: 'htps://<credentials>@api.example.org/hook' is not")
    assert "hunter2-api-pass" not in err and "porch" not in err


def test_specialist_add_and_list(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["specialist", "add", "1001", "--name", "Sam  Rivera"]) == 0
    assert "Specialist Sam Rivera (1001) is registered." in capsys.readouterr().out
    assert main(["specialist", "list"]) == 0
    assert capsys.readouterr().out.strip() == "1001\tSam Rivera\tactive\t0 clients"
    assert stat.S_IMODE(os.stat(environment).st_mode) == 0o600


def test_specialist_add_refuses_a_blank_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["specialist", "add", "1001", "--name", "   "]) == 1
    assert "display name is empty" in capsys.readouterr().err
    assert main(["specialist", "list"]) == 0
    assert "No specialists yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [
        ["specialist", "add", "9" * 30, "--name", "Lee"],
        ["specialist", "remove", "9" * 30],
        ["invite", "9" * 30, "--alias", "Lee"],
    ],
    ids=["add", "remove", "invite"],
)
def test_a_user_id_too_long_for_telegram_is_refused(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 2
    assert "is not a Telegram user id" in capsys.readouterr().err


async def test_check_and_invite_against_the_bot_api(
    fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_api.base_url)
    # The command line runs its own event loop: give it a thread, keep ours serving.
    assert await asyncio.to_thread(main, ["check"]) == 0
    assert "The bot is @porchlight_test_bot." in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["specialist", "add", "1001", "--name", "Sam"]) == 0
    assert await asyncio.to_thread(main, ["invite", "1001", "--alias", "Alex"]) == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith("https://t.me/porchlight_test_bot?start=")
    assert await asyncio.to_thread(main, ["invite", "1001", "--alias", "alex"]) == 1
    assert "already have a client or an open invite called alex" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["invite", "4242", "--alias", "Bo"]) == 1
    assert "4242 is not a specialist here: register them first with porchlight specialist add" in (
        capsys.readouterr().err
    )


async def test_check_reports_a_refused_token(
    fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999999:WRONG-token-for-this-server-xx")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_api.base_url)
    assert await asyncio.to_thread(main, ["check"]) == 2
    err = capsys.readouterr().err
    assert "refused by Telegram" in err
    assert "WRONG-token" not in err


def test_check_warns_when_env_is_readable_by_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import _warn_if_env_is_readable

    env = tmp_path / ".env"
    env.write_text("TELEGRAM_BOT_TOKEN=x\n")
    env.chmod(0o644)
    _warn_if_env_is_readable(env)
    assert "chmod 600 .env" in capsys.readouterr().err
    env.chmod(0o600)
    _warn_if_env_is_readable(env)
    assert capsys.readouterr().err == ""


def test_check_warns_while_the_crisis_lines_are_a_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import _warn_if_resources_unfilled

    shipped = (CONFIG_DIR / "safety" / "en.toml").read_text()
    spanish = (CONFIG_DIR / "safety" / "es.toml").read_text()
    (tmp_path / "en.toml").write_text(shipped)
    (tmp_path / "es.toml").write_text(spanish)
    _warn_if_resources_unfilled(tmp_path)
    warned = capsys.readouterr().err
    assert "en.toml still has the placeholder for local crisis lines" in warned
    # Every language keeps the same marker, so a translated file is checked too.
    assert "es.toml still has the placeholder for local crisis lines" in warned

    filled = shipped.replace("[Programme: add your local crisis lines here]", "Call 112.")
    (tmp_path / "en.toml").write_text(filled)
    _warn_if_resources_unfilled(tmp_path)
    warned = capsys.readouterr().err
    assert "en.toml" not in warned and "es.toml still has the placeholder" in warned

    marked = next(line for line in spanish.splitlines() if line.startswith("[Programme:"))
    (tmp_path / "es.toml").write_text(spanish.replace(marked, "Línea de crisis: 024"))
    _warn_if_resources_unfilled(tmp_path)
    assert capsys.readouterr().err == ""


async def _client_of(user_id: int, database: Path) -> None:
    """A client who joined the specialist with this Telegram id (as consent makes one)."""
    from datetime import UTC, datetime

    from bot.storage.clients import ClientRepository
    from bot.storage.db import Database
    from bot.storage.specialists import SpecialistRepository

    db = await Database.open(database)
    try:
        async with db.transaction():
            specialist = await SpecialistRepository(db).by_user(user_id)
            assert specialist is not None
            await ClientRepository(db).add(
                telegram_user_id=2001,
                alias="Alex",
                specialist_id=specialist.id,
                language="en",
                timezone="UTC",
                consent_version=1,
                now=datetime.now(UTC),
            )
    finally:
        await db.close()


def test_specialist_remove_moves_clients_and_audit_shows_it(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["specialist", "add", "1001", "--name", "Sam Rivera"]) == 0
    assert main(["specialist", "add", "1002", "--name", "Ria Okafor"]) == 0
    asyncio.run(_client_of(1001, environment))
    capsys.readouterr()

    assert main(["specialist", "remove", "1001"]) == 1
    assert "Sam Rivera still has clients" in capsys.readouterr().err
    assert main(["specialist", "remove", "1001", "--to", "Nobody"]) == 1
    assert "I don't know a specialist called Nobody" in capsys.readouterr().err
    assert main(["specialist", "remove", "4242", "--to", "1002"]) == 1
    assert "no active specialist with the Telegram user id 4242" in capsys.readouterr().err
    assert main(["specialist", "list"]) == 0
    assert "1001\tSam Rivera\tactive\t1 clients" in capsys.readouterr().out

    assert main(["specialist", "remove", "1001", "--to", "Ria Okafor"]) == 0
    out = capsys.readouterr().out
    assert (
        "Sam Rivera is no longer a specialist. Their clients (1) now talk with Ria Okafor" in out
    )
    assert main(["specialist", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1001\tSam Rivera\tremoved\t0 clients",
        "1002\tRia Okafor\tactive\t1 clients",
    ]

    assert main(["audit", "-n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "The newest 3 audit entries (UTC), newest first:"
    assert [line.split(" · ", 1)[1] for line in lines[1:]] == [
        "the command line · transfer · client 1 (Alex) · specialist Ria Okafor"
        " · from specialist 1001",
        "the command line · specialist_removed · specialist Sam Rivera"
        " · clients to specialist 1002",
        "the command line · specialist_added · specialist Ria Okafor",
    ]
    assert main(["audit"]) == 0
    assert "specialist_added · specialist Sam Rivera" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["audit", "-n", "0"])


def test_audit_of_an_empty_log(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 0
    assert capsys.readouterr().out.strip() == "The audit log is empty."


async def test_check_warns_when_escalation_has_nowhere_to_go(
    fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ADMIN_IDS", "")
    warning = "ADMIN_IDS is empty and no specialist is /oncall"
    assert await asyncio.to_thread(main, ["check"]) == 0
    assert warning in capsys.readouterr().err
    # A specialist on call is somewhere to go.
    assert await asyncio.to_thread(main, ["specialist", "add", "1001", "--name", "Sam"]) == 0
    settings = load_settings()
    services = await Services.open(settings, SystemClock())
    try:
        sam = await services.people.identify(1001)
        await services.escalations.on_call(sam.specialist, 1001, "on", "en")
    finally:
        await services.close()
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["check"]) == 0
    assert warning not in capsys.readouterr().err
    monkeypatch.setenv("ADMIN_IDS", "900")
    assert await asyncio.to_thread(main, ["check"]) == 0
    assert warning not in capsys.readouterr().err
