"""`govcrawl export`: the stable, documented record of every annual report in an archive.

The record is reports.jsonl's (see README.md), described by govcrawl/schema/report.schema.json.
CSV flattens each record into one row: the scalar fields, ``published_earlier`` (earlier
publication dates, space-separated), the text, attachment URLs, the tables' ``template``, one
column per table cell (names from govcrawl.extract.tables.TABLE_CELL_NAMES), ``checks_ok``
(false when any check fails, true when all evaluable ones hold, empty when none could be
evaluated), one ``check.<rule>`` column per arithmetic check (true / false / empty: not
evaluable or absent) and ``table_warnings`` (one per line). CSV is UTF-8 with a byte-order mark,
which Excel needs to show Chinese (read it elsewhere with ``encoding="utf-8-sig"``); Parquet
keeps the same columns with their types.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from govcrawl.archive.reports import read_reports
from govcrawl.extract.tables import CHECK_RULES, TABLE_CELL_NAMES, flatten_tables

SCALAR_FIELDS = [
    "schema_version",
    "url",
    "title",
    "agency",
    "agency_from",
    "agency_evidence",
    "source",
    "year",
    "published",
    "clicks",
    "fetched",
    "digest",
    "warc",
    "offset",
    "status",
    "group",
    "counter_url",
    "tables_from",
    "extract_error",
]


def load_records(archive: Path) -> list[dict[str, Any]]:
    path = archive / "reports.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no reports.jsonl in {archive}: run `govcrawl crawl` first")
    records = read_reports(path)
    # ``page``: the crawler's parse facts of the report page, kept for its next crawl only.
    return [{k: v for k, v in records[url].items() if k != "page"} for url in sorted(records)]


CHECK_COLUMNS = [f"check.{rule}" for rule in CHECK_RULES]


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """One CSV/Parquet row (see the module docstring for the columns)."""
    row = {name: record.get(name) for name in SCALAR_FIELDS}
    row["published_earlier"] = " ".join(record.get("published_earlier") or []) or None
    row["text"] = record.get("text")
    row["attachments"] = " ".join(a["url"] for a in record.get("attachments") or [])
    tables = record.get("tables") or {}
    row["template"] = tables.get("template")
    cells = flatten_tables(tables) if tables else {}
    for name in TABLE_CELL_NAMES:
        row[name] = cells.get(name)
    checks = {c.get("rule"): _check_ok(c) for c in tables.get("checks") or []}
    verdicts = [v for v in checks.values() if v is not None]
    row["checks_ok"] = (False if False in verdicts else True) if verdicts else None
    for rule in CHECK_RULES:
        row[f"check.{rule}"] = checks.get(rule)
    row["table_warnings"] = "\n".join(tables.get("warnings") or []) or None
    return row


def _check_ok(check: dict[str, Any]) -> bool | None:
    if check.get("evaluable") is False:  # schema 1.x records
        return None
    ok = check.get("ok")
    return ok if isinstance(ok, bool) else None


def flat_columns() -> list[str]:
    return [
        *SCALAR_FIELDS,
        "published_earlier",
        "text",
        "attachments",
        "template",
        *TABLE_CELL_NAMES,
        "checks_ok",
        *CHECK_COLUMNS,
        "table_warnings",
    ]


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export_reports(archive: Path, fmt: str, output: str | None) -> int:
    records = load_records(archive)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        _emit(text, output)
    elif fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # UTF-8 byte-order mark: Excel reads the file as UTF-8
        writer = csv.DictWriter(buf, fieldnames=flat_columns(), lineterminator="\r\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_value(v) for k, v in flat_row(record).items()})
        _emit(buf.getvalue(), output)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not output:
            raise ValueError("parquet needs -o FILE")
        rows = [flat_row(r) for r in records]
        columns = {name: [row[name] for row in rows] for name in flat_columns()}
        table = pa.table(
            {
                name: pa.array(values, type=_arrow_type(name, values))
                for name, values in columns.items()
            }
        )
        pq.write_table(table, output)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return len(records)


def _arrow_type(name: str, values: list[Any]) -> Any:
    import pyarrow as pa

    if name in ("year", "clicks", "offset"):
        return pa.int64()
    if name == "checks_ok" or name.startswith("check."):
        return pa.bool_()
    if name.startswith("section"):
        return pa.float64() if any(isinstance(v, float) for v in values) else pa.int64()
    return pa.string()


def _emit(text: str, output: str | None) -> None:
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    else:
        sys.stdout.write(text)
