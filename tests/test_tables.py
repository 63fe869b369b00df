"""The statistical-table parser on real page texts and on fixtures in every layout.

Fixtures live in tests/fixtures/tables/ (``<name>.<ext>`` + ``<name>.expected.json``; real page
texts under real/); their expected cells were written from the values put into each document,
or read off the real page, never taken from the parser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

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
REAL = FIXTURES / "real"
VALIDATOR = jsonschema.Draft202012Validator(tables_schema())


def _cases() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for exp in sorted(FIXTURES.rglob("*.expected.json")):
        stem = exp.name.removesuffix(".expected.json")
        doc = next(
            p
            for p in exp.parent.iterdir()
            if p.name.startswith(stem + ".") and p.suffix in (".txt", ".html")
        )
        out.append((doc, json.loads(exp.read_text(encoding="utf-8"))))
    return out


CASES = _cases()


def _read(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


def _checks(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["rule"]: c for c in tables["checks"]}


def test_fixture_corpus_is_complete() -> None:
    layouts = {meta["layout"] for _, meta in CASES}
    assert {"html_table", "flattened", "spaced", "delimited", "none"} <= layouts
    assert len([1 for d, _ in CASES if d.parent == REAL]) == 15


@pytest.mark.parametrize("doc,meta", CASES, ids=[d.name for d, _ in CASES])
def test_fixture_every_cell(doc: Path, meta: dict[str, Any]) -> None:
    tables = parse_tables(doc.read_text(encoding="utf-8"))
    if meta["cells"] is None:
        assert tables is None
        return
    assert tables is not None
    assert tables["template"] == meta["template"]
    assert tables["layout"] == meta["layout"]
    flat = flatten_tables(tables)
    wrong = {n: (v, flat[n]) for n, v in meta["cells"].items() if flat[n] != v}
    assert wrong == {}
    # ints stay ints: a count never comes back as 3.0
    for n, v in meta["cells"].items():
        assert type(flat[n]) is type(v), n
    failing = sorted(c["rule"] for c in tables["checks"] if c["evaluable"] and not c["ok"])
    assert failing == sorted(meta.get("failing_checks", []))
    assert list(VALIDATOR.iter_errors(tables)) == []


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
    assert all(c["ok"] and c["evaluable"] for c in checks.values())
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
    assert c["ok"] is False and c["evaluable"] is False
    assert "research" in c["detail"] and "total" in c["detail"]
    good = _checks(tables)["section3.balance.total"]
    assert good == {
        "rule": "section3.balance.total",
        "ok": True,
        "evaluable": True,
        "detail": "new 18 + carried_over 1 = 19; total 17 + carried_forward 2 = 19",
    }


def test_broken_arithmetic_is_reported_not_repaired() -> None:
    t = parse_tables((FIXTURES / "html_2021_broken_arithmetic.html").read_text(encoding="utf-8"))
    assert t is not None
    assert t["section3"]["rows"]["total"][0] == 13  # as printed
    c = _checks(t)["section3.balance.natural_person"]
    assert c["ok"] is False and c["evaluable"] is True
    assert c["detail"] == (
        "new 12 + carried_over 1 = 13; total 13 + carried_forward 1 = 14 (differs)"
    )
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
