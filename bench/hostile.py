"""Hostile servers: what each costs a crawl, first and second time, one case per crawl.

    .venv/bin/python bench/hostile.py [--bomb-mib 256] [--cases gzipbomb,endless] [--json FILE]

Starts the mock portal (``python -m tests.mockserver``, one handler per behaviour; the same
server the hostile tests crawl) and crawls each behaviour's host alone with the project's
download limits (DOWNLOAD_MAXSIZE 64 MiB: bombs inflate to ``--bomb-mib``, 4x that by default),
twice into the same archive (round 1, then round 2: the mock portal's later state, where the
``challenge202`` and ``gateway`` hosts put up their anti-bot pages). Prints one row per case and
round: the named outcome of the hostile URL (from the run summary and the WARC: archived,
archived truncated, skipped with its reason, blocked, retried), the crawl's exit code, its peak
RSS (the crawl process, ``wait4``) and wall seconds, and what it left outside the archive
(files in its TMPDIR). Fails (exit 1) when any crawl passes 1 GiB or leaves files behind.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "/xxgk/ndbg/202201/t20220128_2.html"  # tests/mockserver.py HOSTILE
CASES = [
    "dataloss", "zstd", "gzipbomb", "deflatebomb", "brbomb", "endless", "oversize", "slowdrip",
    "silent", "redirectloop", "reset", "charsetlie", "deephtml", "crlflocation",
    "dispositionpath", "challenge202", "gateway", "cookie", "shrinks",
    "docxbomb", "pdfbomb", "bigtable",
]  # fmt: skip
SETTINGS = [
    "--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=False",
    "--set", "RETRY_TIMES=1", "--set", "GOVCRAWL_RETRY_BACKOFF=0.5",
    "--set", "DOWNLOAD_TIMEOUT=5",
    "--set", "GOVCRAWL_REVISIT_INTERVAL=0", "--set", "GOVCRAWL_REPORT_RECHECK=0",
]  # fmt: skip
GIB = 1 << 30


def start_mock(round_: int, bomb_mib: int, table_mib: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "tests.mockserver", "--round", str(round_)]
    proc = subprocess.Popen(
        [*cmd, "--bomb-mib", str(bomb_mib), "--table-mib", str(table_mib)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if line[:1] != ["READY"]:
        raise SystemExit(f"the mock portal did not start: {line}")
    return proc, line[1]


def crawl(kind: str, archive: Path, proxy: str, tmpdir: Path) -> tuple[int, int, float]:
    """(exit code, peak RSS bytes, seconds) of one crawl of ``kind``'s host."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
    env.update(http_proxy=proxy, PYTHONPATH=str(REPO), TMPDIR=str(tmpdir))
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", f"http://{kind}.example.gov.cn/"]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*cmd, "--archive", str(archive), *SETTINGS],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024, time.monotonic() - started


def outcome(kind: str, archive: Path) -> str:
    """The hostile URL's named outcome in the latest run (README "Hostile servers")."""
    from warcio.archiveiterator import ArchiveIterator

    summary = json.loads(Path(sorted(glob.glob(f"{archive}/runs/*.json"))[-1]).read_text())
    out = summary.get("outcomes", {})
    blocked = summary.get("blocked", {})
    if blocked.get("hosts"):
        return "blocked (host)"
    if blocked.get("pages"):
        return f"blocked ({blocked['pages']} challenge page)"
    if out.get("skipped"):
        return "skipped: " + ", ".join(f"{k} {v}" for k, v in out["skipped"].items())
    url = f"http://{kind}.example.gov.cn{HOSTILE}"
    kinds = []
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_headers.get_header("WARC-Target-URI") == url and rec.rec_type in (
                    "response",
                    "revisit",
                ):
                    truncated = rec.rec_headers.get_header("WARC-Truncated")
                    kinds.append(f"truncated ({truncated})" if truncated else rec.rec_type)
    retried = f", retried {out['retried']}" if out.get("retried") else ""
    return (
        ("archived: " + ", ".join(kinds) if kinds else "not linked")
        + retried
        + extracted(archive, url)
    )


def extracted(archive: Path, url: str) -> str:
    """What the report record of ``url`` says of its extraction, when it was not plain."""
    path = archive / "reports.jsonl"
    if not path.exists():
        return ""
    with path.open(encoding="utf-8") as fh:
        rec = next((r for r in map(json.loads, fh) if r["url"] == url), None)
    if rec is None:
        return ""
    if rec.get("extract_error"):
        return f"; extract_error: {rec['extract_error']}"
    errors = [a["error"].split(": ", 1)[-1] for a in rec.get("attachments") or [] if a.get("error")]
    return f"; attachment error: {errors[0][:60]}" if errors else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bomb-mib", type=int, default=256)
    ap.add_argument("--table-mib", type=float, default=50, help="the table page (bigtable)")
    ap.add_argument("--cases", help="comma-separated behaviours (default: all)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    cases = args.cases.split(",") if args.cases else CASES
    rows = []
    with tempfile.TemporaryDirectory(prefix="govcrawl-hostile-") as tmp:
        for round_ in (1, 2):
            mock, proxy = start_mock(round_, args.bomb_mib, args.table_mib)
            try:
                for kind in cases:
                    tmpdir = Path(tmp) / f"tmp-{kind}-{round_}"
                    tmpdir.mkdir()
                    archive = Path(tmp) / kind / "archive"
                    code, rss, seconds = crawl(kind, archive, proxy, tmpdir)
                    left = sorted(p.name for p in tmpdir.iterdir())
                    rows.append(
                        {
                            "case": kind,
                            "round": round_,
                            "outcome": outcome(kind, archive),
                            "exit": code,
                            "peak_rss_mib": round(rss / (1 << 20), 1),
                            "seconds": round(seconds, 1),
                            "left_behind": left,
                        }
                    )
                    r = rows[-1]
                    print(
                        f"{kind:16} {round_}  {r['outcome'][:110]:58} exit {code}  "
                        f"{r['peak_rss_mib']:7.1f} MiB  {r['seconds']:5.1f} s"
                        + (f"  LEFT {left}" if left else ""),
                        flush=True,
                    )
            finally:
                mock.kill()
                mock.wait()
                if mock.stdout is not None:
                    mock.stdout.close()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    bad = [r for r in rows if r["peak_rss_mib"] * (1 << 20) > GIB or r["left_behind"]]
    print(f"{len(rows)} crawls, peak RSS max {max(r['peak_rss_mib'] for r in rows)} MiB, "
          f"{len(bad)} over 1 GiB or leaving files")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
