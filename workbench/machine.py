"""``Machine`` and ``Run``: configure the engine, run a guest program, read what happened.

A :class:`Machine` is a reusable configuration (tier, limits, root directory, determinism);
each :meth:`Machine.run` creates a fresh engine instance, loads the program and runs it to the
end, returning a :class:`Run` with the exit status, why it stopped, captured output and stats.

>>> import workbench
>>> run = workbench.Machine(max_insns=10**9).run("lua54", ["-e", "print(1+1)"], capture=True)
>>> run.stdout, run.exit_code, run.reason
(b'2\\n', 0, 'exit')
"""
from __future__ import annotations


import dataclasses
import math
import numbers
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

from ._engine import WB_MAX_SYSCALL, ffi, lib
from .errors import ConfigError, LoadError, WorkbenchError

#: tier name -> enum wb_tier value ("interp", "jit": WB_TIER_INTERP, WB_TIER_JIT), in value order
TIERS = {name[len("WB_TIER_"):].lower(): value
         for value, name in sorted(ffi.typeof("enum wb_tier").elements.items())}
#: schedule name -> enum wb_schedule value ("deterministic", "parallel")
SCHEDULES = {name[len("WB_SCHEDULE_"):].lower(): value
             for value, name in sorted(ffi.typeof("enum wb_schedule").elements.items())}
#: watchpoint mechanism name -> enum wb_watch_mech value ("unlimited", "pageprot", "debugregs",
#: "software"; docs/watchpoints.md)
WATCH_MECHANISMS = {name[len("WB_WATCH_"):].lower(): value
                    for value, name in sorted(ffi.typeof("enum wb_watch_mech").elements.items()) if value}
DEFAULT_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C", "TERM": "dumb"}

from .config_checks import (  # noqa: F401  (re-exported: callers import them from here)
    CLIENT_NEEDS, CLIENT_OPTIONS, U64_MAX, WALL_LIMIT_UNLIMITED, _bound, _check_bool, _check_int, _check_option, _check_seconds,
    _check_text, _client_options_string, client_settings,
)


