"""From an agency's page to its report documents: listing pages, pagination, article pages.

A listing page (the 政府信息公开年报 column) yields candidates (``documents.listing`` decides
which links are reports) and the URLs of its other pages (下一页, numbered page links, and
the ``createPageHTML(n, i, "index", "html")`` call of the TRS CMS most gov.cn portals run).
A candidate that links to an HTML page is followed one level: the article page holds the
report in its body, or as an attachment (PDF, DOCX; a linked picture, .jpg .png .tif, read
by OCR, when there is no document; .doc/.wps are taken too, so their status says what to convert). ``resolve`` turns candidate + article into the document to
fetch, with a confidence and the reason; ``group_by_year`` says which years are ambiguous
(two different documents claim one year): those are recorded, never guessed.

This module must not fetch, store or judge; it reads the HTML it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs, urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from documents.listing import (DATE, find_report_links, link_title, normalise, parse_date, title_confidence,
                               title_year)

DOC_EXTS = {"pdf": "pdf", "docx": "docx", "doc": "doc", "wps": "wps", "ofd": "ofd",
            "jpg": "jpg", "jpeg": "jpg", "png": "png", "tif": "tif", "tiff": "tif"}
SUPPORTED = ("pdf", "docx")
PICTURES = ("jpg", "png", "tif")  # a report published as a picture: read by OCR, taken after documents
NEXT_TEXT = {"下一页", "下页", "后一页", "next", "next page", ">", "›", "»", ">>"}
PAGE_CALL = re.compile(r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([^'\"]+)['\"]\s*,"
                       r"\s*['\"]([^'\"]+)['\"]")
# Words of the six sections every report has (国办 template): three in a page body make it the report.
SECTION_WORDS = ("总体情况", "主动公开政府信息情况", "收到和处理政府信息公开申请情况",
                 "政府信息公开行政复议", "存在的主要问题", "其他需要报告的事项")
LABELLED_DATE = re.compile(r"(?:发布时间|发布日期|公开日期|发文日期|成文日期|生成日期|信息时间|日期|时间)\s*[:：]\s*"
                           + DATE.pattern)
DATE_META = {"pubdate", "publishdate", "publish_date", "firstpublishedtime", "article:published_time",
             "articlepublishdate", "dc.date.issued", "dc.date", "dcterms.issued", "publishtime", "releasedate",
             "og:release_date", "publishedtime", "createdate"}
MAX_PAGES = 10


@dataclass(frozen=True)
class Candidate:
    url: str  # what the listing or feed links to
    title: str
    year: int | None
    published: date | None
    confidence: float
    kind: str  # "document" (a file link) | "page" (an HTML page, followed one level)


@dataclass
class ListingPage:
    candidates: list[Candidate]
    pages: list[str]  # the listing's other pages, in order


@dataclass(frozen=True)
class Attachment:
    url: str
    title: str
    ext: str
    report_like: bool


@dataclass
class Article:
    url: str
    title: str
    published: date | None
    attachments: list[Attachment]
    body_is_report: bool


@dataclass
class Resolution:
    """The document a candidate leads to, or several when the article cannot say which."""

    url: str  # the document to fetch (the article itself when its body is the report)
    via: str  # listing | feed | document | article | attachment
    confidence: float
    published: date | None
    article_url: str | None = None
    alternatives: list[str] = field(default_factory=list)  # other attachments that could be it
    note: str = ""


def doc_ext(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    ext = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return DOC_EXTS.get(ext)


def candidate_kind(url: str) -> str:
    return "document" if doc_ext(url) or urlsplit(url).path.lower().endswith((".txt",)) else "page"


def parse_listing(html: str, base_url: str) -> ListingPage:
    links = find_report_links(html, base_url)
    candidates = [Candidate(link.url, link.title, link.year, link.published, link.confidence,
                            candidate_kind(link.url)) for link in links]
    return ListingPage(candidates, find_pages(html, base_url))


def find_pages(html: str, base_url: str) -> list[str]:
    """The other pages of a paginated listing (at most MAX_PAGES), without the page itself."""
    tree = HTMLParser(html)
    base = urldefrag(base_url)[0]
    pages: list[str] = []

    def add(href: str) -> None:
        url = urldefrag(urljoin(base_url, href.strip()))[0]
        if url != base and url not in pages and url.startswith(("http://", "https://")) and len(pages) < MAX_PAGES:
            pages.append(url)

    for match in PAGE_CALL.finditer(html):  # TRS: createPageHTML(count, current, "index", "html")
        count, current, name, ext = int(match.group(1)), int(match.group(2)), match.group(3), match.group(4)
        for i in range(current + 1, min(count, MAX_PAGES + 1)):
            add(f"{name}_{i}.{ext}")
    for a in tree.css("a[href]"):
        href = a.attributes.get("href") or ""
        if not href or href.startswith(("javascript:", "#")):
            continue
        text = normalise(a.text(deep=True) or "").lower()
        in_pager = _in_pager(a)
        if text in NEXT_TEXT or (in_pager and text.isdigit() and text != "1"):
            add(href)
    return pages


def _in_pager(node) -> bool:
    for _ in range(4):
        node = node.parent
        if node is None:
            return False
        marks = ((node.attributes.get("class") or "") + " " + (node.attributes.get("id") or "")).lower()
        if any(word in marks for word in ("page", "pag", "fenye", "pager")):
            return True
    return False


def read_article(html: str, url: str) -> Article:
    tree = HTMLParser(html)
    title = ""
    for selector in ('meta[name="ArticleTitle"]', 'meta[property="og:title"]'):
        node = tree.css_first(selector)
        if node is not None and node.attributes.get("content"):
            title = node.attributes["content"].strip()
            break
    if not title:
        node = tree.css_first("h1") or tree.css_first("title")
        title = normalise(node.text(deep=True)) if node is not None else ""
    published = _meta_date(tree)
    body = tree.body.text(separator="\n", deep=True) if tree.body is not None else ""
    if published is None:
        match = LABELLED_DATE.search(normalise(body[:20000]).replace(" ", ""))
        if match:
            published = parse_date(match.group(0))
    attachments: list[Attachment] = []
    seen: set[str] = set()
    for node in tree.css("a[href], iframe[src], embed[src], object[data]"):
        raw = node.attributes.get("href") or node.attributes.get("src") or node.attributes.get("data") or ""
        target = _viewer_target(urljoin(url, raw.strip()))
        ext = doc_ext(target)
        if not ext or target in seen or not target.startswith(("http://", "https://")):
            continue
        seen.add(target)
        text = link_title(node) if node.tag == "a" else ""
        name = text or urlsplit(target).path.rsplit("/", 1)[-1]
        attachments.append(Attachment(target, name, ext, title_confidence(name) > 0 or title_year(name) is not None))
    words = sum(1 for w in SECTION_WORDS if w in body)
    return Article(url=url, title=title, published=published, attachments=attachments, body_is_report=words >= 3)


def _viewer_target(url: str) -> str:
    """pdf.js viewers (viewer.html?file=…pdf) show a document: the document is the target."""
    query = parse_qs(urlsplit(url).query)
    for key in ("file", "url", "src"):
        if key in query and doc_ext(query[key][0]):
            return urljoin(url, query[key][0])
    return urldefrag(url)[0]


def _meta_date(tree) -> date | None:
    for node in tree.css("meta"):
        name = (node.attributes.get("name") or node.attributes.get("property") or "").lower()
        if name in DATE_META and node.attributes.get("content"):
            found = parse_date(node.attributes["content"])
            if found:
                return found
    return None


def resolve(candidate: Candidate, article: Article | None, via: str = "listing") -> Resolution:
    """The document a candidate leads to. Without an article (a file link, or a page not followed)
    the candidate's URL is the document."""
    if article is None:
        return Resolution(candidate.url, "document" if candidate.kind == "document" else via, candidate.confidence,
                          candidate.published)
    published = candidate.published or article.published
    if article.body_is_report:
        return Resolution(article.url, "article", min(0.99, candidate.confidence + 0.04), published, article.url)
    readable = ([a for a in article.attachments if a.ext in SUPPORTED] or [a for a in article.attachments if a.ext in PICTURES]
                or article.attachments)
    if len(readable) > 1 and all(a.ext in PICTURES for a in readable):
        # One picture a page (第1页.jpg, 第2页.jpg …): the report is the article with its pictures,
        # read in order by OCR where they stand (reader.read_pictures), not its first page alone.
        return Resolution(article.url, "article", candidate.confidence, published, article.url,
                          note=f"the report is {len(readable)} linked pictures, read in order")
    report_like = [a for a in readable if a.report_like]
    pool = report_like or readable
    if len(pool) == 1:
        return Resolution(pool[0].url, "attachment", candidate.confidence if report_like or len(readable) == 1
                          else candidate.confidence * 0.8, published, article.url)
    if len(pool) > 1:
        return Resolution(pool[0].url, "attachment", candidate.confidence * 0.5, published, article.url,
                          alternatives=[a.url for a in pool[1:]],
                          note=f"{len(pool)} attachments could be the report")
    # Neither a report body nor an attachment (a picture, a script viewer): keep the page so its
    # status tells what it holds.
    return Resolution(article.url, "article", candidate.confidence * 0.5, published, article.url,
                      note="the article shows no report text and no attachment")


def group_by_year(resolutions: list[tuple[int | None, Resolution]]) -> dict[int | None, list[Resolution]]:
    """Resolutions by year, each document once; strong candidates (≥ 0.7) push weak ones out."""
    by_year: dict[int | None, list[Resolution]] = {}
    for year, res in resolutions:
        docs = by_year.setdefault(year, [])
        if res.url not in {r.url for r in docs}:
            docs.append(res)
    for year, docs in by_year.items():
        strong = [r for r in docs if r.confidence >= 0.7]
        if strong:
            by_year[year] = strong
    return by_year
