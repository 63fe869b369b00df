"""Statistical tables of the annual-report templates: values, ground truth and renderings.

One `ReportTables` holds, for every cell, the string printed on the page and the value a parser
must read back (None for empty and `/` cells). The expected dict (DESIGN.md "Parsed report
tables" shape) and every rendering (HTML table, one cell per paragraph, space-separated rows, docx,
xlsx, PDF lines) come from that one object, so the ground truth is never typed twice.
"""

from __future__ import annotations

import html
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from replica.textutil import fullwidth_digits, fw

logger = logging.getLogger(__name__)

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
S3_ROWS_2019 = [r for r in S3_ROWS_2021 if r[0] not in ("other_no_correction", "other_no_fee")]
S3_ROWS_2019 = [
    ("other", _R3, "(六)其他处理", None) if r[0] == "other" else r for r in S3_ROWS_2019
]
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

# Section 2 layout per template: (block label, column labels, [(row label, key, [fields])]).
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


@dataclass
class Cell:
    """One printed cell: what the page shows and what a parser must read."""

    shown: str
    value: int | float | None


@dataclass
class ReportTables:
    template: str  # "2021" | "2019"
    s2: dict[str, Any] = field(default_factory=dict)  # key -> Cell or {field: Cell}
    s3: dict[str, list[Cell]] = field(default_factory=dict)  # row key -> 7 cells
    s4: dict[str, dict[str, Cell]] = field(default_factory=dict)
    broken: bool = False

    @property
    def s2_spec(self) -> list:
        return S2_2021 if self.template == "2021" else S2_2019

    @property
    def s3_rows(self) -> list[tuple[str, str, str | None, str | None]]:
        return S3_ROWS_2021 if self.template == "2021" else S3_ROWS_2019

    def expected(self) -> dict[str, Any]:
        """The DESIGN.md "Parsed report tables" object for these tables."""

        def val(c: Any) -> Any:
            if isinstance(c, Cell):
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

        def n(c: Cell) -> float:
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


# ---------------------------------------------------------------------------------------------
# Generation


def _cell(v: int | float, shown: str | None = None) -> Cell:
    if shown is None:
        # Floats as written (3413.765), never rounded to a few significant digits.
        shown = str(v)
    return Cell(shown, v)


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

        def trio() -> dict[str, Cell]:
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

        def blank(c: Cell) -> None:
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
# Rendering. Every renderer returns HTML for the page body (or plain lines for documents).


def _e(s: str) -> str:
    return html.escape(s, quote=False)


def _td(text: str, attrs: str = "") -> str:
    inner = "<br/>".join(_e(p) for p in text.split("\n")) if text else "&nbsp;"
    return f"<td{attrs}>{inner}</td>" if text or attrs else "<td></td>"


def _s2_rows(t: ReportTables) -> list[tuple[str, list[str], list[tuple[str, list[Cell]]]]]:
    """(block label, column labels, [(row label, cells)]) for section 2."""
    out = []
    for label, cols, rows in t.s2_spec:
        body = []
        for row_label, key, fields in rows:
            v = t.s2[key]
            body.append((row_label, [v[f] for f in fields] if fields else [v]))
        out.append((label, cols, body))
    return out


def render_html(t: ReportTables, punct: Any = fw) -> dict[str, str]:
    """Proper HTML tables with rowspan/colspan. Returns {"s2": ..., "s3": ..., "s4": ...}."""
    p = punct
    s2 = ['<table class="nb-table" border="1" cellspacing="0" cellpadding="0" width="100%">']
    for label, cols, body in _s2_rows(t):
        s2.append(f'<tr><td colspan="{len(cols)}" align="center">{_e(p(label))}</td></tr>')
        s2.append("<tr>" + "".join(_td(p(c)) for c in cols) + "</tr>")
        for row_label, cells in body:
            s2.append("<tr>" + _td(row_label) + "".join(_td(c.shown) for c in cells) + "</tr>")
    s2.append("</table>")

    s3 = ['<table class="nb-table" border="1" cellspacing="0" cellpadding="0" width="100%">']
    s3.append(
        f'<tr><td colspan="3" rowspan="3">{_e(p(S3_NOTE))}</td>'
        '<td colspan="7" align="center">申请人情况</td></tr>'
    )
    s3.append(
        '<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td>'
        '<td rowspan="2">总计</td></tr>'
    )
    s3.append(
        "<tr>"
        + "".join(
            _td(c) for c in ["商业\n企业", "科研\n机构", "社会公益组织", "法律服务机构", "其他"]
        )
        + "</tr>"
    )
    rows = t.s3_rows
    l1_span = {k: sum(1 for r in rows if r[1] == k) for k in {r[1] for r in rows}}
    l2_span = {k: sum(1 for r in rows if r[2] == k) for k in {r[2] for r in rows} if k}
    seen1: set[str] = set()
    seen2: set[str] = set()
    for key, l1, l2, l3 in rows:
        tds = []
        if l1 not in seen1:
            seen1.add(l1)
            if l2 is None:
                tds.append(_td(p(l1), ' colspan="3"'))
            else:
                tds.append(_td(p(l1), f' rowspan="{l1_span[l1]}"'))
        if l2 is not None and l2 not in seen2:
            seen2.add(l2)
            if l3 is None:
                tds.append(_td(p(l2), ' colspan="2"'))
            else:
                tds.append(_td(p(l2), f' rowspan="{l2_span[l2]}"'))
        if l3 is not None:
            tds.append(_td(p(l3)))
        tds += [_td(c.shown) for c in t.s3[key]]
        s3.append("<tr>" + "".join(tds) + "</tr>")
    s3.append("</table>")

    s4 = ['<table class="nb-table" border="1" cellspacing="0" cellpadding="0" width="100%">']
    s4.append('<tr><td colspan="5">行政复议</td><td colspan="10">行政诉讼</td></tr>')
    s4.append(
        "<tr>"
        + "".join(
            _td(x, ' rowspan="2"')
            for x in ["结果\n维持", "结果\n纠正", "其他\n结果", "尚未\n审结", "总计"]
        )
        + '<td colspan="5">未经复议直接起诉</td><td colspan="5">复议后起诉</td></tr>'
    )
    s4.append(
        "<tr>"
        + "".join(
            _td(x) for x in ["结果\n维持", "结果\n纠正", "其他\n结果", "尚未\n审结", "总计"] * 2
        )
        + "</tr>"
    )
    s4.append(
        "<tr>" + "".join(_td(t.s4[g][f].shown) for g in S4_GROUPS for f in S4_FIELDS) + "</tr>"
    )
    s4.append("</table>")
    return {"s2": "\n".join(s2), "s3": "\n".join(s3), "s4": "\n".join(s4)}


