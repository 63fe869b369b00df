"""Performance benchmark: govcrawl against plain Scrapy + WARC and wget on a synthetic portal.

    .venv/bin/python bench/perf.py [--pages 5000] [--repeats 2] [--results bench/RESULTS.md]

Starts its own portal (bench/synthportal.py: ``--pages`` pages per portal, 150 list pages,
~20 KB articles, served through ``http_proxy``) and runs, alternating (A B C ... A B C ...):

- ``scrapy+warcio``: a minimal plain Scrapy spider with a warcio WARC middleware
  (bench/plain_spider.py), the reference, on the portal whose every article is a report;
- ``govcrawl whole-site``: ``govcrawl crawl`` with GOVCRAWL_FOLLOW_ALL=True, DEPTH_LIMIT=0 on that
  portal, into a fresh archive;
- ``govcrawl again``: the same crawl into the same archive, nothing changed;
- ``govcrawl focused``: ``govcrawl crawl`` (default discovery) of the realistic portal (reports
  4 % of its pages, over three columns);
- ``wget whole-site`` and ``wget realistic``: ``wget --recursive --warc-file`` of each portal.

Every crawler runs with 16 concurrent requests (wget: one) and no delay. Per run: pages (requests
the portal answered, robots.txt and 304s included), wall seconds, pages/s, CPU seconds of the
whole process tree (extraction workers included) and per page, peak RSS of the process tree
(sum over its processes, sampled every 0.1 s), WARC bytes written by the run. For the focused
crawl also: reports found / in the portal and the pages fetched until the last report was.
Prints the medians (min-max) and writes them with the targets of issue 16 as ratios, the
versions and the machine into ``--results``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.synthportal import ALL_HOST, REAL_HOST, Layout, PortalProcess  # noqa: E402

CONCURRENCY = 16
FAST = [
    "--set", "DOWNLOAD_DELAY=0",
    "--set", "AUTOTHROTTLE_ENABLED=False",
    "--set", f"CONCURRENT_REQUESTS={CONCURRENCY}",
    "--set", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONCURRENCY}",
    "--set", "GOVCRAWL_RETRY_BACKOFF=1.0",
]  # fmt: skip
WHOLE_SITE = ["--set", "GOVCRAWL_FOLLOW_ALL=True", "--set", "DEPTH_LIMIT=0"]
ROWS = [
    "scrapy+warcio",
    "govcrawl whole-site",
    "govcrawl again",
    "govcrawl focused",
    "wget whole-site",
    "wget realistic",
]
# --rows names: a subset of the crawlers (a memory-scaling run needs only two).
ROW_KEYS = {
    "scrapy": ["scrapy+warcio"],
    "whole": ["govcrawl whole-site"],
    "again": ["govcrawl whole-site", "govcrawl again"],
    "focused": ["govcrawl focused"],
    "wget": ["wget whole-site", "wget realistic"],
}


@dataclass
class Run:
    """One measured run of one crawler."""

    pages: int
    wall: float
    cpu: float
    rss_mib: float
    warc_bytes: int
    rc: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu / self.pages if self.pages else 0.0


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, float, float]:
    """Run ``cmd``; (exit code, wall s, CPU s, peak RSS MiB) of its whole process tree.

    CPU: what wait4 reports for the process and every descendant reaped under it, or the sum of
    each process's last sampled CPU times when that is more (a forkserver's workers are reaped
    by the forkserver, which may outlive the sample). Peak RSS: the largest sum of the tree's
    resident sets over the samples.
    """
    start = time.perf_counter()
    # stderr into a file, not a pipe: a full pipe would block the crawler (wget logs every URL).
    err_file = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_file)
    top = psutil.Process(proc.pid)
    cpu_seen: dict[int, float] = {}
    peak = 0
    rusage = None
    status = 0
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            tree = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        rss = 0
        for p in tree:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu_seen[p.pid] = t.user + t.system
            except psutil.Error:
                continue
        peak = max(peak, rss)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err_file.seek(0)
    err = err_file.read().decode("utf-8", "replace")
    err_file.close()
    if proc.returncode != 0:
        print(f"  exit {proc.returncode}: {' '.join(cmd[:4])}...\n{err[-1500:]}", file=sys.stderr)
    cpu = max(rusage.ru_utime + rusage.ru_stime, sum(cpu_seen.values()))
    peak_mib = max(peak, rusage.ru_maxrss * 1024) / 2**20
    return proc.returncode, wall, cpu, peak_mib


def warc_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.warc*") if p.is_file())


class Bench:
    def __init__(
        self, pages: int, work: Path, profile: Path | None = None, rows: set[str] | None = None
    ) -> None:
        self.rows = set(ROWS) if rows is None else rows
        self.pages = pages
        self.work = work
        self.profile = profile
        self.portal = PortalProcess(pages, work / "requests.log")
        self.portal.start()
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
        self.env = {**env, "http_proxy": self.portal.url, "PYTHONPATH": str(REPO)}
        self.layout_real = Layout(pages, all_reports=False)

    def run(self, name: str, cmd: list[str], out: Path, host: str) -> Run:
        mark, before = self.portal.mark(), warc_size(out) if out.exists() else 0
        rc, wall, cpu, rss = measure(cmd, self.env, REPO)
        served = [r for r in self.portal.since(mark) if r[0] == host]
        run = Run(len(served), wall, cpu, rss, warc_size(out) - before, rc)
        if name == "govcrawl focused":
            run.extra = self._discovery(served)
        return run

    def _discovery(self, served: list[tuple[str, str, int]]) -> dict[str, Any]:
        """Reports fetched / in the portal, and after how many fetches the last one was."""
        wanted = set(self.layout_real.report_paths())
        seen: set[str] = set()
        last = 0
        for n, (_host, path, status) in enumerate(served, 1):
            if path in wanted and status in (200, 304) and path not in seen:
                seen.add(path)
                last = n
        return {"reports_found": len(seen), "reports": len(wanted), "pages_until_all": last}

    def govcrawl(self, archive: Path, host: str, extra: list[str], name: str = "") -> list[str]:
        cmd = [sys.executable, "-m", "crawler.cli", "crawl", "--archive", str(archive), *FAST,
               *extra, f"http://{host}/"]  # fmt: skip
        if self.profile is not None and name:
            # py-spy samples the crawl and its extraction workers (collapsed stacks, per process).
            out = self.profile / f"{name}.txt"
            cmd = [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses",
                   "--format", "raw", "--rate", "50", "--output", str(out), "--", *cmd]  # fmt: skip
        return cmd

    def repeat(self, r: int) -> dict[str, Run]:
        w = self.work / f"r{r}"
        w.mkdir()
        plain = w / "plain"
        plain.mkdir()
        steps: list[tuple[str, Callable[[], Run]]] = [
            ("scrapy+warcio", lambda: self.run(
                "scrapy+warcio",
                [sys.executable, str(REPO / "bench" / "plain_spider.py"), f"http://{ALL_HOST}/",
                 "--warc", str(plain / "plain.warc.gz"), "--stats", str(plain / "stats.json")],
                plain, ALL_HOST)),
            ("govcrawl whole-site", lambda: self.run(
                "govcrawl whole-site",
                self.govcrawl(w / "whole", ALL_HOST, WHOLE_SITE, "whole-site"),
                w / "whole", ALL_HOST)),
            ("govcrawl again", lambda: self.run(
                "govcrawl again", self.govcrawl(w / "whole", ALL_HOST, WHOLE_SITE, "again"),
                w / "whole", ALL_HOST)),
            ("govcrawl focused", lambda: self.run(
                "govcrawl focused", self.govcrawl(w / "focused", REAL_HOST, []),
                w / "focused", REAL_HOST)),
            ("wget whole-site", lambda: self.wget(w / "wget-all", ALL_HOST)),
            ("wget realistic", lambda: self.wget(w / "wget-real", REAL_HOST)),
        ]  # fmt: skip
        results = {}
        for name, step in steps:
            if name not in self.rows:
                continue
            results[name] = run = step()
            print(
                f"  [{r}] {name:20} {run.pages:6d} pages {run.wall:7.1f} s "
                f"{run.cpu:7.1f} CPU s {run.rss_mib:7.1f} MiB {run.warc_bytes / 1e6:8.2f} MB"
                + (f" {run.extra}" if run.extra else ""),
                flush=True,
            )
        shutil.rmtree(w, ignore_errors=True)
        return results

    def wget(self, out: Path, host: str) -> Run:
        out.mkdir()
        cmd = ["wget", "--recursive", "--level=inf", "--no-verbose", "--delete-after",
               "--no-warc-keep-log", f"--warc-file={out / 'wget'}", "--directory-prefix",
               str(out / "files"), f"http://{host}/"]  # fmt: skip
        return self.run("wget", cmd, out, host)


def spread(values: list[float], fmt: str) -> str:
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def paired(runs: list[dict[str, Run]], num: str, den: str, key: Callable[[Run], float]) -> str:
    """Median (min-max) over the repeats of key(num) / key(den), each within its own repeat."""
    ratios = [key(r[num]) / key(r[den]) for r in runs if num in r and den in r and key(r[den])]
    return spread(ratios, ".2f") if ratios else "n/a"


def report(runs: list[dict[str, Run]], pages: int) -> str:
    lines = [
        f"| {len(runs)} run(s), portal of {pages} pages; median (min–max) | pages | wall s "
        "| pages/s | CPU s | CPU ms/page | peak RSS MiB | WARC MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in [n for n in ROWS if n in runs[0]]:
        rs = [r[name] for r in runs]
        lines.append(
            f"| {name} | {spread([x.pages for x in rs], '.0f')} | "
            f"{spread([x.wall for x in rs], '.1f')} | "
            f"{spread([x.pages_per_s for x in rs], '.1f')} | "
            f"{spread([x.cpu for x in rs], '.1f')} | "
            f"{spread([x.cpu_ms_per_page for x in rs], '.1f')} | "
            f"{spread([x.rss_mib for x in rs], '.0f')} | "
            f"{spread([x.warc_bytes / 1e6 for x in rs], '.2f')} |"
        )  # fmt: skip
    focused = [r["govcrawl focused"].extra for r in runs if "govcrawl focused" in r]
    whole_real = [r["wget realistic"].pages for r in runs if "wget realistic" in r]
    found = ", ".join(f"{f['reports_found']}/{f['reports']}" for f in focused) or "n/a"
    until = [f["pages_until_all"] / w for f, w in zip(focused, whole_real, strict=False) if w]
    pps = lambda x: x.pages_per_s  # noqa: E731
    cpp = lambda x: x.cpu_ms_per_page  # noqa: E731
    lines += [
        "",
        "Targets of issue 16 (ratios within each repeat; median (min–max)):",
        "",
        "| target | measured | goal |",
        "|---|---|---|",
        f"| whole-site pages/s ÷ scrapy+warcio | "
        f"{paired(runs, 'govcrawl whole-site', 'scrapy+warcio', pps)} | ≥ 0.6 |",
        f"| whole-site CPU per page ÷ scrapy+warcio | "
        f"{paired(runs, 'govcrawl whole-site', 'scrapy+warcio', cpp)} | ≤ 2 |",
        f"| re-crawl WARC bytes ÷ first crawl | "
        f"{paired(runs, 'govcrawl again', 'govcrawl whole-site', lambda x: x.warc_bytes)} "
        "| ≤ 0.05 |",
        f"| re-crawl wall ÷ first crawl | "
        f"{paired(runs, 'govcrawl again', 'govcrawl whole-site', lambda x: x.wall)} | ≤ 0.3 |",
        f"| re-crawl CPU ÷ first crawl | "
        f"{paired(runs, 'govcrawl again', 'govcrawl whole-site', lambda x: x.cpu)} | ≤ 0.3 |",
        f"| peak RSS ÷ scrapy+warcio ({pages} pages) | "
        f"{paired(runs, 'govcrawl whole-site', 'scrapy+warcio', lambda x: x.rss_mib)} | ≤ 1.2 "
        "(at 50k) |",
        f"| focused: reports found | {found} | all |",
        f"| focused: pages until the last report ÷ whole-site pages | "
        f"{spread(until, '.3f') if until else 'n/a'} | ≤ 0.10 |",
        f"| focused wall ÷ wget whole-site mirror of the same portal | "
        f"{paired(runs, 'govcrawl focused', 'wget realistic', lambda x: x.wall)} | < 1 |",
    ]
    failed = sorted({n for r in runs for n, x in r.items() if x.rc != 0})
    if failed:
        lines += ["", f"Runs with a non-zero exit: {', '.join(failed)}."]
    return "\n".join(lines) + "\n"


def versions() -> str:
    from importlib.metadata import version

    wget = subprocess.run(["wget", "--version"], capture_output=True, text=True).stdout
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"- govcrawl {commit}; Python {platform.python_version()}; Scrapy {version('scrapy')}; "
        f"Twisted {version('twisted')}; warcio {version('warcio')}; lxml {version('lxml')}; "
        f"{wget.splitlines()[0] if wget else 'wget ?'}\n"
        f"- machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; the portal server runs on the same cores\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5000, help="pages per portal (5000)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats (2)")
    parser.add_argument(
        "--results", type=Path, default=REPO / "bench" / "RESULTS.md", help="Markdown output"
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument(
        "--rows",
        default=",".join(ROW_KEYS),
        help=f"crawlers to run, of {','.join(ROW_KEYS)} (all)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the whole-site crawl and its re-crawl under py-spy; collapsed stacks here "
        "(bench/profile_summary.py reads them); the figures are then not comparable",
    )
    args = parser.parse_args(argv)
    if args.pages < 100 or args.repeats < 1:
        parser.error("--pages must be at least 100 and --repeats at least 1")
    unknown = set(args.rows.split(",")) - set(ROW_KEYS)
    if unknown:
        parser.error(f"unknown --rows: {', '.join(sorted(unknown))}")
    rows = {name for key in args.rows.split(",") for name in ROW_KEYS[key]}
    if "wget whole-site" in rows and shutil.which("wget") is None:
        parser.error("wget is missing: run scripts/system-packages")
    runs: list[dict[str, Run]] = []
    with tempfile.TemporaryDirectory(prefix="govcrawl-perf-") as tmp:
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        bench = Bench(args.pages, Path(tmp), args.profile, rows)
        try:
            for r in range(args.repeats):
                print(f"repeat {r + 1}/{args.repeats}", flush=True)
                runs.append(bench.repeat(r))
        finally:
            bench.portal.stop()
    table = report(runs, args.pages)
    print(table)
    args.results.write_text(
        "# Performance benchmark (bench/perf.py)\n\n"
        f"`.venv/bin/python bench/perf.py --pages {args.pages} --repeats {args.repeats}"
        + (f" --rows {args.rows}" if args.rows != ",".join(ROW_KEYS) else "")
        + "`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
        f"{table}\n{versions()}",
        encoding="utf-8",
    )
    if args.json:
        args.json.write_text(
            json.dumps([{n: vars(x) for n, x in r.items()} for r in runs], indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
