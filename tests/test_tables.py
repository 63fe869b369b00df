"""The statistical-table parser on real reports, real page texts and fixtures in every layout.

The corpus (bench/table_corpus.py): documents built from known values in every layout
(tests/fixtures/tables/), the real page texts of replica/texts/ with the cells read off each
page (tests/fixtures/tables/real/), and the three real reports of tests/fixtures/real-reports/
in every layout, read by hand. Expected cells never come from the parser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bench import table_corpus as corpus
from govcrawl.extract.tables import (
    SECTION3_COLUMNS,
    SECTION3_ROWS,
    TABLE_CELL_NAMES,
    TABLE_CELL_NAMES_2019,
    TABLE_CELL_NAMES_2021,
    compute_checks,
    flatten_tables,
    parse_tables,
    tables_schema,
)

FIXTURES = Path(__file__).parent / "fixtures" / "tables"
TEXTS = Path(__file__).parent.parent / "replica" / "texts"
REPORTS = corpus.REAL_REPORTS
VALIDATOR = jsonschema.Draft202012Validator(tables_schema())

CASES = corpus.own_cases() + corpus.real_page_cases()
REPORT_CASES = corpus.real_report_cases()


def _read(name: str) -> str:
    return corpus._text(TEXTS / name)


def _checks(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["rule"]: c for c in tables["checks"]}


def test_fixture_corpus_is_complete() -> None:
    layouts = {c.layout for c in CASES}
    assert {"html_table", "flattened", "spaced", "delimited", "none"} <= layouts
    assert len([1 for c in CASES if c.corpus == "real page"]) == 15
    # every real report in every layout it has: flat, grid, (orig), text, PDF twice
    assert len(REPORT_CASES) == 4 + 5 + 5


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_every_cell(case: corpus.Case) -> None:
    tables = case.tables()
    if case.cells is None:
        assert tables is None
        return
    assert tables is not None
    assert tables["template"] == case.meta["template"]
    assert tables["layout"] == case.layout
    result = corpus.score(case.cells, tables)
    assert result["wrong_cells"] == [] and result["null_cells"] == []  # types included
    failing = sorted(c["rule"] for c in tables["checks"] if c["ok"] is False)
    assert failing == sorted(case.meta.get("failing_checks", []))
    assert list(VALIDATOR.iter_errors(tables)) == []


# --- the three real reports, every layout ------------------------------------------------------

# The checks each report really fails as printed (its own arithmetic; see its expected.json):
# 洪泽区 2023 breaks its section-4 sums; the others hold wherever every cell is printed.
REPORT_FAILING = {
    "上海市人民政府办公厅": [],
    "淮安市人民政府": [],
    "洪泽区人民政府": [
        "section4.total.litigation_after_reconsideration",
        "section4.total.reconsideration",
    ],
}


@pytest.mark.parametrize("case", REPORT_CASES, ids=[f"{c.name}:{c.layout}" for c in REPORT_CASES])
def test_real_report_every_cell_in_every_layout(case: corpus.Case) -> None:
    tables = case.tables()
    assert tables is not None and tables["template"] == case.meta["template"]
    result = corpus.score(case.cells, tables)
    assert result["wrong_cells"] == []
    assert result["null_cells"] == []
    failing = sorted(c["rule"] for c in tables["checks"] if c["ok"] is False)
    assert failing == REPORT_FAILING[case.meta["agency"]]
    assert list(VALIDATOR.iter_errors(tables)) == []


def test_real_report_with_empty_applicant_cells_has_no_false_checks() -> None:
    """上海 2019 leaves most applicant cells and the result rows' 总计 empty: those checks are
    not evaluable (ok null, detail naming the empty cells), never ok false."""
    tables = parse_tables((REPORTS / "01_shanghai_bgt_2019.flat.html").read_text(encoding="utf-8"))
    assert tables is not None
    checks = _checks(tables)
    assert not [c for c in checks.values() if c["ok"] is False]
    row = checks["section3.row_total.disclosed"]
    assert row["ok"] is None and row["detail"].startswith("not evaluable: research, ")
    assert checks["section3.balance.total"] == {
        "rule": "section3.balance.total",
        "ok": True,
        "detail": "new 859 + carried_over 18 = 877; total 805 + carried_forward 72 = 877",
    }


def test_real_report_misprinted_label_and_older_row_are_named() -> None:
    """洪泽区 2023 misprints 2.其他法律行政法规禁止公开 and prints the 2019 template's single
    （六）其他处理 row: both read, both named in the warnings."""
    tables = parse_tables((REPORTS / "06_hongze_qu_2023.grid.html").read_text(encoding="utf-8"))
    assert tables is not None
    rows = tables["section3"]["rows"]
    assert rows["withheld_prohibited_by_law"] == [0] * 7
    assert rows["other"] == [0] * 7
    assert rows["other_no_correction"] == rows["other_no_fee"] == [None] * 7
    warnings = " ".join(tables["warnings"])
    assert "'2.其他法律行政止公开' is not the template's '其他法律行政法规禁止公开'" in warnings
    assert "prints the 2019 template's single (六)其他处理 row" in warnings


def test_text_layer_numbers_before_their_label() -> None:
    """In the PDF text layer of 洪泽区 2023 some rows' numbers come on the line before their
    vertically centred label: read by the template's order, not given to the row above."""
    tables = parse_tables(corpus._text(REPORTS / "06_hongze_qu_2023.txt"))
    assert tables is not None
    rows = tables["section3"]["rows"]
    assert rows["withheld_state_secret"] == [1, 0, 0, 0, 0, 0, 1]  # text order gave 0
    assert rows["unavailable_not_held"] == [10, 0, 0, 0, 0, 0, 10]  # text order gave 3
    assert rows["unavailable_needs_creation"] == [3, 0, 0, 0, 0, 0, 3]
    assert any("numbers printed before their row's label" in w for w in tables["warnings"])


