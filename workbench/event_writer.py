"""Writing client streams to zarr stores while the guest runs (``wb run --events DIR``).

This module owns :class:`EventWriter`, an ``on_records`` callback for ``Machine.run`` that
puts each stream into ``DIR/<stream>.zarr`` with the same layout, attrs and provenance as
``store.save(run.events(stream), ...)`` would, without ever holding the whole trace:

* records are copied out of the engine's buffer (valid only during the callback) into a
  chunk of ``chunk_records`` records; a full chunk goes to a writer thread through a queue of
  two, so memory stays at a few chunks however long the run, and the engine keeps running
  while the previous chunk is split into columns, compressed and written;
* the first chunk of a stream creates the store through xarray (from an empty Dataset of the
  stream's schema: coords, CF flag attrs, provenance, the codecs); then every chunk of every
  column is compressed (Blosc, lz4 with byte shuffle, two columns at a time: Blosc releases
  the GIL) and written as the chunk file zarr v3 reads (``<array>/c/<index>``, a partial last
  chunk padded to the chunk shape, as zarr stores edge chunks), and :meth:`close` sets the
  arrays' final length. zarr's own write path costs about ten times the compression here
  (an asyncio round trip per chunk), which a trace of 100 million records would feel;
* streams whose records name code addresses (``Stream.symbolize``: block profiles,
  allocation records) are small and are written whole at :meth:`close`, symbolized, through
  ``to_dataset``;
* each store is built under a temporary name and renamed into place by :meth:`close`, with
  consolidated metadata so ``xr.open_zarr`` opens it without a warning. A run that fails
  leaves no store behind (:meth:`abort`).

>>> from workbench import Machine
>>> w = EventWriter("out", program="zstd")                                   # doctest: +SKIP
>>> run = Machine(clients=["memtrace"]).run("zstd", ["1m"], on_records=w)     # doctest: +SKIP
>>> w.close(run)                                                              # doctest: +SKIP
{'memtrace': PosixPath('out/memtrace.zarr')}
"""
from __future__ import annotations

import os
import queue
import threading
import warnings
from pathlib import Path

import numpy as np

from . import events as ev
from . import store

#: records per chunk (and per zarr chunk): 32 MiB of memtrace records
CHUNK_RECORDS = 1 << 20


# lz4 with byte shuffle: icount/pc/addr columns compress about 15x at several GB/s, where
# zstd costs more CPU than the disk time it saves
BLOSC = {"cname": "lz4", "clevel": 1}


def _compressors():
    from zarr.codecs import BloscCodec

    return (BloscCodec(shuffle="shuffle", **BLOSC),)


def _encoder():
    import numcodecs

    return numcodecs.Blosc(shuffle=numcodecs.Blosc.SHUFFLE, blocksize=0, **BLOSC)


