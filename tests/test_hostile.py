"""What real servers send: the shared cases of issue 15 and the hostile section, as crawls of
tests/mockserver.py (one handler per behaviour) read back from the archive.

Each shared case's server is a handler of the mock portal (its docstring names the case): 06
``dataloss``, 07 ``zstd``, 14 ``plain``, 15 ``gateway``, 16 ``cookie``. The hostile section
(``-m hostile`` alone; it runs in the default selection too) crawls every hostile behaviour at
once, twice, and checks each one's named outcome in the run summary, that the good report next
to it was captured, and that the crawl stayed within its bounds; bench/hostile.py prints the
same cases one by one with peak RSS and seconds.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from govcrawl.archive.reader import decode_content
from tests.conftest import GOVCRAWL, REPO, crawl_env
from tests.mockserver import ATTACHMENT, GOOD, HOSTILE

pytestmark = pytest.mark.hostile

# Fast and small: one retry, short timeouts, a 4 MiB cap (bombs inflate to 16 MiB).
SETTINGS = [
    *("--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=False"),
    *("--set", "CONCURRENT_REQUESTS=32", "--set", "RETRY_TIMES=1"),
    *("--set", "GOVCRAWL_RETRY_BACKOFF=0.2", "--set", "DOWNLOAD_TIMEOUT=4"),
    *("--set", f"DOWNLOAD_MAXSIZE={4 * 1024 * 1024}"),
]
RECHECK_ALL = ["--set", "GOVCRAWL_REVISIT_INTERVAL=0", "--set", "GOVCRAWL_REPORT_RECHECK=0"]


class Mock:
    """tests/mockserver.py in a child process at ``round``; ``url`` is its proxy address."""

    def __init__(self, round: int = 1) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.mockserver", "--round", str(round)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["READY"], line
        self.url = line[1]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def mock() -> Iterator[type[Mock]]:
    started: list[Mock] = []

    class Started(Mock):
        def __init__(self, round: int = 1) -> None:
            super().__init__(round)
            started.append(self)

    yield Started
    for m in started:
        m.stop()


def crawl(
    archive: Path, kinds: list[str], proxy: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    seeds = [f"http://{kind}.example.gov.cn/" for kind in kinds]
    return subprocess.run(
        [*GOVCRAWL, "crawl", *seeds, "--archive", str(archive), *SETTINGS, *extra],
        cwd=REPO,
        env={**crawl_env(proxy), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def last_summary(archive: Path) -> dict:
    return json.loads(Path(sorted(glob.glob(f"{archive}/runs/*.json"))[-1]).read_text())


def reports(archive: Path) -> dict[str, dict]:
    with (archive / "reports.jsonl").open(encoding="utf-8") as fh:
        return {r["url"]: r for r in map(json.loads, fh)}


def records(archive: Path) -> Iterator[tuple[str, str, object]]:
    """(record type, target URI, record) of every record; the payload is still readable."""
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                yield rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "", rec


def output_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]


# -- the shared cases -----------------------------------------------------------------------


def test_case06_short_body_is_archived_truncated_parsed_and_counted(mock, tmp_path):
    archive = tmp_path / "archive"
    proc = crawl(archive, ["dataloss"], mock().url)
    assert proc.returncode == 0, proc.stderr
    url = f"http://dataloss.example.gov.cn{HOSTILE}"
    truncated = [
        rec.rec_headers.get_header("WARC-Truncated")
        for kind, uri, rec in records(archive)
        if kind == "response" and uri == url
    ]
    assert truncated == ["disconnect"]  # WARC 1.1: the connection closed before the length
    assert "主动公开森林防火" in reports(archive)[url]["text"]
    summary = last_summary(archive)
    assert summary["truncated"] == 1 and summary["outcomes"]["archived_truncated"] == 1
    lines = output_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("govcrawl:"), lines
    assert "1 truncated" in lines[0]


def test_case07_only_decodable_encodings_are_offered_and_every_payload_decodes(mock, tmp_path):
    archive = tmp_path / "archive"
    proc = crawl(archive, ["zstd"], mock().url)
    assert proc.returncode == 0, proc.stderr
    offered, pages = set(), 0
    for kind, uri, rec in records(archive):
        if kind == "request":
            offered.add(rec.http_headers.get_header("Accept-Encoding"))
        elif kind == "response" and "html" in (rec.http_headers.get_header("Content-Type") or ""):
            pages += 1
            assert rec.content_stream().read().lstrip()[:5].lower() == b"<html", uri
    assert offered == {"gzip, deflate"}
    assert pages >= 4


def test_case14_replay_with_a_relative_archive_path_and_cache_busted_counters(mock, tmp_path):
    """Case 14, and issue 15's counters: ``"&r=" + Math.random()`` is fetched without the
    cache-buster, and replay finds it whatever ``r`` (or jQuery's ``_``) the page asks with."""
    from govcrawl.publish.replay import pywb_executable

    archive = tmp_path / "archive"
    assert crawl(archive, ["plain", "counter"], mock().url).returncode == 0
    counter = "http://counter.example.gov.cn/xxgk/count.jsp?id=100"
    assert reports(archive)[f"http://counter.example.gov.cn{GOOD}"]["clicks"] == 1234
    assert [u for k, u, _ in records(archive) if k == "response" and "count.jsp" in u] == [counter]
    pywb_executable()  # installed by scripts/setup (tests/test_replay.py installs it if not)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**crawl_env(None), "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [*GOVCRAWL, "replay", "--archive", "archive", "--port", str(port)],
        cwd=tmp_path,  # the archive's parent, as an operator types it
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("replaying"), first
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"http://127.0.0.1:{port}/govcrawl/http://plain.example.gov.cn{HOSTILE}"
        with opener.open(url, timeout=30) as resp:
            assert resp.status == 200
            assert "主动公开森林防火" in resp.read().decode("utf-8")
        for busted in (f"{counter}&r=0.7316", f"{counter}&_=1764500000000"):
            replayed = f"http://127.0.0.1:{port}/govcrawl/{busted}"
            with opener.open(replayed, timeout=30) as resp:
                assert (resp.status, resp.read()) == (200, b"1234"), busted
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    config = json.loads((archive / "replay" / "config.yaml").read_text().split("\n", 1)[1])
    paths = config["collections"]["govcrawl"]
    assert Path(paths["index_paths"]).is_absolute()
    assert Path(paths["archive_paths"][0]).is_absolute()


def two_rounds(
    archive: Path, kind: str, mock: type[Mock], url: str
) -> tuple[dict, subprocess.CompletedProcess[str], dict]:
    """Crawl ``kind`` at mock round 1, then round 2: (url's record before, round 2, after)."""
    assert crawl(archive, [kind], mock(1).url).returncode == 0
    before = reports(archive)[url]
    proc = crawl(archive, [kind], mock(2).url, *RECHECK_ALL)
    return before, proc, reports(archive)[url]


def test_case15_gateway_blocks_every_seed_exit_5_and_the_report_is_kept(mock, tmp_path):
    archive = tmp_path / "archive"
    url = f"http://gateway.example.gov.cn{GOOD}"
    before, proc, after = two_rounds(archive, "gateway", mock, url)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "anti-bot challenge" in proc.stderr and "gateway.example.gov.cn" in proc.stderr
    summary = last_summary(archive)
    assert list(summary["blocked"]["hosts"]) == ["gateway.example.gov.cn"]
    assert (summary["finish_reason"], summary["exit_code"]) == ("finished", 5)
    assert summary["blocked"]["by_signature"] == {"js-cookie-reload": summary["blocked"]["pages"]}
    assert summary["outcomes"]["blocked"] >= 3
    # Coverage says so: the host's reports may show as missing because nothing was fetched.
    cov = subprocess.run(
        [*GOVCRAWL, "coverage", "--archive", str(archive)],
        cwd=REPO,
        env=crawl_env(None),
        capture_output=True,
        text=True,
    )
    assert cov.returncode == 0, cov.stderr
    assert "blocked in the last crawl: gateway.example.gov.cn" in cov.stdout
    assert "gateway.example.gov.cn (" in (archive / "coverage.html").read_text(encoding="utf-8")
    assert after["status"] != "gone"
    assert (after["digest"], after["text"]) == (before["digest"], before["text"])


def test_case15_a_challenge_that_keeps_the_report_title_is_not_content(mock, tmp_path):
    """202 with the report's <title>: dropped as a challenge, the good record stays."""
    archive = tmp_path / "archive"
    url = f"http://challenge202.example.gov.cn{HOSTILE}"
    before, proc, after = two_rounds(archive, "challenge202", mock, url)
    assert proc.returncode == 0, proc.stderr  # the rest of the host answered
    summary = last_summary(archive)
    assert summary["blocked"]["pages"] == 1 and summary["blocked"]["hosts"] == {}
    assert "1 anti-bot challenge pages" in proc.stdout
    # Archived as received, marked, and left out of the index replay reads: replay of the URL
    # still shows the report.
    marks = [
        rec.rec_headers.get_header("WARC-Govcrawl-Challenge")
        for kind, uri, rec in records(archive)
        if kind == "response" and uri == url
    ]
    assert marks == [None, "js-cookie-reload"]
    lines = [
        ln for ln in (archive / "indexes" / "index.cdxj").read_text().splitlines() if HOSTILE in ln
    ]
    assert len(lines) == 1 and '"status": "200"' in lines[0]
    assert (after["digest"], after["text"], after["published"]) == (
        before["digest"],
        before["text"],
        before["published"],
    )


def test_a_body_cut_short_never_replaces_the_report_nor_makes_it_gone(mock, tmp_path):
    """Round 2 sends 40 bytes of the report and closes: archived truncated, the record stays."""
    archive = tmp_path / "archive"
    url = f"http://shrinks.example.gov.cn{HOSTILE}"
    before, proc, after = two_rounds(archive, "shrinks", mock, url)
    assert proc.returncode == 0, proc.stderr
    assert last_summary(archive)["truncated"] == 1
    assert after["status"] == "unchanged" and after.get("gone") is None
    assert (after["digest"], after["text"]) == (before["digest"], before["text"])


def test_case16_cookies_never_fetch_the_public_suffix_list(mock, tmp_path):
    home = tmp_path / "home"  # a fresh account: no tldextract cache
    home.mkdir()
    archive = tmp_path / "archive"
    env = {"HOME": str(home), "XDG_CACHE_HOME": "", "TLDEXTRACT_CACHE": ""}
    env = {k: v for k, v in env.items() if v}
    proc = crawl(archive, ["cookie"], mock().url, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = output_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("govcrawl:"), lines
    assert not glob.glob(f"{home}/.cache/python-tldextract/*/urls/*")
    assert f"http://cookie.example.gov.cn{GOOD}" in reports(archive)
    assert any(  # the portal did set cookies: the middleware had suffixes to check
        rec.http_headers.get_header("Set-Cookie")
        for kind, _, rec in records(archive)
        if kind == "response"
    )


# -- the hostile section --------------------------------------------------------------------

# behaviour -> what the run summary must say about its hostile URL
HOSTILE_CASES = {
    "gzipbomb": ("skipped", "inflates_too_large"),
    "deflatebomb": ("skipped", "inflates_too_large"),
    "brbomb": ("skipped", "inflates_too_large"),
    "endless": ("skipped", "too_large"),
    "oversize": ("skipped", "too_large"),
    "slowdrip": ("skipped", "timeout"),
    "silent": ("skipped", "timeout"),
    "redirectloop": ("skipped", "redirect_limit"),
    "reset": ("archived_truncated", None),
    "dataloss": ("archived_truncated", None),
    "charsetlie": ("archived", None),
    "deephtml": ("archived", None),
    "crlflocation": ("archived", None),
    "dispositionpath": ("archived", None),
    "challenge202": ("blocked", None),  # round 2
    "docxbomb": ("archived", None),  # the report; its attachment recorded with the reason
    "pdfbomb": ("archived", None),
    "bigtable": ("archived", None),  # 3 MiB of table under the tests' 4 MiB cap
}
# behaviour -> what the hostile report's attachment error says
DOCUMENT_BOMBS = {"docxbomb": "zip bomb", "pdfbomb": "memory limit"}


def _crawl_measured(
    archive: Path, proxy: str, tmp: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    """The crawl in a child that reports its children's peak RSS (bytes) on its last line."""
    tmpdir = tmp / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    seeds = [f"http://{kind}.example.gov.cn/" for kind in HOSTILE_CASES]
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:])\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
        "sys.exit(p.returncode)\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            *GOVCRAWL,
            "crawl",
            *seeds,
            "--archive",
            str(archive),
            *SETTINGS,
            *extra,
        ],  # fmt: skip
        cwd=REPO,
        env={**crawl_env(proxy), "TMPDIR": str(tmpdir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    rss = int(proc.stdout.strip().splitlines()[-1].split()[1])
    # Nothing outside the archive: no temporary file left behind, no file named by a server.
    assert list(tmpdir.iterdir()) == []
    return proc, rss


def encoding_bomb(uri: str) -> bool:
    """A URL of the gzip, deflate or brotli bomb hosts."""
    return uri.startswith(("http://gzipbomb.", "http://deflatebomb.", "http://brbomb."))


# Seconds per document in the hostile crawl: the table page's extraction takes minutes.
EXTRACT_TIMEOUT = 8


def test_hostile_servers_first_and_second_crawl(mock, tmp_path):
    archive = tmp_path / "archive"
    limit = ["--set", f"GOVCRAWL_EXTRACT_TIMEOUT={EXTRACT_TIMEOUT}"]
    for round in (1, 2):
        proc, rss = _crawl_measured(archive, mock(round).url, tmp_path, *RECHECK_ALL, *limit)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        assert rss < 1 << 30, f"round {round}: crawl peaked at {rss} bytes"
        summary = last_summary(archive)
        outcomes = summary["outcomes"]
        recorded = reports(archive)
        for kind, (outcome, reason) in HOSTILE_CASES.items():
            # The good report beside every hostile page is captured, every round.
            assert f"http://{kind}.example.gov.cn{GOOD}" in recorded, kind
            if outcome == "skipped":
                assert outcomes["skipped"].get(reason, 0) >= 1, (kind, outcomes)
        # Round 2 gets 304s for the bombs: the archived bomb is read back, bounded, and dropped.
        assert outcomes["skipped"]["inflates_too_large"] == 3, outcomes
        assert outcomes["archived_truncated"] >= 2  # reset, dataloss
        if round == 2:
            assert outcomes["blocked"] == 1  # challenge202's 202 page
        # Second crawl: no hostile answer replaced a good capture.
        assert [u for u, r in recorded.items() if r["status"] == "gone"] == []
        for kind in ("dataloss", "deephtml", "challenge202", "charsetlie", *DOCUMENT_BOMBS):
            assert "主动公开森林防火" in recorded[f"http://{kind}.example.gov.cn{HOSTILE}"]["text"]
        # Document bombs: the report is extracted, its attachment recorded with the reason.
        for kind, reason in DOCUMENT_BOMBS.items():
            rec = recorded[f"http://{kind}.example.gov.cn{HOSTILE}"]
            assert rec.get("extract_error") is None, (kind, rec.get("extract_error"))
            [att] = rec["attachments"]
            assert att["url"].startswith(f"http://{kind}.example.gov.cn{ATTACHMENT}.")
            assert reason in att["error"], (kind, att)
        # The table page: archived, and its extraction stopped at the time limit, named.
        table = recorded[f"http://bigtable.example.gov.cn{HOSTILE}"]
        assert (table["extract_error"], table["text"]) == (
            f"time limit ({EXTRACT_TIMEOUT} s)",
            None,
        )
    assert not Path("/tmp/evil.pdf").exists()
    # The bombs are archived as received, and read back bounded (the 304 path, export, WACZ).
    cap = 4 * 1024 * 1024
    bombs, revisits = 0, 0
    for kind, uri, rec in records(archive):
        revisits += (
            kind == "revisit"
            and encoding_bomb(uri)
            and uri.endswith(HOSTILE)
            and "server-not-modified" in (rec.rec_headers.get_header("WARC-Profile") or "")
        )
        if kind == "response" and encoding_bomb(uri) and uri.endswith(HOSTILE):
            encoding = rec.http_headers.get_header("Content-Encoding")
            body = rec.raw_stream.read()
            assert len(body) < 100_000  # compressed, as received
            assert len(decode_content(body, encoding, cap)) == cap
            bombs += 1
    assert (bombs, revisits) == (3, 3)  # round 2: 304s, server-not-modified revisits
    # Every other archived payload decodes with warcio (what pywb and `warcio check` use).
    for kind, uri, rec in records(archive):
        if kind == "response" and not encoding_bomb(uri):
            encoding = rec.http_headers.get_header("Content-Encoding")
            assert encoding in (None, "gzip", "deflate"), (uri, encoding)
            rec.content_stream().read()


# -- document bombs, without a crawl ---------------------------------------------------------


def test_a_docx_bomb_is_refused_from_its_zip_headers_without_inflating():
    import resource
    import time

    from govcrawl.extract.attachments import AttachmentError, extract_attachment_text
    from tests.mockserver import MIB, docx_bomb

    body = docx_bomb(1024 * MIB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(AttachmentError, match=r"report\.docx.*inflates to 1073742460 bytes"):
        extract_attachment_text(body, "report.docx")
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


# -- counters with cache-busters (issue 15), without a crawl ----------------------------------

PAGE = "http://www.example.gov.cn/xxgk/t1.html"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('$.get("/c/count.jsp?id=100&r=" + Math.random(), f);', "/c/count.jsp?id=100"),
        (
            '$.ajax({url: "/c/count.jsp?id=100&r=" + Math.random(), cache: false});',
            "/c/count.jsp?id=100",
        ),
        ('x.open("GET", "/c/hits.do?id=7&t=" + new Date().getTime());', "/c/hits.do?id=7"),
        ('$.get("/c/count.jsp?id=9&_=" + Date.now());', "/c/count.jsp?id=9"),
        ('$.ajax({url: "/c/count.jsp?id=100", cache: false});', "/c/count.jsp?id=100"),
        ('$.get("/c/count.jsp?id=" + id);', None),  # a variable: not guessable
        ('$.get("/c/count.jsp?id=1&r=" + Math.random() + "&x=" + y);', None),
    ],
)
def test_counter_requests_lose_their_cache_busters(script, expected):
    from govcrawl.extract.counters import find_counter_requests

    found = find_counter_requests(f"<html><script>{script}</script></html>", PAGE)
    assert [r.url for r in found] == ([f"http://www.example.gov.cn{expected}"] if expected else [])


def test_literal_cache_busters_are_dropped_and_versions_kept():
    from govcrawl.extract.counters import without_cache_busters as clean

    assert clean("http://x/c.jsp?_=1764500000000&id=5&r=0.73") == "http://x/c.jsp?id=5"
    assert clean("http://x/c.jsp?id=5&t=1764500000") == "http://x/c.jsp?id=5"
    assert clean("http://x/s.css?v=2&t=lang") == "http://x/s.css?v=2&t=lang"


# -- charset lies, without a crawl --------------------------------------------------------------

REPORT_TEXT = "一、总体情况。2021年，市林草局主动公开森林防火信息五十余条。" * 4
GBK_INCLUDE = "<p>（附）页脚信息：主办单位示例市人民政府办公室</p>".encode("gbk")


@pytest.mark.parametrize("declared", ["utf-8", "gbk", None])
def test_a_utf8_page_with_a_gbk_fragment_stays_utf8(declared):
    """Issue 15: a 337-byte GBK include in a UTF-8 report made the whole page GB18030 mojibake
    and the report was lost. Whatever the page declares, the UTF-8 text survives."""
    from govcrawl.extract.decode import decode_body

    meta = f"<meta charset='{declared}'>" if declared else ""
    body = (
        f"<html><head>{meta}<title>年度报告</title></head><body><p>{REPORT_TEXT}</p>".encode()
        + GBK_INCLUDE
        + b"\xff</body></html>"
    )
    content_type = f"text/html; charset={declared}" if declared else "text/html"
    text, encoding = decode_body(body, content_type)
    assert encoding == "utf-8"
    assert REPORT_TEXT in text
    # The fragment is read as GB18030 where UTF-8 fails; a GBK pair that happens to be valid
    # UTF-8 (页 = D2 B3 = U+04B3) stays what UTF-8 says.
    assert "人民政府办公室" in text


@pytest.mark.parametrize("declared", ["utf-8", "gbk"])
def test_a_gbk_page_is_still_gbk_whatever_it_declares(declared):
    from govcrawl.extract.decode import decode_body

    body = f"<html><body><p>{REPORT_TEXT}</p></body></html>".encode("gbk")
    text, encoding = decode_body(body, f"text/html; charset={declared}")
    assert encoding == "gb18030" and REPORT_TEXT in text


# -- disk full --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    """(a folder on a 400 KiB tmpfs, a function giving it 16 MiB), where mounting works
    (root); else a folder whose crawl runs under RLIMIT_FSIZE (writes fail with EFBIG)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        == 0
    )

    def grow() -> None:
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=16m", str(mnt)], check=True)

    try:
        yield mnt, (grow if mounted else None)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_one_line_summary_kept_nothing_lost_next_crawl_recovers(
    mock, tmp_path, small_disk
):
    import resource

    disk, grow = small_disk
    archive = disk / "archive"
    kinds = ["plain", "dataloss", "zstd", "charsetlie", "deephtml", "cookie", "counter"]
    proxy = mock().url
    limit = None if grow else (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (300_000,) * 2))
    seeds = [f"http://{kind}.example.gov.cn/" for kind in kinds]
    full = subprocess.run(
        [*GOVCRAWL, "crawl", *seeds, "--archive", str(archive), *SETTINGS],
        cwd=REPO,
        env=crawl_env(proxy),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )
    lines = output_lines(full)
    assert full.returncode == 1, lines
    assert "Traceback" not in full.stderr and len(lines) <= 5, lines
    assert lines[-1].startswith("govcrawl: cannot write the archive"), lines
    summary = last_summary(archive)  # kept: its space was reserved when the crawl started
    assert summary["finish_reason"] == "warc_write_error" and summary["write_error"]
    for path in (archive / "warc").iterdir():  # sealed or still .open: whole records only
        check = subprocess.run(
            [str(Path(sys.executable).parent / "warcio"), "check", str(path)], capture_output=True
        )
        assert check.returncode == 0, (path.name, check.stdout, check.stderr)
    if grow:
        grow()
    again = crawl(archive, kinds, proxy, *RECHECK_ALL)
    assert again.returncode == 0, output_lines(again)
    assert not list((archive / "warc").glob("*.open"))
    for path in (archive / "warc").glob("*.warc.gz"):
        check = subprocess.run(
            [str(Path(sys.executable).parent / "warcio"), "check", str(path)], capture_output=True
        )
        assert check.returncode == 0, path.name
    recorded = reports(archive)
    assert all(f"http://{kind}.example.gov.cn{GOOD}" in recorded for kind in kinds)


