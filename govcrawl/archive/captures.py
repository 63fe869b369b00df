"""The capture index: one row per archived response (or revisit) and one per crawl run.

Two backends behind one interface: SQLite (default, ``ARCHIVE/captures.sqlite3``, WAL mode) and
PostgreSQL (psycopg 3, from a ``postgresql://`` DSN, tables in a configurable schema) for crawls
spread over several machines. Queries are written once with ``?`` placeholders; the PostgreSQL
backend translates them to ``%s``. Values always travel as parameters; the only text spliced into
SQL is the schema name, which must be a plain identifier.

"Latest" means highest row id: ids only grow (SQLite AUTOINCREMENT, a PostgreSQL identity), so a
deleted row's id is never reused and ``refers_to_id`` stays unambiguous.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from govcrawl.clock import clock

logger = logging.getLogger(__name__)

SQLITE_NAME = "captures.sqlite3"
PG_SCHEMES = ("postgresql://", "postgres://")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class CaptureRow:
    id: int
    url: str
    fetched: str  # ISO 8601 UTC, "2026-11-28T04:30:00Z" (equals the record's WARC-Date)
    http_status: int
    digest: str  # "sha1:" + base32 of the payload as received
    size: int  # payload bytes as received (for revisits: the original's)
    warc: str  # sealed WARC file name, no directory
    offset: int
    length: int
    record_type: str  # "response" | "revisit"
    status: str  # "new" | "changed" | "unchanged"
    refers_to_id: int | None = None  # revisits: the response row holding the payload
    run_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    record_id: str | None = None  # WARC-Record-ID of the record at warc/offset
    content_type: str | None = None
    # Report pages, filled later by update_report():
    published: str | None = None  # ISO 8601 +08:00
    clicks: int | None = None
    title: str | None = None
    agency: str | None = None
    source: str | None = None
    year: int | None = None
    fingerprint: str | None = None
    group_id: int | None = None


@dataclass
class Capture:
    """Where one archived response lives. Carried on items and in ``request.meta["capture"]``."""

    url: str
    fetched: str  # ISO 8601 UTC, e.g. 2026-11-28T04:30:00Z
    http_status: int
    digest: str  # "sha1:" + base32 of the payload (body as received)
    warc: str  # WARC file name (no directory)
    offset: int  # offset of the response or revisit record
    length: int  # compressed length of that record
    record_type: str  # "response" or "revisit"
    status: str  # "new" | "changed" | "unchanged" against the previous capture of the URL
    capture_id: int | None = None  # row id in the capture index


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CaptureRow))
REPORT_FIELDS = (
    "published",
    "clicks",
    "title",
    "agency",
    "source",
    "year",
    "fingerprint",
    "group_id",
)
_INSERT_FIELDS = tuple(c for c in COLUMNS if c != "id" and c not in REPORT_FIELDS)


def _q(column: str) -> str:
    # "offset" is reserved in both dialects; quoting every column keeps the SQL uniform.
    return f'"{column}"'


_SELECT_COLS = ", ".join(_q(c) for c in COLUMNS)


def _now_iso() -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


class CaptureIndex:
    """Interface shared by both backends. Use ``CaptureIndex.open(target)``."""

    paramstyle = "?"
    captures_table = "captures"
    runs_table = "runs"
    pages_table = "pages"
    reports_table = "reports"
    bands_table = "report_bands"
    bands_mark_table = "report_bands_mark"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._flush_hooks: list[Callable[[], None]] = []

    # -- construction --------------------------------------------------------------------

    @staticmethod
    def open(target: str | os.PathLike[str], *, schema: str | None = None) -> CaptureIndex:
        """``postgresql://...`` opens PostgreSQL (tables in ``schema``, default ``public``);
        anything else is a SQLite file, or an archive directory holding captures.sqlite3."""
        text = os.fspath(target)
        if text.startswith(PG_SCHEMES):
            return PostgresCaptureIndex(text, schema=schema or "public")
        path = Path(text)
        if path.is_dir():
            path = path / SQLITE_NAME
        return SQLiteCaptureIndex(path)

    # -- backend hooks -------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _insert_returning_id(self, sql: str, params: Sequence[Any]) -> int:
        cur = self._execute(sql + " RETURNING id", params)
        row = cur.fetchone()
        return int(row[0])

    def on_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` from ``flush()``: users that batch their writes (the report grouper's
        bands) store what they hold."""
        self._flush_hooks.append(hook)

    def flush(self) -> None:
        """Let every ``on_flush`` hook store its batch (``finish_run`` and ``close`` do)."""
        for hook in self._flush_hooks:
            hook()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> CaptureIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- captures ------------------------------------------------------------------------

    def add_capture(
        self,
        *,
        url: str,
        fetched: str,
        http_status: int,
        digest: str,
        size: int,
        warc: str,
        offset: int,
        length: int,
        record_type: str,
        status: str,
        refers_to_id: int | None = None,
        run_id: int | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        record_id: str | None = None,
        content_type: str | None = None,
    ) -> int:
        if record_type not in ("response", "revisit"):
            raise ValueError(f"record_type must be response or revisit, not {record_type!r}")
        if status not in ("new", "changed", "unchanged"):
            raise ValueError(f"status must be new, changed or unchanged, not {status!r}")
        values = {
            "url": url,
            "fetched": fetched,
            "http_status": http_status,
            "digest": digest,
            "size": size,
            "warc": warc,
            "offset": offset,
            "length": length,
            "record_type": record_type,
            "status": status,
            "refers_to_id": refers_to_id,
            "run_id": run_id,
            "etag": etag,
            "last_modified": last_modified,
            "record_id": record_id,
            "content_type": content_type,
        }
        cols = ", ".join(_q(c) for c in _INSERT_FIELDS)
        marks = ", ".join("?" for _ in _INSERT_FIELDS)
        sql = f"INSERT INTO {self.captures_table} ({cols}) VALUES ({marks})"
        with self._lock:
            return self._insert_returning_id(sql, [values[c] for c in _INSERT_FIELDS])

    def get(self, capture_id: int) -> CaptureRow | None:
        return self._one(
            f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE id = ?", [capture_id]
        )

    def last_capture(self, url: str, http_status: int | None = None) -> CaptureRow | None:
        """The latest capture of ``url`` (a full response or a revisit), optionally the latest
        answered with ``http_status``."""
        if http_status is None:
            return self._one(
                f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE url = ? "
                "AND record_type IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
                [url],
            )
        return self._one(
            f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE url = ? AND http_status = ? "
            "AND record_type IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
            [url, http_status],
        )

    def original_for(self, url: str, digest: str) -> CaptureRow | None:
        """The latest full response of ``url`` with payload ``digest``: what a revisit refers to."""
        return self._one(
            f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE url = ? AND digest = ? "
            "AND record_type = 'response' ORDER BY id DESC LIMIT 1",
            [url, digest],
        )

    def history(self, url: str) -> list[CaptureRow]:
        """Every capture of ``url``, oldest first."""
        return self._all(
            f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE url = ? ORDER BY id", [url]
        )

    def iter_captures(self) -> Iterator[CaptureRow]:
        """All rows in id order (for indexing, export and consistency checks)."""
        yield from self._all(f"SELECT {_SELECT_COLS} FROM {self.captures_table} ORDER BY id", [])

    def warc_names(self) -> set[str]:
        rows = self._rows(f"SELECT DISTINCT warc FROM {self.captures_table}", [])
        return {r[0] for r in rows}

    def update_report(
        self,
        capture_id: int,
        *,
        published: str | None = UNSET,
        clicks: int | None = UNSET,
        title: str | None = UNSET,
        agency: str | None = UNSET,
        year: int | None = UNSET,
        fingerprint: str | None = UNSET,
        group_id: int | None = UNSET,
        source: str | None = UNSET,
    ) -> None:
        """Mark a capture as a report page and set the given fields (others stay as they are)."""
        given = {
            "published": published,
            "clicks": clicks,
            "title": title,
            "agency": agency,
            "year": year,
            "fingerprint": fingerprint,
            "group_id": group_id,
            "source": source,
        }
        given = {k: v for k, v in given.items() if v is not UNSET}
        sets = ", ".join([f"{_q(k)} = ?" for k in given] + ["report = 1"])
        with self._lock:
            cur = self._execute(
                f"UPDATE {self.captures_table} SET {sets} WHERE id = ?",
                [*given.values(), capture_id],
            )
            if cur.rowcount == 0:
                raise KeyError(f"no capture with id {capture_id}")

    def last_fingerprint(self, url: str) -> str | None:
        """The text fingerprint of the latest capture of ``url`` that has one (a report whose
        extraction is reused keeps its fingerprint), or None."""
        rows = self._rows(
            f"SELECT fingerprint FROM {self.captures_table} WHERE url = ? "
            "AND fingerprint IS NOT NULL ORDER BY id DESC LIMIT 1",
            [url],
        )
        return str(rows[0][0]) if rows else None

    def latest_reports(self) -> Iterator[CaptureRow]:
        """Latest capture of every URL that was ever recorded as a report, ordered by URL.

        When that latest capture has no report fields yet (say a 304 nobody re-extracted), the
        fields come from the URL's latest capture that has them, except ``clicks``: a click count
        belongs to the moment it was read.
        """
        t = self.captures_table
        cols_c = ", ".join(f"c.{_q(c)}" for c in COLUMNS)
        cols_r = ", ".join(f"r.{_q(c)}" for c in COLUMNS)
        sql = (
            f"WITH rep AS (SELECT url, MAX(id) AS rid FROM {t} WHERE report = 1 GROUP BY url), "
            f"lat AS (SELECT url, MAX(id) AS lid FROM {t} WHERE url IN (SELECT url FROM rep) "
            "GROUP BY url) "
            f"SELECT {cols_c}, c.report, {cols_r} FROM rep JOIN lat ON lat.url = rep.url "
            f"JOIN {t} c ON c.id = lat.lid JOIN {t} r ON r.id = rep.rid ORDER BY c.url"
        )
        n = len(COLUMNS)
        for raw in self._rows(sql, []):
            latest = CaptureRow(*raw[:n])
            if raw[n]:
                yield latest
                continue
            reported = CaptureRow(*raw[n + 1 :])
            carried = {k: getattr(reported, k) for k in REPORT_FIELDS if k != "clicks"}
            yield replace(latest, **carried)

    def report_fingerprints(
        self, *, after: int = 0, limit: int | None = None
    ) -> Iterator[tuple[int, int | None, str]]:
        """(capture id, group id, fingerprint) of every capture that has a fingerprint, by id;
        only ids above ``after``, at most ``limit`` of them (pages of a long index)."""
        sql = (
            f"SELECT id, group_id, fingerprint FROM {self.captures_table} "
            "WHERE fingerprint IS NOT NULL AND id > ? ORDER BY id"
        )
        params: list[Any] = [after]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self._rows(sql, params):
            yield int(row[0]), row[1], row[2]

    # -- report bands (near-duplicate candidates, govcrawl.archive.dedupe) ----------------

    def band_candidates(self, bands: Sequence[int]) -> list[tuple[int, int | None, str]]:
        """(capture id, group id, fingerprint) of every banded capture that shares at least one
        of ``bands`` (64-bit signed band keys), by id."""
        if not bands:
            return []
        marks = ", ".join("?" for _ in bands)
        rows = self._rows(
            f"SELECT id, group_id, fingerprint FROM {self.captures_table} WHERE id IN "
            f"(SELECT capture_id FROM {self.bands_table} WHERE band IN ({marks})) ORDER BY id",
            list(bands),
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def add_bands(self, rows: Sequence[tuple[int, int]], *, upto: int) -> None:
        """Store ``(band, capture id)`` rows in one transaction (a row already there is kept)
        and raise the band mark to ``upto``: captures up to that id need no banding."""
        with self._lock, self._transaction():
            if rows:
                self._executemany(
                    f"INSERT INTO {self.bands_table} (band, capture_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
            self._execute(
                f"UPDATE {self.bands_mark_table} SET upto = ? WHERE id = 1 AND upto < ?",
                [upto, upto],
            )

    def band_mark(self) -> int:
        """Highest capture id up to which fingerprints are banded (0 for an index from before
        the band table: every stored fingerprint still needs its bands)."""
        rows = self._rows(f"SELECT upto FROM {self.bands_mark_table} WHERE id = 1", [])
        return int(rows[0][0]) if rows else 0

    def drop_captures_beyond(self, warc_name: str, size: int) -> int:
        """Delete rows of ``warc_name`` whose record does not end within its first ``size``
        bytes (``size=0`` drops every row of the file). Returns how many rows went."""
        where = 'WHERE warc = ? AND "offset" + length > ?'
        with self._lock, self._transaction():
            first = self._rows(
                f"SELECT MIN(id) FROM {self.captures_table} {where}", [warc_name, size]
            )
            cur = self._execute(f"DELETE FROM {self.captures_table} {where}", [warc_name, size])
            if first[0][0] is not None:
                # A dropped capture may have stood in the bands for later ones of its
                # fingerprint: the next grouper bands the captures from there on again.
                mark = int(first[0][0]) - 1
                self._execute(
                    f"UPDATE {self.bands_mark_table} SET upto = ? WHERE upto > ?", [mark, mark]
                )
            return int(cur.rowcount)

    def capture_since(self, url: str, since: str) -> CaptureRow | None:
        """The latest capture of ``url`` fetched at ``since`` (ISO 8601 UTC) or later."""
        return self._one(
            f"SELECT {_SELECT_COLS} FROM {self.captures_table} WHERE url = ? AND fetched >= ? "
            "AND record_type IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
            [url, since],
        )

    # -- page roles ----------------------------------------------------------------------

    def mark_page(self, url: str, kind: str, when: float) -> None:
        """Remember what ``url`` turned out to be (``list``, ``leaf`` or ``report``) at ``when``
        (seconds since the epoch, from the crawl's clock)."""
        with self._lock:
            self._execute(
                f"INSERT INTO {self.pages_table} (url, kind, seen) VALUES (?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET kind = excluded.kind, seen = excluded.seen",
                [url, kind, when],
            )

    def page_state(self, url: str) -> tuple[str, float] | None:
        """(kind, seen) of ``url``, or None when no crawl has classified it."""
        rows = self._rows(f"SELECT kind, seen FROM {self.pages_table} WHERE url = ?", [url])
        return (rows[0][0], float(rows[0][1])) if rows else None

    # -- report records (a fleet's shared reports) ----------------------------------------

    def put_report(self, record: dict[str, Any], *, round: int, run_id: int | None) -> None:
        """Keep ``record`` (README "Report records") as its URL's record of crawl round
        ``round``. The record from before that round stays as the round's ``previous``, so a
        request delivered twice in a round is judged against the same earlier record."""
        text = json.dumps(record, ensure_ascii=False, sort_keys=True)
        url = record["url"]
        with self._lock:
            rows = self._rows(
                f"SELECT record, round, previous FROM {self.reports_table} WHERE url = ?", [url]
            )
            previous = None
            if rows:
                previous = rows[0][2] if int(rows[0][1]) == round else rows[0][0]
            self._execute(
                f"INSERT INTO {self.reports_table} (url, record, round, previous, run_id) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET record = excluded.record, "
                "round = excluded.round, previous = excluded.previous, run_id = excluded.run_id",
                [url, text, round, previous, run_id],
            )

    def report_before(self, url: str, round: int) -> dict[str, Any] | None:
        """``url``'s report record as it stood before crawl round ``round``, or None."""
        rows = self._rows(
            f"SELECT record, round, previous FROM {self.reports_table} WHERE url = ?", [url]
        )
        if not rows:
            return None
        text = rows[0][2] if int(rows[0][1]) >= round else rows[0][0]
        return json.loads(text) if text else None

    def report_records(self) -> list[tuple[dict[str, Any], int]]:
        """Every kept report record with the round it was recorded in, ordered by URL."""
        rows = self._rows(f"SELECT record, round FROM {self.reports_table} ORDER BY url", [])
        return [(json.loads(r[0]), int(r[1])) for r in rows]

    # -- runs ----------------------------------------------------------------------------

    def start_run(self, *, archive: str | os.PathLike[str] | None = None) -> int:
        """Record the start of a crawl run (host, pid and archive directory are kept so that
        recovery closes only runs of this machine and archive)."""
        with self._lock:
            return self._insert_returning_id(
                f"INSERT INTO {self.runs_table} (started, host, pid, archive) VALUES (?, ?, ?, ?)",
                [
                    _now_iso(),
                    socket.gethostname(),
                    os.getpid(),
                    os.fspath(archive) if archive else None,
                ],
            )

    def finish_run(self, run_id: int, summary: dict[str, Any]) -> None:
        self.flush()  # before the index is shipped
        text = json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str)
        with self._lock:
            cur = self._execute(
                f"UPDATE {self.runs_table} SET finished = ?, summary = ? WHERE id = ?",
                [_now_iso(), text, run_id],
            )
            if cur.rowcount == 0:
                raise KeyError(f"no run with id {run_id}")

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        rows = self._rows(
            f"SELECT id, started, finished, summary FROM {self.runs_table} WHERE id = ?", [run_id]
        )
        if not rows:
            return None
        rid, started, finished, summary = rows[0]
        return {
            "id": int(rid),
            "started": started,
            "finished": finished,
            "summary": json.loads(summary) if summary else None,
        }

    def unfinished_runs(self) -> list[dict[str, Any]]:
        """Runs never finished: (id, started, host, pid, archive) of each."""
        rows = self._rows(
            f"SELECT id, started, host, pid, archive FROM {self.runs_table} "
            "WHERE finished IS NULL ORDER BY id",
            [],
        )
        keys = ("id", "started", "host", "pid", "archive")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- helpers -------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._execute(sql, params).fetchall()]

    def _all(self, sql: str, params: Sequence[Any]) -> list[CaptureRow]:
        return [CaptureRow(*r) for r in self._rows(sql, params)]

    def _one(self, sql: str, params: Sequence[Any]) -> CaptureRow | None:
        rows = self._rows(sql, params)
        return CaptureRow(*rows[0]) if rows else None


