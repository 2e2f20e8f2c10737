"""`python -m bot screen`: how a programme tries its phrase files, no token, no database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bot_command(tmp_path: Path, *arguments: str, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run `python -m bot ...` in an empty folder (no .env) with no bot settings at all:
    exit code, standard output and standard error."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE", "ADMIN"))
    }
    environment["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


def screen(
    tmp_path: Path, lines: list[str], *arguments: str
) -> subprocess.CompletedProcess[bytes]:
    """`python -m bot screen` over these lines."""
    (tmp_path / "messages.txt").write_text("\n".join(lines) + "\n", "utf-8")
    code, out, err = bot_command(
        tmp_path, "screen", *arguments, stdin=(tmp_path / "messages.txt").read_bytes()
    )
    return subprocess.CompletedProcess([], code, out.encode(), err.encode())


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
    # The model learnt from both languages: Spanish in an English conversation is read too
    # (a message of a few words is left to the phrases of English, which do not know it).
    english = screen(tmp_path, ["me quiero morir", "ya no aguanto más, hoy me quiero morir"])
    lines = english.stdout.decode("utf-8").splitlines()
    assert lines[0].startswith("none") and not lines[1].startswith("none")


def test_explain_adds_how_the_screen_read_each_line(tmp_path: Path) -> None:
    done = screen(tmp_path, ["I want to kill myself", "lovely walk today"], "--explain")
    assert done.returncode == 0, done.stderr
    urgent, ordinary = done.stdout.decode().splitlines()
    assert urgent.startswith("urgent\tsuicide\tI want to kill myself\tphrase=suicide; score=")
    assert ordinary.startswith("none\t-\tlovely walk today\tphrase=-; score=")


def train(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    code, out, err = bot_command(tmp_path, "train-screen", *arguments)
    return subprocess.CompletedProcess([], code, out, err)


def two_corpus_files(tmp_path: Path, ordinary_a: str, ordinary_b: str) -> None:
    """en_a.tsv and en_b.tsv: six crisis and six ordinary messages each."""
    for name, crisis, ordinary in (
        ("en_a.tsv", "i have the rope ready", ordinary_a),
        ("en_b.tsv", "rope is ready tonight", ordinary_b),
    ):
        lines = [f"urgent\tsuicide\tplain\t{crisis} {n}" for n in range(6)]
        lines += [f"none\t-\teveryday\t{ordinary} {n}" for n in range(6)]
        (tmp_path / name).write_text("\n".join(lines) + "\n", "utf-8")


def test_train_screen_learns_from_the_files_given_and_writes_the_model(tmp_path: Path) -> None:
    two_corpus_files(tmp_path, "the bus was late", "late bus again today")
    out = tmp_path / "model.json"
    done = train(tmp_path, "en_a.tsv", "en_b.tsv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "en_a.tsv" in done.stdout and "6/6" in done.stdout
    from bot.domain.safety import message_words
    from bot.domain.screen_model import TextModel

    model = TextModel.load(out)
    assert model.score(message_words("the rope is ready")) >= model.threshold
    assert model.corpus  # the digest a test compares with the shipped corpus
    assert model.languages == ("en",)


def test_train_screen_refuses_a_broken_corpus_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "en_bad.tsv").write_text("urgent\tonly two fields\n", "utf-8")
    (tmp_path / "es_worse.tsv").write_text("maybe\t-\tx\tmessage\n", "utf-8")
    (tmp_path / "mine.tsv").write_text("none\t-\tx\tmessage\n", "utf-8")
    out = tmp_path / "model.json"
    for name, said in (
        ("en_bad.tsv", "en_bad.tsv:1: expected 4 TAB-separated fields"),
        ("es_worse.tsv", "es_worse.tsv:1: level 'maybe'"),
        ("mine.tsv", "name the file's language in its name"),
    ):
        done = train(tmp_path, name, "--out", str(out))
        assert done.returncode == 2
        assert said in done.stderr
    (tmp_path / "en_bytes.tsv").write_bytes(b"none\t-\tx\t\xff\xfe\n")
    done = train(tmp_path, "en_bytes.tsv", "--out", str(out))
    assert done.returncode == 2 and "en_bytes.tsv: not UTF-8" in done.stderr
    (tmp_path / "en_one.tsv").write_text("urgent\tsuicide\tx\trope\nnone\t-\tx\tbus\n", "utf-8")
    done = train(tmp_path, "en_one.tsv", "--out", str(out))
    assert done.returncode == 2 and "one corpus file cannot set the threshold" in done.stderr
    done = train(tmp_path, "en_bad.tsv", "--false-alarms", "1.5", "--out", str(out))
    assert done.returncode == 2 and "--false-alarms" in done.stderr
    assert not out.exists()


def test_a_phrase_file_saved_in_another_encoding_is_one_line_naming_it(tmp_path: Path) -> None:
    """A coordinator's editor that saves es.toml as Latin-1 ("está" as one byte): one line
    naming the file, exit 2, not a traceback (`check` and `run` read it the same way)."""
    from bot.config import CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    spanish = config / "safety" / "es.toml"
    spanish.write_bytes(spanish.read_text("utf-8").encode("latin-1", errors="replace"))
    (tmp_path / ".env").write_text(f"PORCHLIGHT_CONFIG_DIR={config}\n")
    code, _, err = bot_command(tmp_path, "screen", stdin=b"I want to die\n")
    assert code == 2, err
    assert err.splitlines() == [
        f"Error in the safety configuration: {spanish}: not UTF-8 text (save it as UTF-8)"
    ]


def test_train_screen_refuses_to_calibrate_on_short_ordinary_messages_only(
    tmp_path: Path,
) -> None:
    two_corpus_files(tmp_path, "the bus was late this morning", "late bus again today for work")
    out = tmp_path / "model.json"
    assert train(tmp_path, "en_a.tsv", "en_b.tsv", "--out", str(out)).returncode == 0
    learnt = out.read_bytes()
    # Ordinary replies of under five words say nothing of where the threshold goes for
    # longer messages: it would have been 0, and every message flagged.
    (tmp_path / "en_short.tsv").write_text(
        "".join(f"none\t-\tx\tok thanks {n}\n" for n in range(300)), "utf-8"
    )
    for how in (("--recalibrate",), ("en_a.tsv", "en_b.tsv")):
        done = train(tmp_path, *how, "--calibrate", "en_short.tsv", "--out", str(out))
        assert done.returncode == 2
        assert "none of 5 words or more" in done.stderr
        assert out.read_bytes() == learnt
