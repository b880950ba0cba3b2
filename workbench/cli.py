"""The ``wb`` command: run guests, build them, benchmark the engine, reproduce results.

    wb run [--tier jit|interp] [--client memtrace] [--events DIR] [--max-insns N] [--root DIR] [--json FILE] ELF [ARGS...]
    wb guest list | wb guest build NAME
    wb bench [--json FILE] [--workload lua54 --workload zstd] [--repeat 3] [--client barrier --client bursty]
    wb reproduce [STUDY...] [--scale small|paper] [--out DIR] [--scheduler ADDR]
    wb lab [--port N] [--no-browser]

Exit status of ``wb run``: the guest's own exit status when it exits; 128+N when it was
killed by signal N; 125 when the run was stopped another way (fault, illegal instruction,
budget, wall-clock limit: the reason is printed on stderr); 2 for bad input (bad ELF, bad
option).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

# The engine runs on one host thread; OpenBLAS's idle worker threads (numpy) spin after any
# BLAS call and take a core away from it on small machines, which shows up as timing noise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Dynamic program analysis workbench on a RISC-V engine.")
guest_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Guest programs.")
app.add_typer(guest_app, name="guest")


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    elf: str = typer.Argument(..., help="Static RISC-V Linux ELF (or a guest name, e.g. lua54)."),
    args: Optional[List[str]] = typer.Argument(None, help="Arguments passed to the guest."),
    tier: Optional[str] = typer.Option(None, help="Execution tier: jit (default on x86-64) or interp."),
    max_insns: Optional[int] = typer.Option(None, "--max-insns", help="Instruction budget."),
    mem_limit: Optional[int] = typer.Option(None, "--mem-limit", help="Guest memory cap in bytes."),
    wall_limit: Optional[float] = typer.Option(None, "--wall-limit", help="Wall-clock limit in seconds (inf: none)."),
    root: Optional[Path] = typer.Option(None, "--root", help="Host directory the guest sees as / (default: current directory)."),
    seed: int = typer.Option(0, help="Seed of the guest's randomness (deterministic mode)."),
    nondeterministic: bool = typer.Option(False, "--nondeterministic", help="Use the host's clock and randomness."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the run's stats to this JSON file."),
    client: Optional[List[str]] = typer.Option(None, "--client", help="Analysis client to run (repeatable): null, icount, bbprofile, memtrace, barrier, bursty."),
    events: Optional[Path] = typer.Option(None, "--events", help="Write each client stream's events to DIR/<stream>.zarr."),
):
    """Run a RISC-V program on the engine, passing its stdout/stderr through.

    Options go before the program; everything after it is the guest's, and a `--` right after
    the program ends wb's options explicitly: `wb run lua54 -- -e "print(1)"`.
    """
    from .errors import WorkbenchError
    from .machine import Machine

    args = list(args or [])
    if args[:1] == ["--"]:          # `wb run ELF -- ARGS`: the separator is not the guest's
        args = args[1:]
    problem = _unwritable(json_out, "--json", is_dir=False) or _unwritable(events, "--events", is_dir=True)
    if problem:                     # before the guest runs: a long run is not lost at the end
        typer.echo(f"wb run: {problem}", err=True)
        raise typer.Exit(2)
    try:
        m = Machine(tier=tier, max_insns=max_insns, mem_limit=mem_limit, wall_limit=wall_limit,
                    root=root, deterministic=not nondeterministic, seed=seed, clients=client or [])
        sys.stdout.flush()
        r = m.run(elf, args, argv0=elf, stdin=_stdin_fd())
    except WorkbenchError as e:
        typer.echo(f"wb run: {e}", err=True)
        raise typer.Exit(2)
    if r.records:
        typer.echo("wb run: " + ", ".join(f"{k}: {len(v):,} records" for k, v in sorted(r.records.items())), err=True)
    try:
        if events and r.records:
            from .store import save

            events.mkdir(parents=True, exist_ok=True)
            for stream in r.records:
                save(r.events(stream), events / f"{stream}.zarr")
        if json_out:
            stats = dict(r.stats, records={k: len(v) for k, v in r.records.items()})
            json_out.write_text(json.dumps(stats, indent=2) + "\n")
    except OSError as e:            # e.g. the disk filled up during the run
        typer.echo(f"wb run: cannot write the results: {e}", err=True)
        raise typer.Exit(2)
    if r.reason == "exit":
        raise typer.Exit(r.exit_code & 0xFF)
    typer.echo(f"wb run: {r.reason}: {r.message}", err=True)
    if r.reason == "signal":
        raise typer.Exit(128 + r.exit_code)
    raise typer.Exit(125)


def _unwritable(path: Optional[Path], option: str, *, is_dir: bool) -> Optional[str]:
    """Why `path` (given with `option`) cannot be written, or None: checked before a run.

    >>> _unwritable(Path("/nonexistent/dir/x.json"), "--json", is_dir=False)
    '--json /nonexistent/dir/x.json: the directory /nonexistent/dir does not exist'
    """
    if path is None:
        return None
    if path.exists():
        if is_dir and not path.is_dir():
            return f"{option} {path}: exists and is not a directory"
        if not is_dir and path.is_dir():
            return f"{option} {path}: is a directory"
        return None if os.access(path, os.W_OK) else f"{option} {path}: not writable"
    parent = path.parent
    if is_dir:                      # created with its parents: the nearest existing ancestor
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.exists():
        return f"{option} {path}: the directory {parent} does not exist"
    if not parent.is_dir():
        return f"{option} {path}: {parent} is not a directory"
    return None if os.access(parent, os.W_OK) else f"{option} {path}: directory {parent} is not writable"


def _stdin_fd():
    """The guest reads this process's stdin (None, i.e. empty input, if there is none)."""
    try:
        return sys.stdin.fileno()
    except Exception:
        return None


