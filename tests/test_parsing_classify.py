"""classify_page: every real text classified, decoys rejected, year and agency per fixture."""

from __future__ import annotations

import time

import pytest

from govcrawl.extract.classify import (
    Classification,
    classify_page,
    looks_like_report_link,
    report_year_from_title,
)
from govcrawl.extract.decode import decode_body
from govcrawl.extract.metadata import parse_metadata
from tests.parsing_pages import page, page_names, real_text


def _classify(name: str) -> Classification:
    fixture = page(name)
    html, _ = decode_body(fixture.body, fixture.expected["content_type"])
    return classify_page(html, fixture.url)


@pytest.mark.parametrize("field", ["is_report", "year", "agency"])
@pytest.mark.parametrize("name", page_names())
def test_fixture_field(name: str, field: str) -> None:
    assert getattr(_classify(name), field) == page(name).expected[field]


@pytest.mark.parametrize("name", page_names())
def test_reason_is_given(name: str) -> None:
    result = _classify(name)
    assert result.reason
    if not result.is_report:
        assert result.year is None and result.agency is None


def test_precomputed_metadata_gives_the_same_answer() -> None:
    fixture = page("kyqq_2025")
    meta = parse_metadata(fixture.html, fixture.url)
    assert classify_page(fixture.html, fixture.url, meta) == classify_page(
        fixture.html, fixture.url
    )


def _bare(text: str, title: str = "") -> str:
    """A real text as a page without a usable title (paragraph per line)."""
    paras = "".join(f"<p>{line.strip()}</p>" for line in text.splitlines() if line.strip())
    return (
        f"<html><head><title>{title}</title></head><body><div id='zoom'>{paras}</div></body></html>"
    )


@pytest.mark.parametrize(
    ("real", "year", "agency"),
    [
        ("20_xiongxian_xiang_2019.txt", 2019, None),
        ("18_wlcb_qyjj_2020.txt", 2020, "乌兰察布市区域经济合作局"),
        ("24_wendeng_xfj_2022_flipbook_p8.txt", None, None),
    ],
)
def test_reports_recognised_by_their_sections_without_a_title(
    real: str, year: int | None, agency: str | None
) -> None:
    url, text = real_text(real)
    if real.startswith("24_"):
        text = "\n".join(text.splitlines()[2:])  # drop the flipbook's "Page 8 - <title>" line
    result = classify_page(_bare(text), url)
    assert result.is_report, result.reason
    assert "section" in result.reason
    assert result.year == year
    assert result.agency == agency


def test_report_url_with_a_short_title() -> None:
    # Hanweb serves reports from xxgkAnnualReport.jsp, titled only with the year.
    _, text = real_text("16_wlht_wjw_2022.txt")
    body = "\n".join(text.splitlines()[1:])
    url = "http://www.wlht.gov.cn/module/xxgk/xxgkAnnualReport.jsp?area=1115&fbtime=2022"
    result = classify_page(_bare(body, title="2022年度"), url)
    assert (result.is_report, result.year) == (True, 2022)
    # Without the report URL one section heading is not enough.
    other = classify_page(_bare(body, title="2022年度"), "http://www.wlht.gov.cn/art/1.html")
    assert not other.is_report


def test_year_from_statistics_period_when_the_title_has_none() -> None:
    url, text = real_text("00_seed_xam_gaj_2021_full.txt")
    html = _bare(text, title="兴安盟公安局政府信息公开工作年度报告")
    result = classify_page(html, url)
    assert (result.is_report, result.year, result.agency) == (True, 2021, "兴安盟公安局")
    assert "statistics period" in result.reason


def test_year_falls_back_to_publication_year_minus_one() -> None:
    html = (
        "<html><head><title>政府信息公开工作年度报告</title></head><body>"
        "<div>来源:盟审计局 发布日期:2022-01-21 18:27:17</div>"
        "<p>一、总体情况</p><p>我局高度重视政府信息公开工作。</p><p>二、主动公开政府信息情况</p>"
        "</body></html>"
    )
    result = classify_page(html, URL)
    assert (result.is_report, result.year) == (True, 2021)
    assert "publication year" in result.reason


URL = "http://xam.gov.cn/xam/zwgk73/tzgg/4850099/index.html"
_, SEED = real_text("00_seed_xam_gaj_2021_full.txt")


