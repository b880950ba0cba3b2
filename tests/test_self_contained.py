"""A clone of this repository is all a reader has: no file may point at documents outside it,
and every docs/ page that the code, notebooks and docs name must exist."""
from __future__ import annotations

import re
import subprocess

from conftest import REPO

OUTSIDE = re.compile(r"\.\./shared|\bPAPERS\.md\b|\bDESIGN\.md\b|\bSTYLE\.md\b")
DOC_REF = re.compile(r"\bdocs/[\w.-]+\.md\b")
TEXT = (".py", ".md", ".ipynb", ".c", ".h", ".txt", ".toml", ".yml", ".cfg")


def _tracked():
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in out.stdout.splitlines():
        path = REPO / name
        if path.suffix in TEXT and path.is_file() and path.name != "test_self_contained.py":
            yield path


def test_nothing_points_outside_the_repository():
    bad = [f"{p.relative_to(REPO)}:{n}" for p in _tracked()
           for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
           if OUTSIDE.search(line)]
    assert not bad, bad


def test_docs_pages_that_are_named_exist():
    named = {m for p in _tracked() for m in DOC_REF.findall(p.read_text(errors="replace"))}
    assert "docs/barrier_profiler.md" in named
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert not missing, missing