@guest_app.command("list")
def guest_list():
    """List the guest programs that can be built."""
    from . import guests
    from rich.console import Console
    from rich.table import Table

    t = Table("name", "variants", "description")
    for g in guests.list_guests():
        t.add_row(g.name, ", ".join(getattr(g, "variants", []) or []), getattr(g, "description", ""))
    Console().print(t)


@guest_app.command("build")
def guest_build(name: str = typer.Argument(..., help="Guest name, e.g. lua54 or lua54-glibc."),
                force: bool = typer.Option(False, help="Rebuild even if cached.")):
    """Build a guest program and print the path of its ELF."""
    from . import guests

    try:
        path = guests.build(name, force=force)
    except guests.UnknownGuestError:
        typer.echo(f"wb guest build: unknown guest {name!r} (see `wb guest list`)", err=True)
        raise typer.Exit(2)
    except guests.GuestBuildError as e:
        typer.echo(f"wb guest build: {e}", err=True)
        raise typer.Exit(1)
    typer.echo(str(path))


@app.command()
def bench(
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the table as JSON."),
    workload: Optional[List[str]] = typer.Option(None, "--workload", "-w", help="Workloads (default: lua54, zstd)."),
    repeat: int = typer.Option(3, help="Runs per cell; the median is reported."),
    no_qemu: bool = typer.Option(False, "--no-qemu", help="Skip the qemu-riscv64 column."),
    size: Optional[List[str]] = typer.Option(None, "--size", help="Workload size, e.g. zstd=64m or lua54=600."),
    client: Optional[List[str]] = typer.Option(None, "--client", "-c", help="Client rows on the JIT (default: null, memtrace), e.g. barrier, bursty."),
    tier: Optional[List[str]] = typer.Option(None, "--tier", "-t", help="Engine tiers to measure (default: all; the client rows need jit)."),
):
    """Benchmark the engine against native code and qemu-riscv64, side by side in one run.

    The profilers' overhead table (barrier pointers at their production setting against bursty
    tracing, as in the paper): ``wb bench -w heads -w zstd -w lua54 -w brotli -t jit -c barrier -c bursty``.
    Every configuration runs once per round and the rounds repeat (``--repeat``), so drift of
    the machine affects all of them alike.
    """
    from .bench import print_table, run_bench

    sizes = {}
    for s in size or []:
        if "=" not in s:
            typer.echo(f"wb bench: --size wants WORKLOAD=SIZE, got {s!r}", err=True)
            raise typer.Exit(2)
        k, v = s.split("=", 1)
        sizes[k] = v
    rows = run_bench(workloads=workload or None, repeat=repeat, qemu=not no_qemu, sizes=sizes,
                     clients=client or None, tiers=tier or None)
    print_table(rows)
    if json_out:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")