@pytest.mark.parametrize(
    "title",
    [
        "关于做好2021年度政府信息公开工作年度报告编制发布工作的通知",
        "关于报送2021年政府信息公开工作年度报告的通知",
        "兴安盟公安局2021年法治政府建设年度报告",
        "兴安盟公安局2023年部门预算",
        "兴安盟公安局2021年部门决算",
        "兴安盟2021年国民经济和社会发展统计公报",
        "兴安盟公安局2021年工作总结",
        "图解:兴安盟2021年政府信息公开工作年度报告",
        "《兴安盟2021年政府信息公开工作年度报告》解读",
        "兴安盟政府信息公开指南",
    ],
)
def test_titles_that_are_not_reports_even_over_a_report_body(title: str) -> None:
    result = classify_page(_bare(SEED, title=title), URL)
    assert not result.is_report, result.reason


def test_news_quoting_a_report() -> None:
    html = _bare(
        "全盟政务公开工作推进会召开。\n会议通报了《兴安盟2021年政府信息公开工作年度报告》编制发布情况,"
        "报告包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况等六部分。",
        title="我盟政务公开工作取得新成效",
    )
    result = classify_page(html, URL)
    assert not result.is_report


def test_list_page_named_like_a_report_is_not_a_report() -> None:
    fixture = page("decoy_list")
    html = fixture.html.replace(
        "<title>政府信息公开年报-兴安盟行政公署</title>",
        "<title>兴安盟2021年政府信息公开工作年度报告</title>",
    )
    result = classify_page(html, fixture.url)
    assert not result.is_report
    assert "list page" in result.reason


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("兴安盟公安局2021政府信息公开工作年度报告", 2021),
        ("兴安盟行署外事办公室2025年 政府信息公开工作年度报告", 2025),
        ("2019年政府信息公开工作年度报告", 2019),
        ("兴安盟公安局二〇二一年度政府信息公开工作年度报告", 2021),
        ("兴安盟公安局2022年发布的2021年度政府信息公开工作年度报告", 2021),
        ("兴安盟公安局政府信息公开工作年度报告(2020年)", 2020),
        ("政府信息公开年报", None),
        ("", None),
        (None, None),
    ],
)
def test_report_year_from_title(title: str | None, year: int | None) -> None:
    assert report_year_from_title(title) == year


@pytest.mark.parametrize(
    ("title", "agency", "agency_from"),
    [
        ("2021年兴安盟公安局政府信息公开工作年度报告", "兴安盟公安局", "title"),
        ("兴安盟公安局政府信息公开工作年度报告", "兴安盟公安局", "title"),
        ("科右中旗人民政府2021年政府信息公开工作年度报告", "科右中旗人民政府", "title"),
        # A title naming only a place does not name its government: the seed's body never
        # prints 兴安盟行政公署 or 突泉县人民政府, so no body is made up.
        ("兴安盟2021年政府信息公开工作年度报告", None, None),
        ("突泉县2021年政府信息公开工作年度报告", None, None),
    ],
)
def test_agency_from_title(title: str, agency: str | None, agency_from: str | None) -> None:
    html = _bare(SEED.split("二、主动公开政府信息情况")[0], title=title)
    result = classify_page(html, URL)
    assert (result.agency, result.agency_from) == (agency, agency_from)
    if agency is None:
        place = title.split("2021")[0]
        assert (
            result.agency_evidence
            == f"title names the place {place}; the page prints no body of it"
        )
    else:
        assert result.agency_evidence == title


PINGTAN = "平潭综合实验区2020年度政府信息公开工作年度报告"
PINGTAN_BODY = (
    "<p>本报告由区管委会办公室根据《中华人民共和国政府信息公开条例》要求编制。</p>"
    "<p>一、总体情况</p><p>2020年，区管委会坚持以习近平新时代中国特色社会主义思想为指导。</p>"
)


def _page(title: str, body: str, head: str = "", footer: str = "") -> str:
    return (
        f"<html><head><title>{head or title}</title></head><body>"
        f"<div class='article'><h1>{title}</h1><div id='zoom'>{body}</div></div>"
        f"<div class='footer'>{footer}</div></body></html>"
    )