def test_replay_stopped_while_pywb_starts_leaves_no_pywb(tmp_path):
    """SIGTERM to `govcrawl replay` before pywb answers: pywb (its own session) stops too."""
    import signal
    import time

    from govcrawl.publish.replay import pywb_executable

    pywb_executable()
    archive = fx_archive(tmp_path)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*GOVCRAWL, "replay", "--archive", str(archive), "--port", str(port)],
        cwd=REPO,
        env=crawl_env(None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = archive / "replay" / "pywb.log"
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert log.exists()
    proc.send_signal(signal.SIGTERM)  # pywb was just spawned: it is still starting
    assert proc.wait(timeout=30) == 0
    workdir = str(archive / "replay")
    deadline = time.monotonic() + 5
    while _processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_in(workdir) == []


def fx_archive(tmp_path: Path) -> Path:
    from tests import warcfixtures as fx

    return fx.make_archive(tmp_path / "archive").root


def _processes_in(workdir: str) -> list[int]:
    """Pids whose working directory is ``workdir`` (pywb runs in ARCHIVE/replay/)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == workdir:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_page_over_the_parse_limit_is_archived_not_parsed_and_named(mock, tmp_path):
    # The table page (3 MiB) under a 1 MiB parse limit: archived whole, never parsed (a 50 MB
    # one took the crawl past 3 GiB while parsed), counted; the good report beside it recorded.
    archive = tmp_path / "archive"
    limit = ["--set", f"GOVCRAWL_PARSE_MAXSIZE={1024 * 1024}"]
    proc = crawl(archive, ["bigtable"], mock().url, *limit)
    assert proc.returncode == 0, proc.stderr
    url = f"http://bigtable.example.gov.cn{HOSTILE}"
    sizes = [
        len(rec.content_stream().read())
        for kind, uri, rec in records(archive)
        if kind == "response" and uri == url
    ]
    assert len(sizes) == 1 and sizes[0] > 1024 * 1024
    assert summary_skipped(archive) == {"too_large_to_parse": 1}
    got = reports(archive)
    assert url not in got and f"http://bigtable.example.gov.cn{GOOD}" in got
    lines = output_lines(proc)
    assert len(lines) == 2 and any("GOVCRAWL_PARSE_MAXSIZE" in ln for ln in lines), lines


def summary_skipped(archive: Path) -> dict:
    return dict(last_summary(archive)["outcomes"].get("skipped") or {})
