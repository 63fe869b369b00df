"""Extraction of one report: clean text, statistical tables and attachment text, as one pure
function of (url, html, attachments) that runs in a worker process."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from govcrawl.extract.attachments import (
    AttachmentError,
    UnsupportedAttachment,
    attachment_kind,
    decode_html,
    extract_attachment_text,
)
from govcrawl.extract.tables import parse_tables
from govcrawl.extract.text import extract_text

# A page with less clean text than this that links one document is a landing page for it.
LANDING_PAGE_CHARS = 300
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps")
DOCUMENT_KINDS = ("pdf", "doc", "docx", "wps")


def extract_report(url: str, html: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: text, tables and attachment summaries of one report (runs in a worker process).

    An attachment's type comes from its ``filename`` (the response's Content-Disposition, when
    the spider saw one) and its bytes before its URL, so a download servlet's .docx is read as
    one. A report that is a document itself (no page: ``html`` empty, ``url`` the document's)
    takes the document's text and keeps its entry in ``attachments``."""
    text = extract_text(html, url) if html else ""
    tables = parse_tables(html) if html else None
    tables_from = url if tables else None
    summaries = []
    attachment_texts = []
    for att in attachments:
        name = att.get("filename") or urlsplit(att["url"]).path.rsplit("/", 1)[-1]
        summary: dict[str, Any] = {"url": att["url"], "content_type": att.get("content_type")}
        if att.get("filename"):
            summary["filename"] = att["filename"]
        summary["kind"] = attachment_kind(name, att.get("content_type"), att["body"])
        try:
            att_text = extract_attachment_text(att["body"], name, att.get("content_type"))
        except (UnsupportedAttachment, AttachmentError) as exc:
            summary["error"] = str(exc)
            summaries.append(summary)
            continue
        summary["text_chars"] = len(att_text)
        attachment_texts.append(att_text)
        if tables is None:
            # An HTML attachment is read as HTML: its empty cells are cells, which its text
            # has lost.
            html_att = summary["kind"] == "html"
            tables = parse_tables(decode_html(att["body"]) if html_att else att_text)
            if tables is not None:
                tables_from = att["url"]
        summaries.append(summary)
    report_attachment = None
    documents = [
        (summary, att_text)
        for summary, att_text in zip(
            [x for x in summaries if "text_chars" in x], attachment_texts, strict=True
        )
        if summary["kind"] in DOCUMENT_KINDS
        or urlsplit(summary["url"]).path.lower().endswith(DOCUMENT_EXTENSIONS)
    ]
    if not html and len(documents) == 1 and documents[0][0]["url"] == url:
        text = documents[0][1]  # the report is this document; it stays its own attachment
    elif len(text) < LANDING_PAGE_CHARS and len(documents) == 1:
        # A landing page that only wraps one document: the document is the report.
        report_attachment, text = documents[0][0]["url"], documents[0][1]
    return {
        "text": text,
        "tables": tables,
        "tables_from": tables_from,
        "attachments": summaries,
        "report_attachment": report_attachment,
    }
