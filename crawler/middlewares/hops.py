"""Depth by hop type: the pages of one column are one hop, a redirect is no hop.

Scrapy's DepthMiddleware counts every request a response leads to as one level deeper, and
overwrites any depth the request carries; so a column paginated only by 下一页 links was cut at
DEPTH_LIMIT after about ten pages (issue 14). Heritrix records the hop type of each link (``L``
navigation link, ``R`` redirect, ``E`` embed, ...) and bounds link hops and other hops apart;
here a request's ``meta["hop"]`` says the same: ``"page"`` (the next page of the same column)
and ``"R"`` (a redirect in script, followed like an HTTP redirect, which Scrapy never counts)
keep the depth of the response they came from. Every other request is one level deeper, as in
Scrapy. DEPTH_LIMIT, DEPTH_PRIORITY and DEPTH_STATS_VERBOSE keep their meaning.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.depth import DepthMiddleware

# Hop types that do not make a request deeper than the response it came from.
SAME_DEPTH_HOPS = frozenset({"page", "R"})


class HopDepthMiddleware(DepthMiddleware):
    """DepthMiddleware that leaves the depth alone for ``page`` and ``R`` hops."""

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if response is None or request.meta.get("hop") not in SAME_DEPTH_HOPS:
            return super().get_processed_request(request, response)
        depth = response.meta["depth"]
        request.meta["depth"] = depth
        if self.prio:
            request.priority -= depth * self.prio
        if self.verbose_stats:
            self.stats.inc_value(f"request_depth_count/{depth}")
        return request
