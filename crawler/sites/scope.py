"""Crawl scope: which URLs a crawl may fetch, and in which spelling."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import tldextract
from w3lib.url import safe_url_string, url_query_cleaner

from crawler.sites.profiles import ProfileRegistry, SiteProfile

# The bundled public-suffix snapshot: crawls must not fetch the list from the network.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=8192)
def registered_domain(host: str) -> str:
    """``gaj.xam.gov.cn`` -> ``xam.gov.cn``; IP addresses and unknown suffixes stay as they are."""
    host = host.lower().split(":")[0]
    parts = _EXTRACT(host)
    return parts.top_domain_under_public_suffix or host


@dataclass
class Scope:
    domains: frozenset[str]

    @classmethod
    def for_seeds(cls, seeds: Iterable[str], profiles: ProfileRegistry) -> Scope:
        domains: set[str] = set()
        for seed in seeds:
            host = urlsplit(seed).hostname or ""
            profile = profiles.for_host(host)
            domains.update(profile.registered_domains or (registered_domain(host),))
        return cls(frozenset(domains))

    def in_scope(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def clean(self, url: str, profile: SiteProfile) -> str | None:
        """The URL to request for a link, or None when it is out of scope or a known trap."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not self.in_scope(url):
            return None
        url = urlunsplit(parts._replace(fragment=""))
        for pattern in profile.session_id_patterns:
            url = re.sub(pattern, "", url)
        if profile.session_query_params and parts.query:
            url = url_query_cleaner(
                url, profile.session_query_params, remove=True, keep_fragments=False
            )
        if len(url) > profile.max_url_length:
            return None
        if any(re.search(p, url) for p in profile.skip_url_patterns):
            return None
        return safe_url_string(url)
