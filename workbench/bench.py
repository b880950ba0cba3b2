"""``wb bench``: the engine's speed, measured side by side with native code and qemu-riscv64.

For each workload, in one process and one sitting: the program built natively for the host,
the RISC-V build under ``qemu-riscv64`` (user mode, TCG), the same RISC-V build on each
engine tier, and on the JIT with analysis clients (``jit+null``: the instrumentation API with
an empty client; ``jit+memtrace``: one record per guest memory access, handed to a callback
that only counts them). Every cell is the median of ``repeat`` runs; every run's output is
checked against the native run's (a benchmark of a wrong answer is worthless). Native and qemu
are timed as whole processes (their start-up is a few ms, negligible at these sizes); engine
runs are timed inside ``wb_machine_run`` (``seconds``: load, set-up and Python's draining of
records excluded) and as the whole ``Machine.run`` call (``wall_seconds``).

>>> rows = run_bench(workloads=["zstd"], repeat=1)  # doctest: +SKIP
>>> [r["config"] for r in rows]  # doctest: +SKIP
['native', 'qemu', 'interp', 'jit', 'jit+null', 'jit+memtrace']
"""
from __future__ import annotations

import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from . import guests
from .machine import Machine, available_tiers

DEFAULT_WORKLOADS = ["lua54", "zstd"]
#: the tier the client rows run on, and that their ``vs_jit`` is relative to
CLIENT_TIER = "jit"
#: clients measured on the JIT by default (rows "jit+null", "jit+memtrace")
DEFAULT_CLIENTS = ["null", "memtrace"]
#: the project's speed goals: config -> (ratio field, upper bound)
GOALS = {"jit": ("ratio_native", 2.0), "jit+null": ("vs_jit", 1.03),
         "jit+memtrace": ("vs_jit", 3.0),
         # the barrier profiler at its production setting (docs/barrier_profiler.md: the
         # paper reports 1.3% on average)
         "jit+barrier": ("vs_jit", 1.013)}
_GOAL_LABEL = {"ratio_native": "x native", "vs_jit": "x jit"}