def test_place_in_title_is_never_expanded_into_an_invented_body() -> None:
    """平潭综合实验区 is run by its 管委会; 平潭综合实验区人民政府 does not exist."""
    result = classify_page(_page(PINGTAN, PINGTAN_BODY), URL)
    assert result.is_report and result.agency is None and result.agency_from is None
    assert "平潭综合实验区" in (result.agency_evidence or "")


@pytest.mark.parametrize(
    ("body", "head", "footer", "agency", "agency_from"),
    [
        # the report text prints the body's full name
        (
            PINGTAN_BODY + "<p>平潭综合实验区管理委员会坚持依法行政。</p>",
            "",
            "",
            "平潭综合实验区管理委员会",
            "body",
        ),
        # a signature at the end of the report: the body's name over a date
        (
            PINGTAN_BODY + "<p>平潭综合实验区管委会</p><p>2021年1月30日</p>",
            "",
            "",
            "平潭综合实验区管委会",
            "signature",
        ),
        # the site's own name (its <title> and 主办 footer)
        (
            PINGTAN_BODY,
            f"{PINGTAN}-平潭综合实验区管理委员会",
            "主办单位：平潭综合实验区管理委员会",
            "平潭综合实验区管理委员会",
            "site",
        ),
    ],
)
def test_place_in_title_takes_the_body_the_page_prints(
    body: str, head: str, footer: str, agency: str, agency_from: str
) -> None:
    result = classify_page(_page(PINGTAN, body, head=head, footer=footer), URL)
    assert (result.agency, result.agency_from) == (agency, agency_from)
    assert agency in (result.agency_evidence or "")


def test_agency_from_header_table_and_source_when_the_title_names_none() -> None:
    header = (
        "<table><tr><td>索引号</td><td>1115/2022-00012</td><td>发布机构</td><td>盟农牧局</td></tr>"
        "<tr><td>发布日期</td><td>2022-04-06</td></tr></table>"
    )
    html = _page(
        "2021年度政府信息公开工作年度报告",
        header + "<p>一、总体情况</p><p>2021年，我局认真贯彻落实《条例》。</p>",
    )
    result = classify_page(html, URL)
    assert (result.agency, result.agency_from) == ("盟农牧局", "header")
    html = _page(
        "2021年度政府信息公开工作年度报告",
        "<p>来源：兴安盟农牧局 发布时间：2022-01-20</p><p>一、总体情况</p>"
        "<p>2021年，我局认真落实。</p>",
    )
    result = classify_page(html, URL)
    assert (result.agency, result.agency_from) == ("兴安盟农牧局", "source")


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        ("兴安盟公安局2021政府信息公开工作年度报告", "./4862348/index.html", True),
        ("兴安盟生态环境局2021年政府信息公开工作年度...", "./4861401/index.html", True),
        ("兴安盟生态环境局2021年政府信息公开工…", "./4861401/index.html", True),
        ("2021年度政府信息公开年报", "/art/2022/1/20/art_1529_1.html", True),
        ("兴安盟公安局2021年政府信息公开工作年度报告(图片版)", "./4862349/index.html", True),
        ("2021年", "/module/xxgk/xxgkAnnualReport.jsp?area=1115&fbtime=2021", True),
        (
            "关于做好2021年度政府信息公开工作年度报告编制发布工作的通知",
            "./4850001/index.html",
            False,
        ),
        ("兴安盟公安局2021年法治政府建设年度报告", "./4850002/index.html", False),
        ("兴安盟民政局2023年部门预算", "./4850003/index.html", False),
        ("图解:兴安盟2021年政府信息公开工作年度报告", "./4850004/index.html", False),
        ("盟行政审批局召开全盟政务公开工作推进会", "./4850005/index.html", False),
        ("首页", "/xam/index.html", False),
        ("政策解读", "/xam/zcjd/index.html", False),
    ],
)
def test_looks_like_report_link(text: str, url: str, expected: bool) -> None:
    assert looks_like_report_link(text, url) is expected


def test_classification_is_cheap() -> None:
    fixture = page("xam_gaj_2021_full")
    html = fixture.html
    classify_page(html, fixture.url)
    start = time.perf_counter()
    for i in range(10):
        # A fresh string each time so the parse cache cannot help.
        classify_page(html + f"<!-- {i} -->", fixture.url)
    per_page = (time.perf_counter() - start) / 10
    assert per_page < 0.1  # measured around 5 ms; the spider runs this on every article
