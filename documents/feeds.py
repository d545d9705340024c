"""RSS 2.0 and Atom feeds: items whose titles name an annual report, as discovery candidates.

Parsed with lxml with entity resolution and network access off (a feed is untrusted input).
This module must not fetch.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree

from documents.discovery import Candidate, candidate_kind
from documents.listing import parse_date, title_confidence, title_year

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def looks_like_feed(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head) or \
        head.startswith((b"<rss", b"<feed"))


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _text(item, *names: str) -> str:
    for child in item:
        if _local(child.tag) in names and (child.text or "").strip():
            return child.text.strip()
    return ""


def _link(item) -> str:
    for child in item:
        if _local(child.tag) == "link":
            href = child.get("href")
            if href and child.get("rel", "alternate") == "alternate":
                return href.strip()
            if (child.text or "").strip():
                return child.text.strip()
    return _text(item, "guid", "id")


def _date(value: str):
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()  # RSS: RFC 822
    except (TypeError, ValueError, IndexError):
        return parse_date(value)  # Atom: ISO 8601


def parse_feed(data: bytes, base_url: str) -> list[Candidate]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in root.iter():
        if _local(item.tag) not in ("item", "entry"):
            continue
        title = " ".join(_text(item, "title").split())
        confidence = title_confidence(title)
        year = title_year(title)
        link = urljoin(base_url, _link(item))
        if not confidence or not year or not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        published = _date(_text(item, "pubdate", "published", "updated", "date", "issued"))
        out.append(Candidate(link, title, year, published, confidence, candidate_kind(link)))
    return out
