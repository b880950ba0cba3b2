"""Linux on the engine's virt board, checked against qemu-system-riscv64 (system mode).

Debian's OpenSBI fw_jump, our Linux 6.1 Image and the initramfs of our guests boot on both;
the kernel reaches our /init, which runs lua54 scripts and a zstd round trip and powers off.
The consoles must agree line for line from the kernel banner on, once the timings are
normalised and the documented board differences (workbench.kernels.KNOWN_BOARD_DIFFERENCES)
are left out. Also: a deterministic boot is the same bit for bit twice, a kernel panic and a
hang end with clear reasons, and `wb boot` does the same from the command line.

The first run on a machine includes the cold kernel build (see kernels/README.md).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from workbench import System, available_tiers, kernels

pytestmark = [
    pytest.mark.timeout(3600),   # the cold kernel build, once per machine
    pytest.mark.skipif(not kernels.LINUX_SOURCE_TARBALL.is_file() or shutil.which("riscv64-linux-gnu-gcc") is None
                       or not kernels.OPENSBI_FW_JUMP.is_file(),
                       reason="linux-source-6.1, gcc-riscv64-linux-gnu or opensbi is missing (make test installs them)"),
]


@pytest.fixture(scope="module")
def images():
    return kernels.build_linux().image, kernels.build_initramfs()


def _system(images, append=kernels.DEFAULT_APPEND, **kw):
    image, rd = images
    return System(kernels.OPENSBI_FW_JUMP, kernel=image, initrd=rd, bootargs=append, **kw)


@pytest.fixture(scope="module")
def engine_boot(images):
    return _system(images, tier="interp").boot(wall_limit=600)


@pytest.fixture(scope="module")
def jit_boot(images):
    if "jit" not in available_tiers():
        pytest.skip("no JIT tier on this host")
    return _system(images, tier="jit").boot(wall_limit=600)


def test_jit_boots_exactly_as_the_interpreter(engine_boot, jit_boot):
    """The JIT tier (translated code, memory through the soft MMU, chaining within a page) boots
    to the interpreter's console, instruction count and interrupt log: every interrupt lands at
    the same instruction on both tiers."""
    assert jit_boot.ok, (jit_boot.summary, jit_boot.console[-3000:])
    assert jit_boot.console_bytes == engine_boot.console_bytes
    assert (jit_boot.instructions, jit_boot.interrupts) == (engine_boot.instructions, engine_boot.interrupts)
    cols = ["cause", "arrival_insn", "delivery_insn", "pc", "from_priv", "to_priv"]
    assert jit_boot.interrupt_log[cols].equals(engine_boot.interrupt_log[cols])


def test_linux_boots_to_our_init_and_powers_off(engine_boot):
    b = engine_boot
    assert b.ok, (b.summary, b.console[-3000:])
    assert b.panic is None
    con = b.console
    assert "OpenSBI v" in con and "Linux version 6.1" in con
    for line in ("wb-init: /bin/lua54 exited with status 0", "round-trip OK",
                 "wb-init: /bin/zstd exited with status 0", "wb-init: done", "reboot: Power down"):
        assert line in con, line
    assert b.interrupts > 100          # the timer tick reached the kernel (through OpenSBI)
    assert b.instructions > 50_000_000


#: lines of the async work that unpacks the initramfs: they land where that work's timing puts
#: them, which on qemu follows the host's load (they moved in a CI run on a busy machine)
ASYNC_INITRAMFS = ("Unpacking initramfs...", "Freeing initrd memory:")


def _without_async_initramfs(con: str) -> str:
    """The console without the initramfs work's lines, each of which must be there once."""
    for line in ASYNC_INITRAMFS:
        assert con.count(line) == 1, line
        con = re.sub(r"^[^\n]*" + re.escape(line) + r"[^\n]*\n", "", con, flags=re.M)
    return con


@pytest.mark.skipif(shutil.which("qemu-system-riscv64") is None, reason="qemu-system-misc is missing")
def test_console_matches_qemu(images, engine_boot):
    """Line for line, but for where the initramfs work's lines land (ASYNC_INITRAMFS)."""
    q = kernels.boot_qemu(images[0], images[1], timeout=300)
    assert q.powered_off, q.console[-3000:]
    diff = kernels.console_differences(_without_async_initramfs(q.console),
                                       _without_async_initramfs(engine_boot.console))
    assert not diff, "\n".join(diff[:80])


def test_known_differences_still_differ(images, engine_boot):
    """Every documented difference is one our console shows (a fixed one must leave the list)."""
    import re

    con = kernels.normalize_console(engine_boot.console).splitlines()
    ours = [p for p in kernels.KNOWN_BOARD_DIFFERENCES if "sstc" not in p]   # a line only qemu prints
    for pat in ours:
        assert any(re.search(pat, ln) for ln in con), pat


