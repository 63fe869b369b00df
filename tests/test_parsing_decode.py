"""decode_body: declared, missing and lying charsets; GBK pages never come out as mojibake."""

from __future__ import annotations

import pytest

from govcrawl.extract.decode import decode_body
from tests.parsing_pages import page, page_names, real_text

_, SEED = real_text("00_seed_xam_gaj_2021_full.txt")


def _html(head: str = "") -> str:
    return (
        f"<html><head>{head}<title>兴安盟公安局</title></head><body><div>{SEED}</div></body></html>"
    )


@pytest.mark.parametrize("name", page_names())
def test_fixture_pages_decode_to_their_text(name: str) -> None:
    fixture = page(name)
    text, encoding = decode_body(fixture.body, fixture.expected["content_type"])
    assert encoding == fixture.expected["encoding"]
    assert text == fixture.html


@pytest.mark.parametrize(
    "content_type",
    [
        None,  # no header at all
        "text/html",  # header without charset
        "text/html; charset=utf-8",  # wrong header
        "text/html;charset=UTF-8",
        "text/html; charset=ISO-8859-1",  # Tomcat's default for JSP pages
        "text/html; charset=gbk",
        "text/html; charset=gb2312",
    ],
)
def test_gbk_body_without_meta(content_type: str | None) -> None:
    html = _html()
    text, encoding = decode_body(html.encode("gb18030"), content_type)
    assert encoding == "gb18030"
    assert text == html


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="gb2312">',
        '<meta http-equiv="Content-Type" content="text/html; charset=GBK">',
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',  # lying meta
    ],
)
@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])
def test_gbk_body_with_meta(meta: str, content_type: str | None) -> None:
    html = _html(meta)
    text, encoding = decode_body(html.encode("gb18030"), content_type)
    assert encoding == "gb18030"
    assert text == html
    assert "\ufffd" not in text


def test_utf8_body_with_wrong_gbk_header() -> None:
    html = _html('<meta charset="gb2312">')
    text, encoding = decode_body(html.encode("utf-8"), "text/html; charset=gb2312")
    assert (text, encoding) == (html, "utf-8")


def test_utf8_with_bom() -> None:
    html = _html()
    text, encoding = decode_body(b"\xef\xbb\xbf" + html.encode("utf-8"), "text/html; charset=gbk")
    assert (text, encoding) == (html, "utf-8")


def test_gb18030_four_byte_characters() -> None:
    # Characters outside GBK (extension B ideographs) only exist in GB18030.
    html = _html().replace("兴安盟公安局</title>", "兴安盟公安局\U00020000㐀</title>")
    text, encoding = decode_body(html.encode("gb18030"), "text/html; charset=gb2312")
    assert encoding == "gb18030"
    assert "\U00020000㐀" in text


def test_damaged_gbk_body_keeps_the_rest() -> None:
    body = _html().encode("gb18030")
    cut = body.index("总体情况".encode("gb18030")) + 1  # split a two-byte character
    damaged = body[:cut] + body[cut + 1 :]
    text, encoding = decode_body(damaged, "text/html; charset=utf-8")
    assert encoding == "gb18030"
    assert text.count("\ufffd") <= 2
    assert "兴安盟公安局政务公开工作紧紧围绕着力健全工作机制" in text


def test_latin_page_keeps_its_declared_charset() -> None:
    text, encoding = decode_body(b"<p>caf\xe9 cr\xe8me</p>", "text/html; charset=iso-8859-1")
    assert text == "<p>café crème</p>"
    assert encoding == "cp1252"


def test_ascii_body_and_empty_body() -> None:
    assert decode_body(b"<p>1234</p>", None) == ("<p>1234</p>", "utf-8")
    assert decode_body(b"", "text/html; charset=gbk") == ("", "gb18030")
    assert decode_body(b"", None) == ("", "utf-8")
