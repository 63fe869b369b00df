"""The command-line contract: clear one-line errors and documented exit codes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from govcrawl.archive.lock import ArchiveLock
from tests.conftest import FAST, GOVCRAWL, REPO, crawl_env, run_govcrawl


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_seed_url_exits_2(tmp_path: Path) -> None:
    proc = run_govcrawl(["crawl", "ftp://x.gov.cn/", "--archive", str(tmp_path / "a")], None)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["govcrawl: not an http(s) URL: 'ftp://x.gov.cn/'"]
    assert not (tmp_path / "a").exists()


def test_unreadable_seeds_file_exits_2(tmp_path: Path) -> None:
    proc = run_govcrawl(
        ["crawl", "--seeds", str(tmp_path / "none.txt"), "--archive", str(tmp_path / "a")], None
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("govcrawl: cannot read seeds file")


def test_unusable_archive_exits_4(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_govcrawl(["crawl", "http://www.xam.gov.cn/", "--archive", str(blocker)], None)
    assert proc.returncode == 4
    assert len(proc.stderr.strip().splitlines()) == 1


def test_locked_archive_exits_3_at_once(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    (archive).mkdir()
    with ArchiveLock(archive / "crawl.lock"):
        proc = run_govcrawl(
            ["crawl", "http://www.xam.gov.cn/", "--archive", str(archive)], None, timeout=60
        )
    assert proc.returncode == 3
    assert "locked" in proc.stderr and str(__import__("os").getpid()) in proc.stderr


def test_nothing_fetched_exits_5(tmp_path: Path) -> None:
    dead_proxy = f"http://127.0.0.1:{_closed_port()}"
    proc = run_govcrawl(
        [
            "crawl",
            "http://www.xam.gov.cn/",
            "--archive",
            str(tmp_path / "a"),
            *FAST,
            "--set",
            "RETRY_TIMES=0",
        ],
        dead_proxy,
        timeout=120,
    )
    assert proc.returncode == 5, proc.stderr[-2000:]
    assert "nothing could be fetched" in proc.stderr
    assert list((tmp_path / "a" / "runs").glob("*.json")), "run summary kept even for a failed run"


def test_scrapy_crawl_runs_the_same_spider(tmp_path: Path, replica_round1) -> None:
    archive = tmp_path / "a"
    env = dict(__import__("os").environ, http_proxy=replica_round1.url, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "portal",
            "-a",
            "seeds=http://www.xam.gov.cn/",
            "-s",
            f"GOVCRAWL_ARCHIVE_DIR={archive}",
            "-s",
            "CLOSESPIDER_PAGECOUNT=15",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "GOVCRAWL_RETRY_BACKOFF=0",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    warcs = list((archive / "warc").glob("*.warc.gz"))
    assert warcs and (archive / "captures.sqlite3").exists()


def test_progress_line_on_a_terminal_only(tmp_path: Path, replica_round1) -> None:
    import os
    import pty

    args = [*GOVCRAWL, "crawl", "http://www.xam.gov.cn/", "--archive", str(tmp_path / "a"), *FAST]
    args += ["--max-pages", "40"]
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            args, cwd=REPO, env=crawl_env(replica_round1.url), stdout=subprocess.PIPE,
            stderr=secondary, text=True, timeout=300,
        )  # fmt: skip
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    assert proc.returncode == 0
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert "\rpages " in terminal and "reports " in terminal
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("govcrawl: ")
    quiet = run_govcrawl(["crawl", "--archive", str(tmp_path / "b"), *FAST, "--max-pages", "40"],
                         replica_round1.url)  # fmt: skip
    assert "\rpages " not in quiet.stderr


def test_parse_prints_the_tables_of_a_saved_page(tmp_path: Path) -> None:
    import json
    from urllib.parse import urlsplit

    from govcrawl.extract.tables import flatten_tables
    from replica import expected
    from replica.site import build

    site = build(1, 1)
    rep = next(r for r in expected.expected_reports(1) if r["layout"] == "html" and r["tables"])
    parts = urlsplit(rep["url"])
    page = tmp_path / "report.html"
    page.write_bytes(site.res[(parts.hostname, parts.path)].body)
    proc = run_govcrawl(["parse", str(page)], None)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    want = flatten_tables(rep["tables"])
    got = flatten_tables(result["tables"])
    assert {k: got.get(k) for k in want if k.startswith("section3.")} == {
        k: v for k, v in want.items() if k.startswith("section3.")
    }
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a docx")
    bad = run_govcrawl(["parse", str(broken)], None)
    assert bad.returncode == 2 and bad.stderr.startswith("govcrawl: ")


_LEVELS_AFTER_CRAWL = """
import logging, sys
from pathlib import Path
from crawler.run import run_crawl
code, _ = run_crawl(Path(sys.argv[1]), ["http://www.xam.gov.cn/"], verbose=sys.argv[2] == "v",
                    overrides={"RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5})
parser = logging.getLogger("govcrawl.extract.metadata")
engine = logging.getLogger("scrapy.core.engine")
print(code, logging.getLevelName(logging.root.level), parser.isEnabledFor(logging.DEBUG),
      parser.isEnabledFor(logging.INFO), engine.isEnabledFor(logging.DEBUG),
      engine.isEnabledFor(logging.INFO))
"""


def test_log_records_below_the_log_level_are_not_built(tmp_path: Path) -> None:
    """The root logger stands at the crawl's LOG_LEVEL (Scrapy leaves it at NOTSET): a debug
    call per page (item scraped, page crawled, the parsers' notes) costs no record."""
    dead_proxy = f"http://127.0.0.1:{_closed_port()}"
    for verbose, expected in (
        ("q", "WARNING False False False False"),
        ("v", "INFO False True False True"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", _LEVELS_AFTER_CRAWL, str(tmp_path / verbose), verbose],
            cwd=REPO, env=crawl_env(dead_proxy), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.stdout.strip() == f"5 {expected}", proc.stderr[-2000:]
