"""Reference results: the studies' Datasets kept in ``datasets/``, and comparing a run to them.

This module owns where each study's reference result lives (``datasets/<study>-<scale>.nc``,
netCDF: one small file per study, written by ``wb reproduce --scale paper --out datasets``
and committed with its provenance attrs), opening it (what the notebooks show by default,
instantly), and :func:`compare`: where a fresh result differs from the reference beyond
noise, which ``wb reproduce --compare datasets`` prints.

What "beyond noise" means: measurements are compared over their repeats. A variable
measured per repeat (dimension ``repeat``) differs when the intervals [min, max] of the two
results, each widened by ``tolerance`` (relative, default 10%) of its median, do not
overlap. Deterministic counts and checks (:data:`EXACT`: instructions, faults, records,
coverage...) differ when any of their median, min or max changes. Variables without a ``repeat``
dimension are derived from those and are not compared again.

>>> import numpy as np, xarray as xr
>>> ref = xr.Dataset({"time_s": (("w", "repeat"), [[1.0, 1.1, 1.05]])}, coords={"w": ["zstd"]})
>>> new = ref.copy(data={"time_s": np.array([[1.6, 1.7, 1.65]])})
>>> compare(new, ref)[["variable", "w", "reference", "fresh"]].to_dict("records")
[{'variable': 'time_s', 'w': 'zstd', 'reference': '1.05 [1–1.1]', 'fresh': '1.65 [1.6–1.7]'}]
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: the repository's reference results
DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
#: scale of the reference results
REFERENCE_SCALE = "paper"
#: variables that are counts or checks: exact, whatever the tolerance
EXACT = {"instructions", "events", "blocks_translated", "output_ok", "faults", "samples",
         "allocations", "coverage"}


def path(study: str, scale: str = REFERENCE_SCALE, directory: str | os.PathLike | None = None) -> Path:
    """Where study ``study``'s result at ``scale`` is kept in ``directory`` (default:
    the repository's ``datasets/``).

    >>> path("engine").name
    'engine-paper.nc'
    """
    return Path(directory or DATASETS_DIR) / f"{study}-{scale}.nc"


def load(study: str, scale: str = REFERENCE_SCALE, directory: str | os.PathLike | None = None):
    """The reference Dataset of ``study`` (FileNotFoundError naming the command that makes it).

    >>> ds = load("engine")            # doctest: +SKIP
    >>> ds.attrs["git_revision"]       # doctest: +SKIP
    """
    from . import store

    p = path(study, scale, directory)
    if not p.exists():
        raise FileNotFoundError(f"no reference result at {p}; make it with "
                                f"`wb reproduce {study} --scale {scale} --out {p.parent}`")
    return store.load(p)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def compare(fresh, ref, *, tolerance: float = 0.10):
    """The cells where ``fresh`` differs from ``ref`` beyond noise, one row each (a pandas
    DataFrame: variable, the cell's coordinates, reference and fresh as "median [min–max]",
    their ratio). Cells present in only one of the two are left out; a variable missing
    from ``fresh`` is one row saying so.
    """
    import pandas as pd

    rows = []
    for name, r in ref.data_vars.items():
        if "repeat" not in r.dims or not np.issubdtype(r.dtype, np.number):
            continue
        if name not in fresh.data_vars:
            rows.append({"variable": name, "reference": "present", "fresh": "missing", "ratio": np.nan})
            continue
        f = fresh[name]
        common = {d: np.intersect1d(r[d].values, f[d].values) for d in r.dims
                  if d != "repeat" and d in r.coords and d in f.coords}
        r_, f_ = r.sel(common), f.sel(common)
        tol = tolerance
        stats = []
        for x in (r_, f_):
            stats.append((x.median("repeat"), x.min("repeat"), x.max("repeat")))
        (rm, rlo, rhi), (fm, flo, fhi) = stats
        if name in EXACT:                    # counts and checks: any change at all
            apart = (fm != rm) | (flo != rlo) | (fhi != rhi)
        else:
            widen_r, widen_f = tol * abs(rm), tol * abs(fm)
            apart = (flo - widen_f > rhi + widen_r) | (fhi + widen_f < rlo - widen_r)
        apart = apart & rm.notnull() & fm.notnull()
        for idx in zip(*np.nonzero(apart.values)) if apart.ndim else ([()] if bool(apart) else []):
            cell = {d: apart[d].values[i].item() for d, i in zip(apart.dims, idx)}
            sel = dict(zip(apart.dims, idx))
            rv = [float(a.isel(sel)) for a in (rm, rlo, rhi)]
            fv = [float(a.isel(sel)) for a in (fm, flo, fhi)]
            rows.append({"variable": name, **cell,
                         "reference": f"{_fmt(rv[0])} [{_fmt(rv[1])}–{_fmt(rv[2])}]",
                         "fresh": f"{_fmt(fv[0])} [{_fmt(fv[1])}–{_fmt(fv[2])}]",
                         "ratio": fv[0] / rv[0] if rv[0] else np.nan})
    return pd.DataFrame(rows)


__all__ = ["DATASETS_DIR", "REFERENCE_SCALE", "compare", "load", "path"]
