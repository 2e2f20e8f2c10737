"""The command line's removal of a specialist, with the team inbox on: the admin hears the
removed specialist may still read the team group (the bot cannot take them out of it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import TOKEN


def test_removing_a_specialist_with_the_team_inbox_on_says_to_take_them_out_of_the_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "DEFAULT_TIMEZONE", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db" / "porchlight.sqlite3"))
    monkeypatch.setenv("TEAM_CHAT_ID", "-1001234567890")
    assert main(["specialist", "add", "1001", "--name", "Sam Rivera"]) == 0
    capsys.readouterr()
    assert main(["specialist", "remove", "1001"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Sam Rivera is no longer a specialist.",
        "Sam Rivera may still be in the team group, where they can read every client's topic:"
        " remove them from it in Telegram too.",
    ]


@pytest.mark.parametrize("command", [["check"], ["invite", "1001", "--alias", "Alex"]])
def test_a_malformed_proxy_url_is_one_line_without_its_password(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A password with an unencoded "/" makes the rest of the URL read as a port: `check`
    # and `invite` stopped with a traceback quoting the password's first part, where `run`
    # says one line with the credentials blanked.
    monkeypatch.chdir(tmp_path)
    for name in ("ADMIN_IDS", "DEFAULT_TIMEZONE", "TELEGRAM_API_BASE_URL", "TEAM_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db" / "porchlight.sqlite3"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "https://api.telegram.org")
    monkeypatch.setenv("HTTPS_PROXY", "http://porch:Sesame/Ladder@proxy.example:3128")
    assert main(["specialist", "add", "1001", "--name", "Sam Rivera"]) == 0
    capsys.readouterr()
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "Sesame" not in err and "Ladder" not in err
    # (check warns first about what this checkout lacks: crisis lines, admins.)
    lines = [line for line in err.strip().splitlines() if not line.startswith("Warning: ")]
    assert lines == [
        "Could not reach the Bot API (NetworkError):"
        " aiohttp.InvalidURL: http://<credentials>@proxy.example:3128"
    ]


@pytest.mark.parametrize("command", ["check", "run"])
def test_an_api_url_that_cannot_be_used_is_named_without_the_token(
    command: str, tmp_path: Path
) -> None:
    # The request's URL holds the token (/bot<token>/getMe): quoted in the one line that
    # says the Bot API cannot be reached, it put the token on the screen and in the journal.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_PATH": str(tmp_path / "porchlight.sqlite3"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:notaport",
        "API_TIMEOUT_SECONDS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert TOKEN.split(":")[1] not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Could not reach the Bot API (NetworkError): "), done.stderr
    assert "127.0.0.1:notaport" in last