def _check_stdin(value):
    """The guest's stdin as given to ``Machine.run``: None (empty input), bytes-like (the input
    data), a str or os.PathLike (a host *file path*, which must exist; a str is never data) or
    an open host file descriptor (int). Returns bytes, a path str, an fd or None; else ConfigError.

    >>> _check_stdin(b"data"), _check_stdin(None)
    (b'data', None)
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        fd = _check_int("stdin (a host file descriptor)", value, 0, 2**31 - 1)
        try:
            os.fstat(fd)
        except OSError:
            raise ConfigError(f"stdin: {fd} is not an open host file descriptor") from None
        return fd
    if isinstance(value, (str, os.PathLike)):
        path = _check_text("stdin", value, path=True)
        if not os.path.exists(path):
            raise ConfigError(f"stdin: no such file: {path!r} (a str or Path is a host file path; "
                              f"pass bytes for the input data itself)")
        if os.path.isdir(path):
            raise ConfigError(f"stdin: {path!r} is a directory, not a file")
        return path
    raise ConfigError(f"stdin must be bytes (the input), a str/os.PathLike (a file path), an open "
                      f"file descriptor (int) or None, got {type(value).__name__} {value!r}")


def available_tiers() -> list[str]:
    """Execution tiers this build of the engine offers.

    >>> "interp" in available_tiers()
    True
    """
    return [name for name, code in TIERS.items() if lib.wb_tier_available(code)]


def available_clients() -> list[str]:
    """Names of the analysis clients built into the engine (``Machine(clients=[...])``).

    >>> "memtrace" in available_clients()
    True
    """
    out, i = [], 0
    while True:
        name = lib.wb_builtin_client(i)
        if name == ffi.NULL:
            return out
        out.append(ffi.string(name).decode())
        i += 1


def default_tier() -> str:
    """The tier a Machine uses unless told otherwise: the JIT where the host has one.

    >>> default_tier() in available_tiers()
    True
    """
    return "jit" if "jit" in available_tiers() else "interp"


@dataclasses.dataclass
class Run:
    """The outcome of one guest run.

    ``reason`` is one of ``exit``, ``budget``, ``wallclock``, ``fault``, ``illegal``, ``ebreak``,
    ``memcap``, ``internal``, ``signal``, ``deadlock`` (every guest thread waits forever);
    ``exit_code`` is meaningful for ``exit`` (and holds the signal number for ``signal``). ``stdout``/``stderr`` are bytes when captured, else ``None``.
    ``records`` holds each client stream's records (numpy structured arrays); ``events(name)``
    turns one into an xarray Dataset with provenance. ``instructions`` counts every guest
    thread's; ``thread_instructions[i]`` is guest thread i's (0: the main thread; thread i's
    tid is the pid + i). ``watch`` holds the watchpoint unit's counters (``Machine(watch=)``;
    None without a unit): the range cache's (lookups, hits, misses, ...) and the mechanism's
    (view_faults, false_faults, inline_checks, marked, rebuilds, traps, uncovered_sets, ...).
    ``aikido`` holds the per-thread views' counters (pages touched and shared, faults, marked
    instructions, accesses and shared accesses; the aikido client or fasttrack's filtered mode)
    and ``fasttrack`` the race detector's (reads, writes, syncs, races, race_pairs); None
    without those clients.
    """

    program: str
    args: list[str]
    reason: str
    exit_code: int
    message: str
    pc: int
    fault_addr: int
    instructions: int
    seconds: float
    blocks_translated: int
    cache_flushes: int
    mem_peak: int
    syscalls: dict[str, int]
    unknown_syscalls: dict[int, int]
    stdout: bytes | None = None
    stderr: bytes | None = None
    config: dict = dataclasses.field(default_factory=dict)
    regs: dict | None = None
    records: dict = dataclasses.field(default_factory=dict)
    drains: int = 0
    thread_instructions: list = dataclasses.field(default_factory=list)
    watch: dict | None = None
    aikido: dict | None = None
    fasttrack: dict | None = None

    def events(self, stream: str):
        """The records of client stream ``stream`` as an ``xarray.Dataset`` (schema and
        provenance of ``workbench.events``; the code addresses the stream's description marks,
        ``Stream.symbolize``, named from the ELF's symbols: bbprofile's blocks, the
        profilers' allocation sites).

        >>> run = Machine(clients=["memtrace"]).run("zstd", ["64k", "1"])  # doctest: +SKIP
        >>> ds = run.events("memtrace")  # doctest: +SKIP
        >>> ds.sizes["event"] > 0, ds.kind.attrs["flag_meanings"]  # doctest: +SKIP
        (True, 'load store atomic')
        """
        from . import events as ev

        if stream not in self.records:
            raise KeyError(f"no stream {stream!r} in this run (streams: {sorted(self.records)}; "
                           f"add its client with Machine(clients=[...]))")
        prov = ev.provenance(workload=Path(self.program).name, program=self.program,
                             config=self.config, args=" ".join(self.args), reason=self.reason)
        # to_dataset names only the stream's symbolize fields (and reads the ELF only for them)
        return ev.to_dataset(stream, self.records[stream], provenance=prov, symbols=self.program)

    @property
    def ok(self) -> bool:
        """True when the guest exited with status 0."""
        return self.reason == "exit" and self.exit_code == 0

    @property
    def mips(self) -> float:
        """Guest instructions retired per microsecond of host time."""
        return self.instructions / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def stats(self) -> dict:
        """Stats as a plain dict (what ``wb run --json`` writes)."""
        return {
            "program": self.program,
            "args": self.args,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "message": self.message,
            "pc": self.pc,
            "instructions": self.instructions,
            "seconds": self.seconds,
            "mips": self.mips,
            "blocks_translated": self.blocks_translated,
            "cache_flushes": self.cache_flushes,
            "mem_peak_bytes": self.mem_peak,
            "threads": len(self.thread_instructions),
            "thread_instructions": self.thread_instructions,
            "syscalls": self.syscalls,
            "syscalls_total": sum(self.syscalls.values()),
            "unknown_syscalls": {str(k): v for k, v in self.unknown_syscalls.items()},
            "watch": self.watch,
            "config": self.config,
        }


class Machine:
    """A configured RISC-V engine that runs static RISC-V Linux executables.

    Parameters
    ----------
    tier : "jit" (x86-64 hosts; the default there) or "interp" (the reference interpreter;
        the default elsewhere). ``None`` picks ``default_tier()``.
    max_insns : instruction budget per run, an int >= 1 (None = unlimited).
    mem_limit : bytes of guest memory a run may map, an int >= 1 (None = 1 GiB).
    wall_limit : seconds of wall-clock time per run, a number > 0 (None = unlimited;
        ``float("inf")`` and anything from ``WALL_LIMIT_UNLIMITED`` = 1e9 s up are no limit
        too, and are stored as None).
    root : host directory that the guest sees as "/" (default: the current directory).
        ``root=False`` gives the guest no file system at all.
    cwd : the guest's working directory inside root (default "/").
    deterministic : virtual clock and seeded randomness (default True): the same input gives
        the same output and the same instruction counts.
    seed : seed of the guest's getrandom and AT_RANDOM in deterministic mode, in [0, 2**64).
    ns_per_insn : deterministic mode: nanoseconds the virtual clock advances per instruction,
        in [1, 10**9] (default 1).
    env : guest environment, a dict of str to str (default: a small fixed one, ``DEFAULT_ENV``).
    jit_hot : JIT tier only: how many times a block runs in the interpreter before it is
        translated (default 4: code that runs a few times is not worth translating; 0
        translates every block at its first execution).
    jit_profile_insns : JIT tier only: instructions run with per-block counters before the
        JIT picks which guest registers live in host registers (default 2**25).
    jit_cache_bytes : JIT tier only: code cache size in bytes (0 = 128 MiB); a full cache is
        dropped and refilled.
    max_threads : guest threads live at once, in [1, 1024] (default 256); past it the guest's
        pthread_create fails (EAGAIN), as under a kernel's limit.
    schedule : how guest threads run: ``"parallel"`` (default: one host thread per guest
        thread, really concurrent, so a multithreaded run is as fast as the host allows and
        its interleaving varies from run to run) or ``"deterministic"`` (threads interleaved
        on one host thread, ``quantum`` instructions at a time, the next thread chosen by a
        generator seeded with ``seed``: a multithreaded run is reproducible bit for bit:
        instruction counts, output, events). Single-threaded programs run alike under both.
        A client that needs the deterministic schedule (``taint``: its shadow is not shared
        by threads running at once) sets it.
    quantum : deterministic schedule: guest instructions a thread runs before the scheduler
        switches threads, in [1, 2**40] (default 20000).
    watch : the watchpoint unit (docs/watchpoints.md), or None (default: off). The name is
        the mechanism that finds the accesses it checks: ``"unlimited"`` (instructions that
        touch watched pages get inline checks), ``"pageprot"`` (a host fault per access to a
        watched page), ``"debugregs"`` (four x86-style debug registers: what they cannot hold
        is not watched) or ``"software"`` (a check before every load and store). The guest's
        ``wp.set``/``wp.clear`` instructions are legal only with a unit; its counters are in
        ``Run.watch``.
    watch_cache : watchpoint unit: range-cache entries, in [1, 2**24] (default 64).
    watch_blb : watchpoint unit: bitmap lookaside buffer lines, in [0, 2**24] (default 0: none).
    watch_blb_runs : watchpoint unit: a 64-byte line crossed by this many runs or more is
        looked up in the bitmap lookaside buffer, in [2, 65] (default 4).
    watch_trace : watchpoint unit: record every set, clear and checked access in stream
        ``"watch"`` (``Run.records["watch"]``, the records ``workbench.models.watch`` replays).
    clients : analysis clients to run, by name (``available_clients()``: null, icount,
        bbprofile, memtrace, memphys, barrier, bursty, shrink, watchheap), in order, each at
        most once (watchheap needs ``watch``). Their
        records are in ``Run.records`` and ``Run.events(name)``.
    client_options : per client, a dict of options, e.g.
        ``{"barrier": {"sample_bytes": 0}}`` (the barrier profiler: ``sample_bytes``, default
        8 MiB, 0 = every object; ``max_accesses``, 0 = unlimited). ``CLIENT_OPTIONS`` lists
        each client's options: integers (not bools) in range, flags (0/1 or a bool), and
        shrink's ``sites`` plan ``"SITE:CUT/SITE:CUT/..."``.
    drain_bytes : a client stream holding more than this pauses the run while Python copies
        its records out (no event is ever dropped; default 4 MiB: small enough to stay in
        the host caches, which makes long traces faster than large buffers).

    Every parameter is checked here (and again by ``run``, in case an attribute was changed):
    a bad one raises :class:`~workbench.errors.ConfigError` naming it, before any guest runs.

    >>> m = Machine(tier="interp", max_insns=10**8)
    >>> m.run("fpmath").ok  # doctest: +SKIP
    True
    >>> Machine(max_insns=True)
    Traceback (most recent call last):
    ...
    workbench.errors.ConfigError: max_insns must be an integer in [1, 2**64-1], got True (a bool is not a number)
    """

    def __init__(self, tier: str | None = None, *, max_insns: int | None = None,
                 mem_limit: int | None = None, wall_limit: float | None = None,
                 root: str | os.PathLike | bool | None = None, cwd: str = "/",
                 deterministic: bool = True, seed: int = 0, ns_per_insn: int = 1,
                 env: Mapping[str, str] | None = None, jit_hot: int = 4,
                 jit_profile_insns: int = 1 << 25, jit_cache_bytes: int = 0,
                 clients: Iterable[str] = (), client_options: Mapping[str, Mapping] | None = None,
                 drain_bytes: int = 4 << 20, max_threads: int = 256, quantum: int = 20000,
                 schedule: str = "parallel", watch: str | None = None, watch_cache: int = 64,
                 watch_blb: int = 0, watch_blb_runs: int = 4, watch_trace: bool = False):
        self.tier = tier
        self.max_insns = max_insns
        self.mem_limit = mem_limit
        self.wall_limit = wall_limit
        self.root = root
        self.cwd = cwd
        self.deterministic = deterministic
        self.seed = seed
        self.ns_per_insn = ns_per_insn
        self.env = env
        self.jit_hot = jit_hot
        self.jit_profile_insns = jit_profile_insns
        self.jit_cache_bytes = jit_cache_bytes
        self.clients = clients
        self.client_options = client_options
        self.drain_bytes = drain_bytes
        self.max_threads = max_threads
        self.quantum = quantum
        self.schedule = schedule
        self.watch = watch
        self.watch_cache = watch_cache
        self.watch_blb = watch_blb
        self.watch_blb_runs = watch_blb_runs
        self.watch_trace = watch_trace
        self._validate()

    def _validate(self) -> None:
        """Check every setting and store it normalized (ConfigError naming a bad one)."""
        tier = default_tier() if self.tier is None else self.tier
        if not isinstance(tier, str) or tier not in TIERS:
            raise ConfigError(f"unknown tier {tier!r}; choose one of {sorted(TIERS)}")
        if tier not in available_tiers():
            raise ConfigError(f"tier {tier!r} is not available in this build "
                              f"(available: {available_tiers()})")
        self.tier = tier
        for name in ("max_insns", "mem_limit"):
            if getattr(self, name) is not None:
                setattr(self, name, _check_int(name, getattr(self, name), 1))
        self.wall_limit = _check_seconds("wall_limit", self.wall_limit)
        self.seed = _check_int("seed", self.seed)
        self.ns_per_insn = _check_int("ns_per_insn", self.ns_per_insn, 1, 10**9)
        self.jit_hot = _check_int("jit_hot", self.jit_hot, 0, 2**32 - 1)
        self.jit_profile_insns = _check_int("jit_profile_insns", self.jit_profile_insns, 0, 2**63 - 1)
        self.jit_cache_bytes = _check_int("jit_cache_bytes", self.jit_cache_bytes, 0, 1 << 30)
        self.drain_bytes = _check_int("drain_bytes", self.drain_bytes, 1)
        self.max_threads = _check_int("max_threads", self.max_threads, 1, 1024)
        self.quantum = _check_int("quantum", self.quantum, 1, 1 << 40)
        if not isinstance(self.schedule, str) or self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose one of {list(SCHEDULES)}")
        self.deterministic = _check_bool("deterministic", self.deterministic)
        if self.watch is not None and (not isinstance(self.watch, str) or self.watch not in WATCH_MECHANISMS):
            raise ConfigError(f"unknown watchpoint mechanism {self.watch!r}; choose one of "
                              f"{list(WATCH_MECHANISMS)} or None")
        self.watch_cache = _check_int("watch_cache", self.watch_cache, 1, 1 << 24)
        self.watch_blb = _check_int("watch_blb", self.watch_blb, 0, 1 << 24)
        self.watch_blb_runs = _check_int("watch_blb_runs", self.watch_blb_runs, 2, 65)
        self.watch_trace = _check_bool("watch_trace", self.watch_trace)
        if self.watch_trace and self.watch is None:
            raise ConfigError("watch_trace needs the watchpoint unit (watch='unlimited', ...)")

        if self.root is None or self.root is True:
            self.root = Path.cwd()
        if self.root is not False:
            self.root = Path(_check_text("root", self.root, path=True))
            if not self.root.is_dir():
                raise ConfigError(f"root {str(self.root)!r} is not a directory"
                                  f"{'' if self.root.exists() else ' (it does not exist)'}")
        self.cwd = _check_text("cwd", self.cwd, path=True)
        if not self.cwd.startswith("/"):
            raise ConfigError(f"cwd must be an absolute guest path, got {self.cwd!r}")

        env = DEFAULT_ENV if self.env is None else self.env
        if not isinstance(env, Mapping):
            raise ConfigError(f"env must be a dict of str to str, got {type(env).__name__} {env!r}")
        for k, v in env.items():
            _check_text("env key", k)
            if not k or "=" in k:
                raise ConfigError(f"env key {k!r} must be non-empty and contain no '='")
            _check_text(f"env[{k!r}]", v)
        self.env = dict(env)

        clients = [self.clients] if isinstance(self.clients, str) else self.clients
        try:
            clients = list(clients)
        except TypeError:
            raise ConfigError(f"clients must be a list of client names, got {clients!r}") from None
        known = available_clients()
        for i, c in enumerate(clients):
            if not isinstance(c, str) or c not in known:
                raise ConfigError(f"unknown client {c!r}; built-in clients: {known}")
            if c in clients[:i]:
                raise ConfigError(f"client {c!r} is listed twice in clients={clients}")
        self.clients = clients
        options = {} if self.client_options is None else self.client_options
        if not isinstance(options, Mapping):
            raise ConfigError(f"client_options must be a dict of client name to dict, got "
                              f"{type(options).__name__} {options!r}")
        for k, v in options.items():
            if k not in self.clients:
                raise ConfigError(f"options given for client {k!r}, which is not in clients={self.clients}")
            _client_options_string(k, v)
        self.client_options = {k: dict(v) for k, v in options.items()}
        if client_settings(self.clients).get("schedule") == "deterministic":
            self.schedule = "deterministic"
        if self.watch is None and "watch" in client_settings(self.clients):
            raise ConfigError(f"client {next(c for c in self.clients if 'watch' in CLIENT_NEEDS.get(c, {}))!r} "
                              "needs the watchpoint unit (watch='unlimited', or another mechanism)")

    @property
    def config(self) -> dict:
        """The configuration as a JSON-ready dict (recorded in every Run and Dataset).

        >>> Machine(tier="interp", max_insns=1000).config["max_insns"]
        1000
        """
        return {
            "tier": self.tier, "max_insns": self.max_insns, "mem_limit": self.mem_limit,
            "wall_limit": self.wall_limit, "root": None if self.root is False else str(self.root),
            "cwd": self.cwd, "deterministic": self.deterministic, "seed": self.seed,
            "ns_per_insn": self.ns_per_insn, "env": self.env, "jit_hot": self.jit_hot,
            "jit_profile_insns": self.jit_profile_insns, "jit_cache_bytes": self.jit_cache_bytes,
            "max_threads": self.max_threads, "quantum": self.quantum, "schedule": self.schedule,
            "clients": self.clients, "client_options": self.client_options,
            "watch": self.watch, "watch_cache": self.watch_cache, "watch_blb": self.watch_blb,
            "watch_blb_runs": self.watch_blb_runs, "watch_trace": self.watch_trace,
        }

    def run(self, program: str | os.PathLike, args: Iterable[str] = (), *,
            capture: bool = False, stdin: bytes | str | os.PathLike | int | None = None,
            argv0: str | None = None, regs: bool = False, on_records=None,
            max_record_bytes: int = 4 << 30) -> Run:
        """Run ``program`` (an ELF path, or the name of a guest from ``wb guest list``).

        ``args`` is a list of strings (or paths), None for none: a single str is refused
        rather than split into characters. ``argv0`` is the guest's ``argv[0]`` (default:
        ``program`` as given). ``capture=True`` collects the guest's stdout and stderr as bytes
        in the Run; otherwise they go to this process's stdout and stderr. ``stdin`` is the
        guest's input: bytes (the data itself), a str or os.PathLike (the path of a host file,
        never data: pass ``"text".encode()`` for text), an open host file descriptor (int), or
        None for empty input. ``regs=True`` records the final registers in ``Run.regs``.

        Client records are kept in ``Run.records`` (at most ``max_record_bytes``; a run that
        produces more stops with an error naming ``on_records``). ``on_records(stream, array)``
        instead receives every batch as it is drained — a read-only view valid only during the
        call (copy what you keep) — and nothing is kept: the way to write a long trace to disk.

        Bad parameters (and Machine settings changed since construction) raise ConfigError
        before the guest starts; a program that cannot be found or loaded raises LoadError.

        >>> run = Machine().run("zstd", ["65536"], capture=True)  # doctest: +SKIP
        >>> run.ok  # doctest: +SKIP
        True
        >>> Machine().run("zstd", "65536")
        Traceback (most recent call last):
        ...
        workbench.errors.ConfigError: args must be a list of strings, not a str ('65536')
        """
        self._validate()
        program = _check_text("program", program, path=True)
        if args is None:
            args = ()
        if isinstance(args, (str, bytes, os.PathLike)):
            raise ConfigError(f"args must be a list of strings, not a {type(args).__name__} ({args!r})")
        try:
            args = list(args)
        except TypeError:
            raise ConfigError(f"args must be a list of strings, got {type(args).__name__} {args!r}") from None
        args = [_check_text(f"args[{i}]", a, path=True) for i, a in enumerate(args)]
        argv0 = program if argv0 is None else _check_text("argv0", argv0, path=True)
        capture = _check_bool("capture", capture)
        regs = _check_bool("regs", regs)
        stdin = _check_stdin(stdin)
        if on_records is not None and not callable(on_records):
            raise ConfigError(f"on_records must be a function (stream, array) or None, got {on_records!r}")
        max_record_bytes = _check_int("max_record_bytes", max_record_bytes)
        options = {c: _client_options_string(c, self.client_options.get(c, {})) for c in self.clients}
        path = resolve_program(program)
        argv = [argv0 or program] + args
        cfg = ffi.new("wb_config *")
        lib.wb_config_init(cfg)
        cfg.tier = TIERS[self.tier]
        cfg.max_insns = self.max_insns or 0
        cfg.mem_limit = self.mem_limit or 0
        cfg.wall_limit_s = self.wall_limit or 0.0    # 0: no limit
        cfg.deterministic = 1 if self.deterministic else 0
        cfg.seed = self.seed
        cfg.ns_per_insn = self.ns_per_insn
        cfg.jit_hot = self.jit_hot
        cfg.jit_profile_insns = self.jit_profile_insns
        cfg.jit_cache_bytes = self.jit_cache_bytes
        cfg.max_threads = self.max_threads
        cfg.quantum = self.quantum
        cfg.schedule = SCHEDULES[self.schedule]
        cfg.watch = WATCH_MECHANISMS[self.watch] if self.watch else 0
        cfg.watch_cache = self.watch_cache
        cfg.watch_blb = self.watch_blb
        cfg.watch_blb_runs = self.watch_blb_runs
        cfg.watch_trace = 1 if self.watch_trace else 0
        keep = []  # keep cffi buffers alive during the call
        if self.root is not False:
            root_c = ffi.new("char[]", os.fsencode(str(self.root)))
            keep.append(root_c)
            cfg.root = root_c
        cwd_c = ffi.new("char[]", os.fsencode(self.cwd))
        keep.append(cwd_c)
        cfg.cwd = cwd_c

        with _Stdio(capture, stdin) as io:
            cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd = io.fds
            err = ffi.new("char[512]")
            m = lib.wb_machine_create(cfg, err, 512)
            if m == ffi.NULL:
                raise ConfigError(ffi.string(err).decode(errors="replace"))
            try:
                c_argv = [ffi.new("char[]", os.fsencode(a)) for a in argv]
                env_items = [f"{k}={v}" for k, v in self.env.items()]
                c_env = [ffi.new("char[]", os.fsencode(e)) for e in env_items]
                argv_arr = ffi.new("char *[]", c_argv)
                env_arr = ffi.new("char *[]", c_env or [ffi.NULL])
                rc = lib.wb_machine_load(m, os.fsencode(str(path)), len(c_argv), argv_arr,
                                         len(c_env), env_arr, err, 512)
                if rc != 0:
                    raise LoadError(f"{path}: {ffi.string(err).decode(errors='replace')}")
                for c in self.clients:
                    if lib.wb_machine_add_client_opts(m, c.encode(), options[c].encode(), err, 512) != 0:
                        raise ConfigError(ffi.string(err).decode(errors="replace"))
                lib.wb_machine_set_drain_bytes(m, self.drain_bytes)
                res = ffi.new("wb_result *")
                chunks: dict[str, tuple] = {}
                drains = 0
                seconds = 0.0
                kept = 0
                while True:
                    lib.wb_machine_run(m, res)
                    seconds += res.host_ns / 1e9
                    kept += _drain_streams(m, chunks, on_records)
                    if kept > max_record_bytes:
                        raise WorkbenchError(
                            f"client records passed max_record_bytes={max_record_bytes} after "
                            f"{int(res.instret)} instructions; pass on_records= to stream them "
                            f"(e.g. to a zarr store) instead of keeping them in memory")
                    if ffi.string(lib.wb_reason_name(res.reason)).decode() != "drain":
                        break
                    drains += 1
                records = {k: _concat(v) for k, v in chunks.items()}
                counts = lib.wb_machine_syscall_counts(m)
                other = ffi.new("uint64_t *")
                unknown = lib.wb_machine_unknown_syscalls(m, other)
                syscalls = {}
                unknown_d = {}
                for nr in range(WB_MAX_SYSCALL):
                    if counts[nr]:
                        name = lib.wb_syscall_name(nr)
                        syscalls[ffi.string(name).decode() if name != ffi.NULL else f"sys_{nr}"] = int(counts[nr])
                    if unknown[nr]:
                        unknown_d[nr] = int(unknown[nr])
                if other[0]:
                    unknown_d[-1] = int(other[0])
                threads = [int(lib.wb_machine_hart_instret(m, i)) for i in range(lib.wb_machine_hart_count(m))]
                watch = _watch_stats(m) if self.watch else None
                aikido = _stats(m, "aikido")
                fasttrack = _stats(m, "fasttrack")
                reg_d = None
                if regs:
                    x = ffi.new("uint64_t[32]")
                    f = ffi.new("uint64_t[32]")
                    pc = ffi.new("uint64_t *")
                    fcsr = ffi.new("uint32_t *")
                    lib.wb_machine_regs(m, x, f, pc, fcsr)
                    reg_d = {"x": list(x), "f": list(f), "pc": int(pc[0]), "fcsr": int(fcsr[0])}
            finally:
                lib.wb_machine_destroy(m)
            out, errb = io.collect()
        return Run(
            program=str(path), args=args,
            reason=ffi.string(lib.wb_reason_name(res.reason)).decode(),
            exit_code=int(res.exit_code), message=ffi.string(res.message).decode(errors="replace"),
            pc=int(res.pc), fault_addr=int(res.fault_addr), instructions=int(res.instret),
            seconds=seconds, blocks_translated=int(res.blocks_translated),
            cache_flushes=int(res.cache_flushes), mem_peak=int(res.mem_peak),
            syscalls=syscalls, unknown_syscalls=unknown_d, stdout=out, stderr=errb,
            config=self.config, regs=reg_d, records=records, drains=drains,
            thread_instructions=threads, watch=watch, aikido=aikido, fasttrack=fasttrack,
        )


def _stats(m, what: str) -> dict | None:
    """The counters of ``wb_machine_<what>_stats`` (aikido, fasttrack) as a dict of ints, or
    None when the run had no such client."""
    st = ffi.new(f"wb_{what}_stats *")
    if getattr(lib, f"wb_machine_{what}_stats")(m, st) != 0:
        return None
    out = {}
    for f, field in ffi.typeof(f"wb_{what}_stats").fields:
        if field.type.kind == "struct":      # fasttrack's units (wb_watch_counters): unit_<name>
            out.update({f"unit_{g}": int(getattr(getattr(st, f), g)) for g, _ in field.type.fields})
        else:
            out[f] = int(getattr(st, f))
    return out


def _watch_stats(m) -> dict:
    """The watchpoint unit's counters (wb_watch_stats) as a flat dict of ints."""
    st = ffi.new("wb_watch_stats *")
    lib.wb_machine_watch_stats(m, st)
    out = {f: int(getattr(st.unit, f)) for f, _ in ffi.typeof("wb_watch_counters").fields}
    out.update({f: int(getattr(st, f)) for f, _ in ffi.typeof("wb_watch_stats").fields if f != "unit"})
    ts = ffi.new("wb_taint_stats *")
    if lib.wb_machine_taint_stats(m, ts) == 0:    # taint tracking on (the taint client)
        out.update({f"taint_{f}": int(getattr(ts, f)) for f, _ in ffi.typeof("wb_taint_stats").fields})
    return out


