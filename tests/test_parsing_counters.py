"""Click counters: the four replica styles, profile rules, and counter response shapes."""

from __future__ import annotations

import pytest

from govcrawl.extract.counters import (
    CounterRequest,
    CounterRule,
    choose_counter_request,
    find_counter_requests,
    parse_counter_response,
)
from govcrawl.extract.decode import decode_body
from tests.parsing_pages import page, page_names

XAM_RULE = CounterRule(
    url_template="/xam/clicks.jsp?contentId={id}",
    id_pattern=r'contentId:\s*"(\d+)"',
    read_only=True,
)


def _html(name: str) -> str:
    fixture = page(name)
    return decode_body(fixture.body, fixture.expected["content_type"])[0]


@pytest.mark.parametrize("name", page_names())
def test_fixture_counters(name: str) -> None:
    fixture = page(name)
    found = find_counter_requests(_html(name), fixture.url)
    assert [[r.url, r.read_only, r.style] for r in found] == fixture.expected["counters"]


def test_style_a_with_the_site_profile_rule() -> None:
    fixture = page("xam_gaj_2021_full")
    found = find_counter_requests(_html(fixture.name), fixture.url, [XAM_RULE])
    # The profile's request comes first; the generic one is the same URL and is not repeated.
    assert found == [
        CounterRequest("http://xam.gov.cn/xam/clicks.jsp?contentId=4862348", True, "profile")
    ]


def test_style_a_data_object_built_from_variables_is_not_guessed() -> None:
    html = """<span id="hits"></span><script>
    var cid = document.getElementById("cid").value;
    $.ajax({url: "/xam/clicks.jsp", data: {contentId: cid}, dataType: "json",
            success: function (d) { $("#hits").text(d.clicks); }});
    </script><input id="cid" value="4862348"/>"""
    url = "http://xam.gov.cn/xam/zwgk73/x/4862348/index.html"
    assert find_counter_requests(html, url) == []
    rule = CounterRule("/xam/clicks.jsp?contentId={id}", r'id="cid" value="(\d+)"', True)
    assert find_counter_requests(html, url, [rule])[0].url == (
        "http://xam.gov.cn/xam/clicks.jsp?contentId=4862348"
    )


def test_profile_rule_id_from_the_url() -> None:
    rule = CounterRule("/xam/clicks.jsp?contentId={id}", r"/(?P<id>\d+)/index\.html$", True)
    url = "http://xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"
    assert choose_counter_request("<p>点击量:<span id=hits></span></p>", url, [rule]) == (
        CounterRequest("http://xam.gov.cn/xam/clicks.jsp?contentId=4862348", True, "profile")
    )


def test_profile_rule_without_a_match_adds_nothing() -> None:
    fixture = page("xam_wsb_2025")
    assert find_counter_requests(_html(fixture.name), fixture.url, [XAM_RULE]) == []


@pytest.mark.parametrize(
    ("template", "pattern"),
    [("/xam/clicks.jsp", r"(\d+)"), ("/xam/clicks.jsp?id={id}", r"(\d+"), ("/c?id={id}", r"\d+")],
)
def test_profile_rules_are_validated(template: str, pattern: str) -> None:
    with pytest.raises(ValueError):
        CounterRule(template, pattern, True)


def test_style_b_adds_a_hit_and_is_the_only_choice() -> None:
    fixture = page("aes_wjw_2025_gb2312")
    chosen = choose_counter_request(_html(fixture.name), fixture.url)
    assert chosen == CounterRequest(
        "http://www.aes.gov.cn/aes/count.jsp?aid=2026011509191225642&add=1", False, "script-src"
    )


def test_style_c_never_picks_the_visit_iframe() -> None:
    fixture = page("kyqq_2025_hanweb")
    chosen = choose_counter_request(_html(fixture.name), fixture.url)
    assert chosen is not None and chosen.read_only
    assert "artcount.jsp" in chosen.url and "visit" not in chosen.url


def test_style_d_has_no_counter() -> None:
    fixture = page("xam_wsb_2025")
    assert choose_counter_request(_html(fixture.name), fixture.url) is None


def test_read_only_preferred_over_earlier_hit_adding_endpoint() -> None:
    html = """<p>点击量:<script src="/xamagri/count.jsp?aid=123&amp;add=1"></script></p>
    <script>$.getJSON("/xamagri/clicks.jsp", {aid: "123"}, function (d) { show(d.n); });</script>"""
    found = find_counter_requests(html, "http://nmj.xam.gov.cn/xamagri/x/123.html")
    assert [(r.url, r.read_only) for r in found] == [
        ("http://nmj.xam.gov.cn/xamagri/clicks.jsp?aid=123", True),
        ("http://nmj.xam.gov.cn/xamagri/count.jsp?aid=123&add=1", False),
    ]
    assert choose_counter_request(html, "http://nmj.xam.gov.cn/xamagri/x/123.html") == found[0]


