"""End to end: crawl the replica portal as a user would and check the archive against the
replica's ground truth (replica/expected.py)."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from base64 import b32encode
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from replica import expected
from tests.conftest import CrawlResult

FIELDS = ("source", "published", "year", "clicks", "agency")


def _records(archive: Path):
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh, no_record_parse=False):
                yield path, record


def _fetched_urls(replica) -> list[str]:
    return [f"http://{r['host']}{r['path']}" for r in replica.requests()]


def test_every_report_found_and_no_decoy(crawl_round1: CrawlResult) -> None:
    found = set(crawl_round1.reports())
    wanted = {r["url"] for r in expected.expected_reports(1)}
    assert wanted - found == set(), "reports missed"
    assert found - wanted == set(), "pages wrongly taken for reports"
    assert not found & set(expected.decoy_urls())


@pytest.mark.parametrize("field", FIELDS)
def test_report_fields_exact(crawl_round1: CrawlResult, field: str) -> None:
    got = crawl_round1.reports()
    wrong = {
        r["url"]: (got[r["url"]][field], r[field])
        for r in expected.expected_reports(1)
        if r["url"] in got and got[r["url"]][field] != r[field]
    }
    assert wrong == {}, f"{field}: url -> (got, expected)"


def test_text_has_key_sentences_and_no_boilerplate(crawl_round1: CrawlResult) -> None:
    got = crawl_round1.reports()
    problems = []
    for rep in expected.expected_reports(1):
        text = got[rep["url"]]["text"] or ""
        flat = "".join(text.split())
        problems += [
            (rep["url"], "missing", s)
            for s in rep["key_sentences"]
            if "".join(s.split()) not in flat
        ]
        problems += [(rep["url"], "boilerplate", s) for s in rep["boilerplate"] if s in text]
    assert problems == []


def test_records_point_at_their_warc_response(crawl_round1: CrawlResult) -> None:
    for rec in crawl_round1.reports().values():
        path = crawl_round1.archive / "warc" / rec["warc"]
        with path.open("rb") as fh:
            fh.seek(rec["offset"])
            record = next(iter(ArchiveIterator(fh)))
        assert record.rec_headers.get_header("WARC-Target-URI") == rec["url"]
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Payload-Digest") == rec["digest"]


def test_every_warc_passes_warcio_check(crawl_round1: CrawlResult) -> None:
    warcs = sorted((crawl_round1.archive / "warc").glob("*.warc.gz"))
    assert warcs, "no sealed WARC"
    assert not list((crawl_round1.archive / "warc").glob("*.open"))
    proc = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, warcs)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_warcinfo_first_and_requests_linked(crawl_round1: CrawlResult) -> None:
    responses, concurrent = {}, {}
    first_types = {}
    for path, record in _records(crawl_round1.archive):
        first_types.setdefault(path, record.rec_type)
        rid = record.rec_headers.get_header("WARC-Record-ID")
        if record.rec_type in ("response", "revisit"):
            responses[rid] = record.rec_headers.get_header("WARC-Target-URI")
        elif record.rec_type == "request":
            concurrent[rid] = (
                record.rec_headers.get_header("WARC-Concurrent-To"),
                record.rec_headers.get_header("WARC-Target-URI"),
            )
    assert set(first_types.values()) == {"warcinfo"}
    assert len(concurrent) == len(responses) > 0
    for to, uri in concurrent.values():
        assert responses.get(to) == uri


def test_query_strings_kept_in_request_lines(crawl_round1: CrawlResult) -> None:
    checked = 0
    for _, record in _records(crawl_round1.archive):
        uri = record.rec_headers.get_header("WARC-Target-URI")
        if record.rec_type == "request" and "?" in uri:
            # warcio splits a request line into protocol="GET" and statusline="<target> HTTP/1.1"
            assert record.http_headers.protocol == "GET"
            target, version = record.http_headers.statusline.split(" ")
            assert version == "HTTP/1.1"
            assert target == "/" + uri.split("://", 1)[1].split("/", 1)[1]
            checked += 1
    assert checked > 0, "no request with a query string was archived"


def test_gzip_bodies_stored_compressed_with_verified_digests(crawl_round1: CrawlResult) -> None:
    gzip_urls = set(expected.gzip_urls())
    seen = 0
    for _, record in _records(crawl_round1.archive):
        uri = record.rec_headers.get_header("WARC-Target-URI")
        if (
            record.rec_type != "response"
            or uri not in gzip_urls
            or record.http_headers.get_statuscode() != "200"
        ):
            continue
        assert record.http_headers.get_header("Content-Encoding") == "gzip"
        raw = record.raw_stream.read()
        assert raw[:2] == b"\x1f\x8b", "body not stored as received"
        gzip.decompress(raw)
        digest = "sha1:" + b32encode(hashlib.sha1(raw).digest()).decode()
        assert record.rec_headers.get_header("WARC-Payload-Digest") == digest
        seen += 1
    assert seen >= 1


def test_robots_forbidden_never_fetched(crawl_round1: CrawlResult) -> None:
    fetched = set(_fetched_urls(crawl_round1.replica))
    assert fetched & set(expected.robots_forbidden_urls()) == set()


def test_traps_bounded(crawl_round1: CrawlResult) -> None:
    from crawler.sites.profiles import ProfileRegistry

    bound = ProfileRegistry.load().for_host("www.xam.gov.cn").max_query_variants_per_path
    fetched = _fetched_urls(crawl_round1.replica)
    for trap in expected.trap_info():
        hits = [
            u
            for u in fetched
            if u.startswith(trap["prefix"]) and re.search(trap.get("pattern", ""), u)
        ]
        assert len(hits) <= bound, (trap["name"], len(hits))
    assert not [u for u in fetched if ";jsessionid=" in u.lower()]


def test_hit_adding_counters_avoided_where_a_read_only_one_exists(
    crawl_round1: CrawlResult,
) -> None:
    fetched = _fetched_urls(crawl_round1.replica)
    counts = {u: fetched.count(u) for u in expected.hit_adding_urls()}
    read_only_exists = {u: n for u, n in counts.items() if "visit.jsp" in u}
    assert read_only_exists and all(n == 0 for n in read_only_exists.values())
    # The only counter a page has is called once per crawl, never more.
    assert max(counts.values()) == 1


def test_flaky_page_retried_and_archived(crawl_round1: CrawlResult) -> None:
    statuses: dict[str, list[int]] = {}
    for _, record in _records(crawl_round1.archive):
        if record.rec_type in ("response", "revisit"):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            statuses.setdefault(uri, []).append(int(record.http_headers.get_statuscode()))
    for url in expected.flaky_urls():
        assert statuses.get(url, [])[-1:] == [200], url
        assert statuses[url].count(503) == 2


def test_text_and_metadata_records_refer_to_each_report_response(crawl_round1: CrawlResult) -> None:
    responses, conversions, metadata = {}, {}, {}
    for _, record in _records(crawl_round1.archive):
        uri = record.rec_headers.get_header("WARC-Target-URI")
        rid = record.rec_headers.get_header("WARC-Record-ID")
        if record.rec_type == "response":
            responses[rid] = uri
        elif record.rec_type == "conversion":
            assert record.rec_headers.get_header("Content-Type") == "text/plain; charset=utf-8"
            conversions[uri] = (
                record.rec_headers.get_header("WARC-Refers-To"),
                record.content_stream().read(),
            )
        elif record.rec_type == "metadata":
            metadata[uri] = (
                record.rec_headers.get_header("WARC-Refers-To"),
                record.content_stream().read(),
            )
    for rep in expected.expected_reports(1):
        url = rep["url"]
        if rep["key_sentences"]:  # a scanned 图片版 page has no text to convert
            refers, text = conversions[url]
            assert responses[refers] == url
            flat = "".join(text.decode("utf-8").split())
            assert "".join(rep["key_sentences"][0].split()) in flat
        refers, fields = metadata[url]
        assert responses[refers] == url
        lines = fields.decode("utf-8").splitlines()
        if rep["clicks"] is not None:
            assert f"clicks: {rep['clicks']}" in lines
        assert f"published: {rep['published']}" in lines
        if url.endswith(".html"):
            assert any(line.startswith("outlink: http") for line in lines)


def test_report_tables_every_cell(crawl_round1: CrawlResult) -> None:
    """Every cell of every replica report with tables, in every layout: the known value, or null
    where the page made the cell unattributable (the parser says which row) - never a wrong one."""
    from govcrawl.extract.tables import flatten_tables

    got = crawl_round1.reports()
    right = total = 0
    wrong, unexplained = [], []
    layouts = set()
    for rep in expected.expected_reports(1):
        record = got[rep["url"]]
        if not rep["tables"]:
            assert record["tables"] is None, rep["url"]
            continue
        layouts.add(rep["layout"])
        want, have = flatten_tables(rep["tables"]), flatten_tables(record["tables"])
        warned = " ".join(record["tables"].get("warnings", []))
        for name, value in want.items():
            total += 1
            if have.get(name) == value:
                right += 1
            elif have.get(name) is not None:
                wrong.append((rep["url"], name, have.get(name), value))
            elif name.rsplit(".", 1)[0] not in warned:
                unexplained.append((rep["url"], name, value))
        assert record["tables"]["template"] == rep["template"]
    assert wrong == [] and unexplained == []
    assert layouts >= {"html", "flat", "rows", "docx", "xlsx", "pdf"}
    assert right / total > 0.99, f"{right}/{total}"
    broken = [r["url"] for r in expected.expected_reports(1) if r["arithmetic_ok"] is False]
    assert broken and all(
        any(not c["ok"] and c.get("evaluable", True) for c in got[u]["tables"]["checks"])
        for u in broken
    )
