"""Statistical tables of the annual-report templates: values, ground truth and every rendering.

The one table renderer of the project (the replica's pages and attachments, the table fixtures,
the property tests and bench/table_accuracy.py all use it). Values are a dict of flat cell
names (``section3.new.natural_person`` …, as the parser's ``TABLE_CELL_NAMES``) to what the page
prints: an int or float (a number), a str (as given: ``"/"``, ``"—"``, ``"无"``, ``"12.500"``,
full-width digits) or None (an empty cell). ``expected(value)`` is what a parser must read back.

``sections(values, template)`` lays the values out cell for cell as the official templates
(国办公开办函〔2021〕30号, 〔2019〕60号) do, merged cells included; every layout is rendered from
that one logical table:

- ``html_fragments``: ``<table>``s with rowspan/colspan (the replica's pages; Word-pasted markup);
- ``flat_cells``: one cell per paragraph or line, in reading order (flattened pages);
- ``spaced_lines``: each row's cells on one line (PDF-to-HTML flipbooks, PDF text layers);
- ``delimited_lines``: tab-separated rows (what the attachment extraction writes), markdown and
  ``cell |`` lines;
- ``docx``/``xlsx``/``pdf`` files through ``replica.attachments``.

``ReportTables`` is the replica's generated report (consistent arithmetic, optional breakage);
``generate`` builds one from a seed. The site's own helpers (``render_html``, ``render_flat``,
``render_rows``, ``grid_rows``, ``row_lines``) render a ``ReportTables`` through those functions.
"""

from __future__ import annotations

import html
import logging
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from replica import attachments as A
from replica.textutil import fullwidth_digits, fw, hw

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# The templates

COLUMNS = [
    "natural_person",
    "commercial",
    "research",
    "social_welfare",
    "legal_services",
    "other",
    "total",
]
COLUMN_LABELS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]

_R3 = "三、本年度办理结果"
# (key, level-1 label, level-2 label, level-3 label) in page order.
S3_ROWS_2021: list[tuple[str, str, str | None, str | None]] = [
    ("new", "一、本年新收政府信息公开申请数量", None, None),
    ("carried_over", "二、上年结转政府信息公开申请数量", None, None),
    ("disclosed", _R3, "(一)予以公开", None),
    ("partially_disclosed", _R3, "(二)部分公开(区分处理的,只计这一情形,不计其他情形)", None),
    ("withheld_state_secret", _R3, "(三)不予公开", "1.属于国家秘密"),
    ("withheld_prohibited_by_law", _R3, "(三)不予公开", "2.其他法律行政法规禁止公开"),
    ("withheld_three_safeties_one_stability", _R3, "(三)不予公开", "3.危及“三安全一稳定”"),
    ("withheld_third_party", _R3, "(三)不予公开", "4.保护第三方合法权益"),
    ("withheld_internal_affairs", _R3, "(三)不予公开", "5.属于三类内部事务信息"),
    ("withheld_process_information", _R3, "(三)不予公开", "6.属于四类过程性信息"),
    ("withheld_enforcement_files", _R3, "(三)不予公开", "7.属于行政执法案卷"),
    ("withheld_query_matters", _R3, "(三)不予公开", "8.属于行政查询事项"),
    ("unavailable_not_held", _R3, "(四)无法提供", "1.本机关不掌握相关政府信息"),
    ("unavailable_needs_creation", _R3, "(四)无法提供", "2.没有现成信息需要另行制作"),
    ("unavailable_unclear", _R3, "(四)无法提供", "3.补正后申请内容仍不明确"),
    ("rejected_petition", _R3, "(五)不予处理", "1.信访举报投诉类申请"),
    ("rejected_repeated", _R3, "(五)不予处理", "2.重复申请"),
    ("rejected_publication", _R3, "(五)不予处理", "3.要求提供公开出版物"),
    ("rejected_excessive", _R3, "(五)不予处理", "4.无正当理由大量反复申请"),
    ("rejected_confirmation", _R3, "(五)不予处理", "5.要求行政机关确认或重新出具已获取信息"),
    (
        "other_no_correction",
        _R3,
        "(六)其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    ),
    (
        "other_no_fee",
        _R3,
        "(六)其他处理",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    ),
    ("other", _R3, "(六)其他处理", "3.其他"),
    ("total", _R3, "(七)总计", None),
    ("carried_forward", "四、结转下年度继续办理", None, None),
]
# The 2019 template has a single 其他处理 row.
S3_ROWS_2019 = [
    ("other", _R3, "(六)其他处理", None) if r[0] == "other" else r
    for r in S3_ROWS_2021
    if r[0] not in ("other_no_correction", "other_no_fee")
]
S3_KEYS = [r[0] for r in S3_ROWS_2021]
RESULT_KEYS_2021 = [r[0] for r in S3_ROWS_2021[2:-2]]
RESULT_KEYS_2019 = [r[0] for r in S3_ROWS_2019[2:-2]]

S4_GROUPS = ["reconsideration", "litigation_direct", "litigation_after_reconsideration"]
S4_FIELDS = ["upheld", "corrected", "other", "pending", "total"]
S4_LABELS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]

