"""One crawl per archive: an flock()ed lock file that names its holder.

The kernel drops an flock when the holding process dies (even on SIGKILL), so a lock file left
behind by a dead crawl is simply acquirable again; its text (pid, host, start time) only serves the
error message and the "taking over" log line. One case needs more: a child that inherited the
descriptor keeps the flock alive after its parent died. When the recorded holder is a dead process
on this host we replace the lock file (new inode) and take the lock on that.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from govcrawl.archive.layout import ArchiveError

logger = logging.getLogger(__name__)

# Locks held by this process (resolved paths): lets in-process components ask whether the
# command line already holds the archive before taking it themselves.
_HELD: set[str] = set()


class ArchiveLocked(ArchiveError):
    """Another live process holds the archive lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class ArchiveLock:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @staticmethod
    def held_by_this_process(path: str | os.PathLike[str]) -> bool:
        return str(Path(path).resolve()) in _HELD

    @property
    def held(self) -> bool:
        return self._fd is not None

    def read_holder(self) -> dict[str, Any]:
        """What the lock file says about its (last) holder; {} when empty or unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
            data = json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> ArchiveLock:
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} already acquired by this object")
        for attempt in (1, 2):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = self.read_holder()
                if attempt == 1 and self._orphaned(holder):
                    logger.warning(
                        "lock %s is held by a descendant of dead process %s (started %s); "
                        "replacing the lock file",
                        self.path,
                        holder.get("pid"),
                        holder.get("started"),
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise ArchiveLocked(self._locked_message(holder)) from None
            # The descriptor may be a file someone just unlinked (see above): lock the live one.
            if not self._same_file(fd):
                os.close(fd)
                continue
            previous = self._read_fd(fd)
            if previous.get("pid"):
                logger.warning(
                    "taking over stale lock %s left by pid %s on %s (started %s)",
                    self.path,
                    previous.get("pid"),
                    previous.get("host"),
                    previous.get("started"),
                )
            self._write_fd(fd)
            self._fd = fd
            _HELD.add(str(self.path.resolve()))
            return self
        raise ArchiveLocked(self._locked_message(self.read_holder()))

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        _HELD.discard(str(self.path.resolve()))
        try:
            # Emptied rather than unlinked: unlinking races with a process that already opened it.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> ArchiveLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- helpers ------------------------------------------------------------------------------

    def _orphaned(self, holder: dict[str, Any]) -> bool:
        pid = holder.get("pid")
        return (
            isinstance(pid, int)
            and holder.get("host") == socket.gethostname()
            and pid != os.getpid()
            and not _pid_alive(pid)
        )

    def _locked_message(self, holder: dict[str, Any]) -> str:
        if not holder:
            return f"archive is locked by a running crawl ({self.path})"
        return (
            f"archive is locked by a running crawl: pid {holder.get('pid')} on "
            f"{holder.get('host')} since {holder.get('started')} ({self.path})"
        )

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    @staticmethod
    def _read_fd(fd: int) -> dict[str, Any]:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks).decode("utf-8") or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _write_fd(fd: int) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        data = (json.dumps(info) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
