"""WACZ packaging: layout, STORED WARCs, hashes, pages, the structural check, revisit originals."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from govcrawl.publish import wacz
from tests import warcfixtures as fx

WACZ_CLI = Path(sys.executable).with_name("wacz")

Transform = Callable[[zipfile.ZipInfo, bytes], "tuple[zipfile.ZipInfo, bytes] | None"]


@pytest.fixture()
def archive(tmp_path: Path) -> fx.ArchiveFixture:
    return fx.make_archive(tmp_path / "archive")


@pytest.fixture()
def good(archive, tmp_path) -> Path:
    return wacz.build_wacz(archive.root, tmp_path / "out" / "reports.wacz", archive.report_pages())


def _rewrite(src: Path, dst: Path, transform: Transform) -> Path:
    """Copy a zip entry by entry through transform (None drops the entry)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            result = transform(info, zin.read(info))
            if result is not None:
                new_info, data = result
                zout.writestr(new_info, data, compress_type=new_info.compress_type)
    return dst


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_layout_stored_warcs_and_hashes(good, archive):
    with zipfile.ZipFile(good) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert set(infos) == {
            "archive/" + archive.first.name,
            "archive/" + archive.second.name,
            "indexes/index.cdx.gz",
            "indexes/index.idx",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        }
        for crawl in (archive.first, archive.second):
            info = infos["archive/" + crawl.name]
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info) == crawl.path.read_bytes()
        assert infos["indexes/index.cdx.gz"].compress_type == zipfile.ZIP_STORED

        raw_package = zf.read("datapackage.json")
        package = json.loads(raw_package)
        assert package["profile"] == "data-package"
        assert package["wacz_version"] == "1.1.1"
        assert package["mainPageUrl"] == fx.PAGE_URL
        resources = {r["path"]: r for r in package["resources"]}
        assert set(resources) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
        for path, res in resources.items():
            data = zf.read(path)
            assert res["hash"] == _sha256(data)
            assert res["bytes"] == len(data)
            assert res["name"] == Path(path).name
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json", "hash": _sha256(raw_package)}
        # All originals were packaged already: nothing required from elsewhere.
        assert package["relation"] == {
            "includedForPages": [],
            "includedForRevisits": [],
            "requires": [],
            "unresolvedRevisits": [],
        }


def test_index_covers_every_capture_sorted(good):
    with zipfile.ZipFile(good) as zf:
        lines = gzip.decompress(zf.read("indexes/index.cdx.gz")).splitlines()
        idx = zf.read("indexes/index.idx").decode().splitlines()
    assert lines == sorted(lines) and len(lines) == 10
    assert idx[0].startswith("!meta 0 ") and '"cdxj-gzip-1.0"' in idx[0]
    mimes = [json.loads(line.split(b" ", 2)[2])["mime"] for line in lines]
    assert mimes.count("warc/revisit") == 4


def test_pages_jsonl_lines(good, archive):
    with zipfile.ZipFile(good) as zf:
        lines = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()
    assert json.loads(lines[0]) == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    pages = [json.loads(line) for line in lines[1:]]
    (page,) = pages
    report = archive.report_pages()[0]
    assert page["url"] == fx.PAGE_URL
    assert page["ts"] == report["fetched"] == "2026-12-05T04:30:00Z"
    assert page["title"] == fx.TITLE
    assert fx.BODY_MARKER in page["text"]
    assert page["id"]


