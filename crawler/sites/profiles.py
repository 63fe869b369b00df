"""Declarative site profiles: per-portal knowledge as data, validated on load.

A profile is a TOML file in ``crawler/sites/``. ``generic.toml`` holds the defaults every portal
gets; a site profile overrides whole keys of it and adds click-counter and list-endpoint rules.
Unknown keys, empty patterns and regexes that do not compile are errors naming the file.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from govcrawl.extract.metadata import MetadataLabels

SITES_DIR = Path(__file__).parent
GENERIC = "generic"


class ProfileError(ValueError):
    """A site profile is malformed."""


@dataclass(frozen=True)
class CounterRuleSpec:
    """How a page's script builds its click-counter request (see govcrawl/extract/counters.py)."""

    url_template: str  # e.g. "/xam/clicks.jsp?contentId={id}"
    id_pattern: str  # regex with one group capturing {id} from the page HTML
    read_only: bool = True


@dataclass(frozen=True)
class ListEndpoint:
    """A list whose items come from a script-driven endpoint (XML/JSON), not from the HTML."""

    detect: str  # regex over the list page; named groups fill the template
    url_template: str  # e.g. "/module/web/jpage/dataproxy.jsp?page={page}&columnid={columnid}"
    total_pages: str  # regex over the endpoint's response capturing the page count
    link_pattern: str = r"""href=['"]([^'"]+)['"]"""
    max_pages: int = 200


@dataclass(frozen=True)
class ChallengeSignature:
    """An anti-bot gateway's challenge page (a script that sets a cookie and reloads), which a
    crawler that runs no JavaScript gets instead of the page.

    A response is this challenge when its status is one of ``statuses``, its body is at most
    ``max_bytes`` (decoded) and every regex of ``markers`` is found in it (read as latin-1, so
    patterns match ASCII whatever the page's charset).
    """

    name: str
    statuses: tuple[int, ...]
    markers: tuple[str, ...]
    max_bytes: int = 65536

    @classmethod
    def from_mapping(cls, raw: Any, where: str) -> ChallengeSignature:
        """Raises ProfileError naming ``where`` for unknown keys, bad statuses or regexes."""
        if not isinstance(raw, dict):
            raise ProfileError(f"{where}: expected a table")
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
        name, statuses, markers = raw.get("name"), raw.get("statuses"), raw.get("markers")
        if not isinstance(name, str) or not name:
            raise ProfileError(f"{where}.name: a non-empty string is required")
        if not isinstance(statuses, list) or not statuses or not all(
            isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599 for v in statuses
        ):
            raise ProfileError(f"{where}.statuses: a list of HTTP status codes is required")
        if not isinstance(markers, list) or not markers or not all(
            isinstance(m, str) for m in markers
        ):
            raise ProfileError(f"{where}.markers: a list of regexes is required")
        for marker in markers:
            _check_regex(marker, f"{where}.markers")
        max_bytes = raw.get("max_bytes", cls.max_bytes)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise ProfileError(f"{where}.max_bytes: a positive integer is required")
        return cls(name, tuple(statuses), tuple(markers), max_bytes)

    def matches(self, status: int, body: bytes) -> bool:
        if status not in self.statuses or len(body) > self.max_bytes:
            return False
        text = body.decode("latin-1")
        return all(_compiled(m).search(text) for m in self.markers)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class Priorities:
    """Scrapy request priorities (higher is fetched first) of what discovery asks for; the
    scheduler pops the highest priority first, so these make the crawl best-first."""

    report_item: int = 40  # a link whose title names a report
    report_column: int = 30  # a column named like a report column (年报)
    column_item: int = 20  # any item of a report column
    nav: int = 15  # a menu towards the disclosure section (政务公开, 信息公开)
    subsite: int = 12  # the home page of a department site in scope
    list: int = 10  # a list read for report titles (通知公告, 工作动态, 其他)
    section: int = 5  # an unnamed page below a disclosure menu (a department's directory)
    sitemap: int = 3  # a sitemap entry (no title to judge it by)
    other: int = 0  # anything else, in whole-site mode only