def _drain_streams(m, chunks: dict, on_records=None) -> int:
    """Move every client stream's pending records out of the engine (into ``chunks``, or to
    ``on_records``) and clear it. Returns the bytes kept."""
    if not lib.wb_machine_stream_count(m):  # no client: no numpy (wb run's start-up)
        return 0
    import numpy as np

    from .events import STREAMS

    kept = 0
    nbytes = ffi.new("uint64_t *")
    for i in range(lib.wb_machine_stream_count(m)):
        name = ffi.string(lib.wb_machine_stream_name(m, i)).decode()
        size = lib.wb_machine_stream_record_size(m, i)
        dtype = STREAMS[name].dtype if name in STREAMS else np.dtype((np.void, size))
        # each hart's records in the order it produced them, hart after hart
        for hart in range(lib.wb_machine_hart_count(m)):
            ptr = lib.wb_machine_stream_data(m, i, hart, nbytes)
            n = int(nbytes[0])
            if on_records is not None:
                if n:
                    view = np.frombuffer(ffi.buffer(ptr, n), dtype=dtype)
                    view.flags.writeable = False
                    on_records(name, view)
            else:
                # one growing buffer per stream: each record is copied once
                chunks.setdefault(name, (dtype, bytearray()))[1].extend(ffi.buffer(ptr, n))
                kept += n
        lib.wb_machine_stream_clear(m, i)
    return kept


