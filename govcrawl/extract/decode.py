"""Decode page bodies to text: w3lib's browser-like rules plus checks for lying charsets.

w3lib.encoding.html_to_unicode does the standard work (BOM, Content-Type header, <meta> and
XML declarations, gb2312/gbk -> gb18030). What it lacks for Chinese government portals:

* a body with no declared charset is sniffed: valid UTF-8 first, then GB18030;
* a declared charset is checked against the bytes: a page served as ``charset=utf-8`` whose bytes
  are GBK (or the other way round) is decoded with the encoding that fits, never as mojibake.
  Valid multi-byte UTF-8 is decisive (GBK text is practically never valid UTF-8); otherwise the
  first of the <meta> charset, the header charset and GB18030 that decodes cleanly wins;
* a UTF-8 page with a wrong fragment (a GBK include, a few invalid bytes) stays UTF-8: the
  fragment is read as GB18030 where it fits, else replaced, and decoding keeps going.
"""

from __future__ import annotations

import codecs
import logging

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

logger = logging.getLogger(__name__)

_UTF8 = "utf-8"
_GB = "gb18030"


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _is_ascii(body: bytes) -> bool:
    return body.isascii()


def _sniff(body: bytes) -> str | None:
    """Encoding for a body without a declared charset (used as w3lib's auto-detect hook)."""
    if _decodes(body, _UTF8):
        return _UTF8
    if _decodes(body, _GB):
        return _GB
    return None


def _name(encoding: str | None) -> str | None:
    if not encoding:
        return None
    resolved = resolve_encoding(encoding)
    if resolved is None:
        return None
    return codecs.lookup(resolved).name


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return ``(text, encoding)`` for a response body and its Content-Type header value."""
    if not body:
        return "", _name(http_content_type_encoding(content_type)) or _UTF8
    if read_bom(body)[0] is not None:
        encoding, text = html_to_unicode(content_type, body)
        return text, encoding

    encoding, text = html_to_unicode(
        content_type, body, default_encoding=_UTF8, auto_detect_fun=_sniff
    )
    encoding = _name(encoding) or encoding
    if _is_ascii(body):
        return text, encoding

    if encoding != _UTF8 and _decodes(body, _UTF8):
        logger.debug("body declared %s is valid UTF-8; decoding as UTF-8", encoding)
        return to_unicode(body, _UTF8), _UTF8
    if not _decodes(body, _UTF8) and _mostly_utf8(body):
        # A UTF-8 page with a wrong fragment (a GBK include, a few broken bytes), whatever it
        # declares: decoding it whole as GB18030 would turn the page into mojibake.
        logger.debug("body is UTF-8 but for a few bytes; fragments read as GB18030")
        return body.decode(_UTF8, errors=_FRAGMENTS), _UTF8
    if _decodes(body, encoding) and not _single_byte_hiding_cjk(body, encoding):
        return text, encoding

    header = _name(http_content_type_encoding(content_type))
    meta = _name(html_body_declared_encoding(body))
    for candidate in (meta, header, _GB):
        if candidate and candidate != encoding and _decodes(body, candidate):
            if _single_byte_hiding_cjk(body, candidate):
                continue
            logger.debug("declared %s does not fit the body; decoding as %s", encoding, candidate)
            return to_unicode(body, candidate), candidate

    # Nothing decodes cleanly (a damaged page): take the fewest replacement characters.
    candidates = [c for c in dict.fromkeys((encoding, meta, header, _UTF8, _GB)) if c]
    best = min(candidates, key=lambda c: to_unicode(body, c).count("\ufffd"))
    return to_unicode(body, best), best


def _mostly_utf8(body: bytes) -> bool:
    """True when valid multi-byte UTF-8 characters outnumber the bytes UTF-8 cannot read.

    GBK text is practically never valid UTF-8 (about one character pair in twelve happens to
    be), so a GBK page stays far below; a UTF-8 page with a GBK include stays far above.
    """
    text = body.decode(_UTF8, errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return good > bad


def _gb_fragment(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes UTF-8 cannot read are tried as a GB18030 character (a GBK
    include inside a UTF-8 page), else become U+FFFD; decoding then carries on."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chunk = exc.object[exc.start : exc.start + 2]
    if len(chunk) == 2 and 0x81 <= chunk[0] <= 0xFE:
        try:
            return bytes(chunk).decode(_GB), exc.start + 2
        except UnicodeDecodeError:
            pass
    return "\ufffd", exc.start + 1


_FRAGMENTS = "govcrawl-gb-fragments"
codecs.register_error(_FRAGMENTS, _gb_fragment)


def _single_byte_hiding_cjk(body: bytes, encoding: str) -> bool:
    """True if ``encoding`` is a single-byte Western charset but the bytes are clean GB18030.

    Servers often default to ISO-8859-1 (Tomcat) for JSP pages that are really GBK.
    """
    try:
        single_byte = codecs.lookup(encoding).name.startswith(("cp125", "iso8859", "latin", "mac"))
    except LookupError:
        return False
    return single_byte and _decodes(body, _GB)
