"""Run the installed `porchlight` command as a user would: a process, its output, its code."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import TOKEN

# The command the project installs (the console script next to this interpreter).
PORCHLIGHT = str(Path(sys.executable).parent / "porchlight")
# Settings a test must not inherit from whoever runs it.
_OWN = ("TELEGRAM_", "DATABASE_", "ADMIN_", "SEND_", "CHECKIN_", "DEFAULT_", "METRICS_", "LOG_")


def clean_env(database: Path, **settings: str) -> dict[str, str]:
    """The environment of the runner, without Porchlight's settings, plus these."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_OWN) and key != "PORCHLIGHT_CONFIG_DIR"
    }
    env["DATABASE_PATH"] = str(database)
    env.update(settings)
    return env


def porchlight(
    *args: str, cwd: Path, database: Path, timeout: float = 30, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run `porchlight ARGS` and wait for it."""
    return subprocess.run(
        [PORCHLIGHT, *args],
        cwd=cwd,
        env=clean_env(database, **settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def start_run(
    api_url: str, database: Path, log: Path, *, token: str = TOKEN, **settings: str
) -> asyncio.subprocess.Process:
    """`porchlight run` in the background, its output into log."""
    env = clean_env(
        database,
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=api_url,
        CHECKIN_TICK_SECONDS="0.2",
        SEND_PER_SECOND="1000",
        SEND_PER_CHAT_INTERVAL="0.05",
        **settings,
    )
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            PORCHLIGHT, "run", cwd=database.parent, env=env, stdout=out, stderr=out
        )


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, as systemd and Docker stop it; its exit code."""
    if process.returncode is None:
        process.terminate()
    return await asyncio.wait_for(process.wait(), 30)


async def until(condition: object, what: str, seconds: float = 20) -> None:
    """Poll a callable until it is true (or fail saying what was awaited)."""
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + seconds
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


def free_port() -> int:
    """A TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
