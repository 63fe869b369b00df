"""Small lxml helpers shared by the page parsers: parsing, visible lines, content block."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import lxml.html
from lxml import etree

from govcrawl.extract import patterns

logger = logging.getLogger(__name__)

# Elements whose text is never visible page text.
SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "iframe",
        "object",
        "embed",
        "select",
        "option",
        "textarea",
        "svg",
        "canvas",
        "button",
        "input",
    }
)
BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
    }
)
CELL_TAGS = frozenset({"td", "th"})

_WS = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_CJK_RUN = re.compile(f"[{patterns.CJK}]+")
_CJK_SPACE = re.compile(
    rf"(?<=[{patterns.CJK}0-9）)》”])\s+(?=[{patterns.CJK}（(《“])|(?<=[{patterns.CJK}])\s+(?=[0-9])"
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CONTENT_CLASS = re.compile(patterns.CONTENT_CLASS)

# Big enough for a spider that classifies a page and then reads its metadata.
_PARSE_CACHE = 4


def parse_html(html: str) -> lxml.html.HtmlElement:
    """Parse ``html`` into a fresh tree (callers may modify it)."""
    html = _XML_DECL.sub("", html or "", count=1)
    if not html.strip():
        html = "<html><body></body></html>"
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        logger.debug("unparsable HTML, using an empty document")
        return lxml.html.document_fromstring("<html><body></body></html>")


@lru_cache(maxsize=_PARSE_CACHE)
def parse_cached(html: str) -> lxml.html.HtmlElement:
    """Parse ``html`` once for read-only use (metadata and classification share the tree)."""
    return parse_html(html)


@lru_cache(maxsize=_PARSE_CACHE)
def page_lines(html: str) -> tuple[str, ...]:
    """``render_lines`` of the page's ``<body>`` (of the whole tree when it has none), rendered
    once per page for the read-only callers that all read it (metadata, classification, stub
    and counter detection)."""
    tree = parse_cached(html)
    body = tree.find("body")
    return tuple(render_lines(body if body is not None else tree))


def normalize_space(text: str) -> str:
    return _WS.sub(" ", text).strip()


def squeeze_cjk(text: str) -> str:
    """Collapse whitespace and drop spaces between Chinese characters (layout artefacts)."""
    return _CJK_SPACE.sub("", normalize_space(text))


def cjk_count(text: str) -> int:
    # Runs, not characters: findall of one character at a time builds a string per character.
    return sum(map(len, _CJK_RUN.findall(text)))


def tag_of(el: etree._Element) -> str | None:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else None


def is_layout_table(table: etree._Element) -> bool:
    """A table used for page layout (nested tables or long cells) rather than for data."""
    if table.find(".//table") is not None:
        return True
    for cell in table.iter("td", "th"):
        text = "".join(cell.itertext())
        if cjk_count(text) > 200:
            return True
    return False


def render_lines(root: etree._Element) -> list[str]:
    """Visible text of ``root`` as lines: one line per block, table rows as ``a | b | c``."""
    parts: list[str] = []
    layout_cache: dict[etree._Element, bool] = {}

    def in_data_table(cell: etree._Element) -> bool:
        table = next(cell.iterancestors("table"), None)
        if table is None:
            return False
        if table not in layout_cache:
            layout_cache[table] = is_layout_table(table)
        return not layout_cache[table]

    def walk(el: etree._Element, in_cell: bool) -> None:
        tag = tag_of(el)
        if tag is None or tag in SKIP_TAGS:
            if el.tail:
                parts.append(el.tail)
            return
        cell = tag in CELL_TAGS and in_data_table(el)
        if tag == "br":
            parts.append(" " if in_cell else "\n")
        elif cell:
            parts.append(" | ")
        elif tag in BLOCK_TAGS or tag in CELL_TAGS:
            parts.append(" " if in_cell else "\n")
        if el.text:
            parts.append(el.text)
        child_in_cell = in_cell or cell
        for child in el:
            walk(child, child_in_cell)
        if tag in BLOCK_TAGS and not in_cell:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(root, False)
    lines = []
    for raw in "".join(parts).split("\n"):
        line = normalize_space(raw)
        if line.startswith("|"):
            line = line[1:].strip()
        if line:
            lines.append(line)
    return lines


def element_text(el: etree._Element) -> str:
    """Visible text of an inline element, with whitespace between Chinese characters removed."""
    return squeeze_cjk(" ".join(render_lines(el)))


def link_cjk(el: etree._Element) -> int:
    return sum(cjk_count("".join(a.itertext())) for a in el.iter("a"))


def text_cjk(el: etree._Element) -> int:
    """CJK characters of the visible text of ``el`` outside links."""
    total = cjk_count(" ".join(render_lines(el)))
    return max(0, total - link_cjk(el))


def _inner_cjk(root: etree._Element) -> dict[etree._Element, int]:
    """CJK characters ``render_lines`` renders for each element of ``root``, its own tail left
    out (0 for skipped elements), all in one pass: children come before their parents in
    reversed document order. CJK characters are neither whitespace nor ``|``, so the count
    does not depend on how the lines are joined, broken or trimmed."""
    inner: dict[etree._Element, int] = {}
    for el in reversed(list(root.iter())):
        tag = tag_of(el)
        if tag is None or tag in SKIP_TAGS:
            inner[el] = 0
            continue
        total = cjk_count(el.text) if el.text else 0
        for child in el:
            total += inner[child]
            if child.tail:
                total += cjk_count(child.tail)
        inner[el] = total
    return inner


def find_content(tree: etree._Element) -> etree._Element | None:
    """The element holding the article body, found by its class/id, or None.

    Among elements whose class or id looks like a content block, take the one with the most
    text outside links, then descend into content-like children that keep 80% of it (so
    ``div.detail`` gives way to ``div.detail-content`` without the title and widgets).
    """
    candidates = []
    for el in tree.iter():
        if tag_of(el) in (None, "body", "html", "meta", "a", "span"):
            continue
        hint = f"{el.get('class', '')} {el.get('id', '')}"
        if hint.strip() and _CONTENT_CLASS.search(hint):
            candidates.append(el)
    if not candidates:
        return None
    # text_cjk of every candidate, its rendering counted once for the whole tree.
    inner = _inner_cjk(tree)
    scores = {
        el: max(0, inner[el] + (cjk_count(el.tail) if el.tail else 0) - link_cjk(el))
        for el in candidates
    }
    best = max(candidates, key=lambda el: scores[el])
    top = scores[best]
    if top == 0:
        return None
    while True:
        within = [el for el in candidates if el is not best and best in el.iterancestors()]
        good = [el for el in within if scores[el] >= 0.8 * top]
        if not good:
            return best
        best = max(good, key=lambda el: (scores[el], -len(list(el.iterancestors()))))
