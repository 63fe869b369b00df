"""Statistical tables of the annual reports (政府信息公开工作年度报告), as data.

``parse_tables(html_or_text)`` returns the ``tables`` object of DESIGN.md ("Parsed report
tables (v1)") for a 2021-template (国办公开办函〔2021〕30号) or 2019-template
(国办公开办函〔2019〕60号) report, or ``None`` when the page shows no standard tables.

One reader, on cells
--------------------
Every layout is first turned into one stream of cells (tokens): labels, values (numbers),
nulls (empty cells, ``/``, ``-``, ``—``, ``无``), spans (extra template cells covered by one
merged number), row breaks and section headings (二、主动公开…, 三、收到和处理…, 四、…复议…).
Each token carries the line (or grid row) it was printed on. The front ends:

- HTML ``<table>`` with data: the grid is normalised first (rowspan/colspan expanded), then each
  value cell is set against the header cell above it: a value whose span equals its header's
  span is one cell; a value spanning several headers is a merged number (which cell it counts is
  unknown: all of them stay null), unless the row has exactly as many value cells as headers
  (then they are read in order, with a warning). Section-3 value cells are put under the
  template's columns by their header text (自然人 ... 总计) when every header is known.
- HTML outside data tables (flattened pages, layout tables): every block (``<p>``, ``<div>``,
  ``<td>``) is a cell, and an empty one (``<p>&nbsp;</p>``, empty ``<td>``) is an empty cell.
- Text (plain input, extracted attachments): one cell per line, and an empty line is an empty
  cell unless the whole table zone is double-spaced (every line followed by an empty one: then
  empty lines carry no cells). Tab-separated lines (PDF/XLSX/DOCX extraction) and
  ``| a | b |`` lines are rows of cells; ``cell |`` lines and bare ``|`` are flattened cells;
  other lines split on whitespace (rows of numbers, as PDF text layers and flipbooks print them).
  Page numbers (``- 2 -``, ``第 2 页``) are dropped wherever they fall.

Text is NFKC-normalised first (full-width digits and punctuation read as half-width).

Placing runs of values
----------------------
A run of values belongs to the row whose label is printed on the same line (or grid row).
Otherwise (one cell per line, a row of numbers on a line of its own) it belongs to the label
just before it, or, for a row of numbers printed alone on a line of a text layer, possibly the
label just after it (PDF text layers print vertically centred labels after their numbers): all
runs of section 3 are placed together so that each template row gets at most one run and rows
keep the template's order; a run that could belong to either label is left null with a
warning. Labels are matched to the template's rows exactly (keywords of each row) or, failing
that, with tolerance (edit-distance similarity of the normalised text, or the first line of a
wrapped label), only where the template's row order puts that row; every inexact match is
named in ``warnings``. A 2021 report printing the 2019 template's single （六）其他处理 row gets
it as ``section3.other``, with a warning.

A row is filled only when its run has exactly the template's number of cells (surplus empty
cells at one end are dropped when the other end holds a number, or where merged cells left
padding); otherwise the row stays null and a warning says why: values are never shifted
between cells, and nothing missing becomes zero. Section 4 (15 cells in one row) is read as
the single run of 15 values after its heading.

Output: the DESIGN contract plus ``layout`` (``html_table``, ``flattened``, ``spaced`` or
``delimited``: where most values came from; ``none`` when no value was read) and ``warnings``.
``checks``: a check whose cells are all null is omitted (the page shows nothing to check);
otherwise ``ok`` is true or false as the page's own arithmetic holds or not, and null when some
of its cells are null (not evaluable; ``detail`` names them). Numbers are never repaired.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from govcrawl.extract import patterns

log = logging.getLogger(__name__)

__all__ = [
    "SECTION3_COLUMNS",
    "SECTION3_ROWS",
    "SECTION4_BLOCKS",
    "SECTION4_RESULTS",
    "TABLE_CELL_NAMES",
    "TABLE_CELL_NAMES_2019",
    "TABLE_CELL_NAMES_2021",
    "TABLES_SCHEMA_PATH",
    "compute_checks",
    "flatten_tables",
    "html_to_text",
    "parse_tables",
    "sanitize_text",
    "tables_schema",
]

#: JSON Schema (draft 2020-12) of the object ``parse_tables`` returns.
TABLES_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "tables.schema.json"

# --------------------------------------------------------------------------------------------
# The templates
# --------------------------------------------------------------------------------------------

SECTION3_COLUMNS: tuple[str, ...] = (
    "natural_person",
    "commercial",
    "research",
    "social_welfare",
    "legal_services",
    "other",
    "total",
)

SECTION3_ROWS: tuple[str, ...] = (
    "new",
    "carried_over",
    "disclosed",
    "partially_disclosed",
    "withheld_state_secret",
    "withheld_prohibited_by_law",
    "withheld_three_safeties_one_stability",
    "withheld_third_party",
    "withheld_internal_affairs",
    "withheld_process_information",
    "withheld_enforcement_files",
    "withheld_query_matters",
    "unavailable_not_held",
    "unavailable_needs_creation",
    "unavailable_unclear",
    "rejected_petition",
    "rejected_repeated",
    "rejected_publication",
    "rejected_excessive",
    "rejected_confirmation",
    "other_no_correction",
    "other_no_fee",
    "other",
    "total",
    "carried_forward",
)
# The 2019 template has a single (六)其他处理 row, mapped to "other".
_SECTION3_ROWS_2019 = tuple(
    r for r in SECTION3_ROWS if r not in ("other_no_correction", "other_no_fee")
)
# Rows of 三、本年度办理结果 that add up to (七)总计.
_RESULT_ROWS = SECTION3_ROWS[2:23]

SECTION4_BLOCKS: tuple[str, ...] = (
    "reconsideration",
    "litigation_direct",
    "litigation_after_reconsideration",
)
SECTION4_RESULTS: tuple[str, ...] = ("upheld", "corrected", "other", "pending", "total")

# Section 2: key -> sub-keys (a tuple) or None for a single cell. Order = column order.
_S2_2021: dict[str, tuple[str, ...] | None] = {
    "rules": ("issued", "repealed", "in_force"),  # 本年制发件数 / 本年废止件数 / 现行有效件数
    "normative_documents": ("issued", "repealed", "in_force"),
    "licensing": None,  # 本年处理决定数量
    "penalty": None,
    "enforcement": None,
    "fees_10k_yuan": None,  # 本年收费金额(单位:万元)
}
_S2_2019: dict[str, tuple[str, ...] | None] = {
    # 本年新制作数量 / 本年新公开数量 / 对外公开总数量
    "rules": ("new_made", "new_published", "total_published"),
    "normative_documents": ("new_made", "new_published", "total_published"),
    # 上一年项目数量 / 本年增/减 / 处理决定数量
    "licensing": ("previous_year_items", "change", "decisions"),
    "other_services": ("previous_year_items", "change", "decisions"),  # 其他对外管理服务事项
    "penalty": ("previous_year_items", "change", "decisions"),
    "enforcement": ("previous_year_items", "change", "decisions"),
    "fees": ("previous_year_items", "change"),  # 行政事业性收费
    "procurement": ("projects", "total_amount"),  # 政府集中采购: 采购项目数量 / 采购总金额
}
_S2_SPECS = {"2021": _S2_2021, "2019": _S2_2019}
# Cells that may hold a decimal (amounts); every other cell is a count.
_DECIMAL_CELLS = {"section2.fees_10k_yuan", "section2.procurement.total_amount"}


def _s2_names(spec: dict[str, tuple[str, ...] | None]) -> list[str]:
    names = []
    for key, subs in spec.items():
        if subs is None:
            names.append(f"section2.{key}")
        else:
            names.extend(f"section2.{key}.{sub}" for sub in subs)
    return names


_S3_NAMES = [f"section3.{row}.{col}" for row in SECTION3_ROWS for col in SECTION3_COLUMNS]
_S4_NAMES = [f"section4.{blk}.{res}" for blk in SECTION4_BLOCKS for res in SECTION4_RESULTS]

#: Flat cell names of a 2021-template tables object (section 2, 3, 4), in template order.
TABLE_CELL_NAMES_2021: tuple[str, ...] = tuple(_s2_names(_S2_2021) + _S3_NAMES + _S4_NAMES)
#: Flat cell names of a 2019-template tables object; section-3 rows the 2019 template lacks
#: (other_no_correction, other_no_fee) are kept so both templates share sections 3 and 4.
TABLE_CELL_NAMES_2019: tuple[str, ...] = tuple(_s2_names(_S2_2019) + _S3_NAMES + _S4_NAMES)
#: Every flat cell name either template can fill: the CSV columns of ``flatten_tables``.
#: ``section2.*`` names differ by template (2021 ``section2.rules.issued``, 2019
#: ``section2.rules.new_made``); ``section3.<row>.<column>`` and ``section4.<block>.<result>``
#: are shared.
TABLE_CELL_NAMES: tuple[str, ...] = tuple(
    _s2_names(_S2_2021) + _s2_names(_S2_2019) + _S3_NAMES + _S4_NAMES
)

# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------

_CN_NUM = "一二三四五六七八九十"
# Numbering in front of a label: "1." "(三)" "三、" "①" (NFKC turns ① into 1).
_NUMBERING_RE = re.compile(rf"^(?:\(?\d+\)?[.、)]?|\([{_CN_NUM}]+\)|[{_CN_NUM}]+[、.])")

_S2_LABELS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
_S2_COMMON = [
    ("rules", r"规章(?:\(.*\))?"),
    ("normative_documents", r"(?:行政)?规范性文件"),
    ("licensing", r"行政许可"),
    ("penalty", r"行政处罚"),
    ("enforcement", r"行政强制"),
]
_S2_LABELS["2021"] = [(k, re.compile(p)) for k, p in _S2_COMMON] + [
    ("fees_10k_yuan", re.compile(r"行政事业性收费")),
]
_S2_LABELS["2019"] = [(k, re.compile(p)) for k, p in _S2_COMMON] + [
    ("fees", re.compile(r"行政事业性收费")),
    ("other_services", re.compile(r"其他对外管理服务事项")),
    ("procurement", re.compile(r"政府集中采购")),
]

# The rows' keywords, searched anywhere in the joined label text; the match ending last wins
# (nested labels put the row's own label last).
_S3_SEARCH: list[tuple[str, re.Pattern[str]]] = [
    (row, re.compile(pat))
    for row, pat in (
        ("new", r"本年新收"),
        ("carried_over", r"上年结转"),
        ("disclosed", r"予以公开"),
        ("partially_disclosed", r"部分公开"),
        ("withheld_state_secret", r"国家秘密"),
        ("withheld_prohibited_by_law", r"禁止公开"),
        ("withheld_three_safeties_one_stability", r"三安全一稳定"),
        ("withheld_third_party", r"第三方合法权益"),
        ("withheld_internal_affairs", r"内部事务"),
        ("withheld_process_information", r"过程性信息"),
        ("withheld_enforcement_files", r"执法案卷"),
        ("withheld_query_matters", r"查询事项"),
        ("unavailable_not_held", r"不掌握"),
        ("unavailable_needs_creation", r"另行制作"),
        ("unavailable_unclear", r"仍不明确"),
        ("rejected_petition", r"信访举报投诉"),
        ("rejected_repeated", r"重复申请"),
        ("rejected_publication", r"公开出版物"),
        ("rejected_excessive", r"大量反复"),
        ("rejected_confirmation", r"重新出具"),
        ("other_no_correction", r"逾期不补正"),
        ("other_no_fee", r"缴纳费用|收费通知"),
        ("carried_forward", r"结转下年"),
    )
]
# The template's own row labels (numbering left out), for matching with tolerance.
_S3_CANONICAL: dict[str, str] = {
    "new": "本年新收政府信息公开申请数量",
    "carried_over": "上年结转政府信息公开申请数量",
    "disclosed": "予以公开",
    "partially_disclosed": "部分公开(区分处理的,只计这一情形,不计其他情形)",
    "withheld_state_secret": "属于国家秘密",
    "withheld_prohibited_by_law": "其他法律行政法规禁止公开",
    "withheld_three_safeties_one_stability": "危及“三安全一稳定”",
    "withheld_third_party": "保护第三方合法权益",
    "withheld_internal_affairs": "属于三类内部事务信息",
    "withheld_process_information": "属于四类过程性信息",
    "withheld_enforcement_files": "属于行政执法案卷",
    "withheld_query_matters": "属于行政查询事项",
    "unavailable_not_held": "本机关不掌握相关政府信息",
    "unavailable_needs_creation": "没有现成信息需要另行制作",
    "unavailable_unclear": "补正后申请内容仍不明确",
    "rejected_petition": "信访举报投诉类申请",
    "rejected_repeated": "重复申请",
    "rejected_publication": "要求提供公开出版物",
    "rejected_excessive": "无正当理由大量反复申请",
    "rejected_confirmation": "要求行政机关确认或重新出具已获取信息",
    "other_no_correction": "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_no_fee": "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "carried_forward": "结转下年度继续办理",
}
# Labels of section 3 that never name a row (groups, column headers): a label closer to one of
# these than to a row is not matched with tolerance.
_S3_NOT_ROWS = (
    "本年度办理结果",
    "不予公开",
    "无法提供",
    "不予处理",
    "其他处理",
    "申请人情况",
    "自然人",
    "法人或其他组织",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "总计",
)
#: Section-3 column headers as the templates print them, in column order.
_S3_COLUMN_LABELS = (
    "自然人",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "其他",
    "总计",
)
# Similarity (difflib ratio of normalised labels) from which a label is taken for a template
# row; the first line of a wrapped label counts when it is this long and starts one label only.
_FUZZY_MIN = 0.8
_PREFIX_MIN = 5
_FUZZY_MIN_LEN = 4
# Whole-token labels that depend on context (the bare words also appear as column headers).
_OTHER_RE = re.compile(r"其他")  # 3.其他, under (六)其他处理
_OTHER_GROUP_RE = re.compile(r"其他处理")  # the 2019 template's single row; a group in 2021
_OTHER_SUBROWS_RE = re.compile(r"逾期不补正|收费通知|缴纳费用")
_TOTAL_RE = re.compile(r"(?:\(七\)|七[、.])?(?:总计|合计)")
_TOTAL_NUMBERED_RE = re.compile(r"(?:\(七\)|七[、.])(?:总计|合计)")

# Section headings, matched on a whole line with whitespace removed.
_HEADINGS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"^[一][、.,]?(?:总体情况|概述)")),
    (2, re.compile(r"^二[、.,]?.{0,8}主动公开")),
    (3, re.compile(r"^三[、.,]?.{0,6}(?:收到和处理|收到及处理|依申请公开)")),
    (4, re.compile(r"^四[、.,]?.{0,20}(?:行政复议|行政诉讼)")),
    (5, re.compile(r"^五[、.,]?.{0,12}(?:问题|改进|不足)")),
    (6, re.compile(r"^六[、.,]?.{0,6}其他")),
]
_HEADING_MAX = 40

_TEMPLATE_MARKERS = {
    "2021": (
        "本年制发件数",
        "本年废止件数",
        "现行有效件数",
        "本年处理决定数量",
        "本年收费金额",
        "逾期不补正",
        "收费通知",
    ),
    "2019": (
        "本年新制作数量",
        "本年新公开数量",
        "对外公开总数量",
        "上一年项目数量",
        "本年增/减",
        "其他对外管理服务事项",
        "政府集中采购",
        "采购总金额",
    ),
}
_TEMPLATE_DOCS = {"2021": "〔2021〕30号", "2019": "〔2019〕60号"}
_YEAR_RE = re.compile(r"(20\d\d)年?度?(?:政府)?信息公开(?:工作)?年度?报告")

# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------

_NUM_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_UNIT_RE = re.compile(r"(?:万元|元|件|条|个|项|次|人次)$")
_NULL_RE = re.compile(r"[/\\\-—–―−_~]*|无|空")
_PAGE_NUMBER_RE = re.compile(patterns.PAGE_NUMBER)
_PROSE_END = ("。", ",", ";", ":", "!", "?")
_PROSE_LEN = 60

LABEL, VALUE, NULL, BLANK, SPAN, BREAK, HEAD = (
    "label",
    "value",
    "null",
    "blank",
    "span",
    "break",
    "head",
)


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str = ""
    value: int | float | None = None
    section: int = 0
    origin: str = ""  # layout the token came from: html_table|flattened|spaced|delimited
    carried: bool = False  # a row-spanning label repeated in a later grid row (context only)
    line: int = -1  # tokens printed on one line (or grid row) share it
    header: str = ""  # grid value cells: the text of the header cell above
    blank: bool = False  # an empty cell of a flattened layout (a NULL that was a BLANK)
    note: str = ""  # why a grid value was read in order although its span differs


class _Lines:
    """Line ids, shared by every front end of one parse."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


