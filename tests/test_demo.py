"""`python -m bot demo`: the real bot, a scripted specialist and client, no token, no .env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_plays_every_step_and_exits(tmp_path: Path) -> None:
    # A folder with a broken .env and a broken environment: the demo reads neither.
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=not-a-token\nADMIN_IDS=ten\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    scratch = tmp_path / "tmp"  # the demo's temporary folder (and its sample report)
    scratch.mkdir()
    env.update(ADMIN_IDS="ten", PYTHONPATH=str(ROOT), TMPDIR=str(scratch))
    command = [sys.executable, "-m", "bot", "demo"]
    demo = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=60)
    shown, errors = demo.stdout.decode(), demo.stderr.decode()
    assert demo.returncode == 0, errors
    assert errors == ""  # the transcript alone: no traceback, no log lines
    # It ends by writing a sample programme report, and says where.
    report = scratch / "porchlight-demo-report.html"
    assert f"is in {report}" in shown
    assert report.read_text(encoding="utf-8").count("<svg") == 7

    lines = shown.splitlines()
    steps = [
        # the invite
        "[specialist Sam] → /invite Alex",
        "https://t.me/porchlight_demo_bot?start=",
        # consent
        "[client Alex] → opens the link (/start ",
        "[Yes, let's begin] [Not now]",
        "[client Alex] → taps “Yes, let's begin”",
        "[specialist Sam] ← bot: Alex has joined.",
        # a schedule
        "[client Alex] → taps “Every day”",
        "[client Alex] → taps “09:00”",
        "Your check-ins: every day, at 09:00.",
        "Next check-in: today at 09:00.",
        # the check-in and a tap
        # the first check-in: a plain hello that needs no answer
        "[client Alex] ← bot: What's on your mind today? There's no need to answer;",
        "[Doing okay] [Could be better]",
        "[client Alex] → taps “Could be better”",
        "[specialist Sam] ← bot: Alex: could be better (check-in of Mon 09:00)",
        # a message each way
        "[client Alex] → Thanks for asking. Work has been a lot this week.",
        "[specialist Sam] ← bot: From Alex:",
        "[specialist Sam] ← bot: Thanks for asking. Work has been a lot this week.",
        "[specialist Sam] → replies: Thank you for telling me, Alex.",
        "[client Alex] ← bot: From Sam Rivera, your peer support specialist:",
        "[client Alex] ← bot: Thank you for telling me, Alex. Would a call on Thursday help?",
        # a pause
        "[client Alex] → taps “1 week”",
        "[specialist Sam] ← bot: Alex paused check-ins until Monday 9 March.",
        "Check-ins are paused until Monday 9 March",
        "and /settings starts them again sooner.",
    ]
    # Each step is shown, in this order.
    at = 0
    for step in steps:
        found = next((n for n in range(at, len(lines)) if step in lines[n]), None)
        assert found is not None, f"{step!r} not shown after line {at}:\n{shown}"
        at = found
    # The check-in arrived as a message of its own, with its buttons under it.
    checkin = lines.index(next(line for line in lines if "[Doing okay]" in line))
    assert lines[checkin - 1].startswith("[client Alex] ← bot: ")
    # Nothing was written where it ran; its temporary folder holds the report alone.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "tmp"]
    assert [p.name for p in scratch.iterdir()] == [report.name]
