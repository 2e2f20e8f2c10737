"""`python -m bot screen`: how a programme tries its phrase files, no token, no database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def screen(
    tmp_path: Path, lines: list[str], *arguments: str
) -> subprocess.CompletedProcess[bytes]:
    """Run the command in an empty folder (no .env) with no bot settings at all."""
    source = tmp_path / "messages.txt"
    source.write_text("\n".join(lines) + "\n", "utf-8")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE", "ADMIN"))
    }
    environment["PYTHONPATH"] = str(ROOT)
    with source.open("rb") as stdin:
        return subprocess.run(
            [sys.executable, "-m", "bot", "screen", *arguments],
            stdin=stdin,
            capture_output=True,
            cwd=tmp_path,
            env=environment,
            timeout=60,
            check=False,
        )


def test_each_line_gets_its_level_and_category(tmp_path: Path) -> None:
    lines = [
        "I want to kill myself",
        "everyone would be better off without me",
        "I watched a documentary about suicide last night",
        "",
        "my stepdad hits me\tand\tnobody knows",
    ]
    done = screen(tmp_path, lines)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        "urgent\tsuicide\tI want to kill myself",
        "concern\tburden\teveryone would be better off without me",
        "none\t-\tI watched a documentary about suicide last night",
        "none\t-\t",
        "urgent\tabuse\tmy stepdad hits me\tand\tnobody knows",
    ]
    assert not (tmp_path / "porchlight.db").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "messages.txt"]


def test_spanish_phrases_with_the_language_option(tmp_path: Path) -> None:
    lines = ["me quiero morir", "soy una carga para todos", "me muero de risa"]
    done = screen(tmp_path, lines, "--language", "es")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8").splitlines() == [
        "urgent\tsuicide\tme quiero morir",
        "concern\tburden\tsoy una carga para todos",
        "none\t-\tme muero de risa",
    ]
    english = screen(tmp_path, ["me quiero morir"])
    assert english.stdout.decode() == "none\t-\tme quiero morir\n"