@pytest.mark.skipif("jit" not in available_tiers(), reason="no JIT tier on this host")
def test_tiers_agree_when_device_time_runs_at_another_pace(images):
    """With 2 ns per instruction the timer's deadlines fall elsewhere (one inside the block the
    JIT was about to enter once made its dispatcher loop forever): both tiers still boot to
    the same instruction count."""
    a, b = (_system(images, tier=t, ns_per_insn=2).boot(wall_limit=300) for t in ("interp", "jit"))
    assert a.ok and b.ok, (a.summary, b.summary)
    assert (a.instructions, a.interrupts, a.console_bytes) == (b.instructions, b.interrupts, b.console_bytes)


def test_deterministic_boot_is_identical(images, engine_boot):
    again = _system(images, tier="interp").boot(wall_limit=600)
    assert again.console_bytes == engine_boot.console_bytes
    assert (again.instructions, again.interrupts) == (engine_boot.instructions, engine_boot.interrupts)
    cols = ["cause", "arrival_insn", "delivery_insn", "pc"]
    assert again.interrupt_log[cols].equals(engine_boot.interrupt_log[cols])


def test_interrupt_log_records_every_interrupt(engine_boot):
    log = engine_boot.interrupt_log
    assert len(log) == engine_boot.interrupts and engine_boot.irq_dropped == 0
    assert (log.delivery_insn >= log.arrival_insn).all() and (log.latency_ns >= 0).all()
    assert log.delivery_insn.is_monotonic_increasing
    # OpenSBI keeps M's timer and forwards it to the kernel as STI; the UART's interrupts
    # come through the PLIC as SEI, handled by the kernel
    assert set(log.name) <= {"MTI", "STI", "SEI", "SSI", "MSI", "MEI"}
    assert set(log[log.name == "MTI"].to_priv) == {3} and set(log[log.name == "STI"].to_priv) == {1}
    assert (log.name == "STI").sum() > 10 and (log.name == "SEI").sum() > 10
    # every STI follows the MTI whose handler raised it
    sti = log.index[log.name == "STI"]
    assert (log.loc[sti - 1, "name"].values == "MTI").all()


@pytest.fixture(scope="module")
def smp_boots(images):
    """Linux on two harts, on each tier (deterministic: the harts run in turn)."""
    return {t: _system(images, tier=t, harts=2).boot(wall_limit=600) for t in available_tiers()}


def test_linux_boots_on_two_harts(smp_boots):
    """OpenSBI starts both harts, the kernel brings the second up through SBI HSM, and user
    programs run with IPIs (rescheduling, remote fences through SBI) between the harts."""
    for tier, b in smp_boots.items():
        assert b.ok, (tier, b.summary, b.console[-3000:])
        con = b.console
        assert "smp: Brought up 1 node, 2 CPUs" in con, (tier, con[-3000:])
        assert "wb-init: 4 of 4 steps ok" in con
        log = b.interrupt_log
        assert set(log.hart) == {0, 1}, tier
        # the second hart got its own timer ticks and software interrupts (IPIs) from the first
        assert ((log.hart == 1) & (log.name == "STI")).sum() > 5
        assert ((log.hart == 1) & (log.name == "MSI")).sum() > 0


def test_two_hart_boot_is_deterministic_and_tiers_agree(images, smp_boots):
    first = next(iter(smp_boots.values()))
    again = _system(images, tier="interp", harts=2).boot(wall_limit=600)
    for b in [again, *smp_boots.values()]:
        assert b.console_bytes == first.console_bytes
        assert (b.instructions, b.interrupts) == (first.instructions, first.interrupts)
    cols = ["cause", "hart", "arrival_insn", "delivery_insn", "pc"]
    assert again.interrupt_log[cols].equals(first.interrupt_log[cols])


@pytest.mark.skipif(shutil.which("qemu-system-riscv64") is None, reason="qemu-system-misc is missing")
def test_two_hart_console_matches_qemu(images, smp_boots):
    """Line for line, except where the kernel's own concurrency decides the order: the
    initramfs is unpacked by async work on whichever hart is free, so its lines (unpacking,
    and freeing the initrd when that is done) land where that hart's timing puts them (on
    qemu too, from run to run); each must be there once (_without_async_initramfs)."""
    q = kernels.boot_qemu(images[0], images[1], timeout=300, smp=2)
    assert q.powered_off, q.console[-3000:]
    ours = next(iter(smp_boots.values())).console
    diff = kernels.console_differences(_without_async_initramfs(q.console), _without_async_initramfs(ours))
    assert not diff, "\n".join(diff[:80])


def _disk(tmp_path, size=2 << 20, seed=12):
    """A raw disk image of seeded random bytes, its content and the FNV-1a 64 hash /init prints."""
    import random

    data = random.Random(seed).randbytes(size)
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & (2**64 - 1)
    return path, data, f"{h:016x}"


def _check_disk_round_trip(console, path, data, digest):
    assert f"wb-init: disk /dev/vda: {len(data)} bytes, fnv1a64 {digest}" in console, console[-3000:]
    assert "wb-init: disk: wrote its last sector" in console
    after = path.read_bytes()
    assert len(after) == len(data) and after[:-512] == data[:-512]
    assert after[-512:] == f"wb-init: disk read back, fnv1a64 {digest}\n".encode().ljust(512, b"\0")