def test_page_numbers_inside_a_table_are_dropped() -> None:
    """淮安市 2024's text layer has ``- 4 -`` between two rows of a table."""
    text = corpus._text(REPORTS / "05_huaian_shi_2024.txt")
    assert "\n- 4 -\n" in text
    tables = parse_tables(text)
    assert tables is not None
    assert tables["section3"]["rows"]["unavailable_not_held"] == [746, 12, 0, 0, 10, 1, 769]


def test_grid_value_spanning_as_its_header_is_one_cell() -> None:
    """上海 2019's own markup: section 2 is five grid columns wide; 本年新公开数量 and the value
    under it both span two columns (one cell). Where a value's span differs from its header's
    but the row has one value per header, they are read in order, with a warning."""
    tables = parse_tables((REPORTS / "01_shanghai_bgt_2019.orig.html").read_text(encoding="utf-8"))
    assert tables is not None
    s2 = tables["section2"]
    assert s2["rules"] == {"new_made": 13, "new_published": 13, "total_published": 524}
    assert s2["procurement"] == {"projects": 6, "total_amount": 251000}
    assert s2["licensing"] == {"previous_year_items": 0, "change": 0, "decisions": 0}
    assert any(
        w.startswith("section2.licensing: value cells do not line up with their headers")
        for w in tables["warnings"]
    )


# --- the seed page (兴安盟公安局 2021, tables flattened one cell per line) -------------------


def test_seed_section2() -> None:
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    assert t is not None and t["template"] == "2021"
    assert t["section2"] == {
        "rules": {"issued": 0, "repealed": 0, "in_force": 0},
        "normative_documents": {"issued": 2, "repealed": 0, "in_force": 2},
        "licensing": 307111,
        "penalty": 10,
        "enforcement": 289,
        "fees_10k_yuan": 3413.765,
    }


def test_seed_section3_all_25_rows() -> None:
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    assert t is not None
    assert t["section3"]["columns"] == list(SECTION3_COLUMNS)
    assert list(t["section3"]["rows"]) == list(SECTION3_ROWS)
    for row, cells in t["section3"]["rows"].items():
        assert cells == [0] * 7, row


def test_seed_section4_is_not_guessed() -> None:
    """The page prints 10 values for 15 cells: nothing can be attributed, so all null + why."""
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    assert t is not None
    for block in t["section4"].values():
        assert block == dict.fromkeys(("upheld", "corrected", "other", "pending", "total"))
    assert any("section4" in w and "10" in w for w in t["warnings"])


def test_seed_checks() -> None:
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    assert t is not None
    checks = _checks(t)
    assert {f"section3.balance.{c}" for c in SECTION3_COLUMNS} <= set(checks)
    assert {f"section3.row_total.{r}" for r in SECTION3_ROWS} <= set(checks)
    assert {f"section3.results_total.{c}" for c in SECTION3_COLUMNS} <= set(checks)
    assert all(c["ok"] is True for c in checks.values())
    # section 4 is all null: nothing to check, so no section-4 checks at all
    assert not [r for r in checks if r.startswith("section4")]
    assert len(checks) == 7 + 25 + 7


