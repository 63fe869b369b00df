"""Main text of an article page: trafilatura, checked against the page's content block.

trafilatura runs with options objects built once at import (precision, tables, no comments);
a second, recall-mode run happens only when the first one missed lines of the content block.
Two page shapes need help, handled before and after it:

* layout tables (Hanweb and older CMSes put the whole article in one ``<table>``): trafilatura
  would flatten the article into one table row, so such tables are turned into ``<div>``s first;
  信息公开目录 header tables (索引号 / 发布机构 / 发文日期 ...) are metadata and are dropped;
* precision mode sometimes drops short body lines (bulleted sub-headings). When a content block
  is found by its class/id, its lines are checked against the output; if some are missing the
  recall run is used instead, and if that still misses more than a fifth of the block, the block
  itself is rendered (documented fallback: one line per block, table rows as ``a | b | c``).

Finally page chrome that slipped through is dropped line by line: metadata lines (来源 / 发布时间
/ 点击量), share/print/font widgets, breadcrumbs, footer lines (主办, ICP备, 公网安备, Copyright).
Table rows come out one per line with cells joined by `` | `` (empty cells kept: they are not
zeros).
"""

from __future__ import annotations

import copy
import logging
import re

import trafilatura
from lxml import etree
from trafilatura.settings import Extractor

from govcrawl.extract import dom, patterns
from govcrawl.extract.metadata import is_metadata_line, is_widget_line

logger = logging.getLogger(__name__)

# Built once at import; trafilatura does not modify them, so calls can share them.
PRECISION_OPTIONS = Extractor(
    output_format="txt", precision=True, comments=False, tables=True, links=False, images=False
)
RECALL_OPTIONS = Extractor(
    output_format="txt", recall=True, comments=False, tables=True, links=False, images=False
)
# Share of the content block's characters that may be missing before the block is used itself.
FALLBACK_MISSING_SHARE = 0.2

# One alternation: a line is searched once, not once per pattern.
_BOILERPLATE = re.compile("|".join(f"(?:{p})" for p in patterns.BOILERPLATE_LINES), re.I)
_TABLE_RULE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*$")
_HEADER_TABLE_KEYS = ("索引号", "发布机构", "发文日期", "成文日期", "文号", "主题分类")
_NO_SPACE = re.compile(r"[\s\u3000\xa0|]+")
_TITLE_CLASS = re.compile(patterns.TITLE_CLASS)
_NON_ARTICLE = re.compile(patterns.NON_ARTICLE_CLASS)
_BULLET = re.compile(r"(?m)^[-*•·]+")
_SENTENCE_END = re.compile(r"[。！？；]\s*$|[。！？]")
_PARAGRAPH_LINES = 3  # lines of a cell with one sentence that make it a body of paragraphs


def _holds_paragraphs(table: etree._Element) -> bool:
    """A cell laid out as several paragraphs, sentences among them: a body in a layout table.

    Data cells hold a label or a number (Word wraps each in one ``<p>``); a cell with several
    blocks or ``<br>``-separated lines, some of them ending a sentence, is page layout, even
    when it is too short for ``dom.is_layout_table``. Read as a data table, its paragraphs
    would run into one line.
    """
    for cell in table.iter("td", "th"):
        lines = _cell_lines(cell)
        if len(lines) < 2:
            continue
        sentences = sum(1 for line in lines if _SENTENCE_END.search(line))
        if sentences >= 2 or (sentences and len(lines) >= _PARAGRAPH_LINES):
            return True
    return False


def _cell_lines(cell: etree._Element) -> list[str]:
    """The lines of a table cell as a browser breaks them (blocks and ``<br>``)."""
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = dom.tag_of(el)
        if tag is None or tag in dom.SKIP_TAGS:
            pass
        else:
            if tag == "br" or tag in dom.BLOCK_TAGS:
                parts.append("\n")
            parts.append(el.text or "")
            for child in el:
                walk(child)
            if tag in dom.BLOCK_TAGS:
                parts.append("\n")
        if el is not cell:
            parts.append(el.tail or "")

    walk(cell)
    return [line for line in (dom.normalize_space(x) for x in "".join(parts).split("\n")) if line]


def _unwrap_layout_tables(tree: etree._Element) -> None:
    for table in list(tree.iter("table")):
        if not (dom.is_layout_table(table) or _holds_paragraphs(table)):
            continue
        rows = table.xpath("./tr | ./tbody/tr | ./thead/tr | ./tfoot/tr")
        for el in [table, *table.xpath("./tbody | ./thead | ./tfoot"), *rows]:
            el.tag = "div"
        for row in rows:
            for cell in row.xpath("./td | ./th"):
                cell.tag = "div"


