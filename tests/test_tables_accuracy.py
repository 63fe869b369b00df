"""The evaluation gate: every corpus and layout of bench/table_accuracy.py, scored cell by cell.

Fails on any wrong number (a cell whose value differs from the page's) anywhere, and on a share
of cells right below the floor recorded for that layout in
tests/fixtures/tables/accuracy_floors.json (``bench/table_accuracy.py --docs 10
--write-floors`` records them; a floor only moves up). The real reports, the replica's pages and
the fixtures must score 100 %.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import table_accuracy as bench

GATE_DOCS = 10  # generated reports per layout variant, as the floors were recorded


@pytest.fixture(scope="module")
def tallies() -> dict[str, Any]:
    return bench.measure(GATE_DOCS, 20260128)


@pytest.fixture(scope="module")
def floors() -> dict[str, float]:
    return json.loads(bench.FLOORS.read_text(encoding="utf-8"))


def test_no_wrong_number_in_any_layout(tallies: dict[str, Any]) -> None:
    wrong = {name: t.wrong_cells[:5] for name, t in tallies.items() if t.wrong}
    assert wrong == {}


def test_no_layout_below_its_floor(tallies: dict[str, Any], floors: dict[str, float]) -> None:
    assert set(floors) == set(tallies), "a layout was added or lost: record the floors again"
    below = {
        name: (round(t.share, 4), floors[name])
        for name, t in tallies.items()
        if t.share < floors[name]
    }
    assert below == {}


def test_real_reports_replica_and_fixtures_score_every_cell(tallies: dict[str, Any]) -> None:
    """Done when: every layout of the real reports (flat, grid, orig, the PDFs and their text
    layers) and every table-bearing replica page score 100 %, the replica's 2019 flattened
    pages with empty cells included."""
    exact = ("real report: ", "replica: ", "own: ", "real page: ")
    short = {
        name: (t.right, t.cells)
        for name, t in tallies.items()
        if name.startswith(exact) and t.right != t.cells
    }
    assert short == {}
    layouts = {name for name in tallies if name.startswith("real report: ")}
    assert len(layouts) == 7  # flat, grid, orig, text layer, one cell per line, PDF twice
    assert "replica: replica 2019 flat" in tallies