class EventWriter:
    """``on_records`` callback writing every stream to ``directory/<stream>.zarr``.

    ``program`` (the ELF path or guest name), ``config`` and ``args`` go into the provenance
    attrs; :meth:`close` adds the run's ``reason`` and returns ``{stream: path}``.
    ``counts`` holds the records seen per stream.
    """

    def __init__(self, directory: str | os.PathLike, *, program=None, config=None,
                 args: str = "", chunk_records: int = CHUNK_RECORDS):
        self.directory = Path(directory)
        self.program = program
        self.config = config
        self.args = args
        self.chunk_records = int(chunk_records)
        self.counts: dict[str, int] = {}
        self._chunks: dict[str, tuple[np.ndarray, int]] = {}   # stream -> (buffer, filled)
        self._whole: dict[str, list[bytes]] = {}               # symbolized streams, kept
        self._tmp: dict[str, Path] = {}                        # stream -> store being built
        self._written: dict[str, int] = {}                     # stream -> records in the store
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._free: queue.Queue = queue.Queue(maxsize=3)       # chunk buffers to reuse
        self._error: BaseException | None = None
        self._pool = None                                      # column compressors
        self._encode = None
        self._thread = threading.Thread(target=self._write_loop, name="wb-event-writer",
                                         daemon=True)
        self._thread.start()
        self._provenance = None

    # ------------------------------------------------------------ the callback (main thread)

    def __call__(self, stream: str, records: np.ndarray) -> None:
        self._raise_pending()
        self.counts[stream] = self.counts.get(stream, 0) + len(records)
        spec = ev.STREAMS.get(stream)
        if spec is None:
            raise ValueError(f"EventWriter: unknown stream {stream!r}")
        if spec.symbolize:
            self._whole.setdefault(stream, []).append(records.tobytes())
            return
        done = 0
        size = spec.dtype.itemsize
        raw = records.view(np.uint8).reshape(-1)   # byte copies: numpy's structured copy is 5x slower
        while done < len(records):
            buf, filled = self._chunks.get(stream) or (self._new_chunk(spec.dtype), 0)
            n = min(len(records) - done, len(buf) - filled)
            buf.view(np.uint8)[filled * size:(filled + n) * size] = raw[done * size:(done + n) * size]
            filled += n
            done += n
            if filled == len(buf):
                self._queue.put((stream, buf))
                self._chunks.pop(stream, None)
            else:
                self._chunks[stream] = (buf, filled)

    def _new_chunk(self, dtype) -> np.ndarray:
        """A chunk buffer: one the writer is done with (already faulted in), else a new one."""
        try:
            buf = self._free.get_nowait()
            if buf.dtype == dtype:
                return buf
        except queue.Empty:
            pass
        return np.empty(self.chunk_records, dtype)

    # ------------------------------------------------------------ the writer thread

    def _write_loop(self) -> None:
        # the storage stack takes about half a second to import: do it while the guest runs
        import xarray  # noqa: F401
        import zarr  # noqa: F401
        from concurrent.futures import ThreadPoolExecutor

        self._encode = _encoder()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="wb-event-compress")

        while True:
            item = self._queue.get()
            if item is None:
                self._pool.shutdown()
                return
            if self._error is not None:
                continue                    # drain the queue; the error is reported once
            try:
                self._append(*item)
            except BaseException as e:      # reported to the main thread by _raise_pending
                self._error = e
            if len(item[1]) == self.chunk_records and not self._free.full():
                self._free.put_nowait(item[1])  # reused: no page faults on a fresh 32 MiB

    def _prov(self) -> dict:
        if self._provenance is None:
            name = Path(str(self.program)).name if self.program is not None else None
            program = self.program if self.program is not None and Path(str(self.program)).is_file() else None
            self._provenance = ev.provenance(workload=name, program=program, config=self.config,
                                             args=self.args)
        return self._provenance

    def _append(self, stream: str, recs: np.ndarray) -> None:
        spec = ev.STREAMS[stream]
        tmp = self._tmp.get(stream)
        if tmp is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = store.temporary_sibling(self.directory / f"{stream}.zarr")
            empty = ev.to_dataset(stream, recs[:0], provenance=self._prov())
            enc = {v: {"chunks": (self.chunk_records,), "compressors": _compressors()}
                   for v in empty.variables}
            with store.quiet_zarr():
                empty.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False, encoding=enc)
            self._tmp[stream] = tmp
            self._written[stream] = 0
        index = self._written[stream] // self.chunk_records  # full chunks only, until close

        def write(name: str) -> None:
            dtype = spec.dtype.fields[name][0].newbyteorder("=")
            col = recs[name].astype(dtype)                    # native byte order, as to_dataset
            if len(col) < self.chunk_records:                 # the last chunk, padded
                col = np.concatenate([col, np.zeros(self.chunk_records - len(col), dtype)])
            path = tmp / name / "c" / str(index)
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(self._encode.encode(col))

        list(self._pool.map(write, spec.fields))
        self._written[stream] += len(recs)

    def _raise_pending(self) -> None:
        if self._error is not None:
            e, self._error = self._error, None
            raise RuntimeError(f"writing events to {self.directory} failed: {e}") from e

    def _finish_thread(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    # ------------------------------------------------------------ ending

    def close(self, run=None) -> dict[str, Path]:
        """Write what is left, put every store in place and return ``{stream: path}``.
        ``run`` (the ``Run``) adds its ``reason`` to each store's attrs."""
        import zarr

        try:
            for stream, (buf, filled) in list(self._chunks.items()):
                self._queue.put((stream, buf[:filled]))
            self._chunks.clear()
            self._finish_thread()
            self._raise_pending()
            reason = {"reason": run.reason} if run is not None else {}
            out = {}
            for stream, parts in self._whole.items():
                ds = ev.to_dataset(stream, b"".join(parts), provenance={**self._prov(), **reason},
                                   symbols=self.program if self.program is not None else None)
                out[stream] = store.save(ds, self.directory / f"{stream}.zarr")
            for stream, tmp in self._tmp.items():
                with store.quiet_zarr():
                    group = zarr.open_group(tmp, mode="r+", zarr_format=3)
                    for name in ev.STREAMS[stream].fields:   # the length written, in chunks
                        group[name].resize((self._written[stream],))
                    group.attrs.update(reason)
                    zarr.consolidate_metadata(tmp, zarr_format=3)
                out[stream] = store.put_in_place(tmp, self.directory / f"{stream}.zarr")
            self._tmp.clear()
            return dict(sorted(out.items()))
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop writing and remove the stores under construction (a failed run)."""
        self._chunks.clear()
        self._finish_thread()
        for tmp in self._tmp.values():
            store.remove(tmp)
        self._tmp.clear()

