"""`govcrawl coverage`: the agency x year matrix, its CSV and its HTML heat map.

Pure tests of ``build_coverage`` on hand-built records; then the command on real crawls of the
replica (round 1, and round 2 where a report vanished), checked against an independent reading of
reports.jsonl; then the page in headless Debian chromium, checked by the colours on screen.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageFilter

from govcrawl.publish import coverage as cov
from tests.chromium import CHROMIUM, chromium
from tests.conftest import CrawlResult, run_govcrawl

CST = timezone(timedelta(hours=8))
FETCHED = "2026-11-28T04:30:00Z"


def rec(
    agency: str | None,
    year: int | None,
    published: str | None,
    *,
    url: str | None = None,
    group: str | None = None,
    status: str = "new",
    fetched: str | None = FETCHED,
    checks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A reports.jsonl record with the fields coverage reads (the others as a crawl leaves them)."""
    url = url or f"http://www.xam.gov.cn/xam/{agency}/{year}/{published}/index.html"
    return {
        "schema_version": "1.0",
        "url": url,
        "title": f"{agency}{year}年政府信息公开工作年度报告",
        "agency": agency,
        "source": None,
        "year": year,
        "published": published,
        "clicks": None,
        "text": "",
        "fetched": fetched,
        "digest": None,
        "warc": None,
        "offset": None,
        "status": status,
        "group": group,
        "counter_url": None,
        "attachments": [],
        "tables": None if checks is None else {"template": "2021", "checks": checks},
        "tables_from": None,
    }


# -- pure: build_coverage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "state"),
    [
        ("2022-01-31T23:59:59+08:00", "on_time"),
        ("2022-02-01T00:00:00+08:00", "late"),
        ("2022-01-05T09:00:00+08:00", "on_time"),
        ("2022-03-11T10:05:00+08:00", "late"),
        # Same instants written in UTC: the deadline is China time, not UTC.
        ("2022-01-31T15:59:59+00:00", "on_time"),
        ("2022-01-31T16:00:00+00:00", "late"),
    ],
)
def test_deadline_is_31_january_china_time(published: str, state: str) -> None:
    c = cov.build_coverage([rec("兴安盟公安局", 2021, published)])
    cell = c.cell("兴安盟公安局", 2021)
    assert cell is not None and cell.state == state
    assert cell.published == published
    assert cov.csv_rows(c)[0]["state"] == state


def test_missing_year_after_a_reported_year() -> None:
    c = cov.build_coverage(
        [
            rec("兴安盟民政局", 2020, "2021-01-26T10:33:20+08:00"),
            rec("兴安盟民政局", 2022, "2023-01-20T09:55:41+08:00"),
            rec("兴安盟农牧局", 2022, "2023-01-30T00:00:00+08:00"),
            rec("兴安盟教育局", 2020, "2021-01-23T09:30:00+08:00"),
        ]
    )
    assert c.years == [2020, 2021, 2022]
    assert c.agencies == sorted(["兴安盟民政局", "兴安盟农牧局", "兴安盟教育局"])
    gap = c.cell("兴安盟民政局", 2021)
    assert gap is not None and gap.state == "missing" and not gap.present
    # 2023 is after the latest year seen; 农牧局 never reported before 2022.
    assert c.cell("兴安盟民政局", 2023) is None
    assert c.cell("兴安盟农牧局", 2021) is None
    # Missing means "reported the year before": only the first silent year is missing.
    assert c.cell("兴安盟教育局", 2021).state == "missing"  # type: ignore[union-attr]
    assert c.cell("兴安盟教育局", 2022) is None
    states = {(r["agency"], r["year"]): r["state"] for r in cov.csv_rows(c)}
    assert states == {
        ("兴安盟民政局", 2020): "on_time",
        ("兴安盟民政局", 2021): "missing",
        ("兴安盟民政局", 2022): "on_time",
        ("兴安盟农牧局", 2022): "on_time",
        ("兴安盟教育局", 2020): "on_time",
        ("兴安盟教育局", 2021): "missing",
    }
    assert c.counts(2021)["missing"] == 2 and c.counts(2021)["reported"] == 0


