"""The items the spider yields; defined beside the pipelines that consume them
(pipelines/items.py), so the pipelines never import the Scrapy side."""

from pipelines.items import Capture, ReportItem

__all__ = ["Capture", "ReportItem"]
