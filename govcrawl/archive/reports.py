"""Report records: ARCHIVE/reports.jsonl (one record per report URL, latest capture), its journal
and the grouping of copies of one report."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "2.0"  # 2.0: published at printed precision, agency_from, checks ok null


# What a report says, for "did it change": printed counters, capture times and places are left
# out (a page whose only change is its visit count or a date header is unchanged).
CONTENT_FIELDS = ("title", "agency", "source", "year", "published", "text", "tables")
_TABLE_FIELDS = ("template", "section2", "section3", "section4")


def content_digest(record: dict[str, Any]) -> str:
    """``sha1:`` + hex of the report's normalised content: title, agency, 来源, year, publication
    date, text with whitespace collapsed, the statistical tables' cells, and which attachments
    gave how much text. Two captures with equal content digests say the same thing."""
    tables = record.get("tables") or {}
    content = {
        "fields": [record.get(k) for k in CONTENT_FIELDS if k not in ("text", "tables")],
        "text": " ".join((record.get("text") or "").split()),
        "tables": {k: tables.get(k) for k in _TABLE_FIELDS} if tables else None,
        "attachments": sorted(
            (a.get("url"), a.get("text_chars")) for a in record.get("attachments") or []
        ),
    }
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return "sha1:" + hashlib.sha1(blob.encode("utf-8")).hexdigest()


def read_reports(path: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rec = json.loads(line)
                    records[rec["url"]] = rec
    return records


def write_reports(path: Path, records: dict[str, dict[str, Any]]) -> None:
    """Write sorted by URL to a temporary name and rename, so readers never see half a file."""
    write_report_lines(path, (records[url] for url in sorted(records)))


def write_report_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write ``records`` in the order given (one JSON line each) to a temporary name, fsync and
    rename over ``path``: readers see the old file or the new one, never half a file. Streams:
    one record in memory at a time."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def iter_reports(path: Path) -> Iterator[dict[str, Any]]:
    """The records of reports.jsonl one at a time, in file order (none when it is missing)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class RecordFile:
    """A JSON-lines file of report records (reports.jsonl, or its journal) held on disk: only
    the byte offset of each URL's last record is kept in memory, and records are read back one at
    a time. Lines that are not a JSON object with a ``url`` (a torn last line of a killed crawl's
    journal) are skipped. Lookups by ``url`` and by page (``landing_url`` when the report is a
    document, else ``url``). The file is reopened on demand after ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets: dict[str, int] = {}
        self.page_offsets: dict[str, int] = {}
        self.fh: Any = None
        # The record last read, kept for one more read of it: the extraction stage and the
        # recording stage each look up the same previous record of a report, one after another.
        self._last: tuple[int, dict[str, Any]] | None = None
        if not path.exists():
            return
        offset = 0
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    try:
                        rec = json.loads(line)
                    except ValueError:  # UnicodeDecodeError included
                        rec = None
                    if isinstance(rec, dict) and "url" in rec:
                        self.offsets[rec["url"]] = offset
                        self.page_offsets[rec.get("landing_url") or rec["url"]] = offset
                offset += len(line)

    def __contains__(self, url: object) -> bool:
        return url in self.offsets

    def __iter__(self) -> Iterator[str]:
        return iter(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets)

    def get(self, url: str) -> dict[str, Any] | None:
        """The last record of ``url``, or None."""
        offset = self.offsets.get(url)
        return None if offset is None else self.read_at(offset)

    def by_page(self, page_url: str) -> dict[str, Any] | None:
        """The last record whose report page (landing page, else URL) is ``page_url``, or None."""
        offset = self.page_offsets.get(page_url)
        return None if offset is None else self.read_at(offset)

    def read_at(self, offset: int) -> dict[str, Any]:
        """The record of the line starting at byte ``offset`` (lines appended since opening
        included). Raises ValueError when no record starts there. Callers must not change the
        record: the next read of the same offset may return the same object."""
        last, self._last = self._last, None
        if last is not None and last[0] == offset:
            return last[1]
        if self.fh is None:
            self.fh = self.path.open("rb")
        self.fh.seek(offset)
        rec = json.loads(self.fh.readline())
        if not isinstance(rec, dict):
            raise ValueError(f"{self.path}: no record at byte {offset}")
        self._last = (offset, rec)
        return rec

    def close(self) -> None:
        self._last = None
        if self.fh is not None:
            self.fh.close()
            self.fh = None


_VARIANT_WORDS = re.compile(r"[（(]?(图片版|图文版|超链版|文字版|PDF版|pdf版|全文)[）)]?|\s+")


def unify_groups(records: dict[str, dict[str, Any]]) -> None:
    """Copies of one report share a group: same text (MinHash groups from the dedupe stage) or,
    for copies with no text to compare (图片版 scans), the same agency, year and title once
    variant words are dropped. Sets each record's ``group`` (str, or None)."""
    groups = GroupUnifier()
    for url, rec in records.items():
        groups.add(url, rec)
    for url, rec in records.items():
        rec["group"] = groups.group(url)


class GroupUnifier:
    """unify_groups without holding the records: ``add`` every record (only its URL, dedupe
    group and title key are kept), then ``group(url)`` is its unified group (str, or None)."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.urls: dict[str, int] = {}  # the URL strings are the caller's: no copies
        self.nodes: dict[str, int] = {}
        self.labels: dict[int, int] = {}  # node -> smallest dedupe group added under it

    def _node(self, table: dict[str, int], key: str) -> int:
        node = table.get(key)
        if node is None:
            node = table[key] = len(self.parent)
            self.parent.append(node)
        return node

    def _find(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def add(self, url: str, rec: dict[str, Any]) -> None:
        keys = []
        if rec.get("group") is not None:
            keys.append(f"fp:{rec['group']}")
        title = _VARIANT_WORDS.sub("", rec.get("title") or "")
        if title and rec.get("year") and rec.get("agency"):
            keys.append(f"title:{rec['agency']}|{rec['year']}|{title}")
        root = self._find(self._node(self.urls, url))
        label = int(rec["group"]) if rec.get("group") is not None else None
        for key in keys:
            other = self._find(self._node(self.nodes, key))
            if other != root:
                self.parent[other] = root
                if other in self.labels:
                    moved = self.labels.pop(other)
                    label = moved if label is None else min(label, moved)
        if label is not None:
            self.labels[root] = min(label, self.labels.get(root, label))

    def group(self, url: str) -> str | None:
        node = self.urls.get(url)
        if node is None:
            return None
        label = self.labels.get(self._find(node))
        return None if label is None else str(label)