def test_not_missing_before_the_deadline() -> None:
    records = [
        rec("兴安盟公安局", 2024, "2025-01-21T18:02:44+08:00", fetched="2026-01-20T02:00:00Z"),
        rec("兴安盟行政公署", 2024, "2025-01-20T17:24:00+08:00", fetched="2026-01-20T02:00:00Z"),
        rec("兴安盟行政公署", 2025, "2026-01-15T16:10:00+08:00", fetched="2026-01-20T02:00:00Z"),
    ]
    # The archive last looked on 20 January 2026: 公安局's 2025 report is not due yet.
    early = cov.build_coverage(records)
    assert early.as_of == datetime(2026, 1, 20, 2, tzinfo=UTC)
    assert early.cell("兴安盟公安局", 2025) is None
    # Looked at after 31 January (China time), the same archive has it missing.
    late = cov.build_coverage(records, as_of=datetime(2026, 2, 1, 0, 0, 0, tzinfo=CST))
    assert late.cell("兴安盟公安局", 2025).state == "missing"  # type: ignore[union-attr]
    just_before = cov.build_coverage(records, as_of=datetime(2026, 1, 31, 23, 59, tzinfo=CST))
    assert just_before.cell("兴安盟公安局", 2025) is None


def test_copies_of_one_report_count_once_and_all_are_linked() -> None:
    old = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4359102/4582245/index.html"
    new = "http://www.xam.gov.cn/xam/2020-03/11/article_2024041412203766299.html"
    dept = "http://mzj.xam.gov.cn/mzj/zfxxgk64/zfxxgknb25/4866590/index.html"
    main = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4872969/index.html"
    records = [
        # The new-CMS copy was re-published later; the original date decides timeliness.
        rec("兴安盟行政公署", 2019, "2020-01-21T10:05:33+08:00", url=old, group="5"),
        rec("兴安盟行政公署", 2019, "2024-04-14T12:20:37+08:00", url=new, group="5"),
        rec("兴安盟民政局", 2021, "2022-01-24T15:49:02+08:00", url=dept, group="29"),
        rec(
            "兴安盟民政局",
            2021,
            "2022-01-24T15:49:02+08:00",
            url=main,
            group="29",
            fetched="2026-11-28T04:31:07.250Z",
        ),
        # A distinct report (another group) of the same agency-year stays a second report.
        rec("兴安盟民政局", 2021, "2022-02-10T08:00:00+08:00", group="77"),
    ]
    c = cov.build_coverage(records)
    xzgs = c.cell("兴安盟行政公署", 2019)
    assert xzgs is not None and len(xzgs.reports) == 1
    assert sorted(xzgs.urls) == sorted([old, new])
    assert xzgs.state == "on_time" and xzgs.published == "2020-01-21T10:05:33+08:00"
    mzj = c.cell("兴安盟民政局", 2021)
    assert mzj is not None and [len(r.copies) for r in mzj.reports] == [2, 1]
    assert mzj.groups == ["29", "77"]
    assert mzj.state == "on_time"  # the earliest report was on time
    totals = c.totals()
    assert (totals["reported"], totals["reports"], totals["copies"]) == (2, 3, 5)
    assert c.counts(2021)["reported"] == 1 and c.counts(2019)["on_time"] == 1

    rows = {(r["agency"], r["year"]): r for r in cov.csv_rows(c, "http://127.0.0.1:8080/")}
    row = rows[("兴安盟民政局", 2021)]
    assert row["urls"].split() == mzj.urls and len(mzj.urls) == 3
    assert row["group"] == "29 77"
    replay = row["replay"].split()
    assert replay[0] == f"http://127.0.0.1:8080/govcrawl/20261128043000/{dept}"
    assert replay[1] == f"http://127.0.0.1:8080/govcrawl/20261128043107/{main}"
    page = cov.render_html(c, "http://127.0.0.1:8080")
    for url in [old, new, dept, main]:
        assert re.search(
            rf'href="http://127\.0\.0\.1:8080/govcrawl/\d{{14}}/{re.escape(url)}"', page
        )


def test_duplicate_url_in_input_keeps_latest_capture() -> None:
    url = "http://www.xam.gov.cn/xam/a/index.html"
    c = cov.build_coverage(
        [
            rec("兴安盟公安局", 2021, "2022-01-21T18:27:17+08:00", url=url, status="new"),
            rec(
                "兴安盟公安局",
                2021,
                "2022-01-21T18:27:17+08:00",
                url=url,
                status="gone",
                fetched="2026-12-01T00:00:00Z",
            ),
        ]
    )
    cell = c.cell("兴安盟公安局", 2021)
    assert cell is not None and cell.urls == [url] and cell.state == "gone"


