"""Deduplication: exact (payload digests -> revisit records) and near (report-text fingerprints).

Exact: ``decide()`` is the pure rule the WARC stage applies to every downloaded response.

    first capture of the URL                 -> response record, status "new"
    payload digest equal to the last capture -> revisit (identical-payload-digest), "unchanged"
    payload digest differs                   -> response record, status "changed"
    HTTP 304 to a conditional request        -> revisit (server-not-modified) referring to the
                                                last full capture, "unchanged"

Empty payloads (redirects, most error pages) are always written in full: a revisit would be
larger than the record it saves, and replay tools special-case the empty digest anyway.

Near: the same report is often published several times (main portal and department site, a
图片版 next to the text version, a re-post after a CMS migration). ``text_fingerprint()`` is a
MinHash (datasketch) over character shingles of the report's prose, so Chinese needs no word
segmentation; ``same_report()`` compares two fingerprints against a tested threshold and
``assign_group()`` files a capture under the group of the first matching report. Candidates
for the comparison are the reports sharing an LSH band with the new one (datasketch's banding
for the threshold), looked up in the capture index's band table: memory stays flat however
many reports the archive holds.

Prose only: reports of one template share long stretches of table labels (25 rows x 7 columns
of 申请/办理 wording, often with the same zeros); those would make every pair of reports look
alike. Table cells are short lines, so lines shorter than ``PROSE_MIN_CHARS`` are left out of
the shingles unless the text has almost no prose at all.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import unicodedata
import weakref
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

    from govcrawl.archive.captures import CaptureIndex, CaptureRow

logger = logging.getLogger(__name__)

# sha1 of b"", base32: the digest of every empty payload.
EMPTY_DIGEST = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"

IDENTICAL = "identical-payload-digest"
NOT_MODIFIED = "server-not-modified"


@dataclass(frozen=True)
class Decision:
    record_type: Literal["response", "revisit"]
    status: Literal["new", "changed", "unchanged"]
    profile: str | None = None  # IDENTICAL or NOT_MODIFIED for revisits
    refers_to_digest: str | None = None  # payload digest of the response a revisit refers to

    @property
    def is_revisit(self) -> bool:
        return self.record_type == "revisit"


def decide(last: CaptureRow | None, digest: str, http_status: int) -> Decision:
    """What to write for a response of payload ``digest`` given the URL's last capture."""
    if http_status == 304:
        if last is None:
            # A 304 we did not ask for (or an index that lost the original): keep it as is.
            return Decision("response", "new")
        return Decision("revisit", "unchanged", NOT_MODIFIED, last.digest)
    if last is None:
        return Decision("response", "new")
    if digest != last.digest:
        return Decision("response", "changed")
    if digest == EMPTY_DIGEST:
        return Decision("response", "unchanged")
    return Decision("revisit", "unchanged", IDENTICAL, digest)


# -- near-duplicate report texts ---------------------------------------------------------------

NUM_PERM = 128
SEED = 1
SHINGLE = 5
PROSE_MIN_CHARS = 20  # lines shorter than this are table cells, labels, menus
PROSE_MIN_TOTAL = 200  # below this much prose, shingle everything there is
# Estimated Jaccard at or above which two texts are the same report. Measured on real report
# texts (tests/test_captures_dedupe.py): copies differing by a sentence or by 图片版 wording
# score >= 0.85; different years of one agency, or one year of two agencies, score < 0.35.
SAME_REPORT_THRESHOLD = 0.7

_FP_PREFIX = "mh1:"
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


@cache
def _template() -> MinHash:
    # datasketch is imported on first use: its package imports scipy (~0.6 s, ~50 MiB), which
    # a crawl process that never fingerprints (the worker does) need not load.
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED)


