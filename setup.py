"""Ship the default configuration inside the package, so an installed bot can run.

config/ stays at the top of the repository (the editable source, and what a checkout
runs with); a wheel carries a copy of it as bot/_config, and .env.example as
bot/_config/env.example, for `porchlight init` and for the bot when no config/ folder
is found (see bot/config.py). An editable install copies nothing: it reads config/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class BuildWithConfig(build_py):
    """build_py, plus config/ and .env.example copied into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "bot" / "_config"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(HERE / "config", target)
        shutil.copyfile(HERE / ".env.example", target / "env.example")


setup(cmdclass={"build_py": BuildWithConfig})
