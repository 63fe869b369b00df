"""Storage stage: the local archive by default, S3 (boto3) when a store is set.

The archive folder is a spool: every sealed file is uploaded, its size and SHA-256 checksum are
confirmed against the store, the upload is recorded in ``ARCHIVE/store.json``, and only then is
a WARC deleted locally. Run summaries, indexes, ``reports.jsonl`` and WACZ files are uploaded
too but kept locally (sent again when they change). While the store is down nothing is deleted;
``govcrawl sync --archive DIR`` (``sync_archive``) or the next crawl sends what is left.

Store URIs (``open_store``)
    ``None``, a plain path, ``file:///path``   a folder (``None``: the archive itself, no-op)
    ``s3://bucket/prefix``                     S3 or an S3-compatible service (boto3)

Key layout in a store (keys relative to the URI's prefix)::

    <prefix>/warc/<warc file name>         sealed WARCs (deleted locally once confirmed)
    <prefix>/runs/<name>.json              run summaries
    <prefix>/indexes/<name>                CDXJ and other indexes
    <prefix>/reports.jsonl                 one record per annual-report URL
    <prefix>/wacz/<name>.wacz              WACZ packages made in the archive folder
    <prefix>/captures.sqlite3              snapshot of the capture index (SQLite backup API),
                                           uploaded at the end of a run, after the WARCs

S3 details
    Credentials come only from boto3's standard chain (environment, ``~/.aws`` files, roles);
    they are never logged (botocore's DEBUG request dumps are scrubbed), put in messages or
    written anywhere. A ``user:secret@`` in a store or endpoint URI is refused. The endpoint is
    ``endpoint_url`` / ``GOVCRAWL_STORE_ENDPOINT_URL``, else boto3's ``AWS_ENDPOINT_URL_S3`` /
    ``AWS_ENDPOINT_URL`` / config file. Uploads use s3transfer with ``ChecksumAlgorithm=SHA256``:
    multipart above ``GOVCRAWL_STORE_MULTIPART_THRESHOLD`` in parts of
    ``GOVCRAWL_STORE_PART_SIZE``; afterwards a HEAD (``ChecksumMode=ENABLED``) must report the
    local size and the local SHA-256 (whole-object for one PUT, composite "sha256 of part
    sha256s"-N for multipart); stores without flexible checksums are checked by ETag (MD5).
    Connect timeout 5 s and 3 attempts, so a dead store costs seconds, not the crawl.

``ARCHIVE/store.json`` (written atomically)::

    {"store": "s3://bucket/prefix",
     "stores": {"s3://bucket/prefix": {"endpoint_url": "http://host:9000" | null}},
     "objects": {"warc/<name>": {"store": ..., "size": n, "sha256": "sha256:<hex>",
                                 "checksum": "SHA256:<b64>[-parts]", "uploaded": "...Z",
                                 "mtime_ns": n}, ...}}

Reading back: ``open_warc(layout, name, offset, length)`` serves the local file when present,
else a streaming ranged GET from the store recorded for that WARC; ``warc_names(layout)`` lists
local and uploaded WARCs.
"""

from __future__ import annotations

from govcrawl.store.spool import (
    Spool,
    SyncReport,
    open_warc,
    read_manifest,
    store_from_manifest,
    store_key,
    sync_archive,
    warc_names,
)
from govcrawl.store.stores import (
    STORE_SCHEMES,
    LocalStore,
    S3Store,
    Store,
    StoreError,
    StoreReadError,
    StoreVerificationError,
    UploadResult,
    open_store,
)

__all__ = [
    "STORE_SCHEMES",
    "LocalStore",
    "S3Store",
    "Spool",
    "Store",
    "StoreError",
    "StoreReadError",
    "StoreVerificationError",
    "SyncReport",
    "UploadResult",
    "open_store",
    "open_warc",
    "read_manifest",
    "store_from_manifest",
    "store_key",
    "sync_archive",
    "warc_names",
]

