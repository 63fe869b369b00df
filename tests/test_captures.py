"""CaptureIndex: the same interface tests on SQLite and on a real PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from govcrawl.archive.captures import (
    CaptureIndex,
    CaptureRow,
    PostgresCaptureIndex,
    SQLiteCaptureIndex,
)

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
URL = "http://xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request, tmp_path) -> Iterator[CaptureIndex]:
    if request.param == "sqlite":
        idx = CaptureIndex.open(tmp_path)
        assert isinstance(idx, SQLiteCaptureIndex) and idx.path == tmp_path / "captures.sqlite3"
        yield idx
        idx.close()
        return
    schema = f"govcrawl_test_{uuid.uuid4().hex[:12]}"
    idx = CaptureIndex.open(PG_DSN, schema=schema)
    assert isinstance(idx, PostgresCaptureIndex)
    try:
        yield idx
    finally:
        idx.close()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def add(index: CaptureIndex, url: str = URL, **kw) -> int:
    values = dict(
        url=url,
        fetched="2026-11-28T04:30:00Z",
        http_status=200,
        digest="sha1:AAAA",
        size=100,
        warc="govcrawl-20261128043000000000-00000-host.warc.gz",
        offset=300,
        length=120,
        record_type="response",
        status="new",
    )
    values.update(kw)
    return index.add_capture(**values)


def test_add_and_get_round_trip(index):
    run = index.start_run()
    cid = add(
        index,
        run_id=run,
        etag='"v1"',
        last_modified="Fri, 21 Jan 2022 10:27:17 GMT",
        record_id="<urn:uuid:1>",
        content_type="text/html; charset=utf-8",
    )
    row = index.get(cid)
    assert row == CaptureRow(
        id=cid,
        url=URL,
        fetched="2026-11-28T04:30:00Z",
        http_status=200,
        digest="sha1:AAAA",
        size=100,
        warc="govcrawl-20261128043000000000-00000-host.warc.gz",
        offset=300,
        length=120,
        record_type="response",
        status="new",
        run_id=run,
        etag='"v1"',
        last_modified="Fri, 21 Jan 2022 10:27:17 GMT",
        record_id="<urn:uuid:1>",
        content_type="text/html; charset=utf-8",
    )
    assert isinstance(row.id, int) and isinstance(row.offset, int)
    assert index.get(cid + 1000) is None


def test_last_capture_original_for_and_history(index):
    assert index.last_capture(URL) is None
    first = add(index, digest="sha1:AAAA", status="new")
    revisit = add(
        index,
        digest="sha1:AAAA",
        record_type="revisit",
        status="unchanged",
        refers_to_id=first,
        offset=900,
    )
    changed = add(index, digest="sha1:BBBB", status="changed", offset=1500)
    add(index, url=URL + "?other", digest="sha1:AAAA")

    assert index.last_capture(URL).id == changed
    assert index.original_for(URL, "sha1:AAAA").id == first  # never the revisit
    assert index.original_for(URL, "sha1:BBBB").id == changed
    assert index.original_for(URL, "sha1:CCCC") is None
    assert index.original_for(URL + "?nope", "sha1:AAAA") is None
    history = index.history(URL)
    assert [r.id for r in history] == [first, revisit, changed]
    assert [r.status for r in history] == ["new", "unchanged", "changed"]
    assert history[1].refers_to_id == first
    assert [r.id for r in index.iter_captures()][:3] == [first, revisit, changed]


def test_add_capture_rejects_unknown_kinds(index):
    with pytest.raises(ValueError):
        add(index, record_type="metadata")
    with pytest.raises(ValueError):
        add(index, status="same")


def test_sql_injection_is_just_data(index):
    evil = "http://x/'; DROP TABLE captures; --"
    cid = add(index, url=evil)
    assert index.last_capture(evil).id == cid
    assert index.history(URL) == []


def test_update_report_and_latest_reports(index):
    a1 = add(index, url="http://a/1", digest="sha1:A1")
    index.update_report(
        a1,
        title="旧标题",
        agency="兴安盟公安局",
        year=2021,
        published="2022-01-21T18:27:17+08:00",
        clicks=10,
        source="盟公安局",
    )
    a2 = add(
        index,
        url="http://a/1",
        digest="sha1:A1",
        record_type="revisit",
        status="unchanged",
        refers_to_id=a1,
    )
    index.update_report(
        a2,
        title="兴安盟公安局2021政府信息公开工作年度报告",
        agency="兴安盟公安局",
        year=2021,
        published="2022-01-21T18:27:17+08:00",
        clicks=12,
    )
    b1 = add(index, url="http://b/1", digest="sha1:B1")
    index.update_report(b1, title="B", year=2020, clicks=5, fingerprint="mh1:x", group_id=b1)
    b2 = add(index, url="http://b/1", digest="sha1:B2", status="changed")  # not re-extracted
    add(index, url="http://c/not-a-report")

    reports = list(index.latest_reports())
    assert [r.url for r in reports] == ["http://a/1", "http://b/1"]
    a, b = reports
    assert (a.id, a.title, a.clicks, a.status) == (
        a2,
        "兴安盟公安局2021政府信息公开工作年度报告",
        12,
        "unchanged",
    )
    # Fields not passed are left alone.
    assert index.get(a2).source is None and index.get(a1).source == "盟公安局"
    # Latest capture without report fields: capture facts are its own, report fields carried
    # over, except clicks (a click count is only true for the moment it was read).
    assert (b.id, b.digest, b.status) == (b2, "sha1:B2", "changed")
    assert (b.title, b.year, b.fingerprint, b.group_id, b.clicks) == ("B", 2020, "mh1:x", b1, None)
    assert index.get(b2).title is None

    index.update_report(a2, clicks=None)
    assert index.get(a2).clicks is None and index.get(a2).title is not None
    with pytest.raises(KeyError):
        index.update_report(999_999, title="x")


def test_report_fingerprints(index):
    a = add(index, url="http://a/1")
    b = add(index, url="http://b/1")
    add(index, url="http://c/1")
    index.update_report(a, fingerprint="mh1:a", group_id=a)
    index.update_report(b, fingerprint="mh1:b")
    assert list(index.report_fingerprints()) == [(a, a, "mh1:a"), (b, None, "mh1:b")]


def test_drop_captures_beyond(index):
    w1, w2 = "one.warc.gz", "two.warc.gz"
    keep = add(index, warc=w1, offset=300, length=100)  # ends at 400
    cut = add(index, warc=w1, offset=400, length=100)  # ends at 500
    other = add(index, warc=w2, offset=300, length=500)
    assert index.warc_names() == {w1, w2}
    assert index.drop_captures_beyond(w1, 450) == 1
    assert index.get(keep) is not None and index.get(cut) is None and index.get(other) is not None
    assert index.drop_captures_beyond(w2, 0) == 1
    assert index.warc_names() == {w1}
    # Ids are never reused after deletion (refers_to_id must stay unambiguous).
    assert add(index) > other


def test_runs(index):
    r1 = index.start_run(archive="/srv/archive")
    r2 = index.start_run()
    assert r2 > r1
    assert [r["id"] for r in index.unfinished_runs()] == [r1, r2]
    assert index.unfinished_runs()[0]["archive"] == "/srv/archive"
    index.finish_run(r1, {"records": 10, "finish_reason": "finished", "warcs": ["a.warc.gz"]})
    run = index.get_run(r1)
    assert run["summary"] == {"records": 10, "finish_reason": "finished", "warcs": ["a.warc.gz"]}
    assert run["finished"].endswith("Z") and run["started"].endswith("Z")
    assert [r["id"] for r in index.unfinished_runs()] == [r2]
    with pytest.raises(KeyError):
        index.finish_run(r2 + 100, {})
    assert index.get_run(r2 + 100) is None


def test_reopen_keeps_rows(index, tmp_path):
    cid = add(index)
    if isinstance(index, SQLiteCaptureIndex):
        again = CaptureIndex.open(index.path)
    else:
        again = CaptureIndex.open(PG_DSN, schema=index.schema)
    try:
        assert again.get(cid) == index.get(cid)
        assert add(again) > cid
    finally:
        again.close()


def test_sqlite_uses_wal(tmp_path):
    with CaptureIndex.open(tmp_path / "captures.sqlite3"):
        pass
    conn = sqlite3.connect(tmp_path / "captures.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_postgres_schema_must_be_an_identifier():
    with pytest.raises(ValueError):
        CaptureIndex.open(PG_DSN, schema='x"; DROP SCHEMA public; --')


def test_page_roles_are_kept_per_url(index):
    """Page roles (what scheduling decides by) live in the capture index, so every worker of a
    fleet sharing one PostgreSQL schema sees the same schedule."""
    assert index.page_state(URL) is None
    index.mark_page(URL, "leaf", 1000.5)
    assert index.page_state(URL) == ("leaf", 1000.5)
    index.mark_page(URL, "report", 2000.0)
    assert index.page_state(URL) == ("report", 2000.0)
    assert index.page_state(URL + "?other") is None
