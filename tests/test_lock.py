"""ArchiveLock across real processes: live holders block, dead holders are taken over."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from govcrawl.archive.layout import ArchiveError, ArchiveLayout
from govcrawl.archive.lock import ArchiveLock, ArchiveLocked

HOLDER = textwrap.dedent(
    """
    import subprocess, sys, time
    from govcrawl.archive.lock import ArchiveLock
    lock = ArchiveLock(sys.argv[1]).acquire()
    if len(sys.argv) > 2:
        # A child that inherits the locked descriptor keeps the flock alive after we die.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 pass_fds=(lock._fd,))
        print(child.pid, flush=True)
    print("locked", flush=True)
    time.sleep(60)
    """
)


def start_holder(path: Path, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    while True:
        line = proc.stdout.readline().strip()
        assert line, "holder exited before locking"
        lines.append(line)
        if line == "locked":
            return proc, lines


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def test_live_holder_blocks_second_process(tmp_path):
    path = tmp_path / "crawl.lock"
    proc, _ = start_holder(path)
    try:
        with pytest.raises(ArchiveLocked) as info:
            ArchiveLock(path).acquire()
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "since 20" in message
        assert "\n" not in message
        holder = json.loads(path.read_text())
        assert holder["pid"] == proc.pid
    finally:
        kill(proc)


def test_sigkilled_holder_is_taken_over(tmp_path, caplog):
    path = tmp_path / "crawl.lock"
    proc, _ = start_holder(path)
    kill(proc)
    caplog.set_level(logging.WARNING, logger="govcrawl.archive.lock")
    with ArchiveLock(path) as lock:
        assert lock.held and json.loads(path.read_text())["pid"] == os.getpid()
        assert any(f"left by pid {proc.pid}" in r.getMessage() for r in caplog.records)
        assert ArchiveLock.held_by_this_process(path)
    assert not ArchiveLock.held_by_this_process(path)
    assert path.read_text() == ""  # released: emptied, not left naming us


def test_orphaned_descriptor_is_replaced(tmp_path, caplog):
    path = tmp_path / "crawl.lock"
    proc, lines = start_holder(path, "spawn-child")
    child_pid = int(lines[0])
    kill(proc)
    try:
        caplog.set_level(logging.WARNING, logger="govcrawl.archive.lock")
        with ArchiveLock(path) as lock:
            assert lock.held
            assert any("descendant of dead process" in r.getMessage() for r in caplog.records)
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_same_process_second_lock_fails_and_release_frees(tmp_path):
    path = tmp_path / "crawl.lock"
    first = ArchiveLock(path).acquire()
    with pytest.raises(ArchiveLocked, match=f"pid {os.getpid()}"):
        ArchiveLock(path).acquire()
    with pytest.raises(RuntimeError):
        first.acquire()
    first.release()
    first.release()  # idempotent
    second = ArchiveLock(path).acquire()
    second.release()


def test_stale_text_without_holder_is_taken_over(tmp_path, caplog):
    path = tmp_path / "crawl.lock"
    path.write_text(
        json.dumps({"pid": 999_999_999, "host": "elsewhere", "started": "2020-01-01T00:00:00Z"})
    )
    caplog.set_level(logging.WARNING, logger="govcrawl.archive.lock")
    with ArchiveLock(path):
        pass
    assert any(
        "stale lock" in r.getMessage() and "999999999" in r.getMessage() for r in caplog.records
    )


def test_layout_open_creates_folders_and_rejects_unwritable(tmp_path):
    layout = ArchiveLayout.open(tmp_path / "archive")
    for folder in (layout.warc_dir, layout.runs_dir, layout.indexes_dir):
        assert folder.is_dir()
    assert layout.captures_db == tmp_path / "archive" / "captures.sqlite3"
    assert layout.lock_path.name == "crawl.lock" and layout.jobdir.name == "jobdir"
    assert layout.reports_jsonl.name == "reports.jsonl"

    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ArchiveError, match="archive DIR is not writable"):
        ArchiveLayout.open(afile)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        if os.access(readonly, os.W_OK):  # root ignores modes; use a path under a file instead
            target = afile / "sub"
        else:
            target = readonly / "archive"
        with pytest.raises(ArchiveError) as info:
            ArchiveLayout.open(target)
        assert str(info.value).startswith("archive DIR is not writable") and "\n" not in str(
            info.value
        )
    finally:
        readonly.chmod(0o700)


def test_lock_blocks_until_holder_dies(tmp_path):
    """The kernel releases the flock the moment the holder dies: no timeout, no cleanup."""
    path = tmp_path / "crawl.lock"
    proc, _ = start_holder(path)
    with pytest.raises(ArchiveLocked):
        ArchiveLock(path).acquire()
    kill(proc)
    deadline = time.monotonic() + 5
    while True:
        try:
            ArchiveLock(path).acquire().release()
            break
        except ArchiveLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)
