"""extract_report gives the same output as before its speed-ups (issue 16), on every page the
text, metadata and table tests use, the replica's report pages and synthetic benchmark pages.

tests/fixtures/extract_digests.json holds the SHA-256 of each page's output (canonical JSON),
written by ``bench/extract_cost.py --digests`` from the code before the speed-ups. An
intentional change of the extraction rewrites it with that command (and says why in its
commit); a speed-up must leave it as it is.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from bench.extract_cost import (
    DIGEST_SYNTHETIC,
    corpus,
    output_digest,
)
from govcrawl.extract import dom
from govcrawl.extract import text as text_module
from govcrawl.extract.report import extract_report

DIGESTS = Path(__file__).resolve().parent / "fixtures" / "extract_digests.json"


@cache
def _pages() -> dict[str, list[tuple[str, str, str]]]:
    return corpus(DIGEST_SYNTHETIC)


@cache
def _expected() -> dict[str, str]:
    return json.loads(DIGESTS.read_text(encoding="utf-8"))


def test_digests_cover_the_corpus() -> None:
    names = {name for pages in _pages().values() for name, _, _ in pages}
    assert names == set(_expected())
    assert len(_pages()["synthetic"]) == DIGEST_SYNTHETIC
    assert len(_pages()["replica"]) > 50
    assert len(_pages()["fixtures"]) > 30


@pytest.mark.parametrize("pages", ["synthetic", "replica", "fixtures"])
def test_same_output(pages: str) -> None:
    changed = [
        name
        for name, url, html in _pages()[pages]
        if output_digest(extract_report(url, html, [])) != _expected()[name]
    ]
    assert changed == []


def test_inner_cjk_is_text_cjk() -> None:
    """find_content's one-pass count equals text_cjk (render_lines) on the elements it may score
    (a class or id) and on body, of the fixture pages and of every fourth replica page, as
    parsed and as extract_text prepares them."""
    checked = 0
    for _, _, html in _pages()["fixtures"] + _pages()["replica"][::4]:
        for tree in (dom.parse_html(html), text_module._prepare(html)):
            inner = dom._inner_cjk(tree)
            for el in tree.iter():
                tag = dom.tag_of(el)
                if tag is None or not (el.get("class") or el.get("id") or tag == "body"):
                    continue
                tail = dom.cjk_count(el.tail) if el.tail else 0
                assert max(0, inner[el] + tail - dom.link_cjk(el)) == dom.text_cjk(el)
                checked += 1
    assert checked > 500
