"""govcrawl: the archive, extraction, storage and publication library (no Scrapy).

Layers point down: ``publish`` > ``store`` > ``archive`` > ``extract`` (checked by import-linter).
"""

__version__ = "0.1.0"
CONTACT_URL = "https://github.com/govcrawl/govcrawl#contact"