def _concat(chunk) -> "np.ndarray":
    """One array over a stream's raw bytes (kept as bytes: numpy's own copies of structured
    arrays skip pad bytes, and the records must stay bit-exact)."""
    import numpy as np

    dtype, raw = chunk
    return np.frombuffer(raw, dtype=dtype)


def resolve_program(program) -> Path:
    """The ELF path of ``program``: an existing file, or a guest name (built on first use).
    LoadError when it is neither."""
    p = Path(program)
    if p.exists():
        if not p.is_file():
            raise LoadError(f"{p}: not a regular file")
        return p
    if os.sep not in str(program):
        from . import guests  # a guest name such as "lua54" or "zstd-glibc"
        try:
            return guests.build(str(program))
        except guests.UnknownGuestError:
            pass
    raise LoadError(f"{program}: no such file (and not a known guest; see `wb guest list`)")


class _Stdio:
    """Host fds behind the guest's 0/1/2: temp files when capturing (no pipe can fill up
    and stall the guest), the caller's own stdio otherwise."""

    def __init__(self, capture: bool, stdin):
        self.capture = capture
        self.stdin = stdin
        self._files = []

    def __enter__(self):
        if isinstance(self.stdin, int):
            fin = None  # an open host fd, passed through
        elif self.stdin is None:
            fin = open(os.devnull, "rb")
        elif isinstance(self.stdin, bytes):
            fin = tempfile.TemporaryFile()
            fin.write(self.stdin)
            fin.seek(0)
        else:
            try:
                fin = open(self.stdin, "rb")
            except OSError as e:
                raise ConfigError(f"stdin: cannot open {self.stdin!r}: {e.strerror}") from None
        in_fd = self.stdin if fin is None else fin.fileno()
        if fin is not None:
            self._files.append(fin)
        if self.capture:
            self.out = tempfile.TemporaryFile()
            self.err = tempfile.TemporaryFile()
            self._files += [self.out, self.err]
            self.fds = (in_fd, self.out.fileno(), self.err.fileno())
        else:
            import sys
            for s in (sys.stdout, sys.stderr):
                try:
                    s.flush()
                except Exception:
                    pass
            self.fds = (in_fd, _fileno(sys.stdout, 1), _fileno(sys.stderr, 2))
        return self

    def collect(self):
        if not self.capture:
            return None, None
        self.out.seek(0)
        self.err.seek(0)
        return self.out.read(), self.err.read()

    def __exit__(self, *exc):
        for f in self._files:
            f.close()


def _fileno(stream, default: int) -> int:
    try:
        return stream.fileno()
    except Exception:
        return default


def syscall_name(nr: int) -> str | None:
    """Name of a riscv64 Linux syscall number as the engine knows it.

    >>> syscall_name(64)
    'write'
    """
    s = lib.wb_syscall_name(nr)
    return None if s == ffi.NULL else ffi.string(s).decode()


def disassemble(raw: int, pc: int = 0) -> str:
    """Disassemble one instruction encoding.

    >>> disassemble(0x00a50533)
    'add a0, a0, a0'
    """
    buf = ffi.new("char[128]")
    lib.wb_disassemble(raw & 0xFFFFFFFF, pc, buf, 128)
    return ffi.string(buf).decode()


def engine_version() -> str:
    """Version string of the native engine."""
    return ffi.string(lib.wb_engine_version()).decode()


__all__ = ["Machine", "Run", "available_tiers", "syscall_name", "disassemble", "engine_version"]