def _study_table(name: str, df) -> None:
    """Print a study's summary DataFrame as a rich table."""
    from rich.console import Console
    from rich.table import Table

    t = Table(*[str(c) for c in df.columns], title=f"wb reproduce: {name}")
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, bool):
                cells.append("yes" if v else "[red]NO[/red]")
            elif isinstance(v, float):
                cells.append("-" if v != v else f"{v:.0f}" if abs(v) >= 100
                             else f"{v:.1f}" if abs(v) >= 10 else f"{v:.3f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: do not squeeze the columns to 80
        console = Console(width=max(console.width, 160))
    console.print(t)


def _markdown(df) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(
            ("-" if v != v else f"{v:.3f}") if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


@app.command()
def reproduce(
    study: Optional[List[str]] = typer.Argument(None, help="Studies to run (default: all)."),
    scale: str = typer.Option("small", "--scale", help="small (minutes) or paper (the full grid)."),
    out: Path = typer.Option(Path("results"), "--out", help="Output directory."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask scheduler address (default: a local cluster)."),
    fresh: bool = typer.Option(False, "--fresh", help="Measure again instead of reusing finished points."),
    sweeps: Optional[Path] = typer.Option(None, "--sweeps", help="Directory of the sweep stores (default: the workbench cache)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
):
    """Run the studies: each one's Dataset goes to OUT/<study>.zarr and .nc, its table is
    printed (and written to OUT/<study>.md), and an HTML report is written to OUT.

    Example: wb reproduce engine --scale small --out results
    """
    import shutil

    from . import store, studies

    names = list(study or studies.STUDIES)
    unknown = [n for n in names if n not in studies.STUDIES]
    if unknown:
        typer.echo(f"wb reproduce: unknown study {', '.join(map(repr, unknown))}; known studies: "
                   f"{', '.join(sorted(studies.STUDIES))}", err=True)
        raise typer.Exit(2)
    if scale not in studies.SCALES:
        typer.echo(f"wb reproduce: unknown scale {scale!r}; choose one of {', '.join(studies.SCALES)}",
                   err=True)
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    datasets = {}
    for name in names:
        mod = studies.get(name)
        sweep_store = mod.default_store(scale, base=sweeps)
        if fresh:
            shutil.rmtree(sweep_store, ignore_errors=True)
        ds = mod.run(scale, store=sweep_store, scheduler=scheduler, progress=progress)
        datasets[name] = ds
        store.save(ds, out / f"{name}.zarr")
        store.save(ds, out / f"{name}.nc")
        if hasattr(mod, "summary"):
            df = mod.summary(ds)
            _study_table(name, df)
            (out / f"{name}.md").write_text(_markdown(df))
        typer.echo(f"wrote {out / (name + '.zarr')} and {out / (name + '.nc')}")
    try:
        from .report import write_report
    except ImportError as e:
        typer.echo(f"wb reproduce: warning: no HTML report (workbench.report is not available: {e})",
                   err=True)
        return
    report = write_report(datasets, out)
    typer.echo(f"wrote {report}")


def _lab_command(port: int, no_browser: bool, notebooks: Path) -> list:
    """The JupyterLab command line ``wb lab`` runs."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.root_dir={notebooks}"]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines run as root; bound to loopback
    return cmd


def _notebooks_dir() -> Path:
    """notebooks/ of the repository this package lives in (of the current directory when the
    package is installed elsewhere)."""
    repo = Path(__file__).resolve().parent.parent
    base = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return base / "notebooks"


@app.command()
def lab(port: int = typer.Option(8888, "--port", help="Port on 127.0.0.1."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser.")):
    """Start JupyterLab on the workbench's notebooks/, bound to 127.0.0.1.

    Example: wb lab --port 8890 --no-browser
    """
    import subprocess

    nb = _notebooks_dir()
    nb.mkdir(parents=True, exist_ok=True)
    typer.echo(f"wb lab: JupyterLab on http://127.0.0.1:{port}/ serving {nb}")
    try:
        rc = subprocess.call(_lab_command(port, no_browser, nb))
    except KeyboardInterrupt:
        rc = 0
    raise typer.Exit(rc)


def main():
    app()


if __name__ == "__main__":
    main()
