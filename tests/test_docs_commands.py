"""Every `wb ...` command the documentation shows must work: README.md, ARCHITECTURE.md,
docs/*.md and the markdown cells of notebooks/*.py.

Each command line is parsed by the real typer app (options, types, required arguments) and
then checked by the command's own pre-flight checks (``workbench.cli.PREFLIGHT``: known
guests, studies, scales, clients, tiers, writable output paths), so nothing heavy runs. A
bare ``wb run`` or ``wb guest`` in prose names a command and need only exist. The cheap
commands (``wb guest ...`` and ``wb run`` of a guest) also run for real. A wrong command in
the documentation fails here with the file and line it is on.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import cli

from conftest import REPO

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = re.compile(r"`([^`\n]+)`")
_PROMPT = re.compile(r"^\s*(\$\s+)?((\.venv/bin/)?wb)(\s|$)")


def doc_files() -> list[Path]:
    return [REPO / "README.md", REPO / "ARCHITECTURE.md", *sorted((REPO / "docs").glob("*.md")),
            *sorted((REPO / "notebooks").glob("*.py"))]


def _notebook_markdown(text: str) -> list[tuple[int, str]]:
    """(line number, text) of the markdown cells of a jupytext percent-format notebook."""
    out, in_md = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# %%"):
            in_md = "[markdown]" in line
        elif in_md and (line.startswith("# ") or line == "#"):
            out.append((n, line[2:]))
    return out


def commands_in(text: str, *, notebook: bool = False) -> list[tuple[int, str]]:
    """(line number, command line) of every `wb` command in markdown ``text``: lines of fenced
    code blocks that start with ``wb`` (or ``.venv/bin/wb``, or a ``$`` prompt before it),
    and inline code spans that do (in prose, or in a code block's comments).

    >>> commands_in("Run `wb run lua54` or:\\n```sh\\n$ .venv/bin/wb guest list  # all\\n```")
    [(1, 'wb run lua54'), (3, '.venv/bin/wb guest list  # all')]
    >>> commands_in("the `wb` command, `wbrun`, `make test`")
    []
    >>> commands_in("```sh\\nmake reproduce  # runs `wb reproduce`\\n```")
    [(2, 'wb reproduce')]
    """
    lines = _notebook_markdown(text) if notebook else list(enumerate(text.splitlines(), 1))
    found, fenced = [], False
    for n, line in lines:
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            m = _PROMPT.match(line)
            if m:
                found.append((n, line[m.start(2):].strip()))
                continue
        for span in _INLINE.findall(line):       # also in a code block's comments
            if re.match(r"(\.venv/bin/)?wb\s", span):
                found.append((n, span.strip()))
    return found


def all_commands() -> list[tuple[str, str]]:
    out = []
    for f in doc_files():
        for n, cmd in commands_in(f.read_text(), notebook=f.suffix == ".py"):
            out.append((f"{f.relative_to(REPO)}:{n}", cmd))
    return out


def problem(command: str) -> str | None:
    """Why ``command`` (a ``wb ...`` command line) would be refused, or None.

    >>> problem("wb reproduce engine --scale small")
    >>> problem("wb reproduce --scale medium")
    "unknown scale 'medium'; choose one of small, paper"
    """
    import typer

    argv = shlex.split(command, comments=True)[1:]
    cmd, path = typer.main.get_command(cli.app), []
    while hasattr(cmd, "commands"):              # a group: walk down to the command
        if not argv:
            return None                          # `wb guest` named in prose
        name, argv = argv[0], argv[1:]
        if name not in cmd.commands:
            return f"No such command {name!r}"
        cmd, path = cmd.commands[name], [*path, name]
    if not argv:
        return None                              # `wb run` named in prose
    try:
        params = cmd.make_context(" ".join(["wb", *path]), list(argv)).params
    except Exception as e:                       # click's usage errors (typer vendors click)
        if hasattr(e, "format_message"):
            return e.format_message()
        if getattr(e, "exit_code", None) == 0:   # --help: printed, nothing else to check
            return None
        raise
    check = cli.PREFLIGHT.get(tuple(path))
    return check(**params) if check else None


COMMANDS = all_commands()


def test_the_docs_show_commands():
    where = {w.split(":")[0] for w, _ in COMMANDS}
    assert {"README.md", "ARCHITECTURE.md"} <= where, where
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("where,command", COMMANDS, ids=[f"{w} {c}" for w, c in COMMANDS])
def test_documented_command_is_accepted(where, command, monkeypatch):
    monkeypatch.chdir(REPO)                     # relative paths as a reader at the top sees them
    assert problem(command) is None, f"{where}: `{command}`: {problem(command)}"


@pytest.mark.parametrize("command", [
    "wb run --bogus lua54", "wb run --max-insns many lua54", "wb run lua53 -e 'print(1)'",
    "wb run --client nosuch lua54", "wb guest biuld lua54", "wb guest build lua53",
    "wb bench --sise zstd=1m", "wb bench -w zstd --size lua54=20", "wb bench --repeat 0",
    "wb reproduce enigne", "wb reproduce --scale medium", "wb lab --port many", "wb frob",
    "wb run|guest|bench", "wb bench --hlep",
])
def test_a_wrong_command_is_caught(command):
    assert problem(command), command


def _real(command: str) -> bool:
    """Cheap enough to run for real: the guest commands and `wb run` of a guest."""
    argv = shlex.split(command, comments=True)[1:]
    if argv[:1] == ["guest"]:
        return len(argv) > 1
    if argv[:1] == ["run"]:
        opts = cli._fast_run(argv[1:])
        return opts is not None and not os.sep in opts["elf"]
    return False


REAL = [(w, c) for w, c in COMMANDS if _real(c)]


@pytest.mark.parametrize("where,command", REAL, ids=[f"{w} {c}" for w, c in REAL])
def test_cheap_documented_command_runs(where, command, tmp_path):
    """Run it as a reader would, from a directory that looks like the repository (its
    workloads/ and notebooks/), so that files it writes land in a temporary directory."""
    for name in ("workloads", "notebooks"):
        (tmp_path / name).symlink_to(REPO / name)
    argv = shlex.split(command, comments=True)[1:]
    p = subprocess.run([sys.executable, "-m", "workbench.cli", *argv], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{where}: `{command}` exited {p.returncode}: {p.stderr}"


def test_commands_are_found_in_notebook_markdown_only():
    text = "# %% [markdown]\n# Run `wb run lua54 -e 'print(1)'`.\n\n# %%\n# `wb frob` in code\n"
    assert commands_in(text, notebook=True) == [(2, "wb run lua54 -e 'print(1)'")]
