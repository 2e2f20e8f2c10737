"""`porchlight init [DIR]`: a folder a programme runs its bot from, with its own wording.

It holds `.env` (from the example, private to its owner) and `config/` (a copy of the
shipped messages, safety resources and settings.toml, to edit: the programme's crisis
lines, its wording). Run from that folder, the bot reads both (see find_config_dir).
Nothing that exists is overwritten.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.config import SHIPPED_ENV_EXAMPLE, default_config_dir, env_example


class ScaffoldError(Exception):
    """A folder that cannot be set up; the message is one line a person can act on."""


def scaffold(folder: Path) -> list[Path]:
    """Write folder/.env and folder/config; return what was written."""
    env, config = folder / ".env", folder / "config"
    found = [path for path in (env, config) if path.exists()]
    if found:
        raise ScaffoldError(
            f"{found[0]} already exists; nothing was written (move it away to start afresh)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # (The wheel keeps the example .env beside its configuration: not part of config/.)
        shutil.copytree(
            default_config_dir(), config, ignore=shutil.ignore_patterns(SHIPPED_ENV_EXAMPLE.name)
        )
        # The token goes in .env: private from its first byte.
        descriptor = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as written:
            written.write(env_example().read_text(encoding="utf-8"))
    except OSError as error:
        raise ScaffoldError(f"Cannot write in {folder}: {error.strerror}.") from None
    return [env, config]