def test_flipbook_section4() -> None:
    t = parse_tables(_read("24_wendeng_xfj_2022_flipbook_p8.txt"))
    assert t is not None
    assert t["layout"] == "spaced"
    for block in ("reconsideration", "litigation_direct", "litigation_after_reconsideration"):
        assert t["section4"][block] == dict.fromkeys(
            ("upheld", "corrected", "other", "pending", "total"), 0
        )
    assert all(v is None for row in t["section3"]["rows"].values() for v in row)
    assert sorted(_checks(t)) == [
        "section4.total.litigation_after_reconsideration",
        "section4.total.litigation_direct",
        "section4.total.reconsideration",
    ]


def test_2019_pipe_cells_real_page() -> None:
    t = parse_tables(_read("18_wlcb_qyjj_2020.txt"))
    assert t is not None and t["template"] == "2019"
    s2 = t["section2"]
    assert s2["rules"] == {"new_made": 0, "new_published": 0, "total_published": 0}
    assert s2["fees"] == {"previous_year_items": 0, "change": 0}  # its 3rd cell "|" is padding
    assert s2["procurement"] == {"projects": 0, "total_amount": 0}
    assert t["warnings"] == []


def test_2019_empty_tables_are_nulls_not_zeros() -> None:
    """雄县 page: the 2019 tables with (almost) every value cell empty."""
    t = parse_tables(_read("20_xiongxian_xiang_2019.txt"))
    assert t is not None and t["template"] == "2019"
    assert all(v is None for v in flatten_tables(t).values())
    # the lone "0" under 规章 cannot say which of three cells it is
    assert t["warnings"] == ["section2.rules: 1 cells where the template has 3; left null"]
    assert t["checks"] == []


@pytest.mark.parametrize(
    "name",
    [
        "01_xam_gaj_2021.txt",
        "05_xam_mzj_2021.txt",
        "07_xam_meng_2019.txt",
        "22_np_2012_oldformat.txt",
    ],
)
def test_prose_openings_have_no_tables(name: str) -> None:
    assert parse_tables(_read(name)) is None


# --- behaviour on small inputs -------------------------------------------------------------

S3_HEAD = "三、收到和处理政府信息公开申请情况\n"


def test_empty_and_slash_cells_are_null_never_zero() -> None:
    html = (
        "<p>二、主动公开政府信息情况</p><table>"
        "<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>"
        "<tr><td>规章</td><td>1</td><td>&nbsp;</td><td>/</td></tr>"
        "<tr><td>行政规范性文件</td><td>－</td><td>无</td><td>２</td></tr>"
        "<tr><td>行政许可</td><td colspan=3></td></tr>"
        "<tr><td>行政处罚</td><td colspan=3>7</td></tr></table>"
    )
    t = parse_tables(html)
    assert t is not None
    assert t["section2"]["rules"] == {"issued": 1, "repealed": None, "in_force": None}
    assert t["section2"]["normative_documents"] == {"issued": None, "repealed": None, "in_force": 2}
    assert t["section2"]["licensing"] is None
    assert t["section2"]["penalty"] == 7  # one decision count spanning the three columns


def test_wrong_cell_count_leaves_row_null_with_warning() -> None:
    text = (
        S3_HEAD
        + "一、本年新收政府信息公开申请数量\n3\n1\n4\n二、上年结转政府信息公开申请数量\n"
        + ("0\n" * 7)
        + "四、结转下年度继续办理\n"
        + "1\n" * 7
    )
    t = parse_tables(text)
    assert t is not None
    assert t["section3"]["rows"]["new"] == [None] * 7
    assert t["section3"]["rows"]["carried_over"] == [0] * 7
    assert t["section3"]["rows"]["carried_forward"] == [1] * 7
    assert "section3.new: 3 cells where the template has 7; left null" in t["warnings"]


def test_merged_number_over_several_counts_is_not_copied() -> None:
    rows = "".join(
        f"<tr><td>{label}</td>" + "<td>0</td>" * 7 + "</tr>"
        for label in ("一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量")
    )
    rows += "<tr><td>四、结转下年度继续办理</td><td colspan=2>5</td>" + "<td>0</td>" * 5 + "</tr>"
    t = parse_tables(f"<p>{S3_HEAD}</p><table>{rows}</table>")
    assert t is not None
    # the 5 covers 自然人 and 商业企业: neither cell can have it; the others keep their column
    assert t["section3"]["rows"]["carried_forward"] == [None, None, 0, 0, 0, 0, 0]
    assert any("carried_forward.natural_person" in w and "merged" in w for w in t["warnings"])
    assert any("carried_forward.commercial" in w and "merged" in w for w in t["warnings"])