S3_NOTE = "(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)"

HEADINGS = {
    "s2": "二、主动公开政府信息情况",
    "s3": "三、收到和处理政府信息公开申请情况",
    "s4": "四、政府信息公开行政复议、行政诉讼情况",
}

# Section 2 per template: (block label, column labels, [(row label, key, [fields] | None)]).
# A block with fewer than four columns has its last column (and the value under it) spanning
# the rest of the four grid columns, as in the templates.
S2_2021 = [
    (
        "第二十条第(一)项",
        ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
        [
            ("规章", "rules", ["issued", "repealed", "in_force"]),
            ("行政规范性文件", "normative_documents", ["issued", "repealed", "in_force"]),
        ],
    ),
    ("第二十条第(五)项", ["信息内容", "本年处理决定数量"], [("行政许可", "licensing", None)]),
    (
        "第二十条第(六)项",
        ["信息内容", "本年处理决定数量"],
        [("行政处罚", "penalty", None), ("行政强制", "enforcement", None)],
    ),
    (
        "第二十条第(八)项",
        ["信息内容", "本年收费金额(单位:万元)"],
        [("行政事业性收费", "fees_10k_yuan", None)],
    ),
]
S2_2019 = [
    (
        "第二十条第(一)项",
        ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
        [
            ("规章", "rules", ["new_made", "new_published", "total_published"]),
            ("规范性文件", "normative_documents", ["new_made", "new_published", "total_published"]),
        ],
    ),
    (
        "第二十条第(五)项",
        ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
        [
            ("行政许可", "licensing", ["previous_year_items", "change", "decisions"]),
            (
                "其他对外管理服务事项",
                "other_services",
                ["previous_year_items", "change", "decisions"],
            ),
        ],
    ),
    (
        "第二十条第(六)项",
        ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
        [
            ("行政处罚", "penalty", ["previous_year_items", "change", "decisions"]),
            ("行政强制", "enforcement", ["previous_year_items", "change", "decisions"]),
        ],
    ),
    (
        "第二十条第(八)项",
        ["信息内容", "上一年项目数量", "本年增/减"],
        [("行政事业性收费", "fees", ["previous_year_items", "change"])],
    ),
    (
        "第二十条第(九)项",
        ["信息内容", "采购项目数量", "采购总金额"],
        [("政府集中采购", "procurement", ["projects", "total_amount"])],
    ),
]
_DECIMAL_CELLS = ("section2.fees_10k_yuan", "section2.procurement.total_amount")


def s2_spec(template: str) -> list[Any]:
    return S2_2021 if template == "2021" else S2_2019


def s3_rows(template: str) -> list[tuple[str, str, str | None, str | None]]:
    return S3_ROWS_2021 if template == "2021" else S3_ROWS_2019


def cell_names(template: str) -> tuple[str, ...]:
    """The flat names of every cell the template prints, in page order."""
    names: list[str] = []
    for _, _, rows in s2_spec(template):
        for _, key, fields in rows:
            names += (
                [f"section2.{key}"] if fields is None else [f"section2.{key}.{f}" for f in fields]
            )
    for key, *_ in s3_rows(template):
        names += [f"section3.{key}.{c}" for c in COLUMNS]
    names += [f"section4.{g}.{f}" for g in S4_GROUPS for f in S4_FIELDS]
    return tuple(names)


# ---------------------------------------------------------------------------------------------
# Values and ground truth

NULL_MARKERS = ("/", "／", "-", "—", "无")


def expected(v: Any) -> int | float | None:
    """What a parser must return for a printed value."""
    if v is None:
        return None
    if isinstance(v, str):
        t = unicodedata.normalize("NFKC", v).strip()
        if t in ("", "/", "-", "—", "无"):
            return None
        return float(t) if "." in t else int(t)
    return v


def expected_cells(values: dict[str, Any], template: str) -> dict[str, int | float | None]:
    """Every cell a parser must return (the 2019 template scores the 2021-only rows null)."""
    out = {n: expected(values.get(n)) for n in cell_names(template)}
    if template == "2019":
        for col in COLUMNS:
            out[f"section3.other_no_correction.{col}"] = None
            out[f"section3.other_no_fee.{col}"] = None
    return out


def random_values(
    rng: random.Random, template: str = "2021", null_rate: float = 0.1, empty_ok: bool = True
) -> dict[str, Any]:
    """Random non-negative counts (decimal fees, signed 2019 changes), some null cells."""
    out: dict[str, Any] = {}
    for name in cell_names(template):
        r = rng.random()
        if r < null_rate:
            out[name] = None if (empty_ok and rng.random() < 0.5) else rng.choice(NULL_MARKERS)
            continue
        if name in _DECIMAL_CELLS:
            n = rng.randrange(0, 10**8)
            out[name] = f"{n // 1000}.{n % 1000:03d}" if rng.random() < 0.7 else n // 1000
        elif name.endswith(".change"):
            out[name] = rng.randrange(-500, 500)
        else:
            out[name] = rng.choice([0, 0, 1, rng.randrange(0, 50), rng.randrange(0, 400000)])
    return out


