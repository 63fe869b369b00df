"""`govcrawl export`: the stable record, checked against its JSON Schema on real crawl output;
CSV for people (UTF-8 with a BOM for Excel, checks, table warnings, earlier dates)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
from referencing import Registry, Resource

from govcrawl.extract.tables import CHECK_RULES, TABLE_CELL_NAMES, flatten_tables
from govcrawl.publish.export import flat_columns
from replica import expected
from tests.conftest import CrawlResult, run_govcrawl

SCHEMAS = Path(__file__).resolve().parent.parent / "govcrawl" / "schema"


def _validator() -> jsonschema.Draft202012Validator:
    report = json.loads((SCHEMAS / "report.schema.json").read_text())
    tables = json.loads((SCHEMAS / "tables.schema.json").read_text())
    registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in (report, tables)]
    )
    return jsonschema.Draft202012Validator(report, registry=registry)


def _export(archive: Path, fmt: str, out: Path | None = None) -> str:
    args = ["export", "--archive", str(archive), "--format", fmt]
    proc = run_govcrawl([*args, "-o", str(out)] if out else args, None)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_jsonl_records_match_the_schema(crawl_round2: CrawlResult) -> None:
    records = [json.loads(line) for line in _export(crawl_round2.archive, "jsonl").splitlines()]
    assert len(records) == len(expected.expected_reports(2)) + len(
        expected.round_changes()["removed_reports"]
    )
    validator = _validator()
    errors = {r["url"]: [e.message for e in validator.iter_errors(r)] for r in records}
    assert {u: e for u, e in errors.items() if e} == {}
    assert any(r["tables"] for r in records), "some replica reports carry standard tables"
    # The crawler's parse facts stay in reports.jsonl, out of the export.
    assert any(r.get("page") for r in crawl_round2.reports().values())
    assert not any("page" in r for r in records)


def test_schema_rejects_what_it_must(crawl_round1: CrawlResult) -> None:
    record = json.loads(_export(crawl_round1.archive, "jsonl").splitlines()[0])
    validator = _validator()
    for field, bad in (("published", "2022-01-21 18:27:17"), ("digest", "md5:x"), ("year", "2021")):
        assert list(validator.iter_errors(dict(record, **{field: bad}))), field
    assert list(validator.iter_errors({k: v for k, v in record.items() if k != "url"}))


def _csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "CSV starts with a UTF-8 byte-order mark (Excel)"
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_has_one_column_per_table_cell(crawl_round1: CrawlResult) -> None:
    text = _export(crawl_round1.archive, "csv")
    rows = _csv_rows(text)
    assert list(rows[0]) == flat_columns()
    records = crawl_round1.reports()
    assert {r["url"] for r in rows} == set(records)
    for row in rows:
        tables = records[row["url"]]["tables"]
        if not tables:
            assert all(row[name] == "" for name in TABLE_CELL_NAMES)
            continue
        cells = flatten_tables(tables)
        for name in TABLE_CELL_NAMES:
            want = cells.get(name)
            assert row[name] == ("" if want is None else str(want)), (row["url"], name)


def test_csv_file_is_utf8_with_bom_for_excel(crawl_round1: CrawlResult, tmp_path: Path) -> None:
    out = tmp_path / "年报.csv"
    _export(crawl_round1.archive, "csv", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # what Excel needs to read UTF-8 Chinese
    text = raw.decode("utf-8-sig")
    header = text.split("\r\n", 1)[0].split(",")
    assert header == flat_columns()
    assert "兴安盟公安局" in text


def test_csv_carries_checks_warnings_and_agency_source(crawl_round1: CrawlResult) -> None:
    rows = {r["url"]: r for r in _csv_rows(_export(crawl_round1.archive, "csv"))}
    records = crawl_round1.reports()
    seen_false = False
    for url, record in records.items():
        row = rows[url]
        assert row["agency_from"] == (record.get("agency_from") or "")
        checks = {c["rule"]: c["ok"] for c in (record["tables"] or {}).get("checks") or []}
        for rule in CHECK_RULES:
            want = checks.get(rule)
            assert row[f"check.{rule}"] == ("" if want is None else str(want).lower()), (url, rule)
        verdicts = [v for v in checks.values() if v is not None]
        assert row["checks_ok"] == (
            "" if not verdicts else ("false" if False in verdicts else "true")
        )
        seen_false |= row["checks_ok"] == "false"
        warnings = (record["tables"] or {}).get("warnings") or []
        assert row["table_warnings"] == "\n".join(warnings)
    broken = [r["url"] for r in expected.expected_reports(1) if r["arithmetic_ok"] is False]
    assert broken and all(rows[u]["checks_ok"] == "false" for u in broken)
    assert seen_false


def test_csv_carries_earlier_publication_dates(crawl_round2: CrawlResult) -> None:
    rows = {r["url"]: r for r in _csv_rows(_export(crawl_round2.archive, "csv"))}
    redated = expected.round_changes()["redated_reports"]
    assert redated
    for change in redated:
        assert rows[change["url"]]["published"] == change["new"]
        assert rows[change["url"]]["published_earlier"] == change["old"]
    others = [u for u in rows if u not in {c["url"] for c in redated}]
    assert all(rows[u]["published_earlier"] == "" for u in others)


def test_parquet_round_trips(crawl_round1: CrawlResult, tmp_path: Path) -> None:
    out = tmp_path / "reports.parquet"
    _export(crawl_round1.archive, "parquet", out)
    table = pq.read_table(out)
    assert table.num_rows == len(crawl_round1.reports())
    assert table.column_names == flat_columns()
    by_url = dict(
        zip(table.column("url").to_pylist(), table.column("clicks").to_pylist(), strict=True)
    )
    assert by_url == {u: r["clicks"] for u, r in crawl_round1.reports().items()}
    ok = dict(
        zip(table.column("url").to_pylist(), table.column("checks_ok").to_pylist(), strict=True)
    )
    broken = [r["url"] for r in expected.expected_reports(1) if r["arithmetic_ok"] is False]
    assert broken and all(ok[u] is False for u in broken)


def test_export_of_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    proc = run_govcrawl(["export", "--archive", str(tmp_path)], None)
    assert proc.returncode == 4
    assert proc.stderr.startswith("govcrawl: no reports.jsonl")