_COLUMN_DDL = """
    url TEXT NOT NULL,
    fetched TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    digest TEXT NOT NULL,
    size BIGINT NOT NULL,
    warc TEXT NOT NULL,
    "offset" BIGINT NOT NULL,
    length BIGINT NOT NULL,
    record_type TEXT NOT NULL,
    status TEXT NOT NULL,
    refers_to_id BIGINT,
    run_id BIGINT,
    etag TEXT,
    last_modified TEXT,
    record_id TEXT,
    content_type TEXT,
    published TEXT,
    clicks BIGINT,
    title TEXT,
    agency TEXT,
    source TEXT,
    year INTEGER,
    fingerprint TEXT,
    group_id BIGINT,
    report INTEGER NOT NULL DEFAULT 0
"""


# Page roles remembered between crawls (scheduling): "list", "leaf" (ordinary article), "report".
_PAGES_DDL = "url TEXT PRIMARY KEY, kind TEXT NOT NULL, seen DOUBLE PRECISION NOT NULL"

# Report records of a fleet's rounds (the shared reports.jsonl; `govcrawl publish` writes it).
_REPORTS_DDL = (
    "url TEXT PRIMARY KEY, record TEXT NOT NULL, round INTEGER NOT NULL, previous TEXT, "
    "run_id BIGINT"
)

