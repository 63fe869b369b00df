"""The extraction pool (pipelines/extract.py): per-document memory and time limits, a dead worker
replaced and its document recorded as failed with the reason, no worker outliving a killed crawl,
and unchanged reports reused instead of extracted again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from scrapy.utils.test import get_crawler

from bench.synthportal import ALL_HOST, PortalProcess
from crawler import settings as project_settings
from govcrawl.archive.captures import CaptureIndex
from pipelines.extract import ExtractPipeline
from pipelines.items import ReportItem

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
REPORT_HTML = (
    "<html><head><title>兴安盟民政局2023年政府信息公开工作年度报告</title></head><body>"
    "<h1>兴安盟民政局2023年政府信息公开工作年度报告</h1>"
    + "<p>本报告由兴安盟民政局编制，全年主动公开政府信息一百二十条。</p>" * 40
    + "</body></html>"
)


def big_table_page(rows: int) -> str:
    """A table page whose parse tree costs a few hundred bytes a cell (issue 15's 50 MB page,
    smaller)."""
    row = "<tr><td>行政许可</td><td>12</td><td>3</td><td>45</td></tr>"
    return f"<html><body><table>{row * rows}</table></body></html>"


def settings(**extra: Any) -> dict[str, Any]:
    names = ("GOVCRAWL_EXTRACT_WORKERS", "GOVCRAWL_EXTRACT_TIMEOUT", "GOVCRAWL_EXTRACT_MEMORY")
    return {**{n: getattr(project_settings, n) for n in names}, **extra}


@pytest.fixture
def pipeline(request: pytest.FixtureRequest) -> Iterator[ExtractPipeline]:
    crawler = get_crawler(settings_dict=settings(**getattr(request, "param", {})))
    pipe = ExtractPipeline.from_crawler(crawler)
    pipe.open_spider()
    yield pipe
    pipe.close_spider()


def extract(pipe: ExtractPipeline, url: str, html: str) -> ReportItem:
    item: ReportItem = asyncio.run(pipe.process_item(ReportItem(url=url, html=html)))
    return item


def stats(pipe: ExtractPipeline) -> dict[str, Any]:
    assert pipe.crawler.stats is not None
    return pipe.crawler.stats.get_stats()


def workers(pipe: ExtractPipeline) -> list[psutil.Process]:
    """The pool's worker processes (children of the forkserver, a child of this process)."""
    me = psutil.Process()
    return [
        p
        for p in me.children(recursive=True)
        if p.ppid() != me.pid and "forkserver" in " ".join(p.cmdline())
    ]


@pytest.mark.parametrize("pipeline", [{"GOVCRAWL_EXTRACT_MEMORY": 600 * MiB}], indirect=True)
def test_document_past_the_memory_limit_is_failed_and_the_next_one_extracted(
    pipeline: ExtractPipeline,
) -> None:
    bomb = extract(pipeline, "http://a.gov.cn/bomb.html", big_table_page(150_000))
    assert bomb.extra["extract_error"] == "memory limit"
    assert bomb.text is None and bomb.tables is None
    good = extract(pipeline, "http://a.gov.cn/report.html", REPORT_HTML)
    assert "extract_error" not in good.extra
    assert "一百二十条" in (good.text or "")
    assert stats(pipeline)["govcrawl/extract/failed"] == 1
    assert stats(pipeline)["govcrawl/extract/extracted"] == 1
    # The limit is the worker's own (RLIMIT_AS), not the crawl's.
    (worker,) = workers(pipeline)
    assert worker.rlimit(psutil.RLIMIT_AS) == (600 * MiB, 600 * MiB)
    assert psutil.Process().rlimit(psutil.RLIMIT_AS)[0] != 600 * MiB


@pytest.mark.parametrize("pipeline", [{"GOVCRAWL_EXTRACT_TIMEOUT": 1.0}], indirect=True)
def test_document_past_the_time_limit_is_failed_and_its_worker_replaced(
    pipeline: ExtractPipeline,
) -> None:
    extract(pipeline, "http://a.gov.cn/warm.html", REPORT_HTML)  # the worker is up
    (before,) = workers(pipeline)
    start = time.monotonic()
    slow = extract(pipeline, "http://a.gov.cn/slow.html", big_table_page(100_000))
    assert time.monotonic() - start < 10
    assert slow.extra["extract_error"] == "time limit (1 s)"
    assert slow.text is None
    good = extract(pipeline, "http://a.gov.cn/report.html", REPORT_HTML)
    assert "一百二十条" in (good.text or "")
    (after,) = workers(pipeline)
    assert after.pid != before.pid and not psutil.pid_exists(before.pid)