def test_check_wacz_accepts_good_file_and_wacz_validate_agrees(good):
    assert wacz.check_wacz(good) == []
    if not WACZ_CLI.exists():
        pytest.fail(f"py-wacz CLI missing at {WACZ_CLI}")
    # py-wacz's validator in a subprocess: importing it here would alter cdxj-indexer's defaults.
    res = subprocess.run(
        [str(WACZ_CLI), "validate", "-f", str(good)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "is valid" in res.stdout


def test_pages_without_capture_are_left_out(archive, tmp_path):
    pages = archive.report_pages() + [
        {
            "url": "http://www.xam.gov.cn/xam/not-crawled/index.html",
            "fetched": "2026-11-28T04:30:00Z",
        }
    ]
    out = wacz.build_wacz(archive.root, tmp_path / "p.wacz", pages)
    with zipfile.ZipFile(out) as zf:
        urls = [json.loads(x).get("url") for x in zf.read("pages/pages.jsonl").splitlines()[1:]]
    assert urls == [fx.PAGE_URL]
    assert wacz.check_wacz(out) == []


def test_check_names_missing_folders(good, tmp_path):
    no_index = _rewrite(
        good,
        tmp_path / "no-index.wacz",
        lambda i, d: None if i.filename.startswith("indexes/") else (i, d),
    )
    problems = wacz.check_wacz(no_index)
    assert "missing indexes/ folder with a CDXJ index" in problems
    no_archive = _rewrite(
        good,
        tmp_path / "no-archive.wacz",
        lambda i, d: None if i.filename.startswith("archive/") else (i, d),
    )
    problems = wacz.check_wacz(no_archive)
    assert "missing archive/ folder with WARC files" in problems
    no_pages = _rewrite(
        good,
        tmp_path / "no-pages.wacz",
        lambda i, d: None if i.filename.startswith("pages/") else (i, d),
    )
    assert "missing pages/pages.jsonl" in wacz.check_wacz(no_pages)


def test_check_names_wrong_hash(good, archive, tmp_path):
    target = "archive/" + archive.first.name

    def tamper(info: zipfile.ZipInfo, data: bytes):
        if info.filename == target:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])  # same size, other bytes
        return info, data

    problems = wacz.check_wacz(_rewrite(good, tmp_path / "tampered.wacz", tamper))
    assert problems == [f"{target}: sha256 does not match datapackage.json"]


def test_check_names_deflated_warc(good, archive, tmp_path):
    target = "archive/" + archive.second.name

    def deflate(info: zipfile.ZipInfo, data: bytes):
        if info.filename == target:
            info.compress_type = zipfile.ZIP_DEFLATED
        return info, data

    problems = wacz.check_wacz(_rewrite(good, tmp_path / "deflated.wacz", deflate))
    assert problems == [f"{target} is compressed in the zip (must be STORED)"]


def test_check_names_unsorted_index_and_bad_pages(good, tmp_path):
    def break_things(info: zipfile.ZipInfo, data: bytes):
        if info.filename == "indexes/index.idx":
            return None
        if info.filename == "indexes/index.cdx.gz":
            lines = gzip.decompress(data).splitlines(keepends=True)
            data = gzip.compress(b"".join(reversed(lines)))
        if info.filename == "pages/pages.jsonl":
            data += (
                b'{"url": "http://www.xam.gov.cn/elsewhere.html", "ts": "2026-11-28T04:30:00Z"}\n'
            )
        return info, data

    problems = wacz.check_wacz(_rewrite(good, tmp_path / "broken.wacz", break_things))
    assert "CDXJ index is not sorted bytewise" in problems
    assert any("elsewhere.html has no capture in the index" in p for p in problems)
    assert any("datapackage.json lists indexes/index.idx, not in the zip" in p for p in problems)


def test_check_names_non_zip(tmp_path):
    path = tmp_path / "x.wacz"
    path.write_bytes(b"not a zip")
    (problem,) = wacz.check_wacz(path)
    assert problem.startswith("not a readable zip file")


def test_second_crawl_wacz_includes_the_originals(archive, tmp_path):
    out = wacz.build_wacz(archive.root, tmp_path / "second.wacz", [], warcs=[archive.second.name])
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        package = json.loads(zf.read("datapackage.json"))
    assert "archive/" + archive.second.name in names
    assert "archive/" + archive.first.name in names  # holds the revisits' originals
    assert package["relation"]["includedForRevisits"] == [
        {"path": "archive/" + archive.first.name, "revisits": 4}
    ]
    assert wacz.check_wacz(out) == []


def test_second_crawl_wacz_without_originals_declares_them(archive, tmp_path):
    out = wacz.build_wacz(
        archive.root,
        tmp_path / "second-only.wacz",
        [],
        warcs=[archive.second.path],
        include_originals=False,
    )
    with zipfile.ZipFile(out) as zf:
        names = {n for n in zf.namelist() if n.startswith("archive/")}
        package = json.loads(zf.read("datapackage.json"))
    assert names == {"archive/" + archive.second.name}
    first_bytes = archive.first.path.read_bytes()
    assert package["relation"]["requires"] == [
        {
            "warc": archive.first.name,
            "hash": _sha256(first_bytes),
            "bytes": len(first_bytes),
            "revisits": 4,
        }
    ]
    assert wacz.check_wacz(out) == []

    # The same package without the declaration: the check names the orphaned revisits.
    def undeclare(info: zipfile.ZipInfo, data: bytes):
        if info.filename == "datapackage.json":
            pkg = json.loads(data)
            pkg["relation"]["requires"] = []
            data = json.dumps(pkg).encode()
        if info.filename == "datapackage-digest.json":
            return None
        return info, data

    problems = wacz.check_wacz(_rewrite(out, tmp_path / "orphans.wacz", undeclare))
    orphans = [p for p in problems if "has no original in the package" in p]
    assert len(orphans) == 4
    assert any("article.css" in p for p in orphans)