# Band keys of report fingerprints (one row per band of each distinct fingerprint's first
# capture), and the capture id up to which stored fingerprints are banded (one row, id 1).
_BANDS_DDL = "band BIGINT NOT NULL, capture_id BIGINT NOT NULL, PRIMARY KEY (band, capture_id)"
_BANDS_MARK_DDL = "id INTEGER PRIMARY KEY, upto BIGINT NOT NULL"

_RUNS_DDL = (
    "started TEXT NOT NULL, finished TEXT, summary TEXT, host TEXT, pid INTEGER, archive TEXT)"
)


def _index_ddl(table: str) -> list[str]:
    # Index names live in the table's schema, so the same names work in every schema.
    return [
        f"CREATE INDEX IF NOT EXISTS captures_url_id ON {table} (url, id)",
        f"CREATE INDEX IF NOT EXISTS captures_url_digest ON {table} (url, digest)",
        f"CREATE INDEX IF NOT EXISTS captures_warc ON {table} (warc)",
        f"CREATE INDEX IF NOT EXISTS captures_report ON {table} (report, url)",
    ]


class SQLiteCaptureIndex(CaptureIndex):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        # One connection shared by the reactor thread and helper threads, guarded by _lock.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives a killed process; only power loss can drop the tail.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = OFF")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS captures ("
                    "id INTEGER PRIMARY KEY AUTOINCREMENT," + _COLUMN_DDL + ")"
                )
                for ddl in _index_ddl("captures"):
                    self._conn.execute(ddl)
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    + _RUNS_DDL
                )
                self._conn.execute(f"CREATE TABLE IF NOT EXISTS pages ({_PAGES_DDL})")
                self._conn.execute(f"CREATE TABLE IF NOT EXISTS reports ({_REPORTS_DDL})")
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS report_bands ({_BANDS_DDL}) WITHOUT ROWID"
                )
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS report_bands_mark ({_BANDS_MARK_DDL})"
                )
                self._conn.execute(
                    "INSERT INTO report_bands_mark (id, upto) VALUES (1, 0) ON CONFLICT DO NOTHING"
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, tuple(params))

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
            finally:
                self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteCaptureIndex({str(self.path)!r})"


