"""extract_text: body sentences kept, table rows readable, page chrome dropped."""

from __future__ import annotations

from functools import cache

import pytest

from govcrawl.extract.decode import decode_body
from govcrawl.extract.text import extract_text
from tests.parsing_pages import page, page_names, real_text

# Chrome that the fixtures put around every text; none of it may reach the extracted text.
BOILERPLATE = (
    "ICP备",
    "公网安备",
    "网站标识码",
    "Copyright",
    "当前位置",
    "字体大小",
    "点击量",
    "下载本页",
    "无障碍",
    "长者模式",
    "打印本页",
    "关闭窗口",
    "浏览次数",
    "来源:",
    "来源：",
    "发布时间:",
    "发布时间：",
    "发布日期:",
    "发布日期：",
    "索 引 号",
    "成 文 日 期",
    "上一页",
    "下一页",
    "走进兴安",
    "主办单位",
    "分享:",
    "English",
)


@cache
def _text(name: str) -> str:
    fixture = page(name)
    html, _ = decode_body(fixture.body, fixture.expected["content_type"])
    return extract_text(html, fixture.url)


def _with_sentences() -> list[tuple[str, str]]:
    return [(n, s) for n in page_names() for s in page(n).expected["text_contains"]]


def _with_lines() -> list[tuple[str, str]]:
    return [(n, s) for n in page_names() for s in page(n).expected["text_lines"]]


@pytest.mark.parametrize(("name", "sentence"), _with_sentences())
def test_keeps_body_sentences(name: str, sentence: str) -> None:
    assert sentence in _text(name)


@pytest.mark.parametrize(("name", "line"), _with_lines())
def test_keeps_headings_as_lines(name: str, line: str) -> None:
    lines = [x.lstrip("-•* ").strip() for x in _text(name).splitlines()]
    assert line in lines


@pytest.mark.parametrize("name", page_names())
def test_drops_page_chrome(name: str) -> None:
    text = _text(name)
    found = [b for b in BOILERPLATE if b in text]
    assert not found, found


@pytest.mark.parametrize("name", [n for n in page_names() if page(n).expected["text_contains"]])
def test_no_widget_or_menu_lines(name: str) -> None:
    for line in _text(name).splitlines():
        assert line.strip() not in {"分享", "打印", "首页", "政务公开", "下载本页 打印", "A+ A A-"}


def test_seed_report_text_is_whole() -> None:
    text = _text("xam_gaj_2021_full")
    _, real = real_text("00_seed_xam_gaj_2021_full.txt")
    footer = real.index("地 址:")  # the saved page ends with the portal footer
    paragraphs = [x.strip() for x in real[:footer].splitlines() if len(x.strip()) > 60]
    flat = "".join(text.split())
    missing = [p for p in paragraphs if "".join(p.split()) not in flat]
    assert not missing


def test_table_rows_one_per_line() -> None:
    lines = _text("xam_gaj_2021_full").splitlines()
    row = next(x for x in lines if x.startswith("行政规范性文件"))
    assert row.split(" | ") == ["行政规范性文件", "2", "0", "2"]
    header = next(x for x in lines if x.startswith("信息内容 | 本年制发件数"))
    assert header.split(" | ") == ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]


def test_layout_table_is_not_flattened_into_one_row() -> None:
    text = _text("kyqq_2025_hanweb")
    assert "|" not in text
    assert len([x for x in text.splitlines() if x.strip()]) >= 5


_NAV = "".join(f'<li><a href="/c{i}/">栏目{i}</a></li>' for i in range(15))
_FOOT = '<div class="footer">主办单位:兴安盟行政公署 <a href="https://beian.miit.gov.cn/">蒙ICP备05002755号-2</a></div>'


def test_fallback_for_a_short_page_with_only_an_attachment() -> None:
    html = (
        f'<html><body><ul class="nav">{_NAV}</ul>'
        "<h1>兴安盟审计局2021年政府信息公开工作年度报告</h1>"
        '<div id="zoom"><p>兴安盟审计局2021年政府信息公开工作年度报告详见附件。</p>'
        '<p>附件:<a href="/att/1.pdf">兴安盟审计局2021年政府信息公开工作年度报告.pdf</a></p></div>'
        f"{_FOOT}</body></html>"
    )
    text = extract_text(html)
    assert "兴安盟审计局2021年政府信息公开工作年度报告详见附件。" in text
    assert "栏目" not in text and "ICP" not in text


def test_fallback_when_trafilatura_discards_the_block() -> None:
    # The CMS wraps the article in a block named like a comment box, which trafilatura prunes.
    _, real = real_text("16_wlht_wjw_2022.txt")
    paras = "".join(
        f"<p>{x.strip()}</p>" for x in real.splitlines()[1:] if x.strip() and "[" not in x
    )
    html = (
        f'<html><body><ul class="nav">{_NAV}</ul><div class="comment-box"><div class="content">'
        f"{paras}</div></div>{_FOOT}</body></html>"
    )
    text = extract_text(html)
    assert "2022年度,市卫健委未收到政府信息公开申请。" in text
    assert "生活水质检测124份,确保乌市居民用水安全" in text
    assert "栏目" not in text and "ICP" not in text


def test_dated_body_lines_are_not_taken_for_metadata_lines() -> None:
    html = (
        '<html><body><div class="nav"><a href="/">首页</a></div><div id="zoom">'
        "<p>关于召开全盟政务公开工作培训会议的通知</p><p>会议时间:2022年3月1日</p>"
        "<p>会议地点:兴安盟政务服务中心402室</p></div></body></html>"
    )
    text = extract_text(html)
    assert "会议时间:2022年3月1日" in text.splitlines()


def test_empty_and_list_pages() -> None:
    assert extract_text("") == ""
    assert "兴安盟水利局2021年政府信息公开工作年度报告" not in _text("decoy_list")


LAYOUT_PARAGRAPHS = [
    "一、总体情况",
    "2021年，我局认真贯彻落实《中华人民共和国政府信息公开条例》。",
    "（一）主动公开情况。全年主动公开政府信息120条。",
    "（二）依申请公开情况。全年收到申请3件，均按时答复。",
    "二、主动公开政府信息情况",
]


@pytest.mark.parametrize(
    "cell",
    [
        "<br>".join(LAYOUT_PARAGRAPHS),
        "".join(f"<p>{p}</p>" for p in LAYOUT_PARAGRAPHS),
        "<div>" + "".join(f"<div>{p}</div>" for p in LAYOUT_PARAGRAPHS) + "</div>",
    ],
    ids=["br", "p", "div"],
)
def test_body_in_a_layout_table_keeps_its_paragraphs(cell: str) -> None:
    """A report body laid out in a <table> cell, with no content wrapper around it and too
    short for a long-cell rule: one paragraph per line, not one line for the whole body."""
    html = (
        "<html><head><title>兴安盟公安局2021年政府信息公开工作年度报告</title></head><body>"
        f"<table><tr><td>导航 首页</td><td>{cell}</td></tr></table></body></html>"
    )
    lines = extract_text(html).splitlines()
    start = lines.index(LAYOUT_PARAGRAPHS[0])
    assert lines[start : start + len(LAYOUT_PARAGRAPHS)] == LAYOUT_PARAGRAPHS