def test_section4_as_three_rows_of_five() -> None:
    html = (
        "<p>四、政府信息公开行政复议、行政诉讼情况</p><table>"
        "<tr><td>行政复议</td><td>1</td><td>2</td><td>3</td><td>4</td><td>10</td></tr>"
        "<tr><td>未经复议直接起诉</td><td>5</td><td>6</td><td>7</td><td>8</td><td>26</td></tr>"
        "<tr><td>复议后起诉</td><td>0</td><td>0</td><td>1</td><td>0</td><td>1</td></tr></table>"
        "<p>五、存在的主要问题及改进情况</p><p>规章 1 2 3</p>"
    )
    t = parse_tables(html)
    assert t is not None
    assert t["section4"]["reconsideration"] == {
        "upheld": 1,
        "corrected": 2,
        "other": 3,
        "pending": 4,
        "total": 10,
    }
    assert t["section4"]["litigation_direct"]["total"] == 26
    assert t["section4"]["litigation_after_reconsideration"]["other"] == 1
    assert all(c["ok"] for c in t["checks"])
    # nothing after section 五 is read as a table
    assert t["section2"]["rules"] == {"issued": None, "repealed": None, "in_force": None}


def test_partly_null_check_is_not_evaluable() -> None:
    tables = parse_tables((FIXTURES / "html_2021_rowspan.html").read_text(encoding="utf-8"))
    assert tables is not None
    c = _checks(tables)["section3.row_total.withheld_query_matters"]
    assert c["ok"] is None
    assert "research" in c["detail"] and "total" in c["detail"]
    good = _checks(tables)["section3.balance.total"]
    assert good == {
        "rule": "section3.balance.total",
        "ok": True,
        "detail": "new 18 + carried_over 1 = 19; total 17 + carried_forward 2 = 19",
    }


def test_broken_arithmetic_is_reported_not_repaired() -> None:
    t = parse_tables((FIXTURES / "html_2021_broken_arithmetic.html").read_text(encoding="utf-8"))
    assert t is not None
    assert t["section3"]["rows"]["total"][0] == 13  # as printed
    c = _checks(t)["section3.balance.natural_person"]
    assert c == {
        "rule": "section3.balance.natural_person",
        "ok": False,
        "detail": "new 12 + carried_over 1 = 13; total 13 + carried_forward 1 = 14 (differs)",
    }
    assert _checks(t)["section4.total.reconsideration"]["ok"] is False


def test_compute_checks_2019_uses_single_other_row() -> None:
    t = parse_tables((FIXTURES / "html_2019.html").read_text(encoding="utf-8"))
    assert t is not None
    rules = set(_checks(t))
    assert "section3.row_total.other" in rules
    assert "section3.row_total.other_no_correction" not in rules
    assert t["section3"]["rows"]["other"] == [0, 1, 0, 0, 0, 0, 1]
    assert t["section3"]["rows"]["other_no_fee"] == [None] * 7
    assert t["section2"]["licensing"] == {
        "previous_year_items": 48,
        "change": -3,
        "decisions": 1207,
    }
    assert t["section2"]["procurement"]["total_amount"] == 136.8
    assert compute_checks(t) == t["checks"]


def test_spaced_rows_with_wrapped_labels() -> None:
    text = (
        S3_HEAD
        + "(六)其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府\n"
        + "信息公开申请 1 0 0 0 0 0 1\n"
        + "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再\n"
        + "处理其政府信息公开申请 0 2 0 0 0 0 2\n"
        + "3.其他 0 0 3 0 0 0 3\n(七)总计 1 2 3 0 0 0 6\n"
    )
    t = parse_tables(text)
    assert t is not None
    rows = t["section3"]["rows"]
    assert rows["other_no_correction"] == [1, 0, 0, 0, 0, 0, 1]
    assert rows["other_no_fee"] == [0, 2, 0, 0, 0, 0, 2]
    assert rows["other"] == [0, 0, 3, 0, 0, 0, 3]
    assert rows["total"] == [1, 2, 3, 0, 0, 0, 6]


