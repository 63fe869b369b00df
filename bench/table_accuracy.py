"""Cell accuracy of govcrawl.extract.tables per layout.

    .venv/bin/python bench/table_accuracy.py [--docs N] [--seed S]

Two corpora:
- fixtures: tests/fixtures/tables (hand-built documents in every layout and the real page texts;
  their expected cells are written from the values put in, or read off the real page);
- generated: N random reports per layout variant (seeded), rendered like the fixtures, including
  degraded variants real pages produce (flattened text whose empty cells vanished; rectangular
  delimited rows; PDF/DOCX/XLSX files through the attachment extractor).

Columns: cells correct/total (every cell of the template, null included), printed cells
recovered (cells that show a number on the page and came back with it), and wrong numbers (a
non-null cell that differs from the page: a shifted or invented value; should be 0).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from govcrawl.extract.attachments import extract_attachment_text  # noqa: E402
from govcrawl.extract.tables import flatten_tables, parse_tables  # noqa: E402
from tests.fixtures.tables import render as R  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "tables"


class Tally:
    def __init__(self) -> None:
        self.docs = 0
        self.cells = 0
        self.correct = 0
        self.printed = 0
        self.recovered = 0
        self.wrong = 0
        self.seconds = 0.0

    def add(self, expected: dict[str, Any] | None, tables: dict[str, Any] | None) -> None:
        self.docs += 1
        if expected is None:  # a page without tables: one "cell", right when None came back
            self.cells += 1
            self.correct += tables is None
            return
        flat = flatten_tables(tables)
        for name, want in expected.items():
            got = flat.get(name)
            self.cells += 1
            self.correct += got == want
            if want is not None:
                self.printed += 1
                self.recovered += got == want
            if got is not None and got != want:
                self.wrong += 1

    def row(self, name: str) -> str:
        pct = 100 * self.correct / self.cells if self.cells else 0
        rec = 100 * self.recovered / self.printed if self.printed else 100
        ms = 1000 * self.seconds / self.docs if self.docs else 0
        return (
            f"{name:<34}{self.docs:>5}  {self.correct:>7}/{self.cells:<7} {pct:6.2f}%  "
            f"{self.recovered:>7}/{self.printed:<7} {rec:6.2f}%  {self.wrong:>5}  {ms:7.1f}"
        )


HEADER = (
    f"{'layout':<34}{'docs':>5}  {'cells correct/total':<24}  {'printed recovered':<24} "
    f"{'wrong':>5}  {'ms/doc':>7}"
)


def fixture_corpus() -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for exp in sorted(FIXTURES.rglob("*.expected.json")):
        stem = exp.name.removesuffix(".expected.json")
        doc = next(
            p
            for p in exp.parent.iterdir()
            if p.name.startswith(stem + ".") and p.suffix in (".txt", ".html")
        )
        meta = json.loads(exp.read_text(encoding="utf-8"))
        kind = "real" if doc.parent.name == "real" else "own"
        text = doc.read_text(encoding="utf-8")
        t0 = time.perf_counter()
        tables = parse_tables(text)
        tally = tallies[f"{kind}:{meta['layout']}"]
        tally.seconds += time.perf_counter() - t0
        tally.add(meta["cells"], tables)
    return tallies


def _text(render: Callable[..., str], **kw: Any) -> Callable[[dict[str, Any], str], str]:
    return lambda values, template: render(values, template, **kw)


def _file(build: Callable[..., bytes], kind: str) -> Callable[[dict[str, Any], str], str]:
    return lambda values, template: extract_attachment_text(build(values, template), f"r.{kind}")


VARIANTS: list[tuple[str, Callable[[dict[str, Any], str], str], bool]] = [
    # (name, document maker, may the values contain empty cells)
    ("html_table", _text(R.render_html), True),
    (
        "html_table fullwidth+layout table",
        _text(R.render_html, full_width=True, layout_table=True),
        True,
    ),
    ("flattened", _text(R.render_flattened), False),
    ("flattened fullwidth", _text(R.render_flattened, full_width=True), False),
    ("flattened, empty cells vanished", _text(R.render_flattened, drop_empty=True), True),
    ("spaced (flipbook)", _text(R.render_spaced), False),
    ("spaced wrapped labels fullwidth", _text(R.render_spaced, wrap=15, full_width=True), False),
    ("pipe cells (cell |)", _text(R.render_pipe_cells), True),
    ("delimited (extraction rows)", _text(R.render_delimited), True),
    ("delimited rectangular", _text(R.render_delimited, keep_covered=True), True),
    ("markdown", _text(R.render_markdown), True),
    ("docx -> text", _file(R.build_docx, "docx"), True),
    ("xlsx -> text", _file(R.build_xlsx, "xlsx"), True),
    ("pdf -> text", _file(R.build_pdf, "pdf"), True),
]


def generated_corpus(docs: int, seed: int) -> dict[str, Tally]:
    rng = random.Random(seed)
    tallies: dict[str, Tally] = {}
    for name, make, empty_ok in VARIANTS:
        tally = tallies[name] = Tally()
        n = max(1, docs // 5) if "->" in name else docs  # files are slower to build
        for i in range(n):
            template = "2019" if i % 3 == 2 else "2021"
            values = R.random_values(rng, template, null_rate=0.15, empty_ok=empty_ok)
            doc = make(values, template)
            t0 = time.perf_counter()
            tables = parse_tables(doc)
            tally.seconds += time.perf_counter() - t0
            tally.add(R.expected_cells(values, template), tables)
    return tallies


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--docs", type=int, default=50, help="generated reports per layout variant")
    ap.add_argument("--seed", type=int, default=20260128)
    args = ap.parse_args()
    print("fixture corpus (tests/fixtures/tables)")
    print(HEADER)
    for name, tally in sorted(fixture_corpus().items()):
        print(tally.row(name))
    print(f"\ngenerated corpus ({args.docs} reports per variant, seed {args.seed}, 15% null cells)")
    print(HEADER)
    for name, tally in generated_corpus(args.docs, args.seed).items():
        print(tally.row(name))


if __name__ == "__main__":
    main()
