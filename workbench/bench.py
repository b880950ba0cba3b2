"""``wb bench``: the engine's speed, measured side by side with native code and qemu-riscv64.

For each workload, in one process and one sitting: the program built natively for the host,
the RISC-V build under ``qemu-riscv64`` (user mode, TCG), the same RISC-V build on each
engine tier, and on the JIT with analysis clients (``jit+null``: the instrumentation API with
an empty client; ``jit+memtrace``: one record per guest memory access, handed to a callback
that only counts them). Every cell is the median of ``repeat`` runs, with the min-max range
beside it; every run's output is checked against the native run's (a benchmark of a wrong
answer is worthless). Native and qemu are timed as whole processes (their start-up is a few
ms, negligible at these sizes); engine runs are timed inside ``wb_machine_run`` (``seconds``:
load, set-up and Python's draining of records excluded) and as the whole ``Machine.run`` call
(``wall_seconds``).

Ratios and goals. A ratio (``x native``, ``x qemu``, ``x jit``) is the median time over the
reference's median; its range runs from the fastest run over the reference's slowest to the
slowest over the reference's fastest. A goal (:data:`GOALS`) is judged *noise* rather than met
or missed when the ratio is below 1 or its range reaches 1 (the repeats of the row and of its
reference overlap): the difference is then within run-to-run noise, and no verdict holds.

Start-up rows (``startup=True``; ``wb bench`` adds them unless ``--no-startup``): ``wb run``
against the engine's own runner ``wbrun`` on a three-instruction program, each launched
:data:`STARTUP_RUNS` times in alternation; each row reports the minimum, as hyperfine does.

>>> rows = run_bench(workloads=["zstd"], repeat=1)  # doctest: +SKIP
>>> [r["config"] for r in rows]  # doctest: +SKIP
['native', 'qemu', 'interp', 'jit', 'jit+null', 'jit+memtrace']
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import guests
from .machine import Machine, available_tiers, client_settings

DEFAULT_WORKLOADS = ["lua54", "zstd"]
#: the tier the client rows run on, and that their ``vs_jit`` is relative to
CLIENT_TIER = "jit"
#: clients measured on the JIT by default (rows "jit+null", "jit+memtrace")
DEFAULT_CLIENTS = ["null", "memtrace"]
#: the project's speed goals: config -> (field, upper bound)
GOALS = {"jit": ("ratio_native", 2.0), "jit+null": ("vs_jit", 1.03),
         "jit+memtrace": ("vs_jit", 3.0),
         # the barrier profiler at its production setting (docs/barrier_profiler.md: the
         # paper reports 1.3% on average)
         "jit+barrier": ("vs_jit", 1.013),
         # start-up: `wb run` within 0.1 s of the engine's own runner
         "wb run": ("over_wbrun", 0.1),
         # a client through the CLI costs what it costs in wbrun, plus start-up (and, with
         # --events, plus writing the stores' bytes at the disk's speed)
         "wb run --client": ("vs_wbrun", 1.2), "wb run --events": ("vs_wbrun", 1.5)}
#: multithreaded workloads: the argument that sets how many threads work (its index in the
#: workload's arguments); they get two more rows: "jit deterministic" (the reproducible
#: schedule) and "jit 1 thread" (the same run with one working thread)
THREAD_ARG = {"zstd-mt": 2, "blosc": 1}
#: their goals (the issue's: two zstd workers in parallel take <= 0.6x one worker's time, and
#: <= 0.5x qemu's, which the ratio_qemu column shows)
THREADED_GOALS = {"jit": ("vs_one_thread", 0.6)}
#: system-mode workloads (no native build): the board boots Linux to our init and powers
#: off, on qemu-system-riscv64 and on each engine tier that has system mode; the goal is the
#: issue's (boot in <= 0.5x qemu's wall time)
SYSTEM_WORKLOADS = ("linux-boot", "linux-lua54")
SYSTEM_TIERS = ("interp", "jit")
SYSTEM_GOALS = {"jit": ("ratio_qemu", 0.5),   # the default tier of system mode
                "jit in linux": ("vs_user", 1.5)}
_GOAL_TEXT = {"vs_user": "x user mode <= {:g}", "ratio_native": "x native <= {:g}", "vs_jit": "x jit <= {:g}", "ratio_qemu": "x qemu <= {:g}",
              "vs_one_thread": "x 1 thread <= {:g}",
              "over_wbrun": "<= wbrun + {:g} s", "vs_wbrun": "x wbrun <= {:g} (net)"}
#: launches of each start-up command (the minimum is reported)
STARTUP_RUNS = 10
#: every row has these keys (None where they do not apply)
ROW_KEYS = ("workload", "config", "seconds", "seconds_min", "seconds_max", "wall_seconds",
            "ratio_native", "ratio_native_range", "ratio_qemu", "ratio_qemu_range",
            "vs_jit", "vs_jit_range", "vs_one_thread", "vs_one_thread_range", "over_wbrun",
            "vs_wbrun", "vs_wbrun_range", "vs_user", "vs_user_range", "bytes_written",
            "instructions", "guest_mips", "events",
            "goal", "goal_verdict", "goal_met", "output_ok", "repeat", "host")


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
    """A cell's times and checks from its runs (``_engine_once`` results)."""
    events = [e for _, _, e in runs]
    return {"times": [r.seconds for r, _, _ in runs],
            "wall_seconds": statistics.median(t for _, t, _ in runs),
            # deterministic runs: every repeat must give the same output and the same events
            "output_ok": all(r.ok and r.stdout == ref_out for r, _, _ in runs)
            and len(set(events)) == 1,
            "instructions": runs[0][0].instructions,
            "events": events[0] if clients else None}


