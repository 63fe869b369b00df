"""An unchanged report page is not parsed again: what parsing it gave (metadata, outlinks,
requisites, click counter, attachments) comes from its report record while the page's payload
and the facts' key (site profile, parsing code) are the same. In-process, with the real spider,
crawl run and recording stage's record; no engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.spiders.portal import PortalSpider
from govcrawl.archive.captures import Capture
from govcrawl.run import CrawlRun, attach
from pipelines.extract import previous_records
from pipelines.items import ReportItem
from pipelines.record import report_record
from tests import nightportal as portal

URL = portal.report_url(2023)
DIGEST = "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _html(title: str) -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in portal.report_text(2023, 1))
    body = (
        f"<div class='article'><h1>{title}</h1>"
        f"<div class='info'>来源：{portal.AGENCY}　发布日期：2023-01-20 09:30　点击量："
        f"<span id='hits'></span></div><div class='content'>{paragraphs}"
        "<p>附件：<a href='/nb/2023.pdf'>2022年年度报告.pdf</a></p>"
        "<p><a href='/nb/index.html'>返回列表</a></p></div>"
        "<script src='/count.jsp?id=2023'></script></div>"
    )
    return portal._page(title, body, head="<link rel='stylesheet' href='/css/site.css'>")


TITLE = f"{portal.AGENCY}2022年政府信息公开工作年度报告"


@pytest.fixture
def crawl(tmp_path: Path) -> Any:
    run = CrawlRun.start(tmp_path / "archive")
    crawler = get_crawler(PortalSpider, settings_dict={})
    crawler.stats.open_spider()
    attach(crawler, run)
    spider = PortalSpider.from_crawler(crawler, seeds=f"http://{portal.HOST}/")
    spider.run = run
    yield spider, run
    previous_records(run).close()  # the pipelines close it at the end of a crawl
    run.close()


def _parse(spider: PortalSpider, body: bytes, status: str) -> list[Any]:
    capture = Capture(URL, "2026-11-30T00:00:00Z", 200, DIGEST, "x.warc.gz", 0, 1, "response",
                      status)  # fmt: skip
    request = Request(URL, meta={"role": "item", "report_link": True, "capture": capture})
    response = HtmlResponse(URL, body=body, request=request,
                            headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip
    return list(spider._parse_page(response))


def _summary(out: list[Any]) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(kind and URL of every request, the report item's fields) of one parse's output."""
    requests = [(str(r.meta.get("step") or r.meta.get("requisite")), r.url) for r in out]
    item = out[-1].cb_kwargs["item"]
    assert isinstance(item, ReportItem)
    fields = {k: getattr(item, k) for k in ("title", "agency", "source", "year", "published",
                                           "counter_url", "clicks")}  # fmt: skip
    fields |= {k: item.extra[k] for k in ("outlinks", "agency_from", "agency_evidence")}
    return requests, fields


def _store(run: CrawlRun, item: ReportItem, **changes: Any) -> None:
    record = report_record(item, None) | changes
    run.layout.reports_jsonl.write_text(json.dumps(record, ensure_ascii=False) + "\n",
                                        encoding="utf-8")  # fmt: skip


def _reused(spider: PortalSpider) -> int:
    return int(spider.crawler.stats.get_value("govcrawl/parse/reused") or 0)


def test_unchanged_report_page_is_not_parsed_again(crawl: Any) -> None:
    spider, run = crawl
    first = _parse(spider, _html(TITLE), "new")
    requests, fields = _summary(first)
    kinds = [kind for kind, _ in requests]
    assert kinds == ["True", "counter"]  # the stylesheet, then the chain: counter, attachment
    assert fields["title"] == TITLE and fields["counter_url"].endswith("/count.jsp?id=2023")
    assert f"http://{portal.HOST}/nb/index.html" in fields["outlinks"]
    item = first[-1].cb_kwargs["item"]
    assert [u for k, u in first[-1].cb_kwargs["steps"]] == [f"http://{portal.HOST}/nb/2023.pdf"]
    _store(run, item)

    # The same payload: the same requests and fields, from the record (the body is not read
    # for them: a page whose bytes said otherwise would still give the record's facts).
    again = _parse(spider, _html("另一个标题"), "unchanged")
    assert _reused(spider) == 1
    assert _summary(again) == (requests, fields)
    assert again[-1].cb_kwargs["steps"] == first[-1].cb_kwargs["steps"]
    assert again[-1].cb_kwargs["item"].extra["page_facts"] == item.extra["page_facts"]


@pytest.mark.parametrize(
    ("status", "changes"),
    [
        ("changed", {}),  # another payload
        ("unchanged", {"digest": "sha1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}),  # record of another
        ("unchanged", {"page": None}),  # a record from before parse facts
        ("unchanged", {"landing_url": "http://x.gov.cn/a.html"}),  # a document's record
    ],
)
def test_facts_are_used_only_for_the_payload_they_came_from(
    crawl: Any, status: str, changes: dict[str, Any]
) -> None:
    spider, run = crawl
    item = _parse(spider, _html(TITLE), "new")[-1].cb_kwargs["item"]
    _store(run, item, **changes)
    again = _parse(spider, _html("另一个标题"), status)
    assert _reused(spider) == 0
    assert again[-1].cb_kwargs["item"].title == "另一个标题"


def test_facts_of_another_profile_or_parsing_code_are_not_used(crawl: Any) -> None:
    spider, run = crawl
    item = _parse(spider, _html(TITLE), "new")[-1].cb_kwargs["item"]
    facts = item.extra["page_facts"]
    profile = spider.profiles.for_host(portal.HOST)
    assert facts["key"] == spider._facts_key(profile)
    _store(run, item, page=dict(facts, key="0" * 40))
    again = _parse(spider, _html("另一个标题"), "unchanged")
    assert _reused(spider) == 0
    assert again[-1].cb_kwargs["item"].title == "另一个标题"
