"""The Scrapy side of govcrawl: command line, spiders, middlewares, extensions, site profiles."""

from govcrawl import CONTACT_URL, __version__

__all__ = ["CONTACT_URL", "__version__"]