_WS_RE = re.compile(r"\s+")


@lru_cache(maxsize=8192)
def _key(s: str) -> str:
    """A label without whitespace (labels are often spaced out: 自 然 人)."""
    return _WS_RE.sub("", s)


def _parse_number(text: str) -> int | float | None:
    t = _UNIT_RE.sub("", text.strip()).strip()
    if not t or not _NUM_RE.fullmatch(t):
        return None
    t = t.replace(",", "")
    if "." in t:
        return float(t)
    return int(t)


def _cell_token(text: str, origin: str, line: int) -> _Tok:
    t = " ".join(text.split())
    if _NULL_RE.fullmatch(t):
        return _Tok(NULL, t, origin=origin, line=line)
    num = _parse_number(t)
    if num is not None:
        return _Tok(VALUE, t, num, origin=origin, line=line)
    sec = _heading(t)
    if sec:
        return _Tok(HEAD, t, section=sec, origin=origin, line=line)
    return _Tok(LABEL, t, origin=origin, line=line)


def _heading(line: str) -> int:
    k = _key(line).lstrip("•·●◆■□*#")
    if not k or len(k) > _HEADING_MAX:
        return 0
    for sec, rx in _HEADINGS:
        if rx.match(k):
            return sec
    return 0


def _is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER_RE.fullmatch(line.strip()))