BALANCE_FAIL = {
    "rule": "section3.balance.total",
    "ok": False,
    "evaluable": True,
    "detail": "new 6 + carried_over 0 = 6; total 5 + carried_forward 0 = 5 (differs)",
}
NOT_EVALUABLE = {
    "rule": "section3.row_total.new",
    "ok": False,
    "evaluable": False,
    "detail": "not evaluable: research null (six applicant columns = 总计)",
}
PASSING = {"rule": "section4.total.reconsideration", "ok": True, "detail": "0 = 0"}
# Schema 2: a check that cannot be evaluated says ok null.
NOT_EVALUABLE_V2 = {
    "rule": "section3.row_total.new",
    "ok": None,
    "detail": "not evaluable: research null (six applicant columns = 总计)",
}


@pytest.mark.parametrize(
    ("checks", "state"),
    [
        ([PASSING, BALANCE_FAIL], "inconsistent"),
        # The DESIGN contract's form, without "evaluable": ok false is a failure.
        ([{"rule": "section3.balance.total", "ok": False, "detail": "differs"}], "inconsistent"),
        # Empty cells on the page: nothing could be added up, so nothing contradicts.
        ([PASSING, NOT_EVALUABLE], "on_time"),
        ([PASSING, NOT_EVALUABLE_V2], "on_time"),
        ([PASSING], "on_time"),
        ([], "on_time"),
        (None, "on_time"),  # tables not parsed (yet): no verdict on them
    ],
)
def test_inconsistent_tables(checks: list[dict[str, Any]] | None, state: str) -> None:
    c = cov.build_coverage([rec("兴安盟民政局", 2023, "2024-01-22T16:18:03+08:00", checks=checks)])
    cell = c.cell("兴安盟民政局", 2023)
    assert cell is not None and cell.state == state
    if checks and any(ch is NOT_EVALUABLE or ch is NOT_EVALUABLE_V2 for ch in checks):
        assert "1 not evaluable" in cell.describe()
    if state == "inconsistent":
        assert "section3.balance.total" in cell.describe()


def test_inconsistent_in_any_copy_and_late_kept_as_flag() -> None:
    c = cov.build_coverage(
        [
            rec("兴安盟行政公署", 2022, "2023-02-03T10:20:18+08:00", group="122", checks=None),
            rec(
                "兴安盟行政公署",
                2022,
                "2023-02-03T10:20:18+08:00",
                url="http://www.xam.gov.cn/xam/copy.html",
                group="122",
                checks=[BALANCE_FAIL],
            ),
        ]
    )
    cell = c.cell("兴安盟行政公署", 2022)
    assert cell is not None and cell.state == "inconsistent"
    assert cell.flags == ("inconsistent", "late")
    page = cov.render_html(c)
    # The late flag shows as a stripe in the late colour on the inconsistent cell.
    assert re.search(
        r'class="c s-inconsistent"[^>]*style="box-shadow: inset 0 -4px 0 '
        + cov.COLOURS["late"]
        + '"',
        page,
    )


def test_gone_only_when_every_copy_is_gone() -> None:
    a = "http://mzj.xam.gov.cn/mzj/zfxxgk64/zfxxgknb25/5338373/index.html"
    b = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/5573190/5338373/index.html"
    one_gone = cov.build_coverage(
        [
            rec(
                "兴安盟民政局", 2024, "2025-01-24T11:27:36+08:00", url=a, group="46", status="gone"
            ),
            rec("兴安盟民政局", 2024, "2025-01-24T11:27:36+08:00", url=b, group="46"),
        ]
    )
    cell = one_gone.cell("兴安盟民政局", 2024)
    assert cell is not None and cell.state == "on_time" and "1 gone" in cell.describe()

    all_gone = cov.build_coverage(
        [rec("兴安盟民政局", 2024, "2025-02-24T11:27:36+08:00", url=a, status="gone")]
    )
    cell = all_gone.cell("兴安盟民政局", 2024)
    assert cell is not None and cell.state == "gone" and cell.flags == ("gone", "late")
    row = cov.csv_rows(all_gone)[0]
    assert row["state"] == "gone" and row["urls"] == a
    # The capture is still replayable: the gone cell links to it.
    assert f"/govcrawl/20261128043000/{a}" in row["replay"]
    assert f"/govcrawl/20261128043000/{a}" in cov.render_html(all_gone)
    # A gone report was still published: the next year can be missing.
    two = cov.build_coverage(
        [
            rec("兴安盟民政局", 2023, "2024-01-22T16:18:03+08:00", status="gone"),
            rec("兴安盟公安局", 2024, "2025-01-21T18:02:44+08:00"),
        ]
    )
    assert two.cell("兴安盟民政局", 2024).state == "missing"  # type: ignore[union-attr]


