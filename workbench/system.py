"""System mode: a RISC-V ``virt`` board (qemu's layout) that boots M-mode firmware (OpenSBI's
``fw_jump``, or a bare-metal program of ours) and, behind it, a Linux kernel with an initramfs.

A :class:`System` describes the board and its images; :meth:`System.boot` runs it until the
guest powers off (or a limit stops it) and returns a :class:`Boot` with the console output
(the UART), the exit status the guest gave through the test device, instruction and
interrupt counts, and the run's stop reason. Deterministic by default: device time follows
the instruction count, so the same images boot to the same console bit for bit.

>>> from workbench import System
>>> boot = System(firmware="fw_jump.bin", kernel="Image", initrd="initramfs.cpio",
...               bootargs="console=ttyS0").boot(max_insns=5_000_000_000)  # doctest: +SKIP
>>> boot.ok, boot.console.splitlines()[-1]  # doctest: +SKIP
(True, 'wb-init: done')

Both tiers run system mode (the JIT by default where the host has it, as for a Machine) and
boot to the same instruction count; ``harts=2`` (up to 8) runs an SMP kernel on harts that
take turns on one host thread, deterministically.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from ._engine import ffi, lib
from .errors import ConfigError, LoadError
from .machine import TIERS, _concat, _drain_streams, available_clients, default_tier, _check_bool, _check_int, _check_seconds, _check_text

#: interrupt numbers (mcause without the interrupt bit) and their names
IRQ_NAMES = {1: "SSI", 3: "MSI", 5: "STI", 7: "MTI", 9: "SEI", 11: "MEI"}
#: the interrupt log's fields (engine.h wb_irq_record)
IRQ_FIELDS = ("cause", "arrival_insn", "delivery_insn", "arrival_ns", "delivery_ns", "pc", "from_priv",
              "to_priv", "hart")

#: RAM sizes the board accepts (bytes): multiples of 2 MiB from 16 MiB to 2 GiB
RAM_MIN, RAM_MAX = 16 << 20, 2 << 30


@dataclasses.dataclass
class Boot:
    """The outcome of one boot: ``reason`` as :class:`workbench.Run`'s (``exit`` when the
    guest powered off: ``exit_code`` is the code it gave, 0 for a plain poweroff),
    ``console`` the UART's output (decoded as UTF-8, undecodable bytes replaced), and
    ``console_bytes`` the raw bytes."""

    reason: str
    exit_code: int
    message: str
    pc: int
    instructions: int
    interrupts: int
    seconds: float
    blocks_translated: int
    console_bytes: bytes
    config: dict = dataclasses.field(default_factory=dict)
    #: how the guest used the power switch: "off", "reboot" (the board stops instead; Linux
    #: with panic=-1 reboots after a panic) or None
    power: str | None = None
    #: every interrupt taken (numpy structured array, fields as :data:`IRQ_FIELDS`); see
    #: :attr:`interrupt_log` for the table
    irq_records: object = None
    irq_dropped: int = 0
    #: client stream name -> numpy array of its records (System(clients=[...]))
    records: dict = dataclasses.field(default_factory=dict)

    def events(self, stream: str):
        """The records of client stream ``stream`` as an ``xarray.Dataset`` (the schemas of
        ``workbench.events``; in system mode ``addr`` is the virtual address and ``priv`` the
        privilege it was accessed at)."""
        from . import events as ev

        if stream not in self.records:
            raise KeyError(f"no stream {stream!r} in this boot (streams: {sorted(self.records)}; "
                           f"add its client with System(clients=[...]))")
        prov = ev.provenance(workload=Path(str(self.config.get("kernel") or self.config.get("firmware"))).name,
                             program=str(self.config.get("firmware")), config=self.config, args="",
                             reason=self.reason)
        return ev.to_dataset(stream, self.records[stream], provenance=prov)

    @property
    def interrupt_log(self):
        """One row per interrupt taken, in order (a pandas DataFrame): ``cause`` (number) and
        ``name`` (``MTI``, ``STI``, ``SEI``...), ``arrival_insn`` / ``delivery_insn`` (the
        hart's instruction count when the line rose and when the hart took it),
        ``latency_insns``, ``arrival_ns`` / ``delivery_ns`` (host monotonic clock) and
        ``latency_ns``, ``pc`` (interrupted), ``from_priv`` / ``to_priv`` (0 U, 1 S, 3 M),
        ``hart``. Past the engine's cap (``irq_dropped`` > 0) later interrupts are only counted.

        >>> log = boot.interrupt_log                                   # doctest: +SKIP
        >>> log.groupby("name").latency_insns.describe()               # doctest: +SKIP
        """
        import pandas as pd

        recs = self.irq_records
        df = pd.DataFrame({f: recs[f] for f in IRQ_FIELDS} if recs is not None else {f: [] for f in IRQ_FIELDS})
        df.insert(1, "name", [IRQ_NAMES.get(int(c), str(c)) for c in df["cause"]])
        df["latency_insns"] = df["delivery_insn"].astype("int64") - df["arrival_insn"].astype("int64")
        df["latency_ns"] = df["delivery_ns"].astype("int64") - df["arrival_ns"].astype("int64")
        return df

    @property
    def console(self) -> str:
        return self.console_bytes.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        """The guest powered off by itself with exit code 0."""
        return self.reason == "exit" and self.power == "off" and self.exit_code == 0

    @property
    def panic(self) -> str | None:
        """The kernel's panic line (``Kernel panic - not syncing: ...``) when it panicked."""
        for line in self.console.splitlines():
            i = line.find("Kernel panic - not syncing")
            if i >= 0:
                return line[i:].strip()
        return None

    @property
    def summary(self) -> str:
        """One line on how the boot ended, for reports and ``wb boot``."""
        if self.panic:
            return f"kernel panic: {self.panic}"
        if self.reason == "exit" and self.power == "reboot":
            return "the guest rebooted (the board stops instead)"
        return f"{self.reason}: {self.message}"

    @property
    def mips(self) -> float:
        return self.instructions / self.seconds / 1e6 if self.seconds > 0 else 0.0


def _interrupt_log(m):
    """The machine's interrupt log as a numpy structured array, and how many were dropped."""
    import numpy as np

    total, dropped = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    lib.wb_system_interrupt_log(m, 0, ffi.NULL, 0, total, dropped)
    n = int(total[0] - dropped[0])
    dtype = np.dtype([("arrival_insn", "<u8"), ("delivery_insn", "<u8"), ("arrival_ns", "<u8"),
                      ("delivery_ns", "<u8"), ("pc", "<u8"), ("cause", "<u4"), ("hart", "u1"),
                      ("from_priv", "u1"), ("to_priv", "u1"), ("pad", "u1")])
    assert dtype.itemsize == ffi.sizeof("wb_irq_record")
    recs = np.zeros(n, dtype)
    if n:
        got = lib.wb_system_interrupt_log(m, 0, ffi.cast("wb_irq_record *", recs.ctypes.data), n, ffi.NULL,
                                          ffi.NULL)
        recs = recs[:got]
    return recs, int(dropped[0])


@contextlib.contextmanager
def _console_sink(out, echo_fd):
    """The descriptor the engine writes the console to: ``out`` itself, or (``echo_fd``) a pipe
    that a thread copies to both ``out`` and ``echo_fd`` as the bytes come."""
    if echo_fd is None:
        yield out.fileno()
        return
    r, w = os.pipe()

    def copy():
        while chunk := os.read(r, 65536):
            out.write(chunk)
            out.flush()
            try:
                os.write(echo_fd, chunk)
            except OSError:
                pass       # the echo's reader went away; the console is still kept
    t = threading.Thread(target=copy, name="wb-console", daemon=True)
    t.start()
    try:
        yield w
    finally:
        os.close(w)        # (the machine is destroyed by now: nothing writes any more)
        t.join()
        os.close(r)


class Injector:
    """What an injector function gets (``System.boot(injector=...)``): raise the machine
    software interrupt of a hart at a moment the injector chooses, from its own thread.

    ``ipi()`` returns True when it raised a new interrupt and False when the last one was not
    taken yet (it merges, as on hardware); ``accepted`` counts the True ones; ``done`` is set
    when the run ended (no interrupt is raised after it)."""

    def __init__(self, machine):
        self._m = machine
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.accepted = 0
        self.merged = 0

    def ipi(self, hart: int = 0) -> bool:
        with self._lock:
            if self.done.is_set():
                return False
            r = int(lib.wb_system_inject_ipi(self._m, hart))
        if r < 0:
            raise ConfigError(f"cannot inject an interrupt into hart {hart}")
        if r:
            self.accepted += 1
        else:
            self.merged += 1
        return bool(r)

    def _close(self):
        with self._lock:
            self.done.set()


class System:
    """A virt board: firmware, optional kernel/initramfs/disk, RAM size and hart count.

    Images are paths. ``kernel`` is a RISC-V Linux ``Image`` (or an ELF); ``initrd`` a newc
    cpio archive; ``bootargs`` the kernel command line. Bad values raise ConfigError here;
    images that are missing or malformed raise LoadError from :meth:`boot`.
    """

    def __init__(self, firmware, *, kernel=None, initrd=None, bootargs: str = "", disk=None,
                 ram_mb: int = 256, harts: int = 1, tier: str | None = None,
                 deterministic: bool = True, ns_per_insn: int = 1, jit_hot: int | None = None,
                 clients: Sequence[str] = ()):
        self.firmware = _check_text("firmware", firmware, path=True)
        self.kernel = None if kernel is None else _check_text("kernel", kernel, path=True)
        self.initrd = None if initrd is None else _check_text("initrd", initrd, path=True)
        self.disk = None if disk is None else _check_text("disk", disk, path=True)
        self.bootargs = _check_text("bootargs", bootargs)
        self.ram_mb = _check_int("ram_mb", ram_mb, RAM_MIN >> 20, RAM_MAX >> 20)
        if self.ram_mb % 2:
            raise ConfigError(f"ram_mb must be even (RAM comes in 2 MiB pages), got {ram_mb}")
        self.harts = _check_int("harts", harts, 1, 8)
        if tier is None:
            tier = default_tier()
        if tier not in TIERS:
            raise ConfigError(f"unknown tier {tier!r}; tiers: {sorted(TIERS)}")
        self.tier = tier
        self.deterministic = _check_bool("deterministic", deterministic)
        self.ns_per_insn = _check_int("ns_per_insn", ns_per_insn, 1, 1_000_000)
        # JIT tier: executions of a block in the interpreter before it is translated
        self.jit_hot = None if jit_hot is None else _check_int("jit_hot", jit_hot, 0, 1 << 30)
        # built-in analysis clients (workbench.available_clients()): they see the kernel and
        # the user programs alike, with virtual addresses and the privilege
        known = available_clients()
        if isinstance(clients, str) or any(c not in known for c in clients) or len(set(clients)) != len(clients):
            raise ConfigError(f"clients must be a list of distinct built-in clients {known}, got {clients!r}")
        self.clients = list(clients)

    @property
    def config(self) -> dict:
        return {"firmware": self.firmware, "kernel": self.kernel, "initrd": self.initrd,
                "bootargs": self.bootargs, "disk": self.disk, "ram_mb": self.ram_mb,
                "harts": self.harts, "tier": self.tier, "deterministic": self.deterministic,
                "ns_per_insn": self.ns_per_insn, "jit_hot": self.jit_hot, "clients": self.clients}

    def boot(self, *, max_insns: int | None = None, wall_limit: float | None = None,
             console_input: bytes = b"", console_fd: int | None = None, injector=None) -> Boot:
        """Run the board until the guest powers off or a limit stops it.

        ``max_insns`` bounds the instructions (None: no bound), ``wall_limit`` the host
        seconds; ``console_input`` is typed on the console before the first instruction.
        ``console_fd``: write the console there as it comes (``wb boot`` passes stdout);
        ``Boot.console`` then also holds it. ``injector`` (host-clock mode only): a function
        run on its own thread while the board runs, given an :class:`Injector` to raise
        interrupts with at moments of its choosing (the random-interrupt test).
        """
        if injector is not None and self.deterministic:
            raise ConfigError("an injector needs deterministic=False (its interrupts come at host moments)")
        max_insns = 0 if max_insns is None else _check_int("max_insns", max_insns, 1)
        wall = _check_seconds("wall_limit", wall_limit)
        cfg = ffi.new("wb_config *")
        lib.wb_config_init(cfg)
        cfg.tier = TIERS[self.tier]
        cfg.max_insns = max_insns
        cfg.wall_limit_s = wall or 0.0
        cfg.deterministic = 1 if self.deterministic else 0
        cfg.ns_per_insn = self.ns_per_insn
        if self.jit_hot is not None:
            cfg.jit_hot = self.jit_hot
        cfg.schedule = 0
        keep = []

        def c_str(v):
            if v is None:
                return ffi.NULL
            b = ffi.new("char[]", os.fsencode(str(v)))
            keep.append(b)
            return b

        b = ffi.new("wb_boot *")
        b.firmware, b.kernel, b.initrd = c_str(self.firmware), c_str(self.kernel), c_str(self.initrd)
        b.bootargs, b.disk = c_str(self.bootargs), c_str(self.disk)
        b.ram_bytes = self.ram_mb << 20
        b.harts = self.harts
        with tempfile.TemporaryFile() as out, open(os.devnull, "rb") as devnull:
            with _console_sink(out, console_fd) as sink:
                cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd = devnull.fileno(), sink, sink
                err = ffi.new("char[512]")
                m = lib.wb_system_create(cfg, b, err, 512)
                if m == ffi.NULL:
                    msg = ffi.string(err).decode(errors="replace")
                    # the engine names the image a load error is about first
                    image = msg.split(" ", 1)[0] in ("firmware", "kernel", "initrd", "disk")
                    raise (LoadError if image else ConfigError)(msg)
                inj = thread = None
                try:
                    if console_input:
                        lib.wb_system_console_input(m, console_input, len(console_input))
                    for c in self.clients:
                        if lib.wb_machine_add_client_opts(m, c.encode(), b"", err, 512) != 0:
                            raise ConfigError(ffi.string(err).decode(errors="replace"))
                    res = ffi.new("wb_result *")
                    chunks: dict = {}
                    if injector is not None:
                        inj = Injector(m)
                        thread = threading.Thread(target=injector, args=(inj,), name="wb-injector", daemon=True)
                        thread.start()
                    try:
                        while True:   # a full stream pauses the run: drain it and go on
                            lib.wb_machine_run(m, res)
                            _drain_streams(m, chunks)
                            if ffi.string(lib.wb_reason_name(res.reason)).decode() != "drain":
                                break
                    finally:
                        if inj is not None:
                            inj._close()
                            thread.join()
                    interrupts = int(lib.wb_system_interrupts(m))
                    power = {1: "off", 2: "reboot"}.get(int(lib.wb_system_power(m)))
                    irqs, dropped = _interrupt_log(m)
                finally:
                    lib.wb_machine_destroy(m)
            out.seek(0)
            console = out.read()
        return Boot(reason=ffi.string(lib.wb_reason_name(res.reason)).decode(),
                    exit_code=int(res.exit_code), message=ffi.string(res.message).decode(errors="replace"),
                    pc=int(res.pc), instructions=int(res.instret), interrupts=interrupts,
                    seconds=res.host_ns / 1e9, blocks_translated=int(res.blocks_translated),
                    console_bytes=console, config=self.config, power=power, irq_records=irqs,
                    irq_dropped=dropped, records={k: _concat(v) for k, v in chunks.items()})