# --------------------------------------------------------------------------------------------
# Tokenising text
# --------------------------------------------------------------------------------------------

_PIPES_ONLY_RE = re.compile(r"\|+")
_MD_RULE_RE = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")


def _line_tokens(line: str, lines: _Lines, blank_lines: bool = True) -> Iterator[_Tok]:
    # Keep tabs at either end: they delimit empty cells of a delimited row.
    line = line.strip(" \r\n\x0b\x0c")
    if not line.strip():
        if blank_lines:  # one cell per line: an empty line is an empty cell
            yield _Tok(BLANK, origin="flattened", line=lines.next())
        return
    if _is_page_number(line):
        return
    n = lines.next()
    sec = _heading(line)
    if sec:
        yield _Tok(HEAD, line, section=sec, line=n)
        return
    if "\t" in line:  # a row of cells (PDF/XLSX/DOCX extraction); empty fields are empty cells
        for cell in line.split("\t"):
            yield _cell_token(cell, "delimited", n)
        yield _Tok(BREAK)
        return
    if "|" in line:
        compact = re.sub(r"\s+", "", line)
        if _PIPES_ONLY_RE.fullmatch(compact):  # each bare "|" closes an empty cell
            for _ in range(compact.count("|")):
                yield _Tok(NULL, "", origin="flattened", line=n)
            return
        if _MD_RULE_RE.fullmatch(line):
            return
        if line.startswith("|"):  # | a | b | c |  (markdown-style row)
            cells = line.strip("|").split("|")
            for cell in cells:
                yield _cell_token(cell, "delimited", n)
            yield _Tok(BREAK)
            return
        cells = line.split("|")  # "cell |" lines: each "|" closes a cell
        if cells and not cells[-1].strip():
            cells = cells[:-1]
        for cell in cells:
            yield _cell_token(cell, "flattened", n)
        return
    parts = line.split()
    origin = "flattened" if len(parts) == 1 else "spaced"
    for part in parts:
        yield _cell_token(part, origin, n)


def _text_tokens(text: str, lines: _Lines, blank_lines: bool = True) -> Iterator[_Tok]:
    for line in text.splitlines():
        yield from _line_tokens(line, lines, blank_lines)


def _settle_blanks(tokens: list[_Tok]) -> list[_Tok]:
    """Empty lines and empty blocks become empty cells, unless the table zone is double-spaced.

    The zone runs from the first section heading 二/三/四 to a heading 五/六. Double-spaced means
    almost every non-empty line is followed by exactly one empty line (many saved pages and
    text extractions write paragraphs that way): then an empty line says nothing about cells.
    """
    start = next((i for i, t in enumerate(tokens) if t.kind == HEAD and 2 <= t.section <= 4), 0)
    end = next(
        (i for i, t in enumerate(tokens[start:], start) if t.kind == HEAD and t.section >= 5),
        len(tokens),
    )
    zone: list[_Tok] = []
    for t in tokens[start:end]:  # one entry per line: the cells of a line count once
        if t.kind != BREAK and t.origin != "html_table" and (not zone or zone[-1].line != t.line):
            zone.append(t)
    cells = followed = 0
    blank_runs = long_runs = 0
    prev: _Tok | None = None
    run = 0
    for t in zone:
        if t.kind == BLANK:
            run += 1
            if prev is not None and prev.kind != BLANK:
                followed += 1
        else:
            if run:
                blank_runs += 1
                long_runs += run > 1
            run = 0
            cells += 1
        prev = t
    double_spaced = (
        cells >= 10 and followed >= 0.8 * cells and long_runs <= max(1, 0.05 * blank_runs)
    )
    out = []
    for t in tokens:
        if t.kind != BLANK:
            out.append(t)
        elif not double_spaced:
            out.append(_Tok(NULL, "", origin=t.origin, line=t.line, blank=True))
    return out


# --------------------------------------------------------------------------------------------
# Tokenising HTML
# --------------------------------------------------------------------------------------------

_HTML_RE = re.compile(
    r"<\s*(?:!doctype|html|head|body|table|tbody|tr|td|th|p|div|br|span|font|section|article)\b",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    "p div li ul ol h1 h2 h3 h4 h5 h6 tr td th table tbody thead tfoot section article header "
    "footer blockquote pre dl dt dd center form hr caption figure figcaption nav aside main".split()
)
# Blocks that hold one cell of a flattened table: empty, they are an empty cell.
_CELL_BLOCKS = frozenset("p div li td th dd dt center h1 h2 h3 h4 h5 h6".split())
_SKIP_TAGS = frozenset("script style noscript template head title select option button".split())
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_VISIBLE_RE = re.compile(r"[^\s\u3000\xa0\u200b\ufeff]")
_LAYOUT_CELL_CHARS = 200
_MAX_SPAN = 200


def looks_like_html(s: str) -> bool:
    return bool(_HTML_RE.search(s))


def _html_root(html: str) -> Any | None:
    import lxml.html  # lazily: plain-text callers never need it
    from lxml import etree

    # lxml refuses str input that declares an encoding (XHTML pages): drop the declaration.
    html = _XML_DECL_RE.sub("", html, count=1)
    try:
        return lxml.html.document_fromstring(html)
    except (etree.LxmlError, ValueError):
        return None


def _rows_of(table: Any) -> list[Any]:
    return table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")


def _cells_of(tr: Any) -> list[Any]:
    return tr.xpath("./td|./th")


def _cell_text(cell: Any) -> str:
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP_TAGS:
            pass
        else:
            if tag == "br":
                parts.append(" ")
            if el.text and tag:
                parts.append(el.text)
            for ch in el:
                walk(ch)
        if el.tail and el is not cell:
            parts.append(el.tail)

    walk(cell)
    return " ".join("".join(parts).split())


def _is_data_table(table: Any) -> bool:
    if table.xpath(".//table"):
        return False
    rows = _rows_of(table)
    if not rows:
        return False
    for tr in rows:
        for cell in _cells_of(tr):
            if len(cell.text_content()) > _LAYOUT_CELL_CHARS:
                return False
    return True


def _span(cell: Any, attr: str) -> int:
    m = re.match(r"\s*(\d+)", cell.get(attr) or "")
    return max(1, min(int(m.group(1)), _MAX_SPAN)) if m else 1


@dataclass(slots=True, eq=False)
class _GridCell:
    tok: _Tok
    r: int
    c: int
    rs: int
    cs: int


def _is_label_cell(g: _GridCell | None) -> bool:
    return g is not None and g.tok.kind in (LABEL, HEAD)


def _header_above(
    grid: dict[tuple[int, int], _GridCell], r: int, c0: int, c1: int
) -> list[_GridCell] | None:
    """The header cells over columns ``c0..c1`` of row ``r``: the nearest row above whose
    cells there are all labels (data rows in between are skipped), left to right; None when
    no row above has labels over all of these columns."""
    for rr in range(r - 1, -1, -1):
        # Most rows above are data rows: stop at their first cell that is not a label.
        if not all(_is_label_cell(grid.get((rr, c))) for c in range(c0, c1 + 1)):
            continue
        distinct: list[_GridCell] = []
        for c in range(c0, c1 + 1):
            g = grid[(rr, c)]
            if not distinct or distinct[-1] is not g:
                distinct.append(g)
        return distinct
    return None