def test_undated_report_captured_before_the_deadline_was_on_time() -> None:
    c = cov.build_coverage(
        [
            rec("兴安盟统计局", 2023, None, fetched="2024-01-29T01:00:00Z"),
            rec("兴安盟教育局", 2023, None, fetched="2024-02-05T01:00:00Z"),
        ]
    )
    assert c.cell("兴安盟统计局", 2023).state == "on_time"  # type: ignore[union-attr]
    assert c.cell("兴安盟教育局", 2023).state == "undated"  # type: ignore[union-attr]
    assert cov.csv_rows(c)[0]["published"] == ""


def test_records_without_agency_or_year_are_listed_not_placed() -> None:
    url = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/3650817/unknown.html?a=1&b=2"
    c = cov.build_coverage(
        [rec(None, 2012, "2013-01-25T09:12:40+08:00", url=url), rec("兴安盟公安局", None, None)]
    )
    assert c.cells == {} and c.years == [] and len(c.unplaced) == 2
    page = cov.render_html(c)
    assert "Reports without an agency or a year (2)" in page
    assert (
        'href="http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/3650817/unknown.html?a=1&amp;b=2"'
        in page
    )


def test_replay_urls_match_govcrawl_replay() -> None:
    from govcrawl.publish import replay

    assert cov.REPLAY_COLLECTION == replay.COLLECTION
    copy = cov.Copy(
        "http://www.xam.gov.cn/x.html", "2026-11-28T04:30:00.123456Z", "new", None, None
    )
    assert copy.replay_url("http://127.0.0.1:8080/") == (
        "http://127.0.0.1:8080/govcrawl/20261128043000/http://www.xam.gov.cn/x.html"
    )
    assert cov.Copy("http://a.gov.cn/", None, None, None, None).replay_url("http://h:1") == (
        "http://h:1/govcrawl/http://a.gov.cn/"
    )


def test_state_colours_are_distinct() -> None:
    # The heat map and the screenshot test tell states apart by colour alone.
    def rgb(c: str) -> tuple[int, ...]:
        return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))

    states = [rgb(cov.COLOURS[s]) for s in cov.ALL_STATES]
    others = [rgb(cov.EMPTY_COLOUR), rgb("#ffffff")]
    for i, a in enumerate(states):
        for b in states[i + 1 :] + others:
            assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) > 60, (a, b)
    page = cov.render_html(cov.build_coverage([rec("兴安盟公安局", 2021, None)]))
    for state in cov.ALL_STATES:
        assert f".s-{state} {{ background: {cov.COLOURS[state]};" in page


def _no_external_resources(page: str) -> None:
    lowered = page.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "@font-face"):
        assert needle not in lowered, needle


def test_writers_replace_atomically(tmp_path: Path) -> None:
    c = cov.build_coverage(
        [
            rec("兴安盟公安局", 2020, "2021-01-22T11:30:45+08:00"),
            rec("<b>&\"'", 2021, "2022-01-21T18:27:17+08:00"),
        ]
    )
    html_path, csv_path = tmp_path / "out" / "coverage.html", tmp_path / "out" / "coverage.csv"
    html_path.parent.mkdir()
    html_path.write_text("old page", encoding="utf-8")
    cov.write_html(c, html_path, "http://127.0.0.1:8080")
    cov.write_csv(c, csv_path)
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["coverage.csv", "coverage.html"]
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    _no_external_resources(page)
    assert "&lt;b&gt;&amp;&quot;&#x27;" in page and "<b>&" not in page
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == cov.CSV_COLUMNS
    assert [(r["agency"], r["year"], r["state"]) for r in rows] == [
        ("<b>&\"'", "2021", "on_time"),
        ("兴安盟公安局", "2020", "on_time"),
        ("兴安盟公安局", "2021", "missing"),
    ]


