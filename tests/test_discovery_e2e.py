"""Discovery end to end (issue 14): reports wherever a portal files them, fetching little.

The default crawl of the replica (tests/conftest.py ``crawl_round1``) meets every shape of the
issue: reports in notice and news columns and in a department's 信息公开目录, a 30-page column
with only 下一页 links, a GB2312 site with Chinese query strings, a download servlet and a
script-redirect root. Two small crawls show that pagination is not depth and that the budgets
are kept and reported.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import pytest

from crawler.sites.profiles import SITES_DIR
from replica import expected
from tests.conftest import FAST, REPO, CrawlResult, crawl_env, run_govcrawl, start_replica


def _requests(crawl: CrawlResult) -> list[dict]:
    return crawl.replica.requests()


def _summary(archive: Path) -> dict:
    return json.loads(max((archive / "runs").glob("*.json")).read_text(encoding="utf-8"))


def _report(key: str) -> dict:
    return next(r for r in expected.expected_reports(1) if r["key"] == key)


def test_case_03_query_sent_in_the_page_encoding(crawl_round1: CrawlResult) -> None:
    """../shared/cases/03-gbk-query-encoding (source: scrapy/scrapy#1913, xroche/httrack#12):
    a GB2312 page links ``list.asp?lb=政府信息公开年报``; a browser sends the query in GBK
    (``lb=%D5%FE%B8%AE...``), and so must the crawler, or the server answers 200 "栏目不存在"
    and the column's reports are lost. Expected: GET list.asp with lb= in GBK, then the reports
    it lists recorded."""
    sent = [
        r["path"].split("lb=", 1)[1].split("&")[0]
        for r in _requests(crawl_round1)
        if r["host"] == "www.tqx.gov.cn" and r["path"].startswith("/xxgk/list.asp?lb=")
    ]
    assert "%D5%FE%B8%AE%D0%C5%CF%A2%B9%AB%BF%AA%C4%EA%B1%A8" in sent
    assert {unquote_to_bytes(q).decode("gbk") for q in sent} >= {"政府信息公开年报", "通知公告"}
    assert not [q for q in sent if unquote_to_bytes(q) == "政府信息公开年报".encode()]
    reports = crawl_round1.reports()
    for key in ("tqx-2021", "tqx-2022", "tqx-2023"):
        want = _report(key)
        got = reports[want["url"]]
        assert (got["title"], got["year"], got["agency"]) == (
            want["title"],
            want["year"],
            want["agency"],
        )


def test_case_04_report_behind_a_download_servlet(crawl_round1: CrawlResult) -> None:
    """../shared/cases/04-download-servlet-report (source: Rob--W/open-in-browser#26,
    kevva/download#128): a list links a report as a plain title to ``download.do?fileId=...``,
    answered ``application/octet-stream`` with its name only in ``Content-Disposition:
    filename*=UTF-8''...docx``. Expected: one report record for the servlet URL, title and year
    from the list link, text from the .docx, an ``attachments`` entry."""
    want = _report("jtj-2022")
    assert urlsplit(want["url"]).path == "/attach/download.do"
    got = crawl_round1.reports()[want["url"]]
    assert (got["title"], got["year"], got["agency"]) == (
        want["title"],
        want["year"],
        want["agency"],
    )
    assert got["published"] == want["published"]  # the date the list printed beside the link
    flat = "".join((got["text"] or "").split())
    assert all("".join(s.split()) in flat for s in want["key_sentences"])
    (entry,) = [a for a in got["attachments"] if a["url"] == want["url"]]
    assert entry["kind"] == "docx" and entry["text_chars"] > 200
    assert entry["filename"] == f"{want['title']}.docx"
    assert got["landing_url"] is None and got["tables"]["template"] == "2021"


def test_script_redirect_root_followed_and_counted(crawl_round1: CrawlResult) -> None:
    """slj.xam.gov.cn/ is ``window.location.href="/slj/index.html"`` with the meta refresh in
    <noscript>: followed, and counted in the run summary."""
    paths = [r["path"] for r in _requests(crawl_round1) if r["host"] == "slj.xam.gov.cn"]
    assert "/" in paths and "/slj/index.html" in paths
    assert paths.index("/") < paths.index("/slj/index.html")
    assert _summary(crawl_round1.archive)["script_redirects"] >= 1


def test_long_column_walked_to_its_end_reading_titles_only(crawl_round1: CrawlResult) -> None:
    """The 30-page notices column (only 下一页 links) is read to its last page; of its 450 items
    only those whose titles look like reports are fetched (the two reports: pages 14 and 28)."""
    from replica.site import build

    column = build(1, 1).cols["j:tzgg"]
    pages = {f"{column.base}index.html"} | {f"{column.base}index_{n}.html" for n in range(2, 31)}
    fetched = {r["path"] for r in _requests(crawl_round1) if r["host"] == "slj.xam.gov.cn"}
    assert pages <= fetched
    items = {i.href for i in column.items}
    reports = {urlsplit(r["url"]).path for r in expected.expected_reports(1)}
    assert fetched & items == items & reports and len(items & reports) == 2
    found = crawl_round1.reports()
    assert _report("slj-2021")["url"] in found  # on page 28
    assert _report("slj-2022")["url"] in found  # in the news column 工作动态


def test_reports_in_a_department_directory_and_in_notes(crawl_round1: CrawlResult) -> None:
    """部门信息公开 > 兴安盟交通运输局 (its 信息公开目录) > 其他, and a report whose full text is
    in two attachments (全文详见附件): found, with both attachments read."""
    found = crawl_round1.reports()
    assert _report("jtj-2023")["url"] in found
    want = _report("slj-2023")
    got = found[want["url"]]
    read = {a["url"]: a for a in got["attachments"]}
    assert set(want["attachments"]) <= set(read)
    assert all(read[u].get("text_chars", 0) > 200 for u in want["attachments"])


def test_default_crawl_fetches_a_fraction_of_the_site(crawl_round1: CrawlResult) -> None:
    """Decoys in notice columns are never fetched: their titles say what they are. (The ratio
    to a whole-site crawl is measured by bench/discovery.py, not here.)"""
    fetched = {f"http://{r['host']}{r['path']}" for r in _requests(crawl_round1)}
    notices = {d["url"] for d in expected.decoys() if d["kind"] == "notice"}
    outside_report_columns = {u for u in notices if "/zfxxgknb46/" not in u}
    assert outside_report_columns and not fetched & outside_report_columns
    summary = _summary(crawl_round1.archive)
    assert summary["budget"]["pages_cut"] == 0  # the replica fits its budgets


def test_known_document_report_keeps_its_list_date(crawl_round2: CrawlResult) -> None:
    """The next night the servlet report is rechecked as a known report, before any list links it
    again: its date still comes from the list (through the record), so it stays unchanged."""
    want = _report("jtj-2022")
    got = crawl_round2.reports()[want["url"]]
    assert got["published"] == want["published"] and got["status"] == "unchanged"
    for key in ("tqx-2022", "slj-2021", "slj-2023"):
        assert crawl_round2.reports()[_report(key)["url"]]["status"] == "unchanged"


def test_pagination_is_not_depth(tmp_path: Path) -> None:
    """DEPTH_LIMIT=4 from slj.xam.gov.cn/: home (0, after the script redirect) > 政务公开 (1) >
    法定主动公开内容 (2) > 通知公告 (3) and its 29 next pages (3) > the report on page 28 (4).
    Counting each 下一页 as a hop (Scrapy's DepthMiddleware) would stop at the fourth page."""
    replica = start_replica(tmp_path)
    try:
        proc = run_govcrawl(
            [
                "crawl",
                "http://slj.xam.gov.cn/",
                "--archive",
                str(tmp_path / "archive"),
                *FAST,
                "--set",
                "DEPTH_LIMIT=4",
            ],
            replica.url,
        )
    finally:
        replica.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = CrawlResult(tmp_path / "archive", replica, proc).reports()
    assert _report("slj-2021")["url"] in found


def test_budgets_cut_and_the_summary_says_so(tmp_path: Path) -> None:
    """Profile budgets (here host_page_budget = 8, column_page_budget = 2) bound what a portal
    costs; the run summary says how much they cut, per host and per page role."""
    sites = tmp_path / "sites"
    shutil.copytree(SITES_DIR, sites, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    generic = (sites / "generic.toml").read_text(encoding="utf-8")
    generic = re.sub(r"(?m)^host_page_budget = \d+", "host_page_budget = 8", generic)
    generic = re.sub(r"(?m)^column_page_budget = \d+", "column_page_budget = 2", generic)
    (sites / "generic.toml").write_text(generic, encoding="utf-8")
    archive = tmp_path / "archive"
    replica = start_replica(tmp_path)
    try:
        proc = subprocess.run(
            [
                sys.executable, "-m", "scrapy", "crawl", "portal",
                "-a", "seeds=http://slj.xam.gov.cn/", "-a", f"profiles_dir={sites}",
                "-s", f"GOVCRAWL_ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=WARNING",
                "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
            ],
            cwd=REPO, env=crawl_env(replica.url), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        requests = replica.requests()
    finally:
        replica.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    budget = _summary(archive)["budget"]
    assert budget["pages_cut"] > 0 and budget["by_host"].get("slj.xam.gov.cn", 0) > 0
    assert sum(budget["by_role"].values()) == budget["pages_cut"]
    assert budget["column_pages_cut"] > 0
    column = [r for r in requests if r["path"].startswith("/slj/zwgk/fdzdgknr/tzgg/index")]
    assert len(column) <= 2
    # Requisites, robots.txt and report attachments are outside the budget; the script-redirect
    # root's target is the root's own page.
    pages = [r for r in requests if not re.search(r"\.(css|js|png|docx|pdf)$|robots", r["path"])]
    assert len(pages) <= 8 + 1


@pytest.mark.parametrize("key", ["slj-2021", "slj-2022", "jtj-2022", "jtj-2023", "tqx-2023"])
def test_reports_outside_report_columns_found(crawl_round1: CrawlResult, key: str) -> None:
    assert _report(key)["url"] in crawl_round1.reports()
