"""`govcrawl export`: the stable, documented record of every annual report in an archive.

The record is reports.jsonl's (see README.md), described by govcrawl/schema/report.schema.json.
CSV flattens the statistical tables into one column per cell (names from
govcrawl.extract.tables.TABLE_CELL_NAMES); Parquet keeps the same flat columns.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from govcrawl.archive.reports import read_reports
from govcrawl.extract.tables import TABLE_CELL_NAMES, flatten_tables

SCALAR_FIELDS = [
    "schema_version",
    "url",
    "title",
    "agency",
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
]


def load_records(archive: Path) -> list[dict[str, Any]]:
    path = archive / "reports.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no reports.jsonl in {archive}: run `govcrawl crawl` first")
    return [read_reports(path)[url] for url in sorted(read_reports(path))]


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """One CSV/Parquet row: scalar fields, the text, attachment URLs, one column per table cell."""
    row = {name: record.get(name) for name in SCALAR_FIELDS}
    row["text"] = record.get("text")
    row["attachments"] = " ".join(a["url"] for a in record.get("attachments") or [])
    row["template"] = (record.get("tables") or {}).get("template")
    cells = flatten_tables(record["tables"]) if record.get("tables") else {}
    for name in TABLE_CELL_NAMES:
        row[name] = cells.get(name)
    return row


def flat_columns() -> list[str]:
    return [*SCALAR_FIELDS, "text", "attachments", "template", *TABLE_CELL_NAMES]


def export_reports(archive: Path, fmt: str, output: str | None) -> int:
    records = load_records(archive)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        _emit(text, output)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=flat_columns(), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(flat_row(record))
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