def _drop(el: etree._Element) -> None:
    """Remove ``el`` with its text, keeping the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _drop_header_tables(tree: etree._Element) -> None:
    for table in list(tree.iter("table")):
        if table.find(".//table") is not None or len(table.xpath(".//tr")) > 8:
            continue
        flat = _NO_SPACE.sub("", "".join(table.itertext()))
        if sum(key in flat for key in _HEADER_TABLE_KEYS) >= 2:
            _drop(table)


def _prepare(html: str) -> etree._Element:
    tree = dom.parse_html(html)
    for el in list(tree.iter("script", "style", "noscript")):
        _drop(el)
    _unwrap_layout_tables(tree)
    _drop_header_tables(tree)
    return tree


def _run(tree: etree._Element, options: Extractor) -> str:
    # trafilatura prunes the tree it is given, so it gets a copy.
    return trafilatura.extract(copy.deepcopy(tree), options=options) or ""


def _expected_lines(block: etree._Element) -> list[str]:
    """Prose lines of the content block (tables left out: trafilatura formats them its way)."""
    block = copy.deepcopy(block)
    # Tables and headings are left out: trafilatura formats tables its own way and drops titles.
    for el in list(block.iter("table", "h1", "h2", "h3", "h4", "h5", "h6")):
        _drop(el)
    # So are links and menus: a wrapper block may hold the site's navigation.
    for el in list(block.iter()):
        hint = f"{el.get('class', '')} {el.get('id', '')}".strip()
        chrome = bool(hint) and (_TITLE_CLASS.search(hint) or _NON_ARTICLE.search(hint))
        if (chrome or el.tag == "a") and el.getparent() is not None:
            _drop(el)
    return [
        line
        for line in dom.render_lines(block)
        if dom.cjk_count(line) >= 2 and not _is_boilerplate(line)
    ]


def _flat(text: str) -> str:
    return _BULLET.sub("", _NO_SPACE.sub("", text))


def _missing(expected: list[str], text: str) -> list[str]:
    flat = _flat(text)
    return [line for line in expected if _flat(line) not in flat]


def _headings(tree: etree._Element) -> str:
    found = []
    for el in tree.iter():
        tag = dom.tag_of(el)
        hint = f"{el.get('class', '')} {el.get('id', '')}".strip()
        if tag in ("h1", "h2", "h3") or (hint and _TITLE_CLASS.search(hint)):
            found.append(" ".join(dom.render_lines(el)))
    return "\n".join(found)


def _is_boilerplate(line: str) -> bool:
    if is_widget_line(line):
        return True
    if len(line) > patterns.BOILERPLATE_MAX_LEN:
        return False
    if is_metadata_line(line):
        return True
    return _BOILERPLATE.search(line) is not None


def _table_row(line: str) -> str:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return " | ".join(cell.strip() for cell in inner.split("|")).strip()


def _clean(text: str) -> str:
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        if _TABLE_RULE.match(line):
            continue
        if line.startswith("|"):
            line = _table_row(line)
            if not line.replace("|", "").strip():
                continue
        if _is_boilerplate(line):
            continue
        out.append(line)
    return "\n".join(out).strip()


def extract_text(html: str, url: str | None = None) -> str:
    """Clean main text of an article page ("" when nothing is found)."""
    tree = _prepare(html)
    text = _clean(_run(tree, PRECISION_OPTIONS))
    block = dom.find_content(tree)
    if block is None:
        return text
    expected = _expected_lines(block)
    missing = _missing(expected, text)
    if not missing:
        return text
    block_lines = dom.render_lines(block)
    # Recall mode may fall back to the whole page: take it only if everything it adds is in the
    # content block or a heading.
    allowed = _flat("\n".join(block_lines) + "\n" + _headings(tree))
    recall = _clean(_run(tree, RECALL_OPTIONS))
    flat_text = _flat(text)
    extra = [
        line
        for line in recall.splitlines()
        if _flat(line) and _flat(line) not in flat_text and _flat(line) not in allowed
    ]
    missing_recall = _missing(expected, recall)
    if not extra and len(missing_recall) < len(missing):
        logger.debug("%s: precision run missed %d lines, using recall", url, len(missing))
        text, missing = recall, missing_recall
    total = sum(len(line) for line in expected)
    if missing and sum(len(line) for line in missing) > FALLBACK_MISSING_SHARE * total:
        logger.debug("%s: trafilatura missed the content block, rendering it", url)
        text = _clean("\n".join(block_lines))
    return text