def test_column_header_words_are_not_rows() -> None:
    """其他 and 总计 are also column headers; alone before any row they name no row."""
    text = S3_HEAD + "自然人\n法人或其他组织\n总计\n" + "|\n" * 7 + "其他\n" + "1\n" * 7
    t = parse_tables(text)
    assert t is None or (
        t["section3"]["rows"]["total"] == [None] * 7
        and t["section3"]["rows"]["other"] == [None] * 7
    )


def test_xhtml_with_xml_declaration() -> None:
    html = (FIXTURES / "html_2021_rowspan.html").read_text(encoding="utf-8")
    decl = '<?xml version="1.0" encoding="utf-8"?>\n' + html
    assert flatten_tables(parse_tables(decl)) == flatten_tables(parse_tables(html))


def test_duplicate_row_keeps_first_and_warns() -> None:
    text = (
        S3_HEAD
        + "一、本年新收政府信息公开申请数量 1 0 0 0 0 0 1\n"
        + "一、本年新收政府信息公开申请数量 2 0 0 0 0 0 2\n"
        + "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0\n"
        + "四、结转下年度继续办理 0 0 0 0 0 0 0\n"
    )
    t = parse_tables(text)
    assert t is not None
    assert t["section3"]["rows"]["new"] == [1, 0, 0, 0, 0, 0, 1]
    assert any("section3.new: appears again" in w for w in t["warnings"])


S3_ROWS_TEXT = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "四、结转下年度继续办理",
]


def test_empty_paragraphs_of_a_flattened_page_are_cells() -> None:
    """One <p> per cell: an empty cell is <p>&nbsp;</p> (or <p></p>, <p><br></p>) and keeps
    its place, so the cells after it do not shift and the row is not lost."""
    cells = ["5", "&nbsp;", "", "<br>", "1", "\u3000", "6"]
    html = (
        f"<p>{S3_HEAD}</p><p>{S3_ROWS_TEXT[0]}</p>"
        + "".join(f"<p>{c}</p>" for c in cells)
        + f"<p>{S3_ROWS_TEXT[1]}</p>"
        + "<p>0</p>" * 7
        + f"<p>{S3_ROWS_TEXT[2]}</p>"
        + "<p>1</p>" * 7
    )
    t = parse_tables(html)
    assert t is not None
    assert t["section3"]["rows"]["new"] == [5, None, None, None, 1, None, 6]
    assert t["layout"] == "flattened"


def test_empty_lines_are_cells_unless_the_text_is_double_spaced() -> None:
    single = "\n".join(
        [S3_HEAD.strip(), S3_ROWS_TEXT[0], "5", "", "", "", "1", "", "6"]
        + [S3_ROWS_TEXT[1], *"0000000", S3_ROWS_TEXT[2], *"1111111"]
    )
    t = parse_tables(single)
    assert t is not None and t["section3"]["rows"]["new"] == [5, None, None, None, 1, None, 6]
    # Double-spaced (every line followed by an empty one): empty lines carry no cells, so a
    # row whose empty cells vanished is left null, never shifted.
    lines = [S3_HEAD.strip(), S3_ROWS_TEXT[0], "5", "1", "6"]
    lines += [S3_ROWS_TEXT[1], *"0000000", S3_ROWS_TEXT[2], *"1111111"]
    t = parse_tables("\n\n".join(lines))
    assert t is not None
    assert t["section3"]["rows"]["new"] == [None] * 7
    assert t["section3"]["rows"]["carried_over"] == [0] * 7
    assert "section3.new: 3 cells where the template has 7; left null" in t["warnings"]


def test_section3_columns_placed_by_their_headers() -> None:
    """A grid whose columns are not in the template's order (or carry an extra column) is
    read by its header text."""
    order = [
        "总计",
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "备注",
    ]
    head = "<tr><td>项目</td>" + "".join(f"<td>{h}</td>" for h in order) + "</tr>"
    rows = [
        (S3_ROWS_TEXT[0], [7, 1, 2, 0, 0, 3, 1, "说明"]),
        (S3_ROWS_TEXT[1], [0, 0, 0, 0, 0, 0, 0, ""]),
        (S3_ROWS_TEXT[2], [2, 2, 0, 0, 0, 0, 0, ""]),
    ]
    body = "".join(
        f"<tr><td>{label}</td>" + "".join(f"<td>{v}</td>" for v in vals) + "</tr>"
        for label, vals in rows
    )
    t = parse_tables(f"<p>{S3_HEAD}</p><table>{head}{body}</table>")
    assert t is not None
    assert t["section3"]["rows"]["new"] == [1, 2, 0, 0, 3, 1, 7]
    assert t["section3"]["rows"]["carried_forward"] == [2, 0, 0, 0, 0, 0, 2]
    assert any("placed by their column headers" in w for w in t["warnings"])


