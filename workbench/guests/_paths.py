"""Where things live: the repository's workloads and the build caches."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's ``workloads/`` directory (C sources, Lua scripts, golden outputs).
#: Overridable with the ``WB_WORKLOADS`` environment variable.
_REPO_ROOT = Path(__file__).resolve().parents[2]


def workloads_dir() -> Path:
    env = os.environ.get("WB_WORKLOADS")
    return Path(env).resolve() if env else _REPO_ROOT / "workloads"


def cache_root() -> Path:
    """Root of the workbench cache: ``$WB_CACHE`` or ``~/.cache/workbench``."""
    env = os.environ.get("WB_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "workbench"


def sdist_cache_dir() -> Path:
    """Downloaded third-party source archives (``<cache>/sdists``)."""
    return cache_root() / "sdists"


def build_dir() -> Path:
    """Built guest programs (``<cache>/guests``)."""
    return cache_root() / "guests"
