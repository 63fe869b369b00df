"""Crash recovery: make an archive consistent again after a crawl was killed.

A killed crawl leaves ``*.warc.gz.open`` files whose last gzip member may be torn, index rows that
may point into that torn tail, and a run that never finished. For each open file we keep the
longest prefix of complete records (each record is one gzip member: the member must decompress to
its end, and warcio must read it as one record whose digests verify), truncate the file there and
seal it under its final name. Index rows pointing past the end of any file, or into files of this
archive that no longer exist, are dropped. Runs of this host and archive that never finished are
closed with ``{"interrupted": true}``.

Must run while holding the archive lock (nobody else may be writing).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from govcrawl.archive.layout import OPEN_SUFFIX, ArchiveLayout

if TYPE_CHECKING:
    from govcrawl.archive.captures import CaptureIndex

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass
class RecoveryReport:
    sealed: list[str] = field(default_factory=list)  # .open files kept and renamed
    removed: list[str] = field(default_factory=list)  # .open files without one complete record
    truncated: dict[str, int] = field(default_factory=dict)  # file name -> bytes cut off
    rows_dropped: int = 0
    interrupted_runs: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.sealed or self.removed or self.rows_dropped or self.interrupted_runs)


def _member_end(fh: BinaryIO, start: int) -> int | None:
    """End offset of the gzip member starting at ``start``; None if it is torn or corrupt
    (or ``start`` is the end of the file)."""
    fh.seek(start)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = 0
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return None
        pending = chunk
        try:
            # Output is discarded; max_length keeps a highly compressible body from
            # inflating into memory all at once.
            while pending and not inflater.eof:
                inflater.decompress(pending, _CHUNK * 4)
                pending = inflater.unconsumed_tail
        except zlib.error:
            return None
        if inflater.eof:
            return start + consumed + len(chunk) - len(inflater.unused_data)
        consumed += len(chunk)


def _record_ok(fh: BinaryIO, start: int, end: int) -> bool:
    """The member at [start, end) holds exactly one complete WARC record whose digests verify."""
    fh.seek(start)
    it = ArchiveIterator(fh, check_digests=True)
    try:
        record = next(iter(it))
        while record.raw_stream.read(_CHUNK):
            pass
        if record.digest_checker.passed is False:
            return False
        return bool(it.get_record_offset() == start and it.get_record_length() == end - start)
    except Exception:  # any parse failure means the record is not usable
        return False
    finally:
        it.close()


def complete_prefix(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(bytes, records) of the longest prefix of ``path`` made of complete, valid records."""
    good_end, count = 0, 0
    with open(path, "rb") as fh:
        while True:
            end = _member_end(fh, good_end)
            if end is None or not _record_ok(fh, good_end, end):
                return good_end, count
            good_end, count = end, count + 1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _local_index(layout: ArchiveLayout, index: CaptureIndex) -> bool:
    path = getattr(index, "path", None)
    return path is not None and Path(path).resolve().parent == layout.root.resolve()


def _uploaded_warcs(layout: ArchiveLayout) -> set[str]:
    """WARCs the storage stage shipped to a store and deleted locally (ARCHIVE/store.json):
    missing here, present there. Read as plain JSON: the archive model does not import
    pipelines/."""
    try:
        manifest = json.loads((layout.root / "store.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    objects = manifest.get("objects") if isinstance(manifest, dict) else None
    if not isinstance(objects, dict):
        return set()
    return {key.split("/", 1)[1] for key in objects if key.startswith("warc/")}


def recover_archive(
    layout: ArchiveLayout, index: CaptureIndex, *, drop_missing: bool | None = None
) -> RecoveryReport:
    """Seal leftover ``.open`` WARCs at their last complete record and drop index rows that do
    not point at a complete record.

    ``drop_missing``: also drop rows of files missing from ``layout.warc_dir``. By default only
    when the index is this archive's own SQLite file: a shared PostgreSQL index also holds rows of
    other workers' archives, and those files are legitimately absent here.
    """
    report = RecoveryReport()
    if drop_missing is None:
        drop_missing = _local_index(layout, index)
    uploaded = _uploaded_warcs(layout)

    for open_path in layout.open_warcs():
        final_name = open_path.name[: -len(OPEN_SUFFIX)]
        final_path = open_path.with_name(final_name)
        size = open_path.stat().st_size
        good_end, records = complete_prefix(open_path)
        if final_path.exists():
            # Killed between writing the final name and removing the temporary one: impossible
            # with os.replace, so someone else made this; leave both for a human.
            logger.error("both %s and %s exist; leaving them alone", final_path, open_path)
            continue
        if records == 0:
            logger.warning("removing %s: no complete record in %d bytes", open_path.name, size)
            open_path.unlink()
            report.removed.append(open_path.name)
            report.rows_dropped += index.drop_captures_beyond(final_name, 0)
            continue
        if good_end < size:
            logger.warning(
                "cutting %d torn bytes off %s (keeping %d records)",
                size - good_end,
                open_path.name,
                records,
            )
            with open(open_path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
            report.truncated[final_name] = size - good_end
        report.rows_dropped += index.drop_captures_beyond(final_name, good_end)
        os.replace(open_path, final_path)
        report.sealed.append(final_name)
        logger.info("sealed %s after an interrupted crawl (%d records)", final_name, records)
    if report.sealed or report.removed:
        _fsync_dir(layout.warc_dir)

    for name in sorted(index.warc_names()):
        path = layout.warc_path(name)
        if path.exists():
            # Rows can only point inside a file; anything past its end is lost data.
            report.rows_dropped += index.drop_captures_beyond(name, path.stat().st_size)
        elif (
            drop_missing
            and not path.with_name(name + OPEN_SUFFIX).exists()
            and name not in uploaded
        ):
            dropped = index.drop_captures_beyond(name, 0)
            if dropped:
                logger.warning("dropped %d index rows of missing WARC %s", dropped, name)
            report.rows_dropped += dropped

    host, here = socket.gethostname(), os.fspath(layout.root)
    for run in index.unfinished_runs():
        if run["host"] == host and run["archive"] == here and run["pid"] != os.getpid():
            index.finish_run(run["id"], {"interrupted": True, "finish_reason": "interrupted"})
            report.interrupted_runs.append(run["id"])

    if report.changed:
        logger.warning(
            "recovered archive %s: sealed %d, removed %d, dropped %d index rows, closed %d runs",
            layout.root,
            len(report.sealed),
            len(report.removed),
            report.rows_dropped,
            len(report.interrupted_runs),
        )
    return report