def flat_cells(t: ReportTables, punct: Any = fw) -> dict[str, list[str]]:
    """Cells in reading order, one per paragraph (the seed page's layout)."""
    p = punct
    s2: list[str] = []
    for label, cols, body in _s2_rows(t):
        s2.append(p(label))
        s2 += [p(c) for c in cols]
        for row_label, cells in body:
            s2.append(row_label)
            s2 += [c.shown for c in cells]
    s3 = [
        p(S3_NOTE),
        "申请人情况",
        "自然人",
        "法人或其他组织",
        "总计",
        "商业\n企业",
        "科研\n机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
    ]
    seen: set[str] = set()
    for key, l1, l2, l3 in t.s3_rows:
        for lab in (l1, l2):
            if lab and lab not in seen:
                seen.add(lab)
                s3.append(p(lab))
        if l3:
            s3.append(p(l3))
        s3 += [c.shown for c in t.s3[key]]
    s4 = [
        "行政复议",
        "行政诉讼",
        "结果维持",
        "结果\n纠正",
        "其他\n结果",
        "尚未\n审结",
        "总计",
        "未经复议直接起诉",
        "复议后起诉",
    ]
    s4 += ["结果\n维持", "结果\n纠正", "其他\n结果", "尚未\n审结", "总计"] * 2
    s4 += [t.s4[g][f].shown for g in S4_GROUPS for f in S4_FIELDS]
    return {"s2": s2, "s3": s3, "s4": s4}


def render_flat(t: ReportTables, punct: Any = fw) -> dict[str, str]:
    cells = flat_cells(t, punct)
    out = {}
    for k, lst in cells.items():
        out[k] = "\n".join(
            "<p>" + ("<br/>".join(_e(x) for x in c.split("\n")) if c else "&nbsp;") + "</p>"
            for c in lst
        )
    return out


def row_lines(t: ReportTables, punct: Any = fw) -> dict[str, list[str]]:
    """Rows of space-separated numbers, as PDF-to-HTML flipbooks print tables."""
    p = punct
    s2: list[str] = []
    for label, cols, body in _s2_rows(t):
        s2.append(p(label))
        s2.append(" ".join(p(c) for c in cols))
        for row_label, cells in body:
            s2.append(" ".join([row_label] + [c.shown for c in cells]))
    s3 = [
        p(S3_NOTE),
        "申请人情况",
        "自然人 法人或其他组织 总计",
        "商业企业 科研机构 社会公益组织 法律服务机构 其他",
    ]
    seen: set[str] = set()
    for key, l1, l2, l3 in t.s3_rows:
        labels = []
        for lab in (l1, l2):
            if lab and lab not in seen:
                seen.add(lab)
                labels.append(p(lab))
        if l3:
            labels.append(p(l3))
        s3.append(" ".join(labels + [c.shown for c in t.s3[key]]))
    s4 = [
        "行政复议 行政诉讼",
        "未经复议直接起诉 复议后起诉",
        "结果 结果 其他 尚未 总 结果 结果 其他 尚未 总 结果 结果 其他 尚未 总",
        "维持 纠正 结果 审结 计 维持 纠正 结果 审结 计 维持 纠正 结果 审结 计",
        " ".join(t.s4[g][f].shown for g in S4_GROUPS for f in S4_FIELDS),
    ]
    return {"s2": s2, "s3": s3, "s4": s4}


def render_rows(t: ReportTables, punct: Any = fw) -> dict[str, str]:
    return {
        k: "\n".join(f"<p>{_e(line)}</p>" for line in lines)
        for k, lines in row_lines(t, punct).items()
    }


def grid_rows(t: ReportTables) -> dict[str, list[list[str]]]:
    """Plain rectangular grids (label columns + values), for docx and xlsx attachments."""
    s2 = []
    for label, cols, body in _s2_rows(t):
        s2.append([fw(label)])
        s2.append([fw(c) for c in cols])
        for row_label, cells in body:
            s2.append([row_label] + [c.shown for c in cells])
    s3 = [["申请人情况", "", ""] + COLUMN_LABELS]
    for key, l1, l2, l3 in t.s3_rows:
        s3.append([fw(l1), fw(l2 or ""), fw(l3 or "")] + [c.shown for c in t.s3[key]])
    s4 = [
        ["行政复议"] * 5 + ["行政诉讼(未经复议直接起诉)"] * 5 + ["行政诉讼(复议后起诉)"] * 5,
        S4_LABELS * 3,
        [t.s4[g][f].shown for g in S4_GROUPS for f in S4_FIELDS],
    ]
    return {"s2": s2, "s3": s3, "s4": s4}