def _ratio(times: list[float], ref: list[float]) -> tuple[float, list[float]]:
    """(median ratio, [lowest, highest] ratio the repeats allow) of ``times`` over ``ref``.

    >>> _ratio([2.0, 3.0, 4.0], [1.0, 1.5, 2.0])
    (2.0, [1.0, 4.0])
    """
    return (statistics.median(times) / statistics.median(ref),
            [min(times) / max(ref), max(times) / min(ref)])


def goal_verdict(field: str, value: float | None, rng: list | None, bound: float) -> str | None:
    """``"met"``, ``"missed"`` or ``"noise"`` for a row's goal (None: not measured).

    A ratio below 1, or one whose range reaches 1 (the row's repeats overlap its
    reference's), is noise: no claim about the goal holds (for a speed-up, ``vs_one_thread``,
    a ratio or range reaching 1 is; ``ratio_qemu``, a goal well below 1, is met or missed by
    its median).

    >>> goal_verdict("vs_jit", 0.57, [0.5, 0.6], 1.03)
    'noise'
    >>> goal_verdict("vs_jit", 1.02, [0.99, 1.05], 1.03)
    'noise'
    >>> goal_verdict("vs_jit", 2.5, [2.4, 2.6], 3.0), goal_verdict("vs_jit", 1.2, [1.1, 1.3], 1.03)
    ('met', 'missed')
    """
    if value is None:
        return None
    if field == "ratio_qemu":
        return "met" if value <= bound else "missed"
    if field == "vs_one_thread":  # a speed-up: noise when the runs could be as slow as one thread's
        return "noise" if value >= 1 or (rng is not None and rng[1] >= 1) else (
            "met" if value <= bound else "missed")
    if field != "over_wbrun" and (value < 1 or (rng is not None and rng[0] <= 1)):
        return "noise"
    return "met" if value <= bound else "missed"


def _row(goals: dict | None = None, **fields) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    row.update(fields)
    cfg = row["config"]
    goals = GOALS if goals is None else goals
    if cfg in goals:
        field, bound = goals[cfg]
        row["goal"] = _GOAL_TEXT[field].format(bound)
        row["goal_verdict"] = goal_verdict(field, row[field], row.get(f"{field}_range"), bound)
        row["goal_met"] = {"met": True, "missed": False}.get(row["goal_verdict"])
    return row


