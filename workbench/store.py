"""Stores: saving and loading Datasets as zarr v3 directories or netCDF files, atomically.

This module owns how a Dataset reaches the disk. Every write goes to a temporary sibling
(``.<name>.tmp-<pid>-<random>``) that is renamed into place only when complete, so a path
either holds a complete store or nothing new: an interrupted write (an exception, a killed
process) never leaves a half-written store where a reader would open it. Replacing an
existing directory store renames the old one aside (``.<name>.old-<pid>-<random>``), renames
the new one in, then deletes the old one; :func:`clean_stale` removes leftovers of dead
writers and restores an old store whose replacement never arrived. Zarr stores carry
consolidated metadata, so ``xarray.open_zarr(path)`` opens them without a warning.

>>> import xarray as xr
>>> save(xr.Dataset({"x": ("t", [1, 2])}), "/tmp/example.zarr")  # doctest: +SKIP
PosixPath('/tmp/example.zarr')
>>> load("/tmp/example.zarr").x.values  # doctest: +SKIP
array([1, 2])
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import warnings
from pathlib import Path

import numpy as np

ZARR_SUFFIXES = (".zarr",)
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".h5")
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<what>tmp|old)-(?P<pid>\d+)-[0-9a-f]+$")
# attrs that CF says must have the variable's own dtype; zarr keeps attrs as JSON lists
_TYPED_ATTRS = ("flag_values", "flag_masks", "valid_range", "valid_min", "valid_max")


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        f = format.lower()
        if f in ("zarr", "zarr3"):
            return "zarr"
        if f in ("netcdf", "nc", "netcdf4", "h5netcdf"):
            return "netcdf"
        raise ValueError(f"unknown store format {format!r}; use 'zarr' or 'netcdf'")
    if path.suffix.lower() in NETCDF_SUFFIXES:
        return "netcdf"
    return "zarr"


def is_leftover(path: str | os.PathLike) -> bool:
    """True for the name of a temporary or set-aside store (never a store to open).

    >>> is_leftover(".result.zarr.tmp-123-abcdef"), is_leftover("result.zarr")
    (True, False)
    """
    return _LEFTOVER.match(Path(path).name) is not None


def _sibling(path: Path, what: str) -> Path:
    return path.with_name(f".{path.name}.{what}-{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def _quiet_zarr():
    """Silence zarr's notices that fixed-length strings and consolidated metadata have no v3
    spec yet (both round-trip through zarr-python and xarray)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        warnings.filterwarnings("ignore", message=".*Consolidated metadata.*")
        yield


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prepared(ds):
    """A shallow copy without storage encodings left from an earlier load (they would clash
    with the target format's: netCDF chunking in zarr, zarr codecs in netCDF)."""
    out = ds.copy(deep=False)
    for v in out.variables.values():
        v.encoding = {}
    out.encoding = {}
    return out


def _write(ds, tmp: Path, fmt: str) -> None:
    if fmt == "zarr":
        # consolidated metadata (one zarr.json holding every array's): ``xr.open_zarr(path)``
        # looks for it first and warns (RuntimeWarning) when a store has none
        with _quiet_zarr():
            ds.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=True)
    else:
        ds.to_netcdf(tmp, engine="h5netcdf", format="NETCDF4")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())


def save(ds, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write ``ds`` to ``path`` atomically; returns the path.

    The format is zarr v3 by default (or for a ``.zarr`` path, or ``format="zarr"``), netCDF-4
    through h5netcdf for ``.nc`` paths or ``format="netcdf"``. An existing store at ``path``
    is replaced; until the new one is complete, the old one stays.

    >>> import xarray as xr
    >>> save(xr.Dataset({"time_s": ((), 1.5)}), "/tmp/point.nc")  # doctest: +SKIP
    PosixPath('/tmp/point.nc')
    """
    path = Path(path)
    if is_leftover(path):
        raise ValueError(f"{path}: refusing to write to a name reserved for temporary stores")
    fmt = _format_of(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        _write(_prepared(ds), tmp, fmt)
        if fmt == "netcdf" and path.is_dir() and not path.is_symlink():  # a directory where a file goes
            raise IsADirectoryError(f"{path} is a directory; not replacing it with a file")
        put_in_place(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    return path


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A fresh name beside ``path`` to build a store under (:func:`is_leftover` knows it)."""
    return _sibling(Path(path), "tmp")


def put_in_place(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Rename the finished store ``tmp`` to ``path``: a file replaces atomically; a directory
    store already there is set aside, replaced, then removed (:func:`clean_stale` finishes
    the job if the process dies in between)."""
    tmp, path = Path(tmp), Path(path)
    if path.is_dir() and not path.is_symlink() and tmp.is_dir():
        old = _sibling(path, "old")
        os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    else:
        os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def remove(path: str | os.PathLike) -> None:
    """Remove a store (directory or file) if it exists."""
    _remove(Path(path))


quiet_zarr = _quiet_zarr


def _retype_attrs(ds) -> None:
    """Give CF attrs that must match the variable's dtype that dtype again (zarr stores
    them as JSON lists of numbers)."""
    for v in ds.variables.values():
        for key in _TYPED_ATTRS:
            if key in v.attrs and v.dtype.kind in "iuf":
                v.attrs[key] = np.asarray(v.attrs[key], dtype=v.dtype)


def load(path: str | os.PathLike, *, format: str | None = None):
    """Open a store written by :func:`save` (zarr or netCDF, by suffix) and load it into
    memory; the file is closed on return.

    >>> ds = load("results/engine.zarr")  # doctest: +SKIP
    >>> sorted(ds.dims)  # doctest: +SKIP
    ['client', 'repeat', 'tier', 'workload']
    """
    import xarray as xr

    path = Path(path)
    if is_leftover(path):
        raise ValueError(f"{path} is an incomplete or set-aside store left by an interrupted "
                         f"write, not a store (see workbench.store.clean_stale)")
    if not path.exists():
        raise FileNotFoundError(f"no store at {path}")
    fmt = _format_of(path, format)
    if fmt == "zarr":
        with _quiet_zarr():
            with xr.open_zarr(path, consolidated=False, chunks=None, zarr_format=3) as src:
                ds = src.load()
    else:
        with xr.open_dataset(path, engine="h5netcdf") as src:
            ds = src.load()
    _retype_attrs(ds)
    return ds


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(directory: str | os.PathLike, *, all_pids: bool = False) -> list[Path]:
    """Remove the temporary stores in ``directory`` left by writers that no longer run
    (any writer with ``all_pids=True``), and put back a set-aside old store whose
    replacement never arrived. Returns the paths removed or restored.

    >>> clean_stale("results")  # doctest: +SKIP
    [PosixPath('results/.engine.zarr.tmp-4242-9f3a01bc')]
    """
    directory = Path(directory)
    done = []
    if not directory.is_dir():
        return done
    for p in sorted(directory.iterdir()):
        m = _LEFTOVER.match(p.name)
        if not m or (not all_pids and _pid_alive(int(m["pid"]))):
            continue
        dest = directory / m["name"]
        if m["what"] == "old" and not dest.exists():
            os.replace(p, dest)  # the replacement never arrived: the old store is the store
        else:
            _remove(p)
        done.append(p)
    return done


__all__ = ["save", "load", "clean_stale", "is_leftover", "temporary_sibling", "put_in_place",
           "remove", "quiet_zarr", "ZARR_SUFFIXES", "NETCDF_SUFFIXES"]