def test_worker_killed_mid_document_is_recorded_with_the_reason(
    pipeline: ExtractPipeline,
) -> None:
    extract(pipeline, "http://a.gov.cn/warm.html", REPORT_HTML)
    (worker,) = workers(pipeline)

    async def kill_during() -> ReportItem:
        task = asyncio.ensure_future(
            pipeline.process_item(
                ReportItem(url="http://a.gov.cn/slow.html", html=big_table_page(100_000))
            )
        )
        await asyncio.sleep(1.0)
        worker.send_signal(signal.SIGKILL)  # what the kernel's OOM killer does
        item: ReportItem = await task
        return item

    item = asyncio.run(kill_during())
    assert item.extra["extract_error"] == "worker died (exit code -9)"
    assert item.text is None
    good = extract(pipeline, "http://a.gov.cn/report.html", REPORT_HTML)
    assert "一百二十条" in (good.text or "")


def test_kill_9_of_the_crawl_leaves_no_extraction_worker(tmp_path: Path) -> None:
    """A crawl killed with SIGKILL while its worker is busy: the forkserver sees the crawl go and
    exits, and the worker dies with it (PR_SET_PDEATHSIG), within seconds."""
    script = tmp_path / "crawl.py"
    script.write_text(
        "import asyncio, sys\n"
        "from scrapy.utils.test import get_crawler\n"
        "from pipelines.extract import ExtractPipeline\n"
        "from pipelines.items import ReportItem\n"
        "from tests.test_extract_pool import big_table_page, settings\n"
        "async def main():\n"
        "    pipe = ExtractPipeline.from_crawler(get_crawler(settings_dict=settings(\n"
        "        GOVCRAWL_EXTRACT_TIMEOUT=600.0, GOVCRAWL_EXTRACT_MEMORY=0)))\n"
        "    pipe.open_spider()\n"
        "    print('STARTED', flush=True)\n"
        "    await pipe.process_item(\n"
        "        ReportItem(url='http://a.gov.cn/x', html=big_table_page(400_000)))\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "STARTED"
        crawl = psutil.Process(proc.pid)
        busy: list[psutil.Process] = []
        deadline = time.monotonic() + 30
        while not busy and time.monotonic() < deadline:
            busy = [
                p
                for p in crawl.children(recursive=True)
                if p.ppid() != proc.pid and p.cpu_percent(interval=0.2) > 20
            ]
        assert busy, "no extraction worker at work"
        family = crawl.children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(family, timeout=5)
        assert not alive, f"still running 5 s after the crawl was killed: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_unchanged_reports_are_reused_not_extracted(tmp_path: Path) -> None:
    """Two whole-site crawls of an unchanged portal: the second extracts nothing, reuses every
    report's stored extraction, and writes the same records (capture fields aside)."""
    with PortalProcess(100, tmp_path / "requests.log") as portal:
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
        env["http_proxy"] = portal.url
        archive = tmp_path / "archive"
        summaries, records = [], []
        for _ in range(2):
            subprocess.run(
                [sys.executable, "-m", "crawler.cli", "crawl", "--archive", str(archive),
                 "--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=False",
                 "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "--set", "GOVCRAWL_FOLLOW_ALL=True",
                 "--set", "DEPTH_LIMIT=0", f"http://{ALL_HOST}/"],
                cwd=REPO, env=env, check=True, capture_output=True,
            )  # fmt: skip
            summaries.append(json.loads(max((archive / "runs").glob("*.json")).read_text()))
            with (archive / "reports.jsonl").open(encoding="utf-8") as fh:
                records.append({r["url"]: r for r in map(json.loads, fh)})
    first, second = summaries
    reports = first["reports"]["new"]
    assert reports > 50
    assert first["extraction"] == {
        "extracted": reports, "reused": 0, "failed": 0, "pages_not_reparsed": 0
    }  # fmt: skip
    # Nor are the unchanged report pages parsed again (crawler/spiders/portal.py).
    assert second["extraction"] == {
        "extracted": 0, "reused": reports, "failed": 0, "pages_not_reparsed": reports
    }  # fmt: skip
    assert second["reports"]["unchanged"] == reports
    capture_fields = ("fetched", "warc", "offset", "status")
    for url, old in records[0].items():
        new = records[1][url]
        assert {k: v for k, v in new.items() if k not in capture_fields} == {
            k: v for k, v in old.items() if k not in capture_fields
        }
        assert new["text"] and new["tables"]
    # The reused reports keep their text fingerprints (computed once, by the first crawl's
    # worker), so their copies-of-one-report groups stay as they were.
    with CaptureIndex.open(archive) as index:
        for url in records[0]:
            prints = [c.fingerprint for c in index.history(url) if c.fingerprint]
            assert len(prints) == 2 and prints[0] == prints[1] is not None
