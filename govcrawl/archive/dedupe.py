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
``assign_group()`` files a capture under the group of the first matching report.

Prose only: reports of one template share long stretches of table labels (25 rows x 7 columns
of 申请/办理 wording, often with the same zeros); those would make every pair of reports look
alike. Table cells are short lines, so lines shorter than ``PROSE_MIN_CHARS`` are left out of
the shingles unless the text has almost no prose at all.
"""

from __future__ import annotations

import base64
import logging
import re
import unicodedata
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from datasketch import MinHash, MinHashLSH

if TYPE_CHECKING:
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
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED)


def _prose(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    lines = [_DROP.sub("", line).lower() for line in text.splitlines()]
    prose = [line for line in lines if len(line) >= PROSE_MIN_CHARS]
    if sum(map(len, prose)) < PROSE_MIN_TOTAL:
        prose = lines
    return "".join(prose)


def _minhash(values: np.ndarray | None = None) -> MinHash:
    if values is None:
        return MinHash(
            num_perm=NUM_PERM,
            seed=SEED,
            permutations=_TEMPLATE.permutations,
            scheme=_TEMPLATE.scheme,
        )
    return MinHash(
        seed=SEED, hashvalues=values, permutations=_TEMPLATE.permutations, scheme=_TEMPLATE.scheme
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


def _decode(fp: str) -> MinHash:
    if not fp.startswith(_FP_PREFIX):
        raise ValueError(f"not a govcrawl text fingerprint: {fp[:16]!r}")
    values = np.frombuffer(base64.b64decode(fp[len(_FP_PREFIX) :]), dtype="<u4")
    if len(values) != NUM_PERM:
        raise ValueError(f"fingerprint has {len(values)} values, expected {NUM_PERM}")
    return _minhash(values.astype(_TEMPLATE.hashvalues.dtype))


def similarity(fp_a: str, fp_b: str) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(_decode(fp_a).jaccard(_decode(fp_b)))


def same_report(fp_a: str, fp_b: str) -> bool:
    return similarity(fp_a, fp_b) >= SAME_REPORT_THRESHOLD


class ReportGrouper:
    """Groups report captures by fingerprint, backed by an LSH index of the known ones."""

    def __init__(self, index: CaptureIndex) -> None:
        self.index = index
        self._lsh = MinHashLSH(threshold=SAME_REPORT_THRESHOLD, num_perm=NUM_PERM)
        self._groups: dict[str, int] = {}  # fingerprint -> group id
        self._hashes: dict[str, MinHash] = {}
        for capture_id, group_id, fp in index.report_fingerprints():
            self._remember(fp, group_id if group_id is not None else capture_id)

    def _remember(self, fp: str, group_id: int) -> None:
        if fp in self._groups:
            return
        mh = _decode(fp)
        self._groups[fp] = group_id
        self._hashes[fp] = mh
        self._lsh.insert(fp, mh)

    def group_for(self, capture_id: int, fingerprint: str) -> int:
        """Group id for a fingerprint: the best match's group, or ``capture_id`` for a new one."""
        if fingerprint in self._groups:
            return self._groups[fingerprint]
        mh = _decode(fingerprint)
        best, best_score = None, SAME_REPORT_THRESHOLD
        for candidate in self._lsh.query(mh):
            score = float(mh.jaccard(self._hashes[candidate]))
            if score >= best_score:
                best, best_score = candidate, score
        group_id = self._groups[best] if best is not None else capture_id
        self._remember(fingerprint, group_id)
        return group_id

    def assign(self, capture_id: int, fingerprint: str) -> int:
        group_id = self.group_for(capture_id, fingerprint)
        self.index.update_report(capture_id, fingerprint=fingerprint, group_id=group_id)
        return group_id


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