def _time_process(cmd: list[str], cwd: Path) -> tuple[float, bytes, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t0, p.stdout, p.returncode


class RecordCounter:
    """An ``on_records`` callback that counts the records of each stream and keeps none.

    >>> n = RecordCounter()
    >>> run = Machine(clients=["memtrace"]).run("zstd", ["64k"], on_records=n)  # doctest: +SKIP
    >>> n.total > 0  # doctest: +SKIP
    True
    """

    def __init__(self):
        self.counts: dict[str, int] = {}

    def __call__(self, stream: str, records) -> None:
        self.counts[stream] = self.counts.get(stream, 0) + len(records)

    @property
    def total(self) -> int:
        """Records seen over all streams."""
        return sum(self.counts.values())


def _engine_once(m: Machine, elf: Path, args: list[str], w: str, clients: list[str]):
    """One run of the RISC-V build: (result, wall seconds of the call, records counted)."""
    counter = RecordCounter()
    t0 = time.perf_counter()
    r = m.run(elf, args, capture=True, argv0=w, on_records=counter if clients else None)
    return r, time.perf_counter() - t0, counter.total


def _engine_cell(runs: list, ref_out: bytes, clients: list[str]) -> dict:
    """A cell's medians and checks from its runs (``_engine_once`` results)."""
    events = [e for _, _, e in runs]
    return {"seconds": statistics.median(r.seconds for r, _, _ in runs),
            "wall_seconds": statistics.median(t for _, t, _ in runs),
            # deterministic runs: every repeat must give the same output and the same events
            "output_ok": all(r.ok and r.stdout == ref_out for r, _, _ in runs)
            and len(set(events)) == 1,
            "instructions": runs[0][0].instructions,
            "events": events[0] if clients else None}


def _goal(cfg: str, row: dict) -> tuple[str | None, bool | None]:
    """(goal as text, whether this row meets it) for configs that have a goal."""
    if cfg not in GOALS:
        return None, None
    field, bound = GOALS[cfg]
    v = row.get(field)
    return f"{_GOAL_LABEL[field]} <= {bound:g}", (None if v is None else v <= bound)


def run_bench(workloads: list[str] | None = None, repeat: int = 3, qemu: bool = True,
              tiers: list[str] | None = None, progress: bool = True,
              sizes: dict | None = None, clients: list[str] | None = None) -> list[dict]:
    """Measure every workload under every configuration; one dict per (workload, config).

    Configs: ``native``, ``qemu`` (when installed and ``qemu=True``), each engine tier, then
    ``jit+CLIENT`` for each of ``clients`` (default :data:`DEFAULT_CLIENTS`; run only when the
    JIT is among ``tiers``; ``clients=[]`` for none). Columns: ``workload``, ``config``,
    ``seconds`` (median; engine: inside the run), ``wall_seconds`` (engine rows: median of the
    whole ``Machine.run`` call, drains included; None for native and qemu, whose ``seconds``
    already is a process's wall time), ``ratio_native`` / ``ratio_qemu`` (time / native or qemu
    time), ``vs_jit`` (time / plain JIT time; for ``jit`` and the client rows),
    ``guest_mips`` (RISC-V instructions per µs; for qemu, the engine's count of the same
    run), ``instructions``, ``events`` (client records counted; client rows only),
    ``goal`` / ``goal_met`` (the project's goal for this config, :data:`GOALS`), ``output_ok``.

    >>> rows = run_bench(["zstd"], repeat=1, sizes={"zstd": "1m"}, progress=False)  # doctest: +SKIP
    >>> next(r for r in rows if r["config"] == "jit+memtrace")["events"] > 0  # doctest: +SKIP
    True
    """
    workloads = workloads or DEFAULT_WORKLOADS
    tiers = tiers or available_tiers()
    clients = DEFAULT_CLIENTS if clients is None else list(clients)
    client_tier = CLIENT_TIER if CLIENT_TIER in tiers else None
    qemu_bin = shutil.which("qemu-riscv64") if qemu else None
    rows = []
    for w in workloads:
        args, root = guests.workload(w, (sizes or {}).get(w))
        native = guests.build_native(w)
        elf = guests.build(w)

        def say(msg):
            if progress:
                print(f"[bench] {w}: {msg}", flush=True)

        # every configuration once per round, rounds repeated: slow drift of the machine
        # (frequency, neighbours) then affects all configurations alike, so ratios hold up
        configs = [("native", None, None), *([("qemu", None, None)] if qemu_bin else []),
                   *[(t, t, []) for t in tiers],
                   *[(f"{client_tier}+{c}", client_tier, [c]) for c in (clients if client_tier else [])]]
        machines = {cfg: Machine(tier=t, root=root, clients=cl) for cfg, t, cl in configs if t}
        runs: dict[str, list] = {cfg: [] for cfg, _, _ in configs}
        for k in range(repeat):
            say(f"round {k + 1}/{repeat}: " + ", ".join(cfg for cfg, _, _ in configs))
            for cfg, t, cl in configs:
                if cfg == "native":
                    runs[cfg].append(_time_process([str(native)] + args, root))
                elif cfg == "qemu":
                    runs[cfg].append(_time_process([qemu_bin, str(elf)] + args, root))
                else:
                    runs[cfg].append(_engine_once(machines[cfg], elf, args, w, cl))
        ref_out = runs["native"][0][1]
        cells: dict[str, dict] = {}
        for cfg, t, cl in configs:
            if t is None:
                cells[cfg] = {"seconds": statistics.median(r[0] for r in runs[cfg]),
                              "output_ok": all(r[1] == ref_out and r[2] == 0 for r in runs[cfg])}
            else:
                cells[cfg] = _engine_cell(runs[cfg], ref_out, cl)
        insns = next((c["instructions"] for c in cells.values() if c.get("instructions")), None)
        nat = cells["native"]["seconds"]
        q = cells.get("qemu", {}).get("seconds")
        jit = cells[client_tier]["seconds"] if client_tier else None
        for cfg, c in cells.items():
            row = {
                "workload": w, "config": cfg, "seconds": c["seconds"],
                "wall_seconds": c.get("wall_seconds"),
                "ratio_native": c["seconds"] / nat if nat else None,
                "ratio_qemu": c["seconds"] / q if q else None,
                "vs_jit": (c["seconds"] / jit if jit and (cfg == client_tier
                                                         or cfg.startswith(f"{client_tier}+"))
                           else None),
                "instructions": insns if cfg != "native" else None,
                "guest_mips": (insns / c["seconds"] / 1e6) if (insns and cfg != "native") else None,
                "events": c.get("events"),
                "output_ok": c["output_ok"], "repeat": repeat,
                "host": platform.processor() or platform.machine(),
            }
            row["goal"], row["goal_met"] = _goal(cfg, row)
            rows.append(row)
    return rows


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def _goal_cell(r: dict, rich: bool = False) -> str:
    if not r.get("goal"):
        return "-"
    met = r.get("goal_met")
    verdict = "?" if met is None else "met" if met else ("[red]missed[/red]" if rich else "missed")
    return f"{r['goal']}: {verdict}"


COLUMNS = ["workload", "config", "seconds", "wall s", "x native", "x qemu", "x jit",
           "guest MIPS", "events", "goal", "output ok"]


def _cells(r: dict, rich: bool = False) -> list[str]:
    ok = "yes" if r["output_ok"] else ("[red]NO[/red]" if rich else "NO")
    return [r["workload"], r["config"], f"{r['seconds']:.3f}", _fmt(r.get("wall_seconds"), ".3f"),
            _fmt(r["ratio_native"], ".2f"), _fmt(r["ratio_qemu"], ".2f"),
            _fmt(r.get("vs_jit"), ".2f"), _fmt(r["guest_mips"], ".0f"),
            _fmt(r.get("events"), ","), _goal_cell(r, rich), ok]


def table_markdown(rows: list[dict]) -> str:
    """The bench table as Markdown (what goes into issue notes and reports).

    >>> print(table_markdown(run_bench(["zstd"], repeat=1, progress=False)))  # doctest: +SKIP
    | workload | config | seconds | wall s | x native | x qemu | x jit | guest MIPS | events | goal | output ok |
    ...
    """
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|---|---|" + "---:|" * 7 + "---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(_cells(r)) + " |")
    return "\n".join(lines) + "\n"


def print_table(rows: list[dict]) -> None:
    """Print the bench table with rich.

    >>> print_table(run_bench(["zstd"], repeat=1, progress=False))  # doctest: +SKIP
    """
    from rich.console import Console
    from rich.table import Table

    t = Table(*COLUMNS, title="wb bench (median of runs; ratios measured in this run)")
    for r in rows:
        t.add_row(*_cells(r, rich=True))
    console = Console()
    if not console.is_terminal:  # a pipe or a log file: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 160))
    console.print(t)
