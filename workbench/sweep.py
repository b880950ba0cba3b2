"""Parameter sweeps on dask.distributed, one zarr store per finished point, resumable.

This module owns running a function over the product of a parameter grid: the points are
farmed out to a dask.distributed cluster (a LocalCluster on loopback by default, any
scheduler address for more machines), each finished point is written atomically to
``<store>/points/<key>.zarr`` as it arrives, and a sweep started again over the same store
runs only the points that are missing. When every point is there, the points are combined
into one Dataset with one dimension per grid key, saved as ``<store>/result.zarr``.

Reuse is never silent: each point records when it was measured (``measured_at``, UTC), the
result carries those times as a variable and the span as ``measured_from``/``measured_to``
attrs, and a sweep that reuses points prints "reused N of M points measured at ...".
``fresh=True`` measures every point again (replacing the stored ones).

The point function must be picklable (a module-level function, or a functools.partial of
one) and return an ``xarray.Dataset`` of scalars or of variables with dims of its own.

>>> def point(n, mode):  # doctest: +SKIP
...     return xr.Dataset({"time_s": ((), n * 0.1)})
>>> ds = sweep(point, {"n": [1, 2], "mode": ["a", "b"]}, store="/tmp/s")  # doctest: +SKIP
>>> ds.time_s.dims  # doctest: +SKIP
('n', 'mode')
"""
from __future__ import annotations

import collections
import datetime as _dt
import functools
import hashlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import store as _store

POINT_ATTR = "sweep_point"
KEY_ATTR = "sweep_key"
#: when a point was measured (UTC, ISO 8601): an attr of each point, a variable of the result
MEASURED = "measured_at"
_SAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


# ------------------------------------------------------------------ points and keys

def _plain(v):
    """Grid values as plain JSON-able Python scalars."""
    if isinstance(v, np.generic):
        v = v.item()
    if not isinstance(v, (str, int, float, bool)):
        raise TypeError(f"grid values must be str, int, float or bool, got {v!r}")
    return v


def _check_grid(grid: Mapping[str, Sequence]) -> dict[str, list]:
    if not grid:
        raise ValueError("the grid is empty: give at least one parameter and its values")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"grid keys must be Python identifiers, got {name!r}")
        vals = [_plain(v) for v in (values if not isinstance(values, (str, bytes)) else [values])]
        if not vals:
            raise ValueError(f"grid parameter {name!r} has no values")
        if len(set(map(repr, vals))) != len(vals):
            raise ValueError(f"grid parameter {name!r} repeats a value: {vals}")
        out[name] = vals
    return out


def grid_points(grid: Mapping[str, Sequence]) -> list[dict]:
    """The points of ``grid`` in order: the product of the values, the first key slowest.

    >>> grid_points({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    g = _check_grid(grid)
    return [dict(zip(g, combo)) for combo in itertools.product(*g.values())]


def point_key(point: Mapping[str, Any]) -> str:
    """A stable, filesystem-safe name for a point: its parameters sorted by name, plus a
    short hash of their exact values and types (so 1 and "1" differ).

    >>> point_key({"tier": "interp", "repeat": 0})
    'repeat=0,tier=interp-67fb4878b8'
    """
    p = {k: _plain(v) for k, v in point.items()}
    readable = _SAFE.sub("_", ",".join(f"{k}={p[k]}" for k in sorted(p)))[:120]
    digest = hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()[:10]
    return f"{readable}-{digest}"


def _point_path(store: Path, point: Mapping) -> Path:
    return store / "points" / f"{point_key(point)}.zarr"


def sweep_status(store: str | os.PathLike, grid: Mapping[str, Sequence]) -> tuple[list[dict], list[dict]]:
    """``(done, missing)``: the grid's points whose stores exist under ``store``, and the rest.

    >>> done, missing = sweep_status("/tmp/s", {"n": [1, 2]})  # doctest: +SKIP
    >>> len(done) + len(missing)  # doctest: +SKIP
    2
    """
    store = Path(store)
    done, missing = [], []
    for p in grid_points(grid):
        (done if _point_path(store, p).is_dir() else missing).append(p)
    return done, missing


def _describe(fn) -> dict:
    """What identifies the point function: its qualified name and bound arguments."""
    if isinstance(fn, functools.partial):
        d = _describe(fn.func)
        d["args"] = json.dumps(list(fn.args), default=repr)
        d["kwargs"] = json.dumps(fn.keywords, sort_keys=True, default=repr)
        return d
    return {"function": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"}


def _check_fingerprint(store: Path, fn) -> None:
    """Record which function the store's points come from; refuse to mix another one in."""
    desc = _describe(fn)
    f = store / "sweep.json"
    if f.exists():
        old = json.loads(f.read_text())
        if old != desc:
            raise ValueError(f"{store} holds points of another sweep ({old}); this one is "
                             f"{desc}. Use another store, or delete it to start over.")
        return
    tmp = store / f".sweep.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(desc, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, f)


