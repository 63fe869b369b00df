"""Cell accuracy of govcrawl.extract.tables per layout: the evaluation gate's numbers.

    .venv/bin/python bench/table_accuracy.py [--docs N] [--seed S] [--write-floors]

Corpora (bench/table_corpus.py; expected cells never come from the parser):
- own: documents built from known values in every layout (tests/fixtures/tables);
- real page: the real page texts of replica/texts/, cells read off the page;
- real report: the three real reports of tests/fixtures/real-reports/ in every layout (flat,
  grid and the portal's own HTML, the text files, the PDFs through the table finder and through
  word positions alone), cells read by hand;
- replica: every table-bearing page or attachment of the replica portal, both rounds;
- generated: N random reports per layout variant (seeded), rendered by replica.tables,
  including empty cells in flattened layouts, misprinted row labels and files (DOCX, XLSX, PDF
  with and without rules) through the attachment extraction.

Per layout: documents, cells right / wrong / null and the share right. Wrong is a number that
differs from the page's (or one invented where the page prints none): it must be 0 everywhere.
Null is a printed number left empty. The default pytest run (tests/test_tables_accuracy.py)
fails on any wrong cell and on a share below the floors recorded in
tests/fixtures/tables/accuracy_floors.json (``--write-floors`` records the current shares).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import table_corpus as corpus  # noqa: E402
from govcrawl.extract.attachments import extract_attachment_text  # noqa: E402
from govcrawl.extract.tables import parse_tables  # noqa: E402
from replica import tables as R  # noqa: E402

FLOORS = ROOT / "tests" / "fixtures" / "tables" / "accuracy_floors.json"
# Layout variants of the generated corpus: (name, document maker, empty cells allowed, misprints)
Maker = Callable[[dict[str, Any], str, dict[str, str]], str]


def _text(layout: str, **kw: Any) -> Maker:
    return lambda values, template, labels: R.render(layout, values, template, labels=labels, **kw)


def _file(kind: str, **kw: Any) -> Maker:
    build = {"docx": R.build_docx, "xlsx": R.build_xlsx, "pdf": R.build_pdf}[kind]
    return lambda values, template, labels: extract_attachment_text(
        build(values, template, labels=labels, **kw), f"report.{kind}"
    )


VARIANTS: list[tuple[str, Maker, bool, bool]] = [
    ("html table", _text("html_table"), True, False),
    (
        "html table, fullwidth, layout table",
        _text("html_table", full_width=True, layout_table=True),
        True,
        False,
    ),
    ("html flattened (<p> per cell)", _text("html_flat"), True, False),
    ("flattened text (line per cell)", _text("flattened"), True, False),
    ("flattened text, double-spaced", _text("flattened", blank_lines=True), False, False),
    ("flattened text, empty cells vanished", _text("flattened", empty=None), True, False),
    ("spaced rows (flipbook)", _text("spaced"), False, False),
    (
        "spaced rows, wrapped labels, fullwidth",
        _text("spaced", wrap=15, full_width=True),
        False,
        False,
    ),
    ("pipe cells (cell |)", _text("pipe_cells"), True, False),
    ("delimited rows", _text("delimited"), True, False),
    ("delimited rows, rectangular", _text("delimited", keep_covered=True), True, False),
    ("markdown", _text("markdown"), True, False),
    ("misprinted labels, html table", _text("html_table"), True, True),
    ("misprinted labels, spaced rows", _text("spaced"), False, True),
    ("docx -> text", _file("docx"), True, False),
    ("xlsx -> text", _file("xlsx"), True, False),
    ("pdf, ruled tables -> text", _file("pdf"), True, False),
    ("pdf, unruled, no empty cells -> text", _file("pdf", ruled=False), False, False),
    ("pdf, unruled, empty cells -> text", _file("pdf", ruled=False), True, False),
]


class Tally:
    def __init__(self) -> None:
        self.docs = self.cells = self.right = self.wrong = self.null = 0
        self.seconds = 0.0
        self.wrong_cells: list[Any] = []

    def add(self, result: dict[str, Any], name: str) -> None:
        self.docs += 1
        for key in ("cells", "right", "wrong", "null"):
            setattr(self, key, getattr(self, key) + result[key])
        self.wrong_cells += [(name, *w) for w in result["wrong_cells"]]

    @property
    def share(self) -> float:
        return self.right / self.cells if self.cells else 1.0

    def row(self, name: str) -> str:
        ms = 1000 * self.seconds / self.docs if self.docs else 0
        return (
            f"{name:<62}{self.docs:>5}  {self.right:>7} {self.wrong:>5} {self.null:>6} "
            f"/{self.cells:<7} {100 * self.share:7.2f}%  {ms:7.1f}"
        )


HEADER = (
    f"{'corpus: layout':<62}{'docs':>5}  {'right':>7} {'wrong':>5} {'null':>6} {'/cells':<8} "
    f"{'right':>8}  {'ms/doc':>7}"
)


def corpus_tallies(cases: Iterable[corpus.Case]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for case in cases:
        t0 = time.perf_counter()
        tables = case.tables()
        tally = tallies[f"{case.corpus}: {case.layout}"]
        tally.seconds += time.perf_counter() - t0
        tally.add(corpus.score(case.cells, tables), case.name)
    return tallies


def _misprint(labels: dict[str, str], rng: random.Random) -> dict[str, str]:
    out = {}
    for row in rng.sample(sorted(r for r, lab in labels.items() if len(lab) >= 8), 2):
        label = labels[row]
        cut = rng.randrange(len(label) // 3, 2 * len(label) // 3)
        out[row] = label[:cut] + label[cut + 1 :]
    return out


def generated_tallies(docs: int, seed: int) -> dict[str, Tally]:
    rng = random.Random(seed)
    tallies: dict[str, Tally] = {}
    for name, make, empty_ok, misprints in VARIANTS:
        tally = tallies[f"generated: {name}"] = Tally()
        n = max(1, docs // 5) if "->" in name else docs  # files are slower to build
        for i in range(n):
            template = "2019" if i % 3 == 2 else "2021"
            values = R.random_values(rng, template, null_rate=0.15, empty_ok=empty_ok)
            labels = _misprint(R.row_labels(template), rng) if misprints else {}
            doc = make(values, template, labels)
            t0 = time.perf_counter()
            tables = parse_tables(doc)
            tally.seconds += time.perf_counter() - t0
            tally.add(corpus.score(R.expected_cells(values, template), tables), f"{name} #{i}")
    return tallies


def measure(docs: int, seed: int) -> dict[str, Tally]:
    """Every corpus and layout (what the gate test checks, with ``docs`` generated reports)."""
    tallies = corpus_tallies(corpus.all_cases())
    tallies.update(generated_tallies(docs, seed))
    return tallies


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--docs", type=int, default=20, help="generated reports per layout variant")
    ap.add_argument("--seed", type=int, default=20260128)
    ap.add_argument("--write-floors", action="store_true", help=f"record the shares in {FLOORS}")
    args = ap.parse_args()
    tallies = measure(args.docs, args.seed)
    print(HEADER)
    for name, tally in sorted(tallies.items()):
        print(tally.row(name))
    wrong = [w for t in tallies.values() for w in t.wrong_cells]
    print(f"\nwrong cells: {len(wrong)}")
    for w in wrong[:20]:
        print("  ", w)
    if args.write_floors:
        floors = {name: int(t.share * 10000) / 10000 for name, t in sorted(tallies.items())}
        FLOORS.write_text(json.dumps(floors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"floors written to {FLOORS}")


if __name__ == "__main__":
    main()