def _table_tokens(table: Any, lines: _Lines) -> list[_Tok]:
    """Normalise the table into a grid, then emit its rows as tokens (one per logical cell)."""
    rows = _rows_of(table)
    grid: dict[tuple[int, int], _GridCell] = {}
    width = 0
    for r, tr in enumerate(rows):
        c = 0
        for cell in _cells_of(tr):
            while (r, c) in grid:
                c += 1
            tok = _cell_token(_cell_text(cell), "html_table", 0)
            rs = min(_span(cell, "rowspan"), len(rows) - r)
            cs = _span(cell, "colspan")
            g = _GridCell(tok, r, c, rs, cs)
            for dr in range(rs):
                for dc in range(cs):
                    grid.setdefault((r + dr, c + dc), g)
            c += cs
            width = max(width, c)
    out: list[_Tok] = []
    for r in range(len(rows)):
        line = lines.next()
        row: list[tuple[_GridCell, bool]] = []  # (cell, starts in this row)
        for c in range(width):
            cell = grid.get((r, c))
            if cell is not None and (not row or row[-1][0] is not cell):
                row.append((cell, cell.r == r))
        out.extend(_grid_row_tokens(grid, r, row, line))
        out.append(_Tok(BREAK))
    return out


def _grid_row_tokens(
    grid: dict[tuple[int, int], _GridCell],
    r: int,
    row: list[tuple[_GridCell, bool]],
    line: int,
) -> list[_Tok]:
    out: list[_Tok] = []
    values = [g for g, own in row if own and g.tok.kind in (VALUE, NULL)]
    aligned: dict[int, str] = {}  # id(cell) -> header text, for values under one header
    misaligned: list[_GridCell] = []
    for g in values:
        hdr = _header_above(grid, r, g.c, g.c + g.cs - 1)
        if hdr and len(hdr) == 1 and hdr[0].c == g.c and hdr[0].cs == g.cs:
            aligned[id(g)] = _key(hdr[0].tok.text)
        elif g.cs == 1:
            aligned[id(g)] = ""  # one grid column: one cell whatever its header
        else:
            misaligned.append(g)
    in_order = ""
    if misaligned:
        # Read in order only when the row has exactly as many value cells as there are headers
        # over them (a reader sees one value under each header).
        hdr = _header_above(grid, r, values[0].c, values[-1].c + values[-1].cs - 1)
        if hdr and len(hdr) == len(values):
            in_order = "/".join(_key(h.tok.text) for h in hdr)
    for g, own in row:
        tok = g.tok
        if not own:  # covered by a cell of a row above
            if tok.kind == LABEL:  # a row-spanning label: context for its rows
                out.append(_Tok(LABEL, tok.text, origin="html_table", carried=True, line=line))
            elif tok.kind == NULL:
                out.extend(
                    _Tok(NULL, tok.text, origin="html_table", line=line) for _ in range(g.cs)
                )
            elif tok.kind == VALUE:  # merged over rows: which row it counts is unknown
                out.extend(
                    _Tok(SPAN, tok.text, tok.value, origin="html_table", line=line)
                    for _ in range(g.cs)
                )
            continue
        if tok.kind in (LABEL, HEAD):
            out.append(
                _Tok(tok.kind, tok.text, section=tok.section, origin="html_table", line=line)
            )
            continue
        if id(g) in aligned or in_order:
            note = f"read in order under {in_order}" if in_order and id(g) not in aligned else ""
            out.append(
                _Tok(
                    tok.kind,
                    tok.text,
                    tok.value,
                    origin="html_table",
                    line=line,
                    header=aligned.get(id(g), ""),
                    note=note,
                )
            )
            continue
        # One number merged over several template cells: which one it counts is unknown.
        out.append(_Tok(tok.kind, tok.text, tok.value, origin="html_table", line=line))
        filler = SPAN if tok.kind == VALUE else NULL
        out.extend(
            _Tok(filler, tok.text, tok.value, origin="html_table", line=line)
            for _ in range(g.cs - 1)
        )
    return out


def _is_empty_block(el: Any) -> bool:
    # Searching for one visible character stops at the first (a sub would copy the text);
    # most blocks show one in their own text, before any child's.
    if (el.text and _VISIBLE_RE.search(el.text)) or _VISIBLE_RE.search(el.text_content()):
        return False
    return not any(
        isinstance(d.tag, str) and d.tag.lower() in _BLOCK_TAGS for d in el.iterdescendants()
    )