@dataclass(frozen=True)
class Discovery:
    """How much discovery may fetch, and in which order (README "How discovery decides").

    ``host_page_budget``: pages discovery may fetch per host (menus, lists, items, sitemap
    entries; not robots.txt, requisites, click counters, attachments, or reports recorded
    before); 0 = no budget. ``column_page_budget``: pages read per column (pagination counts
    the pages of one column as one hop, so only this bounds a column); 0 = no budget.
    ``max_nav_depth``: menu hops (政务公开 > 信息公开目录 > 通知公告) from a home page.
    """

    host_page_budget: int = 2000
    column_page_budget: int = 300
    max_nav_depth: int = 4
    priorities: Priorities = field(default_factory=Priorities)

    @classmethod
    def from_mapping(cls, data: Any, base: Discovery | None = None) -> Discovery:
        """Build from a profile's ``[discovery]`` table over ``base``; single keys override
        (``[discovery.priorities]`` too). Raises ValueError naming the bad key."""
        base = base or cls()
        if not isinstance(data, dict):
            raise ValueError("discovery must be a table")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown discovery keys {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key in ("host_page_budget", "column_page_budget", "max_nav_depth"):
            value = data.get(key, getattr(base, key))
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"discovery.{key} must be a non-negative integer")
            values[key] = value
        prios = data.get("priorities", {})
        if not isinstance(prios, dict):
            raise ValueError("discovery.priorities must be a table")
        unknown = set(prios) - {f.name for f in fields(Priorities)}
        if unknown:
            raise ValueError(f"unknown discovery.priorities keys {sorted(unknown)}")
        for key, value in prios.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"discovery.priorities.{key} must be an integer")
        values["priorities"] = replace(base.priorities, **prios)
        return cls(**values)


@dataclass(frozen=True)
class SiteProfile:
    name: str
    source_file: str
    description: str = ""
    default: bool = False
    seeds: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # fnmatch patterns ("*.xam.gov.cn")
    registered_domains: tuple[str, ...] = ()  # crawl scope; empty: the seeds' registered domains
    # Discovery: anchor texts (substring match) and URL patterns (regex search).
    nav_keywords: tuple[str, ...] = ()
    column_keywords: tuple[str, ...] = ()
    report_link_keywords: tuple[str, ...] = ()
    # Lists read for report titles besides report columns (通知公告, 公示公告, 其他, 公开目录).
    list_keywords: tuple[str, ...] = ()
    # Lists read only inside the disclosure section (政务公开 > 工作动态): news columns elsewhere
    # (新闻中心 > 政务要闻) are the bulk of a portal and not where reports are filed.
    section_list_keywords: tuple[str, ...] = ()
    # Menus never walked for reports (services, interaction, search, login).
    avoid_keywords: tuple[str, ...] = ()
    subsite_keywords: tuple[str, ...] = ()  # anchor texts of blocks of links to department sites
    next_page_texts: tuple[str, ...] = ()
    script_pagination: tuple[str, ...] = ()  # regexes: groups total, current, stem, ext
    article_url_patterns: tuple[str, ...] = ()
    skip_url_patterns: tuple[str, ...] = ()
    session_id_patterns: tuple[str, ...] = ()  # regexes removed from URL paths (";jsessionid=...")
    session_query_params: tuple[str, ...] = ()  # query parameters removed from URLs
    attachment_extensions: tuple[str, ...] = ()
    follow_sitemaps: bool = True
    sitemap_max_urls: int = 2000
    max_query_variants_per_path: int = 20
    max_url_length: int = 512
    fetch_requisites: bool = True
    requisite_skip_patterns: tuple[str, ...] = ()  # regexes: page resources never fetched
    # Click counts printed into the page ("浏览次数：1234"): labels, read when no counter endpoint.
    printed_counter_labels: tuple[str, ...] = ()
    # Regexes over a page's title and first lines that mean "this page is a not-found page".
    not_found_patterns: tuple[str, ...] = ()
    # Labels of the metadata line (来源, 发布日期, ...): keys of govcrawl.extract.metadata.
    # MetadataLabels; a site profile overrides single keys, the rest keep their defaults.
    metadata: MetadataLabels = field(default_factory=MetadataLabels)
    # Budgets and priorities of discovery; a site profile overrides single keys.
    discovery: Discovery = field(default_factory=Discovery)
    counters: tuple[CounterRuleSpec, ...] = ()
    # Anti-bot challenge pages (crawler/middlewares/challenge.py): never content; a host that
    # answers only these is blocked.
    challenges: tuple[ChallengeSignature, ...] = ()
    list_endpoints: tuple[ListEndpoint, ...] = ()
    # Politeness per host (crawler/middlewares/politeness.py); DOWNLOAD_DELAY and
    # CONCURRENT_REQUESTS_PER_DOMAIN given on the command line override them.
    download_delay: float = 1.0
    concurrency_per_host: int = 2

    def challenge_for(self, status: int, body: bytes) -> str | None:
        """The name of the challenge signature ``status`` and ``body`` (decoded) match, or None."""
        return next((c.name for c in self.challenges if c.matches(status, body)), None)

    def matches_host(self, host: str) -> bool:
        host = host.lower().split(":")[0]
        return any(fnmatch.fnmatch(host, pattern) for pattern in self.hosts)


_REGEX_FIELDS = {
    "script_pagination",
    "article_url_patterns",
    "skip_url_patterns",
    "session_id_patterns",
    "requisite_skip_patterns",
    "not_found_patterns",
}
_TUPLE_FIELDS = {
    f.name
    for f in fields(SiteProfile)
    if f.type.startswith("tuple[str")  # type: ignore[union-attr]
}