def bench_rows(workload: str, cells: dict, *, client_tier: str | None = CLIENT_TIER,
               host: str | None = None) -> list[dict]:
    """The rows of one workload from its cells' timings (no guest runs: testable alone).

    ``cells`` maps each config (``native`` first, then ``qemu``, the tiers, ``jit+CLIENT``)
    to ``{"times": [seconds per repeat], "output_ok": bool}`` plus, for engine configs,
    ``wall_seconds``, ``instructions`` and ``events``. See :func:`run_bench` for the columns.

    >>> rows = bench_rows("zstd", {"native": {"times": [1.0, 1.1], "output_ok": True},
    ...                            "jit": {"times": [2.0, 2.1], "output_ok": True},
    ...                            "jit+null": {"times": [1.1, 2.2], "output_ok": True}})
    >>> [(r["config"], r["goal_verdict"]) for r in rows]
    [('native', None), ('jit', 'met'), ('jit+null', 'noise')]
    """
    host = host or platform.processor() or platform.machine()
    nat = cells["native"]["times"]
    q = cells.get("qemu", {}).get("times")
    jit = cells[client_tier]["times"] if client_tier in cells else None
    one = cells.get(f"{client_tier} 1 thread", {}).get("times")
    insns = next((c["instructions"] for c in cells.values() if c.get("instructions")), None)
    rows = []
    for cfg, c in cells.items():
        ts = c["times"]
        sec = statistics.median(ts)
        f = {"workload": workload, "config": cfg, "seconds": sec, "seconds_min": min(ts),
             "seconds_max": max(ts), "wall_seconds": c.get("wall_seconds"),
             "events": c.get("events"), "output_ok": c["output_ok"], "repeat": len(ts),
             "host": host}
        if cfg == "native":
            f["ratio_native"] = 1.0
        else:
            f["ratio_native"], f["ratio_native_range"] = _ratio(ts, nat)
            f["instructions"] = insns
            f["guest_mips"] = insns / sec / 1e6 if insns else None
        if q is not None:
            if cfg == "qemu":
                f["ratio_qemu"] = 1.0
            else:
                f["ratio_qemu"], f["ratio_qemu_range"] = _ratio(ts, q)
        if jit is not None and cfg == client_tier:
            f["vs_jit"] = 1.0
        elif jit is not None and cfg.startswith((f"{client_tier}+", f"{client_tier} ")):
            f["vs_jit"], f["vs_jit_range"] = _ratio(ts, jit)
        if one is not None and cfg == client_tier:
            f["vs_one_thread"], f["vs_one_thread_range"] = _ratio(ts, one)
        rows.append(_row(THREADED_GOALS if one is not None else None, **f))
    return rows


