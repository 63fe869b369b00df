"""Stores picked by URI scheme (the shape of Scrapy's ``FilesPipeline.STORE_SCHEMES``).

``LocalStore`` is a folder (``None``, a plain path or ``file://``); ``S3Store`` is a bucket and
prefix (``s3://bucket/prefix``) reached through boto3 with its standard credential chain. Every
upload is confirmed after the fact: the stored size, and a SHA-256 checksum the store computed,
are compared with values computed from the local file before anyone deletes it.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
# boto3's own defaults; S3 refuses parts under 5 MiB (except the last one).
DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
_READ_BLOCK = 1 * MiB


class StoreError(Exception):
    """A store refused or failed an operation (messages never carry credentials)."""


class StoreVerificationError(StoreError):
    """The object in the store does not match the local file (size or checksum)."""


class StoreReadError(StoreError, OSError):
    """A read from the store failed (unreachable, access denied, ...). An OSError, as a local
    file that cannot be read is, so readers that fall back on an unreadable file (a 304's
    original, a revisit's target) fall back on it too instead of stopping the crawl."""


@dataclass(frozen=True)
class UploadResult:
    """One confirmed upload."""

    key: str  # relative to the store's root/prefix
    size: int  # bytes, confirmed by the store
    sha256: str  # "sha256:<hex>" of the whole local file, which the store's checksum matched
    checksum: str  # the store's own checksum as reported, e.g. "SHA256:<b64>-3" or "etag:<hex>"


@runtime_checkable
class Store(Protocol):
    def upload(self, local_path: Path, key: str) -> UploadResult: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None: ...

    def open_range(self, key: str, start: int, length: int | None) -> BinaryIO: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def sizes(self, prefix: str = "") -> dict[str, int]: ...

    def describe(self) -> str: ...


# ---------------------------------------------------------------------------------------------
# Local checksums


@dataclass(frozen=True)
class FileDigests:
    """Everything needed to check a store's checksum of one file, computed in one read."""

    size: int
    sha256: bytes  # whole file
    sha256_parts: tuple[bytes, ...]  # per part, at the part size the upload used
    md5: bytes
    md5_parts: tuple[bytes, ...]

    @property
    def sha256_hex(self) -> str:
        return "sha256:" + self.sha256.hex()

    def composite(self, algorithm: str) -> bytes:
        """S3's composite checksum: the digest of the concatenated part digests."""
        parts = self.sha256_parts if algorithm == "sha256" else self.md5_parts
        return hashlib.new(algorithm, b"".join(parts)).digest()


def file_digests(path: Path, part_size: int) -> FileDigests:
    whole_sha, whole_md5 = hashlib.sha256(), hashlib.md5()
    sha_parts: builtins.list[bytes] = []
    md5_parts: builtins.list[bytes] = []
    size = 0
    with path.open("rb") as fh:
        while True:
            part_sha, part_md5 = hashlib.sha256(), hashlib.md5()
            left = part_size
            while left:
                block = fh.read(min(_READ_BLOCK, left))
                if not block:
                    break
                for h in (whole_sha, whole_md5, part_sha, part_md5):
                    h.update(block)
                left -= len(block)
                size += len(block)
            if left == part_size and sha_parts:  # nothing read: the previous part was the last
                break
            sha_parts.append(part_sha.digest())
            md5_parts.append(part_md5.digest())
            if left:
                break
    return FileDigests(
        size, whole_sha.digest(), tuple(sha_parts), whole_md5.digest(), tuple(md5_parts)
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def verify_checksum(where: str, head: Mapping[str, Any], local: FileDigests) -> str:
    """Compare a HEAD answer's checksum with the local file's; return the store's value.

    A single PUT stores the SHA-256 of the whole object; a multipart upload stores the
    composite (SHA-256 of the part SHA-256s, "-<parts>" appended by S3; moto omits the suffix).
    Stores without flexible checksums fall back to the ETag, an MD5 (or composite MD5) for
    unencrypted data. Raises StoreVerificationError naming ``where`` on any mismatch.
    """
    parts = len(local.sha256_parts)
    reported = head.get("ChecksumSHA256")
    if reported:
        value, _, count = reported.partition("-")
        if count and int(count) != parts:
            raise StoreVerificationError(f"{where}: stored in {count} parts, expected {parts}")
        candidates = {_b64(local.sha256)} if count == "" else set()
        if count or parts > 1:
            candidates.add(_b64(local.composite("sha256")))
        if value not in candidates:
            raise StoreVerificationError(f"{where}: SHA-256 checksum differs from the local file")
        return f"SHA256:{reported}"
    etag = str(head.get("ETag", "")).strip('"')
    match = re.fullmatch(r"([0-9a-f]{32})(?:-(\d+))?", etag)
    if match:
        digest, count = match.groups()
        if count and int(count) != parts:
            raise StoreVerificationError(f"{where}: stored in {count} parts, expected {parts}")
        expected = local.composite("md5").hex() if count else local.md5.hex()
        if digest != expected:
            raise StoreVerificationError(f"{where}: ETag differs from the local file's MD5")
        return f"etag:{etag}"
    raise StoreVerificationError(f"{where}: the store reports no checksum to confirm against")


# ---------------------------------------------------------------------------------------------
# Streams


class _LimitedRaw(io.RawIOBase):
    """At most ``length`` bytes of a file from its current position."""

    def __init__(self, fh: BinaryIO, length: int | None) -> None:
        self._fh = fh
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = len(view) if self._left is None else min(len(view), self._left)
        if want <= 0:
            return 0
        n = self._fh.readinto(view[:want])  # type: ignore[attr-defined]
        if self._left is not None:
            self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def open_file_range(path: Path, start: int, length: int | None) -> BinaryIO:
    """A buffered stream over ``length`` bytes of ``path`` from ``start`` (to the end if None)."""
    fh = path.open("rb", buffering=0)
    try:
        fh.seek(start)
    except BaseException:
        fh.close()
        raise
    return io.BufferedReader(_LimitedRaw(fh, length))  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Credentials never leave boto3


def _no_userinfo(uri: str, what: str) -> str:
    """Refuse URIs with user:password@ in them; the message never repeats the URI."""
    if "@" in (urlsplit(uri).netloc or ""):
        raise ValueError(
            f"{what} must not contain credentials; use the standard AWS credential chain "
            "(environment, ~/.aws/credentials, instance roles)"
        )
    return uri


class _RedactSigning(logging.Filter):
    """botocore logs every prepared request at DEBUG, Authorization header included, and that
    header names the access key id. Scrub signing material from those records."""

    _patterns = (
        (re.compile(r"(Credential=)[^/,\s'\"]+"), r"\1***"),
        (re.compile(r"(Signature=)[0-9a-fA-F]+"), r"\1***"),
        (re.compile(r"(X-Amz-Credential=)[^&\s'\"]+", re.I), r"\1***"),
        (re.compile(r"(X-Amz-Signature=)[^&\s'\"]+", re.I), r"\1***"),
        (
            re.compile(
                r"((?:X-Amz-Security-Token|aws_session_token)['\"]?\s*[:=]\s*b?['\"]?)"
                r"[^'\"&\s,}]+",
                re.I,
            ),
            r"\1***",
        ),
        (
            re.compile(
                r"((?:aws_secret_access_key|aws_access_key_id)['\"]?\s*[:=]\s*['\"]?)"
                r"[^'\"&\s,}]+",
                re.I,
            ),
            r"\1***",
        ),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        redacted = message
        for pattern, repl in self._patterns:
            redacted = pattern.sub(repl, redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTED_LOGGERS = (
    "botocore.endpoint",
    "botocore.auth",
    "botocore.httpsession",
    "botocore.hooks",
    "botocore.parsers",
    "botocore.retryhandler",
    "botocore.retries.standard",
    "urllib3.connectionpool",
    "s3transfer",
)
_redaction = _RedactSigning()


def install_log_redaction() -> None:
    # Filters on a logger only see records created by that logger, hence the list.
    for name in _REDACTED_LOGGERS:
        log = logging.getLogger(name)
        if _redaction not in log.filters:
            log.addFilter(_redaction)


def is_unreachable(exc: BaseException) -> bool:
    """True when the store could not be reached at all (as opposed to refusing a request)."""
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return isinstance(exc, OSError)
    return isinstance(exc, BotoConnectionError | HTTPClientError | ConnectionError | TimeoutError)


# ---------------------------------------------------------------------------------------------
# Stores


def _clean_key(key: str) -> str:
    key = key.lstrip("/")
    if not key or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"bad store key {key!r}")
    return key


class LocalStore:
    """A folder. ``LocalStore(None)`` is the archive folder itself: nothing to upload."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else None

    @classmethod
    def from_uri(cls, uri: str | None, **_: Any) -> LocalStore:
        if uri is None:
            return cls(None)
        parts = urlsplit(uri)
        if parts.scheme == "file":
            _no_userinfo(uri, "a file:// store URI")
            return cls(Path(parts.path))
        return cls(Path(uri))

    def _path(self, key: str) -> Path:
        if self.root is None:
            raise StoreError("the local archive is its own store; there is nothing to copy to")
        return self.root / _clean_key(key)

    def upload(self, local_path: Path, key: str) -> UploadResult:
        dest = self._path(key)
        if dest.exists() and dest.resolve() == Path(local_path).resolve():
            digests = file_digests(dest, MIN_PART_SIZE)
            return UploadResult(key, digests.size, digests.sha256_hex, digests.sha256_hex)
        local = file_digests(Path(local_path), MIN_PART_SIZE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Copy under a temporary name, fsync, rename: a crash never leaves a half file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, Path(local_path).open("rb") as src:
                shutil.copyfileobj(src, out, _READ_BLOCK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stored = file_digests(dest, MIN_PART_SIZE)
        if (stored.size, stored.sha256) != (local.size, local.sha256):
            raise StoreVerificationError(
                f"copy of {key} in {self.describe()} differs from the source"
            )
        return UploadResult(key, stored.size, local.sha256_hex, stored.sha256_hex)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def open_range(self, key: str, start: int, length: int | None) -> BinaryIO:
        return open_file_range(self._path(key), start, length)

    def list(self, prefix: str = "") -> Iterator[str]:
        if self.root is None or not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def sizes(self, prefix: str = "") -> dict[str, int]:
        """{key: size in bytes} of every object under ``prefix``."""
        return {key: self._path(key).stat().st_size for key in self.list(prefix)}

    def describe(self) -> str:
        return self.root.as_uri() if self.root is not None else "local archive"


class S3Store:
    """A bucket and key prefix on S3 or an S3-compatible service.

    Credentials come only from boto3's standard chain; the endpoint from ``endpoint_url``, else
    ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` / the config file (boto3 resolves those).
    Short connect timeout and few retries, so a dead store costs seconds, not minutes.
    """

    CHECKSUM_ALGORITHM = "SHA256"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        # Imported here (as Scrapy's S3FilesStore does): boto3 costs start-up time.
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not bucket:
            raise ValueError("an s3:// store URI needs a bucket: s3://bucket/prefix")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        if endpoint_url is not None:
            _no_userinfo(endpoint_url, "the store endpoint URL")
        install_log_redaction()
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # total_max_attempts counts the first try (botocore's max_attempts would not).
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
        )
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, config=config
        )
        # Classic s3transfer (not CRT), so the part size we hash with is the one it uploads with.
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=part_size,
            max_concurrency=4,
            preferred_transfer_client="classic",
        )

    @classmethod
    def from_uri(cls, uri: str, **options: Any) -> S3Store:
        _no_userinfo(uri, "the store URI")
        parts = urlsplit(uri)
        return cls(parts.netloc, parts.path, **options)

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint in use when it is not AWS's own (a custom or S3-compatible service)."""
        url = self.client.meta.endpoint_url
        host = urlsplit(url).hostname or ""
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            return None
        parts = urlsplit(url)
        return urlunsplit(
            (
                parts.scheme,
                parts.hostname + (f":{parts.port}" if parts.port else ""),
                parts.path,
                "",
                "",
            )
        )

    def _full(self, key: str) -> str:
        key = _clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _part_size_for(self, size: int) -> int:
        from s3transfer.utils import ChunksizeAdjuster

        return int(ChunksizeAdjuster().adjust_chunksize(self.part_size, size))

    def upload(self, local_path: Path, key: str) -> UploadResult:
        local_path = Path(local_path)
        full = self._full(key)
        size = local_path.stat().st_size
        local = file_digests(local_path, self._part_size_for(size))
        self.client.upload_file(
            str(local_path),
            self.bucket,
            full,
            ExtraArgs={"ChecksumAlgorithm": self.CHECKSUM_ALGORITHM},
            Config=self._transfer,
        )
        head = self.client.head_object(Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")
        stored = head["ContentLength"]
        if stored != local.size:
            raise StoreVerificationError(
                f"{self.describe()}/{key}: stored size {stored} != local {local.size}"
            )
        checksum = verify_checksum(f"{self.describe()}/{key}", head, local)
        return UploadResult(key, local.size, local.sha256_hex, checksum)

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._full(key)))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int | None:
        head = self._head(key)
        return int(head["ContentLength"]) if head is not None else None

    def open_range(self, key: str, start: int, length: int | None) -> BinaryIO:
        """A streaming ranged GET: bytes arrive as the caller reads them. Raises
        FileNotFoundError when the object does not exist (as the local store does),
        StoreReadError (an OSError) when the store cannot be read."""
        from botocore.exceptions import BotoCoreError, ClientError

        if length == 0:
            return io.BytesIO(b"")
        end = "" if length is None else str(start + length - 1)
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._full(key), Range=f"bytes={start}-{end}"
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(f"{self.describe()}/{key} does not exist") from None
            raise StoreReadError(f"cannot read {self.describe()}/{key}: {exc}") from None
        except BotoCoreError as exc:  # unreachable endpoint, timeout, bad credentials
            raise StoreReadError(f"cannot read {self.describe()}/{key}: {exc}") from None
        body: BinaryIO = response["Body"]
        return body

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``. Raises StoreReadError when the store cannot be listed."""
        yield from self.sizes(prefix)

    def sizes(self, prefix: str = "") -> dict[str, int]:
        """{key: size in bytes} of every object under ``prefix`` (one listing, no HEADs).
        Raises StoreReadError (an OSError) when the store cannot be listed."""
        from botocore.exceptions import BotoCoreError, ClientError

        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        out: dict[str, int] = {}
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for obj in page.get("Contents", ()):
                    out[obj["Key"][len(base) :]] = int(obj["Size"])
        except (BotoCoreError, ClientError) as exc:
            raise StoreReadError(f"cannot list {self.describe()}: {exc}") from None
        return out

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


STORE_SCHEMES: dict[str, type[LocalStore] | type[S3Store]] = {
    "": LocalStore,
    "file": LocalStore,
    "s3": S3Store,
}


def open_store(
    uri: str | None,
    *,
    endpoint_url: str | None = None,
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    part_size: int = DEFAULT_PART_SIZE,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_attempts: int = 3,
) -> LocalStore | S3Store:
    """``None``, a plain path or ``file://`` -> LocalStore; ``s3://bucket/prefix`` -> S3Store."""
    if uri is None:
        return LocalStore(None)
    scheme = urlsplit(uri).scheme.lower()
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = ""
    if scheme not in STORE_SCHEMES:
        raise ValueError(f"unsupported store scheme {scheme!r}: use s3://bucket/prefix or a path")
    if scheme == "s3":
        return S3Store.from_uri(
            uri,
            endpoint_url=endpoint_url,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
        )
    return LocalStore.from_uri(uri)
