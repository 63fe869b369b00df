"""Links of a page as a browser sees them: absolute URLs built from the page's own encoding, the
anchor's title, and whether the link is an item of a list (a title with a date beside it).

- ``build_url(href, base, encoding)``: the URL a browser requests for ``href`` on a page in
  ``encoding``: path percent-encoded as UTF-8, query (and fragment) in the document's encoding
  (WHATWG URL Standard, "URL parsing", query state; w3lib's ``safe_url_string`` implements it).
  A GB2312 page's ``list.asp?lb=政府信息公开年报`` becomes ``lb=%D5%FE%B8%AE...``, which is what
  the server reads. Code points the encoding cannot hold become ``&#N;`` before percent-encoding,
  as the standard's "encode or fail" fallback says.
- ``page_links(html, base_url, encoding)``: every ``<a href>`` / ``<area href>`` as a
  ``PageLink`` (``<base href>`` honoured, fragments dropped, non-HTTP schemes skipped).
- ``script_redirect(html, base_url, encoding)``: the target of a redirect stub: a page whose only
  job is ``window.location = "..."`` (``location.href``, ``location.replace(...)``) with a literal
  target, or a ``<meta http-equiv="refresh">`` inside ``<noscript>`` (w3lib, and hence Scrapy's
  MetaRefreshMiddleware, skip refreshes inside ``<noscript>`` on purpose).

Nothing here raises on bad markup: an unparsable page has no links.
"""

from __future__ import annotations

import codecs
import html as html_lib
import logging
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from w3lib.html import strip_html5_whitespace
from w3lib.url import safe_url_string

from govcrawl.extract import dom

logger = logging.getLogger(__name__)

__all__ = ["PageLink", "build_url", "page_links", "script_redirect", "url_encoding"]

# A date printed beside a list item: 2023-01-31, 2023/1/31, 2023.01.31, 2023年1月31日.
_DATE = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?!\d)")
# Containers of one list item: the nearest of these around a link.
_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "p", "div", "td", "span"})
_SCHEMES = ("http", "https")
_TRUNCATED = re.compile(r"(?:\.{2,}|…+|。。+)\s*$")


@dataclass(frozen=True)
class PageLink:
    """One link of a page.

    ``url``: absolute, as the browser would request it (fragment dropped); ``text``: the anchor
    text with whitespace collapsed, or its ``title`` attribute where the list shortened the text
    (``...`` / ``…``) or showed none; ``date``: the date printed in the link's list item
    (``YYYY-MM-DD``) or None; ``item``: True when the link is one entry of a list (one link in
    its container, with a date).
    """

    url: str
    text: str
    date: str | None = None

    @property
    def item(self) -> bool:
        return self.date is not None


def url_encoding(encoding: str | None) -> str:
    """The encoding a page's URLs take their query in: the page's, but UTF-8 for UTF-16 pages
    and for names Python does not know (WHATWG URL Standard, "encoding" of a URL parser)."""
    if not encoding:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return "utf-8"
    return "utf-8" if name.startswith("utf-16") or name.startswith("utf_16") else name


def build_url(href: str, base: str, encoding: str = "utf-8") -> str | None:
    """Absolute URL for ``href`` found on a page at ``base`` whose encoding is ``encoding``;
    None for empty links, fragments, ``javascript:``/``mailto:`` and other non-HTTP schemes."""
    href = strip_html5_whitespace(href or "")
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host in a hand-written link
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        return None
    url = urlunsplit(parts._replace(fragment=""))
    enc = url_encoding(encoding)
    try:
        return safe_url_string(url, encoding=enc)
    except UnicodeEncodeError:
        # "encode or fail": a code point outside the encoding becomes "&#N;", percent-encoded.
        query = "".join(c if _encodable(c, enc) else f"%26%23{ord(c)}%3B" for c in parts.query)
        url = urlunsplit(parts._replace(query=query, fragment=""))
        return safe_url_string(url, encoding=enc)
    except ValueError:
        return None


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _parse(html: str) -> etree._Element | None:
    if not html or not html.strip():
        return None
    try:
        return dom.parse_cached(html)
    except (etree.LxmlError, ValueError):
        return None


def _base(tree: etree._Element, base_url: str, encoding: str) -> str:
    for href in tree.xpath("//base/@href"):
        url = build_url(str(href), base_url, encoding)
        if url:
            return url
    return base_url


