"""An article page whose tables are pictures, through the pipeline (embedded engine, real HTTP
server): parse_snapshot sees tables it cannot read and hands the page to OCR; ocr_snapshot
fetches the pictures from the agency's site, reads them where they stand, and the page's
fields are those of the report the pictures show."""

from __future__ import annotations

import io
import json

import pytest

from cli.demo import portal_server
from models import Agency, Report, Snapshot
from models.db import session_scope
from tests.conftest import REPO
from worker.pipeline import run_step
from worker.steps import Next

pytest.importorskip("rapidocr_onnxruntime")
FIXTURES = REPO / "tests" / "fixtures"


def _page(tmp_path) -> bytes:
    """湖西区's report (p01) as an article: its prose as text, its page 2 (tables 三 and 四) as a picture."""
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(FIXTURES / "p01-huxi-2022.pdf"))[1]
    image = page.render(scale=200 / 72, grayscale=True).to_pil()
    (tmp_path / "site" / "files").mkdir(parents=True)
    image.save(tmp_path / "site" / "files" / "tables.png")
    html = ("<html><head><meta charset='utf-8'><title>湖西区人民政府2022年政府信息公开工作年度报告</title></head><body>"
            "<h1>湖西区人民政府2022年政府信息公开工作年度报告</h1><p>一、总体情况</p>"
            "<p>本报告依据《中华人民共和国政府信息公开条例》编制，统计期限为2022年1月1日至2022年12月31日。</p>"
            "<p>二、主动公开政府信息情况</p><p>（见下表）</p>"
            "<p>三、收到和处理政府信息公开申请情况</p>"
            "<p><img src='files/tables.png' alt='表格'></p>"
            "<p>五、存在的主要问题及改进情况</p><p>一是公开内容的解读不够通俗。</p>"
            "<p>六、其他需要报告的事项</p><p>本年度未收取信息处理费。</p></body></html>")
    (tmp_path / "site" / "nb2022.html").write_text(html, encoding="utf-8")
    return html.encode("utf-8")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # OCR costs the same on either database
def test_article_whose_tables_are_pictures(tmp_path, db_url):
    from config.settings import Settings
    from worker.runtime import Runtime

    data = _page(tmp_path)
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url, allow_private_hosts=True))
    with portal_server(tmp_path / "site") as base, session_scope(db_url) as session:
        agency = Agency(slug="huxi", name="湖西区人民政府", level="government", allowed_hosts=["127.0.0.1"])
        session.add(agency)
        session.flush()
        report = Report(agency_id=agency.id, url=f"{base}/nb2022.html", via="article", confidence=1.0,
                        year=2022, title="", status="fetched")
        session.add(report)
        session.flush()
        snapshot = Snapshot(report_id=report.id, sha256=rt.blobs.put(data), content_type="text/html",
                            size=len(data), fetched_at=rt.now())
        session.add(snapshot)
        session.commit()
        sid = snapshot.id
        assert run_step(rt, "parse_snapshot", sid) == [Next("ocr_snapshot", sid)]
        assert run_step(rt, "ocr_snapshot", sid) == [Next("evaluate", sid)]
    with session_scope(db_url) as session:
        snap = session.get(Snapshot, sid)
        assert snap.parse_status == "parsed", snap.parse_error
        parsed = snap.parsed
    expected = json.loads((FIXTURES / "expected" / "p01-huxi-2022.pdf.json").read_text("utf-8"))["fields"]
    # The picture is the report's page 2: table 三 from （一）予以公开 on, and table 四.
    tables = {k: v for k, v in expected.items() if k.startswith(("apply.", "review.", "litigation."))
              and not k.startswith(("apply.new.", "apply.carried."))}
    assert {k: parsed["fields"].get(k) for k in tables} == tables
    assert parsed["meta"]["format"] == "html" and parsed["meta"]["source"] == "ocr"
    assert set(tables) <= set(parsed["ocr"])
