"""The command line's removal of a specialist, with the team inbox on: the admin hears the
removed specialist may still read the team group (the bot cannot take them out of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main


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
