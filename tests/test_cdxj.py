"""CDXJ index: sorted, one line per response/revisit, offsets that lead back to the record."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from govcrawl.archive.layout import ArchiveLayout
from govcrawl.publish import cdxj
from tests import warcfixtures as fx


@pytest.fixture()
def archive(tmp_path: Path) -> fx.ArchiveFixture:
    return fx.make_archive(tmp_path / "archive")


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_build_index_sorted_one_line_per_response_and_revisit(archive, tmp_path):
    out = tmp_path / "out" / "index.cdxj"
    warcs = [archive.first.path, archive.second.path]
    count = cdxj.build_index(warcs, out)

    lines = _lines(out)
    assert count == len(lines) == 10  # 5 responses + 4 revisits + 1 new counter response
    assert lines == sorted(lines)  # bytewise
    got = set()
    for line in lines:
        key, ts, data = cdxj.parse_line(line)
        got.add((data["url"], ts, data["filename"]))
    want = {
        (c.url, fx.ts14(c.date), crawl.name)
        for crawl in (archive.first, archive.second)
        for c in crawl.records.values()
    }
    assert got == want
    # No temp file left beside the index.
    assert [p.name for p in out.parent.iterdir()] == ["index.cdxj"]


def test_request_records_get_no_line(archive, tmp_path):
    out = tmp_path / "index.cdxj"
    cdxj.build_index([archive.first.path], out)
    offsets = {int(cdxj.parse_line(line)[2]["offset"]) for line in _lines(out)}
    with open(archive.first.path, "rb") as fh:
        it = ArchiveIterator(fh)
        kinds = {}
        for record in it:
            kinds[it.get_record_offset()] = record.rec_type
    assert {kinds[o] for o in offsets} == {"response"}
    assert sum(1 for k in kinds.values() if k == "request") == 5  # they exist, unindexed
    assert "warcinfo" not in {kinds[o] for o in offsets}


def test_every_offset_and_length_decompresses_to_its_record(archive, tmp_path):
    out = tmp_path / "index.cdxj"
    cdxj.build_index([archive.first.path, archive.second.path], out)
    warc_dir = archive.warc_dir
    for line in _lines(out):
        _, ts, data = cdxj.parse_line(line)
        offset, length = int(data["offset"]), int(data["length"])
        with open(warc_dir / data["filename"], "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(length)
        # Exactly one complete gzip member: nothing left over after it.
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = d.decompress(chunk)
        assert d.eof and d.unused_data == b""
        records = list(ArchiveIterator(io.BytesIO(chunk)))
        assert len(records) == 1
        rec = records[0]
        assert rec.rec_headers.get_header("WARC-Target-URI") == data["url"]
        assert fx.ts14(rec.rec_headers.get_header("WARC-Date")) == ts
        assert rec.rec_headers.get_header("WARC-Payload-Digest") == data["digest"]
        assert raw.startswith(b"WARC/1.1\r\n")
        crawl = archive.first if data["filename"] == archive.first.name else archive.second
        expected = crawl.records[data["url"]]
        assert (offset, length) == (expected.offset, expected.length)
        if data["mime"] == "warc/revisit":
            assert rec.rec_type == "revisit"
        else:
            assert rec.rec_type == "response"


def test_revisit_lines_carry_warc_revisit_and_original_digest(archive, tmp_path):
    out = tmp_path / "index.cdxj"
    cdxj.build_index([archive.first.path, archive.second.path], out)
    parsed = [cdxj.parse_line(line) for line in _lines(out)]
    revisits = [d for _, _, d in parsed if d["mime"] == "warc/revisit"]
    assert {d["url"] for d in revisits} == {fx.PAGE_URL, *fx.REQUISITES}
    assert all(d["filename"] == archive.second.name for d in revisits)
    originals = {(d["url"], d["digest"]) for _, _, d in parsed if d["mime"] != "warc/revisit"}
    for d in revisits:
        assert (d["url"], d["digest"]) in originals
    mimes = {d["url"]: d["mime"] for _, _, d in parsed if d["filename"] == archive.first.name}
    assert mimes[fx.PAGE_URL] == "text/html"
    assert mimes[fx.COUNTER_URL] == "application/json"


def test_index_archive_skips_open_files_and_merges_new_warcs(tmp_path):
    root = tmp_path / "archive"
    fixture = fx.make_archive(root, second=False)
    layout = ArchiveLayout.open(root)
    # Crawl 2 still being written: only the .open name exists.
    second = fx.write_second_crawl(tmp_path / "staging", fixture.first)
    open_path = layout.warc_dir / (second.name + ".open")
    shutil.copyfile(second.path, open_path)

    index = cdxj.index_archive(layout)
    assert index == layout.cdxj_path
    assert cdxj.covered_warcs(index) == {fixture.first.name}
    assert b".open" not in index.read_bytes()

    # Sealed by rename, with an mtime older than the index (pywb's autoindex would skip it).
    sealed = layout.warc_dir / second.name
    os.replace(open_path, sealed)
    old = index.stat().st_mtime - 3600
    os.utime(sealed, (old, old))
    cdxj.index_archive(layout)
    assert cdxj.covered_warcs(index) == {fixture.first.name, second.name}

    # Incremental merge gives the same bytes as a full rebuild.
    full = tmp_path / "full.cdxj"
    cdxj.build_index(layout.sealed_warcs(), full)
    assert index.read_bytes() == full.read_bytes()
    assert [
        p.name for p in layout.indexes_dir.iterdir() if not p.name.startswith(".index.lock")
    ] == ["index.cdxj"]


def test_index_archive_rebuilds_when_a_warc_is_gone(archive):
    layout = ArchiveLayout(archive.root)
    index = cdxj.index_archive(layout)
    assert cdxj.covered_warcs(index) == {archive.first.name, archive.second.name}
    archive.second.path.unlink()
    cdxj.index_archive(layout)
    assert cdxj.covered_warcs(index) == {archive.first.name}
    assert len(_lines(index)) == 5


def test_index_archive_accepts_a_plain_directory(archive):
    index = cdxj.index_archive(str(archive.root))
    assert index == archive.root / "indexes" / "index.cdxj"
    assert len(_lines(index)) == 10


def test_post_capture_key_carries_method_and_body(tmp_path):
    """post_append: a POST counter call is indexed under pywb's __wb_method=post key."""
    path = tmp_path / "post.warc.gz"
    url = "http://www.kyqq.gov.cn/vc/vc/interface/artcount/artcount.jsp"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        body = b"1234"
        http = StatusAndHeaders(
            "200 OK",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            protocol="HTTP/1.1",
        )
        resp = w.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
        )
        form = b"webid=1&artid=4862348"
        req_http = StatusAndHeaders(
            "POST /vc/vc/interface/artcount/artcount.jsp HTTP/1.1",
            [
                ("Host", "www.kyqq.gov.cn"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", str(len(form))),
            ],
            is_http_request=True,
        )
        req = w.create_warc_record(
            url, "request", payload=io.BytesIO(form), length=len(form), http_headers=req_http
        )
        w.write_request_response_pair(req, resp)
    out = tmp_path / "index.cdxj"
    assert cdxj.build_index([path], out) == 1
    key, _, data = cdxj.parse_line(out.read_bytes())
    assert "__wb_method=post" in key and "artid=4862348" in key
    assert data["method"] == "POST"
    # The gzip member of the response is still what offset/length point at.
    with open(path, "rb") as fh:
        fh.seek(int(data["offset"]))
        assert b"WARC-Type: response" in gzip.decompress(fh.read(int(data["length"])))


def test_many_warcs_merge_in_rounds_to_the_same_index(tmp_path, monkeypatch):
    warc_dir = tmp_path / "warc"
    first = fx.write_first_crawl(warc_dir)
    crawls = [first.path]
    for serial in range(1, 5):
        start = fx.CRAWL2_START + timedelta(days=7 * serial)
        crawls.append(fx.write_second_crawl(warc_dir, first, start=start, serial=serial).path)
    expected = tmp_path / "one-round.cdxj"
    n = cdxj.build_index(crawls, expected)
    assert n == 5 + 4 * 5
    monkeypatch.setattr(cdxj, "MERGE_FANOUT", 2)
    rounds = tmp_path / "rounds.cdxj"
    assert cdxj.build_index(crawls, rounds) == n
    assert rounds.read_bytes() == expected.read_bytes()


def test_not_modified_revisit_is_indexed_as_the_original_it_confirmed(archive, tmp_path):
    third = fx.write_not_modified_crawl(archive.warc_dir, archive.first)
    out = tmp_path / "index.cdxj"
    cdxj.build_index([archive.first.path, archive.second.path, third.path], out)
    lines = [cdxj.parse_line(line) for line in _lines(out)]
    # crawl 3 adds its counter response and, for the page's 304, a line at the 304's time that
    # points at crawl 1's full response (pywb would replay the 304 record as an empty page).
    assert len(lines) == 12
    in_third = [d for _, _, d in lines if d["filename"] == third.name]
    assert [d["url"] for d in in_third] == [fx.COUNTER_URL]
    page_304 = third.records[fx.PAGE_URL]
    ts_304 = cdxj._ts14(page_304.date)
    confirmed = [
        (ts, d) for _, ts, d in lines
        if d["url"] == fx.PAGE_URL and d["filename"] == archive.first.path.name
    ]  # fmt: skip
    assert len(confirmed) == 2  # crawl 1's own line and the 304's
    assert {d["offset"] for _, d in confirmed} == {str(archive.first.records[fx.PAGE_URL].offset)}
    assert ts_304 in {ts for ts, _ in confirmed}
    # The 304 revisit is in the WARC all the same.
    page_304 = third.records[fx.PAGE_URL]
    with open(third.path, "rb") as fh:
        fh.seek(page_304.offset)
        record = next(iter(ArchiveIterator(fh)))
    assert record.rec_type == "revisit"
    assert record.http_headers.get_statuscode() == "304"
