"""Memory flat with crawl size (issue 16): the recording stage keeps report records on disk, so
what it holds does not grow with the reports' texts."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from govcrawl.archive.captures import Capture
from govcrawl.archive.reports import RecordFile
from govcrawl.run import CrawlRun, attach
from pipelines.items import ReportItem
from pipelines.record import ReportRecordPipeline

REPORTS = 150
TEXT = "统计年报正文" * 20_000  # 120,000 characters, ~360 KB as UTF-8: 54 MB over the run


def _item(i: int, status: str) -> ReportItem:
    url = f"http://a.gov.cn/r/{i:04d}.html"
    # No capture index row (capture_id None): only the records are under test.
    cap = Capture(url, "2026-11-30T00:00:00Z", 200, f"sha1:{i}", "x.warc.gz", 0, 1, "response",
                  status)  # fmt: skip
    return ReportItem(
        url=url,
        capture=cap,
        html="",
        title=f"2023年第{i}号年报",
        agency="统计局",
        year=2023,
        text=TEXT + str(i),
    )


def _pipeline(run: CrawlRun) -> ReportRecordPipeline:
    """The recording stage of a crawl of ``run``, spider not yet opened."""
    crawler = get_crawler(settings_dict={})
    crawler.stats.open_spider()
    attach(crawler, run)
    return ReportRecordPipeline(crawler, run)


def _crawl(archive: Any, items: int, status: str) -> tuple[int, dict[str, Any]]:
    """One crawl recording reports 0..``items``-1 (captures of ``status``); returns the traced
    peak (bytes) over the crawl and the run's report counts."""
    run = CrawlRun.start(archive)
    try:
        pipe = _pipeline(run)
        tracemalloc.start()
        try:
            pipe.open_spider()
            for i in range(items):
                pipe.process_item(_item(i, status))  # the item is dropped, as the engine does
            pipe.spider_closed(None, "finished")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert pipe.crawler.stats is not None
        stats = pipe.crawler.stats.get_stats()
        counts = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if "reports/" in k}
        return peak, counts
    finally:
        run.close()


def test_records_are_not_held_in_memory(tmp_path):
    archive = tmp_path / "archive"
    total = REPORTS * len(TEXT.encode("utf-8"))
    peak, counts = _crawl(archive, REPORTS, "new")
    assert counts == {"new": REPORTS, "changed": 0, "unchanged": 0, "gone": 0}
    # A few records' worth at a time, not the run's (54 MB).
    assert peak < total / 10, (peak, total)
    lines = (archive / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == [TEXT + str(i) for i in range(REPORTS)]
    # The next crawl reads the previous records back one at a time: half recorded again (same
    # content: unchanged), half not recorded (no capture proves them gone: unchanged).
    peak, counts = _crawl(archive, REPORTS // 2, "unchanged")
    assert counts == {"new": 0, "changed": 0, "unchanged": REPORTS, "gone": 0}
    assert peak < total / 10, (peak, total)
    lines = (archive / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    again = [json.loads(line) for line in lines]
    assert [r["text"] for r in again] == [TEXT + str(i) for i in range(REPORTS)]
    assert {r["status"] for r in again} == {"unchanged"}


def test_a_record_after_a_torn_journal_line_survives_the_next_kill(tmp_path):
    archive = tmp_path / "archive"
    run = CrawlRun.start(archive)
    journal = archive / "reports.journal.jsonl"
    journal.write_bytes(
        b'{"url": "http://a.gov.cn/r/old.html", "status": "new"}\n{"url": "http://a'
    )
    try:
        pipe = _pipeline(run)
        pipe.open_spider()
        pipe.process_item(_item(1, "new"))
        pipe.journal.close()  # killed here: no spider_closed
    finally:
        run.close()
    # The next crawl finds both whole records; the torn line is skipped.
    assert set(RecordFile(journal)) == {"http://a.gov.cn/r/old.html", "http://a.gov.cn/r/0001.html"}


def test_record_file_serves_a_repeated_read_without_the_file(tmp_path):
    """The extraction and the recording stage read the same previous record one after
    another: the second read is the first's record, not a second read and parse of the file."""
    path = tmp_path / "reports.jsonl"
    path.write_text(
        '{"url": "http://a.gov.cn/a.html", "title": "A"}\n'
        '{"url": "http://a.gov.cn/d.pdf", "landing_url": "http://a.gov.cn/b.html"}\n',
        encoding="utf-8",
    )
    records = RecordFile(path)
    first = records.by_page("http://a.gov.cn/b.html")
    assert first is not None and first["url"] == "http://a.gov.cn/d.pdf"
    records.fh.close()  # a read of the file would fail from here on
    assert records.get("http://a.gov.cn/d.pdf") is first
    with pytest.raises(ValueError, match="closed file"):
        records.get("http://a.gov.cn/d.pdf")  # served once only: this one reads the file
    records.close()  # reopened on demand, the memory of the last read dropped
    try:
        assert records.get("http://a.gov.cn/a.html") == {"url": "http://a.gov.cn/a.html",
                                                         "title": "A"}  # fmt: skip
        assert records.get("http://a.gov.cn/d.pdf")["landing_url"] == "http://a.gov.cn/b.html"
    finally:
        records.close()
