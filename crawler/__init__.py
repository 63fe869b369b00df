"""govcrawl: archival crawler for Chinese government portals' annual reports."""

__version__ = "0.1.0"
CONTACT_URL = "https://github.com/govcrawl/govcrawl#contact"