def _text(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _item_date(a: etree._Element) -> str | None:
    """The date of the list item holding ``a``: the nearest container with exactly one link."""
    el = a.getparent()
    for _ in range(3):
        if el is None or not isinstance(el.tag, str):
            return None
        if el.tag.lower() in _ITEM_TAGS:
            links = [x for x in el.iter("a") if x.get("href")]
            if len(links) > 1:
                return None
            text = "".join(el.itertext())
            found = _DATE.search(text)
            if found:
                nums = re.findall(r"\d+", found.group())
                return f"{int(nums[0]):04d}-{int(nums[1]):02d}-{int(nums[2]):02d}"
            if el.tag.lower() in ("li", "tr", "dd"):
                return None
        el = el.getparent()
    return None


def page_links(html: str, base_url: str, encoding: str = "utf-8") -> list[PageLink]:
    """Every HTTP(S) link of ``html`` (``<a>``/``<area>`` with ``href``), in page order, first
    occurrence of each URL only. See ``PageLink``."""
    tree = _parse(html)
    if tree is None:
        return []
    base = _base(tree, base_url, encoding)
    out: list[PageLink] = []
    seen: set[str] = set()
    for el in tree.iter("a", "area"):
        href = el.get("href")
        if not href:
            continue
        url = build_url(href, base, encoding)
        if url is None or url in seen:
            continue
        seen.add(url)
        text = _text(el) if el.tag == "a" else (el.get("alt") or "").strip()
        title = " ".join((el.get("title") or "").split())
        shortened = _TRUNCATED.search(text) and len(title) > len(_TRUNCATED.sub("", text))
        if title and (not text or shortened):
            text = title
        out.append(PageLink(url, text, _item_date(el) if el.tag == "a" else None))
    return out


# window.location = "...", window.location.href = '...', location.replace("..."), also through
# top./self./document./parent.; only a literal string target.
_JS_REDIRECT = re.compile(
    r"""(?:\b(?:window|top|self|parent|document)\s*\.\s*)?\blocation\s*"""
    r"""(?:\.\s*href\s*=|=|\.\s*(?:replace|assign)\s*\()\s*(["'])([^"'\\\s]+)\1"""
)
_META_TAG = re.compile(r"<meta\b[^>]*>", re.I)
_REFRESH = re.compile(r"""http-equiv\s*=\s*["']?refresh""", re.I)
_CONTENT = re.compile(r"""content\s*=\s*(["'])(.*?)\1""", re.I | re.S)
# "5; url='/path'" (HTML Standard, "shared declarative refresh steps")
_REFRESH_CONTENT = re.compile(
    r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(["']?)(.*?)\1\s*$""", re.I | re.S
)


def _refresh_target(content: str) -> str | None:
    match = _REFRESH_CONTENT.match(html_lib.unescape(content))
    return match.group(2).strip() if match and match.group(2).strip() else None


# Visible text above this many characters makes a page content, not a redirect stub.
STUB_MAX_TEXT = 200


def script_redirect(html: str, base_url: str, encoding: str = "utf-8") -> tuple[str, str] | None:
    """``(url, how)`` when the page is a redirect stub, else None; ``how`` is ``"script"`` or
    ``"noscript meta refresh"``.

    A stub has little visible text (under ``STUB_MAX_TEXT`` characters) and either a script
    that sets ``location`` to a string literal (the first such assignment wins) or a meta refresh
    inside ``<noscript>``. Pages with real content keep their scripts to themselves (a mobile
    redirect behind a user-agent test is not a way to the reports).
    """
    tree = _parse(html)
    if tree is None:
        return None
    if tree.find("body") is not None and len("".join(dom.page_lines(html))) > STUB_MAX_TEXT:
        return None
    for script in tree.iter("script"):
        code = script.text or ""
        match = _JS_REDIRECT.search(code)
        if match:
            url = build_url(match.group(2), base_url, encoding)
            if url and url != base_url:
                return url, "script"
    for noscript in tree.iter("noscript"):
        # lxml keeps <noscript> content as elements or as text, depending on where it stands.
        inner = (noscript.text or "") + "".join(
            etree.tostring(c, encoding="unicode") for c in noscript
        )
        for tag in _META_TAG.findall(inner):
            if not _REFRESH.search(tag):
                continue
            content = _CONTENT.search(tag)
            target = _refresh_target(content.group(2) if content else "")
            url = build_url(target, base_url, encoding) if target else None
            if url and url != base_url:
                return url, "noscript meta refresh"
    return None
