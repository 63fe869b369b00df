"""What operators type: every command with missing, wrong and relative paths, bad numbers and a
typo'd store answers with one line and its documented exit code (README "Exit codes"), never a
traceback; and what the archivist commands publish is readable by other users.

Commands run in this process through ``crawler.cli.main`` (no crawl starts: every case is
refused before Scrapy is imported), from a temporary working directory so relative paths are
what an operator types.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crawler.cli import main
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.publish.cdxj import index_archive
from govcrawl.publish.wacz import build_wacz
from tests import warcfixtures as fx

pytestmark = pytest.mark.hostile

USAGE, ARCHIVE = 2, 4  # README "Exit codes"

CASES = [
    # (argv, exit code, a word of the one line)
    (["index", "--archive", "nosuch"], ARCHIVE, "no archive folder 'nosuch'"),
    (["index", "--archive", "afile"], ARCHIVE, "no archive folder"),
    (["index", "--archive", "empty"], ARCHIVE, "not a govcrawl archive"),
    (["wacz", "--archive", "/nonexistent", "-o", "x.wacz"], ARCHIVE, "no archive folder"),
    (["wacz", "--archive", "nosuch", "-o", "out/x.wacz"], ARCHIVE, "no archive folder"),
    (["wacz", "--archive", "bare", "-o", "x.wacz"], ARCHIVE, "no sealed WARC"),
    (["wacz", "--archive", "nosuch"], USAGE, "-o/--output"),
    (["export", "--archive", "nosuch"], ARCHIVE, "no reports.jsonl"),
    (["export", "--archive", "nosuch", "--format", "xml"], USAGE, "invalid choice"),
    (["history", "http://www.xam.gov.cn/", "--archive", "nosuch"], ARCHIVE, "no capture index"),
    (["replay", "--archive", "nosuch"], ARCHIVE, "no WARCs in nosuch"),
    (["replay", "--archive", "nosuch", "--port", "99999"], USAGE, "not a TCP port"),
    (["replay", "--archive", "nosuch", "--port", "http"], USAGE, "not an integer"),
    (["coverage", "--archive", "nosuch"], ARCHIVE, "no reports.jsonl"),
    (["coverage", "--archive", "nosuch", "--replay-base", "localhost:8080"], USAGE, "http(s)"),
    (["sync", "--archive", "nosuch"], ARCHIVE, "no archive in nosuch"),
    (["sync", "--archive", "bare", "--store", "s4:/bucket"], USAGE, "unsupported store"),
    (["parse", "nosuch.html"], USAGE, "No such file"),
    (["parse", "empty"], USAGE, "Is a directory"),
    (["demo", "--round", "9"], USAGE, "invalid choice: 9"),
    (["crawl", "--max-pages", "-5", "http://www.xam.gov.cn/"], USAGE, "must be 1 or more"),
    (["crawl", "--max-pages", "ten"], USAGE, "not an integer"),
    (["crawl", "--seeds", "nosuch.txt"], USAGE, "cannot read seeds file"),
    (["crawl", "www.xam.gov.cn"], USAGE, "not an http(s) URL"),
    (["crawl", "--set", "DOWNLOAD_DELAY"], USAGE, "NAME=VALUE"),
    (["crawl", "--store", "s4://bucket/x", "http://www.xam.gov.cn/"], USAGE, "unsupported store"),
    (["crawl", "--archive", "afile", "http://www.xam.gov.cn/"], ARCHIVE, "not a directory"),
    (["crawl", "--archive", "afile/sub", "http://www.xam.gov.cn/"], ARCHIVE, "not writable"),
    (["nosuchcommand"], USAGE, "invalid choice"),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bare" / "warc").mkdir(parents=True)  # an archive with nothing sealed yet
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOVCRAWL_STORE", raising=False)
    return tmp_path


@pytest.mark.parametrize(("argv", "code", "word"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_gets_one_line_and_its_exit_code(workdir, capsys, argv, code, word):
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse
        got = exc.code
    out, err = capsys.readouterr()
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert got == code, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("govcrawl") and word in lines[0], lines
    # Readers never create what they were pointed at.
    assert not (workdir / "nosuch").exists()
    assert not (workdir / "empty" / "indexes").exists()


def test_cdxj_and_wacz_are_world_readable(tmp_path):
    archive = fx.make_archive(tmp_path / "archive")
    layout = ArchiveLayout(archive.root)
    cdxj = index_archive(layout)
    wacz = build_wacz(layout, tmp_path / "out" / "archive.wacz", archive.report_pages())
    for path in (cdxj, wacz):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
@pytest.mark.parametrize("command", ["index", "export", "coverage", "replay"])
def test_unreadable_archive_folder(workdir, capsys, command):
    locked = workdir / "locked"
    (locked / "warc").mkdir(parents=True)
    locked.chmod(0)
    try:
        code = main([command, "--archive", "locked"])
    finally:
        locked.chmod(0o755)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == ARCHIVE and len(lines) == 1, lines
