"""Discovery against a real local site: listing layouts, pagination, feeds, articles with
attachments, a GBK page without charset, ambiguous years, backdated pages."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from documents.discovery import find_pages, parse_listing, read_article
from documents.feeds import parse_feed
from models import ExpectedReport, PollEvent, Report
from models.db import session_scope
from tests.polling.conftest import agency, poll

REPORT_BODY = ("<h1>{title}</h1><p>发布时间：{date}</p><p>一、总体情况</p><p>二、主动公开政府信息情况</p>"
               "<p>三、收到和处理政府信息公开申请情况</p><p>四、政府信息公开行政复议、行政诉讼情况</p>"
               "<p>五、存在的主要问题及改进情况</p><p>六、其他需要报告的事项</p>")
PDF = b"%PDF-1.4\n% a report\n"


def reports(rt):
    with session_scope(rt.db_url) as session:
        return {r.url.rsplit("/", 1)[-1]: r for r in session.exec(select(Report))}


def events(rt, kind=None):
    with session_scope(rt.db_url) as session:
        return [e for e in session.exec(select(PollEvent)) if kind is None or e.kind == kind]


def test_listing_layouts_list_table_and_cut_short_titles():
    base = "https://www.example.gov.cn/gk/nb/"
    ul = ('<ul><li><a href="a.html">某局2023年政府信息公开工作年度报告</a><span>2024-01-20</span></li>'
          '<li><a href="b.html">某局2024年政务公开工作要点</a><span>2024-03-01</span></li></ul>')
    table = ('<table><tr><td><a href="/c/t1.html" title="某县人民政府2022年度政府信息公开工作年度报告">某县人民政府2022'
             '年度政府信息公开工作年…</a></td><td>2023/03/28</td></tr>'
             '<tr><td><a href="d.pdf">某县2022年政府信息公开工作年度报告解读</a></td><td>2023-03-29</td></tr></table>')
    div = ('<div class="list"><div class="item"><a href="e.html">关于某局政府信息公开工作年度报告（２０２１年）</a>'
           '<em>2022年1月25日</em></div><div class="item"><a href="f.html">二〇二〇年信息公开年报</a></div></div>')
    links = [c for html in (ul, table, div) for c in parse_listing(html, base).candidates]
    assert [(c.url.rsplit("/", 1)[-1], c.year, c.published) for c in links] == [
        ("a.html", 2023, date(2024, 1, 20)), ("t1.html", 2022, date(2023, 3, 28)),
        ("e.html", 2021, date(2022, 1, 25)), ("f.html", 2020, None)]
    assert links[1].title.endswith("年度报告")  # the title attribute, not the cut-short text
    assert all(c.confidence >= 0.85 for c in links)


def test_pagination_next_links_numbered_pagers_and_trs_create_page_html():
    base = "https://www.example.gov.cn/gk/nb/index.html"
    assert find_pages('<div class="page"><a href="index_1.html">2</a><a href="index_2.html">3</a>'
                      '<a href="index_1.html">下一页</a></div>', base) == [
        "https://www.example.gov.cn/gk/nb/index_1.html", "https://www.example.gov.cn/gk/nb/index_2.html"]
    assert find_pages('<script>createPageHTML(3, 0, "index", "html");</script>', base) == [
        "https://www.example.gov.cn/gk/nb/index_1.html", "https://www.example.gov.cn/gk/nb/index_2.html"]
    assert find_pages('<a href="#">下一页</a><a href="javascript:void(0)">下一页</a>', base) == []


def test_rss_and_atom_feeds():
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><title>某局2024年政府信息公开工作'
           '年度报告</title><link>https://x.gov.cn/nb/2024.html</link><pubDate>Mon, 20 Jan 2025 08:00:00 +0800'
           '</pubDate></item><item><title>某局招聘公告</title><link>https://x.gov.cn/zp.html</link></item>'
           '</channel></rss>').encode()
    atom = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>'
            '2023年度政府信息公开年报</title><link href="/nb/2023.pdf"/><updated>2024-01-30T10:00:00+08:00</updated>'
            '</entry></feed>').encode()
    (item,) = parse_feed(rss, "https://x.gov.cn/feed.xml")
    assert (item.url, item.year, item.published, item.kind) == ("https://x.gov.cn/nb/2024.html", 2024,
                                                                date(2025, 1, 20), "page")
    (entry,) = parse_feed(atom, "https://x.gov.cn/feed.xml")
    assert (entry.url, entry.year, entry.published, entry.kind) == ("https://x.gov.cn/nb/2023.pdf", 2023,
                                                                    date(2024, 1, 30), "document")


def test_article_dates_from_meta_and_labels_and_viewer_attachments():
    page = ('<html><head><meta name="PubDate" content="2025-01-18 09:30"></head><body><h1>某局2024年年报</h1>'
            '<iframe src="/pdfjs/viewer.html?file=/files/nb2024.pdf"></iframe></body></html>')
    art = read_article(page, "https://x.gov.cn/art/1.html")
    assert art.published == date(2025, 1, 18) and [a.url for a in art.attachments] == ["https://x.gov.cn/files/nb2024.pdf"]
    labelled = read_article("<body><div>来源：某局　发布日期：2025年01月21日</div><a href='x.docx'>附件</a></body>",
                            "https://x.gov.cn/art/2.html")
    assert labelled.published == date(2025, 1, 21) and labelled.attachments[0].ext == "docx"


def test_article_with_pdf_attachment_and_html_body_report_over_http(site, polling):
    site.html("/nb/", '<ul><li><a href="2025a.html">甲局2025年政府信息公开工作年度报告</a></li>'
                      '<li><a href="2024b.html">甲局2024年政府信息公开工作年度报告</a><span>2025-01-22</span></li></ul>')
    site.html("/nb/2025a.html", '<h1>甲局2025年政府信息公开工作年度报告</h1><div class="info">发布时间：2026-01-26</div>'
                                '<p>详见附件。</p><p>附件：<a href="/files/2025.pdf">甲局2025年年报.pdf</a></p>')
    site.pages["/files/2025.pdf"] = __import__("tests.polling.conftest", fromlist=["Page"]).Page(
        PDF, headers={"Content-Type": "application/pdf"})
    site.html("/nb/2024b.html", REPORT_BODY.format(title="甲局2024年政府信息公开工作年度报告", date="2025-01-22"))
    rt = polling([agency("jia", site.base + "/nb/")])
    poll(rt)
    found = reports(rt)
    pdf = found["2025.pdf"]
    assert (pdf.via, pdf.year, pdf.published_on, pdf.status) == ("attachment", 2025, date(2026, 1, 26), "fetched")
    assert pdf.article_url.endswith("/nb/2025a.html") and pdf.confidence >= 0.9
    body = found["2024b.html"]
    assert (body.via, body.year, body.status) == ("article", 2024, "fetched")
    # Polled again: known reports are not followed again, the listing answers from its content.
    before = site.hits("/nb/2025a.html")
    poll(rt)
    assert site.hits("/nb/2025a.html") == before and len(reports(rt)) == 2


def test_paginated_listing_over_http(site, polling):
    site.html("/nb/index.html", '<ul><li><a href="p1.html">乙局2025年政府信息公开工作年度报告</a></li></ul>'
                                '<script>createPageHTML(2, 0, "index", "html");</script>')
    site.html("/nb/index_1.html", '<ul><li><a href="/d/2023.pdf">乙局2023年政府信息公开工作年度报告</a></li></ul>')
    site.html("/nb/p1.html", REPORT_BODY.format(title="乙局2025年政府信息公开工作年度报告", date="2026-01-10"))
    site.pages["/d/2023.pdf"] = __import__("tests.polling.conftest", fromlist=["Page"]).Page(PDF)
    rt = polling([agency("yi", site.base + "/nb/index.html")])
    poll(rt)
    assert {(r.year, r.via) for r in reports(rt).values()} == {(2025, "article"), (2023, "document")}


def test_gbk_listing_without_charset(site, polling):
    from tests.polling.conftest import Page

    listing = '<html><body><ul><li><a href="nb.html">丙局2025年政府信息公开工作年度报告</a>2026-01-15</li></ul></body></html>'
    site.pages["/gk/"] = Page(listing.encode("gbk"), headers={"Content-Type": "text/html"})
    site.pages["/gk/nb.html"] = Page(REPORT_BODY.format(title="丙局2025年政府信息公开工作年度报告", date="2026-01-15")
                                     .encode("gbk"), headers={"Content-Type": "text/html"})
    rt = polling([agency("bing", site.base + "/gk/")])
    poll(rt)
    (report,) = reports(rt).values()
    assert report.title == "丙局2025年政府信息公开工作年度报告" and report.published_on == date(2026, 1, 15)


def test_two_candidates_for_one_year_are_ambiguous_not_guessed(site, polling):
    site.html("/nb/", '<ul><li><a href="/d/a.pdf">丁局2025年政府信息公开工作年度报告</a></li>'
                      '<li><a href="/d/b.pdf">丁局2025年度政府信息公开工作年度报告（更正）</a></li></ul>')
    rt = polling([agency("ding", site.base + "/nb/")])
    poll(rt)
    found = reports(rt)
    assert {k: (r.ambiguous, r.status) for k, r in found.items()} == {"a.pdf": (True, "ambiguous"),
                                                                     "b.pdf": (True, "ambiguous")}
    assert site.hits("/d/a.pdf") == 0  # neither is fetched or scored until a person decides
    (event,) = events(rt, "ambiguous")
    assert "a.pdf" in event.detail and "b.pdf" in event.detail
    with session_scope(rt.db_url) as session:
        exp = session.exec(select(ExpectedReport)).one()
    assert exp.ambiguous and exp.report_id is None and len(exp.candidates) == 2
    poll(rt)
    assert len(events(rt, "ambiguous")) == 1  # told once


def test_a_page_dated_before_nianbao_could_have_seen_it_is_flagged(site, polling):
    site.html("/nb/", '<ul><li><a href="/d/2024.pdf">戊局2024年政府信息公开工作年度报告</a>2025-01-20</li></ul>')
    site.pages["/d/2024.pdf"] = site.pages["/d/2025.pdf"] = __import__(
        "tests.polling.conftest", fromlist=["Page"]).Page(PDF)
    rt = polling([agency("wu", site.base + "/nb/")], today=date(2026, 2, 2))
    poll(rt)  # 2 Feb: no 2025 report on the page
    site.html("/nb/", '<ul><li><a href="/d/2025.pdf">戊局2025年政府信息公开工作年度报告</a>2026-01-25</li>'
                      '<li><a href="/d/2024.pdf">戊局2024年政府信息公开工作年度报告</a>2025-01-20</li></ul>')
    rt.settings.today = date(2026, 2, 5)
    poll(rt)  # 5 Feb: there, but it says 25 Jan
    report = reports(rt)["2025.pdf"]
    assert report.backdated and report.visible_after == date(2026, 2, 2)
    assert not reports(rt)["2024.pdf"].backdated  # seen on the first poll: nothing to compare with
    (event,) = events(rt, "backdated")
    assert "2026年1月25日" in event.detail
    with session_scope(rt.db_url) as session:
        exp = session.exec(select(ExpectedReport)).one()
    # A department's deadline is 31 Jan: judged on the date it was still absent, the report is late.
    assert exp.state == "published_late" and exp.backdated and exp.published_on == date(2026, 2, 2)
    assert exp.stated_published_on == date(2026, 1, 25)


def test_a_report_published_as_a_picture_is_its_linked_image_unless_a_document_is_there():
    from documents.discovery import Candidate, resolve

    cand = Candidate("https://x.gov.cn/art/9.html", "某局2024年政府信息公开工作年度报告", 2024, None, 0.9, "page")
    picture = read_article("<body><h1>某局2024年年报</h1><a href='/files/nb2024.JPG'>2024年年报（扫描件）</a>"
                           "<img src='/logo.png'></body>", "https://x.gov.cn/art/9.html")
    assert [(a.url, a.ext) for a in picture.attachments] == [("https://x.gov.cn/files/nb2024.JPG", "jpg")]
    assert resolve(cand, picture).url == "https://x.gov.cn/files/nb2024.JPG"
    both = read_article("<body><a href='/f/scan.png'>扫描件</a><a href='/f/nb2024.pdf'>2024年年报</a></body>",
                        "https://x.gov.cn/art/9.html")
    assert resolve(cand, both).url == "https://x.gov.cn/f/nb2024.pdf"


def test_a_report_published_one_picture_a_page_is_its_article_with_every_picture():
    """第1页.jpg, 第2页.jpg, 第3页.jpg: the report is the article page, whose linked pictures are
    read in order by OCR where they stand, not its first page alone."""
    from documents.discovery import Candidate, resolve
    from documents.html import image_sources

    cand = Candidate("https://x.gov.cn/art/9.html", "某局2024年政府信息公开工作年度报告", 2024, None, 0.9, "page")
    html = ("<body><h1>某局2024年政府信息公开工作年度报告</h1>"
            + "".join(f"<p><a href='/files/nb2024-{i}.jpg'>第{i}页</a></p>" for i in (1, 2, 3)) + "</body>")
    article = read_article(html, "https://x.gov.cn/art/9.html")
    found = resolve(cand, article)
    assert found.url == "https://x.gov.cn/art/9.html" and found.via == "article" and not found.alternatives
    assert found.confidence == cand.confidence
    assert image_sources(html) == [f"/files/nb2024-{i}.jpg" for i in (1, 2, 3)]
