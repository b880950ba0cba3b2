"""The ``wb`` command: run guests, build them, benchmark the engine, reproduce results.

    wb run [--tier interp] [--max-insns N] [--root DIR] [--json FILE] ELF [ARGS...]
    wb guest list | wb guest build NAME
    wb bench [--json FILE] [--workload lua54 --workload zstd] [--repeat 3]
    wb reproduce [--out DIR]

Exit status of ``wb run``: the guest's own exit status when it exits; 128+N when it was
killed by signal N; 125 when the run was stopped another way (fault, illegal instruction,
budget, wall-clock limit: the reason is printed on stderr); 2 for bad input (bad ELF, bad
option).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Dynamic program analysis workbench on a RISC-V engine.")
guest_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Guest programs.")
app.add_typer(guest_app, name="guest")


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    elf: str = typer.Argument(..., help="Static RISC-V Linux ELF (or a guest name, e.g. lua54)."),
    args: Optional[List[str]] = typer.Argument(None, help="Arguments passed to the guest."),
    tier: str = typer.Option("interp", help="Execution tier: interp or jit."),
    max_insns: Optional[int] = typer.Option(None, "--max-insns", help="Instruction budget."),
    mem_limit: Optional[int] = typer.Option(None, "--mem-limit", help="Guest memory cap in bytes."),
    wall_limit: Optional[float] = typer.Option(None, "--wall-limit", help="Wall-clock limit in seconds."),
    root: Optional[Path] = typer.Option(None, "--root", help="Host directory the guest sees as / (default: current directory)."),
    seed: int = typer.Option(0, help="Seed of the guest's randomness (deterministic mode)."),
    nondeterministic: bool = typer.Option(False, "--nondeterministic", help="Use the host's clock and randomness."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the run's stats to this JSON file."),
):
    """Run a RISC-V program on the engine, passing its stdout/stderr through."""
    from .errors import WorkbenchError
    from .machine import Machine

    try:
        m = Machine(tier=tier, max_insns=max_insns, mem_limit=mem_limit, wall_limit=wall_limit,
                    root=root, deterministic=not nondeterministic, seed=seed)
        sys.stdout.flush()
        r = m.run(elf, args or [], argv0=elf, stdin=_stdin_fd())
    except WorkbenchError as e:
        typer.echo(f"wb run: {e}", err=True)
        raise typer.Exit(2)
    if json_out:
        json_out.write_text(json.dumps(r.stats, indent=2) + "\n")
    if r.reason == "exit":
        raise typer.Exit(r.exit_code & 0xFF)
    typer.echo(f"wb run: {r.reason}: {r.message}", err=True)
    if r.reason == "signal":
        raise typer.Exit(128 + r.exit_code)
    raise typer.Exit(125)


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
):
    """Benchmark the engine against native code and qemu-riscv64, side by side in one run."""
    from .bench import print_table, run_bench

    sizes = {}
    for s in size or []:
        if "=" not in s:
            typer.echo(f"wb bench: --size wants WORKLOAD=SIZE, got {s!r}", err=True)
            raise typer.Exit(2)
        k, v = s.split("=", 1)
        sizes[k] = v
    rows = run_bench(workloads=workload or None, repeat=repeat, qemu=not no_qemu, sizes=sizes)
    print_table(rows)
    if json_out:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")


@app.command()
def reproduce(out: Path = typer.Option(Path("results"), "--out", help="Output directory."),
              repeat: int = typer.Option(3, help="Runs per benchmark cell.")):
    """Run the main job. Until the studies exist, this is the engine benchmark."""
    from .bench import print_table, run_bench

    out.mkdir(parents=True, exist_ok=True)
    rows = run_bench(repeat=repeat)
    print_table(rows)
    (out / "bench.json").write_text(json.dumps(rows, indent=2) + "\n")
    from .bench import table_markdown
    (out / "bench.md").write_text(table_markdown(rows))
    typer.echo(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")


def main():
    app()


if __name__ == "__main__":
    main()
