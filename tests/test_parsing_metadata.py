"""parse_metadata: title, 来源 and publication date, field by field on every fixture page."""

from __future__ import annotations

import pytest

from govcrawl.extract.decode import decode_body
from govcrawl.extract.metadata import MetadataLabels, PageMetadata, normalize_date, parse_metadata
from tests.parsing_pages import page, page_names, real_text

FIELDS = ("title", "source", "published", "published_raw")


def _meta(name: str) -> PageMetadata:
    fixture = page(name)
    html, _ = decode_body(fixture.body, fixture.expected["content_type"])
    return parse_metadata(html, fixture.url)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("name", page_names())
def test_fixture_field(name: str, field: str) -> None:
    assert getattr(_meta(name), field) == page(name).expected[field]


def _article(
    info: str, body: str = "<p>一、总体情况</p>", head: str = "", title: str = "页面"
) -> str:
    return (
        f"<html><head><title>{title}</title>{head}</head><body>"
        '<div class="nav"><a href="/">首页</a><a href="/zwgk/">政务公开</a></div>'
        f'<div class="article"><h1>兴安盟农牧局2020年政府信息公开工作年度报告</h1>'
        f'<div class="info">{info}</div><div id="zoom">{body}</div></div>'
        '<div class="footer">兴安盟行政公署主办 蒙ICP备05002755号-2</div></body></html>'
    )


URL = "http://nmj.xam.gov.cn/xamagri/2021-01/28/article_2024041405435289175.html"


@pytest.mark.parametrize(
    ("info", "source", "published", "raw"),
    [
        # The 农牧局 line as seen on nmj.xam.gov.cn: 作者 ends the source.
        (
            "来源:盟农牧局 作者:盟农牧局 发布时间:2021年01月29日",
            "盟农牧局",
            "2021-01-29",
            "2021年01月29日",
        ),
        # Full-width colons, spans without spaces between them.
        (
            "<span>来源：盟农牧局</span><span>发布日期：2021-01-29 08:05</span>",
            "盟农牧局",
            "2021-01-29T08:05+08:00",
            "2021-01-29 08:05",
        ),
        # Spaced-out labels.
        (
            "来 源:盟农牧局 发 布 日 期:2021/01/29",
            "盟农牧局",
            "2021-01-29",
            "2021/01/29",
        ),
        (
            "来源:盟农牧局 时间:2021.01.29 点击量:<span id=hits></span>",
            "盟农牧局",
            "2021-01-29",
            "2021.01.29",
        ),
        # Empty source.
        ("来源: 发布时间:2021-01-29 16:22", None, "2021-01-29T16:22+08:00", "2021-01-29 16:22"),
        (
            "来源: | 发布时间:2021-01-29 16:22:09",
            None,
            "2021-01-29T16:22:09+08:00",
            "2021-01-29 16:22:09",
        ),
        (
            "【来源:盟农牧局】【字体:大 中 小】【发布日期:2021-01-29】",
            "盟农牧局",
            "2021-01-29",
            "2021-01-29",
        ),
    ],
)
def test_metadata_line_formats(info: str, source: str | None, published: str, raw: str) -> None:
    meta = parse_metadata(_article(info), URL)
    assert (meta.source, meta.published, meta.published_raw) == (source, published, raw)


def test_header_table_with_other_dates_first() -> None:
    info = (
        "<table><tr><td>索 引 号</td><td>1115/2022-00012</td>"
        "<td>发布机构</td><td>盟农牧局</td></tr>"
        "<tr><td>发 文 日 期</td><td>2022-03-30</td><td>成文日期</td><td>2022-03-28</td></tr>"
        "<tr><td>发布日期</td><td>2022-04-06</td><td>来源</td><td>盟农牧局</td></tr></table>"
    )
    meta = parse_metadata(_article(info), URL)
    assert meta.published == "2022-04-06"  # printed without a time of day
    assert meta.source == "盟农牧局"


@pytest.mark.parametrize("label", ["成文日期", "发文日期", "发 文 日 期", "印发日期", "生效日期"])
def test_other_dates_are_not_the_publication_date(label: str) -> None:
    info = (
        f"<table><tr><td>{label}</td><td>2022-03-30</td>"
        "<td>索引号</td><td>1115/2022-00012</td></tr></table>"
    )
    meta = parse_metadata(_article(info), URL)
    assert meta.published is None


def test_never_dates_from_the_url() -> None:
    # Path date 2020-03/11 and id stamped 2024-04-14: neither is the publication date.
    url = "https://xam.gov.cn/xam/2020-03/11/article_2024041412203766299.html"
    meta = parse_metadata(_article(""), url)
    assert meta.published is None and meta.published_raw is None


