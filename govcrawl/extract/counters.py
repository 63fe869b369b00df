"""Find a page's click-counter endpoint (点击量) and read the counter's answer.

Portals fill 点击量 with JavaScript after the page loads. The crawler asks for the count the way
the page's own script would, but never through an endpoint that adds a hit when a read-only one
exists (see notes/counters.md for the styles seen on the portals):

* generic rules find counter URLs in ``<script src>``, ``<iframe src>``, ``<img src>`` and in
  inline ``$.ajax`` / ``$.get`` / ``$.getJSON`` / ``$.post`` / ``.load`` / ``fetch`` /
  ``XMLHttpRequest.open`` calls whose path looks like a counter (``patterns.COUNTER_PATH``);
  a literal ``data: {key: "value"}`` object of an ajax call becomes the query string;
* site profiles add :class:`CounterRule` templates for endpoints generic rules cannot build.

URLs matching ``patterns.COUNTER_ADDS_HIT`` (``visit``, ``add=1``, ``hit``) count as adding a hit.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from govcrawl.extract import dom, patterns

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CounterRule:
    """A profile's counter endpoint: ``url_template`` with ``{id}``, id captured from the page."""

    url_template: str
    id_pattern: str  # regex; group "id" or group 1 captures the id (searched in the HTML, then URL)
    read_only: bool

    def __post_init__(self) -> None:
        if "{id}" not in self.url_template:
            raise ValueError(f"counter url_template lacks {{id}}: {self.url_template!r}")
        try:
            compiled = re.compile(self.id_pattern)
        except re.error as exc:
            raise ValueError(f"bad counter id_pattern {self.id_pattern!r}: {exc}") from exc
        if compiled.groups < 1:
            raise ValueError(f"counter id_pattern has no capturing group: {self.id_pattern!r}")


@dataclass(frozen=True)
class CounterRequest:
    url: str  # absolute
    read_only: bool
    style: str  # how it was found: profile, script-src, iframe, img, ajax, get, getJSON, fetch, ...


_COUNTER_PATH = re.compile(patterns.COUNTER_PATH)
_ADDS_HIT = re.compile(patterns.COUNTER_ADDS_HIT)
_IGNORE = re.compile(patterns.COUNTER_IGNORE)
_STATIC = re.compile(patterns.COUNTER_STATIC_FILES)
_CALL = re.compile(
    r"(?:\$|jQuery)\s*\.\s*(?P<fn>ajax|get|getJSON|post)\s*\(|\.\s*(?P<load>load)\s*\(|"
    r"\b(?P<fetch>fetch)\s*\(|\.\s*(?P<open>open)\s*\(\s*(['\"])(?:GET|POST)\5\s*,"
)
_STRING = re.compile(r"\s*(['\"])(?P<s>(?:\\.|(?!\1).)*)\1", re.S)
_URL_PROP = re.compile(r"""(?:^|[{,\s])['"]?url['"]?\s*:\s*(['"])(?P<s>(?:\\.|(?!\1).)*)\1""", re.S)
_CONCAT = re.compile(r"\s*\+")
# "...?id=100&r=" + Math.random() [;)}]: the literal's trailing cache-buster and its expression.
_BUSTER_TAIL = re.compile(rf"[?&]{patterns.CACHE_BUSTER_NAMES}=$")
_BUSTER_CONCAT = re.compile(rf"\s*\+\s*{patterns.CACHE_BUSTER_EXPR}\s*(?=[,;)}}\n]|$)")
_BUSTER_PARAM = re.compile(
    rf"(?:^|(?<=&)){patterns.CACHE_BUSTER_NAMES}={patterns.CACHE_BUSTER_VALUE}(?:&|$)"
)
_DATA_PROP = re.compile(r"""(?:^|[{,\s])['"]?data['"]?\s*:\s*\{""", re.S)
_PAIR = re.compile(
    r"""\s*['"]?(?P<k>[A-Za-z_$][\w$]*)['"]?\s*:\s*(?:(['"])(?P<s>(?:\\.|(?!\2).)*)\2|(?P<n>-?\d+(?:\.\d+)?))\s*"""
)


