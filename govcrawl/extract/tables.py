"""Statistical tables of the annual reports (政府信息公开工作年度报告), as data.

``parse_tables(html_or_text)`` returns the ``tables`` object of DESIGN.md ("Parsed report
tables (v1)") for a 2021-template (国办公开办函〔2021〕30号) or 2019-template
(国办公开办函〔2019〕60号) report, or ``None`` when the page shows no standard tables.

How it reads a page
-------------------
Every layout is first turned into one stream of tokens: labels (text cells), values (numbers),
nulls (empty cells, ``/``, ``-``, ``—``, ``无``), spans (extra grid positions covered by a merged
numeric cell), row breaks and section headings (二、主动公开..., 三、收到和处理..., 四、...复议...):

- HTML ``<table>``: expanded into a grid (rowspan/colspan) with lxml; every grid row becomes its
  labels (a label spanning rows is repeated down them as context: it sets the section-3 group,
  such as (六)其他处理, but never names the row), its value cells (a merged null cell yields one
  null per covered column, a merged number the number and then span tokens) and a row break.
  Tables that contain tables, or very long cells, are layout tables and are read as text.
- Text (plain input, and HTML outside data tables): one line at a time. Tab-separated lines
  (PDF/XLSX/DOCX extraction) and ``| a | b |`` lines are rows of cells; ``cell |`` lines and lines
  of bare ``|`` are flattened cells (an ``|`` alone is an empty cell); any other line is split on
  whitespace, which covers both one cell per line (flattened pages) and rows of space-separated
  numbers (PDF-to-HTML flipbooks).

Text is NFKC-normalised first, so full-width digits and punctuation (０-９, （一）, ／) read as
half-width. A run of values is given to the row named by the labels just before it (the last one
to three label tokens, so wrapped and nested labels work). A row is filled only when its run has
exactly the template's number of cells (surplus empty cells at either end are dropped, as merged
label or value cells leave them); otherwise the row stays null and a warning says why: values are
never shifted between cells, and nothing missing becomes zero. A number merged over several
cells of the template leaves all of them null (which one it counts is unknown). Section 4 (15
cells in one row) is read as the single run of 15 values after its heading.

The output adds two keys to the DESIGN contract: ``layout`` (``html_table``, ``flattened``,
``spaced`` or ``delimited``: where most values came from; ``none`` when no value was read) and
``warnings`` (why cells stayed null). Checks: a check whose cells are all null is omitted (the
page shows nothing to check); a check with some null cells is reported with ``ok: false`` and
``evaluable: false``; otherwise ``ok`` says whether the page's own arithmetic holds and
``evaluable`` is true. Numbers are never repaired.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
    "flatten_tables",
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

# Searched anywhere in the joined label text; the match ending last wins (nested labels put
# the row's own label last).
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
# Whole-token labels that depend on context (the bare words also appear as column headers).
_OTHER_RE = re.compile(r"其他")  # 3.其他, under (六)其他处理
_OTHER_GROUP_RE = re.compile(r"其他处理")  # the 2019 template's single row; a group in 2021
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
_PROSE_END = ("。", ",", ";", ":", "!", "?")
_PROSE_LEN = 60

LABEL, VALUE, NULL, SPAN, BREAK, HEAD = "label", "value", "null", "span", "break", "head"


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str = ""
    value: int | float | None = None
    section: int = 0
    origin: str = ""  # layout the token came from: html_table|flattened|spaced|delimited
    carried: bool = False  # a row-spanning label repeated in a later grid row (context only)


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _key(s: str) -> str:
    """A label without whitespace (labels are often spaced out: 自 然 人)."""
    return re.sub(r"\s+", "", s)


def _parse_number(text: str) -> int | float | None:
    t = _UNIT_RE.sub("", text.strip()).strip()
    if not t or not _NUM_RE.fullmatch(t):
        return None
    t = t.replace(",", "")
    if "." in t:
        return float(t)
    return int(t)


def _cell_token(text: str, origin: str) -> _Tok:
    t = " ".join(text.split())
    if _NULL_RE.fullmatch(t):
        return _Tok(NULL, t, origin=origin)
    num = _parse_number(t)
    if num is not None:
        return _Tok(VALUE, t, num, origin=origin)
    sec = _heading(t)
    if sec:
        return _Tok(HEAD, t, section=sec, origin=origin)
    return _Tok(LABEL, t, origin=origin)


def _heading(line: str) -> int:
    k = _key(line).lstrip("•·●◆■□*#")
    if not k or len(k) > _HEADING_MAX:
        return 0
    for sec, rx in _HEADINGS:
        if rx.match(k):
            return sec
    return 0


# --------------------------------------------------------------------------------------------
# Tokenising text
# --------------------------------------------------------------------------------------------

_PIPES_ONLY_RE = re.compile(r"\|+")
_MD_RULE_RE = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")


def _line_tokens(line: str) -> Iterator[_Tok]:
    # Keep tabs at either end: they delimit empty cells of a delimited row.
    line = line.strip(" \r\n\x0b\x0c")
    if not line.strip():
        return
    sec = _heading(line)
    if sec:
        yield _Tok(HEAD, line, section=sec)
        return
    if "\t" in line:  # a row of cells (PDF/XLSX/DOCX extraction); empty fields are empty cells
        for cell in line.split("\t"):
            yield _cell_token(cell, "delimited")
        yield _Tok(BREAK)
        return
    if "|" in line:
        compact = re.sub(r"\s+", "", line)
        if _PIPES_ONLY_RE.fullmatch(compact):  # each bare "|" closes an empty cell
            for _ in range(compact.count("|")):
                yield _Tok(NULL, "", origin="flattened")
            return
        if _MD_RULE_RE.fullmatch(line):
            return
        if line.startswith("|"):  # | a | b | c |  (markdown-style row)
            cells = line.strip("|").split("|")
            for cell in cells:
                yield _cell_token(cell, "delimited")
            yield _Tok(BREAK)
            return
        cells = line.split("|")  # "cell |" lines: each "|" closes a cell
        if cells and not cells[-1].strip():
            cells = cells[:-1]
        for cell in cells:
            yield _cell_token(cell, "flattened")
        return
    parts = line.split()
    origin = "flattened" if len(parts) == 1 else "spaced"
    for part in parts:
        yield _cell_token(part, origin)


def _text_tokens(text: str) -> Iterator[_Tok]:
    for line in text.splitlines():
        yield from _line_tokens(line)


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
_SKIP_TAGS = frozenset("script style noscript template head title select option button".split())
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
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


def _table_tokens(table: Any) -> list[_Tok]:
    """Expand the table into a grid and emit its rows as tokens."""
    rows = _rows_of(table)
    grid: dict[tuple[int, int], tuple[_Tok, int, int]] = {}
    width = 0
    for r, tr in enumerate(rows):
        c = 0
        for cell in _cells_of(tr):
            while (r, c) in grid:
                c += 1
            tok = _cell_token(_cell_text(cell), "html_table")
            rs = min(_span(cell, "rowspan"), len(rows) - r)
            cs = _span(cell, "colspan")
            for dr in range(rs):
                for dc in range(cs):
                    grid.setdefault((r + dr, c + dc), (tok, dr, dc))
            c += cs
            width = max(width, c)
    out: list[_Tok] = []
    for r in range(len(rows)):
        for c in range(width):
            entry = grid.get((r, c))
            if entry is None:
                continue
            tok, dr, dc = entry
            if dr == 0 and dc == 0:
                out.append(tok)
            elif tok.kind in (LABEL, HEAD):
                if dc == 0 and tok.kind == LABEL:  # a row-spanning label: context for its rows
                    out.append(_Tok(LABEL, tok.text, origin="html_table", carried=True))
            elif tok.kind == NULL:
                out.append(_Tok(NULL, tok.text, origin="html_table"))
            else:  # a merged number covers this position too: which cell holds it is unclear
                out.append(_Tok(SPAN, tok.text, tok.value, origin="html_table"))
        out.append(_Tok(BREAK))
    return out


def _html_tokens(html: str) -> list[_Tok]:
    root = _html_root(html)
    if root is None:
        return []
    segments: list[str | list[_Tok]] = []

    def walk(el: Any) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if not tag or tag in _SKIP_TAGS:
            pass  # comments, processing instructions, scripts: only their tail is text
        elif tag == "table" and _is_data_table(el):
            segments.append("\n")
            segments.append(_table_tokens(el))
            segments.append("\n")
        else:
            block = tag in _BLOCK_TAGS
            if block or tag == "br":
                segments.append("\n")
            if el.text:
                segments.append(el.text)
            for ch in el:
                walk(ch)
            if block:
                segments.append("\n")
        if el.tail:
            segments.append(el.tail)

    body = root.find("body")
    walk(body if body is not None else root)

    tokens: list[_Tok] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            tokens.extend(_text_tokens("".join(buf)))
            buf.clear()

    for seg in segments:
        if isinstance(seg, str):
            buf.append(seg)
        else:
            flush()
            tokens.extend(seg)
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


# --------------------------------------------------------------------------------------------
# Reading the token stream
# --------------------------------------------------------------------------------------------


def sanitize_text(s: str) -> str:
    """``s`` without lone surrogates and control characters (lxml refuses them; they are
    never page content)."""
    s = s.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", s)


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
        self.last_row = ""
        self.origins: dict[str, int] = {}

    # -- label matching ------------------------------------------------------------------

    def _match_s2(self, labels: list[str]) -> str | None:
        for k in range(1, min(3, len(labels)) + 1):
            joined = _strip_numbering(_key("".join(labels[-k:])))
            for key, rx in _S2_LABELS[self.template]:
                if rx.fullmatch(joined):
                    return key
        return None

    def _match_s3(self, labels: list[str]) -> str | None:
        last = _strip_numbering(_key(labels[-1])) if labels else ""
        if last:
            if _OTHER_RE.fullmatch(last) and (
                self.group == "other_processing"
                or self.last_row in ("other_no_correction", "other_no_fee")
            ):
                return "other"
            if _OTHER_GROUP_RE.fullmatch(last) and self.template == "2019":
                # the 2019 template's single row; in a 2021 report values straight after the
                # group label mean its first sub-row's label was lost: not attributable
                return "other"
            if _TOTAL_RE.fullmatch(_key(labels[-1])) and (
                _TOTAL_NUMBERED_RE.fullmatch(_key(labels[-1]))
                or any(self.s3[r] is not None for r in _RESULT_ROWS)
                or self.last_row in _RESULT_ROWS
            ):
                return "total"
        for k in range(1, min(3, len(labels)) + 1):
            joined = _key("".join(labels[-k:]))
            best: tuple[int, str] | None = None
            for row, rx in _S3_SEARCH:
                for m in rx.finditer(joined):
                    if best is None or m.end() > best[0]:
                        best = (m.end(), row)
            if best:
                return best[1]
        return None

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
        row = self._match_s2([text])
        if row:
            self.seen.add("s2." + row)
        elif any(rx.search(_key(text)) for _, rx in _S3_SEARCH):
            self.seen.add("s3." + (self._match_s3([text]) or ""))
        elif _key(text) in ("行政复议", "行政诉讼"):
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
        front (positions covered by merged label cells). When both would do, the span tokens
        of an HTML grid say which; otherwise ``prefer_head`` decides: in section 3 only label
        cells are merged (padding in front), in section 2 only value cells (padding behind).
        """
        extra = len(vals) - expected
        if extra > 0:

            def blank(ts: list[_Tok]) -> bool:
                return all(t.kind in (NULL, SPAN) for t in ts)

            tail_ok, head_ok = blank(vals[expected:]), blank(vals[:extra])
            if head_ok and tail_ok:
                tail_ok = any(t.kind == SPAN for t in vals[expected:]) or not prefer_head
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

    def _cells(self, what: str, names: list[str], vals: list[_Tok]) -> list[Any]:
        out: list[Any] = []
        origin = -1  # index of the cell a following span token belongs to
        for i, (name, t) in enumerate(zip(names, vals, strict=True)):
            if t.kind == SPAN:
                # One number merged over several cells of the template: which cell it counts
                # is unknown, so none of them gets it.
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

    def _group(self, labels: list[str], vals: list[_Tok]) -> None:
        if self.section == 4:
            if any(t.kind in (VALUE, SPAN) for t in vals):
                self.s4_runs.append(vals)
            return
        if self.section >= 5 or not labels:
            return
        labels = [lab for lab in labels if not _is_prose(lab)]
        if not labels:
            return
        key = self._match_s2(labels)
        if key is not None:
            subs = self.s2_spec[key]
            names = [f"section2.{key}"] if subs is None else [f"section2.{key}.{s}" for s in subs]
            fit = self._fit(f"section2.{key}", vals, len(names))
            self.seen.add("s2." + key)
            if fit is not None:
                self._store(self.s2, key, f"section2.{key}", self._cells(key, names, fit))
            return
        row = self._match_s3(labels)
        if row is not None:
            if self.template == "2019" and row in ("other_no_correction", "other_no_fee"):
                self.warnings.append(f"section3.{row}: row of the 2021 template in a 2019 report")
            self.seen.add("s3." + row)
            self.last_row = row
            names = [f"section3.{row}.{c}" for c in SECTION3_COLUMNS]
            fit = self._fit(f"section3.{row}", vals, len(names), prefer_head=True)
            if fit is not None:
                self._store(self.s3, row, f"section3.{row}", self._cells(row, names, fit))
            return
        if self.section == 3 and sum(t.kind == VALUE for t in vals) >= 5:
            self.warnings.append(f"section3: unrecognised row {' '.join(labels)[-40:]!r}; skipped")

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
        labels: list[str] = []
        vals: list[_Tok] = []

        def flush() -> None:
            nonlocal labels
            if vals:
                self._group(labels, list(vals))
                labels = []
                vals.clear()

        for tok in self.tokens:
            if tok.kind == BREAK:
                flush()
                labels = []
            elif tok.kind == HEAD:
                flush()
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
                    labels.append(tok.text)
            else:
                vals.append(tok)
        flush()
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
    """``sum(terms[:sides[0]]) == sum(terms[sides[0]:])``; ``rel`` renders the relation."""
    values = [v for _, v in terms]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        missing = ", ".join(n for n, v in terms if v is None)
        return {
            "rule": rule,
            "ok": False,
            "evaluable": False,
            "detail": f"not evaluable: {missing} null ({rel})",
        }
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
    return {
        "rule": rule,
        "ok": ok,
        "evaluable": True,
        "detail": detail + ("" if ok else " (differs)"),
    }


def compute_checks(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's own arithmetic, as found on the page (never repaired)."""
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


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _tokens(s: str) -> list[_Tok]:
    s = _norm(sanitize_text(s))
    if looks_like_html(s):
        return _html_tokens(s)
    return list(_text_tokens(s))


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