def run_bench(workloads: list[str] | None = None, repeat: int = 3, qemu: bool = True,
              tiers: list[str] | None = None, progress: bool = True,
              sizes: dict | None = None, clients: list[str] | None = None,
              startup: bool = False) -> list[dict]:
    """Measure every workload under every configuration; one dict per (workload, config).

    Configs: ``native``, ``qemu`` (when installed and ``qemu=True``), each engine tier, then
    ``jit+CLIENT`` for each of ``clients`` (default :data:`DEFAULT_CLIENTS`; run only when the
    JIT is among ``tiers``; ``clients=[]`` for none); with ``startup=True``, then the
    start-up rows (:func:`startup_rows`). Every row has the keys :data:`ROW_KEYS`:
    ``seconds`` (median; engine: inside the run) with ``seconds_min`` / ``seconds_max``,
    ``wall_seconds`` (engine rows: median of the whole ``Machine.run`` call, drains included;
    None for native and qemu, whose ``seconds`` already is a process's wall time),
    ``ratio_native`` / ``ratio_qemu`` (time / native or qemu time), ``vs_jit`` (time / plain
    JIT time; for ``jit`` and the client rows), each with its ``*_range`` [low, high] over the
    repeats, ``guest_mips`` (RISC-V instructions per µs; for qemu, the engine's count of the
    same run), ``instructions``, ``events`` (client records counted; client rows only),
    ``goal`` / ``goal_verdict`` (met, missed or noise: :func:`goal_verdict`) / ``goal_met``
    (True, False, or None for noise), ``output_ok``.

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
    for w in [w for w in workloads if w in SYSTEM_WORKLOADS]:
        if w == "linux-boot":
            rows += boot_rows(repeat=repeat, qemu=qemu, progress=progress)
        else:
            rows += lua_in_linux_rows(size=(sizes or {}).get("lua54"), repeat=repeat, progress=progress)
    for w in [w for w in workloads if w not in SYSTEM_WORKLOADS]:
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
        threaded = w.split("-glibc")[0] in THREAD_ARG and client_tier
        if threaded:  # the reproducible schedule, and one working thread
            configs += [(f"{client_tier} deterministic", client_tier, []),
                        (f"{client_tier} 1 thread", client_tier, [])]
        machines = {cfg: Machine(tier=t, root=root, clients=cl, **client_settings(cl),
                                 schedule="deterministic" if cfg.endswith("deterministic") else "parallel")
                    for cfg, t, cl in configs if t}
        one_args = list(args)
        if threaded:
            one_args[THREAD_ARG[w.split("-glibc")[0]]] = "1"
        runs: dict[str, list] = {cfg: [] for cfg, _, _ in configs}
        for k in range(repeat):
            say(f"round {k + 1}/{repeat}: " + ", ".join(cfg for cfg, _, _ in configs))
            for cfg, t, cl in configs:
                if cfg == "native":
                    runs[cfg].append(_time_process([str(native)] + args, root))
                elif cfg == "qemu":
                    runs[cfg].append(_time_process([qemu_bin, str(elf)] + args, root))
                else:
                    runs[cfg].append(_engine_once(machines[cfg], elf,
                                                  one_args if cfg.endswith("1 thread") else args, w, cl))
        ref_out = runs["native"][0][1]
        one_out = runs[f"{client_tier} 1 thread"][0][0].stdout if threaded else None
        cells: dict[str, dict] = {}
        for cfg, t, cl in configs:
            if cfg.endswith("1 thread"):
                # its output differs from the others' only in the thread count it reports
                cells[cfg] = _engine_cell(runs[cfg], one_out, cl)
            elif t is None:
                cells[cfg] = {"times": [r[0] for r in runs[cfg]],
                              "output_ok": all(r[1] == ref_out and r[2] == 0 for r in runs[cfg])}
            else:
                cells[cfg] = _engine_cell(runs[cfg], ref_out, cl)
        rows += bench_rows(w, cells, client_tier=client_tier)
    if startup:
        rows += startup_rows(progress=progress)
    return rows


# ------------------------------------------------------------------ system mode


def boot_rows(repeat: int = 3, qemu: bool = True, progress: bool = True) -> list[dict]:
    """The ``linux-boot`` rows: OpenSBI + our Linux + our initramfs booted to poweroff on
    ``qemu-system-riscv64`` (when installed and ``qemu``) and on the engine's system mode, in
    alternating rounds. ``seconds`` is each boot's wall time (the engine's includes loading the
    images); ``output_ok`` says the boot reached ``wb-init: done`` and powered off."""
    from . import kernels
    from .system import System

    image, rd = kernels.build_linux(quiet=not progress).image, kernels.build_initramfs()
    have_qemu = qemu and shutil.which(kernels.QEMU_SYSTEM) is not None
    configs = [*(["qemu"] if have_qemu else []), *SYSTEM_TIERS]
    runs: dict[str, list] = {c: [] for c in configs}
    for k in range(repeat):
        if progress:
            print(f"[bench] linux-boot: round {k + 1}/{repeat}: " + ", ".join(configs), flush=True)
        for cfg in configs:
            t0 = time.perf_counter()
            if cfg == "qemu":
                q = kernels.boot_qemu(image, rd, timeout=600)
                runs[cfg].append((time.perf_counter() - t0, q.powered_off and "wb-init: done" in q.console, None))
            else:
                b = System(kernels.OPENSBI_FW_JUMP, kernel=image, initrd=rd, bootargs=kernels.DEFAULT_APPEND,
                           tier=cfg).boot(wall_limit=600)
                runs[cfg].append((time.perf_counter() - t0, b.ok and "wb-init: done" in b.console, b.instructions))
    host = platform.processor() or platform.machine()
    q = [t for t, _, _ in runs.get("qemu", [])] or None
    rows = []
    for cfg in configs:
        ts = [t for t, _, _ in runs[cfg]]
        sec = statistics.median(ts)
        insns = next((n for _, _, n in runs[cfg] if n), None)
        f = {"workload": "linux-boot", "config": "qemu-system" if cfg == "qemu" else cfg, "seconds": sec,
             "seconds_min": min(ts), "seconds_max": max(ts), "output_ok": all(ok for _, ok, _ in runs[cfg]),
             "repeat": len(ts), "host": host, "instructions": insns,
             "guest_mips": insns / sec / 1e6 if insns else None}
        if q is not None:
            f["ratio_qemu"], f["ratio_qemu_range"] = (1.0, None) if cfg == "qemu" else _ratio(ts, q)
        rows.append(_row(SYSTEM_GOALS, **f))
    return rows


def lua_in_linux_rows(size: object = None, repeat: int = 3, progress: bool = True) -> list[dict]:
    """The ``linux-lua54`` rows: ``lua54 bench.lua SIZE`` (the lua54 workload) in user mode
    on the JIT, and the same program inside Linux booted on the JIT. Inside Linux our /init
    times the run by CLOCK_MONOTONIC, which the board's host-clock mode drives from the host's
    clock (boot and poweroff are not counted); user mode is timed around ``Machine.run``.
    ``vs_user`` is the ratio of the two; ``output_ok`` that both printed the same."""
    from . import kernels
    from .system import System

    args, root = guests.workload("lua54", size)
    elf = guests.build("lua54")
    image, rd = kernels.build_linux(quiet=not progress).image, kernels.build_initramfs()
    arg = args[1] if len(args) > 1 else ""
    append = f"{kernels.DEFAULT_APPEND} WB_BENCH=/lua/{Path(args[0]).name}" + (f" WB_BENCH_ARG={arg}" if arg else "")
    m = Machine(tier="jit", root=root)
    user, inside, outs = [], [], []
    pattern = re.compile(r"wb-init: bench \S+ \S*: ([0-9.]+) s")
    for k in range(repeat):
        if progress:
            print(f"[bench] linux-lua54: round {k + 1}/{repeat}: user mode, in linux", flush=True)
        r, _, _ = _engine_once(m, elf, args, "lua54", [])
        user.append((r.seconds, r.ok, r.stdout))
        b = System(kernels.OPENSBI_FW_JUMP, kernel=image, initrd=rd, bootargs=append, tier="jit",
                   deterministic=False).boot(wall_limit=1800)
        found = pattern.search(b.console)
        inside.append((float(found.group(1)) if found else float("nan"), b.ok and found is not None))
        outs.append(b.console_bytes)
    ref = user[0][2]
    host = platform.processor() or platform.machine()
    u = [t for t, _, _ in user]
    i = [t for t, _ in inside]
    rows = [_row(SYSTEM_GOALS, workload="linux-lua54", config="jit user mode", seconds=statistics.median(u),
                 seconds_min=min(u), seconds_max=max(u), repeat=len(u), host=host,
                 output_ok=all(ok and out == ref for _, ok, out in user))]
    ratio, rng = _ratio(i, u)
    rows.append(_row(SYSTEM_GOALS, workload="linux-lua54", config="jit in linux", seconds=statistics.median(i),
                     seconds_min=min(i), seconds_max=max(i), repeat=len(i), host=host,
                     # the script's output, line for line, among the console's
                     output_ok=all(ok for _, ok in inside) and all(ref in o.replace(b"\r\n", b"\n") for o in outs),
                     vs_user=ratio, vs_user_range=rng))
    return rows


# ------------------------------------------------------------------ start-up


def exit0_elf(path: str | Path) -> Path:
    """Write the smallest RISC-V Linux program there is, ``exit(0)`` in three instructions
    (a static ELF with one segment; built here, so no cross compiler is needed).

    >>> import tempfile
    >>> exit0_elf(Path(tempfile.mkdtemp()) / "exit0").stat().st_size
    132
    """
    code = struct.pack("<3I", 0x00000513,   # li a0, 0
                       0x05D00893,          # li a7, 93 (exit)
                       0x00000073)          # ecall
    base, ehdr, phdr = 0x10000, 64, 56
    size = ehdr + phdr + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)       # 64-bit, little-endian, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 243, 1,  # ET_EXEC, EM_RISCV, version
                                 base + ehdr + phdr, ehdr, 0,  # entry, phoff, shoff
                                 0x5, ehdr, phdr, 1, 64, 0, 0)  # RVC + double-float ABI
    segment = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD r-x
    path = Path(path)
    path.write_bytes(header + segment + code)
    path.chmod(0o755)
    return path


def _wbrun() -> Path | None:
    """The engine's command-line runner installed beside the engine library, if any."""
    from ._engine import find_library

    p = find_library().parent / "wbrun"
    return p if p.is_file() else None


