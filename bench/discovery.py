"""Discovery benchmark: what finding every report costs, against a whole-site crawl of the same
portal, in one run.

    .venv/bin/python bench/discovery.py [--scale 10] [--json FILE]

Crawls the replica portal (replica/, every shape of issue 14: reports in notice and news columns
and in a department's 信息公开目录, a 30-page 下一页-only column, a GB2312 site with Chinese query
strings, a download servlet, a script-redirect root) twice at the same scale, each into a fresh
archive: the default crawl (best-first discovery) and a whole-site crawl
(GOVCRAWL_FOLLOW_ALL=True, DEPTH_LIMIT=0). Every figure is counted by the portal itself (the
replica's request log: every request it answered, robots.txt, requisites and counters included),
and reports against replica/expected.py. Prints, per crawl: requests, reports found / expected,
decoys reported, requests per report; then the ratio default / whole-site (the goal of issue
14: all reports for at most 10 % of the whole site's fetches). Ratios, never timings.

``--scale K`` multiplies the replica's ordinary news articles (K x ~270; reports, notices and
decoys stay as they are), as real portals hold far more news than reports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crawlsettings import fast  # noqa: E402
from replica import expected  # noqa: E402
from replica.process import ReplicaProcess  # noqa: E402

FAST = fast()
WHOLE_SITE = ["--set", "GOVCRAWL_FOLLOW_ALL=True", "--set", "DEPTH_LIMIT=0"]


def crawl_env(proxy: str) -> dict[str, str]:
    """This environment with the replica as the only proxy and this checkout importable."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
    return {**env, "http_proxy": proxy, "PYTHONPATH": str(REPO)}


def crawl(name: str, scale: int, extra: list[str], work: Path) -> dict:
    """One crawl of a fresh replica into a fresh archive; what the portal saw and what was found."""
    log = work / f"{name}.requests.jsonl"
    archive = work / f"{name}-archive"
    with ReplicaProcess(round=1, scale=scale, log_path=log) as replica:
        proc = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", "--archive", str(archive), *FAST,
             *extra],
            env=crawl_env(replica.url),
            cwd=REPO,
            capture_output=True,
            text=True,
        )  # fmt: skip
        requests = replica.requests()
    if proc.returncode != 0:
        raise SystemExit(f"{name} crawl failed ({proc.returncode}): {proc.stderr[-2000:]}")
    found = set()
    reports_jsonl = archive / "reports.jsonl"
    if reports_jsonl.exists():
        with reports_jsonl.open(encoding="utf-8") as fh:
            found = {json.loads(line)["url"] for line in fh if line.strip()}
    summary = json.loads(max((archive / "runs").glob("*.json")).read_text(encoding="utf-8"))
    return {"requests": len(requests), "found": found, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="replica news multiplier (10)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    wanted = {r["url"] for r in expected.expected_reports(1)}
    decoys = set(expected.decoy_urls())
    out: dict = {"scale": args.scale, "expected_reports": len(wanted)}
    with tempfile.TemporaryDirectory(prefix="govcrawl-discovery-") as tmp:
        for name, extra in (("default", []), ("whole_site", WHOLE_SITE)):
            result = crawl(name, args.scale, extra, Path(tmp))
            found = result["found"]
            out[name] = {
                "requests": result["requests"],
                "reports_found": len(found & wanted),
                "reports_missed": sorted(wanted - found),
                "decoys_reported": sorted(found & decoys),
                "not_expected": sorted(found - wanted - decoys),
                "requests_per_report": round(result["requests"] / max(len(found & wanted), 1), 2),
                "budget": result["summary"].get("budget"),
            }
    ratio = out["default"]["requests"] / out["whole_site"]["requests"]
    out["default_over_whole_site"] = round(ratio, 4)
    for name in ("default", "whole_site"):
        r = out[name]
        print(
            f"{name:10} {r['requests']:6d} requests, reports {r['reports_found']}/"
            f"{len(wanted)}, {len(r['decoys_reported'])} decoys, "
            f"{r['requests_per_report']} requests per report"
        )
    print(f"default / whole-site requests: {ratio:.1%} (goal: at most 10 %)")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