@pytest.mark.parametrize("tier,deterministic,harts", [("interp", True, 1), ("jit", True, 1), ("jit", False, 1),
                                                      ("interp", False, 1), ("jit", False, 2)])
def test_linux_reads_and_writes_a_virtio_disk(tmp_path, images, tier, deterministic, harts):
    """/init reads the whole disk through Linux's virtio-blk driver (its hash must be the
    host's) and writes its last sector (the file must hold it afterwards). In host-clock mode
    the device serves requests on its own I/O thread and the completion interrupts arrive
    whenever the host's I/O ends."""
    if tier not in available_tiers():
        pytest.skip(f"no {tier} tier on this host")
    path, data, digest = _disk(tmp_path)
    b = _system(images, tier=tier, deterministic=deterministic, disk=path, harts=harts).boot(wall_limit=600)
    assert b.ok, (b.summary, b.console[-3000:])
    _check_disk_round_trip(b.console, path, data, digest)
    assert "virtio_blk virtio0: [vda] 4096 512-byte logical blocks" in b.console
    # the disk's completions came as external interrupts through the PLIC
    assert (b.interrupt_log.name == "SEI").sum() > 10


@pytest.mark.skipif(shutil.which("qemu-system-riscv64") is None, reason="qemu-system-misc is missing")
def test_disk_console_matches_qemu(tmp_path, images):
    """The same disk on qemu's virt board: the same console (driver lines and /init's hash) and
    the same file afterwards."""
    path, data, digest = _disk(tmp_path)
    q = kernels.boot_qemu(images[0], images[1], timeout=300, disk=path)
    assert q.powered_off, q.console[-3000:]
    _check_disk_round_trip(q.console, path, data, digest)
    path.write_bytes(data)
    ours = _system(images, disk=path).boot(wall_limit=600)
    _check_disk_round_trip(ours.console, path, data, digest)
    diff = kernels.console_differences(_without_async_initramfs(q.console), _without_async_initramfs(ours.console))
    assert not diff, "\n".join(diff[:80])


def test_kernel_panic_is_reported(images):
    b = _system(images, append="console=ttyS0 panic=-1 rdinit=/no/such/init").boot(wall_limit=600)
    assert not b.ok
    # no such rdinit: the kernel falls back to a root device, finds none and panics
    assert b.panic and b.panic.startswith("Kernel panic - not syncing: VFS:"), b.console[-2000:]
    assert b.power == "reboot" and b.summary.startswith("kernel panic: ")
    assert "Call Trace:" in b.console            # the console is kept up to the end


def test_a_hung_boot_stops_at_its_budget(images):
    b = _system(images).boot(max_insns=20_000_000)
    assert b.reason == "budget" and b.power is None and not b.ok
    assert "OpenSBI v" in b.console                   # what it printed so far is kept


def test_not_a_kernel_is_a_load_error(tmp_path, images):
    from workbench import LoadError

    junk = tmp_path / "Image"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    with pytest.raises(LoadError, match="kernel"):
        System(kernels.OPENSBI_FW_JUMP, kernel=junk, initrd=images[1]).boot()


def test_wb_boot_command(tmp_path, images):
    out = tmp_path / "boot.json"
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "boot", "--kernel", str(images[0]),
                        "--initrd", str(images[1]), "--json", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "wb-init: done" in r.stdout and "instructions" in r.stderr
    stats = json.loads(out.read_text())
    assert stats["power"] == "off" and stats["exit_code"] == 0 and stats["instructions"] > 0
    bad = subprocess.run([sys.executable, "-m", "workbench.cli", "boot", "--kernel", str(images[0]),
                          "--initrd", str(images[1]), "--append", "console=ttyS0 panic=-1 rdinit=/nope"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 125 and "kernel panic" in bad.stderr, bad.stderr[-2000:]
    usage = subprocess.run([sys.executable, "-m", "workbench.cli", "boot", "--ram-mb", "7"],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--ram-mb" in usage.stderr
    for opts, word in ((["--harts", "9"], "--harts"), (["--disk", "/no/such/disk.img"], "--disk")):
        usage = subprocess.run([sys.executable, "-m", "workbench.cli", "boot", *opts],
                               capture_output=True, text=True, timeout=60)
        assert usage.returncode == 2 and word in usage.stderr, usage.stderr


def test_bench_rows_for_the_boot(images):
    from workbench import bench

    rows = bench.boot_rows(repeat=1, progress=False)
    by = {r["config"]: r for r in rows}
    assert by["interp"]["output_ok"] and by["interp"]["instructions"] > 50_000_000
    if "jit" in available_tiers():
        assert by["jit"]["output_ok"] and by["jit"]["instructions"] == by["interp"]["instructions"]
        assert by["jit"]["goal"] == "x qemu <= 0.5"
    if shutil.which("qemu-system-riscv64"):
        assert by["qemu-system"]["output_ok"] and by["qemu-system"]["ratio_qemu"] == 1.0
        assert by["interp"]["ratio_qemu"] > 0
        if "jit" in available_tiers():
            assert by["jit"]["goal_verdict"] in ("met", "missed", "noise")