def _wb_command() -> list[str]:
    """How a user starts ``wb``: the console script beside this interpreter (else ``-m``)."""
    wb = Path(sys.executable).with_name("wb")
    return [str(wb)] if wb.is_file() else [sys.executable, "-m", "workbench.cli"]


def startup_rows(runs: int = STARTUP_RUNS, progress: bool = True) -> list[dict]:
    """Rows ``start-up``/``wbrun`` and ``start-up``/``wb run``: each command runs a trivial
    program ``runs`` times, alternating; ``seconds`` is the minimum (the launch least
    disturbed by the machine), ``over_wbrun`` what ``wb run`` adds, judged against
    :data:`GOALS` (``<= wbrun + 0.1 s``). Empty when ``wbrun`` is not installed.

    >>> [r["config"] for r in startup_rows(runs=2, progress=False)]  # doctest: +SKIP
    ['wbrun', 'wb run']
    """
    wbrun = _wbrun()
    if wbrun is None:
        if progress:
            print("[bench] start-up: no wbrun beside the engine library; skipped", flush=True)
        return []
    with tempfile.TemporaryDirectory(prefix="wb-startup-") as d:
        elf = exit0_elf(Path(d) / "exit0")
        cmds = {"wbrun": [str(wbrun), str(elf)], "wb run": [*_wb_command(), "run", str(elf)]}
        if progress:
            print(f"[bench] start-up: {runs} launches each of wbrun and wb run", flush=True)
        times: dict[str, list[float]] = {cfg: [] for cfg in cmds}
        ok = dict.fromkeys(cmds, True)
        for _ in range(runs):
            for cfg, cmd in cmds.items():
                t, out, rc = _time_process(cmd, Path(d))
                times[cfg].append(t)
                ok[cfg] = ok[cfg] and rc == 0 and out == b""
    return startup_rows_from(times, ok)


