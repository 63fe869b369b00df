"""Discovery's parts without a crawl: links as a browser builds them, what a response is, redirect
stubs, report titles, the profile's discovery keys, hop depth and the host budget."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.depth import DepthMiddleware
from scrapy.utils.test import get_crawler

from crawler.middlewares.budget import HostBudgetMiddleware
from crawler.middlewares.hops import HopDepthMiddleware
from crawler.sites.profiles import SITES_DIR, ProfileError, ProfileRegistry
from govcrawl.extract.classify import looks_like_report_title
from govcrawl.extract.filetype import (
    disposition_filename,
    parse_disposition,
    response_type,
    sniff,
)
from govcrawl.extract.links import build_url, page_links, script_redirect

# --- links: the query in the page's encoding (case 03-gbk-query-encoding) ----------------------

GB_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
    '<body><ul><li><a href="/xxgk/list.asp?lb=政府信息公开年报">政府信息公开年报</a></li>'
    '<li><a href="list.asp?lb=通知公告&amp;page=2">下一页</a></li></ul></body></html>'
)


def test_query_in_the_page_encoding_path_in_utf8() -> None:
    """Browsers percent-encode a link's query in the document's encoding and its path in UTF-8
    (WHATWG URL Standard; scrapy/scrapy#1913, case 03-gbk-query-encoding)."""
    links = page_links(GB_PAGE, "http://www.example.gov.cn/xxgk/index.asp", "gb18030")
    url = links[0].url
    query = url.split("lb=", 1)[1]
    assert unquote_to_bytes(query) == "政府信息公开年报".encode("gbk")
    assert query == "%D5%FE%B8%AE%D0%C5%CF%A2%B9%AB%BF%AA%C4%EA%B1%A8"
    assert links[1].url.endswith("list.asp?lb=%CD%A8%D6%AA%B9%AB%B8%E6&page=2")
    # The same href on a UTF-8 page: UTF-8 query.
    utf8 = page_links(GB_PAGE, "http://www.example.gov.cn/xxgk/index.asp", "utf-8")[0].url
    assert unquote_to_bytes(utf8.split("lb=", 1)[1]) == "政府信息公开年报".encode()
    # Path in UTF-8 whatever the page's encoding; an already encoded URL stays as it is.
    assert build_url("/目录/a.html?q=年", "http://a.gov.cn/", "gbk") == (
        "http://a.gov.cn/%E7%9B%AE%E5%BD%95/a.html?q=%C4%EA"
    )
    assert build_url("list.asp?lb=%D5%FE", "http://a.gov.cn/", "gbk") == (
        "http://a.gov.cn/list.asp?lb=%D5%FE"
    )
    # A code point the encoding cannot hold becomes "&#N;", percent-encoded (encode or fail).
    assert build_url("s?q=𠀀", "http://a.gov.cn/", "gbk") == "http://a.gov.cn/s?q=%26%23131072%3B"


def test_links_skip_non_http_and_keep_titles_and_dates() -> None:
    html = (
        '<html><head><base href="http://b.gov.cn/col/"></head><body>'
        '<a href="#top">top</a><a href="javascript:void(0)">js</a><a href="mailto:a@b">m</a>'
        '<ul><li><a href="t1.html" title="兴安盟水利局2021年政府信息公开工作年度报告">'
        "兴安盟水利局2021年政府信息公开工作年度...</a><span>2022-1-26</span></li>"
        '<li><a href="t2.html">通知</a><span>2022年12月22日</span></li></ul>'
        '<div><a href="a.html">政务公开</a> <a href="b.html">信息公开</a> 2023-01-01</div>'
        '<a href="t1.html#x">again</a></body></html>'
    )
    links = page_links(html, "http://a.gov.cn/", "utf-8")
    assert [link.url for link in links] == [
        "http://b.gov.cn/col/t1.html",
        "http://b.gov.cn/col/t2.html",
        "http://b.gov.cn/col/a.html",
        "http://b.gov.cn/col/b.html",
    ]
    # The list shortened the title: the title attribute holds it whole.
    assert links[0].text == "兴安盟水利局2021年政府信息公开工作年度报告"
    assert (links[0].date, links[1].date) == ("2022-01-26", "2022-12-22")
    # Two links in one container are a menu, not list items, whatever dates stand beside them.
    assert not links[2].item and not links[3].item
    assert page_links("", "http://a.gov.cn/") == [] and page_links("<<<", "http://a") == []


def test_script_redirect_stubs() -> None:
    stub = (
        '<html><head><script type="text/javascript">window.location.href="/col/col1/index.html";'
        '</script><noscript><meta http-equiv="refresh" content="0;url=/col/col1/index.html">'
        "</noscript></head><body></body></html>"
    )
    assert script_redirect(stub, "http://a.gov.cn/") == (
        "http://a.gov.cn/col/col1/index.html",
        "script",
    )
    for code in (
        "window.location = '/x.html'",
        "location.href='/x.html';",
        'location.replace("/x.html")',
        'top.location.assign("/x.html")',
    ):
        html = f"<html><head><script>{code}</script></head><body>正在跳转</body></html>"
        assert script_redirect(html, "http://a.gov.cn/") == ("http://a.gov.cn/x.html", "script")
    noscript = (
        '<html><head><noscript><meta http-equiv="refresh" content="0; URL=\'/n/\'">'
        "</noscript></head><body></body></html>"
    )
    assert script_redirect(noscript, "http://a.gov.cn/") == (
        "http://a.gov.cn/n/",
        "noscript meta refresh",
    )
    # A target computed in script, or a page with content of its own, is not a stub.
    assert script_redirect("<script>location.href = base + '/m/';</script>", "http://a/") is None
    content = "<html><body><script>location.href='/m/'</script>" + "<p>正文内容。</p>" * 60
    assert script_redirect(content + "</body></html>", "http://a.gov.cn/") is None
    # The query of a literal target is encoded like a link of the page.
    gbk = '<script>location.href="/list.asp?lb=年报"</script>'
    assert script_redirect(gbk, "http://a.gov.cn/", "gbk") == (
        "http://a.gov.cn/list.asp?lb=%C4%EA%B1%A8",
        "script",
    )


# --- what a response is (case 04-download-servlet-report) -------------------------------------


@pytest.mark.parametrize(
    "value, name",
    [
        # RFC 6266 section 4.3 / greenbytes tc2231: filename* wins, in either order.
        (
            "attachment; filename=\"download.docx\"; filename*=UTF-8''%E7%A4%BA%E4%BE%8B.docx",
            "示例.docx",
        ),
        (
            "attachment; filename*=UTF-8''%E7%A4%BA%E4%BE%8B.docx; filename=\"download.docx\"",
            "示例.docx",
        ),
        ('attachment; filename="foo.html"', "foo.html"),
        ("attachment; filename=foo.pdf", "foo.pdf"),
        ('inline; filename="\\"quoting\\" tested.html"', '"quoting" tested.html'),
        ("attachment; filename*=iso-8859-1'en'%A3%20rates", "£ rates"),
        ("attachment; filename*=UTF-8''foo-%c3%a4.html", "foo-ä.html"),
        # An ext-value that does not decode falls back to filename.
        ("attachment; filename*=UTF-8''%FF.pdf; filename=fallback.pdf", "fallback.pdf"),
        # Chinese servers: GBK ext-values, percent-escaped UTF-8 and raw bytes in filename.
        ("attachment; filename*=GBK''%CA%BE%C0%FD.docx", "示例.docx"),
        ('attachment; filename="%E7%A4%BA%E4%BE%8B.docx"', "示例.docx"),
        ("attachment;filename=\xe7\xa4\xba\xe4\xbe\x8b.docx", "示例.docx"),
        ("attachment;filename=\xca\xbe\xc0\xfd.docx", "示例.docx"),
        # Directory parts are dropped (RFC 6266 section 4.3).
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''%E7%A4%BA;", "示"),
        # Outside the grammar: no name rather than a guess.
        ('attachment; filename="a.html"; filename="b.html"', None),
        ('"foo.html"', None),
        ("attachment; filename", None),
        ('attachment; filename="unterminated', None),
        ("", None),
        (None, None),
    ],
)
def test_content_disposition_filename(value: str | None, name: str | None) -> None:
    assert disposition_filename(value) == name


def test_content_disposition_grammar() -> None:
    assert parse_disposition("Attachment; FileName=a.pdf;") == ("attachment", {"filename": "a.pdf"})


def _docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("示例县交通运输局2021年政府信息公开工作年度报告")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_response_type_from_the_response() -> None:
    url = "http://www.example.gov.cn/attach/download.do?fileId=8a8e4f2c7d1b"
    cd = "attachment; filename=\"download.docx\"; filename*=UTF-8''%E7%A4%BA%E4%BE%8B.docx"
    body = _docx()
    found = response_type(url, "application/octet-stream", cd, body)
    assert (found.kind, found.filename, found.by, found.is_document) == (
        "docx",
        "示例.docx",
        "signature",
        True,
    )
    # Without the signature the name in Content-Disposition decides, then Content-Type, then URL.
    assert response_type(url, "application/octet-stream", cd, b"????").kind == "docx"
    assert response_type(url, "application/pdf", None, b"????").kind == "pdf"
    assert response_type("http://a/x.pdf", None, None, None).by == "url"
    # The bytes win over what the headers and the URL claim.
    page = b"<!DOCTYPE html><html><body>404</body></html>"
    assert response_type("http://a/report.pdf", "application/pdf", None, page).kind == "html"
    assert response_type("http://a/r.html", "text/html", None, b"%PDF-1.4 ...").kind == "pdf"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64
    assert response_type("http://a/d.do", None, 'attachment; filename="r.wps"', ole).kind == "wps"
    assert response_type("http://a/d.do", None, None, ole).kind == "doc"
    assert response_type("http://a/x", None, None, b"").kind is None
    assert response_type("http://a/x", None, None, b"").is_page
    assert sniff(b"PK\x03\x04broken") == "zip"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image"


def test_report_titles_respect_the_exclusions() -> None:
    keywords = ("信息公开工作年度报告",)
    assert looks_like_report_title("兴安盟水利局2021年政府信息公开工作年度报告", "", keywords)
    notice = "关于做好2023年度政府信息公开工作年度报告编制和发布工作的通知"
    assert not looks_like_report_title(notice, "", keywords)
    assert not looks_like_report_title("兴安盟财政局2024年部门预算", "", keywords)


# --- profiles -----------------------------------------------------------------------------------


def test_discovery_keys_have_generic_defaults_and_override_single_keys(tmp_path: Path) -> None:
    registry = ProfileRegistry.load()
    generic = registry.generic
    assert generic.discovery.host_page_budget > 0 and generic.discovery.column_page_budget > 0
    assert "通知公告" in generic.list_keywords and "政务服务" in generic.avoid_keywords
    assert registry.for_host("www.xam.gov.cn").discovery == generic.discovery
    shutil.copy(SITES_DIR / "generic.toml", tmp_path / "generic.toml")
    (tmp_path / "site.toml").write_text(
        'name = "site"\nhosts = ["a.gov.cn"]\n[discovery]\nhost_page_budget = 50\n'
        "[discovery.priorities]\nlist = 2\n",
        encoding="utf-8",
    )
    site = ProfileRegistry.load(tmp_path).for_host("a.gov.cn")
    assert site.discovery.host_page_budget == 50
    assert site.discovery.column_page_budget == generic.discovery.column_page_budget
    assert site.discovery.priorities.list == 2
    assert site.discovery.priorities.report_item == generic.discovery.priorities.report_item


@pytest.mark.parametrize(
    "text, message",
    [
        ("[discovery]\nhost_budget = 5\n", "unknown discovery keys"),
        ("[discovery]\nhost_page_budget = -1\n", "non-negative integer"),
        ('[discovery]\ncolumn_page_budget = "ten"\n', "non-negative integer"),
        ("[discovery.priorities]\nnews = 3\n", "unknown discovery.priorities keys"),
        ("[discovery.priorities]\nlist = 1.5\n", "must be an integer"),
    ],
)
def test_bad_discovery_keys_are_errors(tmp_path: Path, text: str, message: str) -> None:
    shutil.copy(SITES_DIR / "generic.toml", tmp_path / "generic.toml")
    (tmp_path / "bad.toml").write_text('name = "bad"\n' + text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as err:
        ProfileRegistry.load(tmp_path)
    assert "bad.toml" in str(err.value)


# --- hops and budgets ---------------------------------------------------------------------------


def _response(depth: int) -> HtmlResponse:
    request = Request("http://a.gov.cn/col/index.html", meta={"depth": depth})
    return HtmlResponse(request.url, body=b"<html></html>", request=request)


def test_pagination_and_script_redirects_are_no_hop() -> None:
    crawler = get_crawler(settings_dict={"DEPTH_LIMIT": 3})
    mw = HopDepthMiddleware.from_crawler(crawler)
    assert isinstance(mw, DepthMiddleware)
    response = _response(3)
    for hop in ("page", "R"):
        nxt = mw.get_processed_request(Request("http://a/x", meta={"hop": hop}), response)
        assert nxt is not None and nxt.meta["depth"] == 3
    # A link is one hop deeper, and past DEPTH_LIMIT it is dropped, as in Scrapy.
    assert mw.get_processed_request(Request("http://a/y"), response) is None
    link = mw.get_processed_request(Request("http://a/z"), _response(1))
    assert link is not None and link.meta["depth"] == 2


def test_host_budget_cuts_and_counts() -> None:
    class Spider:
        profiles = ProfileRegistry.load()

    crawler = get_crawler(settings_dict={})
    crawler.spider = Spider()  # type: ignore[assignment]
    mw = HostBudgetMiddleware.from_crawler(crawler)
    limit = Spider.profiles.generic.discovery.host_page_budget
    for n in range(limit):
        assert mw.process_request(Request(f"http://a.gov.cn/{n}", meta={"budget": True})) is None
    with pytest.raises(IgnoreRequest):
        mw.process_request(Request("http://a.gov.cn/over", meta={"budget": True, "role": "list"}))
    # Another host has its own budget; requests outside discovery never count.
    assert mw.process_request(Request("http://b.gov.cn/1", meta={"budget": True})) is None
    assert mw.process_request(Request("http://a.gov.cn/robots.txt")) is None
    # A retry of a counted request is the same page.
    counted = Request("http://a.gov.cn/0", meta={"budget": True, "budget_counted": True})
    assert mw.process_request(counted) is None
    stats = crawler.stats
    assert stats is not None
    assert stats.get_value("govcrawl/budget/cut") == 1
    assert stats.get_value("govcrawl/budget/cut_host/a.gov.cn") == 1
    assert stats.get_value("govcrawl/budget/cut_role/list") == 1
