"""An archive folder and its store, kept honest in both directions.

``restore_archive``: a fresh machine with only the store (an empty archive folder and
``--store s3://...``) takes the capture index snapshot and ``reports.jsonl`` from the store and
records every object the store holds in ARCHIVE/store.json, so readers find the WARCs there
and the next crawl carries on where the last one ended.

``verify_store``: what ``govcrawl sync --verify`` runs. It lists the store (one listing, no
downloads) and compares it with what the archive says exists: every WARC the capture index
points at must be in the archive folder or in the store, and every object store.json records as
uploaded must be in the store with the size recorded at upload.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from govcrawl.archive.layout import ArchiveLayout
from govcrawl.store.spool import CAPTURES_KEY, _Manifest, read_manifest
from govcrawl.store.stores import Store

logger = logging.getLogger(__name__)

REPORTS_KEY = "reports.jsonl"


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)  # files copied into the archive folder
    adopted: int = 0  # store objects recorded in store.json


def needs_restore(layout: ArchiveLayout) -> bool:
    """True for an archive folder that has never been crawled into (no capture index, no
    store.json): on such a folder, a given store is the archive."""
    return not layout.captures_db.exists() and not read_manifest(layout)["objects"]


def restore_archive(
    layout: ArchiveLayout, store: Store, *, capture_index: bool = True
) -> RestoreReport:
    """Bring the store's archive into an empty archive folder (see the module docstring).

    ``capture_index``: copy the SQLite capture index snapshot (False when the index lives in
    PostgreSQL). Raises the store's errors (unreachable, access denied); copies are written to a
    temporary name and renamed, so a failure leaves no half file.
    """
    report = RestoreReport()
    sizes = store.sizes("")
    wanted = [REPORTS_KEY] + ([CAPTURES_KEY] if capture_index else [])
    for key in wanted:
        local = layout.root / key
        if key in sizes and not local.exists():
            _download(store, key, local)
            report.restored.append(key)
    objects = {k: v for k, v in sizes.items() if not k.startswith(".")}
    if objects:
        _Manifest(layout).adopt(store, objects)
        report.adopted = len(objects)
    if report.restored or report.adopted:
        logger.warning(
            "restored archive %s from %s: %s, %d stored objects recorded",
            layout.root,
            store.describe(),
            ", ".join(report.restored) or "no files",
            report.adopted,
        )
    return report


def _download(store: Store, key: str, dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, contextlib.closing(store.open_range(key, 0, None)) as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # keys the archive needs, absent from store
    mismatched: list[str] = field(default_factory=list)  # "key: stored N bytes, recorded M"

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched


def verify_store(layout: ArchiveLayout, store: Store, indexed_warcs: Iterable[str]) -> VerifyReport:
    """Compare the store's listing with store.json and with the WARCs the capture index names
    (``indexed_warcs``). WARCs still in the archive folder need not be in the store yet."""
    report = VerifyReport()
    stored = store.sizes("")
    uri = store.describe()
    objects = read_manifest(layout)["objects"]
    for key, entry in sorted(objects.items()):
        if entry.get("store", uri) != uri:
            continue
        report.checked += 1
        if key not in stored:
            report.missing.append(key)
        elif entry.get("size") is not None and stored[key] != entry["size"]:
            report.mismatched.append(f"{key}: stored {stored[key]} bytes, recorded {entry['size']}")
    for name in sorted(set(indexed_warcs)):
        key = f"warc/{name}"
        if key in objects or layout.warc_path(name).exists():
            continue
        report.checked += 1
        if key not in stored:
            report.missing.append(key)
    return report
