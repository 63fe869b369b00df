"""Project signals (Scrapy signals are plain sentinel objects)."""

# Sent with ``path`` (pathlib.Path) when a WARC file is sealed (renamed to its final name).
warc_sealed = object()
