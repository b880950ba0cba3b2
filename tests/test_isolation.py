"""The isolation rule, checked from the host side: a guest may change only regular files and
directories it created or opened inside its root. workloads/syscalls/hostobj.c attacks the
executable behind /proc/self/exe, host device nodes, a device node placed inside the root, the
embedder's stdio and (with root "/") kernel interfaces; these tests stat every target before and
after and require that nothing moved, while the guest's own files stay fully changeable."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from test_usermode import LIBCS, guest, wbrun  # noqa: F401  (fixtures)

# attacks the guest is allowed to "win": reading opens and flag changes it only sees itself
ALLOWED_OK = ("open /proc/self/exe", "open /dev/zero", "fcntl(1, F_SETFL", "ioctl(2,",
              "F_GETFL(1)")


def _identity(path: Path) -> tuple:
    """What an escape would change: mode, size, link count, inode, owner, mtime."""
    st = os.stat(path)
    return (st.st_mode, st.st_size, st.st_nlink, st.st_ino, st.st_uid, st.st_gid,
            st.st_mtime_ns)


def _results(text: str) -> dict[tuple[str, str], str]:
    """hostobj's output -> {(section, call): result}; result is the errno name or a number."""
    out, section = {}, ""
    for line in text.splitlines():
        if line.startswith("== "):
            section = line[3:].split()[0]
        elif line.strip() and not line.startswith("own: mode"):
            m = re.match(r"(.*?)\s+(?:-1 )?(\S+)$", line)
            out[(section, m.group(1))] = m.group(2)
    return out


def _check_attacks(text: str) -> dict[tuple[str, str], str]:
    """Every attempt outside the "own" section was refused, every one inside succeeded."""
    res = _results(text)
    attacks = {k: r for k, r in res.items() if k[0] != "own" and not k[1].startswith(ALLOWED_OK)}
    assert attacks, text
    won = [k for k, r in attacks.items() if r not in ("EPERM", "EACCES", "ENOENT", "EINVAL")]
    assert not won, f"attacks that were not refused: {won}\n{text}"
    failed = [k for k, r in res.items() if k[0] == "own" and r.startswith("E")]
    assert not failed, f"the guest's own files could not be changed: {failed}\n{text}"
    return res


@pytest.fixture
def scene(tmp_path, guest):  # noqa: F811
    """A root, the program outside it, scratch stdio files, and the host objects to watch."""
    def make(libc: str):
        root = tmp_path / "root"
        root.mkdir()
        prog_dir = tmp_path / "prog"
        prog_dir.mkdir()
        elf = prog_dir / "hostobj"
        shutil.copy(guest("hostobj", libc), elf)
        os.chmod(elf, 0o755)
        stdio = [tmp_path / n for n in ("in.txt", "out.txt", "err.txt")]
        stdio[0].write_text("input\n")
        for p in stdio[1:]:
            p.write_bytes(b"")
        for p in stdio:
            os.chmod(p, 0o644)
        watched = [elf, *stdio, Path("/dev/null"), Path("/dev/zero")]
        return root, elf, stdio, watched
    return make


def _run(wbrun, elf, args, root, stdio):  # noqa: F811
    with open(stdio[0], "rb") as fin, open(stdio[1], "wb") as fout, open(stdio[2], "wb") as ferr:
        r = subprocess.run([str(wbrun), "-r", str(root), str(elf), *args], stdin=fin,
                           stdout=fout, stderr=ferr, timeout=120)
    return r.returncode, stdio[1].read_text(), stdio[2].read_text()