@pytest.mark.parametrize(
    ("script", "url", "style"),
    [
        (
            'fetch("/api/clicks?id=9").then(r => r.text())',
            "http://a.gov.cn/api/clicks?id=9",
            "fetch",
        ),
        (
            'var x = new XMLHttpRequest(); x.open("GET", "/artcount/get.jsp?id=9", true);',
            "http://a.gov.cn/artcount/get.jsp?id=9",
            "xhr",
        ),
        (
            "$.get('/vc/artcount.jsp?artid=9', function (n) { $('#c').html(n); });",
            "http://a.gov.cn/vc/artcount.jsp?artid=9",
            "get",
        ),
        (
            'jQuery.ajax({type: "GET", url: "/count/read.do", data: {"id": 9, site: "a"}});',
            "http://a.gov.cn/count/read.do?id=9&site=a",
            "ajax",
        ),
        ('$("#hits").load("/clickcount.jsp?id=9");', "http://a.gov.cn/clickcount.jsp?id=9", "load"),
    ],
)
def test_generic_script_calls(script: str, url: str, style: str) -> None:
    html = f"<p>阅读次数:<span id=c></span></p><script>{script}</script>"
    assert find_counter_requests(html, "http://a.gov.cn/art/1.html") == [
        CounterRequest(url, True, style)
    ]


@pytest.mark.parametrize(
    "script",
    [
        '$.ajax({url: "/xam/clicks.jsp?contentId=" + cid, dataType: "json"});',
        '$.get("/vc/artcount.jsp?artid=" + id, function (n) {});',
        'x.open("GET", "/artcount/get.jsp?id=" + id, true);',
    ],
)
def test_urls_built_from_variables_are_not_guessed(script: str) -> None:
    html = f"<script>var cid = '1', id = '1';{script}</script>"
    assert find_counter_requests(html, "http://a.gov.cn/art/1.html") == []


def test_generic_rules_ignore_non_counters() -> None:
    html = """<script src="/js/jquery.min.js"></script><script src="/js/visitcount.js"></script>
    <script src="https://tongji.example.com/count.php?site=1"></script>
    <img src="/images/count_bg.png"/><iframe src="/module/share/index.jsp"></iframe>
    <script>$.get("/search/list.jsp", function (d) {});</script>"""
    assert find_counter_requests(html, "http://a.gov.cn/art/1.html") == []


@pytest.mark.parametrize(
    ("body", "content_type", "count"),
    [
        ("1234", "text/plain", 1234),
        ("  1234\r\n", "text/plain;charset=UTF-8", 1234),
        ("1,234", "text/html", 1234),
        ('{"contentId": "4862348", "clicks": 1234}', "application/json", 1234),
        ('{"count": "56"}', "text/html", 56),
        ('{"Hits": 7}', None, 7),
        ('{"num": 3, "value": 9}', "application/json", 3),
        ('{"code": 0, "data": {"value": 88}}', "application/json", 88),
        ("42", "application/json", 42),
        ('"42"', "application/json", 42),
        ('cb({"clicks": 12});', "application/javascript", 12),
        ("jQuery1123_456(789)", "text/javascript", 789),
        ("document.write('1234');", "application/javascript", 1234),
        ('document.write("1,234")', "application/javascript", 1234),
        ("\ufeff1234", "text/plain", 1234),
    ],
)
def test_counter_responses(body: str, content_type: str | None, count: int) -> None:
    assert parse_counter_response(body, content_type) == count


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "<html><body>404 Not Found</body></html>",
        '{"error": "no such article"}',
        "true",
        "null",
        "-5",
        "12.5",
        "document.write('abc');",
        "cb(null)",
        "var hits = ;",
    ],
)
def test_counter_responses_that_are_not_counts(body: str) -> None:
    assert parse_counter_response(body, "application/json") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("来源：盟公安局　发布日期：2022-01-21　浏览次数：1,234次", 1234),
        ("【阅读次数: 56】", 56),
        ("点击量：<span id='hits'></span>", None),  # filled in by script later
        ("浏览次数：2022-01-21", None),  # a date, not a count
        ("发布日期：2022-01-21", None),
    ],
)
def test_printed_visit_counts(line: str, expected: int | None) -> None:
    from crawler.sites.profiles import ProfileRegistry
    from govcrawl.extract.counters import printed_clicks

    labels = ProfileRegistry.load().generic.printed_counter_labels
    assert printed_clicks(f"<html><body><p>{line}</p></body></html>", labels) == expected
