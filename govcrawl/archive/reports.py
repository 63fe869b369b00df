"""Report records: ARCHIVE/reports.jsonl (one record per report URL, latest capture), its journal
and the grouping of copies of one report."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
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


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """Records a killed crawl appended before it could write reports.jsonl (a torn last line is
    skipped: its capture is re-recorded by the next crawl)."""
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "url" in rec:
                    records[rec["url"]] = rec
    return records


def write_reports(path: Path, records: dict[str, dict[str, Any]]) -> None:
    """Write sorted by URL to a temporary name and rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for url in sorted(records):
            fh.write(json.dumps(records[url], ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


_VARIANT_WORDS = re.compile(r"[（(]?(图片版|图文版|超链版|文字版|PDF版|pdf版|全文)[）)]?|\s+")


def unify_groups(records: dict[str, dict[str, Any]]) -> None:
    """Copies of one report share a group: same text (MinHash groups from the dedupe stage) or,
    for copies with no text to compare (图片版 scans), the same agency, year and title once
    variant words are dropped."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for url, rec in records.items():
        keys = [f"url:{url}"]
        if rec.get("group") is not None:
            keys.append(f"fp:{rec['group']}")
        title = _VARIANT_WORDS.sub("", rec.get("title") or "")
        if title and rec.get("year") and rec.get("agency"):
            keys.append(f"title:{rec['agency']}|{rec['year']}|{title}")
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    labels: dict[str, list[int]] = {}
    for url, rec in records.items():
        if rec.get("group") is not None:
            labels.setdefault(find(f"url:{url}"), []).append(int(rec["group"]))
    for url, rec in records.items():
        ids = labels.get(find(f"url:{url}"))
        rec["group"] = str(min(ids)) if ids else None
