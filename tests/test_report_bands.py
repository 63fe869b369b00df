"""The duplicate grouper's LSH bands in the capture index (SQLite and a real PostgreSQL): no
per-report state in the grouper, a fleet's workers see each other's reports, an index from
before the band table is banded from its stored fingerprints."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from datasketch import MinHashLSH

from govcrawl.archive import dedupe
from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.dedupe import ReportGrouper, fingerprint_bands, text_fingerprint

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REAL = Path(__file__).resolve().parent.parent / "replica" / "texts"
STEMS = ["01_xam_gaj_2021", "03_xam_wsb_2025", "06_xam_meng_2024", "07_xam_meng_2019"]


def real_text(stem: str) -> str:
    lines = (REAL / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
    return "\n".join(
        line for line in lines if not line.startswith(("URL:", "[TRUNCATED", "[FRAGMENT"))
    )


def near_copy(text: str) -> str:
    """The same report re-posted: one sentence added, as on a department site."""
    return text + "\n本报告电子版可在本机关门户网站政府信息公开专栏下载。"


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request, tmp_path) -> Iterator[Callable[[], CaptureIndex]]:
    """Opens another connection to one index (a later crawl, or another fleet worker)."""
    opened: list[CaptureIndex] = []
    schema = f"govcrawl_test_{uuid.uuid4().hex[:12]}"

    def open_index() -> CaptureIndex:
        if request.param == "sqlite":
            idx = CaptureIndex.open(tmp_path)
        else:
            idx = CaptureIndex.open(PG_DSN, schema=schema)
        opened.append(idx)
        return idx

    open_index.backend = request.param  # type: ignore[attr-defined]
    try:
        yield open_index
    finally:
        for idx in opened:
            idx.close()
        if request.param == "postgresql":
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def capture(index: CaptureIndex, url: str) -> int:
    return index.add_capture(
        url=url,
        fetched="2026-11-28T04:30:00Z",
        http_status=200,
        digest=f"sha1:{url}",
        size=1,
        warc="a.warc.gz",
        offset=0,
        length=10,
        record_type="response",
        status="new",
    )


def band_rows(index: CaptureIndex) -> list[tuple[int, int]]:
    return [
        (int(b), int(c))
        for b, c in index._rows(f"SELECT band, capture_id FROM {index.bands_table}", [])
    ]


def test_bands_follow_datasketch_banding():
    fp = text_fingerprint(real_text(STEMS[0]))
    bands = fingerprint_bands(fp)
    lsh = MinHashLSH(threshold=dedupe.SAME_REPORT_THRESHOLD, num_perm=dedupe.NUM_PERM)
    assert lsh.hashranges == [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]
    assert (dedupe._BANDS, dedupe._ROWS) == (lsh.b, lsh.r)
    assert len(bands) == lsh.b == 14 and len(set(bands)) == 14
    assert all(-(2**63) <= b < 2**63 for b in bands)
    # A change to the values of one band changes that band's key only.
    values = dedupe._values(fp).copy()
    start, end = lsh.hashranges[3]
    values[start] ^= 1
    changed = dedupe._bands(values)
    assert [i for i in range(14) if changed[i] != bands[i]] == [3]


def test_second_grouper_finds_what_the_first_indexed(opener):
    first_index = opener()
    first = ReportGrouper(first_index)
    ids = {stem: capture(first_index, f"http://xam.gov.cn/{stem}") for stem in STEMS}
    fps = {stem: text_fingerprint(real_text(stem)) for stem in STEMS}
    for stem in STEMS:
        assert first.assign(ids[stem], fps[stem]) == ids[stem]
    first.flush()
    stored = band_rows(first_index)
    assert sorted({c for _, c in stored}) == sorted(ids.values()) and len(stored) == 14 * 4

    # Another worker (its own connection) while the first still runs: it reads the bands.
    second_index = opener()
    second = ReportGrouper(second_index)
    assert len(band_rows(second_index)) == len(stored)  # nothing left to band at its start
    copy = capture(second_index, "http://gaj.xam.gov.cn/01_xam_gaj_2021")
    assert second.assign(copy, text_fingerprint(near_copy(real_text(STEMS[0])))) == ids[STEMS[0]]
    # The same fingerprint again (a re-crawl) is its first capture's group, and is not banded.
    again = capture(second_index, f"http://xam.gov.cn/{STEMS[2]}")
    assert second.assign(again, fps[STEMS[2]]) == ids[STEMS[2]]
    second.flush()
    assert {c for _, c in band_rows(second_index)} == {*ids.values(), copy}
    # The first grouper sees the second's copy too: a copy of the copy joins the group.
    third = capture(first_index, "http://www.xam.gov.cn/01_xam_gaj_2021")
    text = near_copy(real_text(STEMS[0])) + "\n联系电话：0482-8266000。"
    assert first.assign(third, text_fingerprint(text)) == ids[STEMS[0]]


def test_grouper_holds_one_batch_at_most(opener, monkeypatch):
    monkeypatch.setattr(dedupe, "BAND_BATCH", 3)
    index = opener()
    grouper = ReportGrouper(index)
    stems = sorted(p.stem for p in REAL.glob("*.txt"))[1:9]
    ids = []
    for stem in stems:
        # Eight distinct reports: each its own group, none held beyond a batch.
        cid = capture(index, f"http://x/{stem}")
        ids.append(cid)
        assert grouper.assign(cid, text_fingerprint(real_text(stem))) == cid
        assert len(grouper._pending) < 3
    assert {c for _, c in band_rows(index)} == set(ids[:6])
    index.close()  # stores the last batch
    later = opener()
    assert {c for _, c in band_rows(later)} == set(ids)
    assert later.band_mark() == ids[-1]


def test_killed_crawls_batch_is_banded_by_the_next(opener):
    index = opener()
    grouper = ReportGrouper(index)
    original = capture(index, "http://xam.gov.cn/a")
    assert grouper.assign(original, text_fingerprint(real_text(STEMS[0]))) == original
    assert band_rows(index) == []  # still in the grouper's batch: the crawl is killed now

    later = opener()
    assert later.band_mark() == 0
    regrouper = ReportGrouper(later)  # bands the stored fingerprint above the mark
    assert {c for _, c in band_rows(later)} == {original} and later.band_mark() == original
    copy = capture(later, "http://gaj.xam.gov.cn/a")
    assert regrouper.assign(copy, text_fingerprint(near_copy(real_text(STEMS[0])))) == original


def drop_band_tables(opener, index: CaptureIndex) -> None:
    """Make ``index`` look like one from before the band table."""
    if opener.backend == "sqlite":
        path = index.path
        index.close()
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE report_bands")
            conn.execute("DROP TABLE report_bands_mark")
        conn.close()
    else:
        index._execute(f"DROP TABLE {index.bands_table}")
        index._execute(f"DROP TABLE {index.bands_mark_table}")
        index.close()


def test_index_without_bands_is_banded_from_its_fingerprints(opener, monkeypatch):
    old = opener()
    ids = {stem: capture(old, f"http://xam.gov.cn/{stem}") for stem in STEMS}
    copy = capture(old, "http://gaj.xam.gov.cn/01_xam_gaj_2021")
    recrawl = capture(old, "http://xam.gov.cn/01_xam_gaj_2021#2")
    # As the grouper before the band table left them: fingerprints with their groups.
    for stem in STEMS:
        old.update_report(
            ids[stem], fingerprint=text_fingerprint(real_text(stem)), group_id=ids[stem]
        )
    copy_fp = text_fingerprint(near_copy(real_text(STEMS[0])))
    old.update_report(copy, fingerprint=copy_fp, group_id=ids[STEMS[0]])
    old.update_report(recrawl, fingerprint=copy_fp, group_id=ids[STEMS[0]])
    drop_band_tables(opener, old)

    monkeypatch.setattr(dedupe, "BAND_BATCH", 2)  # the fill goes in pages and batches
    index = opener()
    assert index.band_mark() == 0 and band_rows(index) == []
    grouper = ReportGrouper(index)
    # Every distinct fingerprint banded once (the re-crawl's identical one is not).
    assert {c for _, c in band_rows(index)} == {*ids.values(), copy}
    assert len(band_rows(index)) == 14 * 5 and index.band_mark() == recrawl
    # Grouping goes on as before: a third copy joins the first report's group.
    third = capture(index, "http://www.xam.gov.cn/01_xam_gaj_2021")
    text = near_copy(real_text(STEMS[0])) + "\n联系电话：0482-8266000。"
    assert grouper.assign(third, text_fingerprint(text)) == ids[STEMS[0]]
    other = capture(index, "http://xam.gov.cn/07_again")
    fp = text_fingerprint(real_text(STEMS[3]))
    assert grouper.assign(other, fp) == ids[STEMS[3]]
    # A second grouper on the migrated index has nothing left to fill.
    rows = len(band_rows(index))
    ReportGrouper(index)
    assert len(band_rows(index)) == rows


def test_dropped_capture_hands_its_bands_to_a_later_copy(opener):
    """Recovery drops the captures of a torn WARC: a later capture of the same fingerprint,
    never banded while the first stood for it, is banded by the next grouper."""
    index = opener()
    grouper = ReportGrouper(index)
    fp = text_fingerprint(real_text(STEMS[0]))
    first = index.add_capture(
        url="http://xam.gov.cn/a", fetched="2026-11-28T04:30:00Z", http_status=200,
        digest="sha1:a", size=1, warc="torn.warc.gz", offset=0, length=10,
        record_type="response", status="new",
    )  # fmt: skip
    later = capture(index, "http://gaj.xam.gov.cn/a")
    assert grouper.assign(first, fp) == first
    assert grouper.assign(later, fp) == first
    grouper.flush()
    assert {c for _, c in band_rows(index)} == {first}
    assert index.drop_captures_beyond("torn.warc.gz", 0) == 1
    assert index.band_mark() == first - 1

    regrouper = ReportGrouper(index)
    assert first not in {c for c, _, _ in index.band_candidates(fingerprint_bands(fp))}
    assert [c for c, _, _ in index.band_candidates(fingerprint_bands(fp))] == [later]
    copy = capture(index, "http://www.xam.gov.cn/a")
    assert regrouper.assign(copy, text_fingerprint(near_copy(real_text(STEMS[0])))) == first


def test_the_crawl_command_does_not_import_datasketch():
    """datasketch imports scipy (~0.6 s and ~50 MiB per process): the crawl process loads it only
    when it fingerprints or compares texts, which the extraction worker does (bench/PROFILE.md)."""
    import subprocess
    import sys

    code = "import sys, crawler.cli; print(sorted({'datasketch', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