def _balanced(text: str, start: int, open_ch: str, close_ch: str) -> str | None:
    """Text from ``start`` (just after ``open_ch``) to its matching ``close_ch``, quote-aware."""
    depth, i, quote = 1, start, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def _literal_object(body: str) -> dict[str, str] | None:
    """``key: "value", key2: 12`` pairs of a JS object literal; None if anything is not literal."""
    items: dict[str, str] = {}
    body = body.strip()
    if not body:
        return items
    for part in _split_top_level(body):
        match = _PAIR.fullmatch(part)
        if not match:
            return None
        items[match["k"]] = match["s"] if match["s"] is not None else match["n"]
    return items


def _split_top_level(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in body:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def _with_query(url: str, data: dict[str, str]) -> str:
    if not data:
        return url
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(data)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _busted_literal(text: str, literal: re.Match[str]) -> str | None:
    """The literal URL without its cache-buster when it is followed by ``+ Math.random()``
    (or a timestamp) and nothing else; None when it is concatenated with anything else."""
    if not _CONCAT.match(text, literal.end()):
        return literal["s"]
    if _BUSTER_TAIL.search(literal["s"]) and _BUSTER_CONCAT.match(text, literal.end()):
        return _BUSTER_TAIL.sub("", literal["s"])
    return None


def without_cache_busters(url: str) -> str:
    """``url`` without query parameters that only defeat caches (patterns.CACHE_BUSTER_*)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = _BUSTER_PARAM.sub("", parts.query + "&").rstrip("&")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _script_calls(js: str) -> list[tuple[str, str]]:
    """(style, url) of the HTTP calls in a script whose URL is a string literal."""
    found: list[tuple[str, str]] = []
    for match in _CALL.finditer(js):
        if match["open"]:
            literal = _STRING.match(js, match.end())
            busted = _busted_literal(js, literal) if literal else None
            if busted is not None:
                found.append(("xhr", busted))
            continue
        style = match["fn"] or match["load"] or match["fetch"]
        args = _balanced(js, match.end(), "(", ")")
        if args is None:
            continue
        literal = _STRING.match(args)
        if literal:
            busted = _busted_literal(args, literal)
            if busted is None:
                continue  # URL built with variables ("...?id=" + id): not guessable
            url, rest = busted, args[literal.end() :]
            rest = _BUSTER_CONCAT.sub("", rest, count=1) if busted != literal["s"] else rest
            data_match = re.match(r"\s*,\s*\{", rest)
            if data_match and style in ("get", "getJSON", "post", "load"):
                obj = _balanced(rest, data_match.end(), "{", "}")
                data = _literal_object(obj) if obj is not None else None
                if data is None:
                    continue
                url = _with_query(url, data)
            found.append((style, url))
        elif args.lstrip().startswith("{") and style in ("ajax", "get", "getJSON", "post"):
            obj = _balanced(args, args.index("{") + 1, "{", "}") or ""
            url_match = _URL_PROP.search(obj)
            busted = _busted_literal(obj, url_match) if url_match else None
            if busted is None:
                continue
            url = busted
            data_match = _DATA_PROP.search(obj)
            if data_match:
                data_body = _balanced(obj, data_match.end(), "{", "}")
                data = _literal_object(data_body) if data_body is not None else None
                if data is None:
                    # A data object built from variables: the URL alone would be a wrong request.
                    continue
                url = _with_query(url, data)
            found.append((style, url))
    return found


def _generic(html: str) -> list[tuple[str, str]]:
    tree = dom.parse_cached(html)
    found: list[tuple[str, str]] = []
    for el in tree.iter("script", "iframe", "img"):
        tag = dom.tag_of(el)
        src = (el.get("src") or "").strip()
        if src:
            found.append(({"script": "script-src"}.get(tag or "", tag or ""), src))
        if tag == "script" and el.text:
            found.extend(_script_calls(el.text))
    return found


def _from_rules(html: str, url: str, rules: list[CounterRule]) -> list[tuple[str, str, bool]]:
    found = []
    for rule in rules:
        regex = re.compile(rule.id_pattern)
        match = regex.search(html) or regex.search(url)
        if not match:
            continue
        ident = match.groupdict().get("id") or match.group(1)
        if not ident:
            continue
        found.append(("profile", rule.url_template.replace("{id}", ident), rule.read_only))
    return found


def find_counter_requests(
    html: str, url: str, rules: list[CounterRule] | None = None
) -> list[CounterRequest]:
    """Counter endpoints of a page, read-only ones first (profile rules before generic ones)."""
    candidates: list[tuple[str, str, bool]] = list(_from_rules(html, url, rules or []))
    for style, raw in _generic(html):
        path = urlsplit(raw).path
        if not _COUNTER_PATH.search(path) or _IGNORE.search(raw) or _STATIC.search(path):
            continue
        candidates.append((style, raw, not _ADDS_HIT.search(raw)))

    requests: list[CounterRequest] = []
    seen: set[str] = set()
    for style, raw, read_only in candidates:
        absolute = without_cache_busters(urljoin(url, raw.strip()))
        if urlsplit(absolute).scheme not in ("http", "https") or absolute in seen:
            continue
        seen.add(absolute)
        requests.append(CounterRequest(url=absolute, read_only=read_only, style=style))
    requests.sort(key=lambda r: not r.read_only)  # stable: keeps the order within each kind
    return requests


def choose_counter_request(
    html: str, url: str, rules: list[CounterRule] | None = None
) -> CounterRequest | None:
    """The one counter request to fetch: a read-only one if any, else the hit-adding one."""
    requests = find_counter_requests(html, url, rules)
    return requests[0] if requests else None


# --------------------------------------------------------------------------- responses

_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_DOC_WRITE = re.compile(
    r"""document\s*\.\s*write(?:ln)?\s*\(\s*(['"])\s*(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s*\1\s*\)\s*;?""",
    re.S,
)
_JSONP = re.compile(r"^[A-Za-z_$][\w$.]*\s*\(\s*(?P<inner>.*?)\s*\)\s*;?$", re.S)
_KEYS = tuple(k.lower() for k in patterns.COUNTER_KEYS)
_WRAPPERS = tuple(k.lower() for k in patterns.COUNTER_WRAPPER_KEYS)


def _as_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return int(text.replace(",", ""))
    return None


def _from_json(value: object, depth: int = 0) -> int | None:
    count = _as_count(value)
    if count is not None or not isinstance(value, dict) or depth > 2:
        return count
    lowered = {str(k).lower(): v for k, v in value.items()}
    for key in _KEYS:
        if key in lowered:
            count = _as_count(lowered[key])
            if count is not None:
                return count
    for key in _WRAPPERS:
        if key in lowered:
            count = _from_json(lowered[key], depth + 1)
            if count is not None:
                return count
    return None


def _parse_json(text: str) -> int | None:
    try:
        return _from_json(json.loads(text))
    except ValueError:
        return None


def parse_counter_response(body: str, content_type: str | None) -> int | None:
    """The count in a counter response, or None if the body is not one of the known shapes.

    Shapes: ``1234`` / ``1,234`` (any content type), JSON (a number, a numeric string, or an
    object with clicks/count/hits/num/value/... possibly under data/result), JSONP
    ``cb({...});`` and ``document.write('1,234');``. ``content_type`` is only a hint: portals
    label these bodies inconsistently.
    """
    text = (body or "").strip().lstrip("\ufeff").strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return int(text.replace(",", ""))
    if text[0] in '{["' or "json" in (content_type or "").lower():
        count = _parse_json(text)
        if count is not None:
            return count
    match = _DOC_WRITE.fullmatch(text)
    if match:
        return int(match["n"].replace(",", ""))
    match = _JSONP.match(text)
    if match:
        inner = match["inner"].strip()
        if _NUMBER.fullmatch(inner):
            return int(inner.replace(",", ""))
        return _parse_json(inner)
    return None


def printed_clicks(html: str, labels: Iterable[str]) -> int | None:
    """A click count printed into the page itself (``浏览次数：1234``), or None.

    ``labels``: the profile's ``printed_counter_labels`` (plain words). A label followed by no
    number (a counter filled in later by script, ``点击量:``) gives None.
    """
    words = [re.escape(w) for w in labels if w]
    if not words:
        return None
    pattern = re.compile(
        r"(?:" + "|".join(words) + r")\s*[:：]?\s*(" + _NUMBER.pattern + r")(?![\d.:/-])"
    )
    for line in dom.page_lines(html):
        found = pattern.search(line)
        if found:
            return int(found.group(1).replace(",", ""))
    return None