# ------------------------------------------------------------------ running

def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _execute(fn, point: dict):
    """Run one point (on a worker), check what it returned and stamp when it finished."""
    import xarray as xr

    ds = fn(**point)
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"the point function returned {type(ds).__name__}, not an xarray.Dataset")
    clash = set(point) & set(ds.variables)
    if clash:
        raise ValueError(f"the point's Dataset has variables named like grid parameters: {sorted(clash)}")
    ds = ds.copy(deep=False)
    ds.attrs[MEASURED] = _now()
    return ds


def _save_point(store: Path, point: dict, ds) -> Path:
    ds = ds.copy(deep=False)
    ds.attrs = dict(ds.attrs, **{POINT_ATTR: json.dumps(point, sort_keys=True),
                                 KEY_ATTR: point_key(point)})
    for name, value in point.items():
        ds.attrs[f"param_{name}"] = int(value) if isinstance(value, bool) else value
    return _store.save(ds, _point_path(store, point), format="zarr")


def _connect(scheduler, workers):
    """(client, cluster or None, whether we own the client)."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, None, False
    if scheduler:
        return Client(scheduler, set_as_default=False), None, True
    # no dashboard; the scheduler's small HTTP server (health checks) on a free loopback port
    cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    return Client(cluster, set_as_default=False), cluster, True


def _run_missing(fn, missing: list[dict], store: Path, scheduler, workers, bar) -> None:
    from distributed import as_completed

    client, cluster, own = _connect(scheduler, workers)
    try:
        slots = max(1, sum(client.nthreads().values()))
        queue = collections.deque(missing)
        running: dict[str, dict] = {}
        pending = as_completed(loop=client.loop)
        errors = []

        def submit():
            p = queue.popleft()
            fut = client.submit(_execute, fn, p, pure=False, key=f"wb-point-{point_key(p)}-{os.urandom(4).hex()}")
            running[fut.key] = p
            pending.add(fut)

        for _ in range(min(slots, len(queue))):
            submit()
        for fut in pending:
            p = running.pop(fut.key)
            if fut.status == "finished":
                _save_point(store, p, fut.result())
                bar.update(1)
            else:
                try:
                    exc, tb = fut.exception(), fut.traceback()
                except Exception as e:  # cancelled or lost: still name the point
                    exc, tb = e, None
                errors.append((p, exc, tb))
            if queue and not errors:  # after an error, only the points in flight finish
                submit()
            fut.release()
        if errors:
            p, exc, tb = errors[0]
            note = (f"sweep point {p} (key {point_key(p)}) failed; every point that finished "
                    f"was saved under {store / 'points'}")
            if len(errors) > 1:
                note += "; other failed points: " + "; ".join(str(e[0]) for e in errors[1:])
            if hasattr(exc, "add_note"):
                exc.add_note(note)
            raise exc.with_traceback(tb) if tb is not None else exc
    finally:
        if own:
            client.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------ combining

def combine_points(grid: Mapping[str, Sequence], datasets: Sequence):
    """Combine the points' Datasets (in :func:`grid_points` order) into one Dataset with one
    dimension per grid key, coordinates = the grid values in grid order. Attrs that all
    points share are kept; the per-point ones are dropped.

    >>> import xarray as xr
    >>> ds = combine_points({"n": [2, 1]}, [xr.Dataset({"t": ((), 0.2)}), xr.Dataset({"t": ((), 0.1)})])
    >>> ds.t.dims, ds.n.values.tolist()
    (('n',), [2, 1])
    """
    import xarray as xr

    g = _check_grid(grid)
    flat = []
    for point, ds in zip(grid_points(g), datasets):
        ds = ds.copy(deep=False)
        ds.attrs = {k: v for k, v in ds.attrs.items()
                    if k not in (POINT_ATTR, KEY_ATTR, MEASURED) and not k.startswith("param_")}
        flat.append(ds.expand_dims({k: [v] for k, v in point.items()}))
    if len(flat) != int(np.prod([len(v) for v in g.values()])):
        raise ValueError(f"{len(flat)} Datasets for a grid of {len(grid_points(g))} points")

    def nest(items, shape):
        if len(shape) == 1:
            return list(items)
        step = len(items) // shape[0]
        return [nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]

    nested = nest(flat, [len(v) for v in g.values()])
    out = xr.combine_nested(nested, concat_dim=list(g), data_vars="all", coords="different",
                            compat="no_conflicts", join="outer", combine_attrs="drop_conflicts")
    for name, values in g.items():  # the grid's own order and dtype, whatever concat did
        out = out.assign_coords({name: (name, np.asarray(values), out[name].attrs)})
    order = list(flat[0].data_vars) + [v for v in out.data_vars if v not in flat[0].data_vars]
    return out[order].transpose(*g, ...)


def measured_at(store: str | os.PathLike, point: Mapping, ds=None) -> np.datetime64:
    """When a stored point was measured (UTC): its ``measured_at`` attr or, for a point stored
    before sweeps recorded it, the time its store was written.

    >>> measured_at("/tmp/s", {"n": 1})  # doctest: +SKIP
    numpy.datetime64('2025-01-01T10:00:03.123456')
    """
    path = _point_path(Path(store), point)
    stamp = (ds.attrs if ds is not None else _store.load(path).attrs).get(MEASURED)
    if stamp:
        t = _dt.datetime.fromisoformat(str(stamp))
    else:
        t = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    return np.datetime64(t.astimezone(_dt.timezone.utc).replace(tzinfo=None), "us")


def _iso(t) -> str:
    """A measurement time to the second: '2025-01-01 10:00:03'."""
    return str(np.datetime_as_string(np.datetime64(t), unit="s")).replace("T", " ")


def _span(times) -> str:
    """'2025-01-01 10:00:03 UTC' or '2025-01-01 10:00:03 to 10:04:10 UTC'."""
    lo, hi = _iso(min(times)), _iso(max(times))
    if lo == hi:
        return f"{lo} UTC"
    return f"{lo} to {hi[11:] if hi[:10] == lo[:10] else hi} UTC"


def reuse_message(store, reused: Sequence, total: int) -> str:
    """The line a sweep prints when it reuses stored points (``reused``: their measurement
    times).

    >>> t = np.datetime64("2025-01-01T10:00:03")
    >>> reuse_message("/tmp/s", [t, t + 60], 4)
    'sweep s: reused 2 of 4 points measured at 2025-01-01 10:00:03 to 10:01:03 UTC (not measured again; fresh=True measures them again)'
    """
    return (f"sweep {Path(store).name}: reused {len(reused)} of {total} points measured at "
            f"{_span(reused)} (not measured again; fresh=True measures them again)")


def _with_measured(result, grid: Mapping, times: Sequence, reused: int):
    """The result with ``measured_at`` (one time per point, grid dims) and the span attrs."""
    if not all(k in result.dims for k in grid):
        return result
    shape = [len(v) for v in grid.values()]
    arr = np.array(times, dtype="datetime64[ns]").reshape(shape)
    result[MEASURED] = (list(grid), arr, {"long_name": "when the point was measured (UTC)"})
    result.attrs.update(measured_from=_iso(min(times)) + " UTC", measured_to=_iso(max(times)) + " UTC",
                        points_reused=int(reused), points_total=len(times))
    return result


def sweep(fn: Callable, grid: Mapping[str, Sequence], *, store: str | os.PathLike,
          scheduler=None, progress: bool = True, workers: int | None = None,
          combine: Callable | None = combine_points, fresh: bool = False, label: str | None = None):
    """Run ``fn(**point)`` for every point of ``grid`` and combine the results.

    ``grid`` maps parameter names to lists of values; the points are their product, the
    dims of the result follow the dict's order. Points run on dask.distributed: a new
    LocalCluster (``workers`` processes, default 2, one thread each, on 127.0.0.1, no
    dashboard) unless ``scheduler`` is a scheduler address ("tcp://host:port", whose
    workers must see ``store`` — only the driver writes, but every worker imports ``fn``)
    or a ``distributed.Client``. Each finished point is saved atomically to
    ``<store>/points/<key>.zarr`` (attrs ``sweep_point``, ``param_<name>``); points already
    there are not run again, so an interrupted sweep resumes where it stopped. When a point
    raises, the points in flight finish and are saved, no new ones start, and the exception
    is re-raised with the point named. ``fresh=True`` runs every point again, replacing the
    stored ones; otherwise the reuse is printed ("reused N of M points measured at ...").
    ``combine(grid, datasets)`` (None: skip, return None) builds the result, saved as
    ``<store>/result.zarr`` and returned; it gets a ``measured_at`` variable (when each point
    was measured) and the attrs ``measured_from``, ``measured_to``, ``points_reused`` and
    ``points_total``. A script that calls
    ``sweep`` needs the usual ``if __name__ == "__main__":`` guard: the local cluster's
    worker processes are spawned and import the main module.

    >>> ds = sweep(mymodule.point, {"n": [1, 2, 3]}, store="/tmp/s", progress=False)  # doctest: +SKIP
    >>> ds.sizes["n"]  # doctest: +SKIP
    3
    """
    from tqdm.auto import tqdm

    g = _check_grid(grid)
    store = Path(store)
    (store / "points").mkdir(parents=True, exist_ok=True)
    _check_fingerprint(store, fn)
    _store.clean_stale(store / "points")
    _store.clean_stale(store)
    done, missing = sweep_status(store, g)
    if fresh:  # measure everything again; each new point replaces the stored one
        done, missing = [], grid_points(g)
    if done:  # say so: these points are not measured now
        print(reuse_message(store, [measured_at(store, p) for p in done], len(done) + len(missing)),
              flush=True)
    with tqdm(total=len(done) + len(missing), initial=len(done), disable=not progress,
              desc=f"sweep {label or store.name}", unit="pt", dynamic_ncols=True) as bar:
        if missing:
            _run_missing(fn, missing, store, scheduler, workers, bar)
    if combine is None:
        return None
    points = grid_points(g)
    datasets = [_store.load(_point_path(store, p)) for p in points]
    times = [measured_at(store, p, ds) for p, ds in zip(points, datasets)]
    result = _with_measured(combine(g, datasets), g, times, len(done))
    result.attrs["sweep_grid"] = json.dumps(g)
    result.attrs["sweep_function"] = json.dumps(_describe(fn), sort_keys=True)
    _store.save(result, store / "result.zarr", format="zarr")
    return result


__all__ = ["sweep", "sweep_status", "grid_points", "point_key", "combine_points", "measured_at",
           "reuse_message", "MEASURED"]
