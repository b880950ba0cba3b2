"""The ``wb`` command: run guests, build them, benchmark the engine, reproduce results.

    wb run [--tier jit|interp] [--client memtrace] [--events DIR] [--max-insns N] [--root DIR] [--json FILE] ELF [ARGS...]
    wb guest list | wb guest build NAME
    wb boot [--kernel Image] [--initrd FILE] [--append ARGS] [--wall-limit S] [--json FILE]
    wb bench [--json FILE] [--workload lua54 --workload zstd] [--repeat 3] [--client barrier --client bursty] [--no-startup]
    wb reproduce [STUDY...] [--scale small|paper] [--out DIR] [--scheduler ADDR]
    wb lab [--port N] [--no-browser]

Exit status of ``wb run``: the guest's own exit status when it exits; 128+N when it was
killed by signal N; 125 when the run was stopped another way (fault, illegal instruction,
budget, wall-clock limit: the reason is printed on stderr); 2 for bad input (bad ELF, bad
option). Every other command exits 2 for a bad command line and 1 when the work itself fails;
no user error ends in a traceback.

Start-up. ``wb run`` is often run many times from scripts, so its start-up is kept close to
the engine's own runner (``wbrun``; ``wb bench`` measures both side by side). Importing this
module imports neither typer nor the analysis stack (xarray, pandas, dask, zarr): the typer
app is built on first use of :data:`app` (the command signatures name ``typer`` in string
annotations, which typer evaluates only then), and :func:`main` runs a well-formed
``wb run ...`` or ``wb guest list`` without typer at all (importing typer and its click,
and in recent versions the pydantic it parses every option with, takes ~70 ms: many times
the engine's own start-up). Anything else — ``--help``, an unknown option, a malformed value,
every other command — goes to typer, which prints the help or says what is wrong.

>>> from workbench.cli import _fast_run
>>> _fast_run(["--max-insns", "1000", "lua54", "-e", "print(1)"])["max_insns"]
1000
>>> _fast_run(["--help"]) is None    # typer prints the help
True
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, List, Optional

# The engine runs on one host thread; OpenBLAS's idle worker threads (numpy) spin after any
# BLAS call and take a core away from it on small machines, which shows up as timing noise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

#: the engine's built-in analysis clients, written out so that ``wb --help`` needs no engine
#: (tests/test_cli.py holds this to ``workbench.available_clients()``)
CLIENTS = ("null", "icount", "bbprofile", "memtrace", "memphys", "barrier", "bursty", "shrink", "watchheap", "taint",
           "aikido", "fasttrack")
#: the engine's tiers (whether the JIT exists on this host is the engine's to say)
TIERS = ("jit", "interp")

#: ``wb run``'s options: option -> (parameter, kind). The typer command :func:`run` declares
#: the same options (tests/test_cli.py holds the two together); :func:`_fast_run` parses a
#: well-formed command line with this table alone.
_RUN_OPTIONS = {
    "--tier": ("tier", str), "--max-insns": ("max_insns", int), "--mem-limit": ("mem_limit", int),
    "--wall-limit": ("wall_limit", float), "--root": ("root", Path), "--seed": ("seed", int),
    "--nondeterministic": ("nondeterministic", bool), "--json": ("json_out", Path),
    "--client": ("client", list), "--events": ("events", Path),
    "--max-threads": ("max_threads", int), "--quantum": ("quantum", int),
    "--schedule": ("schedule", str), "--watch": ("watch", str), "--watch-cache": ("watch_cache", int),
}
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|inf")


def _err(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ wb run


def run(
    ctx: typer.Context,
    elf: Annotated[str, typer.Argument(metavar="ELF", show_default=False, hidden=True)],
    args: Annotated[Optional[List[str]], typer.Argument(metavar="ARGS", show_default=False, hidden=True)] = None,
    tier: Annotated[Optional[str], typer.Option("--tier", metavar="TIER", help=f"Execution tier: {' or '.join(TIERS)} (default: jit where the host has it).")] = None,
    max_insns: Annotated[Optional[int], typer.Option("--max-insns", metavar="N", help="Instruction budget.")] = None,
    mem_limit: Annotated[Optional[int], typer.Option("--mem-limit", metavar="BYTES", help="Guest memory cap in bytes.")] = None,
    wall_limit: Annotated[Optional[float], typer.Option("--wall-limit", metavar="SECONDS", help="Wall-clock limit in seconds (inf: none).")] = None,
    root: Annotated[Optional[Path], typer.Option("--root", metavar="DIR", help="Host directory the guest sees as / (default: the current directory).")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the guest's randomness (deterministic mode).")] = 0,
    nondeterministic: Annotated[bool, typer.Option("--nondeterministic", help="Use the host's clock and randomness.")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", metavar="FILE", help="Write the run's stats to this JSON file.")] = None,
    client: Annotated[Optional[List[str]], typer.Option("--client", metavar="NAME", help=f"Analysis client to run (repeatable): {', '.join(CLIENTS)}.")] = None,
    events: Annotated[Optional[Path], typer.Option("--events", metavar="DIR", help="Write each client stream's events to DIR/STREAM.zarr.")] = None,
    max_threads: Annotated[int, typer.Option("--max-threads", metavar="N", help="Guest threads live at once (pthread_create fails past it).")] = 256,
    quantum: Annotated[int, typer.Option("--quantum", metavar="N", help="Deterministic schedule: instructions a guest thread runs before the seeded scheduler switches threads.")] = 20000,
    schedule: Annotated[str, typer.Option("--schedule", metavar="HOW", help="Guest threads: parallel (one host thread each) or deterministic (interleaved, reproducible).")] = "parallel",
    watch: Annotated[Optional[str], typer.Option("--watch", metavar="MECH", help="The watchpoint unit, found by MECH: unlimited, pageprot, debugregs or software (the guest's wp.set/wp.clear; the watchheap client).")] = None,
    watch_cache: Annotated[int, typer.Option("--watch-cache", metavar="N", help="Watchpoint unit: range-cache entries.")] = 64,
):
    """Run a RISC-V program on the engine, passing its stdout/stderr through.

    ELF is a static RISC-V Linux executable or a guest name (see: wb guest list); ARGS are the
    guest's arguments. Options go before the program; everything after it is the guest's, and
    a -- right after the program ends wb's options explicitly: wb run lua54 -- -e "print(1)"
    """
    if elf.startswith("-") and elf != "-":
        # allow_interspersed_args=False hands the first unknown option over as the program
        ctx.fail(f"No such option: {elf}")
    raise typer.Exit(_run_program(elf, args, tier=tier, max_insns=max_insns, mem_limit=mem_limit,
                                  wall_limit=wall_limit, root=root, seed=seed,
                                  nondeterministic=nondeterministic, json_out=json_out,
                                  client=client, events=events, max_threads=max_threads,
                                  quantum=quantum, schedule=schedule, watch=watch,
                                  watch_cache=watch_cache))


def _fast_run(argv: list[str]) -> Optional[dict]:
    """``wb run``'s parameters from its command line (after ``run``), or None when typer must
    see it: ``--help``, ``--``, short or unknown options, a missing value, a value typer might
    read differently (signs, underscores, a leading ``-``), no program.

    >>> _fast_run(["--client", "icount", "--client=memtrace", "zstd", "1m"])["client"]
    ['icount', 'memtrace']
    >>> _fast_run(["--max-insns", "1e9", "zstd"]) is None  # typer says what is wrong
    True
    """
    opts = {"tier": None, "max_insns": None, "mem_limit": None, "wall_limit": None,
            "root": None, "seed": 0, "nondeterministic": False, "json_out": None,
            "client": [], "events": None, "max_threads": 256, "quantum": 20000,
            "schedule": "parallel", "watch": None, "watch_cache": 64}
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        name, eq, value = argv[i].partition("=")
        if name not in _RUN_OPTIONS:
            return None
        param, kind = _RUN_OPTIONS[name]
        i += 1
        if kind is bool:
            if eq:
                return None
            opts[param] = True
            continue
        if not eq:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        if kind is int:
            v = int(value) if _INT.fullmatch(value) else None
        elif kind is float:
            v = float(value) if _FLOAT.fullmatch(value) else None
        else:
            v = value if value and not value.startswith("-") else None
        if v is None:
            return None
        if kind is list:
            opts[param].append(v)
        else:
            opts[param] = Path(v) if kind is Path else v
    if i >= len(argv):
        return None
    opts["elf"], opts["args"] = argv[i], argv[i + 1:]
    return opts


def _run_problem(elf: str, tier: Optional[str] = None, client: Optional[list] = None,
                 root: Optional[Path] = None, json_out: Optional[Path] = None,
                 events: Optional[Path] = None, **_) -> Optional[str]:
    """Why ``wb run`` would refuse these parameters before running anything, or None.

    >>> _run_problem("lua54", client=["memtrace", "nosuch"])
    "unknown client 'nosuch'; built-in clients: null, icount, bbprofile, memtrace, memphys, barrier, bursty, shrink, watchheap, taint, aikido, fasttrack"
    """
    if elf.startswith("-") and elf != "-":
        return f"No such option: {elf}"
    if tier is not None and tier not in TIERS:
        return f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}"
    for c in client or []:
        if c not in CLIENTS:
            return f"unknown client {c!r}; built-in clients: {', '.join(CLIENTS)}"
    if root is not None and not root.is_dir():
        return f"--root {root}: not a directory"
    problem = _unwritable(json_out, "--json", is_dir=False) or _unwritable(events, "--events", is_dir=True)
    if problem:                     # before the guest runs: a long run is not lost at the end
        return problem
    if not Path(elf).exists() and os.sep not in elf:
        from . import guests       # a guest name, built on first use by Machine.run

        try:
            guests.split_name(elf)
        except guests.UnknownGuestError:
            return f"{elf}: no such file (and not a known guest; see `wb guest list`)"
    return None


def _run_program(elf: str, args: Optional[list], *, tier=None, max_insns=None, mem_limit=None,
                 wall_limit=None, root=None, seed=0, nondeterministic=False, json_out=None,
                 client=None, events=None, max_threads=256, quantum=20000,
                 schedule="parallel", watch=None, watch_cache=64) -> int:
    """Run ``elf`` as ``wb run`` does and return its exit status (typer and the fast path)."""
    args = list(args or [])
    if args[:1] == ["--"]:          # `wb run ELF -- ARGS`: the separator is not the guest's
        args = args[1:]
    problem = _run_problem(elf, tier=tier, client=client, root=root, json_out=json_out,
                           events=events)
    if problem:
        _err("wb run", problem)
        return 2
    from .errors import WorkbenchError
    from .machine import Machine, resolve_program

    # Records are never kept: counted as they are drained, or (--events) streamed to zarr
    # stores by a writer thread while the guest runs, so a long trace costs no memory.
    counts: dict = {}
    writer = None
    try:
        m = Machine(tier=tier, max_insns=max_insns, mem_limit=mem_limit, wall_limit=wall_limit,
                    root=root, deterministic=not nondeterministic, seed=seed, clients=client or [],
                    max_threads=max_threads, quantum=quantum, schedule=schedule, watch=watch,
                    watch_cache=watch_cache)
        on_records = None
        if client and events:
            from .event_writer import EventWriter

            writer = EventWriter(events, program=resolve_program(elf), config=m.config,
                                 args=" ".join(args))
            on_records = writer
        elif client:
            def on_records(stream, recs):
                counts[stream] = counts.get(stream, 0) + len(recs)
        sys.stdout.flush()
        r = m.run(elf, args, argv0=elf, stdin=_stdin_fd(), on_records=on_records)
        if writer is not None:
            writer.close(r)
            counts = writer.counts
    except WorkbenchError as e:
        _err("wb run", str(e))
        return 2
    except KeyboardInterrupt:
        _err("wb run", "interrupted")
        return 130
    except (OSError, RuntimeError) as e:  # writing the events failed (a full disk, say)
        _err("wb run", f"cannot write the results: {e}")
        return 2
    finally:
        if writer is not None:
            writer.abort()          # no-op after close; removes half-written stores otherwise
    if counts:
        _err("wb run", ", ".join(f"{k}: {v:,} records" for k, v in sorted(counts.items())))
    try:
        if json_out:
            import json

            stats = dict(r.stats, records=dict(sorted(counts.items())))
            json_out.write_text(json.dumps(stats, indent=2) + "\n")
    except OSError as e:            # e.g. the disk filled up during the run
        _err("wb run", f"cannot write the results: {e}")
        return 2
    if r.reason == "exit":
        return r.exit_code & 0xFF
    _err("wb run", f"{r.reason}: {r.message}")
    if r.reason == "signal":
        return 128 + r.exit_code
    return 125


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


# ------------------------------------------------------------------ wb guest


def guest_list():
    """List the guest programs that can be built."""
    raise typer.Exit(_guest_list())


def _guest_list() -> int:
    from rich.table import Table

    from . import guests

    t = Table("name", "variants", "description")
    for g in guests.list_guests():
        t.add_row(g.name, ", ".join(getattr(g, "variants", []) or []), getattr(g, "description", ""))
    _console().print(t)
    return 0


#: ``wb guest build`` names that are not guest programs: the RISC-V Linux kernel and the
#: initramfs of our guests that it boots (workbench.kernels)
KERNEL_BUILDS = ("linux", "initramfs")


def _guest_problem(name: str, **_) -> Optional[str]:
    """Why ``wb guest build NAME`` would refuse ``name``, or None."""
    from . import guests

    if name in KERNEL_BUILDS:
        return None
    try:
        guests.split_name(name)
    except guests.UnknownGuestError:
        return f"unknown guest {name!r} (see `wb guest list`)"
    return None


def guest_build(name: Annotated[str, typer.Argument(metavar="NAME", show_default=False, hidden=True)],
                force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached.")] = False):
    """Build a guest program and print the path of its ELF.

    NAME is a guest of wb guest list, e.g. lua54, or lua54-glibc for its glibc build; linux
    builds the RISC-V Linux kernel (prints its Image, vmlinux and System.map), initramfs the
    archive of our guests it boots.
    """
    from . import guests

    problem = _guest_problem(name)
    if problem:
        _err("wb guest build", problem)
        raise typer.Exit(2)
    if name in KERNEL_BUILDS:
        from . import kernels

        try:
            if name == "linux":
                k = kernels.build_linux(force=force)
                paths = [k.image, k.vmlinux, k.system_map]
            else:
                paths = [kernels.build_initramfs()]
        except (kernels.KernelError, guests.GuestBuildError) as e:
            _err("wb guest build", str(e))
            raise typer.Exit(1)
        for p in paths:
            typer.echo(str(p))
        return
    try:
        path = guests.build(name, force=force)
    except guests.GuestBuildError as e:
        _err("wb guest build", str(e))
        raise typer.Exit(1)
    typer.echo(str(path))


# ------------------------------------------------------------------ wb bench


def _bench_sizes(size: Optional[list]) -> dict:
    """``--size WORKLOAD=SIZE`` options as a dict; ValueError names a malformed one.

    >>> _bench_sizes(["zstd=4m", "lua54=20"])
    {'zstd': '4m', 'lua54': '20'}
    """
    sizes = {}
    for s in size or []:
        k, eq, v = s.partition("=")
        if not (k and eq and v):
            raise ValueError(f"--size wants WORKLOAD=SIZE, got {s!r}")
        sizes[k] = v
    return sizes


def _bench_problem(workload: Optional[list] = None, repeat: int = 3, size: Optional[list] = None,
                   client: Optional[list] = None, tier: Optional[list] = None,
                   json_out: Optional[Path] = None, **_) -> Optional[str]:
    """Why ``wb bench`` would refuse these parameters before measuring anything, or None.

    >>> _bench_problem(workload=["zstd"], size=["lua54=20"])
    '--size lua54=...: lua54 is not among the workloads measured (zstd)'
    """
    from . import guests
    from .bench import DEFAULT_WORKLOADS, SYSTEM_WORKLOADS

    workloads = workload or DEFAULT_WORKLOADS
    if repeat < 1:
        return f"--repeat must be at least 1, got {repeat}"
    try:
        sizes = _bench_sizes(size)
    except ValueError as e:
        return str(e)
    for w in (w for w in workloads if w not in SYSTEM_WORKLOADS):
        try:
            guests.split_name(w)
        except guests.UnknownGuestError as e:
            return str(e)
    for w in sizes:
        if w not in workloads and not (w == "lua54" and "linux-lua54" in workloads):   # its script inside Linux
            return f"--size {w}=...: {w} is not among the workloads measured ({', '.join(workloads)})"
    for t in tier or []:
        if t not in TIERS:
            return f"unknown tier {t!r}; choose one of {', '.join(TIERS)}"
    for c in client or []:
        if c not in CLIENTS:
            return f"unknown client {c!r}; built-in clients: {', '.join(CLIENTS)}"
    return _unwritable(json_out, "--json", is_dir=False)


def bench(
    json_out: Annotated[Optional[Path], typer.Option("--json", metavar="FILE", help="Write the table as JSON.")] = None,
    workload: Annotated[Optional[List[str]], typer.Option("--workload", "-w", metavar="NAME", help="Workloads (default: lua54, zstd).")] = None,
    repeat: Annotated[int, typer.Option("--repeat", metavar="N", help="Runs per cell; the median is reported with the min-max range.")] = 3,
    no_qemu: Annotated[bool, typer.Option("--no-qemu", help="Skip the qemu-riscv64 column.")] = False,
    size: Annotated[Optional[List[str]], typer.Option("--size", metavar="WORKLOAD=SIZE", help="Workload size, e.g. zstd=64m or lua54=600.")] = None,
    client: Annotated[Optional[List[str]], typer.Option("--client", "-c", metavar="NAME", help=f"Client rows on the JIT (default: null, memtrace); any of {', '.join(CLIENTS)}.")] = None,
    tier: Annotated[Optional[List[str]], typer.Option("--tier", "-t", metavar="TIER", help=f"Engine tiers to measure: {', '.join(TIERS)} (default: all there are; the client rows need jit).")] = None,
    startup: Annotated[bool, typer.Option("--startup/--no-startup", help="Add the start-up rows: wb run against wbrun on a trivial program.")] = True,
    client_paths: Annotated[bool, typer.Option("--client-paths", help="Also time each client (-c) three ways as processes: wbrun -c, wb run --client, wb run --client --events.")] = False,
):
    """Benchmark the engine against native code and qemu-riscv64, side by side in one run.

    Every configuration runs once per round and the rounds repeat (--repeat), so drift of the
    machine affects all of them alike. A ratio is shown with its range over the repeats; a
    goal whose ratio is below 1 or whose range reaches 1 is marked noise, not met. The
    profilers' overhead table (barrier pointers at their production setting against bursty
    tracing, as in the paper): wb bench -w heads -w zstd -w lua54 -w brotli -t jit -c barrier -c bursty
    """
    problem = _bench_problem(workload=workload, repeat=repeat, size=size, client=client,
                             tier=tier, json_out=json_out)
    if problem:
        _err("wb bench", problem)
        raise typer.Exit(2)
    import json

    from .bench import print_table, run_bench
    from .errors import WorkbenchError

    try:
        rows = run_bench(workloads=workload or None, repeat=repeat, qemu=not no_qemu,
                         sizes=_bench_sizes(size), clients=client or None, tiers=tier or None,
                         startup=startup)
        if client_paths:
            from .bench import DEFAULT_CLIENTS, DEFAULT_WORKLOADS, client_path_rows, startup_rows

            # start-up once for every path row (their net ratios subtract it)
            start = [r for r in rows if r["workload"] == "start-up"]
            if not start:
                start = startup_rows()
                rows += start
            over = next((r["over_wbrun"] for r in start if r["config"] == "wb run"), None)
            for w in workload or DEFAULT_WORKLOADS:
                for c in client or DEFAULT_CLIENTS:
                    rows += client_path_rows(w, c, repeat=repeat, size=_bench_sizes(size).get(w),
                                             startup=over)
    except WorkbenchError as e:     # a guest that does not build, a tier this host lacks
        _err("wb bench", str(e))
        raise typer.Exit(1)
    print_table(rows)
    if json_out:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")


# ------------------------------------------------------------------ wb reproduce


def _console():
    """A rich Console for tables: the terminal's width, or 100 columns in a pipe or a log
    (where rich would squeeze tables into 80) unless COLUMNS says otherwise."""
    from rich.console import Console

    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(width=100)


def _study_table(name: str, df) -> None:
    """Print a study's summary DataFrame as a rich table (long cells wrap, none is cut)."""
    from rich.table import Table

    t = Table(title=f"wb reproduce: {name}")
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
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
    _console().print(t)