@pytest.mark.parametrize("libc", LIBCS)
def test_host_objects_cannot_be_changed(wbrun, scene, libc):  # noqa: F811
    root, elf, stdio, watched = scene(libc)
    args: list[str] = []
    if os.geteuid() == 0:  # a real device node inside the root (needs CAP_MKNOD)
        node = root / "nulldev"
        os.mknod(node, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
        watched.append(node)
        args = ["dev", "nulldev"]
    before = {p: _identity(p) for p in watched}
    # the stdio files are written by the run itself; watch their mode and links, not size
    rc, out, err = _run(wbrun, elf, args, root, stdio)
    assert rc == 0, err
    assert err == ""
    after = {p: _identity(p) for p in watched}
    for p in watched:
        if p in stdio[1:]:
            assert (after[p][0], after[p][2], after[p][3]) == \
                (before[p][0], before[p][2], before[p][3]), p
        else:
            assert after[p] == before[p], f"{p} changed: {before[p]} -> {after[p]}"
    res = _check_attacks(out)
    # the escapes of the report, one by one
    for key in (("exe", 'chmod("/proc/self/exe", 0700)'), ("exe", 'fchmod(fd, 0700)'),
                ("exe", 'utimensat(AT_FDCWD, "/proc/self/exe", epoch, 0)'),
                ("exe", 'linkat(AT_FDCWD, "/proc/self/exe", AT_FDCWD, "exe_link", '
                        'AT_SYMLINK_FOLLOW)'),
                ("exe", 'linkat(fd, "", AT_FDCWD, "exe_link2", AT_EMPTY_PATH)'),
                ("devices", 'chmod("/dev/null", 06540)'), ("devices", 'fchmod(fd, 0600)'),
                ("stdio", 'fchmod(1, 0600)'), ("stdio", 'fchmod(0, 0600)'),
                ("stdio", 'linkat(AT_FDCWD, "/dev/stdout", AT_FDCWD, "out_link", '
                          'AT_SYMLINK_FOLLOW)'),
                ("stdio", 'fcntl(1, F_SETFL, O_NONBLOCK | O_APPEND)')):
        if key[1].startswith("fcntl"):
            assert res[key] == "0", key  # allowed: the guest changes its own view only
        else:
            assert res[key] in ("EPERM", "EACCES"), (key, res[key])
    if args:
        assert sum(1 for k in res if k[0] == "device") == 11
    # nothing of the host was linked into the root
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["mine.txt"] + (["nulldev", "victim"] if args else []))
    # the guest's own files behave normally (all of the "own" section succeeded)
    assert sum(1 for k in res if k[0] == "own") == 18
    assert "own: mode 640 size 2 nlink 1" in out
    assert stat.S_IMODE(os.stat(root / "mine.txt").st_mode) == 0o640
    # the guest saw its own F_SETFL
    assert res[("stdio", "F_GETFL(1) nonblock|append")] == "yes"


def test_shared_stdout_keeps_its_flags(wbrun, scene):  # noqa: F811
    """fcntl(1, F_SETFL, O_NONBLOCK|O_APPEND) by the guest must not reach the host's open file
    description: this process holds the same pipe end, and after the run it has neither flag,
    so a later 1 MiB write is not cut short (the report's 61,491-byte write)."""
    root, elf, stdio, _ = scene("glibc")
    r, w = os.pipe()
    try:
        before = fcntl.fcntl(w, fcntl.F_GETFL)
        with open(stdio[0], "rb") as fin, open(stdio[2], "wb") as ferr:
            # the guest writes a few KiB: less than a pipe buffer, so no reader is needed yet
            rc = subprocess.run([str(wbrun), "-r", str(root), str(elf)], stdin=fin, stdout=w,
                                stderr=ferr, timeout=120).returncode
        assert rc == 0, stdio[2].read_text()
        assert fcntl.fcntl(w, fcntl.F_GETFL) == before
        os.set_blocking(r, False)
        out = os.read(r, 1 << 16)
        os.set_blocking(r, True)
        assert "F_GETFL(1) nonblock|append" in out.decode() and "yes" in out.decode()
        got = []
        reader = threading.Thread(target=lambda: got.append(_read_all(r, 1 << 20)))
        reader.start()
        assert os.write(w, b"x" * (1 << 20)) == 1 << 20
        reader.join(timeout=60)
        assert got == [1 << 20]
    finally:
        os.close(w)
        os.close(r)


def _read_all(fd: int, n: int) -> int:
    total = 0
    while total < n:
        data = os.read(fd, n - total)
        if not data:
            break
        total += len(data)
    return total


def test_slash_root_keeps_devices_and_kernel_interfaces(wbrun, guest, tmp_path):  # noqa: F811
    """With root "/" every path is inside the root, yet device nodes and /proc, /sys stay the
    host's: opening them for writing, chmod, mkdir and link all fail."""
    elf = guest("hostobj", "glibc")
    watched = [Path("/dev/full"), Path("/dev/null")]
    before = {p: _identity(p) for p in watched}
    stray = [Path("/tmp/wb_full_link"), Path("/sys/kernel/wb_escape")]
    for p in stray:
        assert not p.exists()
    r = subprocess.run([str(wbrun), "-r", "/", str(elf), "slash"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    res = _check_attacks(r.stdout.decode())
    assert len(res) == 11
    assert res[("slash", 'open("/proc/self/mem", O_RDWR)')] == "EACCES"
    assert res[("slash", 'open("/dev/full", O_WRONLY)')] == "EACCES"
    assert {p: _identity(p) for p in watched} == before
    for p in stray:
        assert not p.exists()


def test_python_api_default_stdin_is_safe(guest, tmp_path):  # noqa: F811
    """Machine.run's default stdin is the host /dev/null: fchmod(0) must not reach it."""
    from workbench import Machine
    root = tmp_path / "root"
    root.mkdir()
    before = _identity(Path("/dev/null"))
    run = Machine(root=root).run(guest("hostobj", "musl"), capture=True)
    assert run.exit_code == 0, run.stderr
    res = _check_attacks(run.stdout.decode())
    assert res[("stdio", "fchmod(0, 0600)")] == "EPERM"
    assert _identity(Path("/dev/null")) == before