# -- real crawls of the replica -----------------------------------------------------------------

REPLAY_BASE = "http://127.0.0.1:18080"


def _china_time(published: str) -> datetime:
    """A record's publication date; a date printed without a time of day is China time."""
    when = datetime.fromisoformat(published)
    return when if when.tzinfo else when.replace(tzinfo=CST)


def expected_from_reports(reports: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """What reports.jsonl implies, read independently of govcrawl.publish.coverage."""
    by_cell: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in reports:
        if r["agency"] and r["year"]:
            by_cell[(r["agency"], r["year"])].append(r)
    latest_fetch = max(
        datetime.strptime(r["fetched"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        for r in reports
    )
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for (agency, year), recs in by_cell.items():
        published = min(
            (r["published"] for r in recs if r["published"]),
            key=_china_time,
            default="",
        )
        failed = any(
            ch["ok"] is False and ch.get("evaluable", True)
            for r in recs
            for ch in ((r["tables"] or {}).get("checks") or [])
        )
        last_day = datetime(year + 1, 1, 31, 23, 59, 59, tzinfo=CST)
        if all(r["status"] == "gone" for r in recs):
            state = "gone"
        elif failed:
            state = "inconsistent"
        elif _china_time(published) > last_day:
            state = "late"
        else:
            state = "on_time"
        out[(agency, year)] = {
            "state": state,
            "published": published,
            "urls": {r["url"] for r in recs},
            "replay": {
                f"{REPLAY_BASE}/govcrawl/{re.sub(r'[^0-9]', '', r['fetched'])[:14]}/{r['url']}"
                for r in recs
            },
            "groups": {r["group"] for r in recs if r["group"]},
        }
    latest_year = max(y for _, y in by_cell)
    for agency, year in list(by_cell):
        nxt = year + 1
        due = datetime(nxt + 1, 2, 1, tzinfo=CST)
        if nxt <= latest_year and (agency, nxt) not in by_cell and latest_fetch >= due:
            out[(agency, nxt)] = {"state": "missing", "published": "", "urls": set()}
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def run_coverage(archive: Path, out: Path) -> tuple[Path, Path]:
    html_path, csv_path = out / "coverage.html", out / "coverage.csv"
    proc = run_govcrawl(
        [
            "coverage",
            "--archive",
            str(archive),
            "-o",
            str(html_path),
            "--csv",
            str(csv_path),
            "--replay-base",
            REPLAY_BASE + "/",
        ],
        None,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("govcrawl: coverage of ")
    return html_path, csv_path


@pytest.fixture(params=[1, 2], ids=["round1", "round2"])
def crawl(request: pytest.FixtureRequest) -> CrawlResult:
    return request.getfixturevalue(f"crawl_round{request.param}")


def test_cli_coverage_of_a_real_crawl(crawl: CrawlResult, tmp_path: Path) -> None:
    reports = list(crawl.reports().values())
    html_path, csv_path = run_coverage(crawl.archive, tmp_path)
    rows = read_csv(csv_path)
    expected = expected_from_reports(reports)

    got = {(r["agency"], int(r["year"])): r for r in rows}
    assert len(got) == len(rows), "one CSV row per agency-year"
    assert set(got) == set(expected)
    for key, exp in expected.items():
        row = got[key]
        assert row["state"] == exp["state"], key
        assert row["published"] == exp["published"], key
        assert set(row["urls"].split()) == exp["urls"], key
        if exp["state"] != "missing":
            assert set(row["replay"].split()) == exp["replay"], key
            assert set(row["group"].split()) == exp["groups"], key
    # The replica's data exercises the states (so the comparison above is not vacuous).
    states = [r["state"] for r in rows]
    for state in ("on_time", "late", "missing", "inconsistent"):
        assert state in states
    assert any(len(r["urls"].split()) > 1 for r in rows), "copies counted once per agency-year"
    gone_urls = {r["url"] for r in reports if r["status"] == "gone"}
    if crawl.round1_warcs:  # round 2: a report vanished from the portal
        assert gone_urls and "gone" in states
    else:
        assert not gone_urls and "gone" not in states

    page = html_path.read_text(encoding="utf-8")
    _no_external_resources(page)
    for agency in {r["agency"] for r in reports if r["agency"]}:
        assert f'<th scope="row" lang="zh-CN">{agency}</th>' in page
    hrefs = set(re.findall(r'href="([^"]+)"', page))
    for exp in expected.values():
        assert exp.get("replay", set()) <= hrefs
    # Counts per year in the footer match the CSV.
    years = sorted({y for _, y in got})
    reported_row = re.search(r'<tr class="reported"><th scope="row">reported</th>(.*?)</tr>', page)
    assert reported_row is not None
    per_year = [int(n) for n in re.findall(r"<td>(\d+)</td>", reported_row.group(1))]
    assert per_year == [
        sum(1 for (_, y), r in got.items() if y == year and r["state"] != "missing")
        for year in range(years[0], years[-1] + 1)
    ]


def test_cli_defaults_and_errors(crawl_round1: CrawlResult, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(crawl_round1.archive / "reports.jsonl", archive / "reports.jsonl")
    proc = run_govcrawl(["coverage", "--archive", str(archive)], None)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(archive / "coverage.csv")
    assert rows and all(
        r["replay"].startswith("http://127.0.0.1:8080/govcrawl/") for r in rows if r["urls"]
    )
    assert "http://127.0.0.1:8080/govcrawl/" in (archive / "coverage.html").read_text("utf-8")
    assert not [p for p in archive.iterdir() if p.name.endswith(".tmp")]

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_govcrawl(["coverage", "--archive", str(empty)], None)
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines() == [
        f"govcrawl: no reports.jsonl in {empty}: run `govcrawl crawl` first"
    ]
    proc = run_govcrawl(["coverage", "--archive", str(archive), "--replay-base", "ftp://x"], None)
    assert proc.returncode == 2 and "not an http(s) URL" in proc.stderr
    torn = tmp_path / "torn"
    torn.mkdir()
    (torn / "reports.jsonl").write_text('{"url": "http://www.xam.gov.cn/a', encoding="utf-8")
    proc = run_govcrawl(["coverage", "--archive", str(torn)], None)
    assert proc.returncode == 4 and "unreadable reports.jsonl" in proc.stderr
    assert not (torn / "coverage.html").exists()


# -- the page in a browser ----------------------------------------------------------------------


def solid_pixels(image: Image.Image, hex_colour: str) -> int:
    """Pixels of exactly this colour whose 3x3 neighbourhood is too: filled areas (cells,
    swatches, bars), not the odd anti-aliased text pixel that happens to share the colour."""
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    bands = [
        band.point(lambda v, t=t: 255 if abs(v - t) <= 2 else 0)
        for band, t in zip(image.convert("RGB").split(), rgb, strict=True)
    ]
    mask = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])
    return mask.filter(ImageFilter.MinFilter(3)).histogram()[255]


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
)
def test_heat_map_screenshot_shows_state_colours(crawl: CrawlResult, tmp_path: Path) -> None:
    html_path, csv_path = run_coverage(crawl.archive, tmp_path)
    shot = tmp_path / "coverage.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1200", html_path.as_uri())
    image = Image.open(shot)
    assert image.size == (1400, 1200)

    rows = read_csv(csv_path)
    cells = {s: sum(r["state"] == s for r in rows) for s in cov.ALL_STATES}
    # A 16x16 swatch with a 1px border leaves 14x14 of colour, 12x12 once eroded; it is drawn
    # twice (legend and footer). A grid cell is 64x26; its date text and stripes cover well
    # under half of it.
    swatches = 2 * 12 * 12
    cell_min = 64 * 26 // 2
    found = {s: solid_pixels(image, cov.COLOURS[s]) for s in cov.ALL_STATES}
    for state, n in cells.items():
        assert found[state] >= swatches, f"legend colour of {state} not on screen: {found}"
        assert found[state] >= swatches + n * cell_min, f"{state}: {n} cells, {found}"
    # Gone is never a secondary stripe, so without gone cells only its swatches show.
    if cells["gone"] == 0:
        assert found["gone"] < swatches + cell_min // 2, found