def _markdown(df) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(
            ("-" if v != v else f"{v:.3f}") if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


#: a dask scheduler address: [protocol://]host:port (an IPv6 host in brackets)
_SCHEDULER = re.compile(r"(\w+://)?(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):[0-9]{1,5}")


def _reproduce_problem(study: Optional[list] = None, scale: str = "small",
                       out: Path = Path("results"), sweeps: Optional[Path] = None,
                       scheduler: Optional[str] = None, **_) -> Optional[str]:
    """Why ``wb reproduce`` would refuse these parameters before running a study, or None.

    >>> _reproduce_problem(scale="medium")
    "unknown scale 'medium'; choose one of small, paper"
    """
    from . import studies

    unknown = [n for n in study or [] if n not in studies.STUDIES]
    if unknown:
        return (f"unknown study {', '.join(map(repr, unknown))}; known studies: "
                f"{', '.join(studies.STUDIES)}")
    if scale not in studies.SCALES:
        return f"unknown scale {scale!r}; choose one of {', '.join(studies.SCALES)}"
    if scheduler is not None and not _SCHEDULER.fullmatch(scheduler):
        return (f"--scheduler {scheduler}: not a dask scheduler address "
                f"(PROTOCOL://HOST:PORT, e.g. tcp://127.0.0.1:8786)")
    return _unwritable(out, "--out", is_dir=True) or _unwritable(sweeps, "--sweeps", is_dir=True)


def reproduce(
    study: Annotated[Optional[List[str]], typer.Argument(metavar="STUDY", show_default=False, hidden=True)] = None,
    scale: Annotated[str, typer.Option("--scale", metavar="SCALE", help="small (minutes) or paper (the full grid).")] = "small",
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Output directory.")] = Path("results"),
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="dask scheduler address (default: a local cluster).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Measure again instead of reusing finished points.")] = False,
    sweeps: Annotated[Optional[Path], typer.Option("--sweeps", metavar="DIR", help="Directory of the sweep stores (default: the workbench cache).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    compare: Annotated[Optional[Path], typer.Option("--compare", metavar="DIR", help="Compare each result with the reference DIR/STUDY-SCALE.nc (e.g. datasets) and print where it differs beyond noise.")] = None,
):
    """Run the studies: each one's Dataset goes to OUT/STUDY.zarr and .nc, its table is
    printed (and written to OUT/STUDY.md), and an HTML report is written to OUT.

    STUDY is one of engine, barrier, watchpoints, aikido (default: all of them). Example: wb reproduce engine
    --scale small --out results. The repository's reference results are in datasets/ (made
    with --scale paper --out datasets); --compare datasets shows where a run departs from them.
    """
    problem = _reproduce_problem(study=study, scale=scale, out=out, sweeps=sweeps,
                                 scheduler=scheduler)
    if problem is None and compare is not None and not compare.is_dir():
        problem = f"--compare {compare}: not a directory"
    if problem:
        _err("wb reproduce", problem)
        raise typer.Exit(2)
    from . import store, studies
    from .errors import WorkbenchError

    names = list(study or studies.STUDIES)
    out.mkdir(parents=True, exist_ok=True)
    datasets = {}
    for name in names:
        mod = studies.get(name)
        try:
            sweep_store = mod.default_store(scale, base=sweeps)
            ds = mod.run(scale, store=sweep_store, scheduler=scheduler, progress=progress, fresh=fresh)
        except (WorkbenchError, OSError) as e:  # a guest that does not build, no scheduler
            _err("wb reproduce", f"{name}: {e}")
            raise typer.Exit(1)
        datasets[name] = ds
        store.save(ds, out / f"{name}.zarr")
        store.save(ds, out / f"{name}.nc")
        if hasattr(mod, "summary"):
            df = mod.summary(ds)
            _study_table(name, df)
            (out / f"{name}.md").write_text(_markdown(df))
        typer.echo(f"wrote {out / (name + '.zarr')} and {out / (name + '.nc')}")
        if compare is not None:
            _compare_with_reference(name, scale, ds, compare)
    try:
        from .report import write_report
    except ImportError as e:
        _err("wb reproduce", f"warning: no HTML report (workbench.report is not available: {e})")
        return
    report = write_report(datasets, out)
    typer.echo(f"wrote {report}")


def _compare_with_reference(name: str, scale: str, ds, directory: Path) -> None:
    """Print where ``ds`` differs from the reference result of study ``name`` beyond noise."""
    from . import reference

    ref_path = reference.path(name, scale, directory)
    if not ref_path.exists():
        typer.echo(f"compare {name}: no reference at {ref_path} (references: "
                   f"{', '.join(p.name for p in sorted(directory.glob('*.nc'))) or 'none'})")
        return
    ref = reference.load(name, scale, directory)
    diff = reference.compare(ds, ref)
    when = ref.attrs.get("measured_to") or "?"
    if diff.empty:
        typer.echo(f"compare {name}: the same as {ref_path} (measured {when}) within noise")
        return
    typer.echo(f"compare {name}: {len(diff)} cells differ from {ref_path} (measured {when}) beyond noise")
    _console().print(diff.to_string(index=False), highlight=False)


# ------------------------------------------------------------------ wb lab


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


def lab(port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1.")] = 8888,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False):
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


# ------------------------------------------------------------------ wb boot


def _boot_problem(firmware: Optional[Path] = None, kernel: Optional[Path] = None,
                  initrd: Optional[Path] = None, ram_mb: int = 256, json_out: Optional[Path] = None,
                  tier: Optional[str] = None, harts: int = 1, disk: Optional[Path] = None,
                  **_) -> Optional[str]:
    """Why ``wb boot`` would refuse its options, or None.

    >>> _boot_problem(ram_mb=7)
    '--ram-mb must be an even number from 16 to 2048, got 7'
    """
    for opt, p in (("--firmware", firmware), ("--kernel", kernel), ("--initrd", initrd), ("--disk", disk)):
        if p is not None and not Path(p).is_file():
            return f"{opt} {p}: no such file"
    if not 1 <= harts <= 8:
        return f"--harts must be 1 to 8, got {harts}"
    if not (16 <= ram_mb <= 2048) or ram_mb % 2:
        return f"--ram-mb must be an even number from 16 to 2048, got {ram_mb}"
    if tier is not None and tier not in TIERS:
        return f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}"
    return _unwritable(json_out, "--json", is_dir=False)


def boot(
    firmware: Annotated[Optional[Path], typer.Option("--firmware", metavar="FILE", help="M-mode firmware (default: Debian's OpenSBI fw_jump.bin).")] = None,
    kernel: Annotated[Optional[Path], typer.Option("--kernel", metavar="FILE", help="Kernel Image or ELF (default: our Linux 6.1, built and cached on first use).")] = None,
    initrd: Annotated[Optional[Path], typer.Option("--initrd", metavar="FILE", help="newc cpio initramfs (default: our init with lua54 and zstd, when the kernel is ours).")] = None,
    append: Annotated[Optional[str], typer.Option("--append", metavar="ARGS", help="Kernel command line.")] = None,
    ram_mb: Annotated[int, typer.Option("--ram-mb", metavar="MIB", help="RAM size in MiB (even, 16..2048).")] = 256,
    harts: Annotated[int, typer.Option("--harts", metavar="N", help="Harts (1..8), run in turn on one host thread.")] = 1,
    disk: Annotated[Optional[Path], typer.Option("--disk", metavar="FILE", help="Raw disk image for the virtio block device (/dev/vda), read and written.")] = None,
    tier: Annotated[Optional[str], typer.Option("--tier", metavar="TIER", help=f"Execution tier: {' or '.join(TIERS)} (default: jit where the host has it).")] = None,
    max_insns: Annotated[Optional[int], typer.Option("--max-insns", metavar="N", help="Instruction budget.")] = None,
    wall_limit: Annotated[Optional[float], typer.Option("--wall-limit", metavar="SECONDS", help="Wall-clock limit in seconds.")] = 600.0,
    nondeterministic: Annotated[bool, typer.Option("--nondeterministic", help="Device time follows the host clock instead of the instruction count.")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", metavar="FILE", help="Write the boot's stats to this JSON file.")] = None,
):
    """Boot the virt board: firmware, then the kernel with its initramfs; the console goes to
    stdout as it comes.

    Exit status: the code the guest powered off with (0 for a plain poweroff); 125 when the
    boot ended another way (a kernel panic, a reboot, a limit: the reason is printed on
    stderr); 2 for bad input; 1 when building the default kernel fails.
    """
    problem = _boot_problem(firmware=firmware, kernel=kernel, initrd=initrd, ram_mb=ram_mb,
                            json_out=json_out, tier=tier, harts=harts, disk=disk)
    if problem:
        _err("wb boot", problem)
        raise typer.Exit(2)
    raise typer.Exit(_boot(firmware, kernel, initrd, append, ram_mb, max_insns, wall_limit,
                           nondeterministic, json_out, tier, harts, disk))


def _boot(firmware, kernel, initrd, append, ram_mb, max_insns, wall_limit, nondeterministic,
          json_out, tier=None, harts=1, disk=None) -> int:
    from . import kernels
    from .errors import WorkbenchError
    from .guests import GuestBuildError
    from .system import System

    try:
        if kernel is None:
            kernel = kernels.build_linux().image
            if initrd is None:
                initrd = kernels.build_initramfs()
        if append is None:
            append = kernels.DEFAULT_APPEND if initrd is not None else ""
        sys.stdout.flush()
        b = System(firmware or kernels.OPENSBI_FW_JUMP, kernel=kernel, initrd=initrd,
                   bootargs=append, ram_mb=ram_mb, tier=tier, deterministic=not nondeterministic,
                   harts=harts, disk=disk).boot(
            max_insns=max_insns, wall_limit=wall_limit, console_fd=sys.stdout.fileno())
    except (kernels.KernelError, GuestBuildError) as e:
        _err("wb boot", str(e))
        return 1
    except WorkbenchError as e:
        _err("wb boot", str(e))
        return 2
    except KeyboardInterrupt:
        _err("wb boot", "interrupted")
        return 130
    _err("wb boot", f"{b.instructions:,} instructions, {b.interrupts:,} interrupts in {b.seconds:.2f} s "
                    f"({b.mips:.0f} MIPS)")
    if json_out:
        import json

        stats = {k: getattr(b, k) for k in ("reason", "exit_code", "message", "power", "instructions",
                                            "interrupts", "seconds", "blocks_translated")}
        stats.update(panic=b.panic, config=b.config)
        try:
            json_out.write_text(json.dumps(stats, indent=2, default=str) + "\n")
        except OSError as e:
            _err("wb boot", f"cannot write the results: {e}")
            return 2
    if b.reason == "exit" and b.power == "off" and not b.panic:
        return b.exit_code & 0xFF
    _err("wb boot", b.summary)
    return 125


# ------------------------------------------------------------------ the app

#: the checks each command makes before it does any work, by command path: the docs test
#: (tests/test_docs_commands.py) runs them on every command line the documentation shows
PREFLIGHT = {("run",): _run_problem, ("guest", "build"): _guest_problem,
             ("bench",): _bench_problem, ("reproduce",): _reproduce_problem,
             ("boot",): _boot_problem}


def _build_app():
    """The typer app (imports typer and binds it as this module's ``typer``, which the command
    signatures above name in string annotations)."""
    global typer
    import typer

    # plain help (no rich panels): no type tags such as <bool>, and the same text in a pipe
    settings = dict(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                    pretty_exceptions_enable=False)
    app = typer.Typer(help="Dynamic program analysis workbench on a RISC-V engine.", **settings)
    guest_app = typer.Typer(help="Guest programs: list them, build one.", **settings)
    # options before the program; the rest (options included) is the guest's
    app.command(short_help="Run a RISC-V program on the engine.",
                context_settings={"allow_interspersed_args": False,
                                  "ignore_unknown_options": True})(run)
    guest_app.command("list")(guest_list)
    guest_app.command("build")(guest_build)
    app.add_typer(guest_app, name="guest")
    app.command(short_help="Boot the RISC-V virt board: OpenSBI, Linux, our init.")(boot)
    app.command(short_help="Benchmark the engine against native code and qemu.")(bench)
    app.command(short_help="Run the studies; write their data, tables and report.")(reproduce)
    app.command(short_help="Start JupyterLab on notebooks/ (127.0.0.1 only).")(lab)
    return app


_APP = None


def __getattr__(name):
    # `from workbench.cli import app` builds the typer app on first use (PEP 562)
    global _APP
    if name == "app":
        if _APP is None:
            _APP = _build_app()
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Optional[list] = None) -> None:
    """The ``wb`` entry point: a well-formed ``wb run ...`` or ``wb guest list`` runs without
    typer (see the module docstring); every other command line goes to the typer app."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        opts = _fast_run(argv[1:])
        if opts is not None:
            sys.exit(_run_program(opts.pop("elf"), opts.pop("args"), **opts))
    elif argv == ["guest", "list"]:
        sys.exit(_guest_list())
    __getattr__("app")(argv, prog_name="wb")


if __name__ == "__main__":
    main()