def _check_regex(pattern: str, where: str) -> None:
    if not pattern:
        raise ProfileError(f"{where}: empty pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ProfileError(f"{where}: bad regex {pattern!r}: {exc}") from None


def _build_nested(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: expected a table")
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        obj = cls(**raw)
    except TypeError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    for f in fields(cls):
        value = getattr(obj, f.name)
        if isinstance(value, str) and f.name in {
            "id_pattern",
            "detect",
            "total_pages",
            "link_pattern",
        }:
            _check_regex(value, f"{where}.{f.name}")
        if isinstance(value, str) and not value and f.name != "description":
            raise ProfileError(f"{where}.{f.name}: empty")
    return obj


def _validate(data: dict[str, Any], source: str, base: dict[str, Any] | None) -> SiteProfile:
    known = {f.name for f in fields(SiteProfile)} - {"source_file"}
    unknown = set(data) - known
    if unknown:
        raise ProfileError(f"{source}: unknown keys {sorted(unknown)}")
    merged: dict[str, Any] = dict(base or {})
    merged.update(data)
    for key in _TUPLE_FIELDS & set(merged):
        value = merged[key]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"{source}: {key} must be a list of strings")
        if any(not v for v in value):
            raise ProfileError(f"{source}: {key} holds an empty string")
        if key in _REGEX_FIELDS:
            for pattern in value:
                _check_regex(pattern, f"{source}: {key}")
        merged[key] = tuple(value)
    merged["counters"] = tuple(
        c
        if isinstance(c, CounterRuleSpec)
        else _build_nested(CounterRuleSpec, c, f"{source}: counters")
        for c in merged.get("counters", ())
    )
    merged["list_endpoints"] = tuple(
        e
        if isinstance(e, ListEndpoint)
        else _build_nested(ListEndpoint, e, f"{source}: list_endpoints")
        for e in merged.get("list_endpoints", ())
    )
    merged["challenges"] = tuple(
        c
        if isinstance(c, ChallengeSignature)
        else ChallengeSignature.from_mapping(c, f"{source}: challenges")
        for c in merged.get("challenges", ())
    )
    labels = merged.get("metadata", {})
    if not isinstance(labels, MetadataLabels):
        if not isinstance(labels, dict):
            raise ProfileError(f"{source}: metadata must be a table")
        defaults = dict((base or {}).get("metadata", {})) if base else {}
        try:
            merged["metadata"] = MetadataLabels.from_mapping({**defaults, **labels})
        except ValueError as exc:
            raise ProfileError(f"{source}: {exc}") from None
    steering = merged.get("discovery", {})
    if not isinstance(steering, Discovery):
        base_steering = (base or {}).get("discovery", {}) if base else {}
        try:
            generic = Discovery.from_mapping(base_steering) if base_steering else None
            merged["discovery"] = Discovery.from_mapping(steering, generic)
        except ValueError as exc:
            raise ProfileError(f"{source}: {exc}") from None
    if "name" not in data:
        raise ProfileError(f"{source}: missing key 'name'")
    try:
        return SiteProfile(source_file=source, **merged)
    except TypeError as exc:
        raise ProfileError(f"{source}: {exc}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path.name}: {exc}") from None


def load_profiles(directory: Path | None = None) -> tuple[SiteProfile, list[SiteProfile]]:
    """Return (generic profile, site profiles) from ``directory`` (default: bundled sites)."""
    directory = directory or SITES_DIR
    generic_raw = _read(directory / f"{GENERIC}.toml")
    generic = _validate(generic_raw, f"{GENERIC}.toml", None)
    base = {k: v for k, v in generic_raw.items() if k not in {"name", "description", "default"}}
    sites = [
        _validate(_read(path), path.name, base)
        for path in sorted(directory.glob("*.toml"))
        if path.stem != GENERIC
    ]
    return generic, sites


@dataclass
class ProfileRegistry:
    """Picks the profile for a host: the first site profile whose hosts match, else generic."""

    generic: SiteProfile
    sites: list[SiteProfile] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path | None = None) -> ProfileRegistry:
        generic, sites = load_profiles(directory)
        return cls(generic, sites)

    def for_host(self, host: str) -> SiteProfile:
        return _lookup(self, host.lower())

    def default_seeds(self) -> list[str]:
        return [seed for site in self.sites if site.default for seed in site.seeds]

    def __hash__(self) -> int:
        return id(self)


@lru_cache(maxsize=4096)
def _lookup(registry: ProfileRegistry, host: str) -> SiteProfile:
    for site in registry.sites:
        if site.matches_host(host):
            return site
    return registry.generic