class PostgresCaptureIndex(CaptureIndex):
    paramstyle = "%s"

    def __init__(self, dsn: str, *, schema: str = "public") -> None:
        super().__init__()
        import psycopg  # imported lazily: SQLite users never need it

        if not _IDENT.match(schema):
            raise ValueError(f"schema name must be a plain identifier, not {schema!r}")
        self.schema = schema
        self.captures_table = f'"{schema}".captures'
        self.runs_table = f'"{schema}".runs'
        self.pages_table = f'"{schema}".pages'
        self.reports_table = f'"{schema}".reports'
        self.bands_table = f'"{schema}".report_bands'
        self.bands_mark_table = f'"{schema}".report_bands_mark'
        self._conn = psycopg.connect(dsn, autocommit=True)
        with self._lock, self._conn.transaction():
            # Several workers may start at once: serialise the CREATE ... IF NOT EXISTS.
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"govcrawl:{schema}"])
            self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.captures_table} ("
                "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY," + _COLUMN_DDL + ")"
            )
            for ddl in _index_ddl(self.captures_table):
                self._conn.execute(ddl)
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.runs_table} ("
                "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, " + _RUNS_DDL
            )
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {self.pages_table} ({_PAGES_DDL})")
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {self.reports_table} ({_REPORTS_DDL})")
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {self.bands_table} ({_BANDS_DDL})")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.bands_mark_table} ({_BANDS_MARK_DDL})"
            )
            self._conn.execute(
                f"INSERT INTO {self.bands_mark_table} (id, upto) VALUES (1, 0) "
                "ON CONFLICT DO NOTHING"
            )

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        # Our SQL never contains a literal "?" or "%", so the translation is safe.
        return self._conn.execute(sql.replace("?", "%s"), list(params))

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), [list(r) for r in rows])

    def _transaction(self) -> AbstractContextManager[None]:
        return self._conn.transaction()  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
            finally:
                self._conn.close()

    def __repr__(self) -> str:
        return f"PostgresCaptureIndex(schema={self.schema!r})"
