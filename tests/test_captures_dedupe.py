"""Dedupe: the revisit decision and near-duplicate report grouping on real report texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govcrawl.archive.captures import CaptureIndex, CaptureRow
from govcrawl.archive.dedupe import (
    EMPTY_DIGEST,
    IDENTICAL,
    NOT_MODIFIED,
    SAME_REPORT_THRESHOLD,
    Decision,
    ReportGrouper,
    assign_group,
    decide,
    same_report,
    similarity,
    text_fingerprint,
)
from govcrawl.archive.warc import payload_digest

REAL = Path(__file__).resolve().parent.parent / "replica" / "texts"


def real_text(stem: str) -> str:
    """Page text without the saved-file header and the excerpt note."""
    lines = (REAL / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
    return "\n".join(
        line for line in lines if not line.startswith(("URL:", "[TRUNCATED", "[FRAGMENT"))
    )


def row(digest: str, record_type: str = "response", http_status: int = 200) -> CaptureRow:
    return CaptureRow(
        id=1,
        url="http://x/",
        fetched="2026-11-28T04:30:00Z",
        http_status=http_status,
        digest=digest,
        size=10,
        warc="a.warc.gz",
        offset=0,
        length=10,
        record_type=record_type,
        status="new",
    )


# -- decide ---------------------------------------------------------------------------------


def test_empty_digest_constant_is_sha1_of_nothing():
    assert payload_digest(b"") == EMPTY_DIGEST


@pytest.mark.parametrize(
    ("last", "digest", "status", "expected"),
    [
        (None, "sha1:A", 200, Decision("response", "new")),
        (row("sha1:A"), "sha1:A", 200, Decision("revisit", "unchanged", IDENTICAL, "sha1:A")),
        (
            row("sha1:A", "revisit"),
            "sha1:A",
            200,
            Decision("revisit", "unchanged", IDENTICAL, "sha1:A"),
        ),
        (row("sha1:A"), "sha1:B", 200, Decision("response", "changed")),
        (row("sha1:A"), "sha1:A", 404, Decision("revisit", "unchanged", IDENTICAL, "sha1:A")),
        (
            row("sha1:A"),
            EMPTY_DIGEST,
            304,
            Decision("revisit", "unchanged", NOT_MODIFIED, "sha1:A"),
        ),
        (
            row("sha1:A", "revisit", 304),
            EMPTY_DIGEST,
            304,
            Decision("revisit", "unchanged", NOT_MODIFIED, "sha1:A"),
        ),
        (None, EMPTY_DIGEST, 304, Decision("response", "new")),
        # Empty payloads (redirects) are cheaper in full than as revisits.
        (row(EMPTY_DIGEST), EMPTY_DIGEST, 301, Decision("response", "unchanged")),
    ],
)
def test_decide(last, digest, status, expected):
    assert decide(last, digest, status) == expected


# -- near duplicates ------------------------------------------------------------------------


def test_distinct_reports_do_not_match():
    pairs = [
        ("06_xam_meng_2024", "07_xam_meng_2019"),  # same issuer, different years and templates
        ("01_xam_gaj_2021", "05_xam_mzj_2021"),  # same year and portal, different agencies
        ("03_xam_wsb_2025", "06_xam_meng_2024"),  # the closest pair in the saved pages
        ("11_wlht_2021", "16_wlht_wjw_2022"),  # one county, government vs its health bureau
    ]
    for a, b in pairs:
        fa, fb = text_fingerprint(real_text(a)), text_fingerprint(real_text(b))
        assert similarity(fa, fb) < 0.4, (a, b)
        assert not same_report(fa, fb)


def test_all_saved_pages_are_pairwise_distinct():
    stems = sorted(p.stem for p in REAL.glob("*.txt"))
    fps = {s: text_fingerprint(real_text(s)) for s in stems}
    # 00 is the full page of which 01 is the opening: the only pair from one report.
    matches = {(a, b) for a in stems for b in stems if a < b and same_report(fps[a], fps[b])}
    assert matches == set()


def test_template_tables_do_not_make_reports_alike():
    """Two different reports with the same 2021-template tables (same zeros) stay apart."""
    full = real_text("00_seed_xam_gaj_2021_full")
    table = full[full.index("二、主动公开政府信息情况") : full.index("五、存在的主要问题")]
    a = real_text("06_xam_meng_2024") + "\n" + table
    b = real_text("07_xam_meng_2019") + "\n" + table
    assert similarity(text_fingerprint(a), text_fingerprint(b)) < 0.4


def test_near_copies_match():
    full = real_text("00_seed_xam_gaj_2021_full")
    fp = text_fingerprint(full)
    sentences = re.split("(?<=。)", full)
    one_sentence_less = "".join(s for i, s in enumerate(sentences) if i != 10)
    assert one_sentence_less != full
    picture_version = full.replace(
        "兴安盟公安局2021政府信息公开工作", "兴安盟公安局2021政府信息公开工作(图片版)", 1
    )
    assert picture_version != full
    reposted = "兴安盟行政公署\n首页 > 政务公开 > 政府信息公开年报\n" + full.replace(
        "(", "（"
    ).replace(")", "）")
    fixed_number = full.replace("307111", "307112")
    for copy in (one_sentence_less, picture_version, reposted, fixed_number):
        assert similarity(fp, text_fingerprint(copy)) >= 0.85
        assert same_report(fp, text_fingerprint(copy))


def test_fingerprint_format_and_stability():
    text = real_text("01_xam_gaj_2021")
    fp = text_fingerprint(text)
    assert fp.startswith("mh1:") and fp == text_fingerprint(text)
    assert similarity(fp, fp) == 1.0
    assert 0.5 < SAME_REPORT_THRESHOLD < 0.85
    with pytest.raises(ValueError):
        similarity(fp, "md5:abc")
    assert text_fingerprint("") == text_fingerprint("   ")


def test_assign_group(tmp_path):
    index = CaptureIndex.open(tmp_path)
    full = real_text("00_seed_xam_gaj_2021_full")
    copy = full.replace(
        "兴安盟公安局2021政府信息公开工作", "兴安盟公安局2021政府信息公开工作(图片版)", 1
    )
    texts = {
        "http://xam.gov.cn/gaj2021": full,
        "http://gaj.xam.gov.cn/gaj2021": copy,
        "http://xam.gov.cn/meng2024": real_text("06_xam_meng_2024"),
        "http://xam.gov.cn/meng2019": real_text("07_xam_meng_2019"),
    }
    ids = {}
    for i, (url, _) in enumerate(texts.items()):
        ids[url] = index.add_capture(
            url=url,
            fetched="2026-11-28T04:30:00Z",
            http_status=200,
            digest=f"sha1:{i}",
            size=1,
            warc="a.warc.gz",
            offset=i * 10,
            length=10,
            record_type="response",
            status="new",
        )
    groups = {url: assign_group(index, ids[url], text_fingerprint(t)) for url, t in texts.items()}
    assert (
        groups["http://xam.gov.cn/gaj2021"]
        == groups["http://gaj.xam.gov.cn/gaj2021"]
        == ids["http://xam.gov.cn/gaj2021"]
    )
    assert groups["http://xam.gov.cn/meng2024"] == ids["http://xam.gov.cn/meng2024"]
    assert groups["http://xam.gov.cn/meng2019"] == ids["http://xam.gov.cn/meng2019"]
    stored = index.get(ids["http://gaj.xam.gov.cn/gaj2021"])
    assert stored.group_id == ids["http://xam.gov.cn/gaj2021"] and stored.fingerprint.startswith(
        "mh1:"
    )

    # A fresh grouper (a later crawl) rebuilds from the index and files a re-capture the same way.
    later = index.add_capture(
        url="http://xam.gov.cn/gaj2021",
        fetched="2027-01-01T00:00:00Z",
        http_status=200,
        digest="sha1:9",
        size=1,
        warc="b.warc.gz",
        offset=0,
        length=10,
        record_type="response",
        status="changed",
    )
    grouper = ReportGrouper(index)
    assert (
        grouper.assign(later, text_fingerprint(full.replace("307111", "307112")))
        == ids["http://xam.gov.cn/gaj2021"]
    )
    index.close()