def _prose(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    lines = [_DROP.sub("", line).lower() for line in text.splitlines()]
    prose = [line for line in lines if len(line) >= PROSE_MIN_CHARS]
    if sum(map(len, prose)) < PROSE_MIN_TOTAL:
        prose = lines
    return "".join(prose)


def _minhash(values: np.ndarray | None = None) -> MinHash:
    from datasketch import MinHash

    template = _template()
    if values is None:
        return MinHash(
            num_perm=NUM_PERM,
            seed=SEED,
            permutations=template.permutations,
            scheme=template.scheme,
        )
    return MinHash(
        seed=SEED, hashvalues=values, permutations=template.permutations, scheme=template.scheme
    )


def text_fingerprint(text: str) -> str:
    """MinHash fingerprint of a report text: ``"mh1:" + base64(128 x uint32)``."""
    flat = _prose(text)
    mh = _minhash()
    if len(flat) <= SHINGLE:
        shingles = {flat} if flat else set()
    else:
        shingles = {flat[i : i + SHINGLE] for i in range(len(flat) - SHINGLE + 1)}
    mh.update_batch([s.encode("utf-8") for s in shingles])
    raw = np.asarray(mh.hashvalues, dtype="<u4").tobytes()
    return _FP_PREFIX + base64.b64encode(raw).decode("ascii")


def _values(fp: str) -> np.ndarray:
    if not fp.startswith(_FP_PREFIX):
        raise ValueError(f"not a govcrawl text fingerprint: {fp[:16]!r}")
    values = np.frombuffer(base64.b64decode(fp[len(_FP_PREFIX) :]), dtype="<u4")
    if len(values) != NUM_PERM:
        raise ValueError(f"fingerprint has {len(values)} values, expected {NUM_PERM}")
    return values


def _decode(fp: str) -> MinHash:
    return _minhash(_values(fp).astype(_template().hashvalues.dtype))


def similarity(fp_a: str, fp_b: str) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(_decode(fp_a).jaccard(_decode(fp_b)))


def same_report(fp_a: str, fp_b: str) -> bool:
    return similarity(fp_a, fp_b) >= SAME_REPORT_THRESHOLD


# LSH banding with datasketch's parameters for the threshold (MinHashLSH(threshold=0.7,
# num_perm=128): 14 bands of 9 consecutive values; tests/test_report_bands.py checks them):
# fingerprints sharing a band are compared, the same candidates MinHashLSH gives.
_BANDS, _ROWS = 14, 9
# Fixed mixing constants (stored keys depend on them): a band's r values -> one 64-bit key.
_MIX = np.frombuffer(hashlib.shake_128(b"govcrawl band values").digest(8 * _ROWS), "<u8") | 1
_SALT = np.frombuffer(hashlib.shake_128(b"govcrawl band numbers").digest(8 * _BANDS), "<u8")
BAND_BATCH = 500  # new fingerprints whose bands are stored in one transaction


def _bands(values: np.ndarray) -> tuple[int, ...]:
    # One key column serves every band (the band number is salted in); a 64-bit collision
    # only adds a candidate, which the Jaccard estimate then turns down.
    rows = values[: _BANDS * _ROWS].astype(np.uint64).reshape(_BANDS, _ROWS)
    keys = (rows * _MIX).sum(axis=1, dtype=np.uint64) ^ _SALT  # wraps mod 2**64
    return tuple(keys.view(np.int64).tolist())


def fingerprint_bands(fp: str) -> tuple[int, ...]:
    """LSH band keys of a fingerprint: one signed 64-bit integer per band (14). Raises
    ValueError for a string that is not a text fingerprint."""
    return _bands(_values(fp))


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / NUM_PERM  # as MinHash.jaccard


@dataclass
class _Pending:
    group_id: int
    values: np.ndarray
    bands: tuple[int, ...]


class ReportGrouper:
    """Groups report captures by fingerprint against the capture index's band table.

    Candidates are the captures sharing an LSH band with the new fingerprint, read from the
    index per query; the grouper holds only the bands of up to ``BAND_BATCH`` new fingerprints
    not stored yet (stored in one transaction, on ``flush()`` and by the index's ``flush()``
    and ``close()``). Only the first capture of each distinct fingerprint is banded. On
    creation it bands the stored fingerprints of captures above the index's band mark: an
    index from before the band table, or the unstored batch of a killed crawl.
    """

    def __init__(self, index: CaptureIndex) -> None:
        self.index = index
        self._pending: dict[int, _Pending] = {}  # capture id -> not yet stored
        self._pending_by_band: dict[int, list[int]] = {}
        self._upto = self._stored_upto = index.band_mark()
        index.on_flush(self.flush)
        self._fill()

    def _fill(self) -> None:
        after = self._upto
        while page := list(self.index.report_fingerprints(after=after, limit=BAND_BATCH)):
            for capture_id, group_id, fp in page:
                values = _values(fp)
                bands = _bands(values)
                best = self._best(capture_id, values, bands)
                if best is None or best[1] < 1.0:
                    self._add(
                        capture_id, group_id if group_id is not None else capture_id, values, bands
                    )
            after = page[-1][0]
            self._upto = max(self._upto, after)
            self.flush()

    def _add(
        self, capture_id: int, group_id: int, values: np.ndarray, bands: tuple[int, ...]
    ) -> None:
        if capture_id not in self._pending:
            for band in bands:
                self._pending_by_band.setdefault(band, []).append(capture_id)
        self._pending[capture_id] = _Pending(group_id, values, bands)

    def _best(
        self, capture_id: int, values: np.ndarray, bands: tuple[int, ...]
    ) -> tuple[int, float, int] | None:
        """(capture id, score, group id) of the closest other banded fingerprint scoring at
        least the threshold, ties to the earliest capture; None when there is none."""
        found: dict[int, tuple[int, np.ndarray]] = {}
        for cid, gid, fp in self.index.band_candidates(bands):
            found[cid] = (gid if gid is not None else cid, _values(fp))
        for band in bands:
            for cid in self._pending_by_band.get(band, ()):
                pending = self._pending[cid]
                found[cid] = (pending.group_id, pending.values)
        best: tuple[int, float, int] | None = None
        for cid in sorted(found):
            if cid == capture_id:
                continue
            gid, other = found[cid]
            score = _jaccard(values, other)
            if score >= SAME_REPORT_THRESHOLD and (best is None or score > best[1]):
                best = (cid, score, gid)
        return best

    def group_for(self, capture_id: int, fingerprint: str) -> int:
        """Group id for a fingerprint: the best match's group, or ``capture_id`` for a new one."""
        values = _values(fingerprint)
        bands = _bands(values)
        best = self._best(capture_id, values, bands)
        group_id = best[2] if best is not None else capture_id
        if best is None or best[1] < 1.0 or capture_id in self._pending:
            # Unless an identical fingerprint is banded: its capture stands for this one.
            self._add(capture_id, group_id, values, bands)
        self._upto = max(self._upto, capture_id)
        if len(self._pending) >= BAND_BATCH:
            self.flush()
        return group_id

    def assign(self, capture_id: int, fingerprint: str) -> int:
        group_id = self.group_for(capture_id, fingerprint)
        self.index.update_report(capture_id, fingerprint=fingerprint, group_id=group_id)
        return group_id

    def flush(self) -> None:
        """Store the pending bands and raise the index's band mark, in one transaction."""
        if not self._pending and self._upto <= self._stored_upto:
            return
        rows = [(band, cid) for cid, p in self._pending.items() for band in p.bands]
        self.index.add_bands(rows, upto=self._upto)
        self._pending.clear()
        self._pending_by_band.clear()
        self._stored_upto = self._upto


_GROUPERS: weakref.WeakKeyDictionary[CaptureIndex, ReportGrouper] = weakref.WeakKeyDictionary()


def assign_group(index: CaptureIndex, capture_id: int, fingerprint: str) -> int:
    """Store ``fingerprint`` on the capture and file it under a group; returns the group id.

    Copies of one report share a group id (the capture id of the first copy seen); distinct
    reports get their own. The grouper for an index is built once per process from the index.
    """
    grouper = _GROUPERS.get(index)
    if grouper is None:
        grouper = _GROUPERS[index] = ReportGrouper(index)
    return grouper.assign(capture_id, fingerprint)
