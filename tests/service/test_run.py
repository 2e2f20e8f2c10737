"""`porchlight run` as a service starts it: a refused token, no network yet, health, metrics,
and restore refused while it runs. Each bot is its own process (the installed command)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import urllib.request
from pathlib import Path

from tests.conftest import TOKEN
from tests.e2e.test_crash import CLIENTS, SPECIALISTS, prepare
from tests.fakes.bot_api import FakeBotApi
from tests.service.helpers import free_port, porchlight, start_run, stop, until

REFUSED_TOKEN = "654321:ANOTHER-TOKEN-telegram-does-not-know"


async def test_a_refused_token_is_one_line_and_exit_2(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    process = await start_run(fake_api.base_url, tmp_path / "p.sqlite3", log, token=REFUSED_TOKEN)
    assert await asyncio.wait_for(process.wait(), 30) == 2
    assert log.read_text().splitlines() == [
        "TELEGRAM_BOT_TOKEN was refused by Telegram: check it with @BotFather."
    ]


async def test_no_network_yet_is_waited_for_then_the_bot_starts(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    process = await start_run(f"http://127.0.0.1:{port}", tmp_path / "p.sqlite3", log)
    try:
        # Nothing listens: one line per attempt, and the process stays.
        await until(lambda: log.read_text().count("bot.waiting_for_telegram") >= 2, "2 attempts")
        assert process.returncode is None
        lines = log.read_text().splitlines()
        assert all("bot.waiting_for_telegram" in line for line in lines), lines
        assert "attempt=1" in lines[0] and "attempt=2" in lines[1]
        # The network comes back: the bot starts and polls.
        api = FakeBotApi(token=TOKEN)
        await api.start(port)
        try:
            await api.wait_until(lambda: bool(api.calls_to("getUpdates")), timeout=30)
            assert process.returncode is None
        finally:
            assert await stop(process) == 0
            await api.stop()
    finally:
        if process.returncode is None:
            process.kill()
    assert "Traceback" not in log.read_text()
    assert "Unclosed" not in log.read_text()


async def test_health_metrics_and_restore_of_a_running_bot(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database = tmp_path / "p.sqlite3"
    await prepare(database)  # four clients, each due a check-in now
    for user, name in {**SPECIALISTS, **{c: alias for c, (_, alias) in CLIENTS.items()}}.items():
        fake_api.add_user(user, name)
    assert porchlight("backup", str(tmp_path / "before.sqlite3"), cwd=tmp_path, database=database)
    never_ran = porchlight("health", cwd=tmp_path, database=database)
    assert (never_ran.returncode, never_ran.stderr) == (
        1,
        "no heartbeat yet: is the bot running?\n",
    )

    metrics_port = free_port()
    log = tmp_path / "run.log"
    process = await start_run(fake_api.base_url, database, log, METRICS_PORT=str(metrics_port))
    try:
        await until(
            lambda: porchlight("health", cwd=tmp_path, database=database).returncode == 0,
            "a healthy bot",
        )
        healthy = porchlight("health", cwd=tmp_path, database=database)
        assert healthy.stdout.startswith("ok: ticked ")

        def scrape() -> dict[str, float]:
            url = f"http://127.0.0.1:{metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as answer:
                text = answer.read().decode()
            return {
                name: float(value)
                for name, _, value in (line.rpartition(" ") for line in text.splitlines())
                if name.startswith("porchlight_")
            }

        await until(lambda: scrape().get("porchlight_checkins_sent_total") == 4, "4 check-ins")
        before = scrape()
        fake_api.send_text(next(iter(CLIENTS)), "hello")
        relayed = 'porchlight_messages_relayed_total{direction="to_specialist"}'
        await until(lambda: scrape().get(relayed) == 1, "a relay counted")
        after = scrape()
        assert after["porchlight_tick_duration_seconds_count"] > 0
        assert 'porchlight_outbox_depth{priority="person"}' in after
        assert "porchlight_event_loop_lag_seconds" in after
        assert before.get(relayed, 0) == 0

        # While it runs, restore refuses (and leaves the database alone).
        refused = porchlight(
            "restore", str(tmp_path / "before.sqlite3"), cwd=tmp_path, database=database
        )
        assert refused.returncode == 1
        assert refused.stderr == f"A Porchlight bot is running on {database}: stop it first.\n"
    finally:
        assert await stop(process) == 0

    # Stopped, it restores: the relayed message's link is gone with the newer database.
    restored = porchlight(
        "restore", str(tmp_path / "before.sqlite3"), cwd=tmp_path, database=database
    )
    assert restored.returncode == 0, restored.stderr
    check_restored(database, tmp_path)


def check_restored(database: Path, folder: Path) -> None:
    """The backup is in place, without stale -wal/-shm; the newer database kept aside."""
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-shm").exists()
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM relay_links").fetchone() == (0,)
    kept = next(folder.glob("p.sqlite3.before-restore-*"))
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT count(*) FROM relay_links").fetchone()[0] >= 1


async def test_a_metrics_port_in_use_is_one_line(fake_api: FakeBotApi, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        log = tmp_path / "run.log"
        process = await start_run(
            fake_api.base_url, tmp_path / "p.sqlite3", log, METRICS_PORT=str(port)
        )
        assert await asyncio.wait_for(process.wait(), 30) == 1
    assert log.read_text().splitlines() == [
        f"Could not listen on 127.0.0.1:{port} for metrics (Address already in use):"
        " set METRICS_LISTEN and METRICS_PORT to a free address."
    ]