def startup_rows_from(times: dict, ok: dict | None = None, host: str | None = None) -> list[dict]:
    """The start-up rows from launch times ``{"wbrun": [...], "wb run": [...]}`` (testable
    without launching anything).

    >>> rows = startup_rows_from({"wbrun": [0.003, 0.004], "wb run": [0.07, 0.09]})
    >>> [(r["config"], round(r["over_wbrun"] or 0, 3), r["goal_verdict"]) for r in rows]
    [('wbrun', 0, None), ('wb run', 0.067, 'met')]
    """
    host = host or platform.processor() or platform.machine()
    base = min(times["wbrun"])
    return [_row(workload="start-up", config=cfg, seconds=min(ts), seconds_min=min(ts),
                 seconds_max=max(ts), over_wbrun=min(ts) - base if cfg != "wbrun" else None,
                 output_ok=(ok or {}).get(cfg, True), repeat=len(ts), host=host)
            for cfg, ts in times.items()]


# ------------------------------------------------------------------ client paths


def client_path_rows_from(workload: str, client: str, times: dict, *, startup: float,
                          bytes_written: int = 0, disk_bps: float | None = None,
                          events: int | None = None, ok: dict | None = None,
                          host: str | None = None) -> list[dict]:
    """Rows comparing one client's three ways out of the engine, from process times
    ``{"wbrun": [...], "wb run --client": [...], "wb run --events": [...]}`` (seconds per
    repeat). ``vs_wbrun`` is the *net* ratio: a path's time less ``wb run``'s start-up
    (``startup``, from the start-up rows) and, for ``--events``, less the time the disk
    takes for the bytes the stores hold (``bytes_written`` / ``disk_bps``), over wbrun's.

    >>> rows = client_path_rows_from("zstd", "memtrace", {"wbrun": [1.0, 1.0],
    ...     "wb run --client": [1.2, 1.25], "wb run --events": [2.0, 2.1]}, startup=0.1,
    ...     bytes_written=100_000_000, disk_bps=500e6)
    >>> [(r["config"], round(r["vs_wbrun"], 3), r["goal_verdict"]) for r in rows]
    [('memtrace via wbrun', 1.0, None), ('wb run --client', 1.125, 'met'), ('wb run --events', 1.75, 'missed')]
    """
    host = host or platform.processor() or platform.machine()
    base = times["wbrun"]
    rows = []
    for cfg, ts in times.items():
        extra = startup if cfg != "wbrun" else 0.0
        if cfg == "wb run --events" and disk_bps:
            extra += bytes_written / disk_bps
        net = [max(t - extra, 1e-9) for t in ts]
        ratio, rng = _ratio(net, base)
        rows.append(_row(workload=workload, config=cfg if cfg != "wbrun" else f"{client} via wbrun",
                         seconds=statistics.median(ts), seconds_min=min(ts), seconds_max=max(ts),
                         vs_wbrun=ratio, vs_wbrun_range=rng if cfg != "wbrun" else None,
                         bytes_written=bytes_written if cfg == "wb run --events" else None,
                         events=events, output_ok=(ok or {}).get(cfg, True), repeat=len(ts),
                         host=host))
    return rows


