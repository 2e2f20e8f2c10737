"""`run` starts without importing what only other commands or options use."""

from __future__ import annotations

import subprocess
import sys

# Imported only when used: prometheus-client with METRICS_PORT, the others by their command.
NOT_AT_START = ("prometheus_client", "bot.backup", "bot.scaffold", "bot.demo.script")


def test_the_run_path_leaves_the_metrics_library_and_other_commands_unimported() -> None:
    probe = (
        "import sys, bot.__main__, bot.app, bot.scheduling, bot.startup;"
        f"print(','.join(m for m in {NOT_AT_START!r} if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == ""


def test_counting_without_metrics_served_changes_nothing_and_raises_nothing() -> None:
    probe = (
        "import sys; from bot import metrics;"
        "metrics.relayed('to_specialist', flagged=True); metrics.checkins_sent(3);"
        "metrics.tick_took(0.1); metrics.outbox_waiting({'person': 1}, 2.0);"
        "print('prometheus_client' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"
