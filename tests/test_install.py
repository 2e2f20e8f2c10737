"""A non-editable install runs: the wheel carries the configuration (config/ and
.env.example), so `porchlight demo` works from any folder, and `init` can copy it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a wheel is built from (MANIFEST.in puts the same in an sdist).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", ".env.example")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_wheel_runs_the_demo_from_any_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy(ROOT / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("bot", "config"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    # Offline and quick: the setuptools of this environment, no build isolation.
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path, ".", cwd=source)
    (wheel,) = tmp_path.glob("porchlight-*.whl")

    # A fresh environment holding the wheel alone; its dependencies are read from this
    # environment's site-packages (a path, not a site: this checkout's editable install
    # is not seen), so the test needs no index.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    Path(site.strip(), "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(*pip, "--python", python, "install", "-q", "--no-deps", wheel, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PORCHLIGHT_CONFIG_DIR"} and not key.startswith("TELEGRAM_")
    }
    porchlight = venv / "bin" / "porchlight"
    where = run(
        python, "-c", "import bot.config as c; print(c.CONFIG_DIR)", cwd=elsewhere, env=env
    )
    assert Path(where.strip()) == Path(site.strip()) / "bot" / "_config"

    transcript = run(porchlight, "demo", cwd=elsewhere, env=env)
    assert "Alex" in transcript and "Sam" in transcript

    run(porchlight, "init", "programme", cwd=elsewhere, env=env)
    copied = elsewhere / "programme" / "config" / "messages" / "en.toml"
    assert copied.read_text() == (ROOT / "config" / "messages" / "en.toml").read_text()
    assert (elsewhere / "programme" / ".env").read_text() == (ROOT / ".env.example").read_text()
    assert sorted(path.name for path in copied.parents[1].iterdir()) == [
        "messages",
        "safety",
        "settings.toml",
    ]