def _disk_bps(directory: Path, nbytes: int) -> float:
    """Bytes per second this disk takes for a file of ``nbytes`` written and fsynced."""
    nbytes = max(nbytes, 1 << 20)
    chunk = os.urandom(1 << 20)
    path = Path(directory) / "disk-speed.tmp"
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes >> 20):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    dt = time.perf_counter() - t0
    path.unlink()
    return (nbytes >> 20 << 20) / dt


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def client_path_rows(workload: str, client: str = "memtrace", repeat: int = 3,
                     size=None, progress: bool = True, startup: float | None = None) -> list[dict]:
    """Time ``client`` on ``workload`` three ways, as whole processes in alternation:
    ``wbrun -c CLIENT`` (the engine alone), ``wb run --client CLIENT`` (records counted in
    Python as they are drained) and ``wb run --client CLIENT --events DIR`` (records written
    to zarr stores while the guest runs); plus the start-up rows and the disk's speed, which
    the net ratios subtract (:func:`client_path_rows_from`). ``startup``: ``wb run``'s
    start-up already measured (seconds over wbrun); without it the start-up rows are measured
    and returned first. Empty without ``wbrun``.

    >>> rows = client_path_rows("zstd", "memtrace", repeat=1, size="1m")  # doctest: +SKIP
    """
    wbrun = _wbrun()
    if wbrun is None:
        return []
    args, root = guests.workload(workload, size)
    elf = guests.build(workload)
    start = [] if startup is not None else startup_rows(progress=progress)
    if startup is None:
        startup = next(r["over_wbrun"] for r in start if r["config"] == "wb run")
    times: dict[str, list[float]] = {"wbrun": [], "wb run --client": [], "wb run --events": []}
    ok = dict.fromkeys(times, True)
    outs = {}
    written = 0
    with tempfile.TemporaryDirectory(prefix="wb-paths-") as d:
        ev = Path(d) / "events"
        cmds = {"wbrun": [str(wbrun), "-c", client, "-r", str(root), str(elf), *args],
                "wb run --client": [*_wb_command(), "run", "--root", str(root), "--client", client,
                                    str(elf), *args],
                "wb run --events": [*_wb_command(), "run", "--root", str(root), "--client", client,
                                    "--events", str(ev), str(elf), *args]}
        for k in range(repeat):
            if progress:
                print(f"[bench] {workload} {client} paths: round {k + 1}/{repeat}", flush=True)
            for cfg, cmd in cmds.items():
                shutil.rmtree(ev, ignore_errors=True)
                t, out, rc = _time_process(cmd, root)
                times[cfg].append(t)
                outs.setdefault(cfg, out)
                ok[cfg] = ok[cfg] and rc == 0 and out == outs[cfg]
                if cfg == "wb run --events":
                    written = _tree_bytes(ev)
        bps = _disk_bps(Path(d), written)
    ok = {cfg: v and outs[cfg] == outs["wbrun"] for cfg, v in ok.items()}
    return start + client_path_rows_from(workload, client, times, startup=startup,
                                          bytes_written=written, disk_bps=bps, ok=ok)


# ------------------------------------------------------------------ the table


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def _ratio_cell(r: dict, field: str, sep: str = " ") -> str:
    """A ratio with its range beside it when the repeats spread: ``1.01 (0.97–1.06)``;
    ``sep="\\n"`` puts the range on a second line, as the printed table has it.

    >>> _ratio_cell({"vs_jit": 1.01, "vs_jit_range": [0.97, 1.06]}, "vs_jit")
    '1.01 (0.97–1.06)'
    >>> _ratio_cell({"vs_jit": 1.01, "vs_jit_range": [0.97, 1.06]}, "vs_jit", "\\n")
    '1.01\\n0.97–1.06'
    """
    v, rng = r.get(field), r.get(f"{field}_range")
    if v is None:
        return "-"
    if rng is None or f"{rng[0]:.2f}" == f"{rng[1]:.2f}":
        return f"{v:.2f}"
    if sep == "\n":
        return f"{v:.2f}\n{rng[0]:.2f}–{rng[1]:.2f}"
    return f"{v:.2f}{sep}({rng[0]:.2f}–{rng[1]:.2f})"