def test_body_dates_are_not_publication_dates() -> None:
    body = (
        "<p>本报告中所列数据的统计时间:2021年1月1日至2021年12月31日。</p>"
        "<p>会议时间:2021年3月1日</p>"
    )
    meta = parse_metadata(_article("", body=body), URL)
    assert meta.published is None


def test_todays_date_in_the_top_bar_is_not_the_publication_date() -> None:
    html = _article("").replace("<body>", "<body><div class=top>当前时间:2026年01月20日</div>")
    assert parse_metadata(html, URL).published is None


def test_printed_date_wins_over_meta_tag() -> None:
    head = '<meta name="PubDate" content="2021-02-01 10:00">'
    meta = parse_metadata(_article("发布时间:2021-01-29 16:22", head=head), URL)
    assert meta.published == "2021-01-29T16:22+08:00"


@pytest.mark.parametrize(
    ("head", "published"),
    [
        ('<meta name="publishdate" content="2022-04-06">', "2022-04-06"),
        ('<meta name="PubDate" content="2022-04-06 09:30">', "2022-04-06T09:30+08:00"),
        (
            '<meta property="article:published_time" content="2022-04-06T02:00:00Z">',
            "2022-04-06T10:00:00+08:00",
        ),
        (
            '<meta name="firstpublishedtime" content="2022-04-06-09:30:12">',
            "2022-04-06T09:30:12+08:00",
        ),
    ],
)
def test_meta_tags(head: str, published: str) -> None:
    meta = parse_metadata(_article("", head=head), URL)
    assert meta.published == published


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2022-01-21 18:27:17", "2022-01-21T18:27:17+08:00"),
        ("2026-01-20 17:20", "2026-01-20T17:20+08:00"),
        ("2021年01月29日", "2021-01-29"),
        ("2021年1月9日 8时5分", "2021-01-09T08:05+08:00"),
        ("2022-04-06T10:00:00+08:00", "2022-04-06T10:00:00+08:00"),
        ("21 January 2022 18:27", "2022-01-21T18:27+08:00"),  # dateparser fallback
        ("2022-13-45", None),
        ("not a date", None),
        ("", None),
    ],
)
def test_normalize_date(text: str, iso: str | None) -> None:
    assert normalize_date(text) == iso


def test_profile_labels_override_defaults() -> None:
    html = _article("文章出处:盟农牧局 上传时间:2021-01-29 16:22")
    assert parse_metadata(html, URL).source is None
    labels = MetadataLabels.from_mapping({"source": ["文章出处"], "published": ["上传时间"]})
    meta = parse_metadata(html, URL, labels)
    assert (meta.source, meta.published) == ("盟农牧局", "2021-01-29T16:22+08:00")


@pytest.mark.parametrize(
    "data",
    [{"sources": ["来源"]}, {"source": ["来源("]}, {"source": []}, {"source": "来源"}],
)
def test_profile_labels_are_validated(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MetadataLabels.from_mapping(data)  # type: ignore[arg-type]


def test_title_joined_from_body_lines_under_agency_heading() -> None:
    url, text = real_text("00_seed_xam_gaj_2021_full.txt")
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    html = (
        "<html><head><title>兴安盟公安局-兴安盟行政公署</title></head><body>"
        f"<h1>{lines[0]}</h1><div>{lines[1]}</div><div>{lines[2]}</div><div>{lines[3]}</div>"
        + "".join(f"<p>{x}</p>" for x in lines[4:12])
        + "</body></html>"
    )
    assert parse_metadata(html, url).title == "兴安盟公安局2021政府信息公开工作年度报告"


def test_title_from_title_tag_without_heading() -> None:
    html = (
        "<html><head><title>乌兰察布市区域经济合作局2020年政府信息公开工作年度报告_乌兰察布市人民政府"
        "</title></head><body><p>根据《中华人民共和国政府信息公开条例》要求。</p></body></html>"
    )
    meta = parse_metadata(html, "https://www.wulanchabu.gov.cn/szfzcbm2/131954.html")
    assert meta.title == "乌兰察布市区域经济合作局2020年政府信息公开工作年度报告"


def test_sidebar_headings_are_not_the_title() -> None:
    html = (
        "<html><head><title>兴安盟民政局2021年政府信息公开工作年度报告</title></head><body>"
        '<div class="left-menu"><h2>政府信息公开</h2></div>'
        '<div class="article"><div class="article-title">'
        "兴安盟民政局2021年政府信息公开工作年度报告</div>"
        '<p>正文</p></div><div class="related"><h3>相关信息</h3></div></body></html>'
    )
    assert parse_metadata(html, URL).title == "兴安盟民政局2021年政府信息公开工作年度报告"


def test_empty_page() -> None:
    assert parse_metadata("", URL) == PageMetadata(None, None, None, None)
