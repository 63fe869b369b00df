"""Small text helpers shared by the replica's content and templates."""

from __future__ import annotations

import re

_FW_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
# Half-width punctuation to the full-width forms live pages mostly use. Colons in URLs and times,
# and commas between digits, stay as they are.
_COLON = re.compile(r"(?<!\d):(?!//)|(?<=\d):(?!\d)")
_COMMA = re.compile(r"(?<!\d),|,(?!\d)")


def fw(text: str) -> str:
    """Full-width CJK punctuation: (一) -> （一）, : -> ：, , -> ，, ; -> ；."""
    text = text.replace("(", "（").replace(")", "）").replace(";", "；")
    text = _COLON.sub("：", text)
    return _COMMA.sub("，", text)


def hw(text: str) -> str:
    """Identity: pages that keep the half-width punctuation of the saved texts."""
    return text


def fullwidth_digits(text: str) -> str:
    return text.translate(_FW_DIGITS)


def sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences ending with 。 (kept)."""
    parts = re.findall(r"[^。]*。", paragraph)
    return [s.strip() for s in parts if s.strip()]