def _count(n: int | None, compact: bool) -> str:
    """A record count: exact with thousands separators, or ``compact`` in millions.

    >>> _count(1_234_567_890, False), _count(1_234_567_890, True), _count(1234, True)
    ('1,234,567,890', '1,235M', '1,234')
    """
    if n is None:
        return "-"
    return f"{n / 1e6:,.0f}M" if compact and n >= 10_000_000 else f"{n:,}"


def _goal_cell(r: dict, rich: bool = False, sep: str = ": ") -> str:
    if not r.get("goal"):
        return "-"
    verdict = r.get("goal_verdict") or "?"
    if verdict == "missed" and rich:
        verdict = "[red]missed[/red]"
    for field in ("vs_one_thread", "vs_user"):  # ratios no column shows
        if r.get(field) is not None:
            return f"{r['goal']} ({r[field]:.2f}){sep}{verdict}"
    return f"{r['goal']}{sep}{verdict}"


COLUMNS = ["workload", "config", "seconds", "x native", "x qemu", "x jit", "MIPS", "events",
           "goal", "ok"]


def _cells(r: dict, rich: bool = False) -> list[str]:
    """A row's cells under :data:`COLUMNS`; ``rich``: for the printed table, where ranges and
    verdicts go on a second line so that the table fits :data:`TABLE_WIDTH` columns."""
    ok = "yes" if r["output_ok"] else ("[red]NO[/red]" if rich else "NO")
    sep = "\n" if rich else " "
    return [r["workload"], r["config"], f"{r['seconds']:.3f}",
            *(_ratio_cell(r, f, sep) for f in ("ratio_native", "ratio_qemu",
                                                  "vs_wbrun" if r.get("vs_wbrun") is not None else "vs_jit")),
            _fmt(r["guest_mips"], ".0f"), _count(r.get("events"), compact=rich),
            _goal_cell(r, rich, "\n" if rich else ": "), ok]


def table_markdown(rows: list[dict]) -> str:
    """The bench table as Markdown (what goes into issue notes and reports).

    >>> rows = startup_rows_from({"wbrun": [0.003], "wb run": [0.07]}, host="cpu")
    >>> print(table_markdown(rows).splitlines()[3])
    | start-up | wb run | 0.070 | - | - | - | - | - | <= wbrun + 0.1 s: met | yes |
    """
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|---|---|" + "---:|" * 6 + "---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(_cells(r)) + " |")
    return "\n".join(lines) + "\n"


#: columns of the printed table in a pipe or a log (a terminal gives its own width)
TABLE_WIDTH = 100


def print_table(rows: list[dict], console=None) -> None:
    """Print the bench table with rich, one table per workload (the workload is its title),
    ranges and verdicts on a second line of each row: it fits :data:`TABLE_WIDTH` columns,
    the width used when the output is not a terminal and COLUMNS is not set (a terminal
    gives its own width; long cells then wrap, none is cut).

    >>> print_table(startup_rows_from({"wbrun": [0.003], "wb run": [0.07]}))  # doctest: +SKIP
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal and not os.environ.get("COLUMNS"):
            console = Console(width=TABLE_WIDTH)    # rich's default in a pipe would be 80
    console.print("wb bench: median of the repeats; ratios with their min-max range; "
                  "start-up: the minimum", highlight=False)
    for w in dict.fromkeys(r["workload"] for r in rows):
        t = Table(title=w, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  title_justify="left")
        for c in COLUMNS[1:]:
            t.add_column(c, overflow="fold", justify="right" if c in _NUMERIC else "left")
        for r in rows:
            if r["workload"] == w:
                t.add_row(*_cells(r, rich=True)[1:])
        console.print(t)


_NUMERIC = {"seconds", "x native", "x qemu", "x jit", "MIPS", "events"}
