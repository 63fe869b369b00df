"""bench/perf.py at a tiny size: every crawler runs, the table has every row, the numbers are
sane (CI keeps the benchmark working; the figures themselves come from a full run)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bench.synthportal import REAL_HOST, Layout, PortalProcess, render

REPO = Path(__file__).resolve().parent.parent


def test_synthetic_portal_layout() -> None:
    """150 list pages over ten columns; reports 4 % of a realistic portal, over three columns;
    ~20 KB articles; every listed item is served."""
    for pages in (5000, 50000):
        real, whole = Layout(pages, all_reports=False), Layout(pages, all_reports=True)
        assert sum(real.column_pages()) == sum(whole.column_pages()) == 150
        assert real.items + 150 + 2 == pages
        paths = real.report_paths()
        assert len(paths) == pages * 4 // 100
        assert {p.split("/")[2] for p in paths} == {"zfxxgknb", "tzgg", "gzdt"}
        assert len(whole.report_paths()) == whole.items
    layout = Layout(5000, all_reports=False)
    article = render(layout, layout.report_paths()[-1])
    assert article is not None and 19_000 < len(article.encode()) < 26_000
    assert "政府信息公开工作年度报告" in article and "<table" in article
    last_list = render(layout, "/zwgk/xzzf/index_16.html")
    assert last_list is not None and "下一页" not in last_list and "上一页" in last_list
    assert render(layout, "/zwgk/xzzf/index_17.html") is None


def test_synthetic_portal_answers_conditional_requests(tmp_path: Path) -> None:
    with PortalProcess(200, tmp_path / "requests.log") as portal:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": portal.url}))
        with opener.open(f"http://{REAL_HOST}/zwgk/index.html") as resp:
            etag = resp.headers["ETag"]
            assert resp.status == 200 and "通知公告" in resp.read().decode()
        request = urllib.request.Request(
            f"http://{REAL_HOST}/zwgk/index.html", headers={"If-None-Match": etag}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(request)
        assert err.value.code == 304
        err.value.close()
        assert portal.since() == [
            (REAL_HOST, "/zwgk/index.html", 200),
            (REAL_HOST, "/zwgk/index.html", 304),
        ]


def test_perf_bench_tiny(tmp_path: Path) -> None:
    results, figures = tmp_path / "RESULTS.md", tmp_path / "runs.json"
    proc = subprocess.run(
        [sys.executable, "bench/perf.py", "--pages", "120", "--repeats", "1",
         "--results", str(results), "--json", str(figures)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = results.read_text(encoding="utf-8")
    for row in ("scrapy+warcio", "govcrawl whole-site", "govcrawl again", "govcrawl focused",
                "wget whole-site", "wget realistic"):  # fmt: skip
        assert f"| {row} |" in table
    assert "pages/s ÷ scrapy+warcio" in table and "machine:" in table and "Scrapy 2." in table
    assert "non-zero exit" not in table
    (run,) = json.loads(figures.read_text())
    whole = Layout(120, all_reports=True)
    for name, r in run.items():
        assert r["rc"] == 0, name
        assert r["wall"] > 0 and r["cpu"] > 0 and r["rss_mib"] > 5, name
    # Whole-site crawlers fetch every page, robots.txt and the home page as / and /index.html.
    for name in ("scrapy+warcio", "govcrawl whole-site", "wget whole-site", "wget realistic"):
        assert run[name]["pages"] == whole.pages + 2, name
        assert run[name]["warc_bytes"] > whole.pages * 1000, name
    assert run["govcrawl again"]["pages"] >= whole.pages
    assert 0 < run["govcrawl again"]["warc_bytes"] < run["govcrawl whole-site"]["warc_bytes"]
    focused = run["govcrawl focused"]["extra"]
    assert (
        focused["reports_found"]
        == focused["reports"]
        == len(Layout(120, all_reports=False).report_paths())
    )
    assert 0 < focused["pages_until_all"] <= run["govcrawl focused"]["pages"]