def _html_tokens(html: str, lines: _Lines) -> list[_Tok]:
    root = _html_root(html)
    if root is None:
        return []
    tokens: list[_Tok] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            tokens.extend(_text_tokens("".join(buf), lines, blank_lines=False))
            buf.clear()

    def walk(el: Any) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if not tag or tag in _SKIP_TAGS:
            pass  # comments, processing instructions, scripts: only their tail is text
        elif tag == "table" and _is_data_table(el):
            flush()
            tokens.extend(_table_tokens(el, lines))
        elif tag in _CELL_BLOCKS and _is_empty_block(el):
            flush()  # <p>&nbsp;</p>, an empty <td>: an empty cell of a flattened table
            tokens.append(_Tok(BLANK, origin="flattened", line=lines.next()))
        else:
            block = tag in _BLOCK_TAGS
            if block or tag == "br":
                buf.append("\n")
            if el.text:
                buf.append(el.text)
            for ch in el:
                walk(ch)
            if block:
                buf.append("\n")
        if el.tail:
            buf.append(el.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    return tokens


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line (used for ``text_chars``)."""
    root = _html_root(sanitize_text(html))
    if root is None:
        return ""
    for el in root.xpath("//script|//style|//noscript|//template"):
        el.drop_tree()
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def sanitize_text(s: str) -> str:
    """``s`` without lone surrogates and control characters (lxml refuses them; they are
    never page content)."""
    s = s.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", s)


# --------------------------------------------------------------------------------------------
# Reading the token stream
# --------------------------------------------------------------------------------------------


def _detect_template(tokens: list[_Tok]) -> str:
    text = _key("".join(t.text for t in tokens if t.kind in (LABEL, HEAD)))
    score = {t: sum(m in text for m in marks) for t, marks in _TEMPLATE_MARKERS.items()}
    if score["2021"] != score["2019"]:
        return "2021" if score["2021"] > score["2019"] else "2019"
    doc = {t: ref in text for t, ref in _TEMPLATE_DOCS.items()}
    if doc["2021"] != doc["2019"]:
        return "2021" if doc["2021"] else "2019"
    m = _YEAR_RE.search(text)
    if m and int(m.group(1)) in (2019, 2020):
        return "2019"
    return "2021"


def _strip_numbering(k: str) -> str:
    return _NUMBERING_RE.sub("", k, count=1)


def _is_prose(text: str) -> bool:
    k = _key(text)
    return len(k) > _PROSE_LEN or "。" in k or k.endswith(_PROSE_END)


@lru_cache(maxsize=4096)
def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


_ROW_INDEX = {row: i for i, row in enumerate(SECTION3_ROWS)}


@dataclass
class _Entry:
    """A run of values and the labels printed since the run before it."""

    section: int
    labels: list[_Tok]
    run: list[_Tok]
    group: str = ""  # section-3 group (under (六)其他处理: "other_processing") at the run
    rowwise: bool = False  # the page prints rows of numbers on lines (a single number too)
    row: str | None = None  # the row named by the labels before the run
    row_how: str = ""  # "" exact, else why the match is inexact
    used: list[_Tok] = field(default_factory=list)  # the labels that named ``row``
    next_row: str | None = None  # the row named by the labels after the run
    next_how: str = ""
    after: list[_Tok] = field(default_factory=list)  # labels after the section's last run

    @property
    def anchored(self) -> bool:
        """The run is printed on the line (or grid row) of the label that names its row."""
        line = self.run[0].line
        return (
            bool(self.labels)
            and self.labels[-1].line == line
            and any(t.line == line for t in self.used)
        )

    @property
    def one_line(self) -> bool:
        """A row of numbers printed on a line without its row's label (PDF text layers print
        vertically centred labels after their numbers)."""
        line = self.run[0].line
        if self.anchored or not all(t.line == line for t in self.run):
            return False
        if len(self.run) >= 2:
            return self.run[0].origin in ("spaced", "delimited")
        return self.rowwise


_AFTER = "after"  # a run placed under the label printed after it


def _after_note(what: str, rows: list[str]) -> str:
    return (
        f"{what}: numbers printed before their row's label (a PDF text layer), read by the "
        f"template's row order: {', '.join(rows)}"
    )


def _labels(entry: _Entry | None) -> list[_Tok]:
    return [] if entry is None else [t for t in entry.labels if not _is_prose(t.text)]


def _after(entries: list[_Entry], i: int) -> list[_Tok]:
    """The labels printed after run ``i``, up to the next run (or the section's end)."""
    if i + 1 < len(entries):
        return _labels(entries[i + 1])
    return [t for t in entries[i].after if not _is_prose(t.text)]


def _solve(
    entries: list[_Entry],
    index: dict[str, int],
    fits: Any,
    what: str,
    warnings: list[str],
) -> list[tuple[_Entry, str, str]]:
    """Runs to rows: a run on its row's line keeps it; any other run takes the row named
    before it or (a row of numbers on a line of its own) after it, such that rows keep the
    template's order and no row gets two runs. A run whose row differs between the readings
    that satisfy this stays null (with a warning); when no reading does, only runs with a
    single possible row are placed."""
    fixed = {i: e.row for i, e in enumerate(entries) if e.anchored and e.row}
    claimed = set(fixed.values())
    options: dict[int, list[tuple[str, str]]] = {}
    for i, e in enumerate(entries):
        if i in fixed:
            continue
        opts: list[tuple[str, str]] = []
        if e.row and e.row not in claimed and fits(e, e.row):
            opts.append((e.row, e.row_how))
        if e.one_line and e.next_row and e.next_row not in claimed and fits(e, e.next_row):
            if e.next_row not in [r for r, _ in opts]:
                opts.append((e.next_row, e.next_how or _AFTER))
        options[i] = opts
        if not opts and e.row is None and sum(t.kind == VALUE for t in e.run) >= 5:
            names = " ".join(t.text for t in e.labels)[-40:]
            warnings.append(f"{what}: unrecognised row {names!r}; skipped")

    free = [i for i in sorted(options) if options[i]]
    bounds = {}
    for i in free:
        lo = max((index[r] for j, r in fixed.items() if j < i), default=-1)
        hi = min((index[r] for j, r in fixed.items() if j > i), default=len(index))
        bounds[i] = (lo, hi)
    # Rows each run can take in some reading where every run takes a row and rows increase
    # (forward: reachable after the runs before it; backward: completable by the runs after),
    # separately between runs that keep their row (each stretch is read on its own).
    by_index = {v: k for k, v in index.items()}
    placed: dict[int, tuple[str, str]] = {i: (r, entries[i].row_how) for i, r in fixed.items()}
    stretches: list[list[int]] = []
    for i in free:
        if stretches and not any(stretches[-1][-1] < j < i for j in fixed):
            stretches[-1].append(i)
        else:
            stretches.append([i])
    for stretch in stretches:
        valid = {
            i: [index[r] for r, _ in options[i] if bounds[i][0] < index[r] < bounds[i][1]]
            for i in stretch
        }
        forward: dict[int, set[int]] = {}
        last = {-1}
        for i in stretch:
            forward[i] = {x for x in valid[i] if any(y < x for y in last)}
            last = forward[i]
        backward: dict[int, set[int]] = {}
        later: set[int] | None = None
        for i in reversed(stretch):
            backward[i] = {x for x in valid[i] if later is None or any(y > x for y in later)}
            later = backward[i]
        possible = {i: forward[i] & backward[i] for i in stretch}
        feasible = all(possible[i] for i in stretch)
        # Without a consistent reading, a row that two runs could take is neither's.
        wanted = Counter(r for i in stretch for r, _ in options[i])
        for i in stretch:
            rows = {by_index[x] for x in possible[i]} if feasible else {r for r, _ in options[i]}
            if not feasible and len(rows) == 1 and wanted[next(iter(rows))] > 1:
                row = next(iter(rows))
                note = f"{what}.{row}: several rows of numbers could be this row's; left null"
                if note not in warnings:
                    warnings.append(note)
                continue
            if len(rows) == 1:
                (row,) = rows
                placed[i] = (row, dict(options[i])[row])
            elif rows:
                names = " or ".join(f"{what}.{r}" for r in sorted(rows, key=index.__getitem__))
                warnings.append(
                    f"{names}: a row of numbers printed between their labels could be "
                    "either's; left null"
                )
    return [(entries[i], row, how) for i, (row, how) in sorted(placed.items())]


@dataclass
class _Section3:
    """Which run goes to which section-3 row (see the module docstring)."""

    template: str
    entries: list[_Entry]
    fits: Any
    warnings: list[str] = field(default_factory=list)

    def resolve(self) -> list[tuple[_Entry, str, str]]:
        """(entry, row, how) for every run that could be placed."""
        has_subrows = any(
            _OTHER_SUBROWS_RE.search(_key(t.text)) for e in self.entries for t in e.labels
        )
        self._match_exact(has_subrows)
        self._match_tolerant()
        return _solve(self.entries, _ROW_INDEX, self.fits, "section3", self.warnings)

    # -- labels ---------------------------------------------------------------------------

    def _special(
        self, edge: _Tok, group: str, prev: str | None, has_subrows: bool
    ) -> tuple[str, str] | None:
        """Labels whose row depends on context: 其他, （六）其他处理, 总计."""
        bare = _strip_numbering(_key(edge.text))
        if not bare:
            return None
        if _OTHER_RE.fullmatch(bare) and (
            group == "other_processing" or prev in ("other_no_correction", "other_no_fee")
        ):
            return "other", ""
        if _OTHER_GROUP_RE.fullmatch(bare):
            if self.template == "2019":
                return "other", ""
            if not has_subrows:  # the older single row, printed in a 2021 report
                return "other", "older_row"
            return None  # a group label straight before values: its first sub-row was lost
        if _TOTAL_RE.fullmatch(_key(edge.text)) and (
            _TOTAL_NUMBERED_RE.fullmatch(_key(edge.text))
            or (prev is not None and prev in _RESULT_ROWS)
        ):
            return "total", ""
        return None

    @staticmethod
    def _search(toks: list[_Tok], last: bool) -> tuple[str, list[_Tok]] | None:
        """The row whose keyword occurs in the labels joined (the match ending last for
        labels before a run, starting first for labels after it), with the labels it spans.

        Over several labels, a keyword found only in the others does not count when the label
        next to the run is numbered (``2.…``): that label names a row of its own.
        """
        keys = [_key(t.text) for t in toks]
        joined = "".join(keys)
        starts = [sum(len(k) for k in keys[:i]) for i in range(len(keys))]
        edge = keys[-1] if last else keys[0]
        own_row = (
            len(toks) > 1
            and bool(_NUMBERING_RE.match(edge))
            and _strip_numbering(edge) not in _S3_NOT_ROWS
        )
        best: tuple[int, str, int, int] | None = None
        for row, rx in _S3_SEARCH:
            for m in rx.finditer(joined):
                if own_row and (
                    m.end() <= len(joined) - len(edge) if last else m.start() >= len(edge)
                ):
                    continue
                pos = m.end() if last else -m.start()
                if best is None or pos > best[0]:
                    best = (pos, row, m.start(), m.end())
        if best is None:
            return None
        _, row, a, b = best
        used = [t for t, s, k in zip(toks, starts, keys, strict=True) if s < b and s + len(k) > a]
        return row, used

    def _match_exact(self, has_subrows: bool) -> None:
        """Rows named exactly by the label next to each run (the label itself, no joining)."""
        prev: str | None = None
        for i, e in enumerate(self.entries):
            labs = _labels(e)
            if labs:
                found = self._special(labs[-1], e.group, prev, has_subrows)
                if found:
                    e.row, e.row_how, e.used = found[0], found[1], labs[-1:]
                elif hit := self._search(labs[-1:], last=True):
                    e.row, e.used = hit
                if e.row:
                    prev = e.row
            nxt = self.entries[i + 1] if i + 1 < len(self.entries) else e
            if e.one_line and (after := _after(self.entries, i)):
                found = self._special(after[0], nxt.group, e.row or prev, has_subrows)
                if found is None and (hit := self._search(after[:1], last=False)):
                    found = (hit[0], "")
                if found:
                    e.next_row, e.next_how = found

    def _window(self, i: int) -> tuple[int, int]:
        """Template rows an unmatched run may take: after the rows matched before it, before
        the rows matched after it."""
        lo = max(
            (_ROW_INDEX[e.row] for e in self.entries[:i] if e.row and not e.row_how), default=-1
        )
        hi = min(
            (_ROW_INDEX[e.row] for e in self.entries[i + 1 :] if e.row and not e.row_how),
            default=len(SECTION3_ROWS),
        )
        return lo, hi

    def _tolerant(self, toks: list[_Tok], lo: int, hi: int) -> tuple[str, str] | None:
        """The row whose template label the labels joined are close to (see ``_FUZZY_MIN``
        and ``_PREFIX_MIN``), among the rows the template's order leaves between ``lo`` and
        ``hi``; with why the match is inexact."""
        allowed = [r for r in _S3_CANONICAL if lo < _ROW_INDEX[r] < hi]
        if self.template == "2019":
            allowed = [r for r in allowed if r not in ("other_no_correction", "other_no_fee")]
        printed = "".join(t.text for t in toks)
        probe = _strip_numbering(_key(printed))
        if not allowed or len(probe) < _FUZZY_MIN_LEN:
            return None
        scores = sorted(((_similarity(probe, _S3_CANONICAL[r]), r) for r in allowed), reverse=True)
        best, row = scores[0]
        runner_up = scores[1][0] if len(scores) > 1 else 0.0
        not_row = max(_similarity(probe, x) for x in _S3_NOT_ROWS)
        if best >= _FUZZY_MIN and best > runner_up and best > not_row:
            return row, f"label {printed!r} is not the template's {_S3_CANONICAL[row]!r}"
        if len(probe) >= _PREFIX_MIN and probe not in _S3_NOT_ROWS:
            starts = [r for r in allowed if _S3_CANONICAL[r].startswith(probe)]
            if len(starts) == 1:
                return starts[0], (
                    f"label {printed!r} is the first line of the template's "
                    f"{_S3_CANONICAL[starts[0]]!r}"
                )
        return None

    def _match_wrapped(
        self, toks: list[_Tok], lo: int, hi: int, last: bool
    ) -> tuple[str, str, list[_Tok]] | None:
        """The label next to a run, wrapped over two or three labels, else with tolerance."""
        for k in (2, 3):
            if k <= len(toks):
                hit = self._search(toks[-k:] if last else toks[:k], last)
                if hit:
                    return hit[0], "", hit[1]
        for k in (1, 2):
            if k <= len(toks):
                part = toks[-k:] if last else toks[:k]
                found = self._tolerant(part, lo, hi)
                if found:
                    return found[0], found[1], part
        return None

    def _match_tolerant(self) -> None:
        for i, e in enumerate(self.entries):
            lo, hi = self._window(i)
            if e.row is None and (labs := _labels(e)):
                found = self._match_wrapped(labs, lo, hi, last=True)
                if found:
                    e.row, e.row_how, e.used = found
            if e.one_line and e.next_row is None and (after := _after(self.entries, i)):
                found = self._match_wrapped(after, lo, hi, last=False)
                if found:
                    e.next_row, e.next_how = found[0], found[1]


def _split_rows(entry: _Entry) -> list[_Entry]:
    """A run over several text lines of numbers that are section-3 rows of their own.

    A PDF text layer may print a row's numbers on a line without a label, straight after the
    numbers of the row before; such a run is cut at line ends into runs of exactly one row
    (when it cuts that way; numbers of one row wrapped over two lines stay together).
    """
    width = len(SECTION3_COLUMNS)
    if len(entry.run) <= width or not any(t.origin == "spaced" for t in entry.run):
        return [entry]
    chunks: list[list[_Tok]] = [[]]
    for i, t in enumerate(entry.run):
        if i and t.line != entry.run[i - 1].line and len(chunks[-1]) == width:
            chunks.append([])
        chunks[-1].append(t)
    if len(chunks) == 1 or any(len(c) != width for c in chunks):
        return [entry]
    return [
        _Entry(
            entry.section,
            entry.labels if i == 0 else [],
            chunk,
            group=entry.group,
            rowwise=entry.rowwise,
        )
        for i, chunk in enumerate(chunks)
    ]


class _Reader:
    def __init__(self, tokens: list[_Tok], template: str) -> None:
        self.tokens = tokens
        self.template = template
        self.s2_spec = _S2_SPECS[template]
        self.s2: dict[str, list[Any] | None] = {k: None for k in self.s2_spec}
        self.s3: dict[str, list[Any] | None] = {r: None for r in SECTION3_ROWS}
        self.s4_runs: list[list[_Tok]] = []
        self.s4: list[Any] | None = None
        self.warnings: list[str] = []
        self.seen: set[str] = set()  # row keys whose labels were seen (evidence of tables)
        self.section = 0
        self.group = ""  # current section-3 group: "other_processing" under (六)其他处理
        self.origins: dict[str, int] = {}
        self.s2_entries: list[_Entry] = []
        self.last_entry: _Entry | None = None
        self.s3_entries: list[_Entry] = []
        values = [t for t in tokens if t.kind == VALUE]
        self.rowwise = sum(t.origin == "spaced" for t in values) > sum(
            t.origin == "flattened" for t in values
        )

    # -- label matching ------------------------------------------------------------------

    def _note_label(self, text: str) -> None:
        """Track section-3 groups and collect evidence that standard tables are present."""
        k = _strip_numbering(_key(text))
        if k.startswith("其他处理"):
            self.group = "other_processing"
        elif re.match(r"(?:不予公开|无法提供|不予处理)$", k) or _TOTAL_NUMBERED_RE.fullmatch(
            _key(text)
        ):
            self.group = k
        if _is_prose(text):
            return
        row = self._match_s2([_Tok(LABEL, text)])
        if row:
            self.seen.add("s2." + row[0])
        else:
            for name, rx in _S3_SEARCH:
                if rx.search(_key(text)):
                    self.seen.add("s3." + name)
                    break
            else:
                if _key(text) in ("行政复议", "行政诉讼"):
                    self.seen.add("s4." + _key(text))

    # -- assigning values ----------------------------------------------------------------

    def _fit(
        self,
        what: str,
        vals: list[_Tok],
        expected: int,
        quiet: bool = False,
        prefer_head: bool = False,
    ) -> list[_Tok] | None:
        """Exactly ``expected`` cells from a run, or None (with a warning) when they do not fit.

        Surplus empty cells are dropped from the end (merged value cells, padding) or from the
        front (positions covered by merged label cells). When both ends are empty, the span
        tokens of an HTML grid say which; empty cells of a flattened page are real cells, so
        then nothing is dropped; otherwise ``prefer_head`` decides: in section 3 only label
        cells are merged (padding in front), in section 2 only value cells (padding behind).
        """
        extra = len(vals) - expected
        if extra > 0:

            def empty(ts: list[_Tok]) -> bool:
                return all(t.kind in (NULL, SPAN) for t in ts)

            tail, head = vals[expected:], vals[:extra]

            # Rows of numbers on several text lines: which line holds padding is unknown.
            lines = {t.line for t in vals}
            spread = len(lines) > 1 and any(t.origin == "spaced" for t in vals)
            tail_ok = empty(tail) and not spread
            head_ok = empty(head) and not spread
            if head_ok and tail_ok:
                if any(t.kind == SPAN for t in tail):
                    head_ok = False
                elif any(t.blank for t in head + tail):
                    head_ok = tail_ok = False  # which empty cell is the padding: unknown
                elif prefer_head:
                    tail_ok = False
                else:
                    head_ok = False
            if tail_ok:
                vals = vals[:expected]
            elif head_ok:
                vals = vals[extra:]
        if len(vals) != expected:
            if not quiet and any(t.kind == VALUE for t in vals):
                self.warnings.append(
                    f"{what}: {len(vals)} cells where the template has {expected}; left null"
                )
            return None
        return vals

    def _by_header(self, what: str, vals: list[_Tok]) -> list[_Tok]:
        """Section-3 cells put under the template's columns by their header text, when every
        cell of the run has a known header (HTML grids); otherwise the run as it is."""
        if len(vals) < len(SECTION3_COLUMNS) or not all(
            t.header and t.kind in (VALUE, NULL) for t in vals
        ):
            return vals
        columns = [_key(c) for c in _S3_COLUMN_LABELS]
        if [t.header for t in vals] == columns:
            return vals  # the template's own columns, in order
        placed: dict[int, _Tok] = {}
        dropped: list[str] = []
        for t in vals:
            scores = [(_similarity(t.header, c), j) for j, c in enumerate(columns)]
            best, j = max(scores)
            if best < _FUZZY_MIN or j in placed:
                dropped.append(t.header)
                continue
            placed[j] = t
        if len(placed) != len(columns) or dropped and len(placed) + len(dropped) != len(vals):
            return vals
        ordered = [placed[j] for j in range(len(columns))]
        if ordered != vals:
            extra = f"; dropped column(s) {'/'.join(dropped)}" if dropped else ""
            self.warnings.append(f"{what}: cells placed by their column headers{extra}")
        return ordered

    def _cells(self, what: str, names: list[str], vals: list[_Tok]) -> list[Any]:
        out: list[Any] = []
        origin = -1  # index of the cell a following span token belongs to
        notes = {t.note for t in vals if t.note}
        for note in sorted(notes):
            self.warnings.append(f"{what}: value cells do not line up with their headers; {note}")
        for i, (name, t) in enumerate(zip(names, vals, strict=True)):
            if t.kind == SPAN:
                # One number merged over several cells of the template: which cell it counts is
                # unknown, so none of them gets it.
                self.warnings.append(
                    f"{name}: merged cell {t.text!r} covers several cells; left null"
                )
                if origin >= 0 and out[origin] is not None:
                    out[origin] = None
                    self.warnings.append(
                        f"{names[origin]}: merged cell {t.text!r} covers several cells; left null"
                    )
                out.append(None)
                continue
            origin = i
            if t.kind == VALUE:
                v = t.value
                if isinstance(v, float) and name not in _DECIMAL_CELLS:
                    if v.is_integer():
                        v = int(v)
                    else:
                        self.warnings.append(f"{name}: {t.text!r} is not a count; left null")
                        v = None
                out.append(v)
                self.origins[t.origin] = self.origins.get(t.origin, 0) + 1
            else:
                out.append(None)
        return out

    def _store(
        self, table: dict[str, list[Any] | None], key: str, what: str, cells: list[Any]
    ) -> None:
        old = table[key]
        if old is None or all(v is None for v in old):
            table[key] = cells
        elif old != cells and any(v is not None for v in cells):
            self.warnings.append(f"{what}: appears again with other values {cells}; kept the first")

    def _group(self, entry: _Entry) -> None:
        """Collect the runs of each section; they are placed once the section is read."""
        if entry.section == 4:
            if any(t.kind in (VALUE, SPAN) for t in entry.run):
                self.s4_runs.append(entry.run)
            return
        if entry.section >= 5:
            return
        labs = _labels(entry)
        s3_words = any(rx.search(_key("".join(t.text for t in labs))) for _, rx in _S3_SEARCH)
        if self._match_s2(labs) or (entry.section == 2 and not s3_words):
            self.s2_entries.append(entry)
        else:
            self.s3_entries.extend(_split_rows(entry))

    def _match_s2(self, labs: list[_Tok], last: bool = True) -> tuple[str, list[_Tok]] | None:
        """The section-2 row the labels name (the last 1-3 joined, or the first 1-2 after a
        run), with the labels used."""
        for k in range(1, min(3 if last else 2, len(labs)) + 1):
            part = labs[-k:] if last else labs[:k]
            joined = _strip_numbering(_key("".join(t.text for t in part)))
            for key, rx in _S2_LABELS[self.template]:
                if rx.fullmatch(joined):
                    return key, part
        return None

    def _s2_names(self, key: str) -> list[str]:
        subs = self.s2_spec[key]
        return [f"section2.{key}"] if subs is None else [f"section2.{key}.{s}" for s in subs]

    def _finish_s2(self) -> None:
        entries = self.s2_entries
        for i, e in enumerate(entries):
            if hit := self._match_s2(_labels(e)):
                e.row, e.used = hit
                self.seen.add("s2." + e.row)
            if e.one_line and (hit := self._match_s2(_after(entries, i), last=False)):
                e.next_row = hit[0]

        def fits(e: _Entry, key: str) -> bool:
            return self._fit(key, e.run, len(self._s2_names(key)), quiet=True) is not None

        index = {key: i for i, key in enumerate(self.s2_spec)}
        placed = _solve(entries, index, fits, "section2", self.warnings)
        if after := [key for _, key, how in placed if how == _AFTER]:
            self.warnings.append(_after_note("section2", after))
        for entry, key, how in placed:
            if how and how != _AFTER:
                self.warnings.append(f"section2.{key}: {how}; read as that row")
            names = self._s2_names(key)
            fit = self._fit(f"section2.{key}", entry.run, len(names))
            if fit is not None:
                what = f"section2.{key}"
                self._store(self.s2, key, what, self._cells(what, names, fit))
        self._misfits(entries, placed, lambda key: (f"section2.{key}", len(self._s2_names(key))))

    def _misfits(
        self, entries: list[_Entry], placed: list[tuple[_Entry, str, str]], shape: Any
    ) -> None:
        """Say why a run named by its label was not placed: its cells do not fit the row."""
        done = {id(e) for e, _, _ in placed}
        rows = {row for _, row, _ in placed}
        for e in entries:
            if id(e) not in done and e.row and e.row not in rows:
                what, width = shape(e.row)
                self._fit(what, e.run, width)

    def _finish_s3(self) -> None:
        def fits(e: _Entry, row: str) -> bool:
            return (
                self._fit(row, self._by_header(row, e.run), 7, quiet=True, prefer_head=True)
                is not None
            )

        s3 = _Section3(self.template, self.s3_entries, fits)
        placed = s3.resolve()
        if after := [row for _, row, how in placed if how == _AFTER]:
            self.warnings.append(_after_note("section3", after))
        for entry, row, how in placed:
            if self.template == "2019" and row in ("other_no_correction", "other_no_fee"):
                self.warnings.append(f"section3.{row}: row of the 2021 template in a 2019 report")
            if how == "older_row":
                self.warnings.append(
                    "section3.other: this 2021-template report prints the 2019 template's single "
                    "(六)其他处理 row; read as section3.other (other_no_correction and "
                    "other_no_fee left null)"
                )
            elif how and how != _AFTER:
                self.warnings.append(f"section3.{row}: {how}; read as that row")
            self.seen.add("s3." + row)
            names = [f"section3.{row}.{c}" for c in SECTION3_COLUMNS]
            vals = self._by_header(f"section3.{row}", entry.run)
            fit = self._fit(f"section3.{row}", vals, len(names), prefer_head=True)
            if fit is not None:
                what = f"section3.{row}"
                self._store(self.s3, row, what, self._cells(what, names, fit))
        self.warnings.extend(s3.warnings)
        self._misfits(
            self.s3_entries, placed, lambda row: (f"section3.{row}", len(SECTION3_COLUMNS))
        )

    def _finish_s4(self) -> None:
        """Section 4 is one row of 15 cells; take the run that has exactly that many."""
        names = _S4_NAMES
        runs = self.s4_runs
        chosen = next((r for r in runs if len(r) == len(names)), None)
        if chosen is None and sum(len(r) for r in runs) == len(names):
            chosen = [t for r in runs for t in r]  # e.g. three rows of five
        if chosen is None:
            # padding around the row (merged cells at either end)
            fits = (self._fit("section4", r, len(names), quiet=True) for r in runs)
            chosen = next((f for f in fits if f is not None), None)
        if chosen is None:
            if runs:
                found = ", ".join(str(len(r)) for r in runs)
                self.warnings.append(
                    f"section4: runs of {found} cells where the template has one row of "
                    f"{len(names)}; left null"
                )
            return
        self.s4 = self._cells("section4", names, chosen)
        self.seen.add("s4.values")

    # -- the walk ------------------------------------------------------------------------

    def run(self) -> None:
        labels: list[_Tok] = []
        vals: list[_Tok] = []

        def flush() -> None:
            nonlocal labels
            if vals:
                self.last_entry = _Entry(
                    self.section, labels, list(vals), group=self.group, rowwise=self.rowwise
                )
                self._group(self.last_entry)
                labels = []
                vals.clear()

        for tok in self.tokens:
            if tok.kind == BREAK:
                flush()
                labels = []
            elif tok.kind == HEAD:
                flush()
                if labels and self.last_entry is not None:
                    if self.last_entry.section == self.section:
                        self.last_entry.after = labels
                labels = []
                self.section = tok.section
            elif tok.kind == LABEL:
                flush()
                if self.section >= 5:
                    continue
                if _is_prose(tok.text):
                    labels = []
                    continue
                if self.section in (0, 1, 2, 3) and _key(tok.text) == "行政复议":
                    self.section = 4  # section 4 without its heading
                self._note_label(tok.text)
                # A carried label (a group such as (六)其他处理 spanning rows) sets the context
                # but never names the row: after a lost cell it can land after the row's own.
                if not tok.carried:
                    labels.append(tok)
            else:
                vals.append(tok)
        flush()
        self._finish_s2()
        self._finish_s3()
        self._finish_s4()

    # -- output --------------------------------------------------------------------------

    def result(self, layout: str) -> dict[str, Any] | None:
        has_value = (
            any(v is not None for cells in self.s2.values() if cells for v in cells)
            or any(v is not None for cells in self.s3.values() if cells for v in cells)
            or bool(self.s4 and any(v is not None for v in self.s4))
        )
        evidence = len(self.seen) + (5 if "s4.values" in self.seen else 0)
        if evidence < 3 and not (has_value and evidence >= 2):
            return None
        section2: dict[str, Any] = {}
        for key, subs in self.s2_spec.items():
            cells = self.s2[key]
            if subs is None:
                section2[key] = cells[0] if cells else None
            else:
                section2[key] = {s: (cells[i] if cells else None) for i, s in enumerate(subs)}
        rows: dict[str, list[Any]] = {}
        for r in SECTION3_ROWS:
            cells3 = self.s3[r]
            rows[r] = list(cells3) if cells3 is not None else [None] * len(SECTION3_COLUMNS)
        s4 = self.s4 or [None] * len(_S4_NAMES)
        section4 = {
            blk: {res: s4[i * 5 + j] for j, res in enumerate(SECTION4_RESULTS)}
            for i, blk in enumerate(SECTION4_BLOCKS)
        }
        tables: dict[str, Any] = {
            "template": self.template,
            "layout": layout,
            "section2": section2,
            "section3": {"columns": list(SECTION3_COLUMNS), "rows": rows},
            "section4": section4,
        }
        tables["checks"] = compute_checks(tables)
        tables["warnings"] = self.warnings
        return tables


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _check(
    rule: str, terms: list[tuple[str, Any]], sides: tuple[int, int], rel: str
) -> dict[str, Any] | None:
    """``sum(terms[:sides[0]]) == sum(terms[sides[0]:])``; ``rel`` renders the relation.

    None when every cell is null (nothing to check); ``ok: null`` when some are (not
    evaluable: the page leaves cells empty, so its arithmetic can neither hold nor fail).
    """
    values = [v for _, v in terms]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        missing = ", ".join(n for n, v in terms if v is None)
        return {"rule": rule, "ok": None, "detail": f"not evaluable: {missing} null ({rel})"}
    left = terms[: sides[0]]
    right = terms[sides[0] :]
    lsum = sum(v for _, v in left)
    rsum = sum(v for _, v in right)
    ok = lsum == rsum
    detail = (
        " + ".join(f"{n} {v}" for n, v in left)
        + f" = {lsum}; "
        + " + ".join(f"{n} {v}" for n, v in right)
        + f" = {rsum}"
    )
    return {"rule": rule, "ok": ok, "detail": detail + ("" if ok else " (differs)")}


def compute_checks(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's own arithmetic, as found on the page (never repaired).

    Rules (国办公开办函〔2021〕30号 / 〔2019〕60号 tables): ``section3.balance.<column>``
    一 + 二 = 三(七)总计 + 四; ``section3.row_total.<row>`` the six applicant columns add up to
    总计; ``section3.results_total.<column>`` the rows of 三 add up to (七)总计;
    ``section4.total.<block>`` 维持 + 纠正 + 其他 + 尚未审结 = 总计. Each check is
    ``{"rule", "ok": true | false | null, "detail"}``.
    """
    out: list[dict[str, Any] | None] = []
    rows: dict[str, list[Any]] = tables["section3"]["rows"]
    template_rows = _SECTION3_ROWS_2019 if tables.get("template") == "2019" else SECTION3_ROWS
    result_rows = [r for r in _RESULT_ROWS if r in template_rows]
    for i, col in enumerate(SECTION3_COLUMNS):
        out.append(
            _check(
                f"section3.balance.{col}",
                [
                    ("new", rows["new"][i]),
                    ("carried_over", rows["carried_over"][i]),
                    ("total", rows["total"][i]),
                    ("carried_forward", rows["carried_forward"][i]),
                ],
                (2, 2),
                "一 + 二 = 三(七) + 四",
            )
        )
    for row in template_rows:
        cells = rows[row]
        out.append(
            _check(
                f"section3.row_total.{row}",
                [(c, cells[j]) for j, c in enumerate(SECTION3_COLUMNS[:6])] + [("total", cells[6])],
                (6, 1),
                "six applicant columns = 总计",
            )
        )
    for i, col in enumerate(SECTION3_COLUMNS):
        out.append(
            _check(
                f"section3.results_total.{col}",
                [(r, rows[r][i]) for r in result_rows] + [("total", rows["total"][i])],
                (len(result_rows), 1),
                "三 rows = (七)总计",
            )
        )
    for blk in SECTION4_BLOCKS:
        cells = tables["section4"][blk]
        out.append(
            _check(
                f"section4.total.{blk}",
                [(r, cells[r]) for r in SECTION4_RESULTS],
                (4, 1),
                "维持 + 纠正 + 其他 + 尚未审结 = 总计",
            )
        )
    return [c for c in out if c is not None]


#: Every rule ``compute_checks`` can report, in its order (the CSV's ``check.*`` columns).
CHECK_RULES: tuple[str, ...] = tuple(
    [f"section3.balance.{c}" for c in SECTION3_COLUMNS]
    + [f"section3.row_total.{r}" for r in SECTION3_ROWS]
    + [f"section3.results_total.{c}" for c in SECTION3_COLUMNS]
    + [f"section4.total.{b}" for b in SECTION4_BLOCKS]
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _tokens(s: str) -> list[_Tok]:
    s = _norm(sanitize_text(s))
    lines = _Lines()
    if looks_like_html(s):
        tokens = _html_tokens(s, lines)
    else:
        tokens = list(_text_tokens(s, lines))
    return _settle_blanks(tokens)


def _parse_strict(html_or_text: str) -> dict[str, Any] | None:
    """``parse_tables`` without the safety net (tests use it to see real exceptions)."""
    if not isinstance(html_or_text, str) or not html_or_text.strip():
        return None
    tokens = _tokens(html_or_text)
    if not tokens:
        return None
    template = _detect_template(tokens)
    reader = _Reader(tokens, template)
    reader.run()
    layout = max(reader.origins, key=lambda k: reader.origins[k]) if reader.origins else "none"
    return reader.result(layout)


def parse_tables(html_or_text: str) -> dict[str, Any] | None:
    """The ``tables`` object of a report page or extracted attachment text, or None.

    None when the input shows no standard tables (free prose, other pages) or cannot be read
    at all; this function never raises on bad input.
    """
    try:
        return _parse_strict(html_or_text)
    except Exception:  # garbage in must never crash a crawl: log it and report no tables
        log.warning("table parsing failed; treating the page as having no tables", exc_info=True)
        return None


def flatten_tables(tables: dict[str, Any] | None) -> dict[str, int | float | None]:
    """One value per name of ``TABLE_CELL_NAMES`` (None where absent), e.g. for CSV export."""
    flat: dict[str, int | float | None] = dict.fromkeys(TABLE_CELL_NAMES)
    if not tables:
        return flat
    for key, val in (tables.get("section2") or {}).items():
        if isinstance(val, dict):
            for sub, v in val.items():
                _put(flat, f"section2.{key}.{sub}", v)
        else:
            _put(flat, f"section2.{key}", val)
    section3 = tables.get("section3") or {}
    cols = section3.get("columns") or list(SECTION3_COLUMNS)
    for row, cells in (section3.get("rows") or {}).items():
        for col, v in zip(cols, cells or [], strict=False):
            _put(flat, f"section3.{row}.{col}", v)
    for blk, cells in (tables.get("section4") or {}).items():
        for res, v in (cells or {}).items():
            _put(flat, f"section4.{blk}.{res}", v)
    return flat


def _put(flat: dict[str, int | float | None], name: str, value: Any) -> None:
    if name in flat:
        flat[name] = value


def iter_cell_names(template: str) -> Iterable[str]:
    """The flat names one template fills (``TABLE_CELL_NAMES_2021`` or ``_2019``)."""
    return TABLE_CELL_NAMES_2019 if template == "2019" else TABLE_CELL_NAMES_2021


@cache
def _schema_text() -> str:
    return TABLES_SCHEMA_PATH.read_text(encoding="utf-8")


def tables_schema() -> dict[str, Any]:
    """The JSON Schema of the tables object (a fresh copy each call)."""
    return json.loads(_schema_text())
