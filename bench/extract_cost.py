"""Cost of extracting one report page (``extract_report``), against lxml parsing the same page.

    .venv/bin/python bench/extract_cost.py [--synthetic 200] [--repeats 3] [--profile FILE]
    .venv/bin/python bench/extract_cost.py --digests tests/fixtures/extract_digests.json

Pages: the synthetic portal's report pages (bench/synthportal.py, ``--synthetic`` of them), the
replica's report pages of both rounds and the HTML page fixtures under tests/fixtures. Per set it
prints the milliseconds per page of ``extract_report(url, html, [])`` and of
``lxml.html.document_fromstring`` on the same pages, measured alternately in one run, and their
ratio (the ratio is what compares across runs: the cores are shared). ``--profile FILE`` writes a
cProfile of the extraction of the whole corpus instead.

``--digests FILE`` writes the SHA-256 of every page's ``extract_report`` output (canonical JSON)
instead: tests/test_extract_same.py checks the extraction still gives those outputs.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.synthportal import ALL_HOST, Layout, article_page, item_path  # noqa: E402
from govcrawl.extract.decode import decode_body  # noqa: E402
from govcrawl.extract.report import extract_report  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"
SYNTHETIC_PORTAL_PAGES = 5000
# Synthetic pages in the digests: few, they are all built alike.
DIGEST_SYNTHETIC = 10


def synthetic_pages(count: int) -> Iterator[tuple[str, str, str]]:
    """(name, url, html) of ``count`` report pages of the whole-site benchmark's portal."""
    layout = Layout(SYNTHETIC_PORTAL_PAGES, all_reports=True)
    step = max(1, layout.items // max(count, 1))
    for item in range(0, layout.items, step)[:count]:
        yield (
            f"synth/{item}",
            f"http://{ALL_HOST}{item_path(layout, item)}",
            article_page(layout, item),
        )


def replica_pages() -> Iterator[tuple[str, str, str]]:
    """(name, url, html) of the replica's HTML report pages (rounds 1 and 2)."""
    from replica import expected

    for round_ in (1, 2):
        for report in expected.expected_reports(round_):
            body, ctype = expected.served(report["url"], round_)
            if not ctype.startswith("text/html"):
                continue
            html, _ = decode_body(body, ctype)
            yield f"replica{round_}/{report['url']}", report["url"], html


def fixture_pages() -> Iterator[tuple[str, str, str]]:
    """(name, url, html) of the HTML fixtures of the text, metadata and table tests."""
    pages = json.loads((FIXTURES / "pages" / "expected.json").read_text(encoding="utf-8"))
    for name, exp in sorted(pages.items()):
        body = (FIXTURES / "pages" / f"{name}.html").read_bytes()
        html, _ = decode_body(body, exp["content_type"])
        yield f"pages/{name}", exp["url"], html
    for folder in ("real-reports", "tables"):
        for path in sorted((FIXTURES / folder).glob("*.html")):
            html, _ = decode_body(path.read_bytes(), "text/html")
            yield f"{folder}/{path.name}", f"http://fixture.invalid/{path.name}", html


def corpus(synthetic: int) -> dict[str, list[tuple[str, str, str]]]:
    return {
        "synthetic": list(synthetic_pages(synthetic)),
        "replica": list(replica_pages()),
        "fixtures": list(fixture_pages()),
    }


def output_digest(result: dict[str, Any]) -> str:
    """SHA-256 of an ``extract_report`` result as canonical JSON."""
    raw = json.dumps(result, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def digests(synthetic: int) -> dict[str, str]:
    out = {}
    for pages in corpus(synthetic).values():
        for name, url, html in pages:
            out[name] = output_digest(extract_report(url, html, []))
    return out


def _time(pages: list[tuple[str, str, str]], repeats: int) -> tuple[float, float]:
    """(ms per page of extract_report, ms per page of lxml parsing), best of ``repeats``.

    Each page is parsed and extracted back to back, so both see the same load on the shared
    cores."""
    best_extract = best_parse = float("inf")
    for _ in range(repeats):
        parse = extract = 0.0
        for _, url, html in pages:
            start = time.process_time()
            lxml.html.document_fromstring(html)
            middle = time.process_time()
            extract_report(url, html, [])
            parse += middle - start
            extract += time.process_time() - middle
        best_parse, best_extract = min(best_parse, parse), min(best_extract, extract)
    n = max(len(pages), 1)
    return 1000 * best_extract / n, 1000 * best_parse / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=int, default=200, help="synthetic report pages")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (best is kept)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the extraction")
    parser.add_argument("--digests", type=Path, help="write the output digests (JSON)")
    args = parser.parse_args(argv)
    if args.digests:
        found = digests(DIGEST_SYNTHETIC)
        args.digests.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"{len(found)} digests -> {args.digests}")
        return
    sets = corpus(args.synthetic)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for pages in sets.values():
            for _, url, html in pages:
                extract_report(url, html, [])
        profiler.disable()
        profiler.dump_stats(args.profile)
        print(f"profile -> {args.profile}")
        return
    print(f"{'pages':<10} {'n':>4} {'KB/page':>8} {'extract ms':>11} {'lxml ms':>8} {'ratio':>6}")
    for label, pages in sets.items():
        extract_ms, parse_ms = _time(pages, args.repeats)
        kb = sum(len(html.encode()) for _, _, html in pages) / max(len(pages), 1) / 1024
        ratio = extract_ms / parse_ms if parse_ms else float("nan")
        print(
            f"{label:<10} {len(pages):>4} {kb:>8.1f} {extract_ms:>11.2f} {parse_ms:>8.3f}"
            f" {ratio:>6.1f}"
        )


if __name__ == "__main__":
    main()