def row_labels(template: str) -> dict[str, str]:
    """The label each section-3 row prints (its lowest label level)."""
    return {key: l3 or l2 or l1 for key, l1, l2, l3 in s3_rows(template)}


# ---------------------------------------------------------------------------------------------
# The logical table: rows of cells, merged cells as in the templates


@dataclass
class Cell:
    """One printed cell of the logical table (``\\n`` in a label: a line break in the cell)."""

    text: str
    rowspan: int = 1
    colspan: int = 1
    value: bool = False  # a data cell (numbers, nulls) rather than a label


Row = list[Cell]


def _shown(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return str(v)


def _section2(values: dict[str, Any], template: str, p: Callable[[str], str]) -> list[Row]:
    rows: list[Row] = []
    for block, cols, body in s2_spec(template):
        rows.append([Cell(p(block), colspan=4)])
        head = [Cell(p(c)) for c in cols]
        head[-1].colspan = 5 - len(cols)
        rows.append(head)
        for label, key, fields in body:
            names = (
                [f"section2.{key}"] if fields is None else [f"section2.{key}.{f}" for f in fields]
            )
            cells = [Cell(_shown(values.get(n)), value=True) for n in names]
            cells[-1].colspan = 4 - len(names)
            rows.append([Cell(p(label)), *cells])
    return rows


def _section3(
    values: dict[str, Any], template: str, p: Callable[[str], str], labels: dict[str, str]
) -> list[Row]:
    rows = s3_rows(template)

    def vals(key: str) -> list[Cell]:
        return [Cell(_shown(values.get(f"section3.{key}.{c}")), value=True) for c in COLUMNS]

    out: list[Row] = [
        [Cell(p(S3_NOTE), 3, 3), Cell("申请人情况", colspan=7)],
        [Cell("自然人", rowspan=2), Cell("法人或其他组织", colspan=5), Cell("总计", rowspan=2)],
        [Cell(t) for t in ("商业\n企业", "科研\n机构", "社会公益组织", "法律服务机构", "其他")],
    ]
    span1 = {k: sum(1 for r in rows if r[1] == k) for k in {r[1] for r in rows}}
    span2 = {k: sum(1 for r in rows if r[2] == k) for k in {r[2] for r in rows} if k}
    seen: set[str] = set()
    for key, l1, l2, l3 in rows:
        own = labels.get(key)
        cells: Row = []
        if l1 not in seen:
            seen.add(l1)
            if l2 is None:
                cells.append(Cell(p(own or l1), colspan=3))
            else:
                cells.append(Cell(p(l1), rowspan=span1[l1]))
        if l2 is not None and l2 not in seen:
            seen.add(l2)
            if l3 is None:
                cells.append(Cell(p(own or l2), colspan=2))
            else:
                cells.append(Cell(p(l2), rowspan=span2[l2]))
        if l3 is not None:
            cells.append(Cell(p(own or l3)))
        out.append(cells + vals(key))
    return out


def _section4(values: dict[str, Any]) -> list[Row]:
    split = [f"{x[:2]}\n{x[2:]}" if len(x) == 4 else x for x in S4_LABELS]
    return [
        [Cell("行政复议", colspan=5), Cell("行政诉讼", colspan=10)],
        [Cell(t, rowspan=2) for t in split]
        + [Cell("未经复议直接起诉", colspan=5), Cell("复议后起诉", colspan=5)],
        [Cell(t) for t in split * 2],
        [
            Cell(_shown(values.get(f"section4.{g}.{f}")), value=True)
            for g in S4_GROUPS
            for f in S4_FIELDS
        ],
    ]


def sections(
    values: dict[str, Any],
    template: str = "2021",
    punct: Callable[[str], str] = hw,
    labels: dict[str, str] | None = None,
) -> list[tuple[str, list[Row]]]:
    """``[(heading, rows)]`` of sections 二, 三 and 四: the logical tables, cell for cell.

    ``punct`` renders label punctuation (``fw``: full-width, as most live pages print it);
    ``labels`` replaces section-3 row labels (misprints, older wordings) by row key.
    """
    return [
        (HEADINGS["s2"], _section2(values, template, punct)),
        (HEADINGS["s3"], _section3(values, template, punct, labels or {})),
        (HEADINGS["s4"], _section4(values)),
    ]


def _grid(rows: list[Row]) -> list[list[tuple[Cell, int, int] | None]]:
    """Expanded grid: each position holds (cell, dr, dc) of the cell covering it."""
    occupied: dict[tuple[int, int], tuple[Cell, int, int]] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in occupied:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    occupied[(r + dr, c + dc)] = (cell, dr, dc)
            c += cell.colspan
            width = max(width, c)
    return [[occupied.get((r, c)) for c in range(width)] for r in range(len(rows))]


def placed(rows: list[Row]) -> tuple[int, list[tuple[int, int, Cell]]]:
    """(grid width, [(row, column, cell)]) of the cells' top-left positions."""
    width = 0
    out = []
    for r, grid_row in enumerate(_grid(rows)):
        width = max(width, len(grid_row))
        for c, entry in enumerate(grid_row):
            if entry is not None and entry[1] == 0 and entry[2] == 0:
                out.append((r, c, entry[0]))
    return width, out


# ---------------------------------------------------------------------------------------------
# Layouts

_FW_TABLE = {ord(c): ord(c) + 0xFEE0 for c in "0123456789()/:,.-"}


def fullwidth(text: str) -> str:
    """Full-width digits and punctuation, as some live pages print every cell."""
    return text.translate(_FW_TABLE)


def _text(cell: Cell, full_width: bool, sep: str = "") -> str:
    t = cell.text.replace("\n", sep)
    return fullwidth(t) if full_width else t


def _e(s: str) -> str:
    return html.escape(s, quote=False)


def html_table(rows: list[Row], full_width: bool = False, word_markup: bool = False) -> str:
    """One ``<table>`` with rowspan/colspan; ``word_markup`` wraps cells the way Word pastes do
    (``<p class=MsoNormal><span style=…>``)."""

    def td(cell: Cell) -> str:
        attrs = ""
        if cell.rowspan > 1:
            attrs += f' rowspan="{cell.rowspan}"'
        if cell.colspan > 1:
            attrs += f' colspan="{cell.colspan}"'
        text = "<br/>".join(_e(_text(Cell(x), full_width)) for x in cell.text.split("\n"))
        if not cell.text:
            text = "&nbsp;"
        if word_markup:
            text = (
                '<p class="MsoNormal" align="center" style="text-align:center">'
                f'<span style="font-size:10.5pt;font-family:宋体">{text}</span></p>'
            )
            return f'<td valign="center" style="border:solid windowtext 1.0pt"{attrs}>{text}</td>'
        return f"<td{attrs}>{text}</td>"

    cls = (
        'class="MsoNormalTable" style="border-collapse:collapse"'
        if word_markup
        else 'class="nb-table" width="100%"'
    )
    body = "\n".join("<tr>" + "".join(td(c) for c in row) + "</tr>" for row in rows)
    return f'<table {cls} border="1" cellspacing="0" cellpadding="0">\n{body}\n</table>'


def flat_cells(rows: list[Row], empty: str = "", full_width: bool = False) -> list[str]:
    """Cells in reading order, one per paragraph (merged cells once); ``empty`` for an empty
    cell (``""``: an empty paragraph or line)."""
    out = []
    for row in rows:
        for cell in row:
            out.append(_text(cell, full_width, "\n") if cell.text else empty)
    return out


def spaced_lines(
    rows: list[Row], full_width: bool = False, wrap: int = 0, null_marker: str = "/"
) -> list[str]:
    """Each row on one line, cells separated by spaces (flipbooks, PDF text layers); empty
    value cells as ``null_marker`` (an empty cell would vanish); a last label longer than
    ``wrap`` wraps, and the values follow its second piece."""
    out: list[str] = []
    for row in rows:
        labels = [_text(c, full_width) for c in row if not c.value and c.text]
        nums = [_text(c, full_width) if c.text else null_marker for c in row if c.value]
        if wrap and labels and len(labels[-1]) > wrap:
            last = labels.pop()
            out.append(" ".join(labels + [last[:wrap]]))
            labels = [last[wrap:]]
        out.append(" ".join(labels + nums))
    return out


def delimited_rows(rows: list[Row], keep_covered: bool = False) -> list[list[str]]:
    """Rows as the attachment extraction writes them: a merged cell once at its top left, the
    positions it covers left out (``keep_covered``: written as empty fields, as a rectangular
    export would)."""
    out = []
    for grid_row in _grid(rows):
        fields = []
        for entry in grid_row:
            if entry is None:
                fields.append("")
                continue
            cell, dr, dc = entry
            if dr == 0 and dc == 0:
                fields.append(cell.text.replace("\n", ""))
            elif keep_covered:
                fields.append("")
        out.append(fields)
    return out


def pipe_cells(rows: list[Row]) -> list[str]:
    """One cell per line ending in `` |``, empty grid cells as bare ``|`` (as 18_wlcb)."""
    out: list[str] = []
    for cell, dr, dc in (e for row in _grid(rows) for e in row if e is not None):
        text = cell.text.replace("\n", "")
        if dr == 0 and dc == 0:
            out.append(f"{text} |" if text else "|")
        elif dr == 0 and cell.value:
            out.append("|")  # the extra grid cells of a merged value cell stay empty
    return out


# ---------------------------------------------------------------------------------------------
# Whole documents in every layout (fixtures, property tests, bench)

TITLE = "兴安盟公安局2021政府信息公开工作年度报告"
META = "来源:盟公安局 发布日期:2022-01-21 18:27:17 点击量:"
INTRO = (
    "根据2019年5月15日开始实施的《中华人民共和国政府信息公开条例》(国务院令第711号,以下简称《条例》)"
    "和《自治区人民政府办公厅关于印发2020年政务公开和政务服务工作要点的通知》要求,现将兴安盟公安局2021年"
    "政府信息公开工作年度报告予以公布。本报告中所列数据的统计期限为2021年1月1日起至2021年12月31日止。"
)
SECTION1 = [
    "一、总体情况",
    "按照党中央、国务院及盟委、行署的部署安排,兴安盟公安局政务公开工作紧紧围绕着力健全工作机制、"
    "加强信息管理、完善平台建设、强化政策解读等方面,取得了积极成效。",
    "(一)主动公开情况。一是加大政府信息公开力度,切实做到“应公开、尽公开”。全年共开展调查问卷1次、"
    "意见建议征集1次,为开展好政务服务工作提供了积极参考。",
    "(二)依申请公开情况。2021年度兴安盟公安局未收到依申请公开。",
]
SECTION5 = [
    "五、存在的主要问题及改进情况",
    "(一)存在的主要问题",
    "公安局政务公开工作取得了一定成效,但也存在一些问题和不足,主要表现为:",
    "1.“阳光意识需进一步强化。开展问卷调查次数少、质量不高,对社会、对群众关注点敏感度不高。",
    "六、其他需要报告的事项",
    "(一)收取信息处理费情况",
    "按照《国务院办公厅关于印发〈政府信息公开信息处理费管理办法〉的通知》(国办函〔2020〕109号)规定的"
    "按件、按量收费标准,本年度没有产生信息公开处理费。",
]
LAYOUTS = (
    "html_table",
    "html_flat",
    "flattened",
    "spaced",
    "delimited",
    "pipe_cells",
    "markdown",
)


def _flat_p(cell: str) -> str:
    """One flattened cell as a paragraph; an empty one as the editors write it."""
    if not cell:
        return "<p>&nbsp;</p>"
    return "<p>" + "<br/>".join(_e(x) for x in cell.split("\n")) + "</p>"


def page_html(
    values: dict[str, Any],
    template: str = "2021",
    full_width: bool = False,
    layout_table: bool = False,
    word_markup: bool = True,
    flat: bool = False,
    labels: dict[str, str] | None = None,
) -> str:
    """A portal article page with the tables as HTML tables (Word-pasted by default) or, with
    ``flat``, flattened: one ``<p>`` per cell, an empty cell ``<p>&nbsp;</p>`` (as the seed
    page and the 上海 2019 report)."""

    def para(text: str) -> str:
        return f"<p>{_e(fullwidth(text) if full_width else text)}</p>"

    parts = [para(p) for p in SECTION1]
    for head, rows in sections(values, template, labels=labels):
        parts.append(f'<p style="text-indent:2em"><strong>{_e(head)}</strong></p>')
        if flat:
            cells = flat_cells(rows, full_width=full_width)
            parts += [_flat_p(c) for c in cells]
        else:
            parts.append(html_table(rows, full_width=full_width, word_markup=word_markup))
    parts += [para(p) for p in SECTION5]
    article = "\n".join(parts)
    if layout_table:  # old CMS pages put the whole article inside a layout table
        article = f'<table width="100%"><tr><td class="content">{article}</td></tr></table>'
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{TITLE}</title>
<script>var _hmt = _hmt || [];</script><style>td {{ font-size: 12px }}</style></head>
<body><div class="header"><a href="/">首页</a> <a href="/xam/zwgk73/">政务公开</a></div>
<div class="position">当前位置:首页 &gt; 政务公开 &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="article"><h1>兴安盟公安局</h1><div class="info">{META}</div>
<h2>{TITLE}</h2><div class="TRS_Editor"><p>{INTRO}</p>
{article}
</div></div>
<div class="footer">地 址:内蒙古乌兰浩特市兴安盟党政大楼 蒙ICP备05002755号-2</div></body></html>
"""


def text_document(body: list[str], blank_lines: bool = False) -> str:
    """A report as plain text around ``body`` (``blank_lines``: double-spaced)."""
    lines = ["兴安盟公安局", META, TITLE, INTRO, *SECTION1, *body, *SECTION5]
    return ("\n\n" if blank_lines else "\n").join(lines) + "\n"


def render(
    layout: str,
    values: dict[str, Any],
    template: str = "2021",
    labels: dict[str, str] | None = None,
    **kw: Any,
) -> str:
    """The whole report in one layout of ``LAYOUTS``.

    ``flattened`` options: ``full_width``; ``empty`` (how an empty cell is written: ``""`` an
    empty line, the default; ``None`` it vanishes, as in double-spaced saved pages);
    ``blank_lines`` (double-spaced: then an empty cell can only vanish or be written ``/``).
    ``spaced``: ``full_width``, ``wrap``, ``null_marker``. ``delimited``: ``keep_covered``.
    ``html_table``/``html_flat``: see ``page_html``.
    """
    secs = sections(values, template, labels=labels)
    body: list[str] = []
    if layout == "html_table":
        return page_html(values, template, labels=labels, **kw)
    if layout == "html_flat":
        return page_html(values, template, labels=labels, flat=True, **kw)
    if layout == "flattened":
        full_width = kw.get("full_width", False)
        empty = kw.get("empty", "")
        blank_lines = kw.get("blank_lines", False)
        for head, rows in secs:
            body.append(head)
            for c in flat_cells(rows, empty="\x00", full_width=full_width):
                if c != "\x00":
                    body.append(c.replace("\n", ""))
                elif empty is not None:
                    body.append(empty)
        return text_document(body, blank_lines=blank_lines)
    if layout == "spaced":
        for head, rows in secs:
            body.append(head)
            body += spaced_lines(
                rows,
                full_width=kw.get("full_width", False),
                wrap=kw.get("wrap", 0),
                null_marker=kw.get("null_marker", "/"),
            )
        return text_document(body)
    if layout == "delimited":
        for head, rows in secs:
            body.append(head)
            for fields in delimited_rows(rows, kw.get("keep_covered", False)):
                body.append("\t".join(fields) if len(fields) > 1 else fields[0])
        return text_document(body)
    if layout == "markdown":
        for head, rows in secs:
            body.append(head)
            for i, fields in enumerate(delimited_rows(rows)):
                body.append("| " + " | ".join(fields) + " |")
                if i == 0:
                    body.append("|" + "---|" * len(fields))
        return text_document(body)
    if layout == "pipe_cells":
        for head, rows in secs:
            body.append(head)
            body += pipe_cells(rows)
        return text_document(body)
    raise ValueError(f"unknown layout {layout!r}")


def _doc_blocks(values: dict[str, Any], template: str, labels: dict[str, str] | None) -> list[Any]:
    blocks: list[Any] = [*SECTION1]
    for head, rows in sections(values, template, labels=labels):
        blocks += [head, rows]
    return blocks + SECTION5


def build_docx(
    values: dict[str, Any], template: str = "2021", labels: dict[str, str] | None = None
) -> bytes:
    """The report as a Word document, the tables with their merged cells."""
    return A.make_docx(TITLE, _doc_blocks(values, template, labels))


def build_xlsx(
    values: dict[str, Any], template: str = "2021", labels: dict[str, str] | None = None
) -> bytes:
    """The tables as one sheet, merged cells as merges, numbers as numbers."""
    rows: list[Row] = [[Cell(TITLE)]]
    for head, section in sections(values, template, labels=labels):
        rows += [[Cell(head)], *section, []]
    rows.append([Cell(SECTION5[0])])
    return A.make_xlsx(TITLE, [("年报", rows)])


def build_pdf(
    values: dict[str, Any],
    template: str = "2021",
    ruled: bool = True,
    labels: dict[str, str] | None = None,
) -> bytes:
    """The report as a PDF with real Chinese text; ``ruled=False`` prints the tables without
    rules (cells placed by position only; long labels wrap and are vertically centred, so a
    text-order reading puts a row's numbers before its label)."""
    return A.make_pdf([TITLE, *_doc_blocks(values, template, labels)], TITLE, ruled=ruled)


# ---------------------------------------------------------------------------------------------
# The replica's reports: generated tables with consistent arithmetic


@dataclass
class Printed:
    """One printed cell: what the page shows and what a parser must read."""

    shown: str
    value: int | float | None


@dataclass
class ReportTables:
    template: str  # "2021" | "2019"
    s2: dict[str, Any] = field(default_factory=dict)  # key -> Printed or {field: Printed}
    s3: dict[str, list[Printed]] = field(default_factory=dict)  # row key -> 7 cells
    s4: dict[str, dict[str, Printed]] = field(default_factory=dict)
    broken: bool = False

    @property
    def s2_spec(self) -> list[Any]:
        return s2_spec(self.template)

    @property
    def s3_rows(self) -> list[tuple[str, str, str | None, str | None]]:
        return s3_rows(self.template)

    def values(self) -> dict[str, Any]:
        """Flat cell name -> what the page prints (the renderers' input)."""
        out: dict[str, Any] = {}
        for key, v in self.s2.items():
            if isinstance(v, Printed):
                out[f"section2.{key}"] = v.shown or None
            else:
                for f, c in v.items():
                    out[f"section2.{key}.{f}"] = c.shown or None
        for key, cells in self.s3.items():
            for col, c in zip(COLUMNS, cells, strict=True):
                out[f"section3.{key}.{col}"] = c.shown or None
        for g, cells4 in self.s4.items():
            for f, c in cells4.items():
                out[f"section4.{g}.{f}"] = c.shown or None
        return out

    def expected(self) -> dict[str, Any]:
        """The DESIGN.md "Parsed report tables" object for these tables."""

        def val(c: Any) -> Any:
            if isinstance(c, Printed):
                return c.value
            return {k: val(v) for k, v in c.items()}

        return {
            "template": self.template,
            "section2": {k: val(v) for k, v in self.s2.items()},
            "section3": {
                "columns": list(COLUMNS),
                "rows": {k: [c.value for c in cells] for k, cells in self.s3.items()},
            },
            "section4": {g: {f: c.value for f, c in cells.items()} for g, cells in self.s4.items()},
            "checks": self.checks(),
        }

    def checks(self) -> list[dict[str, Any]]:
        """The template's own arithmetic as printed (empty and `/` cells count as 0)."""
        out: list[dict[str, Any]] = []

        def n(c: Printed) -> float:
            return c.value or 0

        for i, col in enumerate(COLUMNS):
            lhs = n(self.s3["new"][i]) + n(self.s3["carried_over"][i])
            rhs = n(self.s3["total"][i]) + n(self.s3["carried_forward"][i])
            out.append(
                {
                    "rule": f"section3 new + carried_over = total + carried_forward ({col})",
                    "ok": lhs == rhs,
                    "detail": f"{lhs:g} vs {rhs:g}",
                }
            )
        for g in S4_GROUPS:
            parts = sum(n(self.s4[g][f]) for f in S4_FIELDS[:-1])
            tot = n(self.s4[g]["total"])
            out.append(
                {
                    "rule": f"section4 {g} total = sum of results",
                    "ok": parts == tot,
                    "detail": f"{parts:g} vs {tot:g}",
                }
            )
        return out

    @property
    def arithmetic_ok(self) -> bool:
        return all(c["ok"] for c in self.checks())


def _cell(v: int | float, shown: str | None = None) -> Printed:
    if shown is None:
        # Floats as written (3413.765), never rounded to a few significant digits.
        shown = str(v)
    return Printed(shown, v)


def generate(
    seed: str,
    template: str,
    *,
    applications: int | None = None,
    cells: str = "zero",
    digits: str = "half",
    broken: bool = False,
    fixed: dict[str, Any] | None = None,
) -> ReportTables:
    """Build consistent tables from a seed.

    applications: total new applications (None: random small number).
    cells: "zero" (all printed), "blank" (zero cells printed empty), "slash" (not-applicable
    columns and fees printed `/`).
    broken: add one application to 本年新收 only, so 一 + 二 = 三(七) + 四 fails.
    fixed: section-2 values copied from a real page (overrides generation).
    """
    rng = random.Random(seed)
    t = ReportTables(template=template, broken=broken)

    # Section 2.
    if template == "2021":
        issued = rng.choice([0, 0, 1, 2, 3, 5])
        repealed = rng.choice([0, 0, 0, 1])
        t.s2 = {
            "rules": {"issued": _cell(0), "repealed": _cell(0), "in_force": _cell(0)},
            "normative_documents": {
                "issued": _cell(issued),
                "repealed": _cell(repealed),
                "in_force": _cell(issued + rng.randint(0, 12)),
            },
            "licensing": _cell(rng.choice([0, rng.randint(10, 900), rng.randint(1000, 40000)])),
            "penalty": _cell(rng.choice([0, rng.randint(1, 60), rng.randint(100, 900)])),
            "enforcement": _cell(rng.choice([0, 0, rng.randint(1, 40)])),
            "fees_10k_yuan": _cell(rng.choice([0, round(rng.uniform(1, 5000), 2)])),
        }
    else:
        made = rng.choice([0, 0, 1, 2, 4])

        def trio() -> dict[str, Printed]:
            prev = rng.choice([0, rng.randint(1, 80)])
            chg = rng.randint(-3, 5) if prev else 0
            return {
                "previous_year_items": _cell(prev),
                "change": _cell(chg),
                "decisions": _cell(rng.choice([0, rng.randint(1, 3000)])),
            }

        t.s2 = {
            "rules": {"new_made": _cell(0), "new_published": _cell(0), "total_published": _cell(0)},
            "normative_documents": {
                "new_made": _cell(made),
                "new_published": _cell(made),
                "total_published": _cell(made + rng.randint(0, 20)),
            },
            "licensing": trio(),
            "other_services": trio(),
            "penalty": trio(),
            "enforcement": trio(),
            "fees": {"previous_year_items": _cell(rng.choice([0, 2, 5])), "change": _cell(0)},
            "procurement": {
                "projects": _cell(rng.choice([0, 1, 3])),
                "total_amount": _cell(rng.choice([0, round(rng.uniform(5, 300), 2)])),
            },
        }
    if fixed:
        for k, v in fixed.items():
            if isinstance(v, dict):
                t.s2[k] = {f: _cell(x) for f, x in v.items()}
            else:
                t.s2[k] = _cell(v)

    # Section 3: distribute applications over applicant columns, then over results.
    rows = t.s3_rows
    result_keys = RESULT_KEYS_2021 if template == "2021" else RESULT_KEYS_2019
    n_new = applications if applications is not None else rng.choice([0, 0, 1, 2, 3, 5, 8, 14])
    grid = {r[0]: [0] * 6 for r in rows}
    for _ in range(n_new):
        col = rng.choices(range(6), weights=[8, 3, 1, 1, 1, 1])[0]
        grid["new"][col] += 1
    carried = rng.choice([0, 0, 0, 1]) if n_new else 0
    grid["carried_over"][0] += carried
    for col in range(6):
        pending = grid["new"][col] + grid["carried_over"][col]
        fwd = 1 if pending > 2 and rng.random() < 0.3 else 0
        grid["carried_forward"][col] = fwd
        for _ in range(pending - fwd):
            key = rng.choices(result_keys, weights=[10, 3] + [1] * (len(result_keys) - 2))[0]
            grid[key][col] += 1
        grid["total"][col] = sum(grid[k][col] for k in result_keys)
    if broken:
        grid["new"][0] += 1
    for key, *_ in rows:
        vals = grid[key] + [sum(grid[key])]
        t.s3[key] = [_cell(v) for v in vals]

    # Section 4.
    t.s4 = {}
    for g in S4_GROUPS:
        vals = [0, 0, 0, 0]
        if g == "reconsideration" and rng.random() < 0.3:
            vals[rng.randint(0, 3)] = 1
        if g == "litigation_direct" and rng.random() < 0.15:
            vals[0] = 1
        t.s4[g] = {f: _cell(v) for f, v in zip(S4_FIELDS, vals + [sum(vals)], strict=True)}

    _apply_cell_policy(t, cells)
    if digits == "full":
        _walk(t, lambda c: setattr(c, "shown", fullwidth_digits(c.shown)))
    return t


def _walk(t: ReportTables, fn: Any) -> None:
    for v in t.s2.values():
        for c in v.values() if isinstance(v, dict) else [v]:
            fn(c)
    for cells in t.s3.values():
        for c in cells:
            fn(c)
    for group in t.s4.values():
        for c in group.values():
            fn(c)


def _apply_cell_policy(t: ReportTables, cells: str) -> None:
    if cells == "zero":
        return
    if cells == "blank":
        # Like real 2019-format pages where almost every cell is left empty: only the first
        # section-2 cell keeps its 0.
        first = True

        def blank(c: Printed) -> None:
            nonlocal first
            if first:
                first = False
                return
            if c.value == 0:
                c.shown, c.value = "", None

        _walk(t, blank)
        return
    if cells == "slash":
        for cells_ in t.s3.values():
            for i in (2, 3, 4):  # research, social welfare, legal services: not applicable
                if cells_[i].value == 0:
                    cells_[i].shown, cells_[i].value = "/", None
        fee_key = "fees_10k_yuan" if t.template == "2021" else None
        if fee_key and t.s2[fee_key].value == 0:
            t.s2[fee_key].shown, t.s2[fee_key].value = "/", None
        return
    raise ValueError(f"unknown cell policy {cells!r}")


# ---------------------------------------------------------------------------------------------
# The replica site's renderings of a ReportTables


def _by_section(t: ReportTables, punct: Callable[[str], str]) -> dict[str, list[Row]]:
    secs = sections(t.values(), t.template, punct)
    return {k: rows for k, (_, rows) in zip(("s2", "s3", "s4"), secs, strict=True)}


def render_html(t: ReportTables, punct: Callable[[str], str] = fw) -> dict[str, str]:
    """Proper HTML tables with rowspan/colspan. Returns {"s2": ..., "s3": ..., "s4": ...}."""
    return {k: html_table(rows) for k, rows in _by_section(t, punct).items()}


def render_flat(t: ReportTables, punct: Callable[[str], str] = fw) -> dict[str, str]:
    """One ``<p>`` per cell in reading order (the seed page's layout); empty cells
    ``<p>&nbsp;</p>``."""
    return {
        k: "\n".join(_flat_p(c) for c in flat_cells(rows))
        for k, rows in _by_section(t, punct).items()
    }


def row_lines(t: ReportTables, punct: Callable[[str], str] = fw) -> dict[str, list[str]]:
    """Rows of space-separated cells, as PDF-to-HTML flipbooks print tables."""
    return {k: spaced_lines(rows) for k, rows in _by_section(t, punct).items()}


def render_rows(t: ReportTables, punct: Callable[[str], str] = fw) -> dict[str, str]:
    return {
        k: "\n".join(f"<p>{_e(line)}</p>" for line in lines)
        for k, lines in row_lines(t, punct).items()
    }


def sheet_rows(
    values: dict[str, Any], template: str, punct: Callable[[str], str] = fw
) -> dict[str, list[list[str]]]:
    """The tables as plain rectangular grids, every label level in its own column and no
    merged cells (how spreadsheets and simple Word tables of the reports look)."""
    s2: list[list[str]] = []
    for block, cols, body in s2_spec(template):
        s2.append([punct(block)])
        s2.append([punct(c) for c in cols])
        for label, key, fields in body:
            names = (
                [f"section2.{key}"] if fields is None else [f"section2.{key}.{f}" for f in fields]
            )
            s2.append([label] + [_shown(values.get(n)) for n in names])
    s3 = [["申请人情况", "", ""] + COLUMN_LABELS]
    for key, l1, l2, l3 in s3_rows(template):
        cells = [_shown(values.get(f"section3.{key}.{c}")) for c in COLUMNS]
        s3.append([punct(l1), punct(l2 or ""), punct(l3 or "")] + cells)
    s4 = [
        ["行政复议"] * 5 + ["行政诉讼(未经复议直接起诉)"] * 5 + ["行政诉讼(复议后起诉)"] * 5,
        S4_LABELS * 3,
        [_shown(values.get(f"section4.{g}.{f}")) for g in S4_GROUPS for f in S4_FIELDS],
    ]
    return {"s2": s2, "s3": s3, "s4": s4}


def grid_rows(t: ReportTables) -> dict[str, list[list[str]]]:
    """Rectangular grids of the tables, for the replica's docx and xlsx attachments."""
    return sheet_rows(t.values(), t.template)
