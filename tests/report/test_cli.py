"""`python -m bot report`: a period it cannot cover, or a file it cannot write, is one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import TOKEN


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ADMIN_IDS", "DEFAULT_TIMEZONE", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "porchlight.sqlite3"))


def one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["report", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_from_after_today_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    future = (datetime.now(UTC).date() + timedelta(days=400)).isoformat()
    assert "--from" in one_line_error(["--from", future], capsys)


def test_a_period_of_centuries_is_refused_not_drawn(capsys: pytest.CaptureFixture[str]) -> None:
    assert "weeks" in one_line_error(["--from", "1900-01-01"], capsys)
    assert one_line_error(["--from", "0001-01-01", "--to", "9999-12-31"], capsys)


def test_the_first_days_of_the_calendar_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Asia/Tokyo")  # 0001-01-01 00:00 is before UTC's
    assert "0001-01-01" in one_line_error(["--from", "0001-01-01", "--to", "0001-02-01"], capsys)


def test_to_alone_is_the_twelve_weeks_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--to", "2026-03-31", "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "2026-W03 to 2026-W14" in page


def test_an_unwritable_csv_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    assert "taken" in one_line_error(["--csv", str(tmp_path / "taken")], capsys)
