"""The `wb` command line: help texts, user errors (each a message, never a traceback), the
typer-free fast path of `wb run` and `wb guest list` and what they import, table widths."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import workbench
from workbench import cli
from workbench.bench import exit0_elf

#: the analysis stack: `wb run` must not pay for importing any of it
HEAVY = ("xarray", "pandas", "dask", "distributed", "altair", "zarr")
#: what the typer-free paths avoid on top
CLI_STACK = ("typer", "pydantic", "click")


def _wb(*args, cwd=None, env=None, timeout=300):
    env = dict(os.environ if env is None else env)
    env.pop("COLUMNS", None)                   # tables and help at their width in a pipe
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    """exit(0) as a three-instruction RISC-V program (no cross compiler needed)."""
    return exit0_elf(tmp_path_factory.mktemp("elf") / "exit0")


def _modules_after(code: str) -> set[str]:
    """Top-level modules imported by running ``code`` in a fresh interpreter (reported at
    exit, so a ``sys.exit`` of the code under test still reports)."""
    script = textwrap.dedent("""
        import atexit, sys
        atexit.register(lambda: print("MODULES", *sorted({m.split(".")[0] for m in sys.modules}),
                                      file=sys.__stderr__))
    """) + code
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    line = next(x for x in p.stderr.splitlines() if x.startswith("MODULES"))
    return set(line.split()[1:])


# ------------------------------------------------------------------ start-up: lazy imports


def test_importing_the_cli_imports_no_heavy_module():
    mods = _modules_after("import workbench.cli")
    assert not mods & {*HEAVY, *CLI_STACK, "numpy", "rich"}, mods & {*HEAVY, *CLI_STACK, "numpy", "rich"}


def test_wb_run_path_imports_neither_typer_nor_the_analysis_stack(elf):
    mods = _modules_after(f"from workbench.cli import main; main(['run', {str(elf)!r}])")
    assert "cffi" in mods                      # the engine did run
    assert not mods & {*HEAVY, *CLI_STACK, "rich"}, mods & {*HEAVY, *CLI_STACK, "rich"}


def test_wb_guest_list_path_imports_neither_typer_nor_the_analysis_stack():
    mods = _modules_after("from workbench.cli import main; main(['guest', 'list'])")
    assert "rich" in mods                      # the table was printed
    assert not mods & {*HEAVY, *CLI_STACK}, mods & {*HEAVY, *CLI_STACK}


def test_wb_run_fast_path_runs_the_program(elf, tmp_path):
    js = tmp_path / "s.json"
    p = _wb("run", "--max-insns", "100", "--json", js, elf)
    assert p.returncode == 0, p.stderr
    assert json.loads(js.read_text())["instructions"] == 3


# ------------------------------------------------------------------ fast path == typer


def _typer_params(argv: list[str]) -> dict:
    import typer

    cmd = typer.main.get_command(cli.app).commands["run"]
    params = dict(cmd.make_context("wb run", list(argv)).params)
    params["client"] = list(params["client"] or [])
    params["args"] = list(params["args"] or [])
    return params


@pytest.mark.parametrize("argv", [
    ["lua54"],
    ["lua54", "-e", "print(1)"],
    ["lua54", "--", "-e", "print(1)"],
    ["--tier", "interp", "--max-insns", "1000000000", "--root", "workloads/lua", "lua54", "x.lua"],
    ["--tier=jit", "--mem-limit=65536", "--wall-limit", "2.5", "--seed", "7", "zstd", "1m"],
    ["--wall-limit", "inf", "--nondeterministic", "--json", "s.json", "--events", "ev", "zstd"],
    ["--client", "memtrace", "--client=icount", "--seed", "1", "--seed", "2", "zstd", "--tier", "x"],
    ["--max-insns", "007", "./prog", "-"],
])
def test_fast_run_parses_as_typer_does(argv):
    fast = cli._fast_run(argv)
    assert fast is not None
    assert fast == _typer_params(argv)


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["--bogus", "x"], ["-x", "x"], ["--max-insns"], ["--max-insns", "1e9", "x"],
    ["--max-insns", "-1", "x"], ["--seed", "+1", "x"], ["--wall-limit", "nan", "x"],
    ["--nondeterministic=1", "x"], ["--tier", "-x", "x"], ["--", "x"], ["--json=", "x"],
])
def test_fast_run_leaves_the_unusual_to_typer(argv):
    assert cli._fast_run(argv) is None


def test_fast_run_table_matches_the_typer_command():
    import typer

    cmd = typer.main.get_command(cli.app).commands["run"]
    options = {p.opts[0]: (p.name, bool(p.is_flag), bool(p.multiple))
               for p in cmd.params if p.param_type_name == "option"}
    table = {opt: (name, kind is bool, kind is list) for opt, (name, kind) in cli._RUN_OPTIONS.items()}
    assert options == table


def test_static_lists_match_the_engine():
    assert cli.CLIENTS == tuple(workbench.available_clients())
    assert set(workbench.available_tiers()) <= set(cli.TIERS)
    assert set(cli.TIERS) == set(workbench.machine.TIERS)


# ------------------------------------------------------------------ help texts


HELP_PATHS = [[], ["run"], ["guest"], ["guest", "list"], ["guest", "build"], ["bench"],
              ["reproduce"], ["lab"]]


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "wb")
def test_help_has_no_type_tags_or_rst_markup(path):
    p = _wb(*path, "--help")
    assert p.returncode == 0, p.stderr
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", p.stdout), p.stdout
    assert "``" not in p.stdout and ":data:" not in p.stdout
    assert max(map(len, p.stdout.splitlines())) <= 100


def test_help_lists_every_client_the_studies_and_the_scales():
    for command in ("run", "bench"):
        out = _wb(command, "--help").stdout
        flat = " ".join(out.split())
        for c in workbench.available_clients():
            assert c in flat, (command, c, out)
    from workbench import studies

    flat = " ".join(_wb("reproduce", "--help").stdout.split())
    assert "STUDY is one of " + ", ".join(studies.STUDIES) in flat, flat
    assert all(scale in flat for scale in studies.SCALES), flat


# ------------------------------------------------------------------ user errors: no tracebacks


USER_ERRORS = [
    # (command line, exit status, message); ELF stands for a real program
    (["run", "--bogus", "ELF"], 2, "No such option: --bogus"),
    (["run", "-x", "ELF"], 2, "No such option: -x"),
    (["bench", "--bogus"], 2, "No such option: --bogus"),
    (["reproduce", "--bogus"], 2, "No such option: --bogus"),
    (["guest", "list", "--bogus"], 2, "No such option: --bogus"),
    (["lab", "--bogus"], 2, "No such option: --bogus"),
    (["frob"], 2, "No such command 'frob'"),
    (["run"], 2, "Missing argument 'ELF'"),
    (["run", "--max-insns", "abc", "ELF"], 2, "Invalid value for '--max-insns'"),
    (["run", "--max-insns"], 2, "requires an argument"),
    (["run", "--tier", "foo", "ELF"], 2, "unknown tier 'foo'; choose one of jit, interp"),
    (["run", "--client", "foo", "ELF"], 2, "unknown client 'foo'; built-in clients: null,"),
    (["run", "no-such-guest"], 2, "no such file (and not a known guest"),
    (["run", "./no/such/file"], 2, "no such file"),
    (["run", "--root", "/nonexistent", "ELF"], 2, "--root /nonexistent: not a directory"),
    (["run", "--mem-limit", "0", "ELF"], 2, "mem_limit must be an integer"),
    (["run", "--wall-limit", "-1", "ELF"], 2, "wall_limit must be a positive number"),
    (["run", "--events", "/etc/passwd/ev", "ELF"], 2, "is not a directory"),
    (["run", "--watch", "bogus", "ELF"], 2, "unknown watchpoint mechanism 'bogus'"),
    (["run", "--client", "watchheap", "ELF"], 2, "needs the watchpoint unit"),
    (["run", "--watch", "unlimited", "--watch-cache", "0", "ELF"], 2, "watch_cache must be an integer"),
    (["guest", "build", "no-such-guest"], 2, "unknown guest 'no-such-guest'"),
    (["bench", "-w", "nosuch"], 2, "unknown guest 'nosuch'"),
    (["bench", "-t", "foo"], 2, "unknown tier 'foo'"),
    (["bench", "-c", "foo"], 2, "unknown client 'foo'"),
    (["bench", "--repeat", "0"], 2, "--repeat must be at least 1"),
    (["bench", "--repeat", "x"], 2, "Invalid value for '--repeat'"),
    (["bench", "--size", "zstd"], 2, "--size wants WORKLOAD=SIZE"),
    (["bench", "-w", "zstd", "--size", "lua54=20"], 2, "lua54 is not among the workloads"),
    (["bench", "--json", "/nonexistent/b.json"], 2, "does not exist"),
    (["reproduce", "--scale", "medium"], 2, "unknown scale 'medium'; choose one of small, paper"),
    (["reproduce", "nosuch"], 2, "unknown study 'nosuch'; known studies: engine, barrier, watchpoints"),
    (["reproduce", "--out", "/etc/passwd/out"], 2, "/etc/passwd is not a directory"),
    (["reproduce", "--scheduler", "foo"], 2, "--scheduler foo: not a dask scheduler address"),
    (["lab", "--port", "x"], 2, "Invalid value for '--port'"),
]


@pytest.mark.parametrize("argv,status,message", USER_ERRORS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_user_error_is_a_message_not_a_traceback(argv, status, message, elf):
    argv = [str(elf) if a == "ELF" else a for a in argv]
    p = _wb(*argv)
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    assert p.stdout == ""


def test_unreachable_scheduler_is_a_message(tmp_path):
    """`wb reproduce --scheduler` with nobody listening: one line, exit 1, no traceback."""
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    p = _wb("reproduce", "engine", "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "out",
            "--sweeps", tmp_path / "sweeps", "--no-progress", env=env, timeout=600)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "wb reproduce: engine:" in p.stderr and "Traceback" not in p.stderr + p.stdout


# ------------------------------------------------------------------ tables fit 100 columns


def test_guest_list_fits_100_columns():
    p = _wb("guest", "list")
    assert p.returncode == 0 and "lua54" in p.stdout
    assert max(map(len, p.stdout.splitlines())) <= 100


def test_study_table_fits_100_columns_and_keeps_every_value(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame([{"workload": "zstd", "profiler": "barrier", "sample_bytes": 16384,
                        "overhead": 1.0123, "faults/s": 123456.7, "samples": 42.0,
                        "coverage": 0.875, "P(wrong mostly untouched)": 0.0123,
                        "P(wrong write only)": 0.0456, "P(wrong never read)": 0.5,
                        "output ok": True}])
    cli._study_table("barrier", df)
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100, out
    assert "…" not in out
    for value in ("123457", "1.012", "0.875", "16384", "yes"):   # whole, on one line
        assert value in out, (value, out)


def test_run_with_the_watchpoint_unit(tmp_path):
    """wb run --watch MECH: the guest's wp.set works, a heap checker reports through --json."""
    out = tmp_path / "stats.json"
    p = _wb("run", "--watch", "unlimited", "--client", "watchheap", "--json", out, "heapbugs", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "watchheap: 6 records" in p.stderr
    stats = json.loads(out.read_text())
    assert stats["records"] == {"watchheap": 6} and stats["watch"]["lookups"] > 0
    p = _wb("run", "--watch", "pageprot", "wpdebug", cwd=tmp_path)
    assert p.returncode == 0 and "wpdebug: OK (2006 traps)" in p.stdout
