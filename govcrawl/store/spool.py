"""The archive folder as a spool in front of a store: ship sealed files, confirm, then let go.

Nothing is ever lost: a WARC is deleted locally only after the store confirmed its size and
checksum and the upload is recorded in ``ARCHIVE/store.json``. While the store is down files stay
local and the next ``ship_pending()`` (or ``govcrawl sync``) sends them.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from govcrawl.archive.layout import OPEN_SUFFIX, WARC_SUFFIX, ArchiveLayout
from govcrawl.store.stores import (
    LocalStore,
    S3Store,
    Store,
    StoreVerificationError,
    UploadResult,
    file_digests,
    is_unreachable,
    open_file_range,
    open_store,
)

logger = logging.getLogger(__name__)

MANIFEST_NAME = "store.json"
CAPTURES_KEY = "captures.sqlite3"
_ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class SyncReport:
    uploaded: int = 0
    failed: int = 0
    bytes: int = 0


def store_key(layout: ArchiveLayout, path: Path) -> str:
    """The key of an archive file in the store (the layout in the package docstring)."""
    rel = Path(path).absolute().relative_to(layout.root)
    if len(rel.parts) == 1 and rel.suffix == ".wacz":
        return f"wacz/{rel.name}"
    return rel.as_posix()


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _store_endpoint(store: Store) -> str | None:
    return store.endpoint_url if isinstance(store, S3Store) else None


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith((".tmp", OPEN_SUFFIX))


# ---------------------------------------------------------------------------------------------
# ARCHIVE/store.json


def read_manifest(layout: ArchiveLayout) -> dict[str, Any]:
    """``{"store": uri, "stores": {uri: {"endpoint_url": ...}}, "objects": {key: {...}}}``."""
    path = layout.root / MANIFEST_NAME
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {"store": None, "stores": {}, "objects": {}}
    return _read_manifest_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_manifest_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    # Readers (replay, export) call open_warc per record; parse the manifest once per version.
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    data.setdefault("stores", {})
    data.setdefault("objects", {})
    return data


class _Manifest:
    """Read-modify-write of ARCHIVE/store.json under a lock (threads and processes: a crawl and
    `govcrawl sync` may run at once), written to a temporary name and renamed."""

    def __init__(self, layout: ArchiveLayout) -> None:
        self.path = layout.root / MANIFEST_NAME
        self._lock_path = layout.root / f".{MANIFEST_NAME}.lock"
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"store": None, "stores": {}, "objects": {}}
        with self.path.open(encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        data.setdefault("stores", {})
        data.setdefault("objects", {})
        return data

    def record(self, store: Store, result: UploadResult, mtime_ns: int) -> None:
        self._update(
            store,
            {
                result.key: {
                    "store": store.describe(),
                    "size": result.size,
                    "sha256": result.sha256,
                    "checksum": result.checksum,
                    "uploaded": _utc_now(),
                    "mtime_ns": mtime_ns,
                }
            },
        )

    def adopt(self, store: Store, sizes: dict[str, int]) -> None:
        """Record objects found in the store (a fresh machine restoring an archive); their
        checksums are unknown here and are computed by whoever reads them whole."""
        found = _utc_now()
        self._update(
            store,
            {
                key: {"store": store.describe(), "size": size, "sha256": None, "found": found}
                for key, size in sizes.items()
            },
            keep_existing=True,
        )

    def _update(
        self, store: Store, entries: dict[str, Any], *, keep_existing: bool = False
    ) -> None:
        uri = store.describe()
        with self._locked():
            data = self.load()
            data["store"] = uri
            data["stores"][uri] = {"endpoint_url": _store_endpoint(store)}
            for key, entry in entries.items():
                if not (keep_existing and key in data["objects"]):
                    data["objects"][key] = entry
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{MANIFEST_NAME}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.write("\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


# ---------------------------------------------------------------------------------------------
# The spool


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    sent: bool = False  # an upload happened (False when there was nothing new to send)
    bytes: int = 0
    unreachable: bool = False


class Spool:
    """Ships sealed archive files to a store; WARCs are deleted locally once confirmed, the rest
    (run summaries, indexes, reports.jsonl, WACZ) stay and are sent again when they change."""

    def __init__(self, layout: ArchiveLayout, store: Store) -> None:
        # Absolute, so paths from signals and from globbing compare equal.
        self.layout = ArchiveLayout(layout.root.expanduser().absolute())
        self.store = store
        self.manifest = _Manifest(self.layout)
        self._failing = False  # one warning per outage, not one per file
        self._state_lock = threading.Lock()

    @property
    def active(self) -> bool:
        """False when the store is the archive folder itself (nothing to ship)."""
        return not (
            isinstance(self.store, LocalStore)
            and (self.store.root is None or self.store.root == self.layout.root.resolve())
        )

    def _where(self) -> str:
        endpoint = _store_endpoint(self.store)
        return (
            f"{self.store.describe()} (endpoint {endpoint})" if endpoint else self.store.describe()
        )

    # -- what is waiting ------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """Sealed files not yet in the store (or changed since), WARCs first, oldest first."""
        objects = self.manifest.load()["objects"]
        uri = self.store.describe()
        out = [p for p in self.layout.sealed_warcs() if not _is_temporary(p)]
        kept: list[Path] = []
        for folder in (self.layout.runs_dir, self.layout.indexes_dir):
            if folder.is_dir():
                kept += sorted(p for p in folder.iterdir() if p.is_file() and not _is_temporary(p))
        if self.layout.reports_jsonl.is_file():
            kept.append(self.layout.reports_jsonl)
        kept += sorted(p for p in self.layout.root.glob("*.wacz") if not _is_temporary(p))
        for path in kept:
            entry = objects.get(store_key(self.layout, path))
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if (
                entry is None
                or entry.get("store") != uri
                or entry.get("size") != stat.st_size
                or entry.get("mtime_ns") != stat.st_mtime_ns
            ):
                out.append(path)
        return out

    # -- shipping ---------------------------------------------------------------------------

    def ship(self, path: Path) -> bool:
        """Upload one sealed file and confirm it; False (file kept) if the store failed."""
        return self._ship(Path(path)).ok

    def ship_one(self, path: Path) -> SyncReport:
        """``ship`` with counts, for callers that keep statistics."""
        outcome = self._ship(Path(path))
        return SyncReport(int(outcome.sent), int(not outcome.ok), outcome.bytes)

    def _ship(self, path: Path) -> _Outcome:
        if path.name.endswith(OPEN_SUFFIX):
            raise ValueError(f"{path.name} is still being written; only sealed files are shipped")
        if not self.active:
            return _Outcome(True)
        path = path.absolute()
        if path == self.layout.captures_db.absolute():
            return self._ship_captures()
        key = store_key(self.layout, path)
        try:
            outcome = self._upload(path, key, path.stat().st_mtime_ns)
        except FileNotFoundError:
            # Another shipper (a concurrent `govcrawl sync`) already moved it: not a failure.
            return _Outcome(key in self.manifest.load()["objects"])
        if outcome.ok and path.name.endswith(WARC_SUFFIX) and path.parent == self.layout.warc_dir:
            path.unlink()  # confirmed and recorded: the local copy may go
        return outcome

    def _upload(self, path: Path, key: str, mtime_ns: int) -> _Outcome:
        """Upload, confirm, record in store.json; failures are logged here, never raised
        (except FileNotFoundError, which the caller judges)."""
        try:
            result = self.store.upload(path, key)
        except FileNotFoundError:
            raise
        except StoreVerificationError as exc:
            logger.error("store %s: %s; keeping the local copy", self.store.describe(), exc)
            return _Outcome(False)
        except Exception as exc:
            self._note_failure(exc)
            return _Outcome(False, unreachable=is_unreachable(exc))
        self.manifest.record(self.store, result, mtime_ns)
        self._note_success()
        logger.debug(
            "stored %s as %s/%s (%d bytes)", path.name, self.store.describe(), key, result.size
        )
        return _Outcome(True, True, result.size)

    def _ship_captures(self) -> _Outcome:
        """Upload a consistent snapshot of the SQLite capture index (WAL included)."""
        db = self.layout.captures_db
        if not db.is_file():
            return _Outcome(True)
        fd, tmp_name = tempfile.mkstemp(
            dir=self.layout.root, prefix=".captures-snapshot-", suffix=".tmp"
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                dst = sqlite3.connect(tmp)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()
            except sqlite3.Error as exc:
                logger.warning("cannot snapshot %s for the store: %s", db.name, exc)
                return _Outcome(False)
            entry = self.manifest.load()["objects"].get(CAPTURES_KEY)
            if entry and entry.get("store") == self.store.describe():
                local = file_digests(tmp, 1 << 62)
                if entry.get("sha256") == local.sha256_hex and entry.get("size") == local.size:
                    return _Outcome(True)  # unchanged since the last snapshot
            return self._upload(tmp, CAPTURES_KEY, db.stat().st_mtime_ns)
        finally:
            tmp.unlink(missing_ok=True)

    def ship_pending(self, *, final: bool = False) -> SyncReport:
        """Ship everything sealed that is still local (WARCs first); with ``final``, end with a
        snapshot of the capture index. Stops early when the store cannot be reached at all."""
        if not self.active:
            return SyncReport()
        todo: list[Path] = self.pending()
        if final:
            todo.append(self.layout.captures_db)
        uploaded = failed = sent = 0
        for i, path in enumerate(todo):
            outcome = self._ship(path)
            if outcome.ok:
                uploaded += outcome.sent
                sent += outcome.bytes
                continue
            failed += 1
            if outcome.unreachable:
                failed += len(todo) - i - 1  # a dead store would only time out again
                break
        if uploaded:
            logger.info(
                "store %s: %d files, %d bytes uploaded", self.store.describe(), uploaded, sent
            )
        return SyncReport(uploaded, failed, sent)

    def _note_failure(self, exc: BaseException) -> None:
        with self._state_lock:
            first, self._failing = not self._failing, True
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if first:
            logger.warning(
                "store %s is failing (%s); keeping files in %s and retrying later",
                self._where(),
                reason,
                self.layout.root,
            )
        else:
            logger.debug("store %s still failing: %s", self.store.describe(), reason)

    def _note_success(self) -> None:
        with self._state_lock:
            recovered, self._failing = self._failing, False
        if recovered:
            logger.info("store %s is answering again", self.store.describe())


def sync_archive(layout: ArchiveLayout, store: Store) -> SyncReport:
    """What `govcrawl sync --archive DIR` runs: ship everything pending, then the capture index."""
    return Spool(layout, store).ship_pending(final=True)


def store_from_manifest(layout: ArchiveLayout, uri: str | None = None) -> Store | None:
    """The store recorded in ARCHIVE/store.json (the latest, or ``uri``), or None."""
    manifest = read_manifest(layout)
    uri = uri or manifest.get("store")
    if not uri:
        return None
    return _cached_store(uri, _read_endpoint(manifest, uri))


def _read_endpoint(manifest: dict[str, Any], uri: str) -> str | None:
    # An endpoint set in the environment now wins (boto3 applies it); else the recorded one.
    if any(os.environ.get(name) for name in _ENDPOINT_ENV):
        return None
    endpoint: str | None = manifest["stores"].get(uri, {}).get("endpoint_url")
    return endpoint


@functools.lru_cache(maxsize=8)
def _cached_store(uri: str, endpoint_url: str | None) -> Store:
    # boto3 clients are thread-safe and slow to build: one per store for the process.
    return open_store(uri, endpoint_url=endpoint_url)


# ---------------------------------------------------------------------------------------------
# Reading back


def open_warc(
    layout: ArchiveLayout, name: str, offset: int = 0, length: int | None = None
) -> BinaryIO:
    """A WARC (or ``length`` bytes of it from ``offset``): from the local folder when present
    (also while still ``.open``), else by ranged GET from the store recorded in store.json.
    Raises FileNotFoundError when neither holds it."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"bad WARC file name {name!r}")
    for candidate in (layout.warc_path(name), layout.warc_path(name + OPEN_SUFFIX)):
        try:
            return open_file_range(candidate, offset, length)
        except FileNotFoundError:
            continue
    manifest = read_manifest(layout)
    entry = manifest["objects"].get(f"warc/{name}") or {}
    # Not in store.json: a fleet shares one store, another worker's WARC may be there. A
    # missing object raises FileNotFoundError from the store itself (one GET, no HEAD first).
    uri = entry.get("store") or manifest["store"]
    if not uri:
        raise FileNotFoundError(f"WARC {name} is neither in {layout.warc_dir} nor in store.json")
    store = _cached_store(uri, _read_endpoint(manifest, uri))
    return store.open_range(f"warc/{name}", offset, length)


def warc_names(layout: ArchiveLayout) -> list[str]:
    """Names of all sealed WARCs of the archive, local or uploaded."""
    names = {p.name for p in layout.sealed_warcs()}
    for key in read_manifest(layout)["objects"]:
        if key.startswith("warc/"):
            names.add(key[len("warc/") :])
    return sorted(names)
