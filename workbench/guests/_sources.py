"""Third-party sources, fetched from PyPI at build time.

Each source is a PyPI sdist pinned by version, URL and sha256. Archives are
cached under ``<cache>/sdists`` (see :func:`workbench.guests.cache_root`),
verified on every use, and only the needed members are extracted (regular
files under one directory, no links, no path traversal). Nothing here is ever
written into the repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from ._errors import GuestBuildError, SourceIntegrityError
from ._paths import sdist_cache_dir


@dataclass(frozen=True)
class SdistPin:
    """A source archive pinned by version and sha256.

    ``subdir`` is the directory inside the archive that is extracted and
    ``keep`` decides, from a path relative to ``subdir``, which files are kept.
    """

    project: str
    version: str
    url: str
    sha256: str
    subdir: str
    keep: Callable[[str], bool]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1].split("#", 1)[0]

    @property
    def label(self) -> str:
        return f"{self.project}=={self.version}"


def _top_level_c_and_h(rel: str) -> bool:
    return "/" not in rel and rel.endswith((".c", ".h"))


def _zstd_files(rel: str) -> bool:
    return rel in {"zstd.c", "zstd.h", "zstd_errors.h", "zdict.h", "LICENSE", "COPYING"}


#: Lua 5.4 sources, from the lupa sdist (``lupa-2.8/third-party/lua54/``).
LUPA = SdistPin(
    project="lupa",
    version="2.8",
    url=(
        "https://files.pythonhosted.org/packages/c3/a6/"
        "0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz"
    ),
    sha256="d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08",
    subdir="lupa-2.8/third-party/lua54",
    keep=_top_level_c_and_h,
)

#: Single-file zstd, from the zstandard sdist (``zstandard-0.25.0/zstd/``).
ZSTANDARD = SdistPin(
    project="zstandard",
    version="0.25.0",
    url=(
        "https://files.pythonhosted.org/packages/fd/aa/"
        "3e0508d5a5dd96529cdc5a97011299056e14c6505b678fd58938792794b1/zstandard-0.25.0.tar.gz"
    ),
    sha256="7713e1179d162cf5c7906da876ec2ccb9c3a9dcbdffef0cc7f70c3667a205f0b",
    subdir="zstandard-0.25.0/zstd",
    keep=_zstd_files,
)

def _brotli_files(rel: str) -> bool:
    return (rel.startswith(("common/", "dec/", "enc/", "include/brotli/")) and rel.endswith((".c", ".h"))) \
        or rel == "tools/brotli.c"


#: Google's Brotli (library and its command-line tool), from the Brotli sdist (``c/``).
BROTLI = SdistPin(
    project="Brotli",
    version="1.1.0",
    url=(
        "https://files.pythonhosted.org/packages/2f/c2/"
        "f9e977608bdf958650638c3f1e28f85a1b075f075ebbe77db8555463787b/Brotli-1.1.0.tar.gz"
    ),
    sha256="81de08ac11bcb85841e440c13611c00b67d3bf82698314928d0b676362546724",
    subdir="Brotli-1.1.0/c",
    keep=_brotli_files,
)

def _blosc_files(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith("blosc/") and rel.count("/") == 1:   # the library, portable parts only
        return name.endswith((".c", ".h")) and not any(k in name for k in ("sse2", "avx2"))
    return rel.startswith("internal-complibs/lz4-") and name.endswith((".c", ".h")) or \
        rel in ("LICENSE.txt", "LICENSES/BLOSC.txt")


#: c-blosc 1 (a blocking, shuffling, multithreaded compressor: pthreads), with its bundled
#: LZ4, from the python-blosc sdist (``blosc-1.11.4/blosc/c-blosc/``).
BLOSC = SdistPin(
    project="blosc",
    version="1.11.4",
    url=(
        "https://files.pythonhosted.org/packages/9e/66/"
        "3c0e1801d4674582c38f9b009e71c09eb501fc3db591e35436dac15fa7a7/blosc-1.11.4.tar.gz"
    ),
    sha256="e0b312d9554d3aea93c75af4ad70dfa8b815ef4fe2b658c313b2f27ed0f41d37",
    subdir="blosc-1.11.4/blosc/c-blosc",
    keep=_blosc_files,
)

PINS: dict[str, SdistPin] = {"lupa": LUPA, "zstandard": ZSTANDARD, "Brotli": BROTLI, "blosc": BLOSC}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's contents."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(pin: SdistPin, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"workbench: downloading {pin.label} sdist ({pin.filename})", file=sys.stderr)
    fd, tmpname = tempfile.mkstemp(prefix=pin.filename + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmpname)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(pin.url, timeout=120) as resp:
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise GuestBuildError(
                    f"could not download {pin.label} from {pin.url}: {exc}. "
                    f"Without network access, place the file at {dest} "
                    f"(sha256 {pin.sha256})."
                ) from exc
        digest = h.hexdigest()
        if digest != pin.sha256:
            raise SourceIntegrityError(
                f"sha256 mismatch for {pin.label} downloaded from {pin.url}: "
                f"expected {pin.sha256}, got {digest}. The download was deleted; "
                "the archive on the server differs from the pinned one."
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_sdist(pin: SdistPin) -> Path:
    """Return the path of the verified archive for ``pin``, downloading it if needed.

    A cached archive whose sha256 does not match the pin is deleted and
    downloaded again; a download that does not match raises
    :class:`SourceIntegrityError`.

    >>> fetch_sdist(PINS["zstandard"]).name          # doctest: +SKIP
    'zstandard-0.25.0.tar.gz'
    """
    dest = sdist_cache_dir() / pin.filename
    if dest.exists():
        digest = file_sha256(dest)
        if digest == pin.sha256:
            return dest
        print(
            f"workbench: cached {dest} has sha256 {digest}, expected {pin.sha256}; deleting it",
            file=sys.stderr,
        )
        dest.unlink()
    _download(pin, dest)
    return dest


def _safe_relpath(name: str, subdir: str) -> str | None:
    """The member path relative to ``subdir``, or None if it is outside it or unsafe."""
    if name.startswith("/") or "\\" in name:
        return None
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts):
        return None
    sub = PurePosixPath(subdir).parts
    if tuple(parts[: len(sub)]) != sub or len(parts) == len(sub):
        return None
    return "/".join(parts[len(sub):])


def extracted_dir(pin: SdistPin) -> Path:
    """Directory holding the extracted, verified members of ``pin`` (extracting on first use).

    >>> (extracted_dir(PINS["lupa"]) / "lua.c").exists()   # doctest: +SKIP
    True
    """
    root = sdist_cache_dir() / "src"
    target = root / f"{pin.project}-{pin.version}-{pin.sha256[:12]}"
    marker = target / ".complete"
    if marker.exists():
        return target
    archive = fetch_sdist(pin)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=root))
    try:
        count = 0
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                rel = _safe_relpath(member.name, pin.subdir)
                if rel is None or not member.isreg() or not pin.keep(rel):
                    continue
                out = tmp / rel
                # resolve() guards against anything _safe_relpath missed
                if not str(out.resolve()).startswith(str(tmp.resolve()) + os.sep):
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                if src is None:
                    continue
                with src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f)
                os.chmod(out, 0o644)
                count += 1
        if count == 0:
            raise GuestBuildError(f"{archive} has no files under {pin.subdir}/")
        (tmp / ".complete").write_text(f"{pin.label} {pin.sha256} {count} files\n")
        if marker.exists():  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
            return target
        if target.exists():  # a stale, incomplete extraction
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if marker.exists():  # another process finished first
            return target
        raise
    return target