def test_build_wacz_rejects_unknown_warc_and_leaves_no_temp(archive, tmp_path):
    out_dir = tmp_path / "out"
    with pytest.raises(ValueError, match="not a sealed WARC"):
        wacz.build_wacz(archive.root, out_dir / "x.wacz", [], warcs=["nope.warc.gz"])
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    out = wacz.build_wacz(archive.root, out_dir / "x.wacz", [])
    assert [p.name for p in out_dir.iterdir()] == ["x.wacz"] and out.exists()


def test_multi_block_index_is_checked_block_by_block(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(wacz, "INDEX_BLOCK_LINES", 3)
    out = wacz.build_wacz(archive.root, tmp_path / "blocks.wacz", archive.report_pages())
    with zipfile.ZipFile(out) as zf:
        blocks = [x for x in zf.read("indexes/index.idx").splitlines() if not x.startswith(b"!")]
    assert len(blocks) == 4  # 10 lines in blocks of 3
    assert wacz.check_wacz(out) == []


def test_originals_missing_from_the_archive_are_declared(archive, tmp_path):
    archive.first.path.unlink()
    out = wacz.build_wacz(archive.root, tmp_path / "orphans.wacz", archive.report_pages())
    with zipfile.ZipFile(out) as zf:
        relation = json.loads(zf.read("datapackage.json"))["relation"]
    unresolved = relation["unresolvedRevisits"]
    assert {r["url"] for r in unresolved} == {fx.PAGE_URL, *fx.REQUISITES}
    assert all(r["warc"] == archive.second.name for r in unresolved)
    assert relation["includedForRevisits"] == [] and relation["requires"] == []
    assert wacz.check_wacz(out) == []


def test_revisit_of_another_url_pulls_in_that_original(archive, tmp_path):
    """WARC-Refers-To-Target-URI naming another URL (same stylesheet under a second path)."""
    start = fx.CRAWL2_START + timedelta(days=1)
    writer = fx.WarcBuilder(archive.warc_dir / fx.warc_name(start, 7), start)
    copy_url = "http://www.xam.gov.cn/xam/static/css/article-copy.css"
    original = archive.first.records[fx.CSS_URL]
    rev = writer.writer.create_revisit_record(
        copy_url,
        original.digest,
        original.url,
        original.date,
        warc_headers_dict={"WARC-Date": "2026-12-06T04:30:00.000000Z"},
    )
    writer.writer.write_record(rev)
    third = writer.close()
    out = wacz.build_wacz(archive.root, tmp_path / "copy.wacz", [], warcs=[third.name])
    with zipfile.ZipFile(out) as zf:
        relation = json.loads(zf.read("datapackage.json"))["relation"]
        names = {n for n in zf.namelist() if n.startswith("archive/")}
    assert names == {"archive/" + third.name, "archive/" + archive.first.name}
    assert relation["includedForRevisits"] == [
        {"path": "archive/" + archive.first.name, "revisits": 1}
    ]
    assert wacz.check_wacz(out) == []


def test_page_answered_304_brings_in_its_last_capture(archive, tmp_path):
    third = fx.write_not_modified_crawl(archive.warc_dir, archive.first)
    page = {
        "url": fx.PAGE_URL,
        "fetched": fx.iso_seconds(third.records[fx.PAGE_URL].date),
        "title": fx.TITLE,
        "text": fx.BODY_MARKER,
        "warc": third.name,
    }
    out = wacz.build_wacz(archive.root, tmp_path / "third.wacz", [page], warcs=[third.name])
    with zipfile.ZipFile(out) as zf:
        names = {n for n in zf.namelist() if n.startswith("archive/")}
        relation = json.loads(zf.read("datapackage.json"))["relation"]
        pages = zf.read("pages/pages.jsonl").decode().splitlines()[1:]
    # The 304 is indexed as the full response it confirmed (crawl 1), so that WARC comes in for
    # the page and crawl 2 is not needed at all.
    assert names == {"archive/" + c.name for c in (archive.first, third)}
    assert relation["includedForPages"] == [{"path": "archive/" + archive.first.name, "pages": 1}]
    assert relation["includedForRevisits"] == []
    assert [json.loads(p)["ts"] for p in pages] == ["2026-12-12T04:30:00Z"]
    assert wacz.check_wacz(out) == []