def test_a_row_of_numbers_between_two_labels_is_not_guessed() -> None:
    """Text layer: a line of numbers printed between two labels, either of which could own it
    (the one before has no numbers, the one after has none either): left null, with why."""
    text = (
        S3_HEAD
        + "一、本年新收政府信息公开申请数量 1 0 0 0 0 0 1\n"
        + "二、上年结转政府信息公开申请数量\n"
        + "0 0 0 0 0 0 0\n"
        + "(一)予以公开\n"
        + "(二)部分公开 1 0 0 0 0 0 1\n"
    )
    t = parse_tables(text)
    assert t is not None
    assert t["section3"]["rows"]["carried_over"] == [None] * 7
    assert t["section3"]["rows"]["disclosed"] == [None] * 7
    assert t["section3"]["rows"]["partially_disclosed"] == [1, 0, 0, 0, 0, 0, 1]
    assert any(w.startswith("section3.carried_over or section3.disclosed:") for w in t["warnings"])


def test_group_label_before_values_is_not_the_older_row_when_subrows_exist() -> None:
    """A 2021 report whose (六)其他处理 group is followed by values because its first sub-row's
    label was lost: the values are not the older single row's (they are unattributable)."""
    text = (
        S3_HEAD
        + "(六)其他处理 1 0 0 0 0 0 1\n"
        + "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请 0 0 0 0 0 0 0\n"
        + "3.其他 0 2 0 0 0 0 2\n"
        + "(七)总计 1 2 0 0 0 0 3\n"
    )
    t = parse_tables(text)
    assert t is not None
    rows = t["section3"]["rows"]
    assert rows["other_no_correction"] == [None] * 7
    assert rows["other"] == [0, 2, 0, 0, 0, 0, 2]
    assert rows["other_no_fee"] == [0] * 7


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "<html></html>",
        "<table><tr><td rowspan=99999999 colspan=-3>1</td></tr></table>",
        "\x00\x01<p>\ud800</p>",
        "<?xml version='1.0'?>",
        "规章\n1\n2",
        "三、收到和处理政府信息公开申请情况",
    ],
)
def test_garbage_never_raises(garbage: str) -> None:
    assert parse_tables(garbage) is None


def test_non_string_input() -> None:
    assert parse_tables(None) is None  # type: ignore[arg-type]
    assert parse_tables(b"<p>x</p>") is None  # type: ignore[arg-type]


# --- flat names and the schema ---------------------------------------------------------------


def test_cell_names() -> None:
    assert len(TABLE_CELL_NAMES) == len(set(TABLE_CELL_NAMES))
    assert "section3.new.natural_person" in TABLE_CELL_NAMES
    assert "section2.fees_10k_yuan" in TABLE_CELL_NAMES_2021
    assert "section2.procurement.total_amount" in TABLE_CELL_NAMES_2019
    assert len(TABLE_CELL_NAMES_2021) == 3 + 3 + 4 + 175 + 15
    assert set(TABLE_CELL_NAMES) == set(TABLE_CELL_NAMES_2021) | set(TABLE_CELL_NAMES_2019)


def test_flatten_tables() -> None:
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    flat = flatten_tables(t)
    assert list(flat) == list(TABLE_CELL_NAMES)
    assert flat["section2.licensing"] == 307111
    assert flat["section3.total.total"] == 0
    assert flat["section2.rules.new_made"] is None  # a 2019 name on a 2021 report
    assert flatten_tables(None) == dict.fromkeys(TABLE_CELL_NAMES)


def test_schema_rejects_bad_objects() -> None:
    t = parse_tables(_read("00_seed_xam_gaj_2021_full.txt"))
    assert t is not None
    assert VALIDATOR.is_valid(t)
    bad = json.loads(json.dumps(t))
    bad["section3"]["rows"]["new"][0] = "0"
    assert not VALIDATOR.is_valid(bad)
    bad = json.loads(json.dumps(t))
    bad["section2"] = {"rules": {"new_made": 0, "new_published": 0, "total_published": 0}}
    assert not VALIDATOR.is_valid(bad)  # 2019 section 2 under a 2021 template
    bad = json.loads(json.dumps(t))
    del bad["section3"]["rows"]["carried_forward"]
    assert not VALIDATOR.is_valid(bad)
